/**
 * `memory_limiter`: every `check_interval` it reads the memory in use (V8 heap plus Buffers outside
 * the heap: the Node counterpart of the Go heap the Collector measures); above the soft limit
 * (limit_mib - spike_limit_mib) it refuses data with a retryable RESOURCE_EXHAUSTED (HTTP 429) until
 * usage falls below it again. Above the hard limit it also asks for a garbage collection when Node
 * exposes one (--expose-gc).
 */
import type { MemoryLimiterConfig, Signal } from '../../../otel-config/components.js';
import { ConsumerError, type Component, type Consumer, type Host } from '../component.js';
import { countItems, ITEM_NAME, type SignalData } from '../pdata/model.js';
import type { Counter } from '../telemetry.js';

export function memoryInUse(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

export class MemoryLimiterProcessor<S extends Signal> implements Consumer<S>, Component {
  next!: Consumer<S>;
  refusing = false;
  private timer: NodeJS.Timeout | null = null;
  private refused!: Counter;
  private host!: Host;

  constructor(
    readonly id: string,
    readonly signal: S,
    private readonly cfg: MemoryLimiterConfig,
    private readonly readMemory: () => number = memoryInUse,
  ) {}

  get softLimitBytes(): number {
    return (this.cfg.limitMiB - this.cfg.spikeLimitMiB) * (1 << 20);
  }

  check(): void {
    const used = this.readMemory();
    const was = this.refusing;
    this.refusing = used > this.softLimitBytes;
    if (used > this.cfg.limitMiB * (1 << 20)) (globalThis as { gc?: () => void }).gc?.();
    if (this.refusing !== was) {
      this.host.log(this.refusing ? 'warn' : 'info', `memory_limiter ${this.id}: ${(used / (1 << 20)).toFixed(0)} MiB in use, ${this.refusing ? 'above' : 'back below'} the soft limit of ${this.cfg.limitMiB - this.cfg.spikeLimitMiB} MiB: ${this.refusing ? 'refusing data' : 'accepting data again'}`);
    }
  }

  async start(host: Host): Promise<void> {
    this.host = host;
    this.refused = host.telemetry.counter(`otelcol_processor_refused_${ITEM_NAME[this.signal]}`, `Number of ${ITEM_NAME[this.signal]} refused by the memory limiter.`, { processor: this.id });
    this.check();
    this.timer = setInterval(() => this.check(), this.cfg.checkIntervalMs);
    this.timer.unref();
  }

  async consume(data: SignalData[S]): Promise<void> {
    if (this.refusing) {
      this.refused.add(countItems(this.signal, data));
      throw ConsumerError.retryable('data refused due to high memory usage', this.cfg.checkIntervalMs, true);
    }
    return this.next.consume(data);
  }

  async shutdown(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

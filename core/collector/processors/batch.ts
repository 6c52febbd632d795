/**
 * `batch`: sends when `send_batch_size` items are waiting or `timeout` after the first one, in
 * pieces of at most `send_batch_max_size` spans. Accepting returns at once. When the next stage
 * refuses a batch with a retryable error, the batch is kept and retried, and new data is refused
 * (retryably) meanwhile: back-pressure reaches the sender instead of data being lost. Permanent
 * refusals drop the batch (counted).
 */
import type { BatchProcessorConfig, Signal } from '../../../otel-config/components.js';
import { asConsumerError, ConsumerError, type Component, type Consumer, type Host } from '../component.js';
import { spansOf } from '../pdata/codec.js';
import { countItems, ITEM_NAME, RawTraces, type CollectorSpan, type LogsData, type MetricsData, type SignalData } from '../pdata/model.js';
import type { Counter } from '../telemetry.js';

export class BatchProcessor<S extends Signal> implements Consumer<S>, Component {
  next!: Consumer<S>;
  private spans: CollectorSpan[] = [];
  /** Raw protobuf traces: batched as bytes (no decoding) while nothing else is waiting. */
  private raw: Buffer[] = [];
  private rawCount = 0;
  private parts: Record<string, unknown>[] = [];
  private items = 0;
  private timer: NodeJS.Timeout | null = null;
  private stalled: SignalData[S] | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private inflight = new Set<Promise<void>>();
  private sizeTrigger!: Counter;
  private timeoutTrigger!: Counter;
  private dropped!: Counter;
  private host!: Host;
  private stopped = false;

  constructor(
    readonly id: string,
    readonly signal: S,
    private readonly cfg: BatchProcessorConfig,
  ) {}

  async start(host: Host): Promise<void> {
    this.host = host;
    const l = { processor: this.id };
    this.sizeTrigger = host.telemetry.counter('otelcol_processor_batch_batch_size_trigger_send', 'Number of times the batch was sent due to a size trigger.', l);
    this.timeoutTrigger = host.telemetry.counter('otelcol_processor_batch_timeout_trigger_send', 'Number of times the batch was sent due to a timeout trigger.', l);
    this.dropped = host.telemetry.counter(`spanwire_processor_batch_dropped_${ITEM_NAME[this.signal]}`, 'Items dropped because the next stage refused them permanently.', l);
  }

  async consume(data: SignalData[S]): Promise<void> {
    if (this.stalled !== null) throw ConsumerError.retryable(`batch processor ${this.id}: the next stage is refusing data`, 1000);
    if (this.stopped) throw ConsumerError.retryable(`batch processor ${this.id} is shutting down`);
    const n = countItems(this.signal, data);
    if (n === 0) return;
    if (data instanceof RawTraces) {
      for (const p of data.parts) this.raw.push(p);
      this.rawCount += data.count;
    } else if (this.signal === 'traces') {
      const spans = data as CollectorSpan[];
      for (let i = 0; i < spans.length; i++) this.spans.push(spans[i]);
    } else {
      const key = this.signal === 'metrics' ? 'resourceMetrics' : 'resourceLogs';
      for (const r of (data as unknown as Record<string, Record<string, unknown>[]>)[key]) this.parts.push(r);
    }
    this.items += n;
    if (this.cfg.sendBatchSize > 0 && this.items >= this.cfg.sendBatchSize) {
      this.sizeTrigger.add(1);
      this.flush();
    } else if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.timeoutTrigger.add(1);
        this.flush();
      }, this.cfg.timeoutMs);
    }
  }

  private take(): SignalData[S][] {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.items = 0;
    if (this.signal === 'traces') {
      const max = this.cfg.sendBatchMaxSize;
      const raw = this.raw.length > 0 ? new RawTraces(this.raw, this.rawCount) : null;
      this.raw = [];
      this.rawCount = 0;
      if (raw !== null && this.spans.length === 0 && (max <= 0 || raw.count <= max)) return [raw as SignalData[S]];
      const all = raw !== null ? this.spans.concat(spansOf(raw)) : this.spans;
      this.spans = [];
      if (max <= 0 || all.length <= max) return [all as SignalData[S]];
      const out: SignalData[S][] = [];
      for (let i = 0; i < all.length; i += max) out.push(all.slice(i, i + max) as SignalData[S]);
      return out;
    }
    const parts = this.parts;
    this.parts = [];
    return [(this.signal === 'metrics' ? ({ resourceMetrics: parts } as MetricsData) : ({ resourceLogs: parts } as LogsData)) as SignalData[S]];
  }

  private flush(): void {
    for (const b of this.take()) if (countItems(this.signal, b) > 0) this.sendOne(b);
  }

  private sendOne(b: SignalData[S]): void {
    const p = this.next.consume(b).then(
      () => undefined,
      (e) => {
        const err = asConsumerError(e);
        if (err.retryable && !this.stopped) {
          this.stall(b, err.retryAfterMs ?? 1000);
        } else {
          this.dropped.add(countItems(this.signal, b));
          this.host.log('warn', `batch processor ${this.id}: ${countItems(this.signal, b)} ${ITEM_NAME[this.signal]} dropped: ${err.message}`);
        }
      },
    );
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private stall(b: SignalData[S], delayMs: number): void {
    if (this.stalled !== null) {
      // Two batches refused at once: merge them (both were accepted from senders).
      if (this.signal === 'traces') this.stalled = spansOf(this.stalled as RawTraces | CollectorSpan[]).concat(spansOf(b as RawTraces | CollectorSpan[])) as SignalData[S];
      else {
        const key = this.signal === 'metrics' ? 'resourceMetrics' : 'resourceLogs';
        (this.stalled as unknown as Record<string, unknown[]>)[key].push(...(b as unknown as Record<string, unknown[]>)[key]);
      }
      return;
    }
    this.stalled = b;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      const s = this.stalled!;
      this.stalled = null;
      this.sendOne(s);
    }, Math.min(delayMs, 5000));
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      if (this.stalled !== null) {
        const s = this.stalled;
        this.stalled = null;
        this.sendOne(s);
      }
    }
    this.flush();
    this.stopped = true;
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }
}

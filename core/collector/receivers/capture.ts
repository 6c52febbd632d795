/**
 * spanwire's capture receivers: `pcap` replays capture files (core/pipeline/replay.ts), `ebpf` and
 * `af_packet` capture this host live (core/pipeline/live.ts). Spans built from traffic are
 * CollectorSpans as they are. The capture pipeline cannot wait, so a refused batch is dropped and
 * counted (`otelcol_receiver_refused_spans`), never retried.
 */
import type { AfPacketReceiverConfig, EbpfReceiverConfig, PcapReceiverConfig } from '../../../otel-config/components.js';
import { LiveCaptureError, startLive, type LiveHandle } from '../../pipeline/live.js';
import { checkReadable, runReplay, type ReplaySummary } from '../../pipeline/replay.js';
import { checkCaptureMagic } from '../../capture/pcap-file.js';
import type { SpanData, TracesConsumer } from '../../trace/span.js';
import type { Component, Consumer, Host } from '../component.js';
import type { Counter } from '../telemetry.js';

/** Bridges the capture pipeline's synchronous consumer edge to the collector's async one. */
class CaptureBridge implements TracesConsumer {
  pending = new Set<Promise<void>>();
  constructor(
    private readonly next: Consumer<'traces'>,
    private readonly accepted: Counter,
    private readonly refused: Counter,
    private readonly host: Host,
    private readonly id: string,
  ) {}
  consumeTraces(spans: SpanData[]): void {
    const n = spans.length;
    const p = this.next.consume(spans).then(
      () => this.accepted.add(n),
      (e: Error) => {
        this.refused.add(n);
        this.host.log('warn', `receiver ${this.id}: ${n} spans dropped: ${e.message}`);
      },
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}

function counters(host: Host, id: string, transport: string) {
  const labels = { receiver: id, transport };
  return {
    accepted: host.telemetry.counter('otelcol_receiver_accepted_spans', 'Number of spans successfully pushed into the pipeline.', labels),
    refused: host.telemetry.counter('otelcol_receiver_refused_spans', 'Number of spans that could not be pushed into the pipeline.', labels),
  };
}

export class PcapReceiver implements Component {
  consumer: Consumer<'traces'> | null = null;
  /** Settles when every file has been replayed and its spans handed on. */
  done: Promise<ReplaySummary | null> = Promise.resolve(null);
  readonly finite = true;

  constructor(
    readonly id: string,
    private readonly cfg: PcapReceiverConfig,
  ) {}

  async start(host: Host): Promise<void> {
    for (const f of this.cfg.files) {
      try {
        checkReadable(f);
        checkCaptureMagic(f);
      } catch (e) {
        throw new Error(`receivers::${this.id}::files: ${(e as Error).message}`);
      }
    }
    const c = counters(host, this.id, 'pcap');
    const bridge = new CaptureBridge(this.consumer!, c.accepted, c.refused, host, this.id);
    this.done = (async () => {
      try {
        const summary = await runReplay({
          files: this.cfg.files,
          consumer: bridge,
          localAddresses: this.cfg.localAddresses,
          serviceName: this.cfg.serviceName,
          requestTimeoutNs: this.cfg.requestTimeoutMs * 1e6,
          parserOptions: this.cfg.parserOptions,
        });
        await bridge.drain();
        host.log('info', `receiver ${this.id}: replayed ${this.cfg.files.length} file(s): ${summary.packets} packets, ${summary.spans} spans`);
        return summary;
      } catch (e) {
        host.log('error', `receiver ${this.id}: replay failed: ${(e as Error).message}`);
        await bridge.drain();
        return null;
      }
    })();
  }

  async shutdown(): Promise<void> {
    await this.done;
  }
}

export class LiveReceiver implements Component {
  consumer: Consumer<'traces'> | null = null;
  private handle: LiveHandle | null = null;
  private bridge: CaptureBridge | null = null;
  readonly finite = false;

  constructor(
    readonly id: string,
    private readonly source: 'ebpf' | 'af_packet',
    private readonly cfg: EbpfReceiverConfig | AfPacketReceiverConfig,
  ) {}

  async start(host: Host): Promise<void> {
    const c = counters(host, this.id, this.source);
    this.bridge = new CaptureBridge(this.consumer!, c.accepted, c.refused, host, this.id);
    const e = this.cfg as Partial<EbpfReceiverConfig>;
    const a = this.cfg as Partial<AfPacketReceiverConfig>;
    try {
      this.handle = await startLive({
        source: this.source,
        consumer: this.bridge,
        iface: a.interface,
        filter: a.filter,
        pids: e.pids,
        ports: e.ports,
        maxPayload: e.maxPayload,
        serviceName: this.cfg.serviceName,
        requestTimeoutNs: this.cfg.requestTimeoutMs * 1e6,
        parserOptions: this.cfg.parserOptions,
        onNotice: (m) => host.log('info', `receiver ${this.id}: ${m}`),
      });
    } catch (err) {
      if (err instanceof LiveCaptureError) throw new Error(`receivers::${this.id}: cannot capture with ${this.source}: ${err.message}`);
      throw err;
    }
    const h = this.handle;
    host.telemetry.gauge('spanwire_capture_counter', 'Counters of the live capture source.', { receiver: this.id, counter: 'drops' }, () => h.counters().drops ?? 0);
  }

  async shutdown(): Promise<void> {
    const h = this.handle;
    this.handle = null;
    if (h !== null) await h.stop();
    await this.bridge?.drain();
  }
}

/**
 * The running collector: builds the pipeline graph from a validated config (receivers -> processors
 * -> exporters, a connector being an exporter of one pipeline and a receiver of others; one
 * processor instance per pipeline, one exporter instance per signal, fan-outs where a receiver
 * feeds several pipelines or a pipeline several exporters), starts it (extensions, exporters,
 * connectors, processors, receivers) and stops it in the reverse order, so that batches and queues
 * are flushed downstream before their consumers stop.
 */
import type { Signal } from '../../otel-config/components.js';
import type { CollectorConfig, PipelineConfig } from '../../otel-config/validate.js';
import { asConsumerError, type Component, type Consumer, type Host } from './component.js';
import type { Exporter } from './exporters/exporter.js';
import { HealthCheckExtension } from './extensions/health-check.js';
import { splitEndpoint } from './listen.js';
import { cloneData } from './pdata/codec.js';
import type { SignalData } from './pdata/model.js';
import { createConnector, createExporter, createExtension, createProcessor, createReceiver, type Connector, type Processor, type Receiver } from './registry.js';
import { OtlpReceiver } from './receivers/otlp.js';
import { LiveReceiver, PcapReceiver } from './receivers/capture.js';
import { Telemetry } from './telemetry.js';

/** Hands each batch to several consumers; consumers that change data get their own copy. */
export class Fanout<S extends Signal> implements Consumer<S> {
  readonly mutates: boolean;
  constructor(
    readonly signal: S,
    readonly consumers: Consumer<S>[],
  ) {
    this.mutates = consumers.length === 1 && consumers[0].mutates === true;
  }
  async consume(data: SignalData[S]): Promise<void> {
    if (this.consumers.length === 1) return this.consumers[0].consume(data);
    const results = await Promise.allSettled(this.consumers.map((c) => c.consume(c.mutates ? cloneData(this.signal, data) : data)));
    const errs = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => asConsumerError(r.reason));
    if (errs.length > 0) throw errs.find((e) => e.retryable) ?? errs[0];
  }
}

interface BuiltPipeline {
  cfg: PipelineConfig;
  processors: Processor<Signal>[];
  head: Consumer<Signal>;
  depth: number;
}

const LEVELS = { debug: 0, info: 1, warn: 2, error: 3 } as const;

export interface CollectorOptions {
  /** Where log lines go (default stderr). */
  log?: (line: string) => void;
}

export class Collector implements Host {
  readonly telemetry = new Telemetry();
  readonly receivers = new Map<string, Receiver>();
  readonly exporters = new Map<string, Exporter<Signal>>();
  readonly connectors = new Map<string, Connector>();
  readonly extensions = new Map<string, Component>();
  private readonly pipelines: BuiltPipeline[] = [];
  private readonly started: Component[] = [];
  private state: 'new' | 'running' | 'stopped' = 'new';
  /** Bound ports of the self-telemetry endpoint (when on). */
  telemetryPort = 0;

  constructor(
    readonly config: CollectorConfig,
    private readonly opts: CollectorOptions = {},
  ) {
    this.build();
  }

  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void {
    if (LEVELS[level] < LEVELS[this.config.service.telemetry.logsLevel]) return;
    const line = `${new Date().toISOString()}\t${level}\t${message}\n`;
    if (this.opts.log) this.opts.log(line);
    else process.stderr.write(line);
  }

  extension(id: string): Component | undefined {
    return this.extensions.get(id);
  }

  exporter<S extends Signal>(id: string, signal: S): Exporter<S> | undefined {
    return this.exporters.get(`${id}/${signal}`) as Exporter<S> | undefined;
  }

  private build(): void {
    const c = this.config;
    for (const id of c.service.extensions) this.extensions.set(id, createExtension(c.extensions.get(id)!));
    const exporterFor = (id: string, signal: Signal): Consumer<Signal> => {
      const key = `${id}/${signal}`;
      let e = this.exporters.get(key);
      if (e === undefined) {
        e = createExporter(c.exporters.get(id)!, signal) as Exporter<Signal>;
        this.exporters.set(key, e);
      }
      return e as Consumer<Signal>;
    };
    // Pipelines first (their heads), then the consumers that feed them.
    const built = new Map<string, BuiltPipeline>();
    for (const p of c.service.pipelines) {
      const processors = p.processors.map((id) => createProcessor(c.processors.get(id)!, p.signal) as Processor<Signal>);
      built.set(p.id, { cfg: p, processors, head: null as unknown as Consumer<Signal>, depth: 0 });
    }
    const connectorFor = (id: string): Connector => {
      let k = this.connectors.get(id);
      if (k === undefined) {
        k = createConnector(c.connectors.get(id)!);
        this.connectors.set(id, k);
      }
      return k;
    };
    for (const bp of built.values()) {
      const outs = bp.cfg.exporters.map((id) => (c.connectors.has(id) ? (connectorFor(id) as unknown as Consumer<Signal>) : exporterFor(id, bp.cfg.signal)));
      const tail: Consumer<Signal> = outs.length === 1 ? outs[0] : (new Fanout(bp.cfg.signal, outs as Consumer<typeof bp.cfg.signal>[]) as Consumer<Signal>);
      let next = tail;
      for (let i = bp.processors.length - 1; i >= 0; i--) {
        bp.processors[i].next = next;
        next = bp.processors[i];
      }
      const mutates = bp.processors.some((x) => x.mutates === true);
      bp.head = mutates ? { consume: (d: SignalData[Signal]) => next.consume(d as never), mutates: true } : next;
      this.pipelines.push(bp);
    }
    const headsFor = (receiverId: string, signal: Signal): Consumer<Signal> => {
      const heads = this.pipelines.filter((p) => p.cfg.signal === signal && p.cfg.receivers.includes(receiverId)).map((p) => p.head);
      return heads.length === 1 ? heads[0] : (new Fanout(signal, heads as Consumer<typeof signal>[]) as Consumer<Signal>);
    };
    for (const [id, k] of this.connectors) k.next = headsFor(id, 'metrics') as Consumer<'metrics'>;
    // Depth: pipelines fed only by receivers are 0; a pipeline fed by a connector is one deeper than its feeders.
    for (let changed = true, n = 0; changed && n < 20; n++) {
      changed = false;
      for (const p of this.pipelines) {
        for (const r of p.cfg.receivers) {
          if (!c.connectors.has(r)) continue;
          const feeders = this.pipelines.filter((x) => x.cfg.exporters.includes(r));
          const d = Math.max(...feeders.map((x) => x.depth)) + 1;
          if (d > p.depth) {
            p.depth = d;
            changed = true;
          }
        }
      }
    }
    const used = new Set(c.service.pipelines.flatMap((p) => p.receivers).filter((r) => c.receivers.has(r)));
    for (const id of used) {
      const inst = c.receivers.get(id)!;
      const rcv = createReceiver(inst);
      const signals = new Set(c.service.pipelines.filter((p) => p.receivers.includes(id)).map((p) => p.signal));
      if (rcv instanceof OtlpReceiver) for (const s of signals) (rcv.consumers as Record<string, Consumer<Signal>>)[s] = headsFor(id, s);
      else if (rcv instanceof PcapReceiver || rcv instanceof LiveReceiver) rcv.consumer = headsFor(id, 'traces') as Consumer<'traces'>;
      this.receivers.set(id, rcv);
    }
  }

  private async startOne(c: Component): Promise<void> {
    await c.start(this);
    this.started.push(c);
  }

  /** Starts everything; on failure stops what started and rethrows (the message names the config path). */
  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'running';
    try {
      const tel = this.config.service.telemetry;
      if (tel.metricsEndpoint !== null) {
        const { host, port } = splitEndpoint(tel.metricsEndpoint);
        try {
          this.telemetryPort = (await this.telemetry.serve(host, port)).port;
        } catch (e) {
          throw new Error(`service::telemetry::metrics: cannot listen on ${tel.metricsEndpoint}: ${(e as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'the address is already in use' : (e as Error).message} (set another address, or level: none)`);
        }
      }
      for (const e of this.extensions.values()) await this.startOne(e);
      for (const e of this.exporters.values()) await this.startOne(e);
      for (const k of this.connectors.values()) await this.startOne(k);
      for (const p of this.pipelines) for (const x of p.processors) await this.startOne(x);
      for (const r of this.receivers.values()) await this.startOne(r);
      for (const e of this.extensions.values()) if (e instanceof HealthCheckExtension) e.setReady(true);
      this.log('info', `everything is ready: ${this.pipelines.length} pipeline(s), ${this.receivers.size} receiver(s), ${this.exporters.size} exporter(s)`);
    } catch (e) {
      await this.shutdown();
      throw e;
    }
  }

  /** Resolves when every receiver is finite (pcap) and done; never for a collector with a server or live receiver. */
  async finished(): Promise<void> {
    const rs = [...this.receivers.values()];
    if (rs.length === 0 || !rs.every((r) => r instanceof PcapReceiver)) return new Promise(() => {});
    await Promise.all(rs.map((r) => (r as PcapReceiver).done));
  }

  /**
   * Stops receivers first, then processors (flushing batches), connectors, exporters (their in-memory
   * queues get `drainMs` to empty: 5 s on a signal, no limit once a pcap replay has finished, so that
   * a replay sends everything), then extensions.
   */
  async shutdown(drainMs = 5000): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    const was = new Set(this.started);
    const stop = async (c: Component) => {
      if (!was.has(c)) return;
      try {
        await c.shutdown();
      } catch (e) {
        this.log('error', `shutdown: ${(e as Error).message}`);
      }
    };
    for (const e of this.extensions.values()) if (e instanceof HealthCheckExtension) e.setReady(false);
    for (const r of this.receivers.values()) await stop(r);
    const maxDepth = Math.max(0, ...this.pipelines.map((p) => p.depth));
    for (let d = 0; d <= maxDepth; d++) {
      for (const p of this.pipelines) if (p.depth === d) for (const x of p.processors) await stop(x);
      for (const [id, k] of this.connectors) if (this.pipelines.some((p) => p.depth === d && p.cfg.exporters.includes(id))) await stop(k);
    }
    for (const e of this.exporters.values()) {
      if (!was.has(e)) continue;
      try {
        await e.shutdown(drainMs);
      } catch (err) {
        this.log('error', `shutdown: ${(err as Error).message}`);
      }
    }
    for (const e of [...this.extensions.values()].reverse()) await stop(e);
    await this.telemetry.close();
  }
}

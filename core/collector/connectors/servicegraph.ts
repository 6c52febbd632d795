/**
 * `servicegraph` connector (traces -> metrics), with the metric names of the OTel Collector's
 * connector and Tempo: traces_service_graph_request_total, traces_service_graph_request_failed_total
 * (sums), traces_service_graph_request_server_seconds and traces_service_graph_request_client_seconds
 * (histograms), labelled client, server, connection_type (and client_/server_ + each dimension).
 * A CLIENT (or PRODUCER) span and the SERVER (or CONSUMER) span whose parent it is make one edge;
 * halves wait in a store bounded by `store::max_items` for at most `store::ttl` (expired and
 * dropped halves are counted). Virtual nodes for uninstrumented peers are not made.
 */
import type { ServiceGraphConnectorConfig } from '../../../otel-config/components.js';
import { SPANWIRE_SCOPE } from '../../pipeline/version.js';
import { spanDurationNs, SPAN_KIND_CLIENT, SPAN_KIND_CONSUMER, SPAN_KIND_PRODUCER, SPAN_KIND_SERVER, STATUS_ERROR, type AttributeValue } from '../../trace/span.js';
import type { Component, Consumer, Host } from '../component.js';
import { spansOf } from '../pdata/codec.js';
import type { CollectorSpan, TracesData } from '../pdata/model.js';
import type { Counter } from '../telemetry.js';
import { emitMetrics, nowNanos, SeriesStore } from './series.js';

interface Half {
  service: string;
  seconds: number;
  failed: boolean;
  dims: [string, AttributeValue][];
  connectionType: string;
  expires: number;
}

interface Edge {
  client?: Half;
  server?: Half;
}

export class ServiceGraphConnector implements Consumer<'traces'>, Component {
  next!: Consumer<'metrics'>;
  private readonly store: SeriesStore;
  private readonly edges = new Map<string, Edge>();
  private flushTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private expired!: Counter;
  private dropped!: Counter;
  private host!: Host;

  constructor(
    readonly id: string,
    private readonly cfg: ServiceGraphConnectorConfig,
  ) {
    this.store = new SeriesStore(10_000, false, 'spanwire/connector/servicegraph', SPANWIRE_SCOPE.version);
    this.store.define({ name: 'traces_service_graph_request_total', unit: '1', description: 'Total count of requests between two nodes.', kind: 'sum' });
    this.store.define({ name: 'traces_service_graph_request_failed_total', unit: '1', description: 'Total count of failed requests between two nodes.', kind: 'sum' });
    this.store.define({ name: 'traces_service_graph_request_server_seconds', unit: 's', description: 'Time for a request between two nodes as seen from the server.', kind: 'histogram', bounds: cfg.buckets });
    this.store.define({ name: 'traces_service_graph_request_client_seconds', unit: 's', description: 'Time for a request between two nodes as seen from the client.', kind: 'histogram', bounds: cfg.buckets });
  }

  async start(host: Host): Promise<void> {
    this.host = host;
    const l = { connector: this.id };
    this.expired = host.telemetry.counter('traces_service_graph_unpaired_spans', 'Halves of edges that expired before their other half arrived.', l);
    this.dropped = host.telemetry.counter('traces_service_graph_dropped_spans', 'Halves of edges dropped because the store was full.', l);
    this.flushTimer = setInterval(() => void this.flush(), this.cfg.flushIntervalMs);
    this.flushTimer.unref();
    this.sweepTimer = setInterval(() => this.sweep(Date.now()), Math.min(1000, this.cfg.storeTtlMs));
    this.sweepTimer.unref();
  }

  private half(s: CollectorSpan, side: 'client' | 'server', now: number): Half {
    const dims: [string, AttributeValue][] = [];
    for (const d of this.cfg.dimensions) {
      const v = s.attributes[d] ?? s.resource.attributes[d];
      if (v !== undefined) dims.push([`${side}_${d}`, v]);
    }
    const messaging = s.kind === SPAN_KIND_PRODUCER || s.kind === SPAN_KIND_CONSUMER;
    return {
      service: String(s.resource.attributes['service.name'] ?? ''),
      seconds: spanDurationNs(s) / 1e9,
      failed: s.status.code === STATUS_ERROR,
      dims,
      connectionType: messaging ? 'messaging_system' : '',
      expires: now + this.cfg.storeTtlMs,
    };
  }

  async consume(data: TracesData): Promise<void> {
    const spans = spansOf(data);
    const now = Date.now();
    for (const s of spans) {
      let key: string;
      let side: 'client' | 'server';
      if (s.kind === SPAN_KIND_CLIENT || s.kind === SPAN_KIND_PRODUCER) {
        key = `${s.traceId}:${s.spanId}`;
        side = 'client';
      } else if ((s.kind === SPAN_KIND_SERVER || s.kind === SPAN_KIND_CONSUMER) && s.parentSpanId !== '') {
        key = `${s.traceId}:${s.parentSpanId}`;
        side = 'server';
      } else continue;
      let e = this.edges.get(key);
      if (e === undefined) {
        if (this.edges.size >= this.cfg.storeMaxItems) {
          this.dropped.add(1);
          continue;
        }
        this.edges.set(key, (e = {}));
      }
      e[side] = this.half(s, side, now);
      if (e.client !== undefined && e.server !== undefined) {
        this.record(e.client, e.server);
        this.edges.delete(key);
      }
    }
  }

  private record(c: Half, s: Half): void {
    const now = nowNanos();
    const attrs: [string, AttributeValue][] = [['client', c.service], ['server', s.service], ['connection_type', s.connectionType || c.connectionType], ...c.dims, ...s.dims];
    const res = {};
    this.store.add('traces_service_graph_request_total', res, '', attrs, 1, now);
    if (c.failed || s.failed) this.store.add('traces_service_graph_request_failed_total', res, '', attrs, 1, now);
    this.store.observe('traces_service_graph_request_server_seconds', res, '', attrs, s.seconds, now);
    this.store.observe('traces_service_graph_request_client_seconds', res, '', attrs, c.seconds, now);
  }

  private sweep(now: number): void {
    for (const [k, e] of this.edges) {
      const exp = Math.max(e.client?.expires ?? 0, e.server?.expires ?? 0);
      if (exp <= now) {
        this.edges.delete(k);
        this.expired.add(1);
      }
    }
  }

  private async flush(): Promise<void> {
    await emitMetrics(this.next, this.store.collect(nowNanos()), this.host, this.id);
  }

  async shutdown(): Promise<void> {
    if (this.flushTimer === null) return;
    clearInterval(this.flushTimer);
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.flushTimer = null;
    await this.flush();
  }
}

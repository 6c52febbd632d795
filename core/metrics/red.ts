/**
 * RED metrics from spans (rate, errors, duration), with the names, units, buckets and attributes of
 * ../shared/docs/SEMCONV.md (the OBI/Beyla names, so existing dashboards work): one histogram series
 * per resource and attribute set. Cardinality stays bounded: URL paths become routes (configured
 * patterns first, then a heuristic that collapses ids), SQL is never an attribute, and past the series
 * limit of a metric further series fold into one `otel.metric.overflow=true` series, as OTel SDKs do.
 *
 * Exported as OTLP/JSON (`ExportMetricsServiceRequest`) and as Prometheus text exposition.
 */
import type { AttributeValue, Attributes, Resource, SpanData, TracesConsumer } from '../trace/span.js';
import { SPAN_KIND_CONSUMER, SPAN_KIND_PRODUCER, SPAN_KIND_SERVER, spanDurationNs } from '../trace/span.js';
import { SPANWIRE_SCOPE } from '../pipeline/version.js';

export const HTTP_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
export const DB_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

interface MetricDef {
  name: string;
  description: string;
  buckets: readonly number[];
  keys: readonly string[];
}

const HTTP_KEYS = ['http.request.method', 'http.response.status_code', 'http.route', 'url.scheme', 'server.address', 'server.port', 'error.type'];
const RPC_KEYS = ['rpc.system.name', 'rpc.method', 'rpc.response.status_code', 'error.type'];
const METRICS: Record<string, MetricDef> = {
  httpServer: { name: 'http.server.request.duration', description: 'Duration of HTTP server requests.', buckets: HTTP_BUCKETS, keys: HTTP_KEYS },
  httpClient: { name: 'http.client.request.duration', description: 'Duration of HTTP client requests.', buckets: HTTP_BUCKETS, keys: HTTP_KEYS },
  rpcServer: { name: 'rpc.server.call.duration', description: 'Duration of RPC calls served.', buckets: HTTP_BUCKETS, keys: RPC_KEYS },
  rpcClient: { name: 'rpc.client.call.duration', description: 'Duration of RPC calls made.', buckets: HTTP_BUCKETS, keys: RPC_KEYS },
  db: {
    name: 'db.client.operation.duration',
    description: 'Duration of database client operations.',
    buckets: DB_BUCKETS,
    keys: ['db.system.name', 'db.operation.name', 'db.collection.name', 'db.namespace', 'db.response.status_code', 'error.type'],
  },
  messaging: {
    name: 'messaging.client.operation.duration',
    description: 'Duration of messaging operations.',
    buckets: HTTP_BUCKETS,
    keys: ['messaging.system', 'messaging.operation.name', 'messaging.operation.type', 'messaging.destination.name', 'error.type'],
  },
  dns: { name: 'dns.lookup.duration', description: 'Duration of DNS lookups.', buckets: HTTP_BUCKETS, keys: ['dns.question.name', 'error.type'] },
};

export interface RedMetricsOptions {
  /** Series per metric before the overflow series (default 2000). */
  maxSeriesPerMetric?: number;
  /** Route templates (`/users/{id}/orders`, `/static/*`): a path matching one becomes that route. */
  routes?: readonly string[];
  /** 'cumulative' (default) or 'delta': delta resets the series after each export. */
  temporality?: 'cumulative' | 'delta';
}

interface Series {
  resource: Resource;
  attributes: Attributes;
  counts: number[];
  count: number;
  sum: number;
  min: number;
  max: number;
  startNs: number;
}

interface MetricState {
  def: MetricDef;
  series: Map<string, Series>;
  overflow: number;
}

const ID_SEGMENT = /^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?=[0-9a-z_-]*\d)[0-9a-z_-]{16,}|(?=[0-9a-f]*\d)[0-9a-f]{8,})$/i;

/**
 * The route of a URL path: the first configured template it matches (`{x}` and `*` match one
 * segment, a trailing `/**` the rest), else the path with id-like segments (numbers, UUIDs, hex and
 * long mixed tokens) replaced by `{id}`. Bounded: at most 16 segments kept.
 */
export function routeOf(path: string, templates: readonly string[] = []): string {
  const segs = path.split('?')[0].split('/');
  for (const t of templates) {
    const ts = t.split('/');
    let ok = true;
    for (let i = 0; i < ts.length && ok; i++) {
      if (ts[i] === '**' && i === ts.length - 1) return t;
      if (i >= segs.length) ok = false;
      else if (!(ts[i] === '*' || (ts[i].startsWith('{') && ts[i].endsWith('}')) || ts[i] === segs[i])) ok = false;
    }
    if (ok && ts.length === segs.length) return t;
  }
  const out = segs.slice(0, 17).map((s) => (ID_SEGMENT.test(s) ? '{id}' : s));
  if (segs.length > 17) out.push('...');
  return out.join('/');
}

export class RedMetrics implements TracesConsumer {
  private readonly metrics = new Map<string, MetricState>();
  private readonly max: number;
  private readonly resourceIds = new Map<Resource, number>();
  /** Span time bounds (ns since the epoch): the metrics' start and observation times. */
  private firstNs = Infinity;
  private lastNs = 0;

  constructor(private readonly opts: RedMetricsOptions = {}) {
    this.max = opts.maxSeriesPerMetric ?? 2000;
  }

  consumeTraces(spans: SpanData[]): void {
    for (const s of spans) this.record(s);
  }

  /** The metric a span feeds, or null (no RED metric for it). */
  private metricOf(s: SpanData): MetricDef | null {
    const a = s.attributes;
    const server = s.kind === SPAN_KIND_SERVER;
    if (a['rpc.system.name'] !== undefined) return server ? METRICS.rpcServer : METRICS.rpcClient;
    if (a['http.request.method'] !== undefined) return server ? METRICS.httpServer : METRICS.httpClient;
    if (a['messaging.system'] !== undefined || s.kind === SPAN_KIND_PRODUCER || s.kind === SPAN_KIND_CONSUMER) return a['messaging.system'] !== undefined ? METRICS.messaging : null;
    if (a['db.system.name'] !== undefined) return METRICS.db;
    if (a['dns.question.name'] !== undefined || a['spanwire.dns.question.type'] !== undefined) return METRICS.dns;
    return null;
  }

  record(s: SpanData): void {
    const def = this.metricOf(s);
    if (def === null) return;
    let m = this.metrics.get(def.name);
    if (m === undefined) {
      m = { def, series: new Map(), overflow: 0 };
      this.metrics.set(def.name, m);
    }
    const attrs: Attributes = {};
    const a = s.attributes;
    for (const k of def.keys) {
      let v: AttributeValue | undefined = a[k];
      if (k === 'http.route' && v === undefined && a['url.path'] !== undefined) v = routeOf(String(a['url.path']), this.opts.routes);
      if (v !== undefined) attrs[k] = v;
    }
    let rid = this.resourceIds.get(s.resource);
    if (rid === undefined) {
      rid = this.resourceIds.size;
      this.resourceIds.set(s.resource, rid);
    }
    let key = `${rid}`;
    for (const k of def.keys) key += `\u0000${attrs[k] ?? ''}`;
    let series = m.series.get(key);
    if (series === undefined) {
      if (m.series.size >= this.max) {
        key = `${rid}\u0000overflow`;
        series = m.series.get(key);
        if (series === undefined) {
          series = this.newSeries(s.resource, { 'otel.metric.overflow': true }, def);
          m.series.set(key, series);
        }
        m.overflow++;
      } else {
        series = this.newSeries(s.resource, attrs, def);
        m.series.set(key, series);
      }
    }
    const startNs = s.startTime[0] * 1e9 + s.startTime[1];
    const endNs = s.endTime[0] * 1e9 + s.endTime[1];
    if (startNs < this.firstNs) this.firstNs = startNs;
    if (endNs > this.lastNs) this.lastNs = endNs;
    if (series.startNs === 0) series.startNs = startNs;
    const v = spanDurationNs(s) / 1e9;
    let i = 0;
    const b = def.buckets;
    while (i < b.length && v > b[i]) i++;
    series.counts[i]++;
    series.count++;
    series.sum += v;
    if (v < series.min) series.min = v;
    if (v > series.max) series.max = v;
  }

  private newSeries(resource: Resource, attributes: Attributes, def: MetricDef): Series {
    return { resource, attributes, counts: new Array<number>(def.buckets.length + 1).fill(0), count: 0, sum: 0, min: Infinity, max: -Infinity, startNs: 0 };
  }

  /** Series that folded into an overflow series, per metric. */
  overflowCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [n, m] of this.metrics) if (m.overflow > 0) out[n] = m.overflow;
    return out;
  }

  /**
   * One OTLP `ExportMetricsServiceRequest` (OTLP/JSON encoding) with every series; `nowNs` is the
   * observation time (default: the latest span end). Delta temporality then starts the series afresh.
   */
  toOtlpJson(nowNs?: number): object {
    const delta = this.opts.temporality === 'delta';
    const time = String(Math.round(nowNs ?? this.lastNs));
    const byResource = new Map<Resource, Map<string, { def: MetricDef; points: object[] }>>();
    for (const [, m] of this.metrics) {
      for (const [, s] of m.series) {
        if (s.count === 0) continue;
        let metrics = byResource.get(s.resource);
        if (metrics === undefined) {
          metrics = new Map();
          byResource.set(s.resource, metrics);
        }
        let entry = metrics.get(m.def.name);
        if (entry === undefined) {
          entry = { def: m.def, points: [] };
          metrics.set(m.def.name, entry);
        }
        entry.points.push({
          attributes: otlpAttributes(s.attributes),
          startTimeUnixNano: String(Math.round(s.startNs)),
          timeUnixNano: time,
          count: String(s.count),
          sum: s.sum,
          bucketCounts: s.counts.map(String),
          explicitBounds: m.def.buckets,
          min: s.min,
          max: s.max,
        });
      }
    }
    const resourceMetrics = [...byResource].map(([resource, metrics]) => ({
      resource: { attributes: otlpAttributes(resource.attributes) },
      scopeMetrics: [
        {
          scope: { name: SPANWIRE_SCOPE.name, version: SPANWIRE_SCOPE.version },
          metrics: [...metrics.values()].map(({ def, points }) => ({
            name: def.name,
            description: def.description,
            unit: 's',
            histogram: { aggregationTemporality: delta ? 1 : 2, dataPoints: points },
          })),
        },
      ],
    }));
    if (delta) for (const [, m] of this.metrics) m.series.clear();
    return { resourceMetrics };
  }

  /**
   * Prometheus text exposition (format 0.0.4): `http_server_request_duration_seconds_bucket{...,le="0.005"}`
   * (cumulative buckets), `_sum`, `_count`; attribute and resource names with `.` become `_`
   * (`service_name`, `http_request_method`).
   */
  toPrometheus(): string {
    let out = '';
    for (const [, m] of this.metrics) {
      const base = `${m.def.name.replace(/\./g, '_')}_seconds`;
      out += `# HELP ${base} ${m.def.description}\n# TYPE ${base} histogram\n`;
      for (const [, s] of m.series) {
        if (s.count === 0) continue;
        const labels: string[] = [];
        const sn = s.resource.attributes['service.name'];
        if (sn !== undefined) labels.push(`service_name="${promEscape(String(sn))}"`);
        for (const k in s.attributes) labels.push(`${k.replace(/[^A-Za-z0-9_]/g, '_')}="${promEscape(String(s.attributes[k]))}"`);
        const l = labels.join(',');
        let cum = 0;
        for (let i = 0; i < m.def.buckets.length; i++) {
          cum += s.counts[i];
          out += `${base}_bucket{${l}${l ? ',' : ''}le="${m.def.buckets[i]}"} ${cum}\n`;
        }
        out += `${base}_bucket{${l}${l ? ',' : ''}le="+Inf"} ${s.count}\n`;
        out += `${base}_sum{${l}} ${s.sum}\n${base}_count{${l}} ${s.count}\n`;
      }
    }
    return out;
  }
}

function promEscape(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function otlpAttributes(a: Attributes): object[] {
  const out: object[] = [];
  for (const key in a) {
    const v = a[key];
    if (typeof v === 'string') out.push({ key, value: { stringValue: v } });
    else if (typeof v === 'boolean') out.push({ key, value: { boolValue: v } });
    else if (typeof v === 'number') out.push({ key, value: Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v } });
    else out.push({ key, value: { arrayValue: { values: (v as readonly (string | number)[]).map((x) => (typeof x === 'string' ? { stringValue: x } : { intValue: String(x) })) } } });
  }
  return out;
}

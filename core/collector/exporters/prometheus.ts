/**
 * `prometheus` exporter: keeps the latest value of every received metric series and serves them as
 * Prometheus text (0.0.4) at http://ENDPOINT/metrics, named as the Collector's exporter names them:
 * `.` and other invalid characters become `_`, the unit is appended (`_seconds`, `_milliseconds`,
 * `_bytes`, `_ratio` for unit 1 gauges) and monotonic sums end in `_total` (add_metric_suffixes);
 * `job` and `instance` come from service.namespace/service.name and service.instance.id. Delta sums
 * and histograms are accumulated into cumulative ones. Series not updated within
 * `metric_expiration` disappear. Exponential histograms are not exposed (counted as skipped).
 */
import { createServer, type Server } from 'node:http';
import type { PrometheusExporterConfig } from '../../../otel-config/components.js';
import { plainOf } from '../pdata/anyvalue.js';
import type { KeyValueJson, MetricsData } from '../pdata/model.js';
import { listenOn } from '../listen.js';
import type { Host } from '../component.js';
import type { Transport } from './exporter.js';

interface Series {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary';
  help: string;
  labels: [string, string][];
  value: number;
  bounds: number[];
  buckets: number[];
  count: number;
  sum: number;
  quantiles: [number, number][];
  updated: number;
  timeMs: number;
}

const UNITS: Record<string, string> = { s: 'seconds', ms: 'milliseconds', us: 'microseconds', ns: 'nanoseconds', min: 'minutes', h: 'hours', By: 'bytes', KiBy: 'kibibytes', MiBy: 'mebibytes', KBy: 'kilobytes', MBy: 'megabytes', m: 'meters', V: 'volts', A: 'amperes', J: 'joules', W: 'watts', g: 'grams', Cel: 'celsius', Hz: 'hertz', '%': 'percent' };

export function promName(s: string): string {
  let n = s.replace(/[^a-zA-Z0-9_:]/g, '_');
  if (/^[0-9]/.test(n)) n = `_${n}`;
  return n.replace(/__+/g, '_');
}

function unitSuffix(unit: string, gauge: boolean): string {
  if (unit === '' || unit.startsWith('{')) return '';
  if (unit === '1') return gauge ? 'ratio' : '';
  const [a, b] = unit.split('/');
  const main = UNITS[a] ?? promName(a);
  return b !== undefined ? `${main}_per_${UNITS[b] ?? promName(b)}` : main;
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return Number(v ?? 0);
}

function fmt(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
}

type Json = Record<string, unknown>;

export class PrometheusTransport implements Transport<'metrics'> {
  private readonly series = new Map<string, Series>();
  private server: Server | null = null;
  port = 0;
  skipped = 0;

  constructor(
    readonly id: string,
    private readonly cfg: PrometheusExporterConfig,
  ) {}

  async start(host: Host): Promise<void> {
    this.server = createServer((req, res) => {
      if ((req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('metrics are at /metrics\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(this.exposition());
    });
    this.port = await listenOn(this.server, this.cfg.endpoint, `exporters::${this.id}::endpoint`);
    host.log('info', `exporter ${this.id}: metrics at http://${this.cfg.endpoint.replace(/:\d+$/, '')}:${this.port}/metrics`);
  }

  async send(data: MetricsData): Promise<void> {
    const now = Date.now();
    for (const rm of data.resourceMetrics ?? []) {
      const res: Record<string, string> = {};
      for (const kv of ((rm.resource as Json | undefined)?.attributes as KeyValueJson[] | undefined) ?? []) res[kv.key] = String(plainOf(kv.value).v);
      const base: [string, string][] = [];
      const job = res['service.name'] !== undefined ? (res['service.namespace'] !== undefined ? `${res['service.namespace']}/${res['service.name']}` : res['service.name']) : undefined;
      if (job !== undefined) base.push(['job', job]);
      if (res['service.instance.id'] !== undefined) base.push(['instance', res['service.instance.id']]);
      if (this.cfg.resourceToTelemetry) for (const [k, v] of Object.entries(res)) base.push([promName(k), v]);
      for (const [k, v] of Object.entries(this.cfg.constLabels)) base.push([promName(k), v]);
      for (const sm of (rm.scopeMetrics as Json[] | undefined) ?? [])
        for (const m of (sm.metrics as Json[] | undefined) ?? []) this.record(m, base, now);
    }
  }

  private record(m: Json, base: [string, string][], now: number): void {
    const gauge = m.gauge as Json | undefined;
    const sum = m.sum as Json | undefined;
    const hist = m.histogram as Json | undefined;
    const summary = m.summary as Json | undefined;
    if (m.exponentialHistogram !== undefined) {
      this.skipped++;
      return;
    }
    const monotonic = sum?.isMonotonic === true;
    const type: Series['type'] = hist ? 'histogram' : summary ? 'summary' : monotonic ? 'counter' : 'gauge';
    let name = (this.cfg.namespace !== '' ? `${this.cfg.namespace}_` : '') + String(m.name ?? '');
    name = promName(name);
    if (this.cfg.addMetricSuffixes) {
      const u = unitSuffix(String(m.unit ?? ''), type === 'gauge');
      if (u !== '' && !name.endsWith(`_${u}`)) name += `_${u}`;
      if (type === 'counter' && !name.endsWith('_total')) name += '_total';
    }
    const body = gauge ?? sum ?? hist ?? summary;
    const delta = Number((body as Json | undefined)?.aggregationTemporality ?? 2) === 1;
    for (const dp of ((body as Json | undefined)?.dataPoints as Json[] | undefined) ?? []) {
      const labels: [string, string][] = [...base];
      for (const kv of (dp.attributes as KeyValueJson[] | undefined) ?? []) labels.push([promName(kv.key), String(plainOf(kv.value).v)]);
      labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const key = `${name}\u0000${labels.map(([k, v]) => `${k}=${v}`).join('\u0000')}`;
      let s = this.series.get(key);
      if (s === undefined) {
        s = { name, type, help: String(m.description ?? ''), labels, value: 0, bounds: [], buckets: [], count: 0, sum: 0, quantiles: [], updated: now, timeMs: 0 };
        this.series.set(key, s);
      }
      s.updated = now;
      s.timeMs = Math.floor(num(dp.timeUnixNano) / 1e6);
      if (type === 'histogram') {
        const counts = ((dp.bucketCounts as unknown[]) ?? []).map(num);
        const bounds = ((dp.explicitBounds as unknown[]) ?? []).map(num);
        if (delta && s.bounds.length === bounds.length && s.bounds.every((b, i) => b === bounds[i])) {
          counts.forEach((c, i) => (s.buckets[i] = (s.buckets[i] ?? 0) + c));
          s.count += num(dp.count);
          s.sum += num(dp.sum);
        } else {
          s.bounds = bounds;
          s.buckets = counts;
          s.count = num(dp.count);
          s.sum = num(dp.sum);
        }
      } else if (type === 'summary') {
        s.count = num(dp.count);
        s.sum = num(dp.sum);
        s.quantiles = ((dp.quantileValues as Json[] | undefined) ?? []).map((q) => [num(q.quantile), num(q.value)]);
      } else {
        const v = dp.asDouble !== undefined ? num(dp.asDouble) : num(dp.asInt);
        s.value = delta && type === 'counter' ? s.value + v : v;
      }
    }
  }

  exposition(): string {
    const now = Date.now();
    const byName = new Map<string, Series[]>();
    for (const [k, s] of this.series) {
      if (this.cfg.metricExpirationMs > 0 && now - s.updated > this.cfg.metricExpirationMs) {
        this.series.delete(k);
        continue;
      }
      let l = byName.get(s.name);
      if (l === undefined) byName.set(s.name, (l = []));
      l.push(s);
    }
    let out = '';
    for (const [name, list] of byName) {
      const first = list[0];
      if (first.help !== '') out += `# HELP ${name} ${first.help.replace(/\n/g, ' ')}\n`;
      out += `# TYPE ${name} ${first.type}\n`;
      for (const s of list) {
        const ts = this.cfg.sendTimestamps && s.timeMs > 0 ? ` ${s.timeMs}` : '';
        const lab = (extra?: [string, string]) => {
          const all = extra ? [...s.labels, extra] : s.labels;
          return all.length === 0 ? '' : `{${all.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;
        };
        if (s.type === 'histogram') {
          let cum = 0;
          s.bounds.forEach((b, i) => {
            cum += s.buckets[i] ?? 0;
            out += `${name}_bucket${lab(['le', fmt(b)])} ${cum}${ts}\n`;
          });
          out += `${name}_bucket${lab(['le', '+Inf'])} ${s.count}${ts}\n${name}_sum${lab()} ${fmt(s.sum)}${ts}\n${name}_count${lab()} ${s.count}${ts}\n`;
        } else if (s.type === 'summary') {
          for (const [q, v] of s.quantiles) out += `${name}${lab(['quantile', fmt(q)])} ${fmt(v)}${ts}\n`;
          out += `${name}_sum${lab()} ${fmt(s.sum)}${ts}\n${name}_count${lab()} ${s.count}${ts}\n`;
        } else out += `${name}${lab()} ${fmt(s.value)}${ts}\n`;
      }
    }
    return out;
  }

  async shutdown(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s !== null) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  }
}

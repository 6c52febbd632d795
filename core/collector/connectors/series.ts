/**
 * Counters and explicit-bucket histograms keyed by resource and attribute set, emitted as OTLP
 * metrics (JSON mapping) with cumulative or delta temporality. Bounded: past `maxSeries` series per
 * metric, further attribute sets fold into one `otel.metric.overflow=true` series (as OTel SDKs do).
 */
import type { AttributeValue, Attributes } from '../../trace/span.js';
import { anyOfPlain } from '../pdata/anyvalue.js';
import type { Consumer, Host } from '../component.js';
import type { KeyValueJson, MetricsData } from '../pdata/model.js';

interface Point {
  attrs: [string, AttributeValue][];
  value: number;
  counts: number[];
  sum: number;
  startNs: string;
}

interface MetricDef {
  name: string;
  unit: string;
  description: string;
  kind: 'sum' | 'histogram';
  bounds?: readonly number[];
}

export class SeriesStore {
  /** resource key -> { attributes, metric name -> point key -> point } */
  private readonly resources = new Map<string, { attributes: KeyValueJson[]; metrics: Map<string, Map<string, Point>> }>();
  private readonly defs = new Map<string, MetricDef>();
  overflowed = 0;

  constructor(
    private readonly maxSeries: number,
    private readonly delta: boolean,
    private readonly scopeName: string,
    private readonly scopeVersion: string,
  ) {}

  define(d: MetricDef): void {
    this.defs.set(d.name, d);
  }

  private point(metric: string, resource: Attributes, resourceKey: string, attrs: [string, AttributeValue][], nowNs: string): Point {
    let r = this.resources.get(resourceKey);
    if (r === undefined) {
      r = { attributes: Object.keys(resource).map((key) => ({ key, value: anyOfPlain(resource[key]) })), metrics: new Map() };
      this.resources.set(resourceKey, r);
    }
    let m = r.metrics.get(metric);
    if (m === undefined) r.metrics.set(metric, (m = new Map()));
    let key = attrs.map(([k, v]) => `${k}=${String(v)}`).join('\u0000');
    let p = m.get(key);
    if (p === undefined) {
      if (m.size >= this.maxSeries) {
        this.overflowed++;
        key = '\u0000overflow';
        attrs = [['otel.metric.overflow', true]];
        p = m.get(key);
      }
      if (p === undefined) {
        const bounds = this.defs.get(metric)?.bounds ?? [];
        p = { attrs, value: 0, counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, startNs: nowNs };
        m.set(key, p);
      }
    }
    return p;
  }

  add(metric: string, resource: Attributes, resourceKey: string, attrs: [string, AttributeValue][], n: number, nowNs: string): void {
    this.point(metric, resource, resourceKey, attrs, nowNs).value += n;
  }

  observe(metric: string, resource: Attributes, resourceKey: string, attrs: [string, AttributeValue][], v: number, nowNs: string): void {
    const p = this.point(metric, resource, resourceKey, attrs, nowNs);
    const b = this.defs.get(metric)!.bounds!;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    p.counts[i]++;
    p.value++;
    p.sum += v;
  }

  /** Every series as one ExportMetricsServiceRequest (delta: the series start afresh). */
  collect(nowNs: string): MetricsData {
    const resourceMetrics: Record<string, unknown>[] = [];
    for (const [, r] of this.resources) {
      const metrics: Record<string, unknown>[] = [];
      for (const [name, points] of r.metrics) {
        const d = this.defs.get(name)!;
        const dataPoints = [...points.values()].map((p) => {
          const attributes = p.attrs.map(([key, v]) => ({ key, value: anyOfPlain(v) }));
          const base = { attributes, startTimeUnixNano: p.startNs, timeUnixNano: nowNs };
          return d.kind === 'sum'
            ? { ...base, asInt: String(p.value) }
            : { ...base, count: String(p.value), sum: p.sum, bucketCounts: p.counts.map(String), explicitBounds: d.bounds };
        });
        const temporality = this.delta ? 1 : 2;
        metrics.push({
          name,
          description: d.description,
          unit: d.unit,
          ...(d.kind === 'sum' ? { sum: { dataPoints, aggregationTemporality: temporality, isMonotonic: true } } : { histogram: { dataPoints, aggregationTemporality: temporality } }),
        });
      }
      resourceMetrics.push({ resource: { attributes: r.attributes }, scopeMetrics: [{ scope: { name: this.scopeName, version: this.scopeVersion }, metrics }] });
    }
    if (this.delta) this.resources.clear();
    return { resourceMetrics };
  }
}

/** Hands a connector's metrics to its pipelines; a refusal is logged (the next flush carries on). */
export async function emitMetrics(next: Consumer<'metrics'>, data: MetricsData, host: Host, id: string): Promise<void> {
  if (data.resourceMetrics.length === 0) return;
  try {
    await next.consume(data);
  } catch (e) {
    host.log('warn', `connector ${id}: metrics not accepted downstream: ${(e as Error).message}`);
  }
}

export function nowNanos(): string {
  const ms = Date.now();
  return `${ms}000000`;
}

/** A stable key for a resource's attributes. */
export function resourceKey(a: Attributes): string {
  return Object.keys(a)
    .sort()
    .map((k) => `${k}=${String(a[k])}`)
    .join('\u0000');
}

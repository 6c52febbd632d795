/**
 * `spanmetrics` connector (traces -> metrics): for every span, `<namespace>.calls` (monotonic sum)
 * and `<namespace>.duration` (explicit-bucket histogram in ms by default) per resource and
 * dimensions service.name, span.name, span.kind (SPAN_KIND_*), status.code (STATUS_CODE_*) plus the
 * configured ones (span attribute, else resource attribute, else the dimension's default, else
 * left out), as the Collector's connector does; emitted every `metrics_flush_interval` and at
 * shutdown. With `spanwire_red_metrics: true` it also emits the semantic-convention RED histograms
 * of core/metrics/red.ts (http.server.request.duration ...).
 */
import type { SpanMetricsConnectorConfig } from '../../../otel-config/components.js';
import { RedMetrics } from '../../metrics/red.js';
import { SPANWIRE_SCOPE } from '../../pipeline/version.js';
import { spanDurationNs, type AttributeValue } from '../../trace/span.js';
import type { Component, Consumer, Host } from '../component.js';
import { spansOf } from '../pdata/codec.js';
import type { CollectorResource, MetricsData, TracesData } from '../pdata/model.js';
import { emitMetrics, nowNanos, resourceKey, SeriesStore } from './series.js';

const KIND_NAMES = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

export class SpanMetricsConnector implements Consumer<'traces'>, Component {
  next!: Consumer<'metrics'>;
  private readonly store: SeriesStore;
  private readonly red: RedMetrics | null;
  private timer: NodeJS.Timeout | null = null;
  private readonly resKeys = new WeakMap<CollectorResource, string>();
  private readonly calls: string;
  private readonly duration: string;
  private host!: Host;

  constructor(
    readonly id: string,
    private readonly cfg: SpanMetricsConnectorConfig,
  ) {
    this.store = new SeriesStore(cfg.dimensionsCacheSize, cfg.temporality === 'delta', 'spanwire/connector/spanmetrics', SPANWIRE_SCOPE.version);
    const ns = cfg.namespace === '' ? '' : `${cfg.namespace}.`;
    this.calls = `${ns}calls`;
    this.duration = `${ns}duration`;
    this.store.define({ name: this.calls, unit: '1', description: 'Number of spans.', kind: 'sum' });
    this.store.define({ name: this.duration, unit: cfg.unit, description: 'Span duration.', kind: 'histogram', bounds: cfg.buckets });
    this.red = cfg.redMetrics ? new RedMetrics({ temporality: cfg.temporality }) : null;
  }

  async start(host: Host): Promise<void> {
    this.host = host;
    this.timer = setInterval(() => void this.flush(), this.cfg.flushIntervalMs);
    this.timer.unref();
  }

  async consume(data: TracesData): Promise<void> {
    const spans = spansOf(data);
    const now = nowNanos();
    const excl = this.cfg.excludeDimensions;
    const div = this.cfg.unit === 'ms' ? 1e6 : 1e9;
    for (const s of spans) {
      let rk = this.resKeys.get(s.resource);
      if (rk === undefined) this.resKeys.set(s.resource, (rk = resourceKey(s.resource.attributes)));
      const attrs: [string, AttributeValue][] = [];
      const svc = s.resource.attributes['service.name'];
      if (!excl.includes('service.name') && svc !== undefined) attrs.push(['service.name', svc]);
      if (!excl.includes('span.name')) attrs.push(['span.name', s.name]);
      if (!excl.includes('span.kind')) attrs.push(['span.kind', KIND_NAMES[s.kind] ?? String(s.kind)]);
      if (!excl.includes('status.code')) attrs.push(['status.code', STATUS_NAMES[s.status.code] ?? String(s.status.code)]);
      for (const d of this.cfg.dimensions) {
        const v = s.attributes[d.name] ?? s.resource.attributes[d.name] ?? d.default;
        if (v !== undefined) attrs.push([d.name, v]);
      }
      this.store.add(this.calls, s.resource.attributes, rk, attrs, 1, now);
      this.store.observe(this.duration, s.resource.attributes, rk, attrs, spanDurationNs(s) / div, now);
    }
    this.red?.consumeTraces(spans);
  }

  private async flush(): Promise<void> {
    const data: MetricsData = this.store.collect(nowNanos());
    if (this.red !== null) data.resourceMetrics.push(...(this.red.toOtlpJson(Date.now() * 1e6) as MetricsData).resourceMetrics);
    await emitMetrics(this.next, data, this.host, this.id);
  }

  async shutdown(): Promise<void> {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}

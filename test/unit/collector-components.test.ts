/**
 * Collector components on their own, with the OTel Collector's documented semantics as the
 * expectation: queue and retry, batch, attributes/resource actions, filter conditions, spanmetrics
 * and servicegraph metrics, the Prometheus exposition, file rotation.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { validateConfig, type ConfigMap } from '../../otel-config/index.js';
import type { AttrAction, BatchProcessorConfig, ExporterCommon, FileExporterConfig, FilterProcessorConfig, PrometheusExporterConfig, ServiceGraphConnectorConfig, SpanMetricsConnectorConfig } from '../../otel-config/components.js';
import { ConsumerError, type Consumer, type Host } from '../../core/collector/component.js';
import { ServiceGraphConnector } from '../../core/collector/connectors/servicegraph.js';
import { SpanMetricsConnector } from '../../core/collector/connectors/spanmetrics.js';
import { FileTransport } from '../../core/collector/exporters/file.js';
import { PrometheusTransport } from '../../core/collector/exporters/prometheus.js';
import { backoffDelay, QueuedRetrySender } from '../../core/collector/exporters/sender.js';
import { RawTraces, type CollectorSpan, type MetricsData, type SignalData } from '../../core/collector/pdata/model.js';
import { decodeTracesProto, encodeTracesProto } from '../../core/collector/pdata/traces.js';
import { AttributesProcessor } from '../../core/collector/processors/attributes.js';
import { BatchProcessor } from '../../core/collector/processors/batch.js';
import { FilterProcessor } from '../../core/collector/processors/filter.js';
import { Telemetry } from '../../core/collector/telemetry.js';

const dir = mkdtempSync(join(tmpdir(), 'spanwire-collector-components-'));
/** `printf %s a@b.c | sha256sum` */
const SHA_OF_EMAIL = 'd648b243a3e817eaa3309e00e183483f2867baadf522099f0c2121770536b25a';

function host(): Host & { lines: string[] } {
  const lines: string[] = [];
  return { telemetry: new Telemetry(), extension: () => undefined, log: (_l, m) => void lines.push(m), lines };
}

/** The typed config of one component, through the real config validation. */
function cfgOf<T>(section: string, type: string, yaml: string, signal: 'traces' | 'metrics' = 'traces'): T {
  const map: ConfigMap = {
    receivers: { otlp: { protocols: { grpc: null } } },
    exporters: { debug: {} },
    service: { telemetry: { metrics: { level: 'none' } }, pipelines: { [signal]: { receivers: ['otlp'], exporters: ['debug'] } } },
  };
  map[section] = { ...((map[section] as ConfigMap | undefined) ?? {}), [type]: parse(yaml) as unknown };
  const cfg = validateConfig(map);
  const m = section === 'processors' ? cfg.processors : section === 'exporters' ? cfg.exporters : cfg.connectors;
  return m.get(type)!.config as T;
}

let n = 0;
function span(over: Partial<CollectorSpan> = {}): CollectorSpan {
  n++;
  return {
    traceId: 'ab'.repeat(16),
    spanId: n.toString(16).padStart(16, '0'),
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name: 'GET /x',
    kind: 2,
    startTime: [1000, 0],
    endTime: [1000, 5_000_000],
    attributes: {},
    status: { code: 0, message: '' },
    resource: { attributes: { 'service.name': 'api' } },
    scope: { name: 's', version: '' },
    ...over,
  };
}

class Sink<S extends 'traces' | 'metrics' | 'logs'> implements Consumer<S> {
  readonly got: SignalData[S][] = [];
  fail: ConsumerError | null = null;
  async consume(d: SignalData[S]): Promise<void> {
    if (this.fail) throw this.fail;
    this.got.push(d);
  }
}

const COMMON = (q: Partial<ExporterCommon['queue']> = {}, r: Partial<ExporterCommon['retry']> = {}): ExporterCommon => ({
  queue: { enabled: true, numConsumers: 1, queueSize: 2, ...q },
  retry: { enabled: true, initialIntervalMs: 5, randomizationFactor: 0.5, multiplier: 2, maxIntervalMs: 20, maxElapsedTimeMs: 200, ...r },
  timeoutMs: 1000,
});

describe('sending queue and retry', () => {
  it('backoff: initial * multiplier^n, capped at max_interval, +/- randomization_factor', () => {
    const r = COMMON().retry;
    expect(backoffDelay(r, 0, () => 0)).toBe(2.5);
    expect(backoffDelay(r, 0, () => 1)).toBe(7.5);
    expect(backoffDelay(r, 1, () => 0.5)).toBe(10);
    expect(backoffDelay(r, 10, () => 0.5)).toBe(20);
  });

  it('a full queue refuses with a retryable error and counts the items', async () => {
    const h = host();
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const sender = new QueuedRetrySender('otlp', 'traces', COMMON(), () => blocked);
    await sender.start(h);
    await sender.consume([span()]); // taken by the one worker, blocked
    await new Promise((r) => setTimeout(r, 5));
    await sender.consume([span()]);
    await sender.consume([span()]); // queue of 2 now full
    await expect(sender.consume([span(), span()])).rejects.toMatchObject({ retryable: true });
    expect(h.telemetry.value('otelcol_exporter_enqueue_failed_spans')).toBe(2);
    release();
    await sender.shutdown();
    expect(h.telemetry.value('otelcol_exporter_sent_spans')).toBe(3);
  });

  it('permanent errors are not retried; retryable ones until max_elapsed_time, then counted as failed', async () => {
    const h = host();
    let calls = 0;
    const perm = new QueuedRetrySender('p', 'traces', COMMON({ enabled: false }), async () => {
      calls++;
      throw ConsumerError.permanent('400');
    });
    await perm.start(h);
    await expect(perm.consume([span()])).rejects.toMatchObject({ retryable: false });
    expect(calls).toBe(1);
    let tries = 0;
    const retry = new QueuedRetrySender('r', 'traces', COMMON({ enabled: false }), async () => {
      tries++;
      throw ConsumerError.retryable('503');
    });
    await retry.start(h);
    const t0 = Date.now();
    await expect(retry.consume([span(), span()])).rejects.toThrow(/no more retries left \(max_elapsed_time 200 ms\): 503/);
    expect(Date.now() - t0).toBeLessThan(400);
    expect(tries).toBeGreaterThan(3);
    expect(h.telemetry.value('otelcol_exporter_send_failed_spans', { exporter: 'r' })).toBe(2);
    expect(h.telemetry.value('otelcol_exporter_send_failed_spans', { exporter: 'p' })).toBe(1);
  });
});

describe('batch processor', () => {
  it('sends at send_batch_size, in pieces of send_batch_max_size, and the rest at timeout', async () => {
    const b = new BatchProcessor('batch', 'traces', cfgOf<BatchProcessorConfig>('processors', 'batch', 'send_batch_size: 4\nsend_batch_max_size: 4\ntimeout: 30ms'));
    const sink = new Sink<'traces'>();
    b.next = sink;
    const h = host();
    await b.start(h);
    await b.consume([span(), span(), span()]);
    expect(sink.got).toHaveLength(0);
    await b.consume([span(), span()]);
    await new Promise((r) => setTimeout(r, 1));
    expect(sink.got.map((x) => (x as CollectorSpan[]).length)).toEqual([4, 1]);
    await b.consume([span()]);
    await new Promise((r) => setTimeout(r, 60));
    expect(sink.got.map((x) => (x as CollectorSpan[]).length)).toEqual([4, 1, 1]);
    expect(h.telemetry.value('otelcol_processor_batch_batch_size_trigger_send')).toBe(1);
    expect(h.telemetry.value('otelcol_processor_batch_timeout_trigger_send')).toBe(1);
    await b.shutdown();
  });

  it('keeps a batch the next stage refused (retryable), refuses new data meanwhile, then delivers it', async () => {
    const b = new BatchProcessor('batch', 'traces', cfgOf<BatchProcessorConfig>('processors', 'batch', 'send_batch_size: 2\ntimeout: 10ms'));
    const sink = new Sink<'traces'>();
    sink.fail = ConsumerError.retryable('queue full', 20);
    b.next = sink;
    await b.start(host());
    await b.consume([span(), span()]);
    await new Promise((r) => setTimeout(r, 2));
    await expect(b.consume([span()])).rejects.toMatchObject({ retryable: true });
    sink.fail = null;
    await new Promise((r) => setTimeout(r, 40));
    expect(sink.got.map((x) => (x as CollectorSpan[]).length)).toEqual([2]);
    await b.consume([span()]);
    await b.shutdown();
    expect(sink.got.map((x) => (x as CollectorSpan[]).length)).toEqual([2, 1]);
  });
});

describe('attributes and resource processors', () => {
  const actions = cfgOf<AttrAction[]>(
    'processors',
    'attributes',
    `actions:
  - { key: env, value: prod, action: insert }
  - { key: http.route, value: /r, action: insert }
  - { key: version, value: 2, action: update }
  - { key: missing, value: x, action: update }
  - { key: copy, from_attribute: http.route, action: upsert }
  - { key: user.email, action: hash }
  - { pattern: ^secret\\., action: delete }`,
  );

  it('insert only when absent, update only when present, upsert, hash (SHA-256), delete by pattern', async () => {
    const p = new AttributesProcessor('attributes', 'traces', actions, 'record');
    const sink = new Sink<'traces'>();
    p.next = sink;
    const s = span({ attributes: { 'http.route': '/orig', version: 1, 'user.email': 'a@b.c', 'secret.token': 't', 'secret.key': 'k', keep: true } });
    await p.consume([s]);
    expect((sink.got[0] as CollectorSpan[])[0].attributes).toEqual({
      'http.route': '/orig',
      version: 2,
      'user.email': SHA_OF_EMAIL,
      keep: true,
      env: 'prod',
      copy: '/orig',
    });
  });

  it('resource on protobuf traces: resources rewritten in the bytes, spans untouched', async () => {
    const p = new AttributesProcessor('resource', 'traces', cfgOf<AttrAction[]>('processors', 'resource', 'attributes:\n  - { key: region, value: eu, action: insert }'), 'resource');
    const sink = new Sink<'traces'>();
    p.next = sink;
    const spans = [span({ name: 'one' }), span({ name: 'two' })];
    await p.consume(new RawTraces([encodeTracesProto(spans)], 2));
    const out = sink.got[0];
    expect(out).toBeInstanceOf(RawTraces);
    const decoded = decodeTracesProto((out as RawTraces).bytes());
    expect(decoded.map((s) => [s.name, s.spanId, s.resource.attributes])).toEqual([
      ['one', spans[0].spanId, { 'service.name': 'api', region: 'eu' }],
      ['two', spans[1].spanId, { 'service.name': 'api', region: 'eu' }],
    ]);
  });

  it('logs and metrics: record attributes and resource attributes in the OTLP/JSON form, exact types kept', async () => {
    const logsP = new AttributesProcessor('attributes', 'logs', cfgOf<AttrAction[]>('processors', 'attributes', 'actions:\n  - { key: password, action: delete }\n  - { key: env, value: prod, action: upsert }'), 'record');
    const logSink = new Sink<'logs'>();
    logsP.next = logSink;
    await logsP.consume({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'x' }, attributes: [{ key: 'password', value: { stringValue: 'hunter2' } }, { key: 'big', value: { intValue: '9007199254740993' } }] }] }] }] });
    expect(logSink.got[0]).toEqual({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'x' }, attributes: [{ key: 'big', value: { intValue: '9007199254740993' } }, { key: 'env', value: { stringValue: 'prod' } }] }] }] }] });
    const metricsP = new AttributesProcessor('resource', 'metrics', cfgOf<AttrAction[]>('processors', 'resource', 'attributes:\n  - { key: service.name, action: hash }'), 'resource');
    const mSink = new Sink<'metrics'>();
    metricsP.next = mSink;
    await metricsP.consume({ resourceMetrics: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'a@b.c' } }] }, scopeMetrics: [] }] });
    expect((mSink.got[0] as MetricsData).resourceMetrics[0].resource).toEqual({ attributes: [{ key: 'service.name', value: { stringValue: SHA_OF_EMAIL } }] });
  });

  it('resource: copies a shared resource before changing it', async () => {
    const shared = { attributes: { 'service.name': 'api', 'host.name': 'h1' } };
    const p = new AttributesProcessor('resource', 'traces', cfgOf<AttrAction[]>('processors', 'resource', 'attributes:\n  - { key: host.name, action: delete }\n  - { key: deployment.environment.name, value: prod, action: upsert }'), 'resource');
    const sink = new Sink<'traces'>();
    p.next = sink;
    const a = span({ resource: shared });
    const b = span({ resource: shared });
    await p.consume([a, b]);
    expect(shared.attributes).toEqual({ 'service.name': 'api', 'host.name': 'h1' });
    const out = sink.got[0] as CollectorSpan[];
    expect(out[0].resource).toBe(out[1].resource);
    expect(out[0].resource.attributes).toEqual({ 'service.name': 'api', 'deployment.environment.name': 'prod' });
  });
});


describe('filter processor (OTTL subset)', () => {
  it('drops spans for which any condition is true', async () => {
    const cfg = cfgOf<FilterProcessorConfig>(
      'processors',
      'filter',
      `traces:
  span:
    - 'attributes["http.route"] == "/health" and kind == SPAN_KIND_SERVER'
    - 'IsMatch(name, "^internal\\\\.") or resource.attributes["service.name"] == "noisy"'
    - 'status.code == STATUS_CODE_ERROR and not (attributes["retry"] == true)'
    - 'attributes["http.response.status_code"] >= 500 and attributes["http.response.status_code"] < 600'`,
    );
    const f = new FilterProcessor('filter', cfg);
    const sink = new Sink<'traces'>();
    f.next = sink;
    const h = host();
    await f.start(h);
    const spans = [
      span({ name: 'health', attributes: { 'http.route': '/health' } }), // dropped (1)
      span({ name: 'health-client', kind: 3, attributes: { 'http.route': '/health' } }), // kept: not SERVER
      span({ name: 'internal.gc' }), // dropped (2)
      span({ name: 'noisy', resource: { attributes: { 'service.name': 'noisy' } } }), // dropped (2)
      span({ name: 'err', status: { code: 2, message: '' } }), // dropped (3)
      span({ name: 'err-retry', status: { code: 2, message: '' }, attributes: { retry: true } }), // kept
      span({ name: '503', attributes: { 'http.response.status_code': 503 } }), // dropped (4)
      span({ name: '404', attributes: { 'http.response.status_code': 404 } }), // kept
      span({ name: 'no-attr' }), // kept: nil compares false
    ];
    await f.consume(spans);
    expect((sink.got[0] as CollectorSpan[]).map((s) => s.name)).toEqual(['health-client', 'err-retry', '404', 'no-attr']);
    expect(h.telemetry.value('otelcol_processor_filter_spans_filtered')).toBe(5);
  });
});

describe('connectors', () => {
  it('spanmetrics: calls and duration per service.name, span.name, span.kind, status.code and configured dimensions', async () => {
    const cfg = cfgOf<SpanMetricsConnectorConfig>('connectors', 'spanmetrics', 'dimensions:\n  - name: http.request.method\n  - name: tier\n    default: none\nmetrics_flush_interval: 1h');
    const c = new SpanMetricsConnector('spanmetrics', cfg);
    const sink = new Sink<'metrics'>();
    c.next = sink;
    await c.start(host());
    await c.consume([
      span({ attributes: { 'http.request.method': 'GET' }, endTime: [1000, 3_000_000] }), // 3 ms
      span({ attributes: { 'http.request.method': 'GET' }, endTime: [1000, 45_000_000] }), // 45 ms
      span({ name: 'db', kind: 3, status: { code: 2, message: 'x' }, endTime: [1001, 0] }), // 1000 ms
    ]);
    await c.shutdown();
    const rm = (sink.got[0] as MetricsData).resourceMetrics;
    expect(rm).toHaveLength(1);
    const metrics = (rm[0].scopeMetrics as { metrics: Record<string, unknown>[] }[])[0].metrics;
    const calls = metrics.find((m) => m.name === 'traces.span.metrics.calls') as { sum: { isMonotonic: boolean; aggregationTemporality: number; dataPoints: { attributes: unknown[]; asInt: string }[] } };
    expect(calls.sum.isMonotonic).toBe(true);
    expect(calls.sum.aggregationTemporality).toBe(2);
    expect(calls.sum.dataPoints.map((d) => [d.attributes, d.asInt])).toEqual([
      [
        [
          { key: 'service.name', value: { stringValue: 'api' } },
          { key: 'span.name', value: { stringValue: 'GET /x' } },
          { key: 'span.kind', value: { stringValue: 'SPAN_KIND_SERVER' } },
          { key: 'status.code', value: { stringValue: 'STATUS_CODE_UNSET' } },
          { key: 'http.request.method', value: { stringValue: 'GET' } },
          { key: 'tier', value: { stringValue: 'none' } },
        ],
        '2',
      ],
      [
        [
          { key: 'service.name', value: { stringValue: 'api' } },
          { key: 'span.name', value: { stringValue: 'db' } },
          { key: 'span.kind', value: { stringValue: 'SPAN_KIND_CLIENT' } },
          { key: 'status.code', value: { stringValue: 'STATUS_CODE_ERROR' } },
          { key: 'tier', value: { stringValue: 'none' } },
        ],
        '1',
      ],
    ]);
    const dur = metrics.find((m) => m.name === 'traces.span.metrics.duration') as { unit: string; histogram: { dataPoints: { count: string; sum: number; bucketCounts: string[]; explicitBounds: number[] }[] } };
    expect(dur.unit).toBe('ms');
    const get = dur.histogram.dataPoints[0];
    expect(get.explicitBounds).toEqual([2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10000, 15000]);
    expect(get.count).toBe('2');
    expect(get.sum).toBe(48);
    // 3 ms in (2, 4]; 45 ms in (10, 50]
    expect(get.bucketCounts).toEqual(['0', '1', '0', '0', '0', '1', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0']);
  });

  it('servicegraph: a client span and the server span it parents make one edge', async () => {
    const cfg = cfgOf<ServiceGraphConnectorConfig>('connectors', 'servicegraph', 'metrics_flush_interval: 1h\nstore: { ttl: 1s, max_items: 10 }');
    const c = new ServiceGraphConnector('servicegraph', cfg);
    const sink = new Sink<'metrics'>();
    c.next = sink;
    await c.start(host());
    const client = span({ kind: 3, spanId: 'c1c1c1c1c1c1c1c1', resource: { attributes: { 'service.name': 'frontend' } }, endTime: [1000, 30_000_000] });
    const server = span({ kind: 2, parentSpanId: 'c1c1c1c1c1c1c1c1', resource: { attributes: { 'service.name': 'backend' } }, status: { code: 2, message: '' }, endTime: [1000, 20_000_000] });
    await c.consume([server]);
    await c.consume([client]);
    await c.shutdown();
    const metrics = ((sink.got[0] as MetricsData).resourceMetrics[0].scopeMetrics as { metrics: Record<string, unknown>[] }[])[0].metrics;
    const byName = Object.fromEntries(metrics.map((m) => [m.name, m])) as Record<string, { sum?: { dataPoints: { attributes: unknown; asInt: string }[] }; histogram?: { dataPoints: { sum: number; count: string }[] } }>;
    const labels = [
      { key: 'client', value: { stringValue: 'frontend' } },
      { key: 'server', value: { stringValue: 'backend' } },
      { key: 'connection_type', value: { stringValue: '' } },
    ];
    expect(byName.traces_service_graph_request_total.sum!.dataPoints).toMatchObject([{ attributes: labels, asInt: '1' }]);
    expect(byName.traces_service_graph_request_failed_total.sum!.dataPoints).toMatchObject([{ attributes: labels, asInt: '1' }]);
    expect(byName.traces_service_graph_request_server_seconds.histogram!.dataPoints[0]).toMatchObject({ count: '1', sum: 0.02 });
    expect(byName.traces_service_graph_request_client_seconds.histogram!.dataPoints[0]).toMatchObject({ count: '1', sum: 0.03 });
  });
});

describe('exporters', () => {
  it('prometheus: Collector naming (unit and _total suffixes, job/instance) and cumulative buckets', async () => {
    const cfg = cfgOf<PrometheusExporterConfig>('exporters', 'prometheus', 'endpoint: 127.0.0.1:0\nnamespace: sw\nconst_labels: { region: eu }', 'metrics');
    const p = new PrometheusTransport('prometheus', cfg);
    const res = { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }, { key: 'service.instance.id', value: { stringValue: 'i-1' } }] };
    await p.send({
      resourceMetrics: [
        {
          resource: res,
          scopeMetrics: [
            {
              metrics: [
                { name: 'http.server.request.duration', unit: 's', histogram: { aggregationTemporality: 2, dataPoints: [{ attributes: [{ key: 'http.request.method', value: { stringValue: 'GET' } }], count: '3', sum: 0.6, bucketCounts: ['1', '2', '0'], explicitBounds: [0.1, 0.5] }] } },
                { name: 'orders', unit: '{order}', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ asInt: '4' }] } },
                { name: 'cpu.utilization', unit: '1', gauge: { dataPoints: [{ asDouble: 0.5 }] } },
              ],
            },
          ],
        },
      ],
    });
    await p.send({ resourceMetrics: [{ resource: res, scopeMetrics: [{ metrics: [{ name: 'orders', unit: '{order}', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ asInt: '6' }] } }] }] }] });
    expect(p.exposition()).toBe(
      [
        '# TYPE sw_http_server_request_duration_seconds histogram',
        'sw_http_server_request_duration_seconds_bucket{http_request_method="GET",instance="i-1",job="api",region="eu",le="0.1"} 1',
        'sw_http_server_request_duration_seconds_bucket{http_request_method="GET",instance="i-1",job="api",region="eu",le="0.5"} 3',
        'sw_http_server_request_duration_seconds_bucket{http_request_method="GET",instance="i-1",job="api",region="eu",le="+Inf"} 3',
        'sw_http_server_request_duration_seconds_sum{http_request_method="GET",instance="i-1",job="api",region="eu"} 0.6',
        'sw_http_server_request_duration_seconds_count{http_request_method="GET",instance="i-1",job="api",region="eu"} 3',
        '# TYPE sw_orders_total counter',
        'sw_orders_total{instance="i-1",job="api",region="eu"} 10',
        '# TYPE sw_cpu_utilization_ratio gauge',
        'sw_cpu_utilization_ratio{instance="i-1",job="api",region="eu"} 0.5',
        '',
      ].join('\n'),
    );
  });

  it('file: OTLP/JSON lines, rotated past max_megabytes keeping max_backups', async () => {
    const path = join(dir, 'spans.jsonl');
    const cfg = cfgOf<FileExporterConfig>('exporters', 'file', `path: ${path}\nrotation: { max_megabytes: 1, max_backups: 2 }\nflush_interval: 10ms`);
    const f = new FileTransport('file', 'traces', cfg);
    await f.start();
    const big = 'x'.repeat(300_000);
    for (let i = 0; i < 12; i++) await f.send([span({ attributes: { big } })]);
    await f.shutdown();
    const files = readdirSync(dir).filter((x) => x.startsWith('spans'));
    expect(files).toHaveLength(3); // the current file and 2 backups
    for (const x of files) {
      for (const line of readFileSync(join(dir, x), 'utf8').trim().split('\n')) {
        expect(JSON.parse(line).resourceSpans[0].scopeSpans[0].spans[0].attributes[0]).toEqual({ key: 'big', value: { stringValue: big } });
      }
    }
  });
});

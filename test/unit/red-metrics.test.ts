/**
 * RED metrics from spans, checked against SEMCONV.md (names, units, buckets, attributes) and the
 * OTLP metrics data model / Prometheus exposition format; durations chosen by the test.
 */
import { describe, expect, it } from 'vitest';
import { DB_BUCKETS, HTTP_BUCKETS, RedMetrics, routeOf } from '../../core/metrics/red.js';
import type { Attributes, Resource, SpanData } from '../../core/trace/span.js';
import { SPAN_KIND_CLIENT, SPAN_KIND_SERVER } from '../../core/trace/span.js';

const RES: Resource = { attributes: { 'service.name': 'shop' } };

function span(kind: number, durationMs: number, attributes: Attributes, resource = RES, startSec = 1_700_000_000): SpanData {
  const ns = durationMs * 1e6;
  return {
    traceId: '0'.repeat(32), spanId: '0'.repeat(16), parentSpanId: '', traceState: '', flags: 1, name: 'x', kind,
    startTime: [startSec, 0], endTime: [startSec + Math.floor(ns / 1e9), ns % 1e9], attributes,
    status: { code: 0, message: '' }, resource, scope: { name: 'spanwire', version: '0' },
  };
}

interface Point { attributes: { key: string; value: Record<string, unknown> }[]; count: string; sum: number; bucketCounts: string[]; explicitBounds: number[]; min: number; max: number }
interface Exported { resourceMetrics: { resource: unknown; scopeMetrics: { metrics: { name: string; unit: string; histogram: { aggregationTemporality: number; dataPoints: Point[] } }[] }[] }[] }

const attrsOf = (p: Point) => Object.fromEntries(p.attributes.map((a) => [a.key, Object.values(a.value)[0]]));

describe('RED metrics', () => {
  it('HTTP server and client histograms: SEMCONV buckets in seconds, routes instead of paths', () => {
    const m = new RedMetrics();
    const get = (path: string, status: number, ms: number, kind = SPAN_KIND_SERVER) =>
      span(kind, ms, { 'http.request.method': 'GET', 'http.response.status_code': status, 'url.path': path, 'url.scheme': 'http', 'server.address': 'api', 'server.port': 80 });
    m.consumeTraces([get('/users/42', 200, 3), get('/users/7', 200, 20), get('/users/8', 200, 2000), get('/users/9', 500, 1), get('/health', 200, 1, SPAN_KIND_CLIENT)]);
    const out = m.toOtlpJson() as Exported;
    const metrics = out.resourceMetrics[0].scopeMetrics[0].metrics;
    expect(metrics.map((x) => [x.name, x.unit, x.histogram.aggregationTemporality])).toEqual([
      ['http.server.request.duration', 's', 2],
      ['http.client.request.duration', 's', 2],
    ]);
    const [ok, err] = metrics[0].histogram.dataPoints;
    expect(attrsOf(ok)).toEqual({ 'http.request.method': 'GET', 'http.response.status_code': '200', 'http.route': '/users/{id}', 'url.scheme': 'http', 'server.address': 'api', 'server.port': '80' });
    expect(ok.explicitBounds).toEqual(HTTP_BUCKETS);
    // 3 ms -> (0, 0.005]; 20 ms -> (0.01, 0.025]; 2 s -> (1, 2.5]
    const expected = new Array(HTTP_BUCKETS.length + 1).fill('0');
    expected[0] = '1';
    expected[2] = '1';
    expected[10] = '1';
    expect(ok.bucketCounts).toEqual(expected);
    expect([ok.count, ok.sum, ok.min, ok.max]).toEqual(['3', 2.023, 0.003, 2]);
    expect(attrsOf(err)['http.response.status_code']).toBe('500');
  });

  it('DB histogram with the DB buckets; SQL text never an attribute', () => {
    const m = new RedMetrics();
    m.consumeTraces([span(SPAN_KIND_CLIENT, 0.5, { 'db.system.name': 'mysql', 'db.operation.name': 'SELECT', 'db.collection.name': 'items', 'db.query.text': 'SELECT * FROM items WHERE id = ?' })]);
    const metric = (m.toOtlpJson() as Exported).resourceMetrics[0].scopeMetrics[0].metrics[0];
    expect(metric.name).toBe('db.client.operation.duration');
    expect(metric.histogram.dataPoints[0].explicitBounds).toEqual(DB_BUCKETS);
    expect(attrsOf(metric.histogram.dataPoints[0])).toEqual({ 'db.system.name': 'mysql', 'db.operation.name': 'SELECT', 'db.collection.name': 'items' });
  });

  it('past the series limit, further series fold into one otel.metric.overflow series (per resource)', () => {
    const m = new RedMetrics({ maxSeriesPerMetric: 3 });
    const spans = [];
    for (let i = 0; i < 10; i++) spans.push(span(SPAN_KIND_CLIENT, 1, { 'db.system.name': 'redis', 'db.operation.name': `CMD${i}` }));
    m.consumeTraces(spans);
    const points = (m.toOtlpJson() as Exported).resourceMetrics[0].scopeMetrics[0].metrics[0].histogram.dataPoints;
    expect(points.length).toBe(4);
    expect(attrsOf(points[3])).toEqual({ 'otel.metric.overflow': true });
    expect(points[3].count).toBe('7');
    expect(m.overflowCounts()).toEqual({ 'db.client.operation.duration': 7 });
  });

  it('delta temporality starts afresh after each export', () => {
    const m = new RedMetrics({ temporality: 'delta' });
    m.consumeTraces([span(SPAN_KIND_CLIENT, 1, { 'dns.question.name': 'a.example' })]);
    const first = (m.toOtlpJson() as Exported).resourceMetrics[0].scopeMetrics[0].metrics[0];
    expect([first.name, first.histogram.aggregationTemporality, first.histogram.dataPoints[0].count]).toEqual(['dns.lookup.duration', 1, '1']);
    expect((m.toOtlpJson() as Exported).resourceMetrics).toEqual([]);
  });

  it('Prometheus exposition: _seconds histograms with cumulative le buckets, _sum, _count, escaped labels', () => {
    const m = new RedMetrics();
    m.consumeTraces([span(SPAN_KIND_CLIENT, 7, { 'rpc.system.name': 'grpc', 'rpc.method': 'a.B/"C"', 'rpc.response.status_code': 'OK' })]);
    const text = m.toPrometheus();
    expect(text).toContain('# TYPE rpc_client_call_duration_seconds histogram\n');
    const labels = 'service_name="shop",rpc_system_name="grpc",rpc_method="a.B/\\"C\\"",rpc_response_status_code="OK"';
    expect(text).toContain(`rpc_client_call_duration_seconds_bucket{${labels},le="0.005"} 0\n`);
    expect(text).toContain(`rpc_client_call_duration_seconds_bucket{${labels},le="0.01"} 1\n`);
    expect(text).toContain(`rpc_client_call_duration_seconds_bucket{${labels},le="+Inf"} 1\n`);
    expect(text).toContain(`rpc_client_call_duration_seconds_count{${labels}} 1\n`);
  });

  it('routes: configured templates first, then ids collapsed', () => {
    expect(routeOf('/api/orders/9f3a2b1c44/items', ['/api/users/{id}'])).toBe('/api/orders/{id}/items');
    expect(routeOf('/api/users/550e8400-e29b-41d4-a716-446655440000')).toBe('/api/users/{id}');
    expect(routeOf('/api/users/alice/profile', ['/api/users/{name}/profile'])).toBe('/api/users/{name}/profile');
    expect(routeOf('/static/js/app.js', ['/static/**'])).toBe('/static/**');
    expect(routeOf('/docs/getting-started')).toBe('/docs/getting-started');
    expect(routeOf('/t/AbCdEf0123456789xyz')).toBe('/t/{id}');
  });
});

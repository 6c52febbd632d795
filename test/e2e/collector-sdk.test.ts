/**
 * A real OpenTelemetry JS SDK 2.12 application sends spans and metrics to spanwire over OTLP/gRPC,
 * OTLP/HTTP protobuf and OTLP/HTTP JSON; spanwire forwards them over OTLP/gRPC and OTLP/HTTP to a
 * backend decoding with the official opentelemetry-proto definitions. What arrives must equal what
 * the SDK sent: the expected requests are the SDK's own serialization (otlp-transformer 0.223) of the
 * very spans and metrics its exporters were handed, decoded by the same independent definitions.
 */
import { context, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { OTLPMetricExporter as GrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as HttpJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as HttpProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as HttpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as HttpProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ProtobufMetricsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ExportResult } from '@opentelemetry/core';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../otel-config/index.js';
import { Collector } from '../../core/collector/service.js';
import type { OtlpReceiver } from '../../core/collector/receivers/otlp.js';
import { flattenSpans, OracleBackend, oracleDecode, waitFor } from './collector-oracle.js';

const dir = mkdtempSync(join(tmpdir(), 'spanwire-collector-sdk-'));

/** Keeps what the SDK handed its OTLP exporter. */
class RecordingSpanExporter implements SpanExporter {
  readonly spans: ReadableSpan[] = [];
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], cb: (r: ExportResult) => void): void {
    this.spans.push(...spans);
    this.inner.export(spans, cb);
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

class RecordingMetricExporter implements PushMetricExporter {
  readonly exported: ResourceMetrics[] = [];
  results: ExportResult[] = [];
  constructor(private readonly inner: PushMetricExporter) {}
  export(m: ResourceMetrics, cb: (r: ExportResult) => void): void {
    this.exported.push(m);
    this.inner.export(m, (r) => {
      this.results.push(r);
      cb(r);
    });
  }
  selectAggregationTemporality() {
    return AggregationTemporality.CUMULATIVE;
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }
}

function writeConfig(name: string, yaml: string): string {
  const f = join(dir, name);
  writeFileSync(f, yaml);
  return f;
}

let backend: OracleBackend;
let collector: Collector;
let grpcPort = 0;
let httpPort = 0;

beforeAll(async () => {
  backend = await new OracleBackend().start();
  const cfg = loadConfig({
    files: [
      writeConfig(
        'forward.yaml',
        `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
      http:
        endpoint: 127.0.0.1:0
processors:
  batch:
    timeout: 20ms
exporters:
  otlp:
    endpoint: 127.0.0.1:${backend.grpcPort}
    tls:
      insecure: true
    headers:
      authorization: Bearer \${env:TEST_TOKEN}
  otlphttp:
    endpoint: http://127.0.0.1:${backend.httpPort}
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp]
    metrics:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlphttp]
`,
      ),
    ],
    env: { TEST_TOKEN: 's3cret-token' },
  });
  collector = new Collector(cfg, { log: () => {} });
  await collector.start();
  const r = collector.receivers.get('otlp') as OtlpReceiver;
  grpcPort = r.grpcPort;
  httpPort = r.httpPort;
});

afterAll(async () => {
  await collector?.shutdown();
  await backend?.stop();
});

/** An application producing every kind of span content OTLP carries. */
async function runTracedApp(exporter: SpanExporter, tag: string): Promise<ReadableSpan[]> {
  const rec = new RecordingSpanExporter(exporter);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `sdk-app-${tag}`, 'service.version': '1.2.3', 'host.cores': 2, 'deployment.canary': false }),
    spanProcessors: [new SimpleSpanProcessor(rec)],
    spanLimits: { eventCountLimit: 2, linkCountLimit: 1, attributeCountLimit: 16 },
  });
  const tracer = provider.getTracer(`checkout-${tag}`, '4.5.6', { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' });
  const remote = trace.setSpanContext(context.active(), {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: new TraceState('vendor1=abc,vendor2=xyz'),
  });
  const server = tracer.startSpan(
    'GET /orders/{id}',
    {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, 'ratio': 0.25, 'ok': true, 'tags': ['a', 'b'], 'ports': [80, 443], 'flags.list': [true, false], 'big': 2 ** 40 },
      startTime: [1_795_329_903, 893_427_001],
    },
    remote,
  );
  const child = tracer.startSpan(
    'SELECT orders',
    {
      kind: SpanKind.CLIENT,
      links: [
        { context: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED, traceState: new TraceState('k=v') }, attributes: { 'link.kind': 'follows' } },
        { context: { traceId: '0af7651916cd43dd8448eb211c80319d', spanId: 'b7ad6b7169203332', traceFlags: TraceFlags.NONE } },
      ],
      startTime: [1_795_329_903, 900_000_000],
    },
    trace.setSpan(context.active(), server),
  );
  child.setAttribute('db.system.name', 'postgresql');
  child.addEvent('retry', { attempt: 1, 'delay.ms': 12.5 }, [1_795_329_903, 901_000_000]);
  child.addEvent('retry', { attempt: 2 }, [1_795_329_903, 902_000_000]);
  child.addEvent('retry', { attempt: 3 }, [1_795_329_903, 903_000_000]); // dropped: eventCountLimit 2
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock detected: ünïcode ✓' });
  child.end([1_795_329_903, 910_123_456]);
  server.setStatus({ code: SpanStatusCode.OK });
  server.end([1_795_329_904, 1]);
  const internal = tracer.startSpan('compute', { kind: SpanKind.INTERNAL, startTime: [1_795_329_904, 5] });
  internal.end([1_795_329_904, 6]);
  await provider.forceFlush();
  await provider.shutdown();
  return rec.spans;
}

function expectSameSpans(sent: ReadableSpan[], service: string): void {
  const expected = flattenSpans([oracleDecode('traces', ProtobufTraceSerializer.serializeRequest(sent)!)]);
  const got = flattenSpans(backend.items('traces')).filter((s) => JSON.stringify(s.resource).includes(service));
  expect(got).toHaveLength(sent.length);
  expect(got).toEqual(expected);
}

describe('OTel JS SDK 2.12 -> spanwire -> OTLP backend (opentelemetry-proto)', () => {
  it('spans sent over OTLP/gRPC arrive unchanged (ids, timestamps, attributes, events, links, status, trace state, flags, dropped counts, resource, scope)', async () => {
    const sent = await runTracedApp(new GrpcTraceExporter({ url: `http://127.0.0.1:${grpcPort}` }), 'grpc');
    await waitFor(() => flattenSpans(backend.items('traces')).filter((s) => JSON.stringify(s.resource).includes('sdk-app-grpc')).length === 3, 10_000, 'spans at the backend');
    expectSameSpans(sent, 'sdk-app-grpc');
    // Spot checks straight from the SDK's span objects.
    const child = sent.find((s) => s.name === 'SELECT orders')!;
    const got = flattenSpans(backend.items('traces')).find((s) => s.span.name === 'SELECT orders' && s.span.traceId === child.spanContext().traceId)!;
    expect(got.span.spanId).toBe(child.spanContext().spanId);
    expect(got.span.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(got.span.startTimeUnixNano).toBe('1795329903900000000');
    expect(got.span.endTimeUnixNano).toBe('1795329903910123456');
    expect(got.span.droppedEventsCount).toBe(1);
    expect(got.span.droppedLinksCount).toBe(1);
    expect(got.span.status).toEqual({ code: 2, message: 'deadlock detected: ünïcode ✓' });
    expect(got.scopeSchemaUrl).toBe('https://opentelemetry.io/schemas/1.26.0');
    // The configured header went with the export (its value is not logged anywhere).
    expect(backend.received.find((r) => r.signal === 'traces')!.headers.authorization).toBe('Bearer s3cret-token');
  });

  it('spans sent over OTLP/HTTP protobuf arrive unchanged', async () => {
    const sent = await runTracedApp(new HttpProtoTraceExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces` }), 'httpproto');
    await waitFor(() => flattenSpans(backend.items('traces')).filter((s) => JSON.stringify(s.resource).includes('sdk-app-httpproto')).length === 3);
    expectSameSpans(sent, 'sdk-app-httpproto');
  });

  it('spans sent over OTLP/HTTP JSON arrive unchanged', async () => {
    const sent = await runTracedApp(new HttpJsonTraceExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces` }), 'httpjson');
    await waitFor(() => flattenSpans(backend.items('traces')).filter((s) => JSON.stringify(s.resource).includes('sdk-app-httpjson')).length === 3);
    expectSameSpans(sent, 'sdk-app-httpjson');
  });

  for (const [name, make] of [
    ['gRPC', () => new GrpcMetricExporter({ url: `http://127.0.0.1:${grpcPort}` })],
    ['HTTP protobuf', () => new HttpProtoMetricExporter({ url: `http://127.0.0.1:${httpPort}/v1/metrics` })],
    ['HTTP JSON', () => new HttpJsonMetricExporter({ url: `http://127.0.0.1:${httpPort}/v1/metrics` })],
  ] as const) {
    it(`metrics sent over OTLP/${name} arrive unchanged (forwarded over OTLP/HTTP)`, async () => {
      const tag = name.replace(/\W/g, '');
      const rec = new RecordingMetricExporter(make());
      const provider = new MeterProvider({
        resource: resourceFromAttributes({ 'service.name': `metrics-app-${tag}` }),
        readers: [new PeriodicExportingMetricReader({ exporter: rec, exportIntervalMillis: 3_600_000 })],
      });
      const meter = provider.getMeter('billing', '0.9.0');
      const c = meter.createCounter('orders.created', { unit: '{order}', description: 'Orders created' });
      c.add(3, { region: 'eu' });
      c.add(4, { region: 'us' });
      meter.createHistogram('http.server.request.duration', { unit: 's' }).record(0.0123, { 'http.request.method': 'GET' });
      meter.createUpDownCounter('queue.depth').add(-2);
      meter.createObservableGauge('cpu.temperature', { unit: 'Cel' }).addCallback((r) => r.observe(61.5, { core: 0 }));
      await provider.forceFlush();
      await provider.shutdown();
      expect(rec.results.every((r) => r.code === 0)).toBe(true);
      // forceFlush and shutdown each export once: everything the exporter was handed is expected.
      const expected = rec.exported.flatMap((m) => oracleDecode('metrics', ProtobufMetricsSerializer.serializeRequest(m)!).resourceMetrics as unknown[]);
      const mine = () => backend.items('metrics').flatMap((r) => (r.resourceMetrics as unknown[]) ?? []).filter((rm) => JSON.stringify(rm).includes(`metrics-app-${tag}`));
      await waitFor(() => mine().length >= expected.length, 10_000, 'metrics at the backend');
      expect(mine()).toEqual(expected);
    });
  }
});

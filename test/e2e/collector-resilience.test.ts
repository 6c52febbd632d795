/**
 * Back-pressure and outages, with a real OpenTelemetry JS SDK application: a backend that goes down
 * and comes back loses nothing (in-memory queue with retries); a spanwire killed while the backend
 * is down sends everything after a restart (persistent queue through file_storage); memory_limiter
 * refuses with a retryable error under overload (gRPC RESOURCE_EXHAUSTED with RetryInfo, HTTP 429
 * with Retry-After, as the OTLP specification says) and accepts again once memory is released.
 */
import * as grpc from '@grpc/grpc-js';
import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ExportResult } from '@opentelemetry/core';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../otel-config/index.js';
import { Collector } from '../../core/collector/service.js';
import type { OtlpReceiver } from '../../core/collector/receivers/otlp.js';
import { memoryInUse } from '../../core/collector/processors/memory-limiter.js';
import { ROOT } from '../helpers/replay.js';
import { flattenSpans, freePort, OracleBackend, waitFor } from './collector-oracle.js';

const dir = mkdtempSync(join(tmpdir(), 'spanwire-collector-resilience-'));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});


class Recording implements SpanExporter {
  readonly spans: ReadableSpan[] = [];
  readonly results: ExportResult[] = [];
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], cb: (r: ExportResult) => void): void {
    this.spans.push(...spans);
    this.inner.export(spans, (r) => {
      this.results.push(r);
      cb(r);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

/** An SDK app that makes `n` spans and flushes them to spanwire over OTLP/gRPC. */
async function sdkSend(port: number, n: number, tag: string): Promise<Recording> {
  const rec = new Recording(new GrpcTraceExporter({ url: `http://127.0.0.1:${port}`, timeoutMillis: 10_000 }));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': tag }),
    spanProcessors: [new BatchSpanProcessor(rec, { maxExportBatchSize: 50, scheduledDelayMillis: 10, maxQueueSize: 10_000 })],
  });
  const tracer = provider.getTracer('resilience');
  for (let i = 0; i < n; i++) tracer.startSpan(`op-${i}`, { kind: SpanKind.SERVER, attributes: { i } }).end();
  await provider.forceFlush();
  await provider.shutdown();
  return rec;
}

function spanIdsAt(backend: OracleBackend, tag: string): Set<string> {
  return new Set(
    flattenSpans(backend.items('traces'))
      .filter((s) => JSON.stringify(s.resource).includes(`"${tag}"`))
      .map((s) => String(s.span.spanId)),
  );
}

function forwardingConfig(name: string, grpcPort: number, backendPort: number, extra = ''): string {
  const f = join(dir, name);
  writeFileSync(
    f,
    `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${grpcPort}
      http:
        endpoint: 127.0.0.1:0
exporters:
  otlp:
    endpoint: 127.0.0.1:${backendPort}
    tls: { insecure: true }
    timeout: 2s
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 1s
      max_elapsed_time: 0s
${extra}
`,
  );
  return f;
}

describe('collector resilience', () => {
  it('backend down for a while, then back: every span arrives (in-memory queue, retries)', async () => {
    const backendPort = await freePort();
    const cfg = loadConfig({
      files: [
        forwardingConfig(
          'outage.yaml',
          0,
          backendPort,
          `
processors:
  batch: { timeout: 20ms }
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [otlp] }
`,
        ),
      ],
    });
    const collector = new Collector(cfg, { log: () => {} });
    await collector.start();
    cleanups.push(() => collector.shutdown());
    const port = (collector.receivers.get('otlp') as OtlpReceiver).grpcPort;
    const rec = await sdkSend(port, 400, 'outage-app');
    expect(rec.results.every((r) => r.code === 0)).toBe(true); // spanwire accepted everything
    await new Promise((r) => setTimeout(r, 1500)); // the backend stays down: retries fail meanwhile
    expect(collector.telemetry.value('otelcol_exporter_sent_spans')).toBe(0);
    const backend = await new OracleBackend().start(backendPort);
    cleanups.push(() => backend.stop());
    await waitFor(() => spanIdsAt(backend, 'outage-app').size === 400, 30_000, 'all 400 spans after the outage');
    expect(spanIdsAt(backend, 'outage-app')).toEqual(new Set(rec.spans.map((s) => s.spanContext().spanId)));
    await waitFor(() => collector.telemetry.value('otelcol_exporter_sent_spans') === 400, 5000, 'the sent counter');
    expect(collector.telemetry.value('otelcol_exporter_send_failed_spans')).toBe(0);
  });

  it('spanwire killed while the backend is down: after a restart the persistent queue (file_storage) sends everything', async () => {
    const grpcPort = await freePort();
    const backendPort = await freePort();
    const storage = join(dir, 'queue');
    const config = forwardingConfig(
      'persistent.yaml',
      grpcPort,
      backendPort,
      `    sending_queue:
      storage: file_storage
extensions:
  file_storage:
    directory: ${storage}
    create_directory: true
service:
  extensions: [file_storage]
  telemetry: { metrics: { level: none } }
  pipelines:
    traces: { receivers: [otlp], exporters: [otlp] }
`,
    );
    const start = async (): Promise<ChildProcess> => {
      const child = spawn(process.execPath, [join(ROOT, 'bin/spanwire.js'), 'run', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      cleanups.push(() => void child.kill('SIGKILL'));
      await waitFor(() => err.includes('everything is ready') || child.exitCode !== null, 20_000, 'spanwire to start');
      expect(child.exitCode, err).toBeNull();
      return child;
    };
    const first = await start();
    const rec = await sdkSend(grpcPort, 300, 'restart-app');
    expect(rec.results.every((r) => r.code === 0)).toBe(true);
    first.kill('SIGKILL'); // a crash, not a clean stop
    await new Promise<void>((r) => (first.exitCode !== null || first.signalCode !== null ? r() : first.once('exit', () => r())));
    const queued = readdirSync(join(storage, 'exporter_otlp_traces')).filter((f) => f.endsWith('.otlp'));
    expect(queued.length).toBeGreaterThan(0);
    const backend = await new OracleBackend().start(backendPort);
    cleanups.push(() => backend.stop());
    await start();
    await waitFor(() => spanIdsAt(backend, 'restart-app').size === 300, 30_000, 'all 300 spans after the restart');
    expect(spanIdsAt(backend, 'restart-app')).toEqual(new Set(rec.spans.map((s) => s.spanContext().spanId)));
    await waitFor(() => readdirSync(join(storage, 'exporter_otlp_traces')).filter((f) => f.endsWith('.otlp')).length === 0, 10_000, 'the queue files to be removed once sent');
  });

  it('memory_limiter refuses (retryable) under overload and accepts again once memory is released', async () => {
    const backendPort = await freePort();
    const limitMiB = Math.ceil(memoryInUse() / (1 << 20)) + 96;
    const cfg = loadConfig({
      files: [
        forwardingConfig(
          'limiter.yaml',
          0,
          backendPort,
          `    sending_queue: { queue_size: 100000 }
processors:
  memory_limiter:
    check_interval: 50ms
    limit_mib: ${limitMiB}
    spike_limit_mib: 32
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    traces: { receivers: [otlp], processors: [memory_limiter], exporters: [otlp] }
`,
        ),
      ],
    });
    const collector = new Collector(cfg, { log: () => {} });
    await collector.start();
    cleanups.push(() => collector.shutdown());
    const r = collector.receivers.get('otlp') as OtlpReceiver;
    const client = new grpc.Client(`127.0.0.1:${r.grpcPort}`, grpc.credentials.createInsecure());
    cleanups.push(() => client.close());
    const id = (b: Buffer) => b;
    const exportReq = (body: Buffer) =>
      new Promise<grpc.ServiceError | null>((resolve) =>
        client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export', id, id, body, new grpc.Metadata(), {}, (err) => resolve(err)),
      );
    // Big spans (1 MiB of attributes per request) pile up in the queue while the backend is down.
    const big = (i: number) =>
      Buffer.from(
        ProtobufTraceSerializer.serializeRequest([
          {
            name: `big-${i}`,
            kind: 1,
            spanContext: () => ({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: (i + 1).toString(16).padStart(16, '0'), traceFlags: 1 }),
            parentSpanContext: undefined,
            startTime: [1_700_000_000, 0],
            endTime: [1_700_000_001, 0],
            status: { code: 0 },
            attributes: { blob: 'x'.repeat(1 << 20) },
            links: [],
            events: [],
            duration: [1, 0],
            ended: true,
            resource: resourceFromAttributes({ 'service.name': 'limiter-app' }),
            instrumentationScope: { name: 'limiter' },
            droppedAttributesCount: 0,
            droppedEventsCount: 0,
            droppedLinksCount: 0,
          } as unknown as ReadableSpan,
        ])!,
      );
    let refusal: grpc.ServiceError | null = null;
    for (let i = 0; i < 400 && refusal === null; i++) {
      const err = await exportReq(big(i));
      if (err !== null) refusal = err;
      else await new Promise((res) => setTimeout(res, 2));
    }
    expect(refusal, 'memory_limiter never refused').not.toBeNull();
    expect(refusal!.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // RESOURCE_EXHAUSTED is retryable only with a RetryInfo: it is there.
    const details = refusal!.metadata.get('grpc-status-details-bin')[0] as Buffer;
    const google = decodeRetryDelay(details);
    expect(google.typeUrl).toBe('type.googleapis.com/google.rpc.RetryInfo');
    // OTLP/HTTP says the same with 429 and Retry-After.
    let httpRes = await fetch(`http://127.0.0.1:${r.httpPort}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: big(9999) });
    for (let i = 0; i < 400 && httpRes.status === 200; i++) {
      httpRes = await fetch(`http://127.0.0.1:${r.httpPort}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: big(10_000 + i) });
    }
    expect(httpRes.status).toBe(429);
    expect(Number(httpRes.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(collector.telemetry.value('otelcol_processor_refused_spans')).toBeGreaterThanOrEqual(2);
    // The backend comes back, the queue drains, memory is released: data is accepted again.
    const backend = await new OracleBackend().start(backendPort);
    cleanups.push(() => backend.stop());
    let accepted = false;
    const until = Date.now() + 60_000;
    while (!accepted && Date.now() < until) {
      const err = await exportReq(Buffer.from(ProtobufTraceSerializer.serializeRequest([])!));
      accepted = err === null && (await exportReq(big(100_000))) === null;
      if (!accepted) await new Promise((res) => setTimeout(res, 200));
    }
    expect(accepted, 'memory_limiter did not recover').toBe(true);
  }, 120_000);
});

/** google.rpc.Status details[0] (type_url, value) from grpc-status-details-bin. */
function decodeRetryDelay(b: Buffer): { typeUrl: string } {
  // Status{code=1, message=2, details=3 Any{type_url=1, value=2}}: find field 3, then its field 1.
  let p = 0;
  while (p < b.length) {
    const tag = b[p++];
    let len = 0;
    let shift = 0;
    if ((tag & 7) === 0) {
      while (b[p++] & 0x80);
      continue;
    }
    for (;;) {
      const c = b[p++];
      len |= (c & 0x7f) << shift;
      shift += 7;
      if (c < 0x80) break;
    }
    if (tag >> 3 === 3) {
      const any = b.subarray(p, p + len);
      const n = any[1];
      return { typeUrl: any.subarray(2, 2 + n).toString() };
    }
    p += len;
  }
  return { typeUrl: '' };
}

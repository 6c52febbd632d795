/**
 * How the otlp and otlphttp exporters treat a backend's refusals, as the OTLP specification says:
 * gRPC UNAVAILABLE and HTTP 503 (with Retry-After) are retried until accepted; gRPC INVALID_ARGUMENT,
 * RESOURCE_EXHAUSTED without RetryInfo and HTTP 400 are permanent: not retried, counted as failed.
 */
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../otel-config/index.js';
import { ConsumerError } from '../../core/collector/component.js';
import { Collector } from '../../core/collector/service.js';
import type { CollectorSpan } from '../../core/collector/pdata/model.js';
import { flattenSpans, OracleBackend } from './collector-oracle.js';

const dir = mkdtempSync(join(tmpdir(), 'spanwire-collector-exporters-'));
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function span(name: string): CollectorSpan {
  return {
    traceId: 'cd'.repeat(16),
    spanId: Buffer.from(name.padEnd(8, '.')).subarray(0, 8).toString('hex'),
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name,
    kind: 2,
    startTime: [1_795_329_903, 1],
    endTime: [1_795_329_903, 2],
    attributes: { n: name },
    status: { code: 0, message: '' },
    resource: { attributes: { 'service.name': 'exporter-test' } },
    scope: { name: 'x', version: '' },
  };
}

async function exporterFor(backend: OracleBackend, id: string, yaml: string) {
  const f = join(dir, `${id.replace('/', '-')}.yaml`);
  writeFileSync(
    f,
    `receivers:\n  otlp: { protocols: { grpc: { endpoint: 127.0.0.1:0 } } }\nexporters:\n  ${id}:\n${yaml
      .replace(/BACKEND_GRPC/g, String(backend.grpcPort))
      .replace(/BACKEND_HTTP/g, String(backend.httpPort))
      .replace(/^/gm, '    ')}\n    sending_queue: { enabled: false }\n    retry_on_failure: { initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 20s }\nservice:\n  telemetry: { metrics: { level: none } }\n  pipelines:\n    traces: { receivers: [otlp], exporters: [${id}] }\n`,
  );
  const c = new Collector(loadConfig({ files: [f] }), { log: () => {} });
  await c.start();
  cleanups.push(() => c.shutdown());
  return { c, exporter: c.exporter(id, 'traces')! };
}

async function backendUp(): Promise<OracleBackend> {
  const b = await new OracleBackend().start();
  cleanups.push(() => b.stop());
  return b;
}

const names = (b: OracleBackend) => flattenSpans(b.items('traces')).map((s) => s.span.name);

describe('exporter refusal handling (OTLP specification)', () => {
  it('otlp: UNAVAILABLE is retried until the backend accepts', async () => {
    const backend = await backendUp();
    backend.refuse = { grpc: grpc.status.UNAVAILABLE, http: 503 };
    const { exporter } = await exporterFor(backend, 'otlp', 'endpoint: 127.0.0.1:BACKEND_GRPC\ntls: { insecure: true }');
    const sent = exporter.consume([span('a')]);
    setTimeout(() => (backend.refuse = null), 400);
    await sent;
    expect(names(backend)).toEqual(['a']);
  });

  it('otlp: INVALID_ARGUMENT and RESOURCE_EXHAUSTED without RetryInfo are permanent (one attempt, counted)', async () => {
    const backend = await backendUp();
    const { c, exporter } = await exporterFor(backend, 'otlp', 'endpoint: 127.0.0.1:BACKEND_GRPC\ntls: { insecure: true }');
    for (const code of [grpc.status.INVALID_ARGUMENT, grpc.status.RESOURCE_EXHAUSTED]) {
      backend.refuse = { grpc: code, http: 400 };
      const t0 = Date.now();
      const err = await exporter.consume([span('b')]).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ConsumerError);
      expect((err as ConsumerError).retryable).toBe(false);
      expect((err as ConsumerError).message).toContain(grpc.status[code]);
      expect(Date.now() - t0).toBeLessThan(1000);
    }
    expect(c.telemetry.value('otelcol_exporter_send_failed_spans')).toBe(2);
    expect(names(backend)).toEqual([]);
  });

  it('otlphttp: 503 with Retry-After waits that long, then delivers; 400 is permanent', async () => {
    const backend = await backendUp();
    const { c, exporter } = await exporterFor(backend, 'otlphttp', 'endpoint: http://127.0.0.1:BACKEND_HTTP\nheaders: { x-api-key: k-123 }');
    backend.refuse = { grpc: 0, http: 503, retryAfterS: 1 };
    const t0 = Date.now();
    setTimeout(() => (backend.refuse = null), 100);
    await exporter.consume([span('c')]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(names(backend)).toEqual(['c']);
    expect(backend.received[0].headers['x-api-key']).toBe('k-123');
    expect(backend.received[0].headers['content-encoding']).toBe('gzip');
    backend.refuse = { grpc: 0, http: 400 };
    await expect(exporter.consume([span('d')])).rejects.toMatchObject({ retryable: false });
    expect(c.telemetry.value('otelcol_exporter_send_failed_spans')).toBe(1);
  });
});

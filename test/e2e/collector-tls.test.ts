/**
 * TLS both ways and headers: spanwire A (plaintext OTLP in) exports over OTLP/gRPC with TLS (ca_file)
 * and over OTLP/HTTPS to spanwire B, whose otlp receiver serves gRPC and HTTP with TLS; B forwards
 * to the opentelemetry-proto backend. A certificate made by openssl for this test; a client that
 * does not trust it is refused.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../otel-config/index.js';
import type { OtlpReceiver } from '../../core/collector/receivers/otlp.js';
import { Collector } from '../../core/collector/service.js';
import { flattenSpans, MESSAGES, OracleBackend, waitFor } from './collector-oracle.js';

const dir = mkdtempSync(join(tmpdir(), 'spanwire-collector-tls-'));
const key = join(dir, 'server.key');
const crt = join(dir, 'server.crt');
let backend: OracleBackend;
let a: Collector;
let b: Collector;

function cfg(name: string, yaml: string) {
  const f = join(dir, name);
  writeFileSync(f, yaml);
  return loadConfig({ files: [f] });
}

beforeAll(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  backend = await new OracleBackend().start();
  b = new Collector(
    cfg(
      'b.yaml',
      `receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0, tls: { cert_file: ${crt}, key_file: ${key} } }
      http: { endpoint: 127.0.0.1:0, tls: { cert_file: ${crt}, key_file: ${key} } }
exporters:
  otlp: { endpoint: 127.0.0.1:${backend.grpcPort}, tls: { insecure: true } }
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    traces: { receivers: [otlp], exporters: [otlp] }
`,
    ),
    { log: () => {} },
  );
  await b.start();
  const rb = b.receivers.get('otlp') as OtlpReceiver;
  a = new Collector(
    cfg(
      'a.yaml',
      `receivers:
  otlp:
    protocols:
      http: { endpoint: 127.0.0.1:0 }
exporters:
  otlp/tls:
    endpoint: localhost:${rb.grpcPort}
    tls: { ca_file: ${crt} }
    headers: { x-tenant: blue }
  otlphttp/tls:
    endpoint: https://localhost:${rb.httpPort}
    tls: { ca_file: ${crt} }
    encoding: json
  otlp/untrusted:
    endpoint: localhost:${rb.grpcPort}
    retry_on_failure: { enabled: false }
    sending_queue: { enabled: false }
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    traces: { receivers: [otlp], exporters: [otlp/tls, otlphttp/tls] }
    traces/untrusted: { receivers: [otlp], exporters: [otlp/untrusted] }
`,
    ),
    { log: () => {} },
  );
  await a.start();
});

afterAll(async () => {
  await a?.shutdown();
  await b?.shutdown();
  await backend?.stop();
});

describe('TLS', () => {
  it('spans cross OTLP/gRPC over TLS and OTLP/HTTPS (JSON) unchanged; an untrusted certificate is refused', async () => {
    const T = MESSAGES.traces;
    const req = {
      resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'tls-app' } }] }, scopeSpans: [{ scope: { name: 'x' }, spans: [{ traceId: Buffer.alloc(16, 7).toString('base64'), spanId: Buffer.alloc(8, 9).toString('base64'), name: 'secure', kind: 3, startTimeUnixNano: '1795329903893427001', endTimeUnixNano: '1795329903893427999', attributes: [{ key: 'k', value: { intValue: '12' } }], status: { code: 1 } }] }] }],
    };
    const body = Buffer.from(T.encode(T.fromObject(req)).finish());
    const port = (a.receivers.get('otlp') as OtlpReceiver).httpPort;
    const r = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
    // The untrusted exporter (TLS without the CA) fails, so the fan-out reports a retryable refusal.
    expect(r.status).toBe(503);
    await waitFor(() => backend.items('traces').length >= 2, 15_000, 'both TLS paths at the backend');
    const spans = flattenSpans(backend.items('traces'));
    expect(spans).toHaveLength(2);
    for (const s of spans) {
      expect(s.span).toMatchObject({ traceId: '07'.repeat(16), spanId: '09'.repeat(8), name: 'secure', kind: 3, startTimeUnixNano: '1795329903893427001', endTimeUnixNano: '1795329903893427999', attributes: [{ key: 'k', value: { intValue: '12' } }], status: { code: 1 } });
    }
    expect(a.telemetry.value('otelcol_exporter_send_failed_spans', { exporter: 'otlp/untrusted' })).toBe(1);
    expect(a.telemetry.value('otelcol_exporter_sent_spans', { exporter: 'otlp/tls' })).toBe(1);
    expect(a.telemetry.value('otelcol_exporter_sent_spans', { exporter: 'otlphttp/tls' })).toBe(1);
  });
});

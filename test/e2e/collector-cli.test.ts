/**
 * The collector from the command line, as users run it: `spanwire validate`, `spanwire components`,
 * `spanwire run --config` with the pcap receiver (compared with `spanwire replay` on the same
 * capture), the OTLP/HTTP receiver's answers as the OTLP specification gives them, health_check,
 * self-telemetry with the Collector's metric names, spanmetrics on a Prometheus endpoint, and the
 * opentelemetry-collector Helm chart's default config.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse, stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/replay.js';
import { freePort, MESSAGES, waitFor } from './collector-oracle.js';

const BIN = join(ROOT, 'bin', 'spanwire.js');
const dir = mkdtempSync(join(tmpdir(), 'spanwire-collector-cli-'));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function spanwire(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}


async function runCollector(config: string, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; err: () => string }> {
  const child = spawn(process.execPath, [BIN, 'run', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor(() => err.includes('everything is ready') || child.exitCode !== null, 20_000, 'spanwire to start');
  expect(child.exitCode, err).toBeNull();
  return { child, err: () => err };
}

function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('spanwire validate / components', () => {
  it('validate: exit 0 and a summary of the pipelines; exit 1 and every problem with its path and fix', () => {
    const ok = spanwire(['validate', '--config', join(ROOT, 'otel-config/pcap-to-tempo.yaml')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`${join(ROOT, 'otel-config/pcap-to-tempo.yaml')}: valid: 1 pipeline (traces: pcap -> filter/health,batch -> otlphttp/tempo)\n`);
    const bad = file('bad.yaml', 'receivers:\n  otlp: { protocols: { grpc: { endpoint: nowhere } } }\nexporters:\n  otlp: {}\nservice:\n  pipelines:\n    traces: { receivers: [otlp], exporters: [otlp] }\n');
    const r = spanwire(['validate', '--config', bad, '--set', 'service::telemetry::metrics::level=none']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      [
        'spanwire: invalid configuration (2 problems):',
        '  receivers::otlp::protocols::grpc::endpoint: "nowhere" is not HOST:PORT',
        '    fix: write e.g. endpoint: 127.0.0.1:4317 (0.0.0.0:PORT listens on every interface)',
        '  exporters::otlp::endpoint: is required by the otlp exporter',
        '    fix: set it, e.g. endpoint: jaeger:4317',
        '',
      ].join('\n'),
    );
    // --set repairs it.
    expect(spanwire(['validate', '--config', bad, '--set', 'receivers::otlp::protocols::grpc::endpoint=127.0.0.1:4317', '--set', 'exporters::otlp::endpoint=tempo:4317']).code).toBe(0);
  });

  it('every example config in otel-config/ is valid', () => {
    for (const f of ['live-to-jaeger.yaml', 'gateway.yaml', 'pcap-to-tempo.yaml']) {
      const r = spanwire(['validate', '--config', join(ROOT, 'otel-config', f)], { OTLP_BACKEND: 'tempo:4317', OTLP_TOKEN: 't' });
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it('components lists every supported type', () => {
    const r = spanwire(['components']);
    expect(r.code).toBe(0);
    for (const t of ['otlp', 'pcap', 'ebpf', 'af_packet', 'batch', 'memory_limiter', 'attributes', 'resource', 'filter', 'otlp | otlp_grpc', 'otlphttp | otlp_http', 'debug', 'logging', 'file', 'prometheus', 'spanmetrics', 'servicegraph', 'health_check', 'file_storage']) {
      expect(r.stdout).toContain(`  ${t} `);
    }
  });
});

describe('spanwire run --config', () => {
  it('pcap receiver -> file exporter: the same spans as `spanwire replay`, then exits', () => {
    const capture = join(ROOT, 'examples/captures/http1-demo.pcap');
    const out = join(dir, 'pcap-spans.jsonl');
    const cfg = file(
      'pcap.yaml',
      `receivers:\n  pcap:\n    files: [${capture}]\nprocessors:\n  batch: { timeout: 10ms }\nexporters:\n  file:\n    path: ${out}\nservice:\n  telemetry: { metrics: { level: none } }\n  pipelines:\n    traces: { receivers: [pcap], processors: [batch], exporters: [file] }\n`,
    );
    const r = spawnSync(process.execPath, [BIN, 'run', '--config', cfg], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const replayOut = join(dir, 'replay-spans.jsonl');
    expect(spanwire(['replay', capture, '-o', replayOut, '-q']).code).toBe(0);
    const spansOf = (f: string) =>
      readFileSync(f, 'utf8')
        .trim()
        .split('\n')
        .flatMap((l) => JSON.parse(l).resourceSpans.flatMap((rs: { scopeSpans: { spans: Record<string, unknown>[] }[] }) => rs.scopeSpans.flatMap((ss) => ss.spans)))
        .map(({ spanId, traceId, parentSpanId, ...rest }) => ({ ...rest, linked: parentSpanId !== undefined ? `${traceId}/${parentSpanId}` : null, ids: [typeof spanId, typeof traceId] }))
        .sort((a, b) => String(a.startTimeUnixNano).localeCompare(String(b.startTimeUnixNano)));
    const got = spansOf(out);
    expect(got).toHaveLength(7);
    expect(got).toEqual(spansOf(replayOut));
  });

  it('a capture receiver that cannot start stops spanwire with the reason and the config path', () => {
    const cfg = file('pcap-missing.yaml', `receivers:\n  pcap:\n    files: [${join(dir, 'none.pcap')}]\nexporters:\n  debug: {}\nservice:\n  telemetry: { metrics: { level: none } }\n  pipelines:\n    traces: { receivers: [pcap], exporters: [debug] }\n`);
    const r = spanwire(['run', '--config', cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`spanwire: cannot start: receivers::pcap::files: ${join(dir, 'none.pcap')}: no such file`);
  });

  it('OTLP/HTTP answers as the OTLP specification says; health_check; self-telemetry with the Collector names; spanmetrics on a Prometheus endpoint', async () => {
    const [http, health, tel, prom] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const cfg = file(
      'http.yaml',
      `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${http}
        max_request_body_size: 100000
connectors:
  spanmetrics:
    metrics_flush_interval: 100ms
exporters:
  debug: {}
  prometheus:
    endpoint: 127.0.0.1:${prom}
extensions:
  health_check:
    endpoint: 127.0.0.1:${health}
service:
  extensions: [health_check]
  telemetry:
    metrics:
      address: 127.0.0.1:${tel}
  pipelines:
    traces: { receivers: [otlp], exporters: [debug, spanmetrics] }
    metrics: { receivers: [spanmetrics], exporters: [prometheus] }
`,
    );
    await runCollector(cfg);
    const url = `http://127.0.0.1:${http}`;
    const T = MESSAGES.traces;
    const body = Buffer.from(
      T.encode(
        T.fromObject({
          resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'web' } }] }, scopeSpans: [{ spans: [{ traceId: Buffer.alloc(16, 1).toString('base64'), spanId: Buffer.alloc(8, 2).toString('base64'), name: 'GET /a', kind: 2, startTimeUnixNano: '1000000000', endTimeUnixNano: '1003000000' }] }] }],
        }),
      ).finish(),
    );
    const post = (path: string, init: RequestInit) => fetch(`${url}${path}`, { method: 'POST', ...init });
    const proto = { 'content-type': 'application/x-protobuf' };
    // Accepted: 200 and an ExportTraceServiceResponse in the request's encoding.
    let r = await post('/v1/traces', { headers: proto, body });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/x-protobuf');
    r = await post('/v1/traces', { headers: { ...proto, 'content-encoding': 'gzip' }, body: gzipSync(body) });
    expect(r.status).toBe(200);
    r = await post('/v1/traces', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ resourceSpans: [] }) });
    expect([r.status, await r.text()]).toEqual([200, '{}']);
    // Permanent refusals: 400 malformed, 413 too large, 415 unknown type, 404 / 405.
    r = await post('/v1/traces', { headers: proto, body: Buffer.from([0x0a, 0x05, 0x01]) });
    expect(r.status).toBe(400);
    r = await post('/v1/traces', { headers: { 'content-type': 'application/json' }, body: '{"resourceSpans": [' });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { message: string }).message).toMatch(/^cannot decode the traces request: the body is not valid JSON/);
    r = await post('/v1/traces', { headers: proto, body: Buffer.alloc(200_000) });
    expect(r.status).toBe(413);
    r = await post('/v1/traces', { headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(r.status).toBe(415);
    r = await post('/v1/metrics', { headers: proto, body });
    expect(r.status).toBe(404); // no metrics pipeline reads from this receiver
    r = await fetch(`${url}/v1/traces`);
    expect(r.status).toBe(405);
    // health_check
    r = await fetch(`http://127.0.0.1:${health}/`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { status: string }).status).toBe('Server available');
    // Self-telemetry, with the Collector's names.
    const selfText = await (await fetch(`http://127.0.0.1:${tel}/metrics`)).text();
    expect(selfText).toContain('otelcol_receiver_accepted_spans_total{receiver="otlp",transport="http"} 2');
    expect(selfText).toContain('otelcol_receiver_refused_spans_total');
    expect(selfText).toMatch(/otelcol_exporter_sent_spans_total\{exporter="debug"\} 2/);
    expect(selfText).toContain('otelcol_exporter_queue_capacity{exporter="debug",data_type="traces"} 1000');
    expect(selfText).toMatch(/otelcol_process_memory_rss \d+/);
    // spanmetrics -> prometheus exporter: the Collector's names once exposed.
    let promText = '';
    for (let i = 0; i < 100 && !promText.includes('traces_span_metrics_calls_total'); i++) {
      await new Promise((res) => setTimeout(res, 50));
      promText = await (await fetch(`http://127.0.0.1:${prom}/metrics`)).text();
    }
    expect(promText).toContain('traces_span_metrics_calls_total{job="web",service_name="web",span_kind="SPAN_KIND_SERVER",span_name="GET /a",status_code="STATUS_CODE_UNSET"} 2');
    expect(promText).toContain('traces_span_metrics_duration_milliseconds_bucket{job="web",service_name="web",span_kind="SPAN_KIND_SERVER",span_name="GET /a",status_code="STATUS_CODE_UNSET",le="4"} 2');
  });

  it("the opentelemetry-collector Helm chart's default config: refused naming the three receivers; without them it runs on the chart's ports", async () => {
    const helm = join(ROOT, 'test/fixtures/otel-config/helm-chart-default.yaml');
    const r = spanwire(['validate', '--config', helm], { MY_POD_IP: '127.0.0.1' });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').filter((l) => !l.startsWith('    fix:'))).toEqual([
      'spanwire: invalid configuration (3 problems):',
      '  receivers::jaeger: unknown receiver type "jaeger"; spanwire supports af_packet, ebpf, otlp, pcap',
      '  receivers::prometheus: unknown receiver type "prometheus"; spanwire supports af_packet, ebpf, otlp, pcap',
      '  receivers::zipkin: unknown receiver type "zipkin"; spanwire supports af_packet, ebpf, otlp, pcap',
      '',
    ]);
    // The same config less those receivers (the chart's ports: 4317, 4318, 13133, 8888).
    const map = parse(readFileSync(helm, 'utf8')) as { receivers: Record<string, unknown>; service: { pipelines: Record<string, { receivers: string[] }> } };
    for (const k of ['jaeger', 'prometheus', 'zipkin']) delete map.receivers[k];
    for (const p of Object.values(map.service.pipelines)) p.receivers = p.receivers.filter((x) => x === 'otlp');
    const trimmed = file('helm-trimmed.yaml', stringify(map));
    const { child } = await runCollector(trimmed, { MY_POD_IP: '127.0.0.1' });
    const health = await fetch('http://127.0.0.1:13133/');
    expect(health.status).toBe(200);
    const ok = await fetch('http://127.0.0.1:4318/v1/logs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'hello' } }] }] }] }) });
    expect(ok.status).toBe(200);
    const selfText = await (await fetch('http://127.0.0.1:8888/metrics')).text();
    expect(selfText).toContain('otelcol_receiver_accepted_log_records_total{receiver="otlp",transport="http"} 1');
    child.kill('SIGTERM');
    await new Promise<void>((res) => child.once('exit', () => res()));
    expect(child.exitCode).toBe(0);
  });
});

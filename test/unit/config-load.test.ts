/**
 * OTel Collector config loading as the Collector's confmap does it: several files merged (later
 * wins, maps merged, lists replaced), --set with `::` paths and YAML values, ${env:...} expansion.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadConfigSources, mergeConfig, parseSetFlag } from '../../otel-config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'spanwire-config-'));
let n = 0;
function file(yaml: string): string {
  const f = join(dir, `c${n++}.yaml`);
  writeFileSync(f, yaml);
  return f;
}

function issues(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message} (fix: ${i.fix})`);
    throw e;
  }
  throw new Error('expected a ConfigError');
}

const BASE = `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
exporters:
  otlp:
    endpoint: a:4317
    headers:
      x-a: "1"
  debug: {}
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp, debug]
`;

describe('merging config files', () => {
  it('later wins, maps are merged key by key, lists are replaced', () => {
    expect(mergeConfig({ a: { x: 1, y: [1, 2] }, b: 1 }, { a: { y: [3], z: 2 }, b: { c: 1 } })).toEqual({ a: { x: 1, y: [3], z: 2 }, b: { c: 1 } });
  });

  it('several --config files make one config', () => {
    const over = file(`
exporters:
  otlp:
    endpoint: b:4317
    headers:
      x-b: "2"
service:
  pipelines:
    traces:
      exporters: [debug]
`);
    const cfg = loadConfig({ files: [file(BASE), over], env: {} });
    const otlp = cfg.exporters.get('otlp')!.config as { endpoint: string; headers: Record<string, string> };
    expect(otlp.endpoint).toBe('b:4317');
    expect(otlp.headers).toEqual({ 'x-a': '1', 'x-b': '2' });
    expect(cfg.service.pipelines[0].exporters).toEqual(['debug']);
    expect(cfg.service.pipelines[0].receivers).toEqual(['otlp']);
  });

  it('a missing file and bad YAML are named', () => {
    expect(issues(() => loadConfigSources({ files: [join(dir, 'nope.yaml')] }))).toEqual([
      `${join(dir, 'nope.yaml')}: cannot read the config file: no such file (fix: pass the path of an OpenTelemetry Collector YAML file to --config)`,
    ]);
    const bad = file('receivers:\n  otlp: [\n');
    expect(issues(() => loadConfigSources({ files: [bad] }))[0]).toMatch(new RegExp(`^${bad}: not valid YAML at line \\d+, column \\d+: .* \\(fix: correct the YAML syntax\\)$`));
  });
});

describe('--set', () => {
  it('uses :: between path parts and parses the value as YAML', () => {
    expect(parseSetFlag('exporters::otlp::endpoint=tempo:4317')).toEqual({ exporters: { otlp: { endpoint: 'tempo:4317' } } });
    expect(parseSetFlag('service::pipelines::traces::receivers=[otlp, pcap]')).toEqual({ service: { pipelines: { traces: { receivers: ['otlp', 'pcap'] } } } });
    expect(parseSetFlag('processors::batch::send_batch_size=100')).toEqual({ processors: { batch: { send_batch_size: 100 } } });
  });

  it('overrides the files, after them', () => {
    const cfg = loadConfig({ files: [file(BASE)], sets: ['exporters::otlp::endpoint=tempo:4317', 'exporters::otlp::compression=none'], env: {} });
    expect(cfg.exporters.get('otlp')!.config).toMatchObject({ endpoint: 'tempo:4317', compression: 'none' });
  });

  it('refuses a flag that is not KEY=VALUE', () => {
    expect(issues(() => parseSetFlag('exporters::otlp::endpoint'))).toEqual([
      '--set: "exporters::otlp::endpoint" is not KEY=VALUE (fix: write it as --set exporters::otlp::endpoint=tempo:4317 (path parts separated by ::))',
    ]);
    expect(issues(() => parseSetFlag('exporters::::otlp=1'))).toEqual(['--set: "exporters::::otlp" has an empty path part (fix: separate the path parts with a single "::", e.g. processors::batch::timeout=2s)']);
  });
});

describe('${env:...} expansion', () => {
  const ENV_YAML = `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: \${env:HOST}:\${env:PORT}
      http:
        endpoint: \${HOST}:\${env:HTTP_PORT:-4318}
exporters:
  otlp:
    endpoint: \${env:BACKEND:-jaeger:4317}
    headers:
      authorization: Bearer \${env:TOKEN}
      cost: $$5
    sending_queue:
      queue_size: \${env:QUEUE}
  debug: {}
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp]
`;

  it('expands ${env:VAR}, ${VAR} and ${env:VAR:-default}; $$ is a $; a whole-value reference keeps its YAML type', () => {
    const { map, warnings } = loadConfigSources({ files: [file(ENV_YAML)], env: { HOST: '127.0.0.1', PORT: '4317', TOKEN: 'abc', QUEUE: '250' } });
    const r = map.receivers as { otlp: { protocols: { grpc: { endpoint: string }; http: { endpoint: string } } } };
    expect(r.otlp.protocols.grpc.endpoint).toBe('127.0.0.1:4317');
    expect(r.otlp.protocols.http.endpoint).toBe('127.0.0.1:4318');
    const e = (map.exporters as { otlp: { endpoint: string; headers: Record<string, string>; sending_queue: { queue_size: unknown } } }).otlp;
    expect(e.endpoint).toBe('jaeger:4317');
    expect(e.headers).toEqual({ authorization: 'Bearer abc', cost: '$5' });
    expect(e.sending_queue.queue_size).toBe(250);
    expect(warnings).toEqual([]);
  });

  it('an unset variable without a default becomes "" with a warning naming the path, not the value', () => {
    const { map, warnings } = loadConfigSources({ files: [file(ENV_YAML)], env: { HOST: 'h', PORT: '1', QUEUE: '1' } });
    expect((map.exporters as { otlp: { headers: Record<string, string> } }).otlp.headers.authorization).toBe('Bearer ');
    expect(warnings).toEqual(['exporters::otlp::headers::authorization: environment variable TOKEN is not set: using ""']);
  });

  it('other config providers are refused by name', () => {
    const f = file('exporters:\n  otlp:\n    endpoint: ${file:/etc/endpoint}\n');
    expect(issues(() => loadConfigSources({ files: [f], env: {} }))).toEqual([
      'exporters::otlp::endpoint: "${file:/etc/endpoint}" uses the "file" config provider, which spanwire does not support (fix: use ${env:VAR} (or ${env:VAR:-default}) and set the variable, or write the value in the file)',
    ]);
  });
});

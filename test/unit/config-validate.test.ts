/**
 * Validation: every problem is reported with the Collector-style path (`exporters::otlp::endpoint`)
 * and the fix; unknown component types list the supported ones; options keep the Collector's
 * names and defaults.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError, expandEnv, validateConfig, type ConfigMap } from '../../otel-config/index.js';
import type { BatchProcessorConfig, OtlpGrpcExporterConfig, OtlpReceiverConfig } from '../../otel-config/components.js';
import { ROOT } from '../helpers/replay.js';

function problems(yaml: string): string[] {
  try {
    validateConfig(parse(yaml) as ConfigMap);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message} (fix: ${i.fix})`);
    throw e;
  }
  return [];
}

const PIPE = `
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
`;

describe('config validation', () => {
  it('applies the Collector defaults', () => {
    const cfg = validateConfig(
      parse(`
receivers:
  otlp:
    protocols:
      grpc:
      http:
processors:
  batch:
exporters:
  debug:
  otlp_grpc/jaeger:
    endpoint: jaeger:4317
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp_grpc/jaeger]
`) as ConfigMap,
    );
    expect(cfg.receivers.get('otlp')!.config as OtlpReceiverConfig).toMatchObject({
      grpc: { endpoint: '127.0.0.1:4317', maxRecvMsgSizeMiB: 4 },
      http: { endpoint: '127.0.0.1:4318', tracesUrlPath: '/v1/traces', maxRequestBodySize: 20 << 20 },
    });
    expect(cfg.processors.get('batch')!.config as BatchProcessorConfig).toEqual({ sendBatchSize: 8192, timeoutMs: 200, sendBatchMaxSize: 0 });
    const e = cfg.exporters.get('otlp_grpc/jaeger')!;
    expect(e.type).toBe('otlp');
    expect(e.config as OtlpGrpcExporterConfig).toMatchObject({
      compression: 'gzip',
      timeoutMs: 5000,
      tls: { insecure: false },
      queue: { enabled: true, numConsumers: 10, queueSize: 1000 },
      retry: { enabled: true, initialIntervalMs: 5000, randomizationFactor: 0.5, multiplier: 1.5, maxIntervalMs: 30_000, maxElapsedTimeMs: 300_000 },
    });
    expect(cfg.service.telemetry).toEqual({ metricsLevel: 'normal', metricsEndpoint: '127.0.0.1:8888', logsLevel: 'info' });
  });

  it('rejects unknown component types with the list of supported ones', () => {
    expect(problems(`receivers:\n  kafka: {}\n  otlp: { protocols: { grpc: } }\nexporters:\n  debug: {}\n  otlpp: {}\n${PIPE}`)).toEqual([
      'receivers::kafka: unknown receiver type "kafka"; spanwire supports af_packet, ebpf, otlp, pcap (fix: remove it and its uses in service::pipelines (run `spanwire components` for the list))',
      'exporters::otlpp: unknown exporter type "otlpp"; spanwire supports debug, file, logging, otlp, otlp_grpc, otlp_http, otlphttp, prometheus (fix: did you mean "otlp"? otherwise remove it and its uses in service::pipelines)',
    ]);
  });

  it('names the path of a bad option and the fix', () => {
    expect(
      problems(`
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 4317
processors:
  batch:
    timeout: 5 seconds
    send_batch_size: 100
    send_batch_max_size: 10
exporters:
  debug: {}
  otlp:
    endpont: tempo:4317
    compression: zstd
    retry_on_failure:
      multiplier: 0.5
${PIPE}`),
    ).toEqual([
      'receivers::otlp::protocols::grpc::endpoint: "4317" is not HOST:PORT (fix: write e.g. endpoint: 127.0.0.1:4317 (0.0.0.0:PORT listens on every interface))',
      'processors::batch::timeout: must be a duration such as 200ms, 5s or 1m, got "5 seconds" (fix: write a number with a unit (ns, us, ms, s, m, h), e.g. timeout: 200ms)',
      'processors::batch::send_batch_max_size: must be 0 or at least send_batch_size (100) (fix: set send_batch_max_size: 100 or more)',
      'exporters::otlp::endpoint: is required by the otlp exporter (fix: set it, e.g. endpoint: jaeger:4317)',
      'exporters::otlp::compression: "zstd" is not supported by spanwire (fix: use compression: gzip (the default) or none)',
      'exporters::otlp::retry_on_failure::multiplier: must be at least 1, got 0.5 (fix: use a value at least 1)',
      'exporters::otlp::endpont: is not an option of the otlp exporter (fix: did you mean "endpoint"? valid options: authority, balancer_name, compression, endpoint, headers, keepalive, read_buffer_size, retry_on_failure, sending_queue, timeout, tls, wait_for_ready, write_buffer_size)',
    ]);
  });

  it('checks pipelines, connectors and persistent queues', () => {
    expect(
      problems(`
receivers:
  otlp: { protocols: { grpc: } }
  pcap: { files: [a.pcap] }
processors:
  filter: { traces: { span: ['attributes["a"] == "b"'] } }
connectors:
  spanmetrics: {}
exporters:
  debug: {}
  prometheus: { endpoint: 127.0.0.1:8889 }
  otlp:
    endpoint: x:4317
    sending_queue: { storage: file_storage }
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [spanmetrics, otlp]
    metrics:
      receivers: [pcap]
      processors: [filter]
      exporters: [prometheus]
    logs:
      receivers: [otlp]
      exporters: [prometheus]
`),
    ).toEqual([
      'service::pipelines::traces::processors: references processor "batch", which is not defined (fix: define it under processors: or remove it from the list)',
      'service::pipelines::metrics::receivers: receiver "pcap" does not produce metrics (fix: use it in a traces pipeline)',
      'service::pipelines::metrics::processors: processor "filter" does not support metrics in spanwire (fix: remove it from this pipeline (it supports traces))',
      'service::pipelines::logs::exporters: exporter "prometheus" does not take logs (fix: use it in a metrics pipeline)',
      'service::pipelines::traces::exporters: connector "spanmetrics" is used as an exporter here but as a receiver in no metrics pipeline (fix: add "spanmetrics" to the receivers of a metrics pipeline)',
      'exporters::otlp::sending_queue::storage: extension "file_storage" is not defined (fix: define it under extensions: (file_storage) and list it in service::extensions)',
    ]);
  });

  it('refuses OTTL conditions it cannot evaluate, saying what is supported', () => {
    expect(
      problems(`
receivers: { otlp: { protocols: { grpc: } } }
exporters: { debug: {} }
processors:
  filter:
    traces:
      span:
        - 'attributes["http.route"] == "/health" and kind == SPAN_KIND_SERVER'
        - 'Len(attributes["x"]) > 3'
        - 'span.events == nil'
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    traces: { receivers: [otlp], processors: [filter], exporters: [debug] }
`),
    ).toEqual([
      'processors::filter::traces::span::1: cannot use the condition "Len(attributes[\\"x\\"]) > 3": the function Len() is not supported (only IsMatch) (fix: write it with the OTTL subset in otel-config/README.md)',
      'processors::filter::traces::span::2: cannot use the condition "span.events == nil": "span.events" at column 1 is not supported: use attributes["k"], resource.attributes["k"], name, kind, status.code, status.message, instrumentation_scope.name, trace_state, trace_id.string, span_id.string or parent_span_id.string (fix: write it with the OTTL subset in otel-config/README.md)',
    ]);
  });

  it('the opentelemetry-collector Helm chart default config: names precisely what spanwire does not support', () => {
    const raw = parse(readFileSync(join(ROOT, 'test/fixtures/otel-config/helm-chart-default.yaml'), 'utf8')) as ConfigMap;
    const map = expandEnv(raw, { MY_POD_IP: '10.1.2.3' }, '', [], []) as ConfigMap;
    let err: ConfigError | null = null;
    try {
      validateConfig(map);
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err?.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'receivers::jaeger: unknown receiver type "jaeger"; spanwire supports af_packet, ebpf, otlp, pcap',
      'receivers::prometheus: unknown receiver type "prometheus"; spanwire supports af_packet, ebpf, otlp, pcap',
      'receivers::zipkin: unknown receiver type "zipkin"; spanwire supports af_packet, ebpf, otlp, pcap',
    ]);
    // Everything else in it (otlp, memory_limiter with percentages, batch, debug, health_check,
    // telemetry readers) is accepted.
    const recv = map.receivers as Record<string, unknown>;
    delete recv.jaeger;
    delete recv.prometheus;
    delete recv.zipkin;
    const pipes = (map.service as { pipelines: Record<string, { receivers: string[] }> }).pipelines;
    for (const p of Object.values(pipes)) p.receivers = p.receivers.filter((r) => r === 'otlp');
    const cfg = validateConfig(map);
    expect(cfg.service.telemetry.metricsEndpoint).toBe('10.1.2.3:8888');
    expect(cfg.extensions.get('health_check')!.config).toEqual({ endpoint: '10.1.2.3:13133', path: '/' });
  });
});

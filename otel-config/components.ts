/**
 * The components spanwire implements, as the OpenTelemetry Collector names them, with the options
 * each accepts (names, defaults and limits follow the Collector's), parsed into typed configs. The
 * runtime (core/collector/) builds components from these; otel-config/README.md documents them.
 */
import { Options, parseDuration } from './options.js';
import { parseOttlCondition, type OttlExpr } from './ottl.js';

export type Kind = 'receiver' | 'processor' | 'exporter' | 'connector' | 'extension';
export type Signal = 'traces' | 'metrics' | 'logs';
export const SIGNALS: readonly Signal[] = ['traces', 'metrics', 'logs'];

// ---- shared option groups ---------------------------------------------------------------------

export interface TlsClientConfig {
  insecure: boolean;
  insecureSkipVerify: boolean;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverNameOverride?: string;
}

export interface TlsServerConfig {
  certFile: string;
  keyFile: string;
  clientCaFile?: string;
}

export interface QueueConfig {
  enabled: boolean;
  numConsumers: number;
  queueSize: number;
  /** A file_storage extension id: the queue is kept on disk and survives a restart. */
  storage?: string;
}

export interface RetryConfig {
  enabled: boolean;
  initialIntervalMs: number;
  randomizationFactor: number;
  multiplier: number;
  maxIntervalMs: number;
  /** 0: retry forever. */
  maxElapsedTimeMs: number;
}

function tlsClient(o: Options, insecureDefault: boolean): TlsClientConfig {
  const t = o.sub('tls', `the tls settings of ${o.what}`);
  const c: TlsClientConfig = {
    insecure: t.bool('insecure', insecureDefault),
    insecureSkipVerify: t.bool('insecure_skip_verify', false),
    caFile: t.str('ca_file'),
    certFile: t.str('cert_file'),
    keyFile: t.str('key_file'),
    serverNameOverride: t.str('server_name_override'),
  };
  t.ignored('min_version', 'max_version', 'reload_interval', 'include_system_ca_certs_pool');
  t.notSupported('ca_pem', 'inline PEM: use ca_file');
  t.notSupported('cert_pem', 'inline PEM: use cert_file');
  t.notSupported('key_pem', 'inline PEM: use key_file');
  if ((c.certFile === undefined) !== (c.keyFile === undefined)) {
    t.fail(c.certFile === undefined ? 'cert_file' : 'key_file', 'cert_file and key_file go together (client certificate)', 'set both, or neither');
  }
  t.done();
  return c;
}

function tlsServer(o: Options): TlsServerConfig | undefined {
  if (!o.has('tls')) {
    o.ignored('tls');
    return undefined;
  }
  const t = o.sub('tls', `the tls settings of ${o.what}`);
  const c: TlsServerConfig = { certFile: t.required('cert_file', '/etc/ssl/server.crt'), keyFile: t.required('key_file', '/etc/ssl/server.key'), clientCaFile: t.str('client_ca_file') };
  t.ignored('min_version', 'max_version', 'reload_interval', 'ca_file');
  t.done();
  return c;
}

function queue(o: Options): QueueConfig {
  const q = o.sub('sending_queue', `the sending_queue of ${o.what}`);
  const c: QueueConfig = {
    enabled: q.bool('enabled', true),
    numConsumers: q.int('num_consumers', 10, 1, 1000),
    queueSize: q.int('queue_size', 1000, 1, 10_000_000),
    storage: q.str('storage'),
  };
  const sizer = q.oneOf('sizer', ['requests', 'items', 'bytes'] as const, 'requests');
  if (sizer !== 'requests') q.fail('sizer', `"${sizer}" is not supported: spanwire's queue counts requests`, 'remove sizer (or set sizer: requests)');
  if (q.bool('block_on_overflow', false)) q.fail('block_on_overflow', 'is not supported: a full queue refuses new data with a retryable error (counted)', 'remove block_on_overflow');
  q.ignored('wait_for_result');
  q.notSupported('batch', 'exporter-side batching: use the batch processor');
  q.done();
  return c;
}

function retry(o: Options): RetryConfig {
  const r = o.sub('retry_on_failure', `the retry_on_failure of ${o.what}`);
  const c: RetryConfig = {
    enabled: r.bool('enabled', true),
    initialIntervalMs: r.duration('initial_interval', 5000),
    randomizationFactor: r.num('randomization_factor', 0.5, 0, 1),
    multiplier: r.num('multiplier', 1.5, 1),
    maxIntervalMs: r.duration('max_interval', 30_000),
    maxElapsedTimeMs: r.duration('max_elapsed_time', 300_000),
  };
  if (c.maxIntervalMs < c.initialIntervalMs) r.fail('max_interval', 'must not be below initial_interval', 'raise max_interval or lower initial_interval');
  r.done();
  return c;
}

/** "host:port" for a listener; the host defaults to 127.0.0.1 (loopback only). */
function listenEndpoint(o: Options, key: string, def: string): string {
  const v = o.str(key, def);
  if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s/]*):(\d{1,5})$/.test(v) || Number(v.slice(v.lastIndexOf(':') + 1)) > 65535) {
    o.fail(key, `"${v}" is not HOST:PORT`, `write e.g. ${key}: ${def} (0.0.0.0:PORT listens on every interface)`);
    return def;
  }
  return v;
}

// ---- receivers ----------------------------------------------------------------------------------

export interface OtlpReceiverConfig {
  grpc?: { endpoint: string; maxRecvMsgSizeMiB: number; tls?: TlsServerConfig };
  http?: { endpoint: string; tracesUrlPath: string; metricsUrlPath: string; logsUrlPath: string; maxRequestBodySize: number; tls?: TlsServerConfig };
}

export interface CaptureCommonConfig {
  serviceName?: string;
  requestTimeoutMs: number;
  parserOptions: Record<string, Record<string, unknown>>;
}
export interface PcapReceiverConfig extends CaptureCommonConfig {
  files: string[];
  localAddresses: string[];
}
export interface EbpfReceiverConfig extends CaptureCommonConfig {
  pids: number[];
  ports: number[];
  maxPayload: number;
}
export interface AfPacketReceiverConfig extends CaptureCommonConfig {
  interface: string;
  filter: string;
}

function captureCommon(o: Options): CaptureCommonConfig {
  const po = o.raw_('parser_options');
  const parserOptions: Record<string, Record<string, unknown>> = {};
  if (po !== undefined) {
    if (typeof po !== 'object' || po === null || Array.isArray(po)) o.fail('parser_options', 'must be a map of protocol to options', 'write parser_options:\n  mysql:\n    db_query_text: full');
    else
      for (const [k, v] of Object.entries(po)) {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) o.fail(`parser_options::${k}`, 'must be a map of options', `write ${k}:\n  option: value`);
        else parserOptions[k] = v as Record<string, unknown>;
      }
  }
  return { serviceName: o.str('service_name'), requestTimeoutMs: o.duration('request_timeout', 60_000, 1), parserOptions };
}

// ---- processors ---------------------------------------------------------------------------------

export interface BatchProcessorConfig {
  sendBatchSize: number;
  timeoutMs: number;
  sendBatchMaxSize: number;
}

export interface MemoryLimiterConfig {
  checkIntervalMs: number;
  limitMiB: number;
  spikeLimitMiB: number;
}

export type AttrActionName = 'insert' | 'update' | 'upsert' | 'delete' | 'hash';
export interface AttrAction {
  key?: string;
  pattern?: RegExp;
  action: AttrActionName;
  value?: unknown;
  fromAttribute?: string;
}

export interface FilterProcessorConfig {
  errorMode: 'propagate' | 'ignore' | 'silent';
  spanConditions: string[];
  parsed: OttlExpr[];
}

// ---- exporters ----------------------------------------------------------------------------------

export interface ExporterCommon {
  queue: QueueConfig;
  retry: RetryConfig;
  timeoutMs: number;
}
export interface OtlpGrpcExporterConfig extends ExporterCommon {
  endpoint: string;
  tls: TlsClientConfig;
  headers: Record<string, string>;
  compression: 'gzip' | 'none';
}
export interface OtlpHttpExporterConfig extends ExporterCommon {
  tracesUrl?: string;
  metricsUrl?: string;
  logsUrl?: string;
  tls: TlsClientConfig;
  headers: Record<string, string>;
  compression: 'gzip' | 'none';
  encoding: 'proto' | 'json';
}
export interface DebugExporterConfig extends ExporterCommon {
  verbosity: 'basic' | 'normal' | 'detailed';
  samplingInitial: number;
  samplingThereafter: number;
}
export interface FileExporterConfig extends ExporterCommon {
  path: string;
  rotation?: { maxMegabytes: number; maxBackups: number; localtime: boolean };
  flushIntervalMs: number;
  append: boolean;
}
export interface PrometheusExporterConfig extends ExporterCommon {
  endpoint: string;
  namespace: string;
  constLabels: Record<string, string>;
  sendTimestamps: boolean;
  metricExpirationMs: number;
  resourceToTelemetry: boolean;
  addMetricSuffixes: boolean;
}

function exporterCommon(o: Options, timeoutDefMs: number): ExporterCommon {
  return { queue: queue(o), retry: retry(o), timeoutMs: o.duration('timeout', timeoutDefMs, 0) };
}

function compression(o: Options): 'gzip' | 'none' {
  const c = o.oneOf('compression', ['gzip', 'none', 'zstd', 'snappy', 'zlib', 'deflate', 'lz4', 'x-snappy-framed'] as const, 'gzip');
  if (c !== 'gzip' && c !== 'none') {
    o.fail('compression', `"${c}" is not supported by spanwire`, 'use compression: gzip (the default) or none');
    return 'gzip';
  }
  return c;
}

/** otlphttp URL: absolute http(s) URL. */
function httpUrl(o: Options, key: string): string | undefined {
  const v = o.str(key);
  if (v === undefined || v === '') return undefined;
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    return v;
  } catch {
    o.fail(key, `"${v}" is not an http:// or https:// URL`, `write e.g. ${key}: https://otlp.example.com:4318`);
    return undefined;
  }
}

// ---- connectors ---------------------------------------------------------------------------------

export interface SpanMetricsConnectorConfig {
  namespace: string;
  /** Bucket bounds in the histogram's unit. */
  buckets: number[];
  unit: 'ms' | 's';
  dimensions: { name: string; default?: string }[];
  excludeDimensions: string[];
  flushIntervalMs: number;
  temporality: 'cumulative' | 'delta';
  dimensionsCacheSize: number;
  /** spanwire extension: also the semantic-convention RED metrics of core/metrics/red.ts. */
  redMetrics: boolean;
}

export interface ServiceGraphConnectorConfig {
  /** Bucket bounds in seconds. */
  buckets: number[];
  dimensions: string[];
  storeTtlMs: number;
  storeMaxItems: number;
  flushIntervalMs: number;
}

// ---- extensions ---------------------------------------------------------------------------------

export interface HealthCheckConfig {
  endpoint: string;
  path: string;
}
export interface FileStorageConfig {
  directory: string;
  createDirectory: boolean;
  fsync: boolean;
}

const DEFAULT_LATENCY_BUCKETS_MS = [2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10000, 15000];

function attrActions(list: unknown[], path: string, o: Options, what: string): AttrAction[] {
  const out: AttrAction[] = [];
  list.forEach((raw, i) => {
    const a = Options.of(raw, `${path}::${i}`, o.issues, what);
    const action = a.oneOf('action', ['insert', 'update', 'upsert', 'delete', 'hash', 'extract', 'convert'] as const, 'upsert');
    if (!a.has('action')) a.fail('action', 'is required', 'set action: insert, update, upsert, delete or hash');
    if (action === 'extract' || action === 'convert') {
      a.fail('action', `"${action}" is not supported by spanwire`, 'use insert, update, upsert, delete or hash');
    }
    const key = a.str('key');
    const pat = a.str('pattern');
    let pattern: RegExp | undefined;
    if (pat !== undefined) {
      try {
        pattern = new RegExp(pat);
      } catch {
        a.fail('pattern', `"${pat}" is not a valid regular expression`, 'fix the regular expression');
      }
      if (action !== 'delete' && action !== 'hash') a.fail('pattern', 'is only valid with action delete or hash', 'use key instead');
    }
    if (key === undefined && pat === undefined) a.fail('key', 'is required', 'set key: the attribute name (or pattern: a regular expression for delete/hash)');
    const hasValue = a.has('value');
    const value = a.raw_('value');
    const fromAttribute = a.str('from_attribute');
    if (a.has('from_context')) a.fail('from_context', 'is not supported by spanwire (no client metadata)', 'use value or from_attribute');
    if (action === 'insert' || action === 'update' || action === 'upsert') {
      if (!hasValue && fromAttribute === undefined) a.fail('value', `is required for action ${action}`, 'set value: ... or from_attribute: ...');
      if (hasValue && fromAttribute !== undefined) a.fail('from_attribute', 'value and from_attribute exclude each other', 'keep one');
    }
    if (value !== undefined && typeof value === 'object' && !Array.isArray(value)) a.fail('value', 'must be a string, number, boolean or a list of them', 'write a plain value');
    a.ignored('converted_type', 'regex');
    a.done();
    out.push({ key, pattern, action: action === 'extract' || action === 'convert' ? 'upsert' : action, value, fromAttribute });
  });
  return out;
}

// ---- the catalog --------------------------------------------------------------------------------

export interface ComponentSpec {
  kind: Kind;
  type: string;
  /** Collector stability of the original component, for `spanwire components`. */
  stability: 'stable' | 'beta' | 'alpha' | 'development';
  description: string;
  /** Receivers, processors, exporters: the signals they take. Connectors: [from, to] pairs. */
  signals: readonly Signal[];
  connects?: readonly (readonly [Signal, Signal])[];
  /** Parses and validates the options at `o.path`. */
  parse(o: Options): unknown;
  /** Aliases this type is also known by (the Collector's own renames). */
  aliases?: readonly string[];
}

function parseOtlpReceiver(o: Options): OtlpReceiverConfig {
  const protocols = o.sub('protocols', 'the otlp receiver protocols');
  const c: OtlpReceiverConfig = {};
  if (protocols.raw.grpc !== undefined || Object.hasOwn(protocols.raw, 'grpc')) {
    const g = protocols.sub('grpc', 'the otlp receiver grpc protocol');
    c.grpc = { endpoint: listenEndpoint(g, 'endpoint', '127.0.0.1:4317'), maxRecvMsgSizeMiB: g.num('max_recv_msg_size_mib', 4, 0.001, 4096), tls: tlsServer(g) };
    g.ignored('include_metadata', 'transport', 'read_buffer_size', 'write_buffer_size', 'keepalive', 'max_concurrent_streams');
    g.notSupported('auth', 'server authentication extensions');
    g.done();
  } else protocols.ignored('grpc');
  if (protocols.raw.http !== undefined || Object.hasOwn(protocols.raw, 'http')) {
    const h = protocols.sub('http', 'the otlp receiver http protocol');
    const path = (k: string, d: string) => {
      const v = h.str(k, d);
      if (!v.startsWith('/')) h.fail(k, `"${v}" must start with /`, `write e.g. ${k}: ${d}`);
      return v;
    };
    c.http = {
      endpoint: listenEndpoint(h, 'endpoint', '127.0.0.1:4318'),
      tracesUrlPath: path('traces_url_path', '/v1/traces'),
      metricsUrlPath: path('metrics_url_path', '/v1/metrics'),
      logsUrlPath: path('logs_url_path', '/v1/logs'),
      maxRequestBodySize: h.int('max_request_body_size', 20 << 20, 1),
      tls: tlsServer(h),
    };
    h.ignored('include_metadata', 'read_timeout', 'write_timeout', 'idle_timeout', 'read_header_timeout', 'response_headers');
    h.notSupported('cors', 'browser CORS handling');
    h.notSupported('auth', 'server authentication extensions');
    h.done();
  } else protocols.ignored('http');
  if (c.grpc === undefined && c.http === undefined) {
    o.fail('protocols', 'must enable at least one protocol', 'add protocols:\n  grpc:\n  http:');
  }
  protocols.done();
  o.done();
  return c;
}

function parseBatch(o: Options): BatchProcessorConfig {
  const c = { sendBatchSize: o.int('send_batch_size', 8192, 0), timeoutMs: o.duration('timeout', 200), sendBatchMaxSize: o.int('send_batch_max_size', 0, 0) };
  if (c.sendBatchMaxSize > 0 && c.sendBatchMaxSize < c.sendBatchSize) {
    o.fail('send_batch_max_size', `must be 0 or at least send_batch_size (${c.sendBatchSize})`, `set send_batch_max_size: ${c.sendBatchSize} or more`);
  }
  if (o.strings('metadata_keys').length > 0) o.fail('metadata_keys', 'is not supported by spanwire (no client metadata)', 'remove metadata_keys');
  o.ignored('metadata_cardinality_limit');
  o.done();
  return c;
}

function parseMemoryLimiter(o: Options, totalMiB: number): MemoryLimiterConfig {
  const checkIntervalMs = o.duration('check_interval', 0);
  if (checkIntervalMs <= 0) o.fail('check_interval', 'must be greater than zero', 'set check_interval: 1s');
  let limitMiB = o.int('limit_mib', 0, 0);
  let spikeLimitMiB = o.int('spike_limit_mib', 0, 0);
  const limitPct = o.int('limit_percentage', 0, 0, 100);
  const spikePct = o.int('spike_limit_percentage', 0, 0, 100);
  if (limitMiB === 0 && limitPct > 0) {
    limitMiB = Math.floor((totalMiB * limitPct) / 100);
    spikeLimitMiB = Math.floor((totalMiB * spikePct) / 100);
  }
  if (limitMiB === 0) o.fail('limit_mib', 'limit_mib or limit_percentage must be set', 'set limit_mib: 400 (or limit_percentage: 80)');
  else if (spikeLimitMiB === 0 && !o.has('spike_limit_mib') && limitPct === 0) spikeLimitMiB = Math.floor(limitMiB / 5);
  if (limitMiB > 0 && spikeLimitMiB >= limitMiB) o.fail(o.has('spike_limit_mib') ? 'spike_limit_mib' : 'spike_limit_percentage', 'must be below the limit', 'lower the spike limit (20% of the limit is usual)');
  o.ignored('ballast_size_mib', 'min_gc_interval_when_soft_limited', 'min_gc_interval_when_hard_limited');
  o.done();
  return { checkIntervalMs, limitMiB, spikeLimitMiB };
}

function parseFilter(o: Options): FilterProcessorConfig {
  const errorMode = o.oneOf('error_mode', ['propagate', 'ignore', 'silent'] as const, 'propagate');
  const t = o.sub('traces', 'the filter processor traces section');
  const spanConditions = t.strings('span');
  const parsed: OttlExpr[] = [];
  spanConditions.forEach((c, i) => {
    try {
      parsed.push(parseOttlCondition(c));
    } catch (e) {
      o.issues.push({ path: `${t.p('span')}::${i}`, message: `cannot use the condition ${JSON.stringify(c)}: ${(e as Error).message}`, fix: 'write it with the OTTL subset in otel-config/README.md' });
    }
  });
  t.notSupported('spanevent', 'span event conditions');
  t.done();
  o.notSupported('metrics', 'metric conditions: spanwire filters spans only');
  o.notSupported('logs', 'log conditions: spanwire filters spans only');
  o.notSupported('spans', 'the legacy include/exclude match syntax: write OTTL conditions under traces::span');
  o.done();
  return { errorMode, spanConditions, parsed };
}

export interface BuildEnv {
  totalMemoryMiB: number;
}

export function makeCatalog(env: BuildEnv): ComponentSpec[] {
  const exporterGrpc = (o: Options): OtlpGrpcExporterConfig => {
    const endpoint = o.required('endpoint', 'jaeger:4317');
    let insecureDefault = false;
    if (/^http:\/\//i.test(endpoint)) insecureDefault = true;
    else if (endpoint !== '' && !/^https:\/\//i.test(endpoint) && !/^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):\d{1,5}$/.test(endpoint)) {
      o.fail('endpoint', `"${endpoint}" is not HOST:PORT`, 'write e.g. endpoint: jaeger:4317 (http://host:port for plaintext, https://host:port for TLS)');
    }
    const c: OtlpGrpcExporterConfig = {
      endpoint,
      tls: tlsClient(o, insecureDefault),
      headers: o.stringMap('headers'),
      compression: compression(o),
      ...exporterCommon(o, 5000),
    };
    o.ignored('balancer_name', 'keepalive', 'read_buffer_size', 'write_buffer_size', 'wait_for_ready', 'authority');
    o.notSupported('auth', 'client authentication extensions: put the token in headers');
    o.done();
    return c;
  };
  const exporterHttp = (o: Options): OtlpHttpExporterConfig => {
    const base = httpUrl(o, 'endpoint');
    const join = (p: string) => (base === undefined ? undefined : base.replace(/\/+$/, '') + p);
    const c: OtlpHttpExporterConfig = {
      tracesUrl: httpUrl(o, 'traces_endpoint') ?? join('/v1/traces'),
      metricsUrl: httpUrl(o, 'metrics_endpoint') ?? join('/v1/metrics'),
      logsUrl: httpUrl(o, 'logs_endpoint') ?? join('/v1/logs'),
      tls: tlsClient(o, false),
      headers: o.stringMap('headers'),
      compression: compression(o),
      encoding: o.oneOf('encoding', ['proto', 'json'] as const, 'proto'),
      ...exporterCommon(o, 30_000),
    };
    if (c.tracesUrl === undefined && c.metricsUrl === undefined && c.logsUrl === undefined && !o.issues.some((i) => i.path.startsWith(o.path + '::'))) {
      o.fail('endpoint', 'is required by the otlphttp exporter (or traces_endpoint / metrics_endpoint / logs_endpoint)', 'set it, e.g. endpoint: https://tempo.example.com:4318');
    }
    o.ignored('read_buffer_size', 'write_buffer_size', 'max_idle_conns', 'max_idle_conns_per_host', 'max_conns_per_host', 'idle_conn_timeout', 'disable_keep_alives', 'http2_read_idle_timeout', 'http2_ping_timeout', 'proxy_url');
    o.notSupported('auth', 'client authentication extensions: put the token in headers');
    o.done();
    return c;
  };
  const debugLike = (legacy: boolean) => (o: Options): DebugExporterConfig => {
    let verbosity = o.oneOf('verbosity', ['basic', 'normal', 'detailed'] as const, legacy ? 'normal' : 'basic');
    if (legacy && o.has('loglevel')) {
      const l = o.oneOf('loglevel', ['debug', 'info', 'warn', 'error'] as const, 'info');
      verbosity = l === 'debug' ? 'detailed' : 'normal';
    } else o.ignored('loglevel');
    const c = { verbosity, samplingInitial: o.int('sampling_initial', 2, 1), samplingThereafter: o.int('sampling_thereafter', 1, 1), ...exporterCommon(o, 5000) };
    o.ignored('use_internal_logger');
    o.done();
    return c;
  };
  const fileExporter = (o: Options): FileExporterConfig => {
    const path = o.required('path', './spans.jsonl');
    let rotation: FileExporterConfig['rotation'];
    if (o.has('rotation')) {
      const r = o.sub('rotation', 'the file exporter rotation');
      rotation = { maxMegabytes: r.int('max_megabytes', 100, 1), maxBackups: r.int('max_backups', 100, 0), localtime: r.bool('localtime', false) };
      r.notSupported('max_days', 'age-based removal: use max_backups');
      r.done();
    } else o.ignored('rotation');
    const format = o.oneOf('format', ['json', 'proto'] as const, 'json');
    if (format === 'proto') o.fail('format', '"proto" is not supported by spanwire', 'use format: json (OTLP/JSON lines)');
    const c = { path, rotation, flushIntervalMs: o.duration('flush_interval', 1000), append: o.bool('append', false), ...exporterCommon(o, 5000) };
    if (c.append && rotation !== undefined) o.fail('append', 'cannot be used with rotation (as in the Collector)', 'remove append or rotation');
    o.notSupported('compression', 'file compression');
    o.notSupported('group_by', 'one file per resource attribute');
    o.notSupported('encoding', 'encoding extensions');
    o.done();
    return c;
  };
  const prometheus = (o: Options): PrometheusExporterConfig => {
    const c: PrometheusExporterConfig = {
      endpoint: o.has('endpoint') ? listenEndpoint(o, 'endpoint', '127.0.0.1:8889') : (o.required('endpoint', '127.0.0.1:8889'), '127.0.0.1:8889'),
      namespace: o.str('namespace', ''),
      constLabels: o.stringMap('const_labels'),
      sendTimestamps: o.bool('send_timestamps', false),
      metricExpirationMs: o.duration('metric_expiration', 300_000, 0),
      resourceToTelemetry: o.sub('resource_to_telemetry_conversion', 'resource_to_telemetry_conversion').bool('enabled', false),
      addMetricSuffixes: o.bool('add_metric_suffixes', true),
      ...exporterCommon(o, 5000),
    };
    o.notSupported('enable_open_metrics', 'OpenMetrics exposition: spanwire serves Prometheus text 0.0.4');
    o.notSupported('tls', 'TLS on the scrape endpoint');
    o.done();
    return c;
  };
  const spanmetrics = (o: Options): SpanMetricsConnectorConfig => {
    const h = o.sub('histogram', 'the spanmetrics histogram');
    const unit = h.oneOf('unit', ['ms', 's'] as const, 'ms');
    let buckets = DEFAULT_LATENCY_BUCKETS_MS.map((b) => (unit === 's' ? b / 1000 : b));
    if (h.has('explicit')) {
      const e = h.sub('explicit', 'the spanmetrics explicit histogram');
      const list = e.list('buckets');
      if (list.length > 0) {
        const ms = list.map((b) => parseDuration(b));
        if (ms.some((x) => x === null)) e.fail('buckets', 'must be a list of durations (2ms, 1s ...)', 'write buckets: [10ms, 100ms, 1s]');
        else buckets = (ms as number[]).map((x) => (unit === 's' ? x / 1000 : x));
      }
      e.done();
    } else h.ignored('explicit');
    h.notSupported('exponential', 'exponential histograms: use explicit buckets');
    h.ignored('disable');
    h.done();
    const dimensions = o.list('dimensions').map((d, i) => {
      const x = Options.of(d, `${o.p('dimensions')}::${i}`, o.issues, 'a spanmetrics dimension');
      const r = { name: x.required('name', 'http.request.method'), default: x.str('default') };
      x.done();
      return r;
    });
    const temporality = o.oneOf('aggregation_temporality', ['AGGREGATION_TEMPORALITY_CUMULATIVE', 'AGGREGATION_TEMPORALITY_DELTA'] as const, 'AGGREGATION_TEMPORALITY_CUMULATIVE');
    const c: SpanMetricsConnectorConfig = {
      namespace: o.str('namespace', 'traces.span.metrics'),
      buckets,
      unit,
      dimensions,
      excludeDimensions: o.strings('exclude_dimensions'),
      flushIntervalMs: o.duration('metrics_flush_interval', 60_000, 1),
      temporality: temporality === 'AGGREGATION_TEMPORALITY_DELTA' ? 'delta' : 'cumulative',
      dimensionsCacheSize: o.int('dimensions_cache_size', 1000, 1),
      redMetrics: o.bool('spanwire_red_metrics', false),
    };
    o.ignored('resource_metrics_key_attributes', 'resource_metrics_cache_size', 'metrics_expiration', 'aggregation_cardinality_limit', 'include_instrumentation_scope');
    o.notSupported('events', 'event count metrics');
    o.notSupported('exemplars', 'exemplars');
    o.done();
    return c;
  };
  const servicegraph = (o: Options): ServiceGraphConnectorConfig => {
    const list = o.list('latency_histogram_buckets');
    let buckets = DEFAULT_LATENCY_BUCKETS_MS.map((b) => b / 1000);
    if (list.length > 0) {
      const ms = list.map((b) => parseDuration(b));
      if (ms.some((x) => x === null)) o.fail('latency_histogram_buckets', 'must be a list of durations (2ms, 1s ...)', 'write latency_histogram_buckets: [10ms, 100ms, 1s]');
      else buckets = (ms as number[]).map((x) => x / 1000);
    }
    const store = o.sub('store', 'the servicegraph store');
    const c: ServiceGraphConnectorConfig = {
      buckets,
      dimensions: o.strings('dimensions'),
      storeTtlMs: store.duration('ttl', 2000, 1),
      storeMaxItems: store.int('max_items', 1000, 1),
      flushIntervalMs: o.duration('metrics_flush_interval', 60_000, 1),
    };
    store.done();
    o.ignored('cache_loop', 'store_expiration_loop', 'database_name_attribute', 'metrics_timestamp_offset');
    o.notSupported('virtual_node_peer_attributes', 'virtual nodes for uninstrumented peers');
    o.notSupported('virtual_node_extra_label', 'virtual nodes for uninstrumented peers');
    o.notSupported('database_name_attributes', 'database edges');
    o.done();
    return c;
  };
  const capture = (extra: (o: Options) => object) => (o: Options) => {
    const c = { ...captureCommon(o), ...extra(o) };
    o.done();
    return c;
  };
  return [
    { kind: 'receiver', type: 'otlp', stability: 'stable', description: 'OTLP over gRPC (4317) and HTTP (4318): traces, metrics, logs', signals: SIGNALS, parse: parseOtlpReceiver },
    {
      kind: 'receiver',
      type: 'pcap',
      stability: 'development',
      description: 'spanwire: replays capture files (pcap, pcapng, gzip) into spans',
      signals: ['traces'],
      parse: capture((o): Partial<PcapReceiverConfig> => {
        const files = [...o.strings('files'), ...o.strings('file')];
        if (files.length === 0) o.fail('files', 'is required by the pcap receiver', 'set files: [capture.pcap]');
        return { files, localAddresses: o.strings('local_addresses') };
      }),
    },
    {
      kind: 'receiver',
      type: 'ebpf',
      stability: 'development',
      description: 'spanwire: live capture of this host with eBPF (every process, TLS plaintext)',
      signals: ['traces'],
      parse: capture((o): Partial<EbpfReceiverConfig> => ({ pids: o.numbers('pids', true), ports: o.numbers('ports', true), maxPayload: o.int('max_payload', 4096, 64, 1 << 20) })),
    },
    {
      kind: 'receiver',
      type: 'af_packet',
      stability: 'development',
      description: 'spanwire: live packet capture on an interface (AF_PACKET)',
      signals: ['traces'],
      parse: capture((o): Partial<AfPacketReceiverConfig> => ({ interface: o.str('interface', 'any'), filter: o.str('filter', '') })),
    },
    { kind: 'processor', type: 'batch', stability: 'beta', description: 'batches by size and time', signals: SIGNALS, parse: parseBatch },
    {
      kind: 'processor',
      type: 'memory_limiter',
      stability: 'beta',
      description: 'refuses data (retryable) while memory is above the soft limit',
      signals: SIGNALS,
      parse: (o) => parseMemoryLimiter(o, env.totalMemoryMiB),
    },
    {
      kind: 'processor',
      type: 'attributes',
      stability: 'beta',
      description: 'insert/update/upsert/delete/hash span and log attributes',
      signals: ['traces', 'logs'],
      parse: (o) => {
        const actions = attrActions(o.list('actions'), o.p('actions'), o, 'an attributes action');
        if (actions.length === 0) o.fail('actions', 'is required: at least one action', 'add actions:\n  - key: env\n    value: prod\n    action: upsert');
        o.notSupported('include', 'include/exclude matching: the actions apply to every span');
        o.notSupported('exclude', 'include/exclude matching: the actions apply to every span');
        o.done();
        return actions;
      },
    },
    {
      kind: 'processor',
      type: 'resource',
      stability: 'beta',
      description: 'insert/update/upsert/delete/hash resource attributes',
      signals: SIGNALS,
      parse: (o) => {
        const actions = attrActions(o.list('attributes'), o.p('attributes'), o, 'a resource attributes action');
        if (actions.length === 0) o.fail('attributes', 'is required: at least one action', 'add attributes:\n  - key: deployment.environment.name\n    value: prod\n    action: upsert');
        o.done();
        return actions;
      },
    },
    { kind: 'processor', type: 'filter', stability: 'alpha', description: 'drops spans matching OTTL conditions (a subset: see otel-config/README.md)', signals: ['traces'], parse: parseFilter },
    { kind: 'exporter', type: 'otlp', aliases: ['otlp_grpc'], stability: 'stable', description: 'OTLP over gRPC', signals: SIGNALS, parse: exporterGrpc },
    { kind: 'exporter', type: 'otlphttp', aliases: ['otlp_http'], stability: 'stable', description: 'OTLP over HTTP (protobuf or JSON)', signals: SIGNALS, parse: exporterHttp },
    { kind: 'exporter', type: 'debug', stability: 'development', description: 'writes a summary (or every item) to stderr', signals: SIGNALS, parse: debugLike(false) },
    { kind: 'exporter', type: 'logging', stability: 'development', description: 'deprecated name of debug', signals: SIGNALS, parse: debugLike(true) },
    { kind: 'exporter', type: 'file', stability: 'alpha', description: 'OTLP/JSON lines to a file, with rotation', signals: SIGNALS, parse: fileExporter },
    { kind: 'exporter', type: 'prometheus', stability: 'beta', description: 'serves received metrics on a Prometheus scrape endpoint', signals: ['metrics'], parse: prometheus },
    {
      kind: 'connector',
      type: 'spanmetrics',
      stability: 'alpha',
      description: 'calls and duration metrics from spans',
      signals: ['traces'],
      connects: [['traces', 'metrics']],
      parse: spanmetrics,
    },
    {
      kind: 'connector',
      type: 'servicegraph',
      stability: 'alpha',
      description: 'service graph (client -> server edges) metrics from spans',
      signals: ['traces'],
      connects: [['traces', 'metrics']],
      parse: servicegraph,
    },
    {
      kind: 'extension',
      type: 'health_check',
      stability: 'beta',
      description: 'HTTP health endpoint (13133)',
      signals: [],
      parse: (o): HealthCheckConfig => {
        const c = { endpoint: listenEndpoint(o, 'endpoint', '127.0.0.1:13133'), path: o.str('path', '/') };
        o.ignored('check_collector_pipeline', 'response_body');
        o.notSupported('tls', 'TLS on the health endpoint');
        o.done();
        return c;
      },
    },
    {
      kind: 'extension',
      type: 'file_storage',
      stability: 'beta',
      description: 'a directory for persistent sending queues',
      signals: [],
      parse: (o): FileStorageConfig => {
        const c = { directory: o.str('directory', '/var/lib/otelcol/file_storage'), createDirectory: o.bool('create_directory', false), fsync: o.bool('fsync', false) };
        o.ignored('timeout', 'compaction', 'directory_permissions');
        o.done();
        return c;
      },
    },
  ];
}


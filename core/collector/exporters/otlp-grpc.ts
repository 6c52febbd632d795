/**
 * `otlp` (alias `otlp_grpc`) exporter transport: OTLP/gRPC `Export` calls with @grpc/grpc-js, gzip
 * by default, headers as metadata, TLS unless `tls::insecure` (or an http:// endpoint). Refusals are
 * classified as the OTLP specification says: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE,
 * UNAVAILABLE, DATA_LOSS are retryable, RESOURCE_EXHAUSTED only with a RetryInfo (whose delay is
 * honoured); anything else is permanent. Header values are never logged.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import type { OtlpGrpcExporterConfig, Signal } from '../../../otel-config/components.js';
import { ConsumerError, type Host } from '../component.js';
import { encodeRequest } from '../pdata/codec.js';
import type { SignalData } from '../pdata/model.js';
import { decodeProto, ExportLogsServiceResponse, ExportMetricsServiceResponse, ExportTraceServiceResponse, RetryInfo, RpcStatus } from '../pdata/schema.js';
import type { Transport } from './exporter.js';

const PATHS: Record<Signal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};
const RESPONSES = { traces: ExportTraceServiceResponse, metrics: ExportMetricsServiceResponse, logs: ExportLogsServiceResponse };
const RETRYABLE = new Set([grpc.status.CANCELLED, grpc.status.DEADLINE_EXCEEDED, grpc.status.ABORTED, grpc.status.OUT_OF_RANGE, grpc.status.UNAVAILABLE, grpc.status.DATA_LOSS]);
const identity = (b: Buffer): Buffer => b;

/** The RetryInfo delay (ms) in a gRPC error's status details, if any. */
export function retryDelayOf(md: grpc.Metadata | undefined): number | undefined {
  const raw = md?.get('grpc-status-details-bin')[0];
  if (!(raw instanceof Buffer)) return undefined;
  try {
    const st = decodeProto(raw, RpcStatus) as { details?: { typeUrl?: string; value?: string }[] };
    for (const d of st.details ?? []) {
      if (d.typeUrl?.endsWith('google.rpc.RetryInfo') && d.value !== undefined) {
        const ri = decodeProto(Buffer.from(d.value, 'base64'), RetryInfo) as { retryDelay?: { seconds?: string; nanos?: number } };
        return Number(ri.retryDelay?.seconds ?? 0) * 1000 + (ri.retryDelay?.nanos ?? 0) / 1e6;
      }
    }
  } catch {
    /* malformed details: no delay */
  }
  return undefined;
}

export function grpcTarget(endpoint: string): string {
  return endpoint.replace(/^(https?|dns):\/\//i, '').replace(/\/+$/, '');
}

export class OtlpGrpcTransport<S extends Signal> implements Transport<S> {
  private client: grpc.Client | null = null;
  private host!: Host;
  constructor(
    readonly id: string,
    readonly signal: S,
    private readonly cfg: OtlpGrpcExporterConfig,
  ) {}

  async start(host: Host): Promise<void> {
    this.host = host;
    const t = this.cfg.tls;
    let creds: grpc.ChannelCredentials;
    if (t.insecure) creds = grpc.credentials.createInsecure();
    else {
      const verify: grpc.VerifyOptions = {};
      if (t.insecureSkipVerify) (verify as Record<string, unknown>).rejectUnauthorized = false;
      if (t.insecureSkipVerify) verify.checkServerIdentity = () => undefined;
      creds = grpc.credentials.createSsl(
        t.caFile !== undefined ? readFileSync(t.caFile) : null,
        t.keyFile !== undefined ? readFileSync(t.keyFile) : null,
        t.certFile !== undefined ? readFileSync(t.certFile) : null,
        verify,
      );
    }
    // Reconnect within 5 s of a backend coming back (grpc-js would otherwise back off up to 2 min).
    const opts: grpc.ChannelOptions = { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': 16 << 20, 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 5000 };
    if (this.cfg.compression === 'gzip') opts['grpc.default_compression_algorithm'] = 2;
    if (t.serverNameOverride !== undefined) opts['grpc.ssl_target_name_override'] = t.serverNameOverride;
    this.client = new grpc.Client(grpcTarget(this.cfg.endpoint), creds, opts);
  }

  send(data: SignalData[S]): Promise<void> {
    const body = encodeRequest(this.signal, data, 'proto');
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(this.cfg.headers)) md.set(k.toLowerCase(), v);
    const deadline = this.cfg.timeoutMs > 0 ? Date.now() + this.cfg.timeoutMs : Infinity;
    return new Promise((resolve, reject) => {
      this.client!.makeUnaryRequest(PATHS[this.signal], identity, identity, body, md, { deadline }, (err, resp) => {
        if (err) {
          const delay = retryDelayOf(err.metadata);
          const msg = `${this.cfg.endpoint}: ${grpc.status[err.code] ?? err.code}: ${err.details}`;
          if (RETRYABLE.has(err.code) || (err.code === grpc.status.RESOURCE_EXHAUSTED && delay !== undefined)) reject(ConsumerError.retryable(msg, delay));
          else reject(ConsumerError.permanent(msg));
          return;
        }
        if (resp !== undefined && resp.length > 0) {
          try {
            const ps = (decodeProto(resp, RESPONSES[this.signal]) as { partialSuccess?: Record<string, string> }).partialSuccess;
            if (ps !== undefined) this.host.log('warn', `exporter ${this.id}: the backend accepted the batch partially: ${JSON.stringify(ps)}`);
          } catch {
            /* not a response we understand: the call succeeded */
          }
        }
        resolve();
      });
    });
  }

  async shutdown(): Promise<void> {
    this.client?.close();
    this.client = null;
  }
}

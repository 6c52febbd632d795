/**
 * The `otlp` receiver: OTLP/gRPC (TraceService, MetricsService, LogsService `Export`) and OTLP/HTTP
 * (POST /v1/traces, /v1/metrics, /v1/logs; protobuf or JSON; gzip/deflate bodies), as the OTLP
 * specification describes them:
 * - accepted: gRPC OK / HTTP 200 with an empty Export*ServiceResponse in the request's encoding;
 * - refused, retryable (downstream full, memory_limiter): gRPC UNAVAILABLE, or RESOURCE_EXHAUSTED
 *   with a google.rpc.RetryInfo; HTTP 503, or 429, with Retry-After;
 * - refused, permanent (malformed, too large, wrong type): gRPC INVALID_ARGUMENT / RESOURCE_EXHAUSTED
 *   without RetryInfo (message too large); HTTP 400 / 413 / 415, with a google.rpc.Status body.
 * Listens on 127.0.0.1 unless configured otherwise.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createGunzip, createInflate } from 'node:zlib';
import type { OtlpReceiverConfig, Signal } from '../../../otel-config/components.js';
import { asConsumerError, ConsumerError, type Component, type Consumer, type Host } from '../component.js';
import { decodeRequest, type Encoding } from '../pdata/codec.js';
import { countItems, ITEM_NAME, type SignalData } from '../pdata/model.js';
import { encodeProto, ExportLogsServiceResponse, ExportMetricsServiceResponse, ExportTraceServiceResponse, RetryInfo, RpcStatus } from '../pdata/schema.js';
import { ProtoError } from '../pdata/wire.js';
import { listenOn, splitEndpoint } from '../listen.js';
import type { Counter } from '../telemetry.js';

const SERVICES: Record<Signal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};
const RESPONSES = { traces: ExportTraceServiceResponse, metrics: ExportMetricsServiceResponse, logs: ExportLogsServiceResponse };
const identity = (b: Buffer): Buffer => b;

/** gRPC status details carrying a RetryInfo (the OTLP way to say "retry after"). */
export function retryInfoDetails(code: number, message: string, delayMs: number): Buffer {
  const retry = encodeProto(RetryInfo, { retryDelay: { seconds: String(Math.floor(delayMs / 1000)), nanos: (delayMs % 1000) * 1e6 } });
  return encodeProto(RpcStatus, { code, message, details: [{ typeUrl: 'type.googleapis.com/google.rpc.RetryInfo', value: retry.toString('base64') }] });
}

export class OtlpReceiver implements Component {
  readonly consumers: Partial<{ [S in Signal]: Consumer<S> }> = {};
  private grpcServer: grpc.Server | null = null;
  private httpServer: HttpServer | null = null;
  grpcPort = 0;
  httpPort = 0;
  private host!: Host;
  private readonly counters = new Map<string, { accepted: Counter; refused: Counter }>();

  constructor(
    readonly id: string,
    private readonly cfg: OtlpReceiverConfig,
  ) {}

  private count(signal: Signal, transport: string) {
    const k = `${signal}/${transport}`;
    let c = this.counters.get(k);
    if (c === undefined) {
      const item = ITEM_NAME[signal];
      const labels = { receiver: this.id, transport };
      c = {
        accepted: this.host.telemetry.counter(`otelcol_receiver_accepted_${item}`, `Number of ${item} successfully pushed into the pipeline.`, labels),
        refused: this.host.telemetry.counter(`otelcol_receiver_refused_${item}`, `Number of ${item} that could not be pushed into the pipeline.`, labels),
      };
      this.counters.set(k, c);
    }
    return c;
  }

  /** Decoded data into the pipeline; refusals counted and rethrown as ConsumerErrors. */
  private async push<S extends Signal>(signal: S, data: SignalData[S], transport: string): Promise<void> {
    const n = countItems(signal, data);
    const c = this.count(signal, transport);
    if (n === 0) return;
    try {
      await (this.consumers[signal] as Consumer<S>).consume(data);
      c.accepted.add(n);
    } catch (e) {
      c.refused.add(n);
      throw asConsumerError(e);
    }
  }

  async start(host: Host): Promise<void> {
    this.host = host;
    const signals = Object.keys(this.consumers).join(', ');
    if (this.cfg.grpc !== undefined) {
      await this.startGrpc(this.cfg.grpc);
      host.log('info', `receiver ${this.id}: OTLP/gRPC on ${splitEndpoint(this.cfg.grpc.endpoint).host}:${this.grpcPort} (${signals})`);
    }
    if (this.cfg.http !== undefined) {
      await this.startHttp(this.cfg.http);
      host.log('info', `receiver ${this.id}: OTLP/HTTP on ${splitEndpoint(this.cfg.http.endpoint).host}:${this.httpPort} (${signals})`);
    }
  }

  private async startGrpc(g: NonNullable<OtlpReceiverConfig['grpc']>): Promise<void> {
    const server = new grpc.Server({ 'grpc.max_receive_message_length': Math.floor(g.maxRecvMsgSizeMiB * (1 << 20)) });
    for (const signal of Object.keys(this.consumers) as Signal[]) {
      const def = {
        Export: { path: SERVICES[signal], requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
      };
      const empty = encodeProto(RESPONSES[signal], {});
      server.addService(def, {
        Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
          let data: SignalData[typeof signal];
          try {
            data = decodeRequest(signal, call.request, 'proto');
          } catch (e) {
            cb({ code: grpc.status.INVALID_ARGUMENT, details: `cannot decode the ${signal} request: ${(e as Error).message}` });
            return;
          }
          this.push(signal, data, 'grpc').then(
            () => cb(null, empty),
            (e: ConsumerError) => {
              if (!e.retryable) {
                cb({ code: grpc.status.INVALID_ARGUMENT, details: e.message });
                return;
              }
              const code = e.exhausted ? grpc.status.RESOURCE_EXHAUSTED : grpc.status.UNAVAILABLE;
              const md = new grpc.Metadata();
              md.set('grpc-status-details-bin', retryInfoDetails(code, e.message, e.retryAfterMs ?? 1000));
              cb({ code, details: e.message, metadata: md });
            },
          );
        },
      });
    }
    const creds =
      g.tls === undefined
        ? grpc.ServerCredentials.createInsecure()
        : grpc.ServerCredentials.createSsl(
            g.tls.clientCaFile !== undefined ? readFileSync(g.tls.clientCaFile) : null,
            [{ cert_chain: readFileSync(g.tls.certFile), private_key: readFileSync(g.tls.keyFile) }],
            g.tls.clientCaFile !== undefined,
          );
    const { host, port } = splitEndpoint(g.endpoint);
    const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.grpcPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(target, creds, (err, p) => (err ? reject(new Error(`receivers::${this.id}::protocols::grpc::endpoint: cannot listen on ${g.endpoint}: ${err.message}`)) : resolve(p))),
    );
    this.grpcServer = server;
  }

  private async startHttp(h: NonNullable<OtlpReceiverConfig['http']>): Promise<void> {
    const routes = new Map<string, Signal>();
    if (this.consumers.traces) routes.set(h.tracesUrlPath, 'traces');
    if (this.consumers.metrics) routes.set(h.metricsUrlPath, 'metrics');
    if (this.consumers.logs) routes.set(h.logsUrlPath, 'logs');
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handleHttp(req, res, routes, h.maxRequestBodySize).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    };
    const server =
      h.tls === undefined
        ? createHttpServer(handler)
        : createHttpsServer(
            { cert: readFileSync(h.tls.certFile), key: readFileSync(h.tls.keyFile), ca: h.tls.clientCaFile !== undefined ? readFileSync(h.tls.clientCaFile) : undefined, requestCert: h.tls.clientCaFile !== undefined },
            handler,
          );
    this.httpPort = await listenOn(server, h.endpoint, `receivers::${this.id}::protocols::http::endpoint`);
    this.httpServer = server;
  }

  private async handleHttp(req: IncomingMessage, res: ServerResponse, routes: Map<string, Signal>, max: number): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const signal = routes.get(path);
    const ctype = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const encoding: Encoding = ctype === 'application/json' ? 'json' : 'proto';
    const fail = (status: number, grpcCode: number, message: string, retryAfterS?: number) => {
      req.resume();
      const body = encoding === 'json' ? Buffer.from(JSON.stringify({ code: grpcCode, message })) : encodeProto(RpcStatus, { code: grpcCode, message });
      const headers: Record<string, string | number> = { 'content-type': encoding === 'json' ? 'application/json' : 'application/x-protobuf', 'content-length': body.length };
      if (retryAfterS !== undefined) headers['retry-after'] = retryAfterS;
      res.writeHead(status, headers).end(body);
    };
    if (signal === undefined) return fail(404, grpc.status.UNIMPLEMENTED, `${path} is not an OTLP path of this receiver`);
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return fail(405, grpc.status.UNIMPLEMENTED, `${req.method} is not allowed: OTLP/HTTP uses POST`);
    }
    if (ctype !== 'application/json' && ctype !== 'application/x-protobuf') {
      return fail(415, grpc.status.INVALID_ARGUMENT, `unsupported content type "${ctype}": use application/x-protobuf or application/json`);
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) return fail(413, grpc.status.INVALID_ARGUMENT, `the body (${declared} bytes) is larger than max_request_body_size (${max} bytes)`);
    const enc = String(req.headers['content-encoding'] ?? '').toLowerCase();
    let stream: NodeJS.ReadableStream = req;
    if (enc === 'gzip') stream = req.pipe(createGunzip());
    else if (enc === 'deflate') stream = req.pipe(createInflate());
    else if (enc !== '' && enc !== 'identity') return fail(415, grpc.status.INVALID_ARGUMENT, `unsupported content encoding "${enc}": use gzip, deflate or none`);
    let body: Buffer;
    try {
      body = await readLimited(stream, max);
    } catch (e) {
      if ((e as Error).message === 'too large') return fail(413, grpc.status.INVALID_ARGUMENT, `the body is larger than max_request_body_size (${max} bytes)`);
      return fail(400, grpc.status.INVALID_ARGUMENT, `cannot read the body: ${(e as Error).message}`);
    }
    let data: SignalData[Signal];
    try {
      data = decodeRequest(signal, body, encoding);
    } catch (e) {
      return fail(400, grpc.status.INVALID_ARGUMENT, `cannot decode the ${signal} request: ${e instanceof ProtoError ? e.message : String(e)}`);
    }
    try {
      await this.push(signal, data as never, 'http');
    } catch (e) {
      const err = asConsumerError(e);
      if (!err.retryable) return fail(400, grpc.status.INVALID_ARGUMENT, err.message);
      const after = Math.max(1, Math.ceil((err.retryAfterMs ?? 1000) / 1000));
      return err.exhausted ? fail(429, grpc.status.RESOURCE_EXHAUSTED, err.message, after) : fail(503, grpc.status.UNAVAILABLE, err.message, after);
    }
    const ok = encoding === 'json' ? Buffer.from('{}') : encodeProto(RESPONSES[signal], {});
    res.writeHead(200, { 'content-type': encoding === 'json' ? 'application/json' : 'application/x-protobuf', 'content-length': ok.length }).end(ok);
  }

  async shutdown(): Promise<void> {
    const g = this.grpcServer;
    this.grpcServer = null;
    if (g !== null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          g.forceShutdown();
          resolve();
        }, 5000);
        g.tryShutdown(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const h = this.httpServer;
    this.httpServer = null;
    if (h !== null) {
      h.closeIdleConnections();
      await new Promise((r) => h.close(r));
    }
  }
}

function readLimited(stream: NodeJS.ReadableStream, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let done = false;
    stream.on('data', (c: Buffer) => {
      if (done) return;
      n += c.length;
      if (n > max) {
        done = true;
        reject(new Error('too large'));
        return;
      }
      chunks.push(c);
    });
    stream.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks, n));
    });
    stream.on('error', (e) => {
      if (!done) {
        done = true;
        reject(e);
      }
    });
  });
}

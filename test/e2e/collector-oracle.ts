/**
 * Test helpers for the collector tests: an OTLP backend built from the official opentelemetry-proto
 * definitions (the protobufjs code generated from them that @opentelemetry/otlp-transformer 0.57
 * shipped, installed as `otlp-proto-oracle`), independent of spanwire's own codec; and the SDK's own
 * serializers (@opentelemetry/otlp-transformer 0.223) to compute what an application sent.
 */
import * as grpc from '@grpc/grpc-js';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { createServer as createNetServer } from 'node:net';
import { gunzipSync } from 'node:zlib';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const proto: any = require('otlp-proto-oracle/build/src/generated/root.js').opentelemetry.proto;

export const MESSAGES = {
  traces: proto.collector.trace.v1.ExportTraceServiceRequest,
  metrics: proto.collector.metrics.v1.ExportMetricsServiceRequest,
  logs: proto.collector.logs.v1.ExportLogsServiceRequest,
} as const;
const RESPONSES = {
  traces: proto.collector.trace.v1.ExportTraceServiceResponse,
  metrics: proto.collector.metrics.v1.ExportMetricsServiceResponse,
  logs: proto.collector.logs.v1.ExportLogsServiceResponse,
} as const;
type Signal = keyof typeof MESSAGES;
const PATHS: Record<Signal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};

/** Protobuf bytes -> a plain object (64-bit values as strings, bytes as hex, enums as numbers). */
export function oracleDecode(signal: Signal, buf: Uint8Array): Record<string, unknown> {
  const m = MESSAGES[signal];
  return hexIds(m.toObject(m.decode(buf), { longs: String, enums: Number, bytes: String, defaults: true }));
}

/** base64 id fields (traceId, spanId, parentSpanId) -> hex, recursively. */
function hexIds(o: unknown): Record<string, unknown> {
  if (Array.isArray(o)) return o.map(hexIds) as unknown as Record<string, unknown>;
  if (o === null || typeof o !== 'object') return o as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = /^(traceId|spanId|parentSpanId)$/.test(k) && typeof v === 'string' ? Buffer.from(v, 'base64').toString('hex') : hexIds(v);
  return out;
}

export interface Received {
  signal: Signal;
  transport: 'grpc' | 'http';
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

/** An OTLP backend (gRPC and HTTP) that records what it receives, and can be made to refuse. */
export class OracleBackend {
  readonly received: Received[] = [];
  /** While set, every export is refused with this gRPC code / HTTP status. */
  refuse: { grpc: number; http: number; retryAfterS?: number } | null = null;
  private grpcServer: grpc.Server | null = null;
  private httpServer: Server | null = null;
  grpcPort = 0;
  httpPort = 0;

  async start(grpcPort = 0, httpPort = 0): Promise<this> {
    const server = new grpc.Server();
    for (const signal of Object.keys(PATHS) as Signal[]) {
      const id = (b: Buffer) => b;
      server.addService(
        { Export: { path: PATHS[signal], requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } },
        {
          Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
            if (this.refuse !== null) return cb({ code: this.refuse.grpc, details: 'refused by the test backend' });
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(call.metadata.getMap())) headers[k] = String(v);
            this.received.push({ signal, transport: 'grpc', body: oracleDecode(signal, call.request), headers });
            cb(null, Buffer.from(RESPONSES[signal].encode({}).finish()));
          },
        },
      );
    }
    this.grpcPort = await new Promise<number>((res, rej) => server.bindAsync(`127.0.0.1:${grpcPort}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    this.grpcServer = server;
    this.httpServer = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.refuse !== null) {
          const h: Record<string, string> = {};
          if (this.refuse.retryAfterS !== undefined) h['retry-after'] = String(this.refuse.retryAfterS);
          res.writeHead(this.refuse.http, h).end();
          return;
        }
        const signal = (Object.keys(PATHS) as Signal[]).find((s) => req.url === `/v1/${s}`);
        if (signal === undefined) return void res.writeHead(404).end();
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const decoded =
          req.headers['content-type'] === 'application/json'
            ? oracleDecode(signal, MESSAGES[signal].encode(MESSAGES[signal].fromObject(jsonToProtobufjs(JSON.parse(body.toString())))).finish())
            : oracleDecode(signal, body);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) headers[k] = String(v);
        this.received.push({ signal, transport: 'http', body: decoded, headers });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((r) => this.httpServer!.listen(httpPort, '127.0.0.1', () => r()));
    const a = this.httpServer.address();
    this.httpPort = typeof a === 'object' && a !== null ? a.port : 0;
    return this;
  }

  items(signal: Signal): Record<string, unknown>[] {
    return this.received.filter((r) => r.signal === signal).map((r) => r.body);
  }

  async stop(): Promise<void> {
    const g = this.grpcServer;
    this.grpcServer = null;
    if (g !== null) g.forceShutdown();
    const h = this.httpServer;
    this.httpServer = null;
    if (h !== null) {
      h.closeAllConnections();
      await new Promise((r) => h.close(r));
    }
  }
}

/** OTLP/JSON (hex ids) -> the object protobufjs' fromObject takes (base64 ids). */
function jsonToProtobufjs(o: unknown): unknown {
  if (Array.isArray(o)) return o.map(jsonToProtobufjs);
  if (o === null || typeof o !== 'object') return o;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = /^(traceId|spanId|parentSpanId)$/.test(k) && typeof v === 'string' ? Buffer.from(v, 'hex').toString('base64') : jsonToProtobufjs(v);
  return out;
}

/** Every span in decoded ExportTraceServiceRequests, with its resource and scope, sorted by spanId. */
export function flattenSpans(requests: Record<string, unknown>[]): { resource: unknown; resourceSchemaUrl: unknown; scope: unknown; scopeSchemaUrl: unknown; span: Record<string, unknown> }[] {
  const out: { resource: unknown; resourceSchemaUrl: unknown; scope: unknown; scopeSchemaUrl: unknown; span: Record<string, unknown> }[] = [];
  for (const req of requests)
    for (const rs of (req.resourceSpans as Record<string, unknown>[]) ?? [])
      for (const ss of (rs.scopeSpans as Record<string, unknown>[]) ?? [])
        for (const span of (ss.spans as Record<string, unknown>[]) ?? []) out.push({ resource: rs.resource, resourceSchemaUrl: rs.schemaUrl, scope: ss.scope, scopeSchemaUrl: ss.schemaUrl, span });
  return out.sort((a, b) => String(a.span.spanId).localeCompare(String(b.span.spanId)));
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return p;
}

export async function waitFor(cond: () => boolean, ms = 15_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

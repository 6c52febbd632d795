#!/usr/bin/env node
/**
 * OTLP/gRPC load generator: sends ExportTraceServiceRequests made by the OpenTelemetry JS SDK's own
 * serializer (@opentelemetry/otlp-transformer) as fast as `--concurrency` outstanding calls allow,
 * for `--duration` seconds. Spans look like an instrumented HTTP server's: 10 attributes, one
 * resource with 5 attributes, random ids; `--variants` distinct requests are made up front and sent
 * in turn, so the generator itself costs little CPU.
 *
 *   node benchmarks/collector/loadgen.mjs --port 4317 [--duration 20] [--concurrency 16] [--connections 4] [--spans 512]
 * Prints one JSON line: {"sentSpans", "sentRequests", "refusedRequests", "seconds"}.
 */
import * as grpc from '@grpc/grpc-js';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { randomBytes } from 'node:crypto';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const port = Number(args.port ?? 4317);
const duration = Number(args.duration ?? 20);
const concurrency = Number(args.concurrency ?? 16);
const spansPerRequest = Number(args.spans ?? 512);
const variants = Number(args.variants ?? 16);
const connections = Number(args.connections ?? 4);

const resource = resourceFromAttributes({ 'service.name': 'loadgen', 'service.version': '1.0.0', 'host.name': 'bench-host', 'process.pid': 4242, 'deployment.environment.name': 'bench' });
const scope = { name: '@opentelemetry/instrumentation-http', version: '0.57.0' };
const routes = ['/api/users/{id}', '/api/orders', '/api/cart/{id}/items', '/health', '/api/search'];

function span(i) {
  const traceId = randomBytes(16).toString('hex');
  const start = [1_795_000_000 + (i % 1000), (i * 7919) % 1e9];
  return {
    name: `GET ${routes[i % routes.length]}`,
    kind: 1,
    spanContext: () => ({ traceId, spanId: randomBytes(8).toString('hex'), traceFlags: 1 }),
    parentSpanContext: i % 3 === 0 ? undefined : { traceId, spanId: randomBytes(8).toString('hex'), traceFlags: 1, isRemote: true },
    startTime: start,
    endTime: [start[0], start[1] + 1_234_567 > 999_999_999 ? start[1] : start[1] + 1_234_567],
    status: { code: i % 50 === 0 ? 2 : 0 },
    attributes: {
      'http.request.method': 'GET',
      'http.route': routes[i % routes.length],
      'url.path': `/api/users/${i}`,
      'url.scheme': 'http',
      'http.response.status_code': i % 50 === 0 ? 500 : 200,
      'server.address': 'api.internal',
      'server.port': 8080,
      'client.address': `10.0.${i % 256}.${(i >> 8) % 256}`,
      'network.protocol.version': '1.1',
      'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) bench/1.0',
    },
    links: [],
    events: [],
    duration: [0, 1_234_567],
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

const bodies = [];
for (let v = 0; v < variants; v++) {
  const spans = [];
  for (let i = 0; i < spansPerRequest; i++) spans.push(span(v * spansPerRequest + i));
  bodies.push(Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)));
}

const id = (b) => b;
// Several connections, as several applications would open (each HTTP/2 connection has its own flow-control window).
const clients = Array.from({ length: connections }, () => new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1, 'grpc.use_local_subchannel_pool': 1 }));
const path = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
let sentRequests = 0;
let refusedRequests = 0;
let next = 0;
const t0 = process.hrtime.bigint();
const end = Date.now() + duration * 1000;

function one(client) {
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, id, id, bodies[next++ % bodies.length], new grpc.Metadata(), {}, (err) => {
      if (err) refusedRequests++;
      else sentRequests++;
      resolve(err);
    });
  });
}

async function lane(i) {
  const client = clients[i % clients.length];
  while (Date.now() < end) {
    const err = await one(client);
    if (err) await new Promise((r) => setTimeout(r, 50)); // refused: back off as an SDK would
  }
}

await Promise.all(Array.from({ length: concurrency }, (_, i) => lane(i)));
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
for (const c of clients) c.close();
process.stdout.write(JSON.stringify({ sentSpans: sentRequests * spansPerRequest, sentRequests, refusedRequests, seconds }) + '\n');

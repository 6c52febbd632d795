/**
 * HTTP/2 and gRPC parser tests. Frames and header blocks are written here from RFC 9113 section 4
 * and 6 and RFC 7541 section 6 (see test/helpers/h2-builder.ts); gRPC framing from
 * grpc/doc/PROTOCOL-HTTP2.md. Expected values follow from the bytes written.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { L7Message, SpanDescription } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE, PROBE_MATCH, PROBE_NEED_MORE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE, SESSION_FIFO } from '../../core/l7/types.js';
import { SPAN_KIND_CLIENT, SPAN_KIND_SERVER } from '../../core/trace/span.js';
import { http2Parser } from '../../parsers/http2/index.js';
import type { H2cUpgrade } from '../../parsers/http2/index.js';
import { parseGrpcTimeoutMs } from '../../parsers/http2/grpc.js';
import { FakeContext } from '../helpers/fake-parser-context.js';
import {
  ACK,
  CONTINUATION,
  concatBytes,
  DATA,
  END_HEADERS,
  END_STREAM,
  frame,
  GOAWAY,
  grpcMessages,
  HEADERS,
  indexed,
  literal,
  literalIndexed,
  PADDED,
  PING,
  PREFACE,
  PRIORITY,
  PRIORITY_FLAG,
  PUSH_PROMISE,
  requestBlock,
  responseBlock,
  RST_STREAM,
  settings,
  SETTINGS,
  sizeUpdate,
  u32,
  WINDOW_UPDATE,
} from '../helpers/h2-builder.js';

const CLIENT = true;
const SERVER = false;

function session(handoff: unknown = null): FakeContext {
  return new FakeContext(http2Parser, {}, new Set(), handoff);
}

function describe2(req: L7Message | null, resp: L7Message | null, kind = SPAN_KIND_CLIENT): SpanDescription {
  const out: SpanDescription = { name: '', error: false, errorType: '', message: '', kind: 0 };
  http2Parser.describeSpan(req, resp, kind, out);
  return out;
}

const reqs = (c: FakeContext) => c.messages.filter((m) => m.type === MSG_REQUEST);
const resps = (c: FakeContext) => c.messages.filter((m) => m.type === MSG_RESPONSE);

/** A connection: preface, SETTINGS both ways, GET /a (stream 1) answered 200 with a 5-byte body. */
function simpleConversation(): { client: Uint8Array; server: Uint8Array } {
  const client = concatBytes(
    PREFACE,
    settings([[4, 65535]]),
    frame(HEADERS, END_HEADERS | END_STREAM, 1, requestBlock('GET', '/a?x=1', 'example.test:8080', [['user-agent', 'curl/8.0']])),
    frame(SETTINGS, ACK, 0),
  );
  const server = concatBytes(
    settings([[3, 100]]),
    frame(SETTINGS, ACK, 0),
    frame(HEADERS, END_HEADERS, 1, responseBlock(200, [['content-type', 'text/plain']])),
    frame(DATA, END_STREAM, 1, Array.from(Buffer.from('hello'))),
  );
  return { client, server };
}

describe('http2 probe', () => {
  const hint = { transport: 'tcp' as const, port: 8080, toServer: null };
  const probe = (b: Uint8Array | string) => {
    const bytes = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
    return http2Parser.probe(bytes, 0, bytes.length, hint);
  };

  it('recognises the client preface (whole, or a prefix: need more)', () => {
    expect(probe(PREFACE)).toBe(PROBE_REQUEST);
    expect(probe(concatBytes(PREFACE, settings()))).toBe(PROBE_REQUEST);
    expect(probe('PRI * HTTP/2')).toBe(PROBE_NEED_MORE);
  });

  it('recognises frames mid-connection and tells the direction from the first header field', () => {
    expect(probe(frame(HEADERS, END_HEADERS, 5, requestBlock('GET', '/')))).toBe(PROBE_REQUEST);
    expect(probe(frame(HEADERS, END_HEADERS, 5, responseBlock(200)))).toBe(PROBE_RESPONSE);
    // A dynamic-table reference does not tell the direction.
    expect(probe(frame(HEADERS, END_HEADERS, 5, [...indexed(62)]))).toBe(PROBE_MATCH);
    expect(probe(concatBytes(frame(WINDOW_UPDATE, 0, 0, u32(1000)), frame(PING, 0, 0, u32(0).concat(u32(1)))))).toBe(PROBE_MATCH);
    expect(probe(frame(PUSH_PROMISE, END_HEADERS, 1, [...u32(2), ...requestBlock('GET', '/p')]))).toBe(PROBE_RESPONSE);
  });

  it('asks for more when a frame is cut, refuses other protocols', () => {
    const h = frame(HEADERS, END_HEADERS, 1, requestBlock('GET', '/'));
    expect(probe(h.subarray(0, 5))).toBe(PROBE_NEED_MORE);
    expect(probe(h.subarray(0, 12))).toBe(PROBE_NEED_MORE);
    expect(probe('GET / HTTP/1.1\r\nHost: a\r\n\r\n')).toBe(PROBE_NO);
    expect(probe('HTTP/1.1 200 OK\r\n\r\n')).toBe(PROBE_NO);
    expect(probe(Uint8Array.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]))).toBe(PROBE_NO); // TLS ClientHello
    expect(probe(Uint8Array.from([0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f]))).toBe(PROBE_NEED_MORE); // could still be a frame header
    expect(probe(Uint8Array.from([0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f, 0, 0, 0]))).toBe(PROBE_NO); // PostgreSQL SSLRequest + bytes
    // A lone WINDOW_UPDATE is not enough evidence.
    expect(probe(frame(WINDOW_UPDATE, 0, 0, u32(1000)))).toBe(PROBE_NO);
    // SETTINGS with unknown identifiers.
    expect(probe(frame(4, 0, 0, [0x12, 0x34, 0, 0, 0, 1]))).toBe(PROBE_NO);
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const r = http2Parser.probe(b, 0, b.length, hint);
        return r >= 0 && r <= 4;
      }),
      { numRuns: 2000 },
    );
  });
});

describe('http2 session: streams, requests and responses', () => {
  it('a GET and its response: attributes from the pseudo-headers, body sizes, stream id', () => {
    const c = session();
    const { client, server } = simpleConversation();
    expect(c.feed(CLIENT, client, 10)).toBe(client.length);
    expect(c.feed(SERVER, server, 20)).toBe(server.length);
    expect(c.messages.length).toBe(2);
    const [q, r] = c.messages;
    expect(q.type).toBe(MSG_REQUEST);
    expect(q.sessionId).toBe(1);
    expect(q.attrs).toEqual({
      'http.request.method': 'GET',
      'url.path': '/a',
      'url.query': 'x=1',
      'url.scheme': 'http',
      'server.address': 'example.test',
      'user_agent.original': 'curl/8.0',
      'network.protocol.name': 'http',
      'network.protocol.version': '2',
      'spanwire.http2.stream_id': 1,
      'http.request.body.size': 0,
    });
    expect(r.type).toBe(MSG_RESPONSE);
    expect(r.sessionId).toBe(1);
    expect(r.attrs).toEqual({
      'http.response.status_code': 200,
      'network.protocol.name': 'http',
      'network.protocol.version': '2',
      'http.response.body.size': 5,
    });
    expect(q.startTs).toBe(10);
    expect(r.startTs).toBe(20);
    expect(r.endTs).toBe(20);
    // Wire sizes: the frames of the stream (9-byte headers included).
    const respFrames = frame(HEADERS, END_HEADERS, 1, responseBlock(200, [['content-type', 'text/plain']])).length + 9 + 5;
    expect(r.size).toBe(respFrames);
    expect(describe2(q, r)).toEqual({ name: 'GET', error: false, errorType: '', message: '', kind: 0 });
  });

  it('gives the same messages whatever the TCP segmentation (every split point)', () => {
    const { client, server } = simpleConversation();
    const whole = session();
    whole.feed(CLIENT, client);
    whole.feed(SERVER, server);
    const expected = whole.messages.map((m) => ({ t: m.type, id: m.sessionId, a: m.attrs, size: m.size }));
    for (let cut = 1; cut < client.length; cut++) {
      const c = session();
      c.feed(CLIENT, client.subarray(0, cut));
      c.feed(CLIENT, client.subarray(cut));
      c.feed(SERVER, server);
      expect(c.messages.map((m) => ({ t: m.type, id: m.sessionId, a: m.attrs, size: m.size })), `client cut ${cut}`).toEqual(expected);
    }
    for (let cut = 1; cut < server.length; cut++) {
      const c = session();
      c.feed(CLIENT, client);
      c.feed(SERVER, server.subarray(0, cut));
      c.feed(SERVER, server.subarray(cut));
      expect(c.messages.map((m) => ({ t: m.type, id: m.sessionId, a: m.attrs, size: m.size })), `server cut ${cut}`).toEqual(expected);
    }
  });

  it('pairs concurrent streams by id, responses in any order, frames interleaved', () => {
    const c = session();
    c.feed(
      CLIENT,
      concatBytes(
        PREFACE,
        settings(),
        frame(HEADERS, END_HEADERS, 1, requestBlock('POST', '/upload')),
        frame(HEADERS, END_HEADERS | END_STREAM, 3, requestBlock('GET', '/b')),
        frame(DATA, 0, 1, new Array(100).fill(1)),
        frame(HEADERS, END_HEADERS | END_STREAM, 5, requestBlock('DELETE', '/c')),
        frame(DATA, END_STREAM, 1, new Array(50).fill(1)),
      ),
    );
    c.feed(
      SERVER,
      concatBytes(
        settings(),
        frame(HEADERS, END_HEADERS, 5, responseBlock(204)),
        frame(HEADERS, END_HEADERS, 3, responseBlock(404)),
        frame(DATA, 0, 3, new Array(7).fill(2)),
        frame(HEADERS, END_HEADERS | END_STREAM, 5, []),
        frame(HEADERS, END_HEADERS | END_STREAM, 1, responseBlock(500)),
        frame(DATA, END_STREAM, 3, new Array(3).fill(2)),
      ),
    );
    expect(reqs(c).map((m) => [m.sessionId, m.attrs['http.request.method'], m.attrs['url.path']])).toEqual([
      [1, 'POST', '/upload'],
      [3, 'GET', '/b'],
      [5, 'DELETE', '/c'],
    ]);
    expect(resps(c).map((m) => [m.sessionId, m.attrs['http.response.status_code'], m.attrs['http.response.body.size']])).toEqual([
      [5, 204, 0],
      [1, 500, 0],
      [3, 404, 10],
    ]);
    expect(reqs(c)[0].attrs['http.request.body.size']).toBe(150);
    const [q1] = reqs(c);
    const r1 = resps(c)[1];
    expect(describe2(q1, r1, SPAN_KIND_SERVER)).toMatchObject({ name: 'POST', error: true, errorType: '500' });
    expect(describe2(reqs(c)[1], resps(c)[2], SPAN_KIND_SERVER).error).toBe(false); // 404 on a SERVER span
    expect(describe2(reqs(c)[1], resps(c)[2], SPAN_KIND_CLIENT)).toMatchObject({ error: true, errorType: '404' });
  });

  it('skips padding (DATA, HEADERS) and priority fields; counts padding as wire, not body', () => {
    const c = session();
    const padded = (payload: number[], pad: number) => [pad, ...payload, ...new Array(pad).fill(0)];
    const reqBlock = requestBlock('GET', '/p');
    c.feed(CLIENT, concatBytes(PREFACE, frame(HEADERS, END_HEADERS | END_STREAM | PADDED | PRIORITY_FLAG, 1, [4, ...u32(0), 15, ...reqBlock, 0, 0, 0, 0])));
    c.feed(SERVER, concatBytes(frame(HEADERS, END_HEADERS | PADDED, 1, padded(responseBlock(200), 3)), frame(DATA, PADDED, 1, padded(new Array(10).fill(7), 20)), frame(DATA, END_STREAM | PADDED, 1, padded([], 0))));
    expect(reqs(c)[0].attrs['url.path']).toBe('/p');
    expect(resps(c)[0].attrs['http.response.body.size']).toBe(10);
  });

  it('assembles HEADERS + CONTINUATION into one block', () => {
    const c = session();
    const block = requestBlock('GET', '/continued', 'h.test', [['user-agent', 'x'.repeat(40)]]);
    c.feed(CLIENT, concatBytes(PREFACE, frame(HEADERS, END_STREAM, 1, block.slice(0, 7)), frame(CONTINUATION, 0, 1, block.slice(7, 20)), frame(CONTINUATION, END_HEADERS, 1, block.slice(20))));
    expect(reqs(c)[0].attrs).toMatchObject({ 'url.path': '/continued', 'server.address': 'h.test', 'user_agent.original': 'x'.repeat(40) });
    // A CONTINUATION without its HEADERS is counted and ignored.
    c.feed(CLIENT, frame(CONTINUATION, END_HEADERS, 3, block));
    expect(c.anomalies).toContain('http2_unexpected_continuation');
    expect(reqs(c).length).toBe(1);
  });

  it('ignores 1xx interim responses; the final status counts', () => {
    const c = session();
    c.feed(CLIENT, concatBytes(PREFACE, frame(HEADERS, END_HEADERS, 1, requestBlock('POST', '/big', 'a', [['expect', '100-continue']]))));
    c.feed(SERVER, frame(HEADERS, END_HEADERS, 1, responseBlock(100)));
    c.feed(CLIENT, frame(DATA, END_STREAM, 1, [1, 2, 3]));
    c.feed(SERVER, frame(HEADERS, END_HEADERS | END_STREAM, 1, responseBlock(201)));
    expect(resps(c).map((m) => m.attrs['http.response.status_code'])).toEqual([201]);
  });

  it('reports methods outside the known list as _OTHER, and names the span HTTP', () => {
    const c = session();
    c.feed(CLIENT, concatBytes(PREFACE, frame(HEADERS, END_HEADERS | END_STREAM, 1, requestBlock('PROPFIND', '/dav'))));
    expect(reqs(c)[0].attrs['http.request.method']).toBe('_OTHER');
    expect(reqs(c)[0].attrs['http.request.method_original']).toBe('PROPFIND');
    expect(describe2(reqs(c)[0], null).name).toBe('HTTP');
  });

  it('reads trace context from request headers (traceparent)', () => {
    const c = session();
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    c.feed(CLIENT, concatBytes(PREFACE, frame(HEADERS, END_HEADERS | END_STREAM, 1, requestBlock('GET', '/', 'a', [['traceparent', tp]]))));
    expect(reqs(c)[0].trace).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', parentSpanId: 'b7ad6b7169203331' });
  });
});

describe('http2 session: resets, GOAWAY, push', () => {
  it('RST_STREAM from the client before the response ends the stream with CANCEL', () => {
    const c = session();
    c.feed(CLIENT, concatBytes(PREFACE, frame(HEADERS, END_HEADERS | END_STREAM, 1, requestBlock('GET', '/slow'))));
    c.feed(CLIENT, frame(RST_STREAM, 0, 1, u32(8)), 50);
    const r = resps(c)[0];
    expect(r.sessionId).toBe(1);
    expect(r.endTs).toBe(50);
    expect(r.attrs['spanwire.http2.rst_stream.error_code']).toBe('CANCEL');
    expect(r.attrs['http.response.body.size']).toBeUndefined();
    expect(describe2(reqs(c)[0], r)).toMatchObject({ error: true, errorType: 'CANCEL' });
  });

  it('RST_STREAM during the response body keeps the status and marks the error code', () => {
    const c = session();
    c.feed(CLIENT, concatBytes(PREFACE, frame(HEADERS, END_HEADERS | END_STREAM, 1, requestBlock('GET', '/dl'))));
    c.feed(SERVER, concatBytes(frame(HEADERS, END_HEADERS, 1, responseBlock(200)), frame(DATA, 0, 1, [1, 2, 3]), frame(RST_STREAM, 0, 1, u32(2))));
    const r = resps(c)[0];
    expect(r.attrs['http.response.status_code']).toBe(200);
    expect(r.attrs['spanwire.http2.rst_stream.error_code']).toBe('INTERNAL_ERROR');
    expect(describe2(reqs(c)[0], r)).toMatchObject({ error: true, errorType: 'INTERNAL_ERROR' });
  });

  it('GOAWAY ends the streams above its last stream id; lower ones complete', () => {
    const c = session();
    c.feed(CLIENT, concatBytes(PREFACE, frame(HEADERS, END_HEADERS | END_STREAM, 1, requestBlock('GET', '/1')), frame(HEADERS, END_HEADERS | END_STREAM, 3, requestBlock('GET', '/3'))));
    c.feed(SERVER, frame(GOAWAY, 0, 0, [...u32(1), ...u32(0)]), 30);
    expect(resps(c).map((m) => [m.sessionId, m.attrs['spanwire.http2.goaway.error_code']])).toEqual([[3, 'NO_ERROR']]);
    // A graceful GOAWAY refuses the streams it did not process (RFC 9113 8.7).
    expect(describe2(reqs(c)[1], resps(c)[0])).toMatchObject({ error: true, errorType: 'REFUSED_STREAM' });
    c.feed(SERVER, frame(HEADERS, END_HEADERS | END_STREAM, 1, responseBlock(200)));
    expect(resps(c).map((m) => [m.sessionId, m.attrs['http.response.status_code']])).toEqual([
      [3, undefined],
      [1, 200],
    ]);
  });

  it('GOAWAY with an error code marks the streams the connection close cuts', () => {
    const c = session();
    c.feed(CLIENT, concatBytes(PREFACE, frame(HEADERS, END_HEADERS | END_STREAM, 1, requestBlock('GET', '/1'))));
    c.feed(SERVER, concatBytes(frame(HEADERS, END_HEADERS, 1, responseBlock(200)), frame(DATA, 0, 1, [1]), frame(GOAWAY, 0, 0, [...u32(1), ...u32(11)])));
    c.end(SERVER, 99);
    const r = resps(c)[0];
    expect(r.attrs['spanwire.http2.goaway.error_code']).toBe('ENHANCE_YOUR_CALM');
    expect(r.endTs).toBe(99);
    expect(describe2(reqs(c)[0], r)).toMatchObject({ error: true, errorType: 'ENHANCE_YOUR_CALM' });
  });

  it('PUSH_PROMISE opens a pushed stream whose request comes from the server', () => {
    const c = session();
    c.feed(CLIENT, concatBytes(PREFACE, frame(HEADERS, END_HEADERS | END_STREAM, 1, requestBlock('GET', '/index.html'))));
    c.feed(
      SERVER,
      concatBytes(
        frame(PUSH_PROMISE, END_HEADERS, 1, [...u32(2), ...requestBlock('GET', '/style.css')]),
        frame(HEADERS, END_HEADERS | END_STREAM, 1, responseBlock(200)),
        frame(HEADERS, END_HEADERS, 2, responseBlock(200)),
        frame(DATA, END_STREAM, 2, new Array(12).fill(0)),
      ),
    );
    expect(reqs(c).map((m) => [m.sessionId, m.attrs['url.path']])).toEqual([
      [1, '/index.html'],
      [2, '/style.css'],
    ]);
    expect(resps(c).map((m) => [m.sessionId, m.attrs['http.response.body.size']])).toEqual([
      [1, 0],
      [2, 12],
    ]);
  });

  it('emits a cut response when the server side ends inside it', () => {
    const c = session();
    c.feed(CLIENT, concatBytes(PREFACE, frame(HEADERS, END_HEADERS | END_STREAM, 1, requestBlock('GET', '/'))));
    c.feed(SERVER, concatBytes(frame(HEADERS, END_HEADERS, 1, responseBlock(200)), frame(DATA, 0, 1, [1, 2])));
    c.end(SERVER, 7);
    const r = resps(c)[0];
    expect(r.attrs['http.response.status_code']).toBe(200);
    expect(r.attrs['http.response.body.size']).toBeUndefined();
    expect((r.info as { incomplete: boolean }).incomplete).toBe(true);
  });
});

describe('gRPC over HTTP/2', () => {
  const grpcReq = (path: string, extra: [string, string][] = []) =>
    requestBlock('POST', path, 'svc:50051', [['content-type', 'application/grpc'], ['te', 'trailers'], ...extra]);

  it('unary NOT_FOUND: rpc.method, status from trailers, message counts, percent-decoded message, timeout', () => {
    const c = session();
    const body = grpcMessages(10);
    c.feed(CLIENT, concatBytes(PREFACE, frame(HEADERS, END_HEADERS, 1, grpcReq('/shop.Cart/GetCart', [['grpc-timeout', '250m']])), frame(DATA, END_STREAM, 1, body)));
    c.feed(SERVER, concatBytes(frame(HEADERS, END_HEADERS, 1, responseBlock(200, [['content-type', 'application/grpc']])), frame(HEADERS, END_HEADERS | END_STREAM, 1, [...literal('grpc-status', '5'), ...literal('grpc-message', 'no%20such%20item')])));
    const [q] = reqs(c);
    const [r] = resps(c);
    expect(q.attrs).toMatchObject({ 'rpc.system.name': 'grpc', 'rpc.method': 'shop.Cart/GetCart', 'spanwire.grpc.timeout_ms': 250, 'spanwire.grpc.request.messages': 1, 'http.request.body.size': 15 });
    expect(r.attrs).toMatchObject({ 'rpc.response.status_code': 'NOT_FOUND', 'spanwire.grpc.response.messages': 0, 'http.response.status_code': 200 });
    expect(describe2(q, r, SPAN_KIND_CLIENT)).toEqual({ name: 'shop.Cart/GetCart', error: true, errorType: 'NOT_FOUND', message: 'no such item', kind: 0 });
    // NOT_FOUND is not a server-side error (SEMCONV.md).
    expect(describe2(q, r, SPAN_KIND_SERVER).error).toBe(false);
  });

  it('server streaming: counts messages split across DATA frames and TCP segments', () => {
    const c = session();
    c.feed(CLIENT, concatBytes(PREFACE, frame(HEADERS, END_HEADERS, 1, grpcReq('/feed.Feed/Watch')), frame(DATA, END_STREAM, 1, grpcMessages(3))));
    const stream = grpcMessages(100, 0, 7, 2000, 1);
    const frames = concatBytes(
      frame(HEADERS, END_HEADERS, 1, responseBlock(200, [['content-type', 'application/grpc+proto']])),
      frame(DATA, 0, 1, stream.slice(0, 3)),
      frame(DATA, 0, 1, stream.slice(3, 1000)),
      frame(DATA, 0, 1, stream.slice(1000)),
      frame(HEADERS, END_HEADERS | END_STREAM, 1, literal('grpc-status', '0')),
    );
    for (let i = 0; i < frames.length; i += 97) c.feed(SERVER, frames.subarray(i, i + 97));
    const [r] = resps(c);
    expect(r.attrs['spanwire.grpc.response.messages']).toBe(5);
    expect(r.attrs['rpc.response.status_code']).toBe('OK');
    expect(r.attrs['http.response.body.size']).toBe(stream.length);
    expect(describe2(reqs(c)[0], r).error).toBe(false);
  });

  it('trailers-only response (status in the only HEADERS frame)', () => {
    const c = session();
    c.feed(CLIENT, concatBytes(PREFACE, frame(HEADERS, END_HEADERS, 1, grpcReq('/a.B/C')), frame(DATA, END_STREAM, 1, grpcMessages(1, 2))));
    c.feed(SERVER, frame(HEADERS, END_HEADERS | END_STREAM, 1, responseBlock(200, [['content-type', 'application/grpc'], ['grpc-status', '12']])));
    const [r] = resps(c);
    expect(r.attrs['rpc.response.status_code']).toBe('UNIMPLEMENTED');
    expect(reqs(c)[0].attrs['spanwire.grpc.request.messages']).toBe(2);
    expect(describe2(reqs(c)[0], r, SPAN_KIND_SERVER)).toMatchObject({ error: true, errorType: 'UNIMPLEMENTED' });
  });

  it('a gRPC response without grpc-status is UNKNOWN', () => {
    const c = session();
    c.feed(CLIENT, concatBytes(PREFACE, frame(HEADERS, END_HEADERS | END_STREAM, 1, grpcReq('/a.B/C'))));
    c.feed(SERVER, concatBytes(frame(HEADERS, END_HEADERS, 1, responseBlock(200, [['content-type', 'application/grpc']])), frame(DATA, END_STREAM, 1, grpcMessages(1))));
    expect(describe2(reqs(c)[0], resps(c)[0])).toMatchObject({ error: true, errorType: 'UNKNOWN' });
  });

  it('grpc-timeout units (PROTOCOL-HTTP2.md)', () => {
    expect(parseGrpcTimeoutMs('1H')).toBe(3_600_000);
    expect(parseGrpcTimeoutMs('2M')).toBe(120_000);
    expect(parseGrpcTimeoutMs('3S')).toBe(3000);
    expect(parseGrpcTimeoutMs('4m')).toBe(4);
    expect(parseGrpcTimeoutMs('5000u')).toBe(5);
    expect(parseGrpcTimeoutMs('6000000n')).toBeCloseTo(6, 9);
    expect(parseGrpcTimeoutMs('123456789S')).toBe(-1); // more than 8 digits
    expect(parseGrpcTimeoutMs('10x')).toBe(-1);
    expect(parseGrpcTimeoutMs('m')).toBe(-1);
  });
});

describe('http2 session: mid-connection captures and lost bytes', () => {
  it('decodes static and literal fields, marks fields it cannot decode, never invents them', () => {
    const c = session();
    // No preface: the capture starts mid-connection. Index 62 refers to a dynamic entry from before.
    c.feed(CLIENT, frame(HEADERS, END_HEADERS | END_STREAM, 7, [...indexed(3), ...indexed(62), ...literal('x-a', 'b')]));
    c.feed(SERVER, frame(HEADERS, END_HEADERS | END_STREAM, 7, [...indexed(8), ...indexed(63)]));
    const [q] = reqs(c);
    const [r] = resps(c);
    expect(q.attrs['http.request.method']).toBe('POST');
    expect(q.attrs['url.path']).toBeUndefined();
    expect(q.attrs['spanwire.http2.hpack_incomplete']).toBe(true);
    expect(r.attrs['http.response.status_code']).toBe(200);
    expect(r.attrs['spanwire.http2.hpack_incomplete']).toBe(true);
  });

  it('recovers once the table is rebuilt: a size update to 0 empties it', () => {
    const c = session();
    c.feed(CLIENT, frame(HEADERS, END_HEADERS | END_STREAM, 1, [...indexed(2), ...indexed(62)]));
    c.feed(CLIENT, frame(HEADERS, END_HEADERS | END_STREAM, 3, [...sizeUpdate(0), ...sizeUpdate(4096), ...indexed(2), ...literalIndexed(':path', '/x'), ...indexed(62)]));
    c.feed(CLIENT, frame(HEADERS, END_HEADERS | END_STREAM, 5, [...indexed(2), ...indexed(62)]));
    const r = reqs(c);
    expect(r.map((m) => m.attrs['spanwire.http2.hpack_incomplete'])).toEqual([true, undefined, undefined]);
    expect(r.map((m) => m.attrs['url.path'])).toEqual([undefined, '/x', '/x']);
  });

  it('a client HEADERS on a new stream without :method and nothing unknown is not a request (trailers)', () => {
    const c = session();
    c.feed(CLIENT, frame(HEADERS, END_HEADERS | END_STREAM, 9, literal('x-trailer', '1')));
    expect(c.messages.length).toBe(0);
  });

  it('a gap inside a DATA payload keeps frame sync; the body size is then unknown', () => {
    const c = session();
    const { client } = simpleConversation();
    c.feed(CLIENT, client);
    const hdr = frame(HEADERS, END_HEADERS, 1, responseBlock(200));
    const data = frame(DATA, END_STREAM, 1, new Array(1000).fill(3));
    c.feed(SERVER, concatBytes(hdr, data.subarray(0, 100)));
    c.gap(SERVER, 500);
    c.feed(SERVER, data.subarray(600));
    const [r] = resps(c);
    expect(r.attrs['http.response.status_code']).toBe(200);
    expect(r.attrs['http.response.body.size']).toBeUndefined();
    expect(c.anomalies).toEqual([]);
  });

  it('after a gap across frames, resynchronises on the next frames; the lost state is marked', () => {
    const c = session();
    c.feed(CLIENT, concatBytes(PREFACE, frame(HEADERS, END_HEADERS | END_STREAM, 1, [...indexed(2), ...literalIndexed(':path', '/one'), ...indexed(6)])));
    c.gap(CLIENT, 300);
    // Garbage (the tail of a lost frame), then two frames: HEADERS using the dynamic entry and a PING.
    c.feed(CLIENT, concatBytes([0xde, 0xad, 0xbe, 0xef, 0x01], frame(HEADERS, END_HEADERS | END_STREAM, 9, [...indexed(2), ...indexed(62)]), frame(PING, 0, 0, new Array(8).fill(0))));
    const r = reqs(c);
    expect(r.map((m) => [m.sessionId, m.attrs['url.path'], m.attrs['spanwire.http2.hpack_incomplete']])).toEqual([
      [1, '/one', undefined],
      // The entry may have been replaced by a lost block: not reported.
      [9, undefined, true],
    ]);
  });

  it('never throws on hostile input, whole or in pieces', () => {
    const { client, server } = simpleConversation();
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400 }),
        fc.array(fc.tuple(fc.nat(400), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(50),
        (junk, edits, cut) => {
          const c = session();
          const cl = Uint8Array.from(client);
          for (const [i, v] of edits) if (i < cl.length) cl[i] = v;
          c.feed(CLIENT, cl.subarray(0, Math.min(cut, cl.length)));
          c.feed(CLIENT, cl.subarray(Math.min(cut, cl.length)));
          c.feed(SERVER, junk);
          c.feed(SERVER, server);
          c.gap(CLIENT, 10);
          c.feed(CLIENT, junk);
          c.end(SERVER);
          c.end(CLIENT);
          return true;
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('h2c upgrade hand-over', () => {
  it('the upgraded request (stream 1) pairs in order with its HTTP/2 response', () => {
    const req: L7Message = {
      type: MSG_REQUEST,
      sessionId: SESSION_FIFO,
      startTs: 1,
      endTs: 1,
      size: 100,
      attrs: { 'http.request.method': 'GET', 'network.protocol.version': '1.1' },
      expectsResponse: true,
      trace: null,
      afterGap: false,
      info: { method: 'GET', statusCode: 0, incomplete: false },
    };
    const handoff: H2cUpgrade = { request: req, method: 'GET' };
    const c = session(handoff);
    c.feed(CLIENT, concatBytes(PREFACE, settings()));
    c.feed(SERVER, concatBytes(settings(), frame(HEADERS, END_HEADERS, 1, responseBlock(200)), frame(DATA, END_STREAM, 1, [1, 2, 3, 4])));
    const [r] = c.messages;
    expect(c.messages.length).toBe(1);
    expect(r.type).toBe(MSG_RESPONSE);
    expect(r.sessionId).toBe(SESSION_FIFO);
    expect(r.attrs['http.response.body.size']).toBe(4);
    expect(req.attrs['network.protocol.version']).toBe('2');
    expect(req.attrs['spanwire.http2.stream_id']).toBe(1);
    expect(describe2(req, r).name).toBe('GET');
  });
});

describe('http2 session: frames that change no stream', () => {
  it('PRIORITY, PING, WINDOW_UPDATE and unknown frame types are skipped', () => {
    const c = session();
    c.feed(
      CLIENT,
      concatBytes(
        PREFACE,
        frame(PRIORITY, 0, 1, [...u32(0), 16]),
        frame(PING, 0, 0, new Array(8).fill(1)),
        frame(WINDOW_UPDATE, 0, 0, u32(65535)),
        frame(0xfa, 0, 0, [1, 2, 3]),
        frame(HEADERS, END_HEADERS | END_STREAM, 1, requestBlock('GET', '/after')),
      ),
    );
    expect(reqs(c).map((m) => m.attrs['url.path'])).toEqual(['/after']);
    expect(c.anomalies).toEqual([]);
  });
});

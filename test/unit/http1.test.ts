/**
 * HTTP/1 parser tests. Inputs are messages written here from RFC 9110/9112 rules (and the RFC 9112
 * chunked example); expected values follow from the bytes written, not from the parser's output.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SpanDescription } from '../../core/l7/types.js';
import { MSG_REQUEST } from '../../core/l7/types.js';
import { PROBE_NEED_MORE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE } from '../../core/l7/types.js';
import { http1Parser } from '../../parsers/http1/index.js';
import { FakeContext } from '../helpers/fake-parser-context.js';

const probe = (s: string) => {
  const b = Buffer.from(s, 'latin1');
  return http1Parser.probe(b, 0, b.length, { transport: 'tcp', port: 20880, toServer: null });
};

function describe1(ctx: FakeContext, kind: number): SpanDescription {
  const out: SpanDescription = { name: '', error: false, errorType: '', message: '', kind: 0 };
  const req = ctx.messages.find((m) => m.type === MSG_REQUEST) ?? null;
  const resp = ctx.messages.find((m) => m.type !== MSG_REQUEST) ?? null;
  http1Parser.describeSpan(req, resp, kind, out);
  return out;
}

describe('http1 probe', () => {
  it('recognises requests with any method token and responses, on any port', () => {
    expect(probe('GET / HTTP/1.1\r\n')).toBe(PROBE_REQUEST);
    expect(probe('PROPFIND /dav HTTP/1.1\r\n')).toBe(PROBE_REQUEST);
    expect(probe('M-SEARCH * HTTP/1.1\r\n')).toBe(PROBE_REQUEST);
    expect(probe('HTTP/1.1 200 OK\r\n')).toBe(PROBE_RESPONSE);
    expect(probe('HTTP/1.0 404\r\n')).toBe(PROBE_RESPONSE);
  });
  it('asks for more while a prefix could match, and rejects the rest', () => {
    expect(probe('GE')).toBe(PROBE_NEED_MORE);
    expect(probe('GET /very/long')).toBe(PROBE_NEED_MORE);
    expect(probe('HTTP/1')).toBe(PROBE_NEED_MORE);
    expect(probe('HTTP/2 200\r\n')).toBe(PROBE_NO);
    expect(probe('PRI * HTTP/2.0\r\n')).toBe(PROBE_NO);
    expect(probe('\u0016\u0003\u0001\u0002\u0000')).toBe(PROBE_NO); // TLS ClientHello
    expect(probe('get / HTTP/1.1\r\n')).toBe(PROBE_NO);
    expect(probe('GET / HTTP/3.0\r\n')).toBe(PROBE_NO);
    expect(probe('*3\r\n$3\r\nSET\r\n')).toBe(PROBE_NO); // Redis
  });
});

describe('http1 parsing', () => {
  it('reads a request and its response into semantic-convention attributes', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET /search?q=span&lang=en HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/8.0\r\nAuthorization: Bearer s3cret\r\nCookie: id=42\r\n\r\n', 10);
    c.feed(false, 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: a=b\r\n\r\nhello', 20);
    expect(c.messages.length).toBe(2);
    const [q, r] = c.messages;
    expect(q.attrs).toEqual({
      'http.request.method': 'GET',
      'url.path': '/search',
      'url.query': 'q=span&lang=en',
      'url.scheme': 'http',
      'server.address': 'example.com',
      'user_agent.original': 'curl/8.0',
      'network.protocol.name': 'http',
      'network.protocol.version': '1.1',
      'http.request.body.size': 0,
    });
    expect(r.attrs).toEqual({
      'http.response.status_code': 200,
      'network.protocol.name': 'http',
      'network.protocol.version': '1.1',
      'http.response.body.size': 5,
    });
    expect([q.startTs, r.startTs, r.endTs]).toEqual([10, 20, 20]);
    // No secret reaches any attribute.
    expect(JSON.stringify(c.messages.map((m) => m.attrs))).not.toMatch(/s3cret|id=42|a=b/);
  });

  it('pipelining: several requests in one segment, responses in another, in order', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nPOST /c HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz');
    c.feed(false, 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nAHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok');
    expect(c.summary()).toEqual(['REQ GET /a', 'REQ GET /b', 'REQ POST /c', 'RESP 200', 'RESP 404', 'RESP 201']);
    expect(c.messages[2].attrs['http.request.body.size']).toBe(3);
  });

  it('chunked bodies with extensions and trailers in both directions (RFC 9112 section 7.1)', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'POST /upload HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4\r\nWiki\r\n0\r\n\r\n');
    c.feed(false, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Expires\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n');
    c.feed(true, 'GET /next HTTP/1.1\r\n\r\n');
    expect(c.summary()).toEqual(['REQ POST /upload', 'RESP 200', 'REQ GET /next']);
    expect(c.messages[0].attrs['http.request.body.size']).toBe(4);
    expect(c.messages[1].attrs['http.response.body.size']).toBe(4 + 5 + 14);
  });

  it('a body without length ends with the connection (HTTP/1.0 style)', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET /old HTTP/1.0\r\n\r\n');
    c.feed(false, 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\npart one ', 5);
    c.feed(false, 'part two', 6);
    expect(c.summary()).toEqual(['REQ GET /old']);
    c.end(false, 9);
    expect(c.summary()).toEqual(['REQ GET /old', 'RESP 200']);
    expect(c.messages[1].attrs['http.response.body.size']).toBe(17);
    expect(c.messages[1].attrs['network.protocol.version']).toBe('1.0');
    expect(c.messages[1].endTs).toBe(9);
  });

  it('HEAD, 204 and 304 responses have no body even with Content-Length', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'HEAD /f HTTP/1.1\r\n\r\nDELETE /g HTTP/1.1\r\n\r\nGET /h HTTP/1.1\r\nIf-None-Match: "x"\r\n\r\nGET /i HTTP/1.1\r\n\r\n');
    c.feed(false, 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi');
    expect(c.summary()).toEqual(['REQ HEAD /f', 'REQ DELETE /g', 'REQ GET /h', 'REQ GET /i', 'RESP 200', 'RESP 204', 'RESP 304', 'RESP 200']);
    expect(c.messages[7].attrs['http.response.body.size']).toBe(2);
  });

  it('Expect: 100-continue: the 100 is interim, the final response pairs', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'PUT /big HTTP/1.1\r\nContent-Length: 6\r\nExpect: 100-continue\r\n\r\n', 1);
    c.feed(false, 'HTTP/1.1 100 Continue\r\n\r\n', 2);
    c.feed(true, 'abcdef', 3);
    c.feed(false, 'HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n', 4);
    expect(c.summary()).toEqual(['REQ PUT /big', 'RESP 201']);
    expect(c.messages[0].attrs['http.request.body.size']).toBe(6);
    expect(c.messages[0].endTs).toBe(3);
  });

  it('CONNECT: a 2xx starts a tunnel and parsing stops', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'CONNECT server.example.com:443 HTTP/1.1\r\nHost: server.example.com:443\r\n\r\n');
    c.feed(false, 'HTTP/1.1 200 Connection Established\r\n\r\n\u0016\u0003\u0001');
    expect(c.summary()).toEqual(['REQ CONNECT ', 'RESP 200']);
    expect(c.messages[0].attrs['server.address']).toBe('server.example.com');
    expect(c.stopped).toBe('tunnel');
  });

  it('101 with Upgrade: h2c hands over to http2; a WebSocket upgrade stops parsing', () => {
    const h2 = new FakeContext(http1Parser);
    h2.feed(true, 'GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n');
    h2.feed(false, 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
    expect(h2.summary()).toEqual(['REQ GET /']);
    expect(h2.switchedTo).toBe('http2');
    const none = new FakeContext(http1Parser, {}, new Set());
    none.feed(true, 'GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n');
    none.feed(false, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n');
    expect(none.stopped).toBe('upgrade');
    const ws = new FakeContext(http1Parser);
    ws.feed(true, 'GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    ws.feed(false, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\u0081\u0005hello');
    expect(ws.stopped).toBe('upgrade');
  });

  it('non-standard methods are _OTHER with the original kept; the span is named HTTP', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'PROPFIND /dav/ HTTP/1.1\r\nDepth: 1\r\n\r\n');
    c.feed(false, 'HTTP/1.1 207 Multi-Status\r\nContent-Length: 0\r\n\r\n');
    expect(c.messages[0].attrs['http.request.method']).toBe('_OTHER');
    expect(c.messages[0].attrs['http.request.method_original']).toBe('PROPFIND');
    expect(describe1(c, 3).name).toBe('HTTP');
  });

  it('error rules: SERVER spans from 500, CLIENT spans from 400 (SEMCONV.md)', () => {
    const mk = (status: number) => {
      const c = new FakeContext(http1Parser);
      c.feed(true, 'GET / HTTP/1.1\r\n\r\n');
      c.feed(false, `HTTP/1.1 ${status} X\r\nContent-Length: 0\r\n\r\n`);
      return c;
    };
    expect(describe1(mk(404), 2)).toMatchObject({ name: 'GET', error: false });
    expect(describe1(mk(404), 3)).toMatchObject({ error: true, errorType: '404' });
    expect(describe1(mk(503), 2)).toMatchObject({ error: true, errorType: '503' });
    expect(describe1(mk(200), 3)).toMatchObject({ error: false });
  });

  it('a request head split over packets starts at the first packet', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET /slow HTTP/1.1\r\nHo', 100);
    c.feed(true, 'st: h\r\n\r\n', 250);
    expect(c.messages[0].startTs).toBe(100);
    expect(c.messages[0].endTs).toBe(250);
  });

  it('takes trace context from the headers (W3C example)', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET / HTTP/1.1\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nTracestate: congo=t61rcWkgMzE\r\nX-Request-ID: req-1\r\n\r\n');
    expect(c.messages[0].trace).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      parentSpanId: 'b7ad6b7169203331',
      sampled: true,
      traceState: 'congo=t61rcWkgMzE',
      source: 'traceparent',
      requestId: 'req-1',
    });
  });

  it('caps the header section and resynchronises on the next request', () => {
    const c = new FakeContext(http1Parser, { maxHeaderBytes: 256 });
    c.feed(true, 'GET /huge HTTP/1.1\r\n' + 'X-Pad: ' + 'a'.repeat(400) + '\r\n');
    expect(c.anomalies).toContain('http1_header_too_large');
    c.feed(true, '\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(c.summary().at(-1)).toBe('REQ GET /after');
  });
});

describe('http1 gaps', () => {
  it('a gap inside a body of known length keeps the message whole', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n');
    c.feed(false, 'HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n' + 'x'.repeat(1000));
    c.gap(false, 1448);
    c.feed(false, 'y'.repeat(552) + 'HTTP/1.1 204 No Content\r\n\r\n');
    expect(c.summary()).toEqual(['REQ GET /a', 'REQ GET /b', 'RESP 200', 'RESP 204']);
    expect(c.messages[2].attrs['http.response.body.size']).toBe(3000);
    expect(c.messages[3].afterGap).toBe(false);
  });

  it('a gap in a header section resynchronises at the next message, marked afterGap', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET /a HTTP/1.1\r\nHost: h\r\nAcc');
    c.gap(true, 700);
    c.feed(true, 'ept: */*\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(c.summary()).toEqual(['REQ GET /a', 'REQ GET /b']);
    expect(c.messages[1].afterGap).toBe(true);
    expect(c.anomalies).toContain('http1_gap');
  });

  it('a gap inside chunk framing ends the response and resynchronises', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n');
    c.feed(false, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel');
    c.gap(false, 30);
    c.feed(false, 'trailing junk\r\nHTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n');
    expect(c.summary()).toEqual(['REQ GET /a', 'REQ GET /b', 'RESP 200', 'RESP 500']);
  });

  it('a status line alone at the end of the capture is still a response', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET /productpage HTTP/1.1\r\nHost: p\r\n\r\n');
    c.feed(false, 'HTTP/1.0 200 OK\r\n');
    expect(c.summary()).toEqual(['REQ GET /productpage']);
    c.end(false);
    expect(c.summary()).toEqual(['REQ GET /productpage', 'RESP 200']);
  });
});

// One stream exercising most of the grammar, used for split-point testing.
const REQS =
  'GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n' +
  'POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n0\r\nT: 1\r\n\r\n' +
  'HEAD /c HTTP/1.1\r\n\r\n' +
  'PUT /d HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\nwxyz' +
  'GET /e HTTP/1.0\r\n\r\n';
const RESPS =
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' +
  'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n' +
  'HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n' +
  'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n' +
  'HTTP/1.0 200 OK\r\n\r\nuntil the end';
const EXPECTED = ['REQ GET /a?x=1', 'REQ POST /b', 'REQ HEAD /c', 'REQ PUT /d', 'REQ GET /e', 'RESP 200', 'RESP 201', 'RESP 200', 'RESP 204', 'RESP 200'];

function runSplit(reqCuts: number[], respCuts: number[]) {
  const c = new FakeContext(http1Parser);
  const pieces = (s: string, cuts: number[]) => {
    const out: string[] = [];
    let prev = 0;
    for (const cut of [...cuts, s.length]) {
      out.push(s.slice(prev, cut));
      prev = cut;
    }
    return out;
  };
  for (const p of pieces(REQS, reqCuts)) c.feed(true, p);
  for (const p of pieces(RESPS, respCuts)) c.feed(false, p);
  c.end(true);
  c.end(false);
  const sizes = c.messages.map((m) => m.attrs['http.request.body.size'] ?? m.attrs['http.response.body.size']);
  return { summary: [...c.summary().filter((s) => s.startsWith('REQ')), ...c.summary().filter((s) => s.startsWith('RESP'))], sizes };
}

describe('http1 split points', () => {
  const whole = runSplit([], []);
  it('the whole stream gives the expected messages and body sizes', () => {
    expect(whole.summary).toEqual(EXPECTED);
    expect(whole.sizes).toEqual([0, 3, 0, 4, 0, 2, 17, 0, 0, 13]);
  });
  it('cut at every single point of each direction gives the same', () => {
    for (let i = 1; i < REQS.length; i++) expect(runSplit([i], [])).toEqual(whole);
    for (let i = 1; i < RESPS.length; i++) expect(runSplit([], [i])).toEqual(whole);
  });
  it('delivered one byte at a time gives the same', () => {
    const all = (s: string) => Array.from({ length: s.length - 1 }, (_, i) => i + 1);
    expect(runSplit(all(REQS), all(RESPS))).toEqual(whole);
  });
});

describe('http1 fuzzing', () => {
  it('random and mutated streams never throw, never hang, always consume within bounds', () => {
    const base = Buffer.from(REQS + RESPS, 'latin1');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 30 }),
        fc.array(fc.nat({ max: 200 }), { maxLength: 20 }),
        fc.uint8Array({ maxLength: 300 }),
        (flips, cuts, junk) => {
          const b = Uint8Array.from(base);
          for (const [pos, v] of flips) b[pos % b.length] = v;
          for (const stream of [b, junk]) {
            const c = new FakeContext(http1Parser);
            let off = 0;
            let dir = true;
            for (const cut of cuts) {
              const end = Math.min(stream.length, off + cut);
              c.feed(dir, stream.subarray(off, end));
              if (cut % 7 === 0) c.gap(dir, cut + 1);
              dir = !dir;
              off = end;
            }
            c.feed(dir, stream.subarray(off));
            c.end(true);
            c.end(false);
            for (const m of c.messages) expect(m.endTs).toBeGreaterThanOrEqual(m.startTs);
          }
        },
      ),
      { numRuns: 500, seed: 11 },
    );
  });
});

/**
 * HTTP/1 parser: detection, message framing and the attributes of each message. Inputs are messages
 * written here (RFC 9110 / RFC 9112 examples and rules); every expected value follows from the bytes
 * written (lengths are computed from the strings, not taken from the parser).
 */
import { describe, expect, it } from 'vitest';
import type { L7Message, SpanDescription } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE, PROBE_NEED_MORE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE, SESSION_FIFO } from '../../core/l7/types.js';
import type { Http1Info } from '../../parsers/http1/index.js';
import { http1Parser } from '../../parsers/http1/index.js';
import { FakeContext } from '../helpers/fake-parser-context.js';

const bytes = (s: string) => Buffer.from(s, 'latin1');
const probe = (s: string, port = 80) => {
  const b = bytes(s);
  return http1Parser.probe(b, 0, b.length, { transport: 'tcp', port, toServer: null });
};
const info = (m: L7Message) => m.info as Http1Info;

function describeSpan(req: L7Message | null, resp: L7Message | null, kind: number): SpanDescription {
  // Pre-filled with garbage: describeSpan must set every field.
  const out: SpanDescription = { name: 'x', error: true, errorType: 'x', message: 'x', kind: 9 };
  http1Parser.describeSpan(req, resp, kind, out);
  return out;
}

describe('probe', () => {
  it('recognises a request line with any upper-case method, on any port', () => {
    for (const m of ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'TRACE', 'QUERY', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'REPORT', 'PURGE', 'SEARCH', 'VERSION-CONTROL', 'BASELINE-CONTROL', 'M-SEARCH']) {
      expect(probe(`${m} /x HTTP/1.1\r\n`), m).toBe(PROBE_REQUEST);
      expect(probe(`${m} /x HTTP/1.1\r\n`, 20880), m).toBe(PROBE_REQUEST);
    }
    expect(probe('CONNECT example.com:443 HTTP/1.1\r\n')).toBe(PROBE_REQUEST);
    expect(probe('OPTIONS * HTTP/1.0\r\n')).toBe(PROBE_REQUEST);
    expect(probe('GET http://example.com/ HTTP/1.1\r\n')).toBe(PROBE_REQUEST);
    expect(probe('GET / HTTP/1.0\n')).toBe(PROBE_REQUEST); // bare LF (RFC 9112 2.2)
    expect(probe('\r\nGET / HTTP/1.1\r\n')).toBe(PROBE_REQUEST); // a leading empty line
  });

  it('recognises a status line', () => {
    expect(probe('HTTP/1.1 200 OK\r\n')).toBe(PROBE_RESPONSE);
    expect(probe('HTTP/1.0 404 Not Found\r\n')).toBe(PROBE_RESPONSE);
    expect(probe('HTTP/1.1 204\r\n')).toBe(PROBE_RESPONSE); // no reason phrase
    expect(probe('HTTP/1.1 101 Switching Protocols\r\n', 8080)).toBe(PROBE_RESPONSE);
  });

  it('asks for more for every proper prefix that could still match', () => {
    const req = 'PROPFIND /dav/folder/ HTTP/1.1\r\n';
    for (let i = 0; i < req.length; i++) expect(probe(req.slice(0, i)), JSON.stringify(req.slice(0, i))).toBe(PROBE_NEED_MORE);
    const resp = 'HTTP/1.1 200 OK\r\n';
    for (let i = 0; i < 13; i++) expect(probe(resp.slice(0, i)), JSON.stringify(resp.slice(0, i))).toBe(PROBE_NEED_MORE);
    expect(probe('HEAD /' + 'a'.repeat(5000))).toBe(PROBE_NEED_MORE);
  });

  it('rejects other protocols and malformed start lines', () => {
    const no = [
      'HTTP/2 200\r\n',
      'HTTP/1.2 200 OK\r\n',
      'HTTP/1.1 000 X\r\n',
      'HTTP/1.1 20 OK\r\n',
      'HTTP/1.1 200OK\r\n',
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', // HTTP/2 preface
      'GET / HTTP/2.0\r\n',
      'GET / HTTP/1.1 \r\n', // trailing space
      'GET  / HTTP/1.1\r\n', // two spaces
      'GET /a b HTTP/1.1\r\n', // space in the target
      'get / HTTP/1.1\r\n', // methods are upper case
      'OPTIONS rtsp://cam/stream RTSP/1.0\r\n',
      'INVITE sip:bob@example.com SIP/2.0\r\n',
      'SSH-2.0-OpenSSH_9.2\r\n',
      '*3\r\n$3\r\nSET\r\n', // Redis
      '+PONG\r\n',
      '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u01fc\u0003\u0003', // TLS ClientHello
      '\u0000\u0000\u0000\u0001',
      'GET /' + 'a'.repeat(9000) + ' HTTP/1.1\r\n', // beyond the probe limit
    ];
    for (const s of no) expect(probe(s), JSON.stringify(s.slice(0, 40))).toBe(PROBE_NO);
  });
});

describe('requests and responses', () => {
  // RFC 9110 section 6.2 / RFC 9112 examples (curl fetching /hello.txt).
  const REQ = 'GET /hello.txt HTTP/1.1\r\nUser-Agent: curl/7.64.1\r\nHost: www.example.com\r\nAccept-Language: en, mi\r\n\r\n';
  const BODY = 'Hello World! My content includes a trailing CRLF.\r\n';
  const RESP =
    'HTTP/1.1 200 OK\r\nDate: Mon, 27 Jul 2009 12:28:53 GMT\r\nServer: Apache\r\nLast-Modified: Wed, 22 Jul 2009 19:15:56 GMT\r\n' +
    'ETag: "34aa387-d-1568eb00"\r\nAccept-Ranges: bytes\r\nContent-Length: 51\r\nVary: Accept-Encoding\r\nContent-Type: text/plain\r\n\r\n' +
    BODY;

  it('RFC 9110 example exchange: attributes, sizes, times, info', () => {
    expect(BODY.length).toBe(51);
    const c = new FakeContext(http1Parser);
    expect(c.feed(true, REQ, 100)).toBe(REQ.length);
    expect(c.feed(false, RESP, 200)).toBe(RESP.length);
    const [q, r] = c.messages;
    expect(q).toMatchObject({ type: MSG_REQUEST, sessionId: SESSION_FIFO, startTs: 100, endTs: 100, size: REQ.length, expectsResponse: true, afterGap: false, trace: null });
    expect(q.attrs).toEqual({
      'http.request.method': 'GET',
      'url.path': '/hello.txt',
      'url.scheme': 'http',
      'server.address': 'www.example.com',
      'user_agent.original': 'curl/7.64.1',
      'network.protocol.name': 'http',
      'network.protocol.version': '1.1',
      'http.request.body.size': 0,
    });
    expect(info(q)).toEqual({ method: 'GET', statusCode: 0, incomplete: false, rpcMethod: '', grpcStatus: -1, grpcMessage: '' });
    expect(r).toMatchObject({ type: MSG_RESPONSE, sessionId: SESSION_FIFO, startTs: 200, endTs: 200, size: RESP.length, trace: null, afterGap: false });
    expect(r.attrs).toEqual({ 'http.response.status_code': 200, 'network.protocol.name': 'http', 'network.protocol.version': '1.1', 'http.response.body.size': 51 });
    expect(info(r)).toEqual({ method: 'GET', statusCode: 200, incomplete: false, rpcMethod: '', grpcStatus: -1, grpcMessage: '' });
    expect(c.anomalies).toEqual([]);
  });

  it('header names are case-insensitive; values keep their case', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'POST /a HTTP/1.1\r\nHOST: Example.COM\r\ncOnTeNt-LeNgTh: 3\r\nuser-agent: X/1\r\n\r\nabc');
    c.feed(true, 'PUT /b HTTP/1.1\r\nTRANSFER-ENCODING: CHUNKED\r\n\r\n1\r\nz\r\n0\r\n\r\n');
    expect(c.summary()).toEqual(['REQ POST /a', 'REQ PUT /b']);
    expect(c.messages[0].attrs).toMatchObject({ 'server.address': 'Example.COM', 'user_agent.original': 'X/1', 'http.request.body.size': 3 });
    expect(c.messages[1].attrs['http.request.body.size']).toBe(1);
  });

  it('tolerates bare LF line endings and empty lines between messages', () => {
    const c = new FakeContext(http1Parser);
    const a = 'GET /a HTTP/1.1\nHost: h\n\n';
    const b = 'GET /b HTTP/1.0\r\n\r\n';
    expect(c.feed(true, a + '\r\n\r\n' + b)).toBe(a.length + 4 + b.length);
    expect(c.summary()).toEqual(['REQ GET /a', 'REQ GET /b']);
    expect(c.messages.map((m) => m.size)).toEqual([a.length, b.length]); // stray CRLFs belong to no message
    expect(c.messages[1].attrs['network.protocol.version']).toBe('1.0');
  });

  it('obs-fold continuation lines are tolerated (RFC 9112 5.2) and counted', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'POST /f HTTP/1.1\r\nUser-Agent: Mozilla/5.0\r\n (X11; Linux)\r\nTransfer-Encoding: gzip,\r\n\tchunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n');
    expect(c.messages[0].attrs['user_agent.original']).toBe('Mozilla/5.0 (X11; Linux)');
    expect(c.messages[0].attrs['http.request.body.size']).toBe(2);
    expect(c.anomalies.filter((a) => a === 'http1_obs_fold').length).toBe(2);
  });

  it('Content-Length: identical list values are one length; differing values break the request', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'POST /same HTTP/1.1\r\nContent-Length: 4, 4\r\nContent-Length: 4\r\n\r\nabcd');
    c.feed(true, 'POST /bad HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcdGET /next HTTP/1.1\r\n\r\n');
    expect(c.summary()).toEqual(['REQ POST /same', 'REQ POST /bad', 'REQ GET /next']);
    expect(c.messages[0].attrs['http.request.body.size']).toBe(4);
    expect(info(c.messages[1]).incomplete).toBe(true);
    expect(c.messages[1].attrs['http.request.body.size']).toBeUndefined();
    expect(c.anomalies).toContain('http1_bad_content_length');
    expect(c.messages[2].afterGap).toBe(true);
  });

  it('a response with an invalid Content-Length runs to the connection close', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET / HTTP/1.1\r\n\r\n');
    c.feed(false, 'HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n0123456789', 5);
    expect(c.summary()).toEqual(['REQ GET /']);
    c.end(false, 7);
    expect(c.summary()).toEqual(['REQ GET /', 'RESP 200']);
    expect(c.messages[1]).toMatchObject({ endTs: 7 });
    expect(c.messages[1].attrs['http.response.body.size']).toBe(10);
  });

  it('Transfer-Encoding overrides Content-Length (RFC 9112 6.3), counted as a smuggling sign', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'POST /te HTTP/1.1\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /after HTTP/1.1\r\n\r\n');
    expect(c.summary()).toEqual(['REQ POST /te', 'REQ GET /after']);
    expect(c.messages[0].attrs['http.request.body.size']).toBe(3);
    expect(c.anomalies).toEqual(['http1_te_and_cl']);
  });

  it('a request whose last transfer coding is not chunked has no knowable length', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'POST /x HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n\u001f\u008b\u0008garbageGET /y HTTP/1.1\r\n\r\n');
    expect(c.summary()).toEqual(['REQ POST /x', 'REQ GET /y']);
    expect(info(c.messages[0]).incomplete).toBe(true);
    expect(c.anomalies).toContain('http1_bad_transfer_encoding');
  });

  it('chunked bodies: hex of both cases, extensions (quoted too), BWS, trailers', () => {
    const c = new FakeContext(http1Parser);
    const chunks = 'a;name="v;x"\r\n0123456789\r\nA ;k=v\r\nABCDEFGHIJ\r\n1\r\n!\r\n0;last\r\nServer-Timing: total;dur=5\r\nX-T: 1\r\n\r\n';
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
    c.feed(true, 'GET /c HTTP/1.1\r\n\r\n');
    expect(c.feed(false, head + chunks)).toBe(head.length + chunks.length);
    expect(c.summary()).toEqual(['REQ GET /c', 'RESP 200']);
    expect(c.messages[1].attrs['http.response.body.size']).toBe(10 + 10 + 1);
    expect(c.messages[1].size).toBe(head.length + chunks.length);
  });

  it('chunk sizes: leading zeros are fine, more than 13 significant hex digits are not', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'POST /z HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0000000000000003\r\nabc\r\n000\r\n\r\n');
    expect(c.messages[0].attrs['http.request.body.size']).toBe(3);
    c.feed(true, 'POST /big HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000\r\n');
    expect(c.anomalies).toEqual(['http1_bad_chunk', 'http1_incomplete_message']);
  });

  it('a malformed chunk size ends the message and resynchronises', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n');
    c.feed(false, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    expect(c.summary()).toEqual(['REQ GET /1', 'REQ GET /2', 'RESP 200', 'RESP 404']);
    expect(info(c.messages[2]).incomplete).toBe(true);
    expect(c.anomalies).toContain('http1_bad_chunk');
  });

  it('bodies are counted, not buffered: every body byte offered is consumed at once', () => {
    const c = new FakeContext(http1Parser);
    const head = 'PUT /big HTTP/1.1\r\nContent-Length: 100000\r\n\r\n';
    expect(c.feed(true, head + 'x'.repeat(1000))).toBe(head.length + 1000);
    expect(c.feed(true, 'y'.repeat(50000))).toBe(50000);
    expect(c.feed(true, 'z'.repeat(49000) + 'GET /n')).toBe(49000); // the next request line is incomplete: kept
    expect(c.feed(true, 'ext HTTP/1.1\r\n\r\n')).toBe('GET /next HTTP/1.1\r\n\r\n'.length);
    expect(c.summary()).toEqual(['REQ PUT /big', 'REQ GET /next']);
    expect(c.messages[0].attrs['http.request.body.size']).toBe(100000);
  });

  it('need more: complete header lines are consumed, the partial line is offered again', () => {
    const c = new FakeContext(http1Parser);
    expect(c.feed(true, 'GET / HTTP/1.1\r\nHost: a\r\nUser-Ag', 1)).toBe('GET / HTTP/1.1\r\nHost: a\r\n'.length);
    expect(c.feed(true, 'ent: b\r\n', 2)).toBe('User-Agent: b\r\n'.length);
    expect(c.messages).toEqual([]);
    expect(c.feed(true, '\r\n', 3)).toBe(2);
    expect(c.messages[0]).toMatchObject({ startTs: 1, endTs: 3 });
    expect(c.messages[0].attrs['user_agent.original']).toBe('b');
  });

  it('pipelining: requests in one segment with bodies; later requests start at the time of the segment', () => {
    const c = new FakeContext(http1Parser);
    const a = 'POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi';
    const b = 'HEAD /b HTTP/1.1\r\n\r\n';
    const d = 'PUT /d HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n';
    c.feed(true, a + b + d.slice(0, 20), 10); // firstByteTs = lastByteTs = 10
    c.feed(true, d.slice(20), 11);
    c.feed(false, 'HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n', 20);
    expect(c.summary()).toEqual(['REQ POST /a', 'REQ HEAD /b', 'REQ PUT /d', 'RESP 201', 'RESP 200', 'RESP 204']);
    expect(c.messages.map((m) => [m.startTs, m.endTs])).toEqual([[10, 10], [10, 10], [10, 11], [20, 20], [20, 20], [20, 20]]);
    expect(c.messages.map((m) => m.size)).toEqual([a.length, b.length, d.length, 'HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n'.length, 'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n'.length, 'HTTP/1.1 204 No Content\r\n\r\n'.length]);
    expect(c.messages.slice(3).map((m) => info(m).method)).toEqual(['POST', 'HEAD', 'PUT']);
  });

  it('a message starting at offset 0 of a call carried over starts at the carried bytes time', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GE', 5); // nothing consumed: held with time 5
    c.feed(true, 'T / HTTP/1.1\r\n\r\n', 9);
    expect(c.messages[0]).toMatchObject({ startTs: 5, endTs: 9 });
  });

  it('the first call of a flow may carry bytes held during detection: the message starts when they arrived', () => {
    const c = new FakeContext(http1Parser);
    const b = bytes('GET /held HTTP/1.1\r\n\r\n');
    c.firstByteTs = 40; // the dispatcher probed 'GET /he' at 40, the rest came at 45
    c.lastByteTs = 45;
    expect(c.session.parse(true, b, 0, b.length)).toBe(b.length);
    expect(c.messages[0]).toMatchObject({ startTs: 40, endTs: 45 });
  });

  it('interim responses (100, 102, 103) are not messages; the final response pairs', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'POST /slow HTTP/1.1\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n', 1);
    c.feed(false, 'HTTP/1.1 100 Continue\r\n\r\n', 2);
    c.feed(true, '!', 3);
    c.feed(false, 'HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n', 4);
    c.feed(false, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 6);
    expect(c.summary()).toEqual(['REQ POST /slow', 'RESP 200']);
    expect(c.messages[1]).toMatchObject({ startTs: 6, endTs: 6, size: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'.length });
  });

  it('HEAD responses have no body, even with Content-Length or chunked', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'HEAD /1 HTTP/1.1\r\n\r\nHEAD /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n');
    c.feed(false, 'HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx');
    expect(c.summary()).toEqual(['REQ HEAD /1', 'REQ HEAD /2', 'REQ GET /3', 'RESP 200', 'RESP 200', 'RESP 200']);
    expect(c.messages.slice(3).map((m) => m.attrs['http.response.body.size'])).toEqual([0, 0, 1]);
    expect(c.anomalies).toEqual([]);
  });

  it('101 + Upgrade: h2c hands over to http2 right after the 101 head (the HTTP/2 bytes are not consumed)', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET / HTTP/1.1\r\nHost: server.example.com\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n');
    const head = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n';
    const h2 = '\u0000\u0000\u0006\u0004\u0000\u0000\u0000\u0000\u0000'; // a SETTINGS frame
    expect(c.feed(false, head + h2)).toBe(head.length);
    expect(c.switchedTo).toBe('http2');
    expect(c.stopped).toBe('');
    // The upgraded request is HTTP/2's stream 1 (RFC 9113 3.2): the 101 is not its response; the
    // request goes to http2 with the hand-over.
    expect(c.summary()).toEqual(['REQ GET /']);
    expect(c.handedOver).toEqual({ request: c.messages[0], method: 'GET' });
  });

  it('101 to h2c without an http2 parser, or to anything else, stops parsing', () => {
    const none = new FakeContext(http1Parser, {}, new Set());
    none.feed(true, 'GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n');
    none.feed(false, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n');
    expect([none.stopped, none.switchedTo]).toEqual(['upgrade', '']);
    const ws = new FakeContext(http1Parser);
    ws.feed(true, 'GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    const head = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n';
    expect(ws.feed(false, head + '\u0081\u0005Hello')).toBe(head.length);
    expect([ws.stopped, ws.switchedTo]).toEqual(['upgrade', '']);
    expect(ws.summary()).toEqual(['REQ GET /chat', 'RESP 101']);
  });

  it('CONNECT: a 407 keeps HTTP going, a 2xx starts the tunnel', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'CONNECT server.example.com:443 HTTP/1.1\r\nHost: server.example.com:443\r\n\r\n');
    c.feed(false, 'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="p"\r\nContent-Length: 4\r\n\r\ndeny');
    c.feed(true, 'CONNECT server.example.com:443 HTTP/1.1\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n');
    const head = 'HTTP/1.1 200 Connection Established\r\n\r\n';
    expect(c.feed(false, head + '\u0016\u0003\u0003')).toBe(head.length);
    expect(c.stopped).toBe('tunnel');
    expect(c.summary()).toEqual(['REQ CONNECT ', 'RESP 407', 'REQ CONNECT ', 'RESP 200']);
    for (const m of c.messages.filter((x) => x.type === MSG_REQUEST)) {
      expect(m.attrs['server.address']).toBe('server.example.com');
      expect(m.attrs['url.path']).toBeUndefined();
    }
    expect(c.messages[1].attrs['http.response.body.size']).toBe(4);
    expect(JSON.stringify(c.messages)).not.toContain('dXNlcjpwYXNz');
  });
});

describe('attributes', () => {
  const one = (reqLine: string, headers = '', options: Record<string, unknown> = {}) => {
    const c = new FakeContext(http1Parser, options);
    c.feed(true, `${reqLine}\r\n${headers}\r\n`);
    return c.messages[0];
  };

  it('known methods as sent; others _OTHER with the original (case-sensitive, RFC 9110 9.1)', () => {
    for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']) {
      expect(one(`${m} / HTTP/1.1`).attrs['http.request.method']).toBe(m);
      expect(one(`${m} / HTTP/1.1`).attrs['http.request.method_original']).toBeUndefined();
    }
    for (const m of ['PROPFIND', 'PURGE', 'get', 'Get', 'X-CUSTOM']) {
      const q = one(`${m} / HTTP/1.1`);
      expect(q.attrs['http.request.method']).toBe('_OTHER');
      expect(q.attrs['http.request.method_original']).toBe(m);
      expect(info(q).method).toBe('_OTHER');
    }
  });

  it('the known-method list can be replaced (knownMethods / known_methods)', () => {
    for (const key of ['knownMethods', 'known_methods']) {
      expect(one('PROPFIND / HTTP/1.1', '', { [key]: ['GET', 'PROPFIND'] }).attrs['http.request.method']).toBe('PROPFIND');
      expect(one('POST / HTTP/1.1', '', { [key]: ['GET', 'PROPFIND'] }).attrs).toMatchObject({ 'http.request.method': '_OTHER', 'http.request.method_original': 'POST' });
    }
  });

  it('url.path and url.query from origin-form, absolute-form and asterisk-form targets', () => {
    expect(one('GET /a/b%20c?x=1&y=%2F HTTP/1.1').attrs).toMatchObject({ 'url.path': '/a/b%20c', 'url.query': 'x=1&y=%2F', 'url.scheme': 'http' });
    expect(one('GET /empty? HTTP/1.1').attrs).toMatchObject({ 'url.path': '/empty', 'url.query': '' });
    expect(one('GET /nq HTTP/1.1').attrs['url.query']).toBeUndefined();
    const abs = one('GET http://user:pw@proxy.example:3128/x/y?q=1 HTTP/1.1', 'Host: ignored.example\r\n');
    expect(abs.attrs).toMatchObject({ 'url.path': '/x/y', 'url.query': 'q=1', 'url.scheme': 'http', 'server.address': 'proxy.example' });
    expect(JSON.stringify(abs.attrs)).not.toContain('pw');
    expect(one('GET HTTPS://Example.org HTTP/1.1').attrs).toMatchObject({ 'url.path': '/', 'url.scheme': 'https', 'server.address': 'Example.org' });
    expect(one('OPTIONS * HTTP/1.1').attrs['url.path']).toBe('*');
  });

  it('url.query: values of sensitive keys are REDACTED, keys kept (OTel URL conventions)', () => {
    const q = one('GET /f?X-Goog-Signature=abc&AWSAccessKeyId=AKIA1&Signature=zz&sig=1&q=OpenTelemetry&SIG=2&design=x HTTP/1.1');
    expect(q.attrs['url.query']).toBe('X-Goog-Signature=REDACTED&AWSAccessKeyId=REDACTED&Signature=REDACTED&sig=REDACTED&q=OpenTelemetry&SIG=2&design=x');
    expect(one('GET /f?token=t&sig=1 HTTP/1.1', '', { sensitiveQueryParameters: ['token'] }).attrs['url.query']).toBe('token=REDACTED&sig=1');
    expect(one('GET /f?token=t HTTP/1.1', '', { sensitive_query_parameters: ['token'] }).attrs['url.query']).toBe('token=REDACTED');
  });

  it('server.address from Host without port; IPv6 literals without brackets; the first Host wins', () => {
    expect(one('GET / HTTP/1.1', 'Host: example.com:8080\r\n').attrs['server.address']).toBe('example.com');
    expect(one('GET / HTTP/1.1', 'Host: [2001:db8::1]:443\r\n').attrs['server.address']).toBe('2001:db8::1');
    expect(one('GET / HTTP/1.1', 'Host:192.0.2.7\r\n').attrs['server.address']).toBe('192.0.2.7');
    expect(one('GET / HTTP/1.1', 'Host: a.example\r\nHost: b.example\r\n').attrs['server.address']).toBe('a.example');
    expect(one('GET / HTTP/1.0').attrs['server.address']).toBeUndefined();
  });

  it('no header value other than Host and User-Agent reaches the attributes', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET / HTTP/1.1\r\nAuthorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\nCookie: session=S3CR3T\r\nProxy-Authorization: Bearer P-TOKEN\r\nX-Api-Key: K-42\r\n\r\n');
    c.feed(false, 'HTTP/1.1 200 OK\r\nSet-Cookie: id=SETSECRET; HttpOnly\r\nWWW-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n');
    const all = JSON.stringify(c.messages);
    for (const secret of ['QWxhZGRpbjpvcGVuIHNlc2FtZQ', 'S3CR3T', 'P-TOKEN', 'K-42', 'SETSECRET', 'Basic']) expect(all).not.toContain(secret);
  });

  it('a malformed header line is counted and skipped', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET / HTTP/1.1\r\nHost : spaced.example\r\nno colon here\r\nUser-Agent: ok\r\n\r\n');
    expect(c.messages[0].attrs['server.address']).toBeUndefined();
    expect(c.messages[0].attrs['user_agent.original']).toBe('ok');
    expect(c.anomalies).toEqual(['http1_bad_header', 'http1_bad_header']);
  });

  it('trace context and request id from the request headers; responses carry none', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET /t HTTP/1.1\r\nX-B3-TraceId: 463ac35c9f6413ad48485a3953bb6124\r\nx-b3-spanid: a2fb4a1d1a96d312\r\nX-B3-Sampled: 1\r\nX-Correlation-ID: corr-9\r\n\r\n');
    c.feed(false, 'HTTP/1.1 200 OK\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nContent-Length: 0\r\n\r\n');
    c.feed(true, 'GET /r HTTP/1.1\r\nX-Request-ID:  abc-123 \r\n\r\n');
    c.feed(true, 'GET /n HTTP/1.1\r\n\r\n');
    expect(c.messages[0].trace).toEqual({ traceId: '463ac35c9f6413ad48485a3953bb6124', parentSpanId: 'a2fb4a1d1a96d312', sampled: true, traceState: '', source: 'b3multi', requestId: 'corr-9' });
    expect(c.messages[1].trace).toBeNull();
    expect(c.messages[2].trace).toEqual({ traceId: '', parentSpanId: '', sampled: null, traceState: '', source: '', requestId: 'abc-123' });
    expect(c.messages[3].trace).toBeNull(); // the collector was reset between requests
  });
});

describe('describeSpan', () => {
  const exchange = (reqHead: string, status: number) => {
    const c = new FakeContext(http1Parser);
    c.feed(true, reqHead);
    c.feed(false, `HTTP/1.1 ${status} X\r\nContent-Length: 0\r\n\r\n`);
    return [c.messages[0], c.messages[1]] as const;
  };

  it('name is the method, HTTP for _OTHER; never the path', () => {
    const [q, r] = exchange('DELETE /users/42 HTTP/1.1\r\n\r\n', 204);
    expect(describeSpan(q, r, 2)).toEqual({ name: 'DELETE', error: false, errorType: '', message: '', kind: 0 });
    const [q2, r2] = exchange('MKCOL /dav/new/ HTTP/1.1\r\n\r\n', 201);
    expect(describeSpan(q2, r2, 3).name).toBe('HTTP');
  });

  it('errors: SERVER from 500, CLIENT (and other kinds) from 400, error.type the status code', () => {
    const cases: [number, number, boolean][] = [
      [2, 499, false], [2, 500, true], [2, 503, true], [3, 399, false], [3, 400, true], [3, 404, true], [3, 500, true], [1, 404, true], [0, 404, true],
    ];
    for (const [kind, status, error] of cases) {
      const [q, r] = exchange('GET / HTTP/1.1\r\n\r\n', status);
      expect(describeSpan(q, r, kind), `${kind} ${status}`).toMatchObject({ name: 'GET', error, errorType: error ? String(status) : '' });
    }
  });

  it('no response: no error decided here (the session layer sets timeout / no_response)', () => {
    const [q] = exchange('POST / HTTP/1.1\r\n\r\n', 200);
    expect(describeSpan(q, null, 3)).toEqual({ name: 'POST', error: false, errorType: '', message: '', kind: 0 });
  });

  it('a response without its request message: the method when the session saw the request, else HTTP', () => {
    const [, r] = exchange('PATCH /p HTTP/1.1\r\n\r\n', 502);
    expect(describeSpan(null, r, 2)).toMatchObject({ name: 'PATCH', error: true, errorType: '502' });
    const c = new FakeContext(http1Parser);
    c.feed(false, 'HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n'); // capture started after the request
    expect(info(c.messages[0]).method).toBe('');
    expect(describeSpan(null, c.messages[0], 3)).toMatchObject({ name: 'HTTP', error: true, errorType: '500' });
  });
});

describe('limits', () => {
  it('header section cap (maxHeaderBytes / max_header_bytes): anomaly, message reported cut, resync', () => {
    for (const key of ['maxHeaderBytes', 'max_header_bytes']) {
      const c = new FakeContext(http1Parser, { [key]: 300 });
      c.feed(true, 'GET /big HTTP/1.1\r\n' + 'X-A: 0123456789\r\n'.repeat(30) + '\r\nGET /ok HTTP/1.1\r\nHost: h\r\n\r\n');
      expect(c.summary()).toEqual(['REQ GET /big', 'REQ GET /ok']);
      expect(info(c.messages[0]).incomplete).toBe(true);
      expect(c.messages[1].afterGap).toBe(true);
      expect(c.anomalies).toContain('http1_header_too_large');
    }
  });

  it('a line without LF past the cap is dropped at once, not held', () => {
    const c = new FakeContext(http1Parser);
    const head = 'GET / HTTP/1.1\r\nX-Long: ';
    const n = c.feed(true, head + 'a'.repeat(70 * 1024));
    expect(n).toBe(head.length + 70 * 1024); // consumed (and dropped): nothing left for the dispatcher to hold
    expect(c.anomalies).toContain('http1_header_too_large');
    c.feed(true, 'aaa\r\n\r\nGET /next HTTP/1.1\r\n\r\n');
    expect(c.summary()).toEqual(['REQ GET /', 'REQ GET /next']);
  });

  it('requests awaiting a response are capped per flow (maxPendingRequests), overflow counted', () => {
    const c = new FakeContext(http1Parser, { maxPendingRequests: 3 });
    for (let i = 0; i < 5; i++) c.feed(true, `GET /${i} HTTP/1.1\r\n\r\n`);
    expect(c.anomalies.filter((a) => a === 'http1_too_many_pending_requests').length).toBe(2);
    expect(c.messages.length).toBe(5); // the requests themselves are still reported
    c.feed(false, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(info(c.messages[5]).method).toBe('GET');
  });
});

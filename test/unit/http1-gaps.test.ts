/**
 * HTTP/1 parser: lost bytes (gaps), resynchronisation and messages cut by the end of a direction.
 * Expected values follow from the bytes written and the lengths of the holes made.
 */
import { describe, expect, it } from 'vitest';
import type { L7Message } from '../../core/l7/types.js';
import type { Http1Info } from '../../parsers/http1/index.js';
import { http1Parser } from '../../parsers/http1/index.js';
import { FakeContext } from '../helpers/fake-parser-context.js';

const info = (m: L7Message) => m.info as Http1Info;

describe('gaps inside bodies', () => {
  it('inside a Content-Length body: subtracted, the message stays whole, no resync', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n');
    const head = 'HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n';
    c.feed(false, head + 'x'.repeat(1000), 10);
    c.gap(false, 2896, 11);
    c.feed(false, 'y'.repeat(1104) + 'HTTP/1.1 304 Not Modified\r\n\r\n', 12);
    expect(c.summary()).toEqual(['REQ GET /a', 'REQ GET /b', 'RESP 200', 'RESP 304']);
    expect(c.messages[2]).toMatchObject({ startTs: 10, endTs: 12, size: head.length + 5000 });
    expect(c.messages[2].attrs['http.response.body.size']).toBe(5000);
    expect(info(c.messages[2]).incomplete).toBe(false);
    expect(c.messages[3].afterGap).toBe(false);
    expect(c.anomalies).toEqual(['http1_gap', 'http1_gap_in_body']);
  });

  it('a gap ending exactly at the end of the body: the message ends, the next one follows without resync', () => {
    const c = new FakeContext(http1Parser);
    const head = 'POST /up HTTP/1.1\r\nContent-Length: 100\r\n\r\n';
    c.feed(true, head + 'z'.repeat(40), 3);
    c.gap(true, 60);
    c.feed(true, 'GET /next HTTP/1.1\r\n\r\n', 9);
    expect(c.summary()).toEqual(['REQ POST /up', 'REQ GET /next']);
    expect(c.messages[0]).toMatchObject({ endTs: 3, size: head.length + 100 });
    expect(c.messages[0].attrs['http.request.body.size']).toBe(100);
    expect(c.messages[1].afterGap).toBe(false);
    expect(c.anomalies).not.toContain('http1_bad_start_line');
  });

  it('a gap running past the end of the body: the message ends, the rest is resynchronised', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET /a HTTP/1.1\r\n\r\n');
    c.feed(false, 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123', 1);
    c.gap(false, 6 + 25); // the last 6 body bytes and the start of a lost response
    c.feed(true, 'GET /c HTTP/1.1\r\n\r\n', 2);
    c.feed(false, 'ent-Length: 0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n', 3);
    expect(c.summary()).toEqual(['REQ GET /a', 'RESP 200', 'REQ GET /c', 'RESP 404']);
    expect(c.messages[1].attrs['http.response.body.size']).toBe(10);
    expect(c.messages[3].afterGap).toBe(true);
  });

  it('inside chunk data: subtracted; the chunk framing continues', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET /a HTTP/1.1\r\n\r\n');
    c.feed(false, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n' + 'a'.repeat(100));
    c.gap(false, 1000);
    c.feed(false, 'b'.repeat(948) + '\r\n3\r\nxyz\r\n0\r\n\r\n');
    expect(c.summary()).toEqual(['REQ GET /a', 'RESP 200']);
    expect(c.messages[1].attrs['http.response.body.size']).toBe(0x800 + 3);
    expect(info(c.messages[1]).incomplete).toBe(false);
  });

  it('inside a body delimited by the close: added to it', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET /stream HTTP/1.0\r\n\r\n');
    c.feed(false, 'HTTP/1.0 200 OK\r\n\r\nabc', 1);
    c.gap(false, 500);
    c.feed(false, 'def', 2);
    c.end(false, 3);
    expect(c.messages[1].attrs['http.response.body.size']).toBe(506);
    expect(c.messages[1]).toMatchObject({ startTs: 1, endTs: 3 });
  });
});

describe('gaps elsewhere: the partial message is reported cut, then resync', () => {
  it('inside a header section: the request is reported (incomplete), the next one is found', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET /a HTTP/1.1\r\nHost: h.example\r\nAcc', 1);
    c.gap(true, 700, 2);
    c.feed(true, 'ept: */*\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 1\r\n\r\n!', 3);
    expect(c.summary()).toEqual(['REQ GET /a', 'REQ POST /b']);
    expect(info(c.messages[0]).incomplete).toBe(true);
    expect(c.messages[0].attrs['server.address']).toBe('h.example'); // what was read before the hole
    expect(c.messages[0].attrs['http.request.body.size']).toBeUndefined();
    expect(c.messages[1]).toMatchObject({ afterGap: true, startTs: 3 });
    expect(c.anomalies).toEqual(['http1_gap', 'http1_incomplete_message']);
  });

  it('a request whose head was cut is still queued for its response (HEAD keeps its framing)', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'HEAD /h HTTP/1.1\r\nHo', 1);
    c.gap(true, 30, 1);
    c.feed(false, 'HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n', 2); // no body: it answers a HEAD
    c.feed(true, 'GET /g HTTP/1.1\r\n\r\n', 3);
    c.feed(false, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 4);
    expect(c.summary()).toEqual(['REQ HEAD /h', 'RESP 200', 'REQ GET /g', 'RESP 200']);
    expect(c.messages.filter((m) => m.type === 2).map((m) => info(m).method)).toEqual(['HEAD', 'GET']);
    expect(c.anomalies).not.toContain('http1_bad_start_line');
  });

  it('after a gap in the responses, a response answers the latest request that started before it', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'HEAD /1 HTTP/1.1\r\n\r\n', 1);
    c.feed(false, 'HTTP/1.1 200 OK\r\nContent-Le', 2);
    c.gap(false, 40, 3); // the rest of the HEAD response is lost
    c.feed(true, 'GET /2 HTTP/1.1\r\n\r\n', 4);
    c.feed(false, 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc', 5);
    // The second response is the GET's (it has a body): not taken for the HEAD's.
    expect(c.summary()).toEqual(['REQ HEAD /1', 'RESP 200', 'REQ GET /2', 'RESP 200']);
    expect(c.messages[3]).toMatchObject({ afterGap: true });
    expect(info(c.messages[3]).method).toBe('GET');
    expect(c.messages[3].attrs['http.response.body.size']).toBe(3);
    expect(c.anomalies).not.toContain('http1_bad_start_line');
  });

  it('a response never answers a request that started after it (orphan: method unknown)', () => {
    const c = new FakeContext(http1Parser);
    c.feed(false, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 5);
    c.feed(true, 'GET /later HTTP/1.1\r\n\r\n', 6);
    c.feed(false, 'HTTP/1.1 204 No Content\r\n\r\n', 7);
    expect(c.messages.map((m) => [m.type, info(m).method])).toEqual([[2, ''], [1, 'GET'], [2, 'GET']]);
  });

  it('resync finds a request glued to the tail of a lost body ("...}GET", "...xyzGET")', () => {
    for (const tail of ['{"a":1}', 'xyz', 'ABC']) {
      const c = new FakeContext(http1Parser);
      c.gap(true, 100);
      c.feed(true, `${tail}GET /found HTTP/1.1\r\nHost: h\r\n\r\n`);
      expect(c.summary(), tail).toEqual(['REQ GET /found']);
      expect(c.messages[0].afterGap).toBe(true);
      expect(c.messages[0].size).toBe('GET /found HTTP/1.1\r\nHost: h\r\n\r\n'.length);
    }
  });

  it('resync keeps a candidate start line that continues in the next segment', () => {
    const c = new FakeContext(http1Parser);
    c.gap(true, 10);
    expect(c.feed(true, 'junk junk\r\nGET /a-long-pa', 1)).toBe('junk junk\r\n'.length);
    c.feed(true, 'th?x=1 HTTP/1.1\r\n\r\n', 2);
    expect(c.summary()).toEqual(['REQ GET /a-long-path?x=1']);
    expect(c.messages[0]).toMatchObject({ startTs: 1, endTs: 2 });
  });

  it('resync is not fooled by words in a text body', () => {
    const c = new FakeContext(http1Parser);
    c.gap(true, 10);
    c.feed(true, 'GET IT NOW: an offer.\r\nPOST the form to /x HTTP or email\r\nPUT /real HTTP/1.1\r\n\r\n');
    expect(c.summary()).toEqual(['REQ PUT /real']);
    c.gap(false, 10);
    c.feed(false, 'see HTTP/1.1 spec; HTTP/1.1 2xx codes\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n');
    expect(c.summary()).toEqual(['REQ PUT /real', 'RESP 201']);
  });

  it('garbage where a start line should be: counted once, then resynchronised', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, '\u0000\u0001\u0002binary\u00ff\r\nmore garbage\r\nGET /ok HTTP/1.1\r\n\r\n');
    expect(c.summary()).toEqual(['REQ GET /ok']);
    expect(c.anomalies).toEqual(['http1_bad_start_line']);
  });
});

describe('the end of a direction', () => {
  it('a request cut inside its body is reported incomplete, ending at the end time', () => {
    const c = new FakeContext(http1Parser);
    const head = 'PUT /f HTTP/1.1\r\nContent-Length: 1000\r\n\r\n';
    c.feed(true, head + 'a'.repeat(10), 1);
    expect(c.summary()).toEqual(['REQ PUT /f']); // emitted at the end of its head
    c.end(true, 7);
    expect(c.messages.length).toBe(1); // completed in place, not emitted twice
    expect(c.messages[0]).toMatchObject({ startTs: 1, endTs: 7, size: head.length + 10 });
    expect(info(c.messages[0]).incomplete).toBe(true);
    expect(c.messages[0].attrs['http.request.body.size']).toBeUndefined();
    expect(c.anomalies).toEqual(['http1_incomplete_message']);
  });

  it('a request line cut before its end still gives a request with its method', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'DELETE /items/4', 1);
    c.end(true, 2);
    expect(c.messages.length).toBe(1);
    expect(c.messages[0].attrs).toEqual({ 'http.request.method': 'DELETE', 'network.protocol.name': 'http' });
    expect(info(c.messages[0])).toMatchObject({ method: 'DELETE', statusCode: 0, incomplete: true });
  });

  it('a status line cut before its end still gives a response with its status', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GET / HTTP/1.1\r\n\r\n', 1);
    c.feed(false, 'HTTP/1.1 503 Service Unav', 2);
    c.end(false, 3);
    expect(c.summary()).toEqual(['REQ GET /', 'RESP 503']);
    expect(info(c.messages[1])).toMatchObject({ method: 'GET', statusCode: 503, incomplete: true });
  });

  it('an interim response cut short is not a message (and takes no request from the queue)', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'PUT /u HTTP/1.1\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n');
    c.feed(false, 'HTTP/1.1 100 Continue\r\nX-A');
    c.gap(false, 10);
    c.feed(false, 'HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n');
    expect(c.summary()).toEqual(['REQ PUT /u', 'RESP 201']);
    expect((c.messages[1].info as Http1Info).method).toBe('PUT');
    c.feed(false, 'HTTP/1.1 100 Cont');
    c.end(false);
    expect(c.messages.length).toBe(2);
  });

  it('nothing is reported for a few bytes that cannot be told apart', () => {
    const c = new FakeContext(http1Parser);
    c.feed(true, 'GE');
    c.end(true);
    c.feed(false, 'HTTP/1');
    c.end(false);
    expect(c.messages).toEqual([]);
  });
});

describe('robustness', () => {
  it('a 60 KiB header line delivered a byte at a time is linear work (no rescanning)', () => {
    const c = new FakeContext(http1Parser);
    const msg = 'GET / HTTP/1.1\r\nX-Big: ' + 'v'.repeat(60 * 1024) + '\r\n\r\n';
    const t0 = performance.now();
    const b = Buffer.from(msg, 'latin1');
    for (let i = 0; i < b.length; i++) c.feed(true, b.subarray(i, i + 1));
    // FakeContext itself copies the held bytes on each call (quadratic in the test harness only):
    // the bound is loose, the point is that the parser adds no rescanning of its own.
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(c.summary()).toEqual(['REQ GET /']);
  });

  it('calls after a stop or a hand-over consume everything and change nothing', () => {
    const ctx = new FakeContext(http1Parser);
    ctx.feed(true, 'CONNECT a:443 HTTP/1.1\r\n\r\n');
    ctx.feed(false, 'HTTP/1.1 200 OK\r\n\r\n');
    const s = ctx.session;
    const junk = Buffer.from('GET / HTTP/1.1\r\n\r\n');
    expect(s.parse(true, junk, 0, junk.length)).toBe(junk.length);
    s.onGap(true, 5);
    s.onEnd(true);
    expect(ctx.messages.length).toBe(2);
  });

  it('zero-length parse calls and empty gaps are harmless (no resync, no anomaly)', () => {
    const c = new FakeContext(http1Parser);
    const b = Buffer.from('GET / HTTP/1.1\r\n\r\n');
    expect(c.session.parse(true, b, 0, 0)).toBe(0);
    c.gap(true, 0);
    c.feed(true, b);
    expect(c.summary()).toEqual(['REQ GET /']);
    expect(c.messages[0].afterGap).toBe(false);
    expect(c.anomalies).toEqual([]);
  });
});

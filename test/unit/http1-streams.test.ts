/**
 * HTTP/1 parser on whole streams: split points, generated conversations, fuzzing.
 *
 * The generator writes a keep-alive conversation (pipelined requests with Content-Length or chunked
 * bodies, extensions, trailers, obs-fold, bare LF lines; interim 1xx responses, HEAD / 204 / 304,
 * a last response delimited by the close) and keeps its own model of every message: method, target,
 * status, body size, wire size, and the byte range it occupies. That model is the oracle: the parser
 * must give the same messages however the bytes are cut, with start/end times that are the times of
 * the pieces holding each message's first and last byte.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { L7Message } from '../../core/l7/types.js';
import { MSG_REQUEST } from '../../core/l7/types.js';
import type { Http1Info } from '../../parsers/http1/index.js';
import { http1Parser } from '../../parsers/http1/index.js';
import { FakeContext } from '../helpers/fake-parser-context.js';

interface Expected {
  request: boolean;
  /** http.request.method / status code */
  method: string;
  target: string;
  status: number;
  bodySize: number;
  /** Byte range of the message in its direction's stream. */
  start: number;
  end: number;
  /** The message ends with the connection (its end time is the end call's). */
  untilClose: boolean;
}

interface Conversation {
  requests: string;
  responses: string;
  expected: Expected[];
}

const KNOWN = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);

const headerNameArb = fc.constantFrom('Accept', 'accept-encoding', 'X-Trace', 'Cache-Control', 'COOKIE', 'x-custom-header', 'If-None-Match');
const headerValueArb = fc.stringMatching(/^[!-~]([ -~]{0,20}[!-~])?$/);
const bodyArb = fc.oneof(
  fc.record({ kind: fc.constant('none' as const) }),
  fc.record({ kind: fc.constant('length' as const), size: fc.nat({ max: 300 }) }),
  fc.record({
    kind: fc.constant('chunked' as const),
    chunks: fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 4 }),
    ext: fc.boolean(),
    upper: fc.boolean(),
    trailers: fc.boolean(),
  }),
);
const requestArb = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'QUERY', 'PROPFIND', 'M-SEARCH'),
  path: fc.array(fc.stringMatching(/^[a-z0-9._~-]{1,8}$/), { maxLength: 3 }).map((s) => '/' + s.join('/')),
  query: fc.option(fc.stringMatching(/^[a-z0-9=&]{0,12}$/), { nil: undefined }),
  version: fc.constantFrom('1.1', '1.1', '1.0'),
  headers: fc.array(fc.tuple(headerNameArb, headerValueArb), { maxLength: 4 }),
  fold: fc.boolean(),
  bareLf: fc.boolean(),
  body: bodyArb,
  interim: fc.array(fc.constantFrom(100, 102, 103), { maxLength: 2 }),
  status: fc.constantFrom(200, 201, 204, 304, 404, 500),
  respBody: bodyArb,
});

type Body = { kind: 'none' } | { kind: 'length'; size: number } | { kind: 'chunked'; chunks: number[]; ext: boolean; upper: boolean; trailers: boolean };

/** Header lines and body bytes for a body description; returns [headers, body, decodedSize]. */
function writeBody(b: Body, fill: string): [string, string, number] {
  if (b.kind === 'none') return ['', '', 0];
  if (b.kind === 'length') return [`Content-Length: ${b.size}\r\n`, fill.repeat(b.size), b.size];
  let body = '';
  let size = 0;
  for (const n of b.chunks) {
    const hex = b.upper ? n.toString(16).toUpperCase() : n.toString(16);
    body += `${hex}${b.ext ? ';name="v"' : ''}\r\n${fill.repeat(n)}\r\n`;
    size += n;
  }
  body += `0\r\n${b.trailers ? 'Expires: never\r\n' : ''}\r\n`;
  return ['Transfer-Encoding: chunked\r\n', body, size];
}

type GeneratedRequest = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

function conversationOf(reqs: GeneratedRequest[], closeLast: boolean): Conversation {
  let requests = '';
  let responses = '';
  const expReq: Expected[] = [];
  const expResp: Expected[] = [];
  reqs.forEach((r, i) => {
    const target = r.path + (r.query !== undefined ? `?${r.query}` : '');
    const eol = r.bareLf ? '\n' : '\r\n';
    let head = `${r.method} ${target} HTTP/${r.version}${eol}Host: h${i}.example${eol}`;
    for (const [n, v] of r.headers) head += `${n}: ${v}${eol}`;
    if (r.fold) head += `X-Folded: a${eol} b${eol}`;
    const [bh, body, size] = writeBody(r.body as Body, 'q');
    head += bh + eol;
    const start = requests.length;
    requests += head + body;
    expReq.push({ request: true, method: KNOWN.has(r.method) ? r.method : '_OTHER', target, status: 0, bodySize: size, start, end: requests.length, untilClose: false });

    for (const s of r.interim) responses += `HTTP/1.1 ${s} Interim\r\n\r\n`;
    const noBody = r.method === 'HEAD' || r.status === 204 || r.status === 304;
    const last = i === reqs.length - 1;
    let rhead = `HTTP/1.1 ${r.status} Reason Phrase\r\nServer: gen\r\n`;
    let rbody = '';
    let rsize = 0;
    let untilClose = false;
    if (noBody) {
      if (r.respBody.kind === 'length') rhead += `Content-Length: ${r.respBody.size}\r\n`;
    } else if (last && closeLast) {
      rbody = 'c'.repeat(r.respBody.kind === 'length' ? r.respBody.size : 17);
      rsize = rbody.length;
      untilClose = true;
    } else {
      const rb: Body = r.respBody.kind === 'none' ? { kind: 'length', size: 0 } : (r.respBody as Body);
      const [h, b, n] = writeBody(rb, 'r');
      rhead += h;
      rbody = b;
      rsize = n;
    }
    rhead += '\r\n';
    const rstart = responses.length;
    responses += rhead + rbody;
    expResp.push({ request: false, method: '', target: '', status: r.status, bodySize: rsize, start: rstart, end: responses.length, untilClose });
  });
  return { requests, responses, expected: [...expReq, ...expResp] };
}

/** Cuts `s` at the given positions (sorted, deduplicated). */
function pieces(s: string, cuts: number[]): { text: string; start: number }[] {
  const pos = [...new Set(cuts.filter((c) => c > 0 && c < s.length))].sort((a, b) => a - b);
  const out: { text: string; start: number }[] = [];
  let prev = 0;
  for (const c of [...pos, s.length]) {
    if (c > prev) out.push({ text: s.slice(prev, c), start: prev });
    prev = c;
  }
  return out;
}

interface Run {
  messages: L7Message[];
  /** Time stamp of the piece holding byte i of each direction. */
  tsOf: [number[], number[]];
  endTs: number;
  anomalies: string[];
}

/** Feeds all requests then all responses (each piece at its own time), then ends both directions. */
function run(conv: Conversation, reqCuts: number[], respCuts: number[]): Run {
  const c = new FakeContext(http1Parser);
  const tsOf: [number[], number[]] = [[], []];
  let ts = 1;
  for (const [dir, s, cuts] of [[0, conv.requests, reqCuts], [1, conv.responses, respCuts]] as const) {
    for (const p of pieces(s, cuts)) {
      for (let i = 0; i < p.text.length; i++) tsOf[dir][p.start + i] = ts;
      c.feed(dir === 0, p.text, ts);
      ts++;
    }
  }
  const endTs = ts;
  c.end(true, endTs);
  c.end(false, endTs);
  return { messages: c.messages, tsOf, endTs, anomalies: c.anomalies };
}

/** The comparable content of a message (times apart). */
function view(m: L7Message) {
  const i = m.info as Http1Info;
  return {
    request: m.type === MSG_REQUEST,
    method: m.type === MSG_REQUEST ? i.method : '',
    target: m.type === MSG_REQUEST ? `${m.attrs['url.path']}${m.attrs['url.query'] !== undefined ? `?${m.attrs['url.query']}` : ''}` : '',
    status: i.statusCode,
    bodySize: m.attrs[m.type === MSG_REQUEST ? 'http.request.body.size' : 'http.response.body.size'],
    size: m.size,
    incomplete: i.incomplete,
  };
}

function check(conv: Conversation, r: Run): void {
  const reqs = r.messages.filter((m) => m.type === MSG_REQUEST);
  const resps = r.messages.filter((m) => m.type !== MSG_REQUEST);
  const got = [...reqs, ...resps];
  expect(got.map(view)).toEqual(
    conv.expected.map((e) => ({
      request: e.request,
      method: e.method,
      target: e.target,
      status: e.status,
      bodySize: e.bodySize,
      size: e.end - e.start,
      incomplete: false,
    })),
  );
  got.forEach((m, k) => {
    const e = conv.expected[k];
    const tsOf = r.tsOf[e.request ? 0 : 1];
    expect(m.startTs, `start of message ${k}`).toBe(tsOf[e.start]);
    expect(m.endTs, `end of message ${k}`).toBe(e.untilClose ? r.endTs : tsOf[e.end - 1]);
  });
  expect(r.anomalies.filter((a) => a !== 'http1_obs_fold')).toEqual([]);
}

const FIXED = conversationOf(
  [
    { method: 'GET', path: '/a', query: 'x=1', version: '1.1', headers: [['Accept', '*/*']], fold: false, bareLf: false, body: { kind: 'none' }, interim: [], status: 200, respBody: { kind: 'length', size: 5 } },
    { method: 'POST', path: '/b', query: undefined, version: '1.1', headers: [], fold: true, bareLf: false, body: { kind: 'chunked', chunks: [3, 17], ext: true, upper: true, trailers: true }, interim: [100], status: 201, respBody: { kind: 'chunked', chunks: [26, 1], ext: false, upper: false, trailers: false } },
    { method: 'HEAD', path: '/c', query: undefined, version: '1.1', headers: [], fold: false, bareLf: true, body: { kind: 'none' }, interim: [], status: 200, respBody: { kind: 'length', size: 999 } },
    { method: 'PROPFIND', path: '/d', query: '', version: '1.1', headers: [['x-custom-header', 'v']], fold: false, bareLf: false, body: { kind: 'length', size: 4 }, interim: [102, 103], status: 304, respBody: { kind: 'none' } },
    { method: 'GET', path: '/e', query: undefined, version: '1.0', headers: [], fold: false, bareLf: false, body: { kind: 'none' }, interim: [], status: 200, respBody: { kind: 'length', size: 13 } },
  ],
  true,
);

describe('split points', () => {
  it('the whole conversation in one piece per direction matches the model', () => {
    check(FIXED, run(FIXED, [], []));
  });

  it('cut at every single point of either direction: the same messages, times of the right pieces', () => {
    for (let i = 1; i < FIXED.requests.length; i++) check(FIXED, run(FIXED, [i], []));
    for (let i = 1; i < FIXED.responses.length; i++) check(FIXED, run(FIXED, [], [i]));
  });

  it('delivered one byte at a time: the same', () => {
    const every = (s: string) => Array.from({ length: s.length }, (_, i) => i);
    check(FIXED, run(FIXED, every(FIXED.requests), every(FIXED.responses)));
  });
});

describe('generated conversations (fast-check)', () => {
  it('any conversation, cut anywhere, gives the model messages', () => {
    fc.assert(
      fc.property(
        fc.array(requestArb, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (reqs, closeLast, rc, pc) => {
          const conv = conversationOf(reqs, closeLast);
          const reqCuts = rc.map((x) => x % (conv.requests.length + 1));
          const respCuts = pc.map((x) => x % (conv.responses.length + 1));
          check(conv, run(conv, reqCuts, respCuts));
        },
      ),
      { numRuns: 400, seed: 20261122 },
    );
  });
});

describe('fuzzing (fast-check)', () => {
  interface Op {
    toServer: boolean;
    kind: 'data' | 'gap' | 'end';
    n: number;
  }
  const opArb: fc.Arbitrary<Op> = fc.record({
    toServer: fc.boolean(),
    kind: fc.constantFrom('data', 'data', 'data', 'data', 'gap', 'end'),
    n: fc.nat({ max: 400 }),
  });

  /** Drives a session with a byte source per direction; the fake context checks consumed counts. */
  function drive(src: [Uint8Array, Uint8Array], ops: Op[], options: Record<string, unknown>) {
    const c = new FakeContext(http1Parser, options);
    const pos = [0, 0];
    let ts = 0;
    for (const op of ops) {
      ts += 1;
      const d = op.toServer ? 0 : 1;
      if (op.kind === 'data') {
        const s = src[d];
        const e = Math.min(s.length, pos[d] + op.n);
        c.feed(op.toServer, s.subarray(pos[d], e), ts); // throws on a consumed count outside 0..length
        pos[d] = e;
      } else if (op.kind === 'gap') {
        c.gap(op.toServer, op.n, ts);
        pos[d] = Math.min(src[d].length, pos[d] + op.n);
      } else {
        c.end(op.toServer, ts);
      }
    }
    c.feed(true, src[0].subarray(pos[0]), ts + 1);
    c.feed(false, src[1].subarray(pos[1]), ts + 1);
    c.end(true, ts + 2);
    c.end(false, ts + 2);
    for (const m of c.messages) {
      expect(m.endTs).toBeGreaterThanOrEqual(m.startTs);
      expect(m.size).toBeGreaterThanOrEqual(0);
      const i = m.info as Http1Info;
      expect(typeof i.method).toBe('string');
      expect(Number.isInteger(i.statusCode)).toBe(true);
      for (const v of Object.values(m.attrs)) expect(['string', 'number']).toContain(typeof v);
    }
  }

  const options = fc.constantFrom({}, { maxHeaderBytes: 256 }, { maxPendingRequests: 2 }, { knownMethods: ['GET'] });

  it('mutated conversations: never throw, never hang, consumed counts within bounds', () => {
    fc.assert(
      fc.property(
        fc.array(requestArb, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 20 }),
        fc.array(opArb, { maxLength: 40 }),
        options,
        (reqs, flips, ops, opts) => {
          const conv = conversationOf(reqs, false);
          const a = Uint8Array.from(Buffer.from(conv.requests, 'latin1'));
          const b = Uint8Array.from(Buffer.from(conv.responses, 'latin1'));
          for (const [p, v] of flips) {
            const t = p % 2 === 0 ? a : b;
            if (t.length > 0) t[p % t.length] = v;
          }
          drive([a, b], ops, opts);
        },
      ),
      { numRuns: 400, seed: 7 },
    );
  });

  it('random bytes and HTTP-looking noise: never throw, never hang', () => {
    const noise = fc.array(
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom('GET ', 'HTTP/1.1 ', '200 ', '\r\n', '\n', ':', 'Content-Length: ', 'Transfer-Encoding: chunked\r\n', '0\r\n', 'ffffffffffffff\r\n', ' /x ', 'HTTP/1.0 101 ', 'Upgrade: h2c\r\n', 'HEAD / HTTP/1.1\r\n\r\n').map((s) => Uint8Array.from(Buffer.from(s, 'latin1'))),
      ),
      { maxLength: 40 },
    );
    const join = (parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));
    fc.assert(
      fc.property(noise, noise, fc.array(opArb, { maxLength: 40 }), options, (x, y, ops, opts) => {
        drive([join(x), join(y)], ops, opts);
      }),
      { numRuns: 600, seed: 3 },
    );
  });
});

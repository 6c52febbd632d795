#!/usr/bin/env node
// Synthetic HTTP/2 + gRPC capture generator for the HTTP/2 replay benchmark.
//
//   node benchmarks/http2/gen.mjs OUT.pcap [--packets N] [--connections C] [--streams K] [--seed S]
//
// Writes a classic pcap (microsecond timestamps, Ethernet / IPv4 / TCP) of cleartext HTTP/2 (h2c, prior
// knowledge): C connections (default 32) are open at any moment, their packets interleaved in time. Each
// does a 3-way handshake, the client preface, SETTINGS both ways (+ ACKs), then runs streams with up to K
// (default 64, at least 10) open at once: frames of different streams interleave inside and across TCP
// segments, responses complete out of order. Half the connections carry gRPC (POST, content-type
// application/grpc, te: trailers, length-prefixed messages, unary and streaming calls, trailers with
// grpc-status 0 / 5 / 14, some trailers-only responses), the others plain HTTP/2 (GET/POST, statuses
// 200/404/500/503, bodies in several DATA frames, some padded). ~2% of streams are cancelled by the client
// (RST_STREAM CANCEL) before their response; WINDOW_UPDATE and PING now and then; a GOAWAY (NO_ERROR,
// last stream id = the highest opened) before the FIN of each connection.
//
// Header blocks are real HPACK (RFC 7541): static-table references, literals with incremental indexing
// (so the dynamic table fills and evicts across a connection's requests), literals without indexing,
// Huffman-coded strings, and a CONTINUATION frame for every 16th request block. The Huffman table comes
// from spanwire's dist/parsers/http2/huffman.js (RFC 7541 Appendix B): the runner checks the result with
// tshark (stream counts and statuses), an independent decoder.
//
// Sequence/ack numbers and IPv4/TCP checksums are correct. Output is streamed through one reused buffer.
// Next to OUT.pcap it writes OUT.pcap.truth.json: packets, connections, streams (= spans), gRPC calls,
// per HTTP status, per gRPC status, resets.
//
// Plain Node ESM; needs `npm run build` (for the Huffman table).

import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Conversation, PcapWriter, interleave, pick, rand, randInt, seedRandom } from '../gen-lib.mjs';
import { DIST } from '../lib.mjs';

const { HUFFMAN_CODES, HUFFMAN_LENGTHS } = await import(pathToFileURL(join(DIST, 'parsers', 'http2', 'huffman.js')).href);

const USAGE =
  'usage: node benchmarks/http2/gen.mjs OUT.pcap [--packets N] [--connections C] [--streams K] [--seed S]\n' +
  '  --packets N      stop starting new streams after N packets (default 300000)\n' +
  '  --connections C  concurrent connections (default 32)\n' +
  '  --streams K      concurrent streams per connection (default 64, >= 10)\n' +
  '  --seed S         PRNG seed (default 1): the same arguments always give the same file\n';

function fail(msg) {
  process.stderr.write(`gen.mjs: ${msg}\n${USAGE}`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { out: '', packets: 300_000, connections: 32, streams: 64, seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n <= 0) fail(`${a} needs a positive integer`);
      return n;
    };
    if (a === '--packets') o.packets = num();
    else if (a === '--connections') o.connections = num();
    else if (a === '--streams') o.streams = Math.max(10, num());
    else if (a === '--seed') o.seed = num();
    else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else if (a.startsWith('-')) fail(`unknown option ${a}`);
    else if (!o.out) o.out = a;
    else fail(`unexpected argument ${a}`);
  }
  if (!o.out) fail('missing OUT.pcap');
  return o;
}

// ---- HPACK encoder (RFC 7541) ---------------------------------------------------------------------------
const STATIC = {
  ':method GET': 2,
  ':method POST': 3,
  ':path /': 4,
  ':scheme http': 6,
  ':status 200': 8,
  ':status 404': 13,
  ':status 500': 14,
};
const STATIC_NAME = { ':authority': 1, ':method': 2, ':path': 4, ':scheme': 6, ':status': 8, 'content-type': 31, 'user-agent': 58, 'content-length': 28, date: 33 };

function int(out, v, prefix, first) {
  const max = (1 << prefix) - 1;
  if (v < max) return out.push(first | v);
  out.push(first | max);
  v -= max;
  while (v >= 128) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

function huffman(s) {
  const out = [];
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const len = HUFFMAN_LENGTHS[c];
    const code = HUFFMAN_CODES[c];
    for (let k = len - 1; k >= 0; k--) {
      acc = (acc << 1) | (Math.floor(code / 2 ** k) & 1);
      if (++bits === 8) {
        out.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) out.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff);
  return out;
}

function str(out, s, huff) {
  if (huff) {
    const h = huffman(s);
    int(out, h.length, 7, 0x80);
    for (const b of h) out.push(b);
  } else {
    int(out, s.length, 7, 0);
    for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
  }
}

/** One encoder per connection direction: a dynamic table mirrored to reuse entries like a real encoder. */
class Encoder {
  constructor() {
    this.entries = []; // newest first: "name value"
    this.sizes = [];
    this.size = 0;
  }
  encode(headers) {
    const out = [];
    for (const [name, value, mode] of headers) {
      const key = `${name} ${value}`;
      const st = STATIC[key];
      if (st) {
        int(out, st, 7, 0x80);
        continue;
      }
      const dyn = this.entries.indexOf(key);
      if (dyn >= 0) {
        int(out, 62 + dyn, 7, 0x80);
        continue;
      }
      const nameIdx = STATIC_NAME[name] ?? 0;
      const huff = rand() < 0.5;
      if (mode === 'index') int(out, nameIdx, 6, 0x40);
      else int(out, nameIdx, 4, 0x00);
      if (nameIdx === 0) str(out, name, huff);
      str(out, value, huff);
      if (mode === 'index') this.add(key, 32 + name.length + value.length);
    }
    return out;
  }
  add(key, size) {
    this.entries.unshift(key);
    this.sizes.unshift(size);
    this.size += size;
    while (this.size > 4096) {
      this.entries.pop();
      this.size -= this.sizes.pop();
    }
  }
}

// ---- frames ---------------------------------------------------------------------------------------------
const DATA = 0, HEADERS = 1, RST = 3, SETTINGS = 4, PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8, CONTINUATION = 9;
const u32 = (n) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
function frame(type, flags, sid, payload) {
  const n = payload.length;
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff, type, flags, ...u32(sid), ...payload];
}
const PREFACE = [...Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')];
const grpcMsg = (len) => [0, ...u32(len), ...new Array(len).fill(0x42)];

const SERVICES = ['shop.Cart/GetCart', 'shop.Cart/AddItem', 'shop.Catalog/ListProducts', 'shop.Catalog/Search', 'auth.Tokens/Check', 'feed.Feed/Watch'];
const PATHS = ['/', '/api/v1/users', '/api/v1/orders', '/static/app.js', '/static/logo.png', '/search', '/health'];

function main() {
  const opts = parseArgs(process.argv.slice(2));
  seedRandom(opts.seed);
  const out = new PcapWriter(opts.out);
  const truth = {
    generator: 'benchmarks/http2/gen.mjs',
    args: { packets: opts.packets, connections: opts.connections, streams: opts.streams, seed: opts.seed },
    file: basename(opts.out),
    packets: 0,
    bytes: 0,
    connections: 0,
    streams: 0,
    grpcCalls: 0,
    resets: 0,
    maxConcurrentStreams: 0,
    byStatus: {},
    byGrpcStatus: {},
  };
  const inc = (o, k) => (o[k] = (o[k] ?? 0) + 1);
  const clock = { us: Date.UTC(2026, 10, 22, 12, 0, 0) * 1000 };
  const budget = () => out.packets >= opts.packets;
  let connSeq = 0;

  /** A connection as a generator of steps (one TCP write per step). */
  function* connection() {
    const n = connSeq++;
    truth.connections++;
    const grpc = n % 2 === 0;
    const conv = new Conversation(out, clock, (10 << 24) | (1 << 16) | ((n % 60000) + 1), 20000 + (n % 40000), (10 << 24) | 200, grpc ? 50051 : 8080);
    conv.open();
    const send = (fromClient, bytes) => conv.send(fromClient, bytes);
    yield;
    const cenc = new Encoder();
    const senc = new Encoder();
    send(true, [...PREFACE, ...frame(SETTINGS, 0, 0, [0, 3, ...u32(100), 0, 4, ...u32(1 << 20)])]);
    send(false, [...frame(SETTINGS, 0, 0, [0, 3, ...u32(250)]), ...frame(SETTINGS, 1, 0, [])]);
    send(true, frame(SETTINGS, 1, 0, []));
    yield;
    const total = randInt(40, 400);
    let nextId = 1;
    let started = 0;
    const open = [];
    const opening = [];
    const authority = grpc ? `svc-${n % 7}.internal:50051` : `www-${n % 5}.example.com`;
    while (started < total || open.length > 0) {
      // Open new streams up to the concurrency (stop opening once the packet budget is reached).
      while (started < total && !budget() && open.length < opts.streams && (open.length < 10 || rand() < 0.5)) {
        const id = nextId;
        nextId += 2;
        started++;
        truth.streams++;
        const st = { id, grpc, steps: [] };
        const reqHeaders = [];
        if (grpc) {
          truth.grpcCalls++;
          const svc = pick(SERVICES);
          reqHeaders.push([':method', 'POST'], [':scheme', 'http'], [':path', `/${svc}`, 'index'], [':authority', authority, 'index'], ['content-type', 'application/grpc', 'index'], ['te', 'trailers', 'index'], ['user-agent', 'grpc-go/1.64.0', 'index']);
          if (rand() < 0.3) reqHeaders.push(['grpc-timeout', `${randInt(1, 9999)}m`, 'plain']);
          if (rand() < 0.3) reqHeaders.push(['traceparent', `00-${hex(32)}-${hex(16)}-01`, 'plain']);
          const reqMsgs = svc === 'feed.Feed/Watch' || rand() < 0.1 ? randInt(2, 5) : 1;
          const respMsgs = svc === 'feed.Feed/Watch' ? randInt(3, 8) : 1;
          st.steps.push(['c', headersFrames(id, cenc.encode(reqHeaders), false, started)]);
          for (let i = 0; i < reqMsgs; i++) st.steps.push(['c', frame(DATA, i === reqMsgs - 1 ? 1 : 0, id, grpcMsg(randInt(10, 300)))]);
          const cancel = rand() < 0.02;
          if (cancel) {
            st.steps.push(['c', frame(RST, 0, id, u32(8))]);
            truth.resets++;
            inc(truth.byStatus, 'none');
          } else {
            const code = rand() < 0.9 ? 0 : pick([5, 14]);
            inc(truth.byGrpcStatus, code);
            inc(truth.byStatus, 200);
            if (code !== 0 && rand() < 0.5) {
              // Trailers-only response.
              st.steps.push(['s', () => frame(HEADERS, 5, id, senc.encode([[':status', '200'], ['content-type', 'application/grpc', 'index'], ['grpc-status', String(code), 'plain'], ['grpc-message', 'not%20here', 'plain']]))]);
            } else {
              st.steps.push(['s', () => frame(HEADERS, 4, id, senc.encode([[':status', '200'], ['content-type', 'application/grpc', 'index'], ['grpc-accept-encoding', 'identity,gzip', 'index']]))]);
              for (let i = 0; i < (code === 0 ? respMsgs : 0); i++) st.steps.push(['s', frame(DATA, 0, id, grpcMsg(randInt(20, 2000)))]);
              st.steps.push(['s', () => frame(HEADERS, 5, id, senc.encode([['grpc-status', String(code), 'plain'], ...(code ? [['grpc-message', 'unavailable', 'plain']] : [])]))]);
            }
          }
        } else {
          const post = rand() < 0.25;
          const path = `${pick(PATHS)}${rand() < 0.3 ? `?page=${randInt(1, 50)}` : ''}`;
          reqHeaders.push([':method', post ? 'POST' : 'GET'], [':scheme', 'http'], [':path', path, 'index'], [':authority', authority, 'index'], ['user-agent', 'Mozilla/5.0 (X11; Linux x86_64) bench', 'index'], ['accept', '*/*', 'index']);
          if (post) reqHeaders.push(['content-type', 'application/json', 'index']);
          st.steps.push(['c', headersFrames(id, cenc.encode(reqHeaders), !post, started)]);
          if (post) st.steps.push(['c', frame(DATA, 1, id, new Array(randInt(20, 900)).fill(0x7b))]);
          if (rand() < 0.02) {
            st.steps.push(['c', frame(RST, 0, id, u32(8))]);
            truth.resets++;
            inc(truth.byStatus, 'none');
          } else {
            const status = rand() < 0.85 ? 200 : pick([404, 500, 503]);
            inc(truth.byStatus, status);
            const len = status === 200 ? randInt(100, 12000) : 50;
            st.steps.push(['s', () => frame(HEADERS, 4, id, senc.encode([[':status', String(status)], ['content-type', 'text/html', 'index'], ['content-length', String(len), 'plain'], ['server', 'bench', 'index']]))]);
            let left = len;
            while (left > 0) {
              const chunk = Math.min(left, randInt(500, 4000));
              left -= chunk;
              const pad = rand() < 0.1 ? randInt(1, 30) : -1;
              const payload = pad >= 0 ? [pad, ...new Array(chunk).fill(0x3c), ...new Array(pad).fill(0)] : new Array(chunk).fill(0x3c);
              st.steps.push(['s', frame(DATA, (left === 0 ? 1 : 0) | (pad >= 0 ? 8 : 0), id, payload)]);
            }
          }
        }
        // The HEADERS go out now, in stream-id order (a client opens streams in increasing order).
        opening.push(...st.steps.shift()[1]);
        open.push(st);
      }
      if (opening.length > 0) {
        send(true, opening);
        opening.length = 0;
        yield;
      }
      truth.maxConcurrentStreams = Math.max(truth.maxConcurrentStreams, open.length);
      if (open.length === 0) break;
      // One TCP write: the next steps of 1-4 random open streams from the same side, coalesced.
      const ready = open.filter((x) => x.steps.length > 0);
      if (ready.length === 0) {
        open.length = 0;
        continue;
      }
      const first = pick(ready);
      const side = first.steps[0][0];
      const bytes = [];
      for (let k = randInt(1, 4); k > 0; k--) {
        const cands = open.filter((s) => s.steps.length > 0 && s.steps[0][0] === side);
        if (cands.length === 0) break;
        const s = k === 4 ? first : pick(cands);
        if (s.steps.length === 0 || s.steps[0][0] !== side) continue;
        // Header blocks are encoded when sent: the dynamic table follows the wire order.
        const step = s.steps.shift()[1];
        bytes.push(...(typeof step === 'function' ? step() : step));
      }
      if (rand() < 0.05) bytes.push(...frame(WINDOW_UPDATE, 0, 0, u32(65536)));
      if (rand() < 0.01) bytes.push(...frame(PING, 0, 0, [...u32(0), ...u32(n)]));
      send(side === 'c', bytes);
      for (let i = open.length - 1; i >= 0; i--) if (open[i].steps.length === 0) open.splice(i, 1);
      yield;
    }
    send(false, frame(GOAWAY, 0, 0, [...u32(nextId - 2), ...u32(0)]));
    conv.close();
  }

  function headersFrames(id, block, endStream, n) {
    const es = endStream ? 1 : 0;
    if (n % 16 !== 0 || block.length < 8) return frame(HEADERS, 4 | es, id, block);
    const cut = block.length >> 1;
    return [...frame(HEADERS, es, id, block.slice(0, cut)), ...frame(CONTINUATION, 4, id, block.slice(cut))];
  }

  interleave(opts.connections, budget, connection);
  out.close();
  truth.packets = out.packets;
  truth.bytes = out.bytes;
  writeFileSync(`${opts.out}.truth.json`, `${JSON.stringify(truth, null, 2)}\n`);
  process.stderr.write(`gen.mjs: ${opts.out}: ${truth.packets} packets, ${truth.connections} connections, ${truth.streams} streams (${truth.grpcCalls} gRPC)\n`);
}

function hex(n) {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(rand() * 16)];
  return s;
}

main();

#!/usr/bin/env node
// Synthetic HTTP/2 + gRPC capture generator for the HTTP/2 replay benchmark.
//
//   node benchmarks/http2/gen.mjs OUT.pcap [--packets N] [--connections C] [--streams K] [--seed S]
//
// Writes a classic pcap (microsecond timestamps, Ethernet / IPv4 / TCP) of cleartext HTTP/2 (h2c with prior
// knowledge): C connections (default 32) are open at any moment, their packets interleaved in time. Each does
// a 3-way handshake, the client preface, SETTINGS both ways (+ ACKs) and connection WINDOW_UPDATEs, then
// runs 40-400 streams with up to K (default 64, at least 10) open at once: the client opens streams in
// increasing id order, each TCP write carries the next frames of 1-4 random open streams of one side, so
// frames of different streams interleave inside and across TCP segments and responses complete out of
// order. Half the connections (port 50051) carry gRPC: POST, content-type application/grpc, te: trailers,
// length-prefixed protobuf messages (valid wire format), unary, client-streaming (2-6 messages, some
// coalesced in one DATA frame), server-streaming (3-10) and large (20-60 KB, split across DATA frames)
// calls, grpc-timeout in 4 units, traceparent; trailers with grpc-status 0 and 3/4/5/7/13/14 (+ a
// percent-encoded grpc-message), and trailers-only responses for half of the failures. The other half
// (port 8080) carry plain HTTP/2: GET/POST with JSON bodies, 200/404/500/503, bodies split in several DATA
// frames. Around them: DATA and HEADERS padding, HEADERS with PRIORITY, CONTINUATION frames, WINDOW_UPDATE
// on the connection as data is consumed, PING / PING ACK; ~2% of streams cancelled by the client before
// their response and ~1% in the middle of it (RST_STREAM CANCEL), ~0.5% refused by the server
// (RST_STREAM REFUSED_STREAM); a GOAWAY (NO_ERROR, last stream id) before the FIN of 3 connections in 4.
//
// Header blocks are real HPACK (RFC 7541), encoded here: static-table references, literals with
// incremental indexing (request ids, paths with ids, etags: the 4096-byte dynamic table evicts across a
// connection's requests), name references into the static and the dynamic table, literals without indexing
// and never indexed (cookie, authorization), a dynamic table size update (to 2048) opening the first
// request block of 1 connection in 4, and Huffman-coded strings (when shorter, 85% of the time). The
// Huffman code is RFC 7541 Appendix B, held below as its 257 code lengths (the code is canonical) and
// checked at start-up against the appendix's end points and the Huffman examples of Appendix C. Header
// blocks are encoded in wire order (a response block when it is written). tshark, an independent decoder,
// checks the result in the runner: benchmarks/http2/run.mjs.
//
// Sequence/ack numbers and IPv4/TCP checksums are correct. Output is streamed through one reused buffer.
// Next to OUT.pcap it writes OUT.pcap.truth.json: what was written (streams = spans, per method, per HTTP
// status with "none" for streams without a response, per gRPC status name, per RST_STREAM code, body bytes
// and gRPC messages each way, grpc-timeouts, frame and HPACK counters, and the count and an order-free
// FNV-1a checksum of every header field, for the tshark check).
//
// Plain Node ESM, no dependencies.

import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Conversation, MSS, PcapWriter, fnv1a32, interleave, pick, rand, randInt, seedRandom } from '../gen-lib.mjs';

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

// ---- Huffman code (RFC 7541 Appendix B) --------------------------------------------------------------
// The appendix's "len in bits" column for symbols 0-255 and EOS (256), 16 per row. The code is canonical:
// codes are consecutive integers in (length, symbol) order, each length starting at (previous code + 1)
// shifted left by the length difference, which gives back the appendix's codes (checked below).
// prettier-ignore
const HUFFMAN_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, //   0-15
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, //  16-31
   6, 10, 10, 12, 13,  6,  8, 11, 10, 10,  8, 11,  8,  6,  6,  6, //  32-47   ' ' ! " # $ % & ' ( ) * + , - . /
   5,  5,  5,  6,  6,  6,  6,  6,  6,  6,  7,  8, 15,  6, 12, 10, //  48-63   0-9 : ; < = > ?
  13,  6,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7, //  64-79   @ A-O
   7,  7,  7,  7,  7,  7,  7,  7,  8,  7,  8, 13, 19, 13, 14,  6, //  80-95   P-Z [ \ ] ^ _
  15,  5,  6,  5,  6,  5,  6,  6,  6,  5,  7,  7,  6,  6,  6,  5, //  96-111  ` a-o
   6,  7,  6,  5,  5,  6,  7,  7,  7,  7,  7, 15, 11, 14, 13, 28, // 112-127  p-z { | } ~ DEL
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128-143
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144-159
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160-175
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176-191
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192-207
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208-223
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224-239
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240-255
  30,                                                             // 256 EOS
];
const HUFFMAN_CODES = canonicalCodes(HUFFMAN_LENGTHS);

function canonicalCodes(lengths) {
  const order = lengths.map((len, sym) => [len, sym]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const codes = new Array(lengths.length);
  let code = 0;
  let len = order[0][0];
  for (const [l, sym] of order) {
    code *= 2 ** (l - len);
    len = l;
    codes[sym] = code++;
  }
  // A complete prefix code: the last code of the longest length is all ones.
  if (code !== 2 ** len) throw new Error('Huffman table: the lengths do not form a complete code');
  return codes;
}

/** Huffman-encodes an ASCII string (RFC 7541 5.2): codes MSB first, the last byte padded with EOS's 1 bits. */
function huffmanEncode(s) {
  const out = [];
  let acc = 0; // pending bits, at most 7 + 30: exact in a double
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    acc = acc * 2 ** HUFFMAN_LENGTHS[c] + HUFFMAN_CODES[c];
    bits += HUFFMAN_LENGTHS[c];
    while (bits >= 8) {
      bits -= 8;
      const b = Math.floor(acc / 2 ** bits);
      out.push(b);
      acc -= b * 2 ** bits;
    }
  }
  if (bits > 0) out.push(acc * 2 ** (8 - bits) + (2 ** (8 - bits) - 1));
  return out;
}

function selfTestHuffman() {
  const hex = (a) => Buffer.from(a).toString('hex');
  const expect = [
    // Appendix B: first, a few middle and the last rows (code as hex aligned to LSB).
    [HUFFMAN_CODES[0].toString(16), '1ff8'],
    [HUFFMAN_CODES[48].toString(16), '0'],
    [HUFFMAN_CODES[32].toString(16), '14'],
    [HUFFMAN_CODES[97].toString(16), '3'],
    [HUFFMAN_CODES[127].toString(16), 'ffffffc'],
    [HUFFMAN_CODES[255].toString(16), '3ffffee'],
    [HUFFMAN_CODES[256].toString(16), '3fffffff'],
    // Appendix C.4 and C.6.
    [hex(huffmanEncode('www.example.com')), 'f1e3c2e5f23a6ba0ab90f4ff'],
    [hex(huffmanEncode('no-cache')), 'a8eb10649cbf'],
    [hex(huffmanEncode('custom-key')), '25a849e95ba97d7f'],
    [hex(huffmanEncode('custom-value')), '25a849e95bb8e8b4bf'],
    [hex(huffmanEncode('302')), '6402'],
    [hex(huffmanEncode('private')), 'aec3771a4b'],
    [hex(huffmanEncode('Mon, 21 Oct 2013 20:13:21 GMT')), 'd07abe941054d444a8200595040b8166e082a62d1bff'],
    [hex(huffmanEncode('https://www.example.com')), '9d29ad171863c78f0b97c8e9ae82ae43d3'],
    [hex(huffmanEncode('gzip')), '9bd9ab'],
    [hex(huffmanEncode('foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1')),
      '94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007'],
  ];
  for (const [got, want] of expect) if (got !== want) throw new Error(`Huffman self-test: got ${got}, want ${want}`);
}

// ---- HPACK encoder (RFC 7541) ------------------------------------------------------------------------
// The static table (Appendix A): index = position + 1.
// prettier-ignore
const STATIC_TABLE = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_FULL = new Map();
const STATIC_NAME = new Map();
STATIC_TABLE.forEach(([name, value], i) => {
  if (value) STATIC_FULL.set(`${name}\n${value}`, i + 1);
  if (!STATIC_NAME.has(name)) STATIC_NAME.set(name, i + 1);
});

/** HPACK integer (5.1) with an N-bit prefix, the first byte's high bits set to `first`. */
function hpackInt(out, v, prefix, first) {
  const max = (1 << prefix) - 1;
  if (v < max) {
    out.push(first | v);
    return;
  }
  out.push(first | max);
  v -= max;
  while (v >= 128) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

const HUFFMAN_CACHE = new Map();

/**
 * One HPACK encoder (one per connection direction), with the dynamic table mirrored exactly (entry size =
 * name + value + 32): entries are numbered in insertion order, the newest is index 62. Header fields are
 * [name, value, how]: how 'i' = literal with incremental indexing, 'n' = without indexing, 'v' = never
 * indexed (a field already in a table is sent indexed unless 'v').
 */
class HpackEncoder {
  constructor(stats) {
    this.stats = stats;
    this.maxSize = 4096;
    this.size = 0;
    this.entries = []; // { key, name, size, seq }, oldest first from this.head
    this.head = 0;
    this.inserted = 0; // seq of the next entry
    this.byKey = new Map(); // "name\nvalue" -> newest seq
    this.byName = new Map(); // name -> newest seq
    this.pendingSizeUpdate = -1;
  }
  /** The next block starts with a dynamic table size update (6.3) to `max`. */
  resize(max) {
    this.pendingSizeUpdate = max;
  }
  dynIndex(seq) {
    return seq === undefined || seq < this.inserted - (this.entries.length - this.head) ? 0 : 62 + (this.inserted - 1 - seq);
  }
  evictTo(limit) {
    while (this.size > limit && this.head < this.entries.length) {
      const e = this.entries[this.head++];
      this.size -= e.size;
      this.stats.evictions++;
      if (this.byKey.get(e.key) === e.seq) this.byKey.delete(e.key);
      if (this.byName.get(e.name) === e.seq) this.byName.delete(e.name);
    }
    if (this.head > 1024) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
  add(name, value, key) {
    const size = name.length + value.length + 32;
    this.evictTo(this.maxSize - size);
    if (size > this.maxSize) return; // too big: the table is now empty (4.4)
    const seq = this.inserted++;
    this.entries.push({ key, name, size, seq });
    this.size += size;
    this.byKey.set(key, seq);
    this.byName.set(name, seq);
  }
  string(out, s) {
    const st = this.stats;
    let h = HUFFMAN_CACHE.get(s);
    if (h === undefined) {
      h = huffmanEncode(s);
      if (HUFFMAN_CACHE.size < 20_000) HUFFMAN_CACHE.set(s, h);
    }
    if (h.length < s.length && rand() < 0.85) {
      st.huffmanStrings++;
      hpackInt(out, h.length, 7, 0x80);
      for (let i = 0; i < h.length; i++) out.push(h[i]);
    } else {
      st.rawStrings++;
      hpackInt(out, s.length, 7, 0);
      for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
    }
  }
  /** Encodes a header list into one header block (a Buffer). */
  encode(fields) {
    const st = this.stats;
    const out = [];
    if (this.pendingSizeUpdate >= 0) {
      this.maxSize = this.pendingSizeUpdate;
      this.evictTo(this.maxSize);
      hpackInt(out, this.maxSize, 5, 0x20);
      st.sizeUpdates++;
      this.pendingSizeUpdate = -1;
    }
    for (const [name, value, how] of fields) {
      const key = `${name}\n${value}`;
      if (how !== 'v') {
        const s = STATIC_FULL.get(key);
        if (s !== undefined) {
          hpackInt(out, s, 7, 0x80);
          st.indexedStatic++;
          continue;
        }
        const d = this.dynIndex(this.byKey.get(key));
        if (d > 0) {
          hpackInt(out, d, 7, 0x80);
          st.indexedDynamic++;
          continue;
        }
      }
      let nameIdx = STATIC_NAME.get(name) ?? 0;
      if (nameIdx > 0) st.nameFromStatic++;
      else {
        nameIdx = this.dynIndex(this.byName.get(name));
        if (nameIdx > 0) st.nameFromDynamic++;
        else st.literalNames++;
      }
      if (how === 'i') {
        hpackInt(out, nameIdx, 6, 0x40);
        st.literalIncremental++;
      } else if (how === 'v') {
        hpackInt(out, nameIdx, 4, 0x10);
        st.literalNeverIndexed++;
      } else {
        hpackInt(out, nameIdx, 4, 0x00);
        st.literalNotIndexed++;
      }
      if (nameIdx === 0) this.string(out, name);
      this.string(out, value);
      if (how === 'i') this.add(name, value, key);
    }
    return Buffer.from(out);
  }
}

// ---- frames (RFC 9113) -------------------------------------------------------------------------------
const DATA = 0, HEADERS = 1, PRIORITY_FLAG = 0x20, RST_STREAM = 3, SETTINGS = 4, PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8, CONTINUATION = 9;
const END_STREAM = 0x1, END_HEADERS = 0x4, PADDED = 0x8, ACK = 0x1;
const MAX_FRAME = 16384;
const FRAME_NAMES = { [DATA]: 'DATA', [HEADERS]: 'HEADERS', [RST_STREAM]: 'RST_STREAM', [SETTINGS]: 'SETTINGS', [PING]: 'PING', [GOAWAY]: 'GOAWAY', [WINDOW_UPDATE]: 'WINDOW_UPDATE', [CONTINUATION]: 'CONTINUATION' };
const ERROR_CODES = { NO_ERROR: 0, REFUSED_STREAM: 7, CANCEL: 8 };
const ZEROS = Buffer.alloc(256);
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

function u32(n) {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

/** gRPC status codes used, and their names (what spanwire's rpc.response.status_code holds). */
const GRPC_STATUS = { 0: 'OK', 3: 'INVALID_ARGUMENT', 4: 'DEADLINE_EXCEEDED', 5: 'NOT_FOUND', 7: 'PERMISSION_DENIED', 13: 'INTERNAL', 14: 'UNAVAILABLE' };
const GRPC_MESSAGES = { 3: 'invalid%20page%20token', 4: 'deadline%20exceeded', 5: 'item%20not%20found', 7: 'permission%20denied', 13: 'internal%20error', 14: 'upstream%20unavailable%3A%20connection%20refused' };
// Per call kind: [rpc path, request messages, response messages] (a range [lo, hi] or a number).
const GRPC_CALLS = [
  ['shop.Cart/GetCart', 1, 1],
  ['shop.Cart/AddItem', 1, 1],
  ['shop.Catalog/Search', 1, 1],
  ['auth.Tokens/Check', 1, 1],
  ['shop.Catalog/ListProducts', 1, 1], // sometimes a large response message
  ['feed.Feed/Watch', 1, [3, 10]], // server streaming
  ['shop.Upload/PutChunks', [2, 6], 1], // client streaming
];
const PLAIN_PATHS = ['/', '/api/v1/users/', '/api/v1/orders/', '/api/v1/products', '/static/app.js', '/static/site.css', '/search', '/health'];
const USER_AGENTS = ['Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0', 'curl/8.5.0', 'okhttp/4.12.0'];
const FILLER = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2000), 'latin1');
const HTML_FILLER = Buffer.from('<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n'.repeat(1000), 'latin1');

function hex(n) {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(rand() * 16)];
  return s;
}
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
const range = (r) => (Array.isArray(r) ? randInt(r[0], r[1]) : r);

/** A JSON document of exactly `n` (>= 12) bytes. */
function jsonBody(n) {
  return Buffer.concat([Buffer.from('{"data":"'), FILLER.subarray(0, n - 11), Buffer.from('"}')]);
}

function varint(out, v) {
  while (v >= 128) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}
const varintLen = (v) => (v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : 4);

/** A gRPC length-prefixed message whose payload is a valid protobuf message of exactly `len` (>= 8) bytes. */
function grpcMessage(len) {
  const head = [0x08]; // field 1 (varint)
  varint(head, randInt(1, 100000));
  // Field 2 (length-delimited): tag, varint length n, n bytes; n + varintLen(n) skips one value at each varint
  // boundary, so when `len` falls there a 2-byte field 3 (varint 0) makes up the difference.
  for (const extra of [0, 2]) {
    const target = len - head.length - 1 - extra; // = n + varintLen(n)
    let n = target - 1;
    while (n > 0 && n + varintLen(n) > target) n--;
    if (n < 0 || n + varintLen(n) !== target) continue;
    head.push(0x12);
    varint(head, n);
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = 0;
    prefix.writeUInt32BE(len, 1);
    return Buffer.concat([prefix, Buffer.from(head), FILLER.subarray(0, n), extra ? Buffer.from([0x18, 0]) : ZEROS.subarray(0, 0)]);
  }
  throw new Error(`grpcMessage(${len})`);
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  selfTestHuffman();
  seedRandom(opts.seed);
  const out = new PcapWriter(opts.out);
  const hpack = { indexedStatic: 0, indexedDynamic: 0, literalIncremental: 0, literalNotIndexed: 0, literalNeverIndexed: 0, nameFromStatic: 0, nameFromDynamic: 0, literalNames: 0, huffmanStrings: 0, rawStrings: 0, evictions: 0, sizeUpdates: 0 };
  const frames = { DATA: 0, HEADERS: 0, CONTINUATION: 0, RST_STREAM: 0, SETTINGS: 0, PING: 0, WINDOW_UPDATE: 0, GOAWAY: 0, paddedData: 0, paddedHeaders: 0, priorityHeaders: 0 };
  const truth = {
    generator: 'benchmarks/http2/gen.mjs',
    args: { packets: opts.packets, connections: opts.connections, streams: opts.streams, seed: opts.seed },
    file: basename(opts.out),
    packets: 0,
    bytes: 0,
    connections: 0,
    goaways: 0,
    pureAcks: 0,
    streams: 0, // = spans: one per stream with a request HEADERS block
    grpcCalls: 0,
    maxConcurrentStreams: 0,
    byMethod: {},
    byStatus: {}, // per span: the :status of the response, "none" without one
    byGrpcStatus: {}, // per span with a grpc-status (trailers or trailers-only), by name
    byRstCode: {}, // per span ended by RST_STREAM
    resetBeforeResponse: 0,
    resetDuringResponse: 0,
    requestBodyBytes: 0, // DATA payload without padding
    responseBodyBytes: 0,
    responseBodyBytesCut: 0, // of which in responses cut by the client's RST_STREAM
    grpcRequestMessages: 0,
    grpcResponseMessages: 0,
    grpcTimeouts: 0,
    grpcTimeoutMsTotal: 0,
    headerBlocks: 0,
    headerFields: 0, // every field of every block, both directions, for the tshark check
    headerDigest: 0, // sum mod 2^32 of fnv1a32(`${name}: ${value}`) over those fields
    statusFields: {}, // :status values written (tshark check)
    grpcStatusFields: {}, // grpc-status values written (tshark check)
    frames,
    hpack,
  };
  const inc = (o, k, n = 1) => (o[k] = (o[k] ?? 0) + n);
  const clock = { us: Date.UTC(2026, 10, 22, 12, 0, 0) * 1000 };
  const budget = () => out.packets >= opts.packets;
  let connSeq = 0;

  function frame(type, flags, sid, payload) {
    frames[FRAME_NAMES[type]]++;
    const n = payload.length;
    const h = Buffer.allocUnsafe(9);
    h[0] = (n >> 16) & 0xff;
    h[1] = (n >> 8) & 0xff;
    h[2] = n & 0xff;
    h[3] = type;
    h[4] = flags;
    h.writeUInt32BE(sid, 5);
    return Buffer.concat([h, payload]);
  }

  /** A DATA frame, padded 10% of the time (within the 16384-byte frame size); adds its flow-controlled length to `flow`. */
  function dataFrame(sid, payload, end, flow) {
    let p = payload;
    let flags = end ? END_STREAM : 0;
    if (rand() < 0.1 && payload.length + 41 <= MAX_FRAME) {
      const pad = randInt(0, 40);
      p = Buffer.concat([Buffer.from([pad]), payload, ZEROS.subarray(0, pad)]);
      flags |= PADDED;
      frames.paddedData++;
    }
    flow.bytes += p.length;
    return frame(DATA, flags, sid, p);
  }

  /** The frames of one header block: HEADERS (maybe padded / with PRIORITY) and 0-2 CONTINUATIONs. */
  function headerFrames(sid, block, end, fields, { cont = false, priority = false } = {}) {
    truth.headerBlocks++;
    for (const [name, value] of fields) {
      truth.headerFields++;
      truth.headerDigest = (truth.headerDigest + fnv1a32(`${name}: ${value}`)) % 2 ** 32;
      if (name === ':status') inc(truth.statusFields, value);
      else if (name === 'grpc-status') inc(truth.grpcStatusFields, value);
    }
    const pieces = [];
    if (cont && block.length >= 6) {
      const parts = rand() < 0.3 ? 3 : 2;
      let at = 0;
      for (let k = parts; k > 1; k--) {
        const cut = at + randInt(1, Math.floor((block.length - at) / k));
        pieces.push(block.subarray(at, cut));
        at = cut;
      }
      pieces.push(block.subarray(at));
    } else pieces.push(block);
    let flags = (end ? END_STREAM : 0) | (pieces.length === 1 ? END_HEADERS : 0);
    const pre = [];
    let pad = -1;
    if (rand() < 0.03) {
      pad = randInt(0, 20);
      pre.push(Buffer.from([pad]));
      flags |= PADDED;
      frames.paddedHeaders++;
    }
    if (priority) {
      const dep = sid > 2 && rand() < 0.5 ? sid - 2 : 0;
      pre.push(u32(dep), Buffer.from([randInt(0, 255)]));
      flags |= PRIORITY_FLAG;
      frames.priorityHeaders++;
    }
    const first = Buffer.concat([...pre, pieces[0], pad >= 0 ? ZEROS.subarray(0, pad) : ZEROS.subarray(0, 0)]);
    const list = [frame(HEADERS, flags, sid, first)];
    for (let i = 1; i < pieces.length; i++) list.push(frame(CONTINUATION, i === pieces.length - 1 ? END_HEADERS : 0, sid, pieces[i]));
    return list;
  }

  /** A connection as a generator of steps (one TCP write per step). */
  function* connection() {
    const n = connSeq++;
    truth.connections++;
    const grpc = n % 2 === 0;
    const conv = new Conversation(out, clock, (10 << 24) | (1 << 16) | ((n % 60000) + 1), 20000 + (n % 40000), (10 << 24) | 200, grpc ? 50051 : 8080);
    conv.open();
    yield;
    const cenc = new HpackEncoder(hpack);
    const senc = new HpackEncoder(hpack);
    if (rand() < 0.25) cenc.resize(2048);
    // Frames a side adds to its next write (PING ACK).
    const pending = { c: [], s: [] };
    // Flow-controlled bytes received by each side since its last WINDOW_UPDATE.
    const flow = { c: { bytes: 0 }, s: { bytes: 0 } };
    const write = (side, list) => {
      const pre = pending[side];
      pending[side] = [];
      if (flow[side].bytes >= 32768) {
        pre.push(frame(WINDOW_UPDATE, 0, 0, u32(flow[side].bytes)));
        flow[side].bytes = 0;
      }
      if (side === 'c' && rand() < 0.01) {
        const opaque = Buffer.concat([u32(n), u32(randInt(0, 2 ** 31))]);
        list.push(frame(PING, 0, 0, opaque));
        pending.s.push(frame(PING, ACK, 0, opaque));
      }
      tcpSend(side, Buffer.concat([...pre, ...list]));
    };
    // A side's data is acknowledged by the peer's next segment; after 32 KB without one, the peer sends a
    // pure ACK, so the sender never fills the peer's 64240-byte receive window.
    const unacked = { c: 0, s: 0 };
    const tcpSend = (side, bytes) => {
      const peer = side === 'c' ? 's' : 'c';
      unacked[peer] = 0;
      for (let at = 0; at < bytes.length; at += 11 * MSS) {
        if (unacked[side] >= 32768) {
          conv.ctl(peer === 'c', 0x10);
          unacked[side] = 0;
          truth.pureAcks++;
        }
        const piece = bytes.subarray(at, Math.min(bytes.length, at + 11 * MSS));
        conv.send(side === 'c', piece);
        unacked[side] += piece.length;
      }
    };
    const maxStreams = Math.max(opts.streams, grpc ? 100 : 250);
    // Client: preface, SETTINGS (ENABLE_PUSH 0, INITIAL_WINDOW_SIZE 1 MiB), a large connection window.
    write('c', [PREFACE, frame(SETTINGS, 0, 0, Buffer.from([0, 2, 0, 0, 0, 0, 0, 4, 0, 0x10, 0, 0])), frame(WINDOW_UPDATE, 0, 0, u32(2 ** 30 - 65535))]);
    // Server: SETTINGS (MAX_CONCURRENT_STREAMS, MAX_FRAME_SIZE 16384), ACK of the client's.
    write('s', [frame(SETTINGS, 0, 0, Buffer.concat([Buffer.from([0, 3]), u32(maxStreams), Buffer.from([0, 5]), u32(MAX_FRAME)])), frame(SETTINGS, ACK, 0, Buffer.alloc(0)), frame(WINDOW_UPDATE, 0, 0, u32(2 ** 24))]);
    yield;
    write('c', [frame(SETTINGS, ACK, 0, Buffer.alloc(0))]);
    const total = randInt(40, 400);
    let nextId = 1;
    let started = 0;
    const open = [];
    const authority = grpc ? `svc-${n % 7}.internal:50051` : `www-${n % 5}.example.com`;
    const ua = grpc ? 'grpc-go/1.64.0' : pick(USER_AGENTS);

    /** Plans stream `id`: returns its steps, each [side, () => frames]; the first is the request HEADERS. */
    function planStream(id) {
      truth.streams++;
      const steps = [];
      const client = (f) => steps.push(['c', f]);
      const server = (f) => steps.push(['s', f]);
      const req = [];
      const reqBody = []; // request DATA payloads (one per frame)
      const resp = []; // server steps after the response HEADERS: [payload, messages in it] or trailers
      let respHeaders = null;
      let trailers = null;
      let reqMsgs = 0;
      let method;
      if (grpc) {
        truth.grpcCalls++;
        method = 'POST';
        const [path, reqN, respN] = pick(GRPC_CALLS);
        req.push([':method', 'POST'], [':scheme', 'http'], [':path', `/${path}`, 'i'], [':authority', authority, 'i'], ['content-type', 'application/grpc', 'i'], ['user-agent', ua, 'i'], ['te', 'trailers', 'i'], ['grpc-accept-encoding', 'identity,deflate,gzip', 'i']);
        if (rand() < 0.3) {
          const [v, unit, ms] = pick([
            () => { const x = randInt(1, 30000); return [x, 'm', x]; },
            () => { const x = randInt(1, 120); return [x, 'S', x * 1000]; },
            () => { const x = randInt(1, 10); return [x, 'M', x * 60000]; },
            () => { const x = randInt(1, 5000); return [x * 1000, 'u', x]; },
          ])();
          req.push(['grpc-timeout', `${v}${unit}`, 'n']);
          truth.grpcTimeouts++;
          truth.grpcTimeoutMsTotal += ms;
        }
        if (rand() < 0.3) req.push(['traceparent', `00-${hex(32)}-${hex(16)}-01`, 'n']);
        if (rand() < 0.2) req.push(['x-request-id', uuid(), 'i']);
        // Request messages: each in its own DATA frame, or two coalesced (client streaming).
        reqMsgs = range(reqN);
        truth.grpcRequestMessages += reqMsgs;
        for (let left = reqMsgs; left > 0; ) {
          const k = left >= 2 && rand() < 0.3 ? 2 : 1;
          const parts = [];
          for (let j = 0; j < k; j++) parts.push(grpcMessage(randInt(8, 400)));
          reqBody.push(Buffer.concat(parts));
          left -= k;
        }
        const u = rand();
        const code = u < 0.88 ? 0 : u < 0.92 ? 5 : u < 0.95 ? 14 : u < 0.97 ? 3 : u < 0.985 ? 4 : u < 0.995 ? 13 : 7;
        const status = [['grpc-status', String(code), 'n']];
        if (code !== 0) status.push(['grpc-message', GRPC_MESSAGES[code], 'n']);
        if (code !== 0 && rand() < 0.5) {
          respHeaders = { fields: [[':status', '200'], ['content-type', 'application/grpc', 'i'], ...status], end: true, grpcStatus: code };
        } else {
          respHeaders = { fields: [[':status', '200'], ['content-type', 'application/grpc', 'i'], ['grpc-accept-encoding', 'identity,deflate,gzip', 'i']], end: false };
          const m = code === 0 ? range(respN) : Array.isArray(respN) ? randInt(0, 2) : 0;
          for (let j = 0; j < m; j++) {
            const big = path === 'shop.Catalog/ListProducts' && rand() < 0.15;
            const msg = grpcMessage(big ? randInt(20000, 60000) : randInt(20, 2000));
            // A message larger than a frame is split; the last piece carries the message count.
            for (let at = 0; at < msg.length; at += MAX_FRAME) resp.push([msg.subarray(at, Math.min(msg.length, at + MAX_FRAME)), at + MAX_FRAME >= msg.length ? 1 : 0]);
          }
          trailers = { fields: status, grpcStatus: code };
        }
      } else {
        method = rand() < 0.25 ? 'POST' : 'GET';
        let path = method === 'POST' ? pick(['/api/v1/orders/', '/api/v1/users/', '/search']) : pick(PLAIN_PATHS);
        if (path.endsWith('/')) path += String(randInt(1, 5000));
        if (rand() < 0.3) path += `?page=${randInt(1, 50)}&sort=${pick(['asc', 'desc'])}`;
        req.push([':method', method], [':scheme', 'http'], [':path', path, 'i'], [':authority', authority, 'i'], ['user-agent', ua, 'i'], ['accept', path.startsWith('/api') ? 'application/json' : '*/*', 'i'], ['accept-encoding', 'gzip, deflate']);
        if (rand() < 0.3) req.push(['cookie', `session=${hex(24)}`, 'v']);
        if (rand() < 0.1) req.push(['authorization', `Bearer ${hex(40)}`, 'v']);
        if (rand() < 0.4) req.push(['x-request-id', uuid(), 'i']);
        if (rand() < 0.2) req.push(['traceparent', `00-${hex(32)}-${hex(16)}-01`, 'n']);
        if (method === 'POST') {
          const body = jsonBody(randInt(20, 3000));
          req.push(['content-type', 'application/json', 'i'], ['content-length', String(body.length), 'n']);
          for (let at = 0; at < body.length; at += 1400) reqBody.push(body.subarray(at, Math.min(body.length, at + 1400)));
        }
        const u = rand();
        const status = u < 0.86 ? 200 : u < 0.93 ? 404 : u < 0.97 ? 500 : 503;
        const api = path.startsWith('/api') || path.startsWith('/search') || path.startsWith('/health') || status !== 200;
        const len = status !== 200 ? randInt(30, 200) : api ? randInt(50, 8000) : randInt(500, 40000);
        const body = api ? jsonBody(len) : HTML_FILLER.subarray(0, len);
        const ct = api ? 'application/json' : path.endsWith('.js') ? 'application/javascript' : path.endsWith('.css') ? 'text/css' : 'text/html; charset=utf-8';
        const fields = [[':status', String(status), 'i'], ['content-type', ct, 'i'], ['content-length', String(len), 'n'], ['server', 'bench/1.0', 'i'], ['date', new Date(Math.floor(clock.us / 1e6) * 1000).toUTCString(), 'i']];
        if (!api) fields.push(['cache-control', 'public, max-age=3600', 'i'], ['etag', `"${hex(12)}"`, 'i']);
        respHeaders = { fields, end: false };
        for (let at = 0; at < len; ) {
          const chunk = Math.min(len - at, randInt(1000, MAX_FRAME));
          resp.push([body.subarray(at, at + chunk), 0]);
          at += chunk;
        }
      }
      inc(truth.byMethod, method);

      // The request: HEADERS (END_STREAM if no body), DATA frames.
      const reqFields = req;
      const noBody = reqBody.length === 0;
      steps.push(['c', () => headerFrames(id, cenc.encode(reqFields), noBody, reqFields, { cont: truth.streams % 16 === 0, priority: rand() < 0.05 })]);
      reqBody.forEach((p, i) => {
        const last = i === reqBody.length - 1;
        truth.requestBodyBytes += p.length;
        client(() => [dataFrame(id, p, last, flow.s)]);
      });

      // How it ends: refused by the server, cancelled by the client before or during the response, or complete.
      const u = rand();
      const rst = (code) => () => {
        inc(truth.byRstCode, code);
        return [frame(RST_STREAM, 0, id, u32(ERROR_CODES[code]))];
      };
      if (u < 0.005) {
        server(rst('REFUSED_STREAM'));
        inc(truth.byStatus, 'none');
        return steps;
      }
      if (u < 0.025) {
        client(rst('CANCEL'));
        truth.resetBeforeResponse++;
        inc(truth.byStatus, 'none');
        return steps;
      }
      // Cancel during the response: after the HEADERS and some (whole messages of) DATA, never the last.
      const boundaries = [];
      resp.forEach(([, msgs], i) => (grpc ? msgs > 0 : true) && i < resp.length - 1 && boundaries.push(i));
      const cutAfter = u < 0.035 && boundaries.length > 0 ? pick(boundaries) : -1;

      const status = respHeaders.fields[0][1];
      inc(truth.byStatus, status);
      const rh = respHeaders;
      server(() => headerFrames(id, senc.encode(rh.fields), rh.end, rh.fields, { cont: rand() < 0.03 }));
      if (rh.end) {
        inc(truth.byGrpcStatus, GRPC_STATUS[rh.grpcStatus]);
        return steps;
      }
      let sent = 0;
      for (let i = 0; i < resp.length; i++) {
        const [p, msgs] = resp[i];
        const last = i === resp.length - 1 && !trailers;
        sent += p.length;
        truth.responseBodyBytes += p.length;
        truth.grpcResponseMessages += msgs;
        server(() => [dataFrame(id, p, last, flow.c)]);
        if (i === cutAfter) {
          client(rst('CANCEL'));
          truth.resetDuringResponse++;
          truth.responseBodyBytesCut += sent;
          return steps;
        }
      }
      if (trailers) {
        const t = trailers;
        server(() => headerFrames(id, senc.encode(t.fields), true, t.fields));
        inc(truth.byGrpcStatus, GRPC_STATUS[t.grpcStatus]);
      }
      return steps;
    }

    while (started < total || open.length > 0) {
      // Open new streams up to the concurrency (none once the packet budget is reached): the client sends
      // their HEADERS in stream-id order, in one write.
      const opening = [];
      while (started < total && !budget() && open.length < opts.streams && (open.length < 10 || rand() < 0.5)) {
        const id = nextId;
        nextId += 2;
        started++;
        const steps = planStream(id);
        opening.push(...steps.shift()[1]());
        if (steps.length > 0) open.push({ id, steps });
      }
      if (opening.length > 0) {
        write('c', opening);
        truth.maxConcurrentStreams = Math.max(truth.maxConcurrentStreams, open.length);
        yield;
      }
      if (open.length === 0) break;
      // One TCP write: the next steps of 1-4 random open streams of the same side, coalesced.
      const side = pick(open).steps[0][0];
      const list = [];
      for (let k = randInt(1, 4); k > 0; k--) {
        const cands = open.filter((s) => s.steps[0][0] === side);
        if (cands.length === 0) break;
        const s = pick(cands);
        list.push(...s.steps.shift()[1]());
        if (s.steps.length === 0) open.splice(open.indexOf(s), 1);
      }
      write(side, list);
      yield;
    }
    if (rand() < 0.75) {
      truth.goaways++;
      write('s', [frame(GOAWAY, 0, 0, Buffer.concat([u32(nextId - 2), u32(ERROR_CODES.NO_ERROR)]))]);
    } else if (pending.s.length) write('s', []);
    conv.close();
  }

  interleave(opts.connections, budget, connection);
  out.close();
  truth.packets = out.packets;
  truth.bytes = out.bytes;
  writeFileSync(`${opts.out}.truth.json`, `${JSON.stringify(truth, null, 2)}\n`);
  process.stderr.write(
    `gen.mjs: ${opts.out}: ${truth.packets} packets, ${truth.connections} connections, ${truth.streams} streams (${truth.grpcCalls} gRPC), ` +
      `${truth.headerFields} header fields, ${hpack.evictions} HPACK evictions\n`,
  );
}

main();

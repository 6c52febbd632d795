#!/usr/bin/env node
// Synthetic HTTP/1.1 capture generator for the replay benchmark.
//
//   node benchmarks/replay/gen.mjs OUT.pcap [--packets N] [--connections C] [--size-gb G] [--seed S]
//
// Writes a classic pcap (microsecond timestamps, Ethernet / IPv4 / TCP) of keep-alive HTTP/1.1 traffic:
// C connections are open at any moment and their packets are interleaved in time. Each connection does a
// 3-way handshake, a random number of request/response exchanges (GET/POST/PUT/DELETE, request bodies,
// Content-Length and chunked responses of 1-4 MSS segments, 304/204 without body, some 404/500, ACKs as a
// real stack would send them) and ends with FIN / FIN / ACK. When the packet (or byte) budget is reached,
// every open connection finishes its current exchange and closes, so no exchange is ever cut.
//
// Sequence/ack numbers, IPv4 header checksums and TCP checksums are correct, so tshark dissects and
// reassembles every message. Output is streamed through one reused buffer: memory stays flat at any size.
//
// Next to OUT.pcap it writes OUT.pcap.truth.json: the exact numbers of packets, bytes, connections,
// requests per method, responses per status and per "METHOD STATUS" pair that were written. This is the
// ground truth the benchmark checks spanwire's span count against (the generator knows what it wrote).
//
// Plain Node ESM, no dependencies.

import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { MSS, PcapWriter, ipv4Packet, pick, rand, randInt, seedRandom } from '../gen-lib.mjs';

const USAGE =
  'usage: node benchmarks/replay/gen.mjs OUT.pcap [--packets N] [--connections C] [--size-gb G] [--seed S]\n' +
  '  --packets N      stop starting new exchanges after N packets (default 300000)\n' +
  '  --connections C  concurrent connections (default 64)\n' +
  '  --size-gb G      stop after G * 10^9 bytes of capture instead (e.g. 1 for the RSS check)\n' +
  '  --seed S         PRNG seed (default 1): the same arguments always give the same file\n';


function parseArgs(argv) {
  const opts = { out: '', packets: 300_000, connections: 64, sizeBytes: 0, seed: 1 };
  const num = (name, v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) fail(`${name} needs a positive number, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--packets') opts.packets = Math.floor(num(a, argv[++i]));
    else if (a === '--connections') opts.connections = Math.floor(num(a, argv[++i]));
    else if (a === '--size-gb') opts.sizeBytes = Math.floor(num(a, argv[++i]) * 1e9);
    else if (a === '--seed') opts.seed = Math.floor(num(a, argv[++i]));
    else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else if (a.startsWith('-')) fail(`unknown option ${a}`);
    else if (!opts.out) opts.out = a;
    else fail(`unexpected argument ${a}`);
  }
  if (!opts.out) fail('missing OUT.pcap');
  return opts;
}

function fail(msg) {
  process.stderr.write(`gen.mjs: ${msg}\n${USAGE}`);
  process.exit(2);
}

const hex = (n) => {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(rand() * 16)];
  return s;
};


// ---- checksums ---------------------------------------------------------------------------------------

// ---- traffic model ----------------------------------------------------------------------------------
const CLIENT_MAC = Buffer.from([0x02, 0x42, 0xac, 0x11, 0x00, 0x02]);
const SERVER_MAC = Buffer.from([0x02, 0x42, 0xac, 0x11, 0x00, 0x01]);
const SERVERS = [
  { ip: ip4(10, 1, 0, 10), port: 80, host: 'api.shop.internal' },
  { ip: ip4(10, 1, 0, 11), port: 80, host: 'www.shop.internal' },
  { ip: ip4(10, 1, 0, 12), port: 8080, host: 'orders.shop.internal:8080' },
  { ip: ip4(10, 1, 0, 13), port: 8080, host: 'search.shop.internal:8080' },
];
const CLIENT_COUNT = 500;
const USER_AGENTS = [
  'curl/7.88.1',
  'okhttp/4.12.0',
  'Go-http-client/1.1',
  'python-requests/2.31.0',
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'node',
];
const WORDS = ['shoes', 'lamp', 'coffee', 'garden+chair', 'usb-c', 'desk', 'kettle', 'socks', 'monitor'];
const REASONS = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  404: 'Not Found',
  500: 'Internal Server Error',
};

function ip4(a, b, c, d) {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** ~1 MB of JSON-ish text that bodies are sliced from. */
function makeBodyPool() {
  const parts = [];
  let len = 0;
  for (let i = 0; len < 1 << 20; i++) {
    const s =
      `{"id":${100000 + i},"sku":"SKU-${hex(8)}","name":"${pick(WORDS)} ${i}","price":${randInt(1, 99999) / 100},` +
      `"stock":${randInt(0, 500)},"tags":["${pick(WORDS)}","${pick(WORDS)}"],"updated":"2026-11-${String(randInt(1, 28)).padStart(2, '0')}"},\n`;
    parts.push(s);
    len += s.length;
  }
  return Buffer.from(parts.join(''), 'latin1');
}

function makeRequest(server) {
  const r = rand();
  let method;
  let path;
  let status;
  let reqBody = 0;
  if (r < 0.68) {
    method = 'GET';
    const k = rand();
    if (k < 0.3) path = `/api/v1/products/${randInt(1, 50000)}`;
    else if (k < 0.5) path = `/api/v1/products?page=${randInt(1, 40)}&limit=${pick([10, 20, 50])}`;
    else if (k < 0.62) path = `/api/v1/search?q=${pick(WORDS)}&sort=${pick(['price', 'rank', 'new'])}`;
    else if (k < 0.8) path = `/static/js/app.${hex(8)}.js`;
    else if (k < 0.9) path = `/api/v1/users/${randInt(1, 9000)}/cart`;
    else path = '/healthz';
    const s = rand();
    status = s < 0.05 ? 404 : s < 0.07 ? 500 : path.startsWith('/static/') && s < 0.25 ? 304 : 200;
  } else if (r < 0.88) {
    method = 'POST';
    path = pick(['/api/v1/orders', '/api/v1/cart/items', '/api/v1/events', `/api/v1/users/${randInt(1, 9000)}/reviews`]);
    reqBody = rand() < 0.8 ? randInt(40, 1200) : randInt(1500, 4000); // some need 2-3 segments
    const s = rand();
    status = s < 0.04 ? 404 : s < 0.07 ? 500 : s < 0.6 ? 201 : 200;
  } else if (r < 0.95) {
    method = 'PUT';
    path = `/api/v1/cart/items/${randInt(1, 100000)}`;
    reqBody = randInt(30, 900);
    const s = rand();
    status = s < 0.06 ? 404 : s < 0.08 ? 500 : 200;
  } else {
    method = 'DELETE';
    path = `/api/v1/cart/items/${randInt(1, 100000)}`;
    const s = rand();
    status = s < 0.1 ? 404 : s < 0.12 ? 500 : 204;
  }
  let head =
    `${method} ${path} HTTP/1.1\r\nHost: ${server.host}\r\nUser-Agent: ${pick(USER_AGENTS)}\r\n` +
    `Accept: ${path.startsWith('/static/') ? '*/*' : 'application/json'}\r\nAccept-Encoding: gzip, deflate\r\n`;
  if (rand() < 0.3) head += `traceparent: 00-${hex(32)}-${hex(16)}-01\r\n`;
  if (status === 304) head += `If-None-Match: "${hex(12)}"\r\n`;
  if (reqBody > 0) head += `Content-Type: application/json\r\nContent-Length: ${reqBody}\r\n`;
  head += 'Connection: keep-alive\r\n\r\n';
  return { method, status, head, reqBody };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  seedRandom(opts.seed);
  const pool = makeBodyPool();
  const out = new PcapWriter(opts.out);
  const t0 = Date.now();

  const truth = {
    generator: 'benchmarks/replay/gen.mjs',
    args: { packets: opts.packets, connections: opts.connections, sizeBytes: opts.sizeBytes, seed: opts.seed },
    file: basename(opts.out),
    packets: 0,
    bytes: 0,
    connections: 0,
    requests: 0,
    responses: 0,
    exchanges: 0,
    chunkedResponses: 0,
    requestsByMethod: {},
    responsesByStatus: {},
    exchangesByMethodStatus: {},
  };
  const inc = (obj, k) => (obj[k] = (obj[k] || 0) + 1);

  // Capture clock in microseconds; advances a little per packet (~300k packets/s of traffic).
  let clockUs = Date.UTC(2026, 10, 20, 12, 0, 0) * 1000;
  let dateSec = -1;
  let dateStr = '';
  const httpDate = () => {
    const sec = Math.floor(clockUs / 1e6);
    if (sec !== dateSec) {
      dateSec = sec;
      dateStr = new Date(sec * 1000).toUTCString();
    }
    return dateStr;
  };

  const budgetReached = () =>
    opts.sizeBytes > 0 ? out.bytes >= opts.sizeBytes : out.packets >= opts.packets;

  const clientPorts = new Uint16Array(CLIENT_COUNT).fill(32768);

  /**
   * Write one Ethernet/IPv4/TCP packet. `src` is the sending side {ip, port, mac, ipId, seq};
   * `dst` the other side. Payload bytes are copied from `data[from, from+len)`.
   */
  function packet(src, dst, flags, data, from, len, mssOption) {
    clockUs += 1 + Math.floor(rand() * 6);
    ipv4Packet(out, clockUs, src, dst, 6, flags, data, from, len, mssOption);
  }

  const SYN = 0x02;
  const FIN = 0x01;
  const PSH = 0x08;
  const ACK = 0x10;

  /** One connection = a generator that writes exactly one packet per step. */
  function* connection() {
    const server = pick(SERVERS);
    const ci = randInt(0, CLIENT_COUNT - 1);
    const port = clientPorts[ci];
    clientPorts[ci] = port >= 60999 ? 32768 : port + 1;
    const cli = { ip: ip4(10, 0, 1 + (ci >> 8), 1 + (ci & 0xff)), port, mac: CLIENT_MAC, ipId: randInt(0, 65535), seq: randInt(0, 0xffffffff) >>> 0 };
    const srv = { ip: server.ip, port: server.port, mac: SERVER_MAC, ipId: randInt(0, 65535), seq: randInt(0, 0xffffffff) >>> 0 };
    const scratch = Buffer.allocUnsafe(16384); // request at 0, response at 8192
    truth.connections++;

    packet(cli, srv, SYN, scratch, 0, 0, true);
    yield;
    packet(srv, cli, SYN | ACK, scratch, 0, 0, true);
    yield;
    packet(cli, srv, ACK, scratch, 0, 0, false);
    yield;

    const exchanges = randInt(5, 200);
    for (let n = 0; n < exchanges && !(n > 0 && budgetReached()); n++) {
      // ---- request
      const req = makeRequest(server);
      let reqLen = scratch.write(req.head, 0, 'latin1');
      const headLen = reqLen;
      if (req.reqBody > 0) {
        const from = randInt(0, pool.length - req.reqBody - 1);
        pool.copy(scratch, reqLen, from, from + req.reqBody);
        reqLen += req.reqBody;
      }
      inc(truth.requestsByMethod, req.method);
      truth.requests++;
      // Some clients write headers and body separately (two segments even when both would fit).
      const splitHead = req.reqBody > 0 && rand() < 0.3;
      let sent = 0;
      let segs = 0;
      while (sent < reqLen) {
        const lim = splitHead && sent < headLen ? headLen - sent : MSS;
        const len = Math.min(lim, reqLen - sent);
        packet(cli, srv, ACK | (sent + len === reqLen ? PSH : 0), scratch, sent, len, false);
        sent += len;
        segs++;
        yield;
        if (segs % 2 === 0 && sent < reqLen) {
          packet(srv, cli, ACK, scratch, 0, 0, false);
          yield;
        }
      }
      if (rand() < 0.3) {
        packet(srv, cli, ACK, scratch, 0, 0, false); // ack before the response (slow handler)
        yield;
      }

      // ---- response
      const status = req.status;
      const noBody = status === 204 || status === 304;
      const chunked = !noBody && rand() < 0.25;
      const segTarget = noBody ? 1 : pick([1, 1, 1, 1, 2, 2, 2, 3, 3, 4]);
      const base = 8192;
      let head = `HTTP/1.1 ${status} ${REASONS[status]}\r\nServer: nginx/1.22.1\r\nDate: ${httpDate()}\r\n`;
      if (noBody) {
        if (status === 304) head += `ETag: "${hex(12)}"\r\n`;
        head += 'Connection: keep-alive\r\n\r\n';
      } else {
        head += `Content-Type: ${req.head.includes('/static/') ? 'application/javascript' : 'application/json'}\r\n`;
      }
      let resLen;
      if (noBody) {
        resLen = scratch.write(head, base, 'latin1');
      } else {
        // total message length lands in ((segTarget-1)*MSS, segTarget*MSS]
        const lo = segTarget === 1 ? 60 : (segTarget - 1) * MSS + 1;
        const total = randInt(lo, segTarget * MSS);
        const fixed = head.length + 64; // headers still to add + room
        let bodyLen = Math.max(2, total - fixed);
        if (chunked) {
          head += 'Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n';
          resLen = base + scratch.write(head, base, 'latin1');
          bodyLen = Math.max(2, bodyLen - 5 - 8 * Math.ceil(bodyLen / 800));
          let left = bodyLen;
          while (left > 0) {
            const c = Math.min(left, randInt(200, 1600));
            resLen += scratch.write(`${c.toString(16)}\r\n`, resLen, 'latin1');
            const from = randInt(0, pool.length - c - 1);
            pool.copy(scratch, resLen, from, from + c);
            resLen += c;
            resLen += scratch.write('\r\n', resLen, 'latin1');
            left -= c;
          }
          resLen += scratch.write('0\r\n\r\n', resLen, 'latin1');
          resLen -= base;
          truth.chunkedResponses++;
        } else {
          head += `Content-Length: ${bodyLen}\r\nConnection: keep-alive\r\n\r\n`;
          resLen = scratch.write(head, base, 'latin1');
          const from = randInt(0, pool.length - bodyLen - 1);
          pool.copy(scratch, base + resLen, from, from + bodyLen);
          resLen += bodyLen;
        }
      }
      inc(truth.responsesByStatus, String(status));
      inc(truth.exchangesByMethodStatus, `${req.method} ${status}`);
      truth.responses++;
      truth.exchanges++;
      sent = 0;
      segs = 0;
      while (sent < resLen) {
        let len = Math.min(MSS, resLen - sent);
        // Keep a chunked body's terminator "0\r\n\r\n" in one segment: tshark 4.0 throws "Malformed"
        // when a segment boundary falls inside it, and its counts are this file's cross-check.
        const rest = resLen - sent - len;
        if (chunked && rest > 0 && rest < 5) len -= 5 - rest;
        const lastSeg = sent + len === resLen;
        packet(srv, cli, ACK | (lastSeg ? PSH : 0), scratch, base + sent, len, false);
        sent += len;
        segs++;
        yield;
        if (segs % 2 === 0 || (lastSeg && rand() < 0.5)) {
          packet(cli, srv, ACK, scratch, 0, 0, false); // otherwise the next request carries the ack
          yield;
        }
      }
    }

    // ---- close
    packet(cli, srv, FIN | ACK, scratch, 0, 0, false);
    yield;
    packet(srv, cli, FIN | ACK, scratch, 0, 0, false);
    yield;
    packet(cli, srv, ACK, scratch, 0, 0, false);
  }

  const active = [];
  for (let i = 0; i < opts.connections; i++) active.push(connection());
  while (active.length > 0) {
    const i = Math.floor(rand() * active.length);
    if (active[i].next().done) {
      if (!budgetReached()) active[i] = connection();
      else {
        active[i] = active[active.length - 1];
        active.pop();
      }
    }
  }
  out.close();

  truth.packets = out.packets;
  truth.bytes = out.bytes;
  writeFileSync(`${opts.out}.truth.json`, JSON.stringify(truth, null, 2) + '\n');
  const secs = (Date.now() - t0) / 1000;
  process.stderr.write(
    `gen.mjs: wrote ${opts.out}: ${truth.packets} packets, ${(truth.bytes / 1e6).toFixed(1)} MB, ` +
      `${truth.connections} connections, ${truth.exchanges} exchanges in ${secs.toFixed(1)} s\n`,
  );
}

main();

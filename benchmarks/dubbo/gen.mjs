#!/usr/bin/env node
// Synthetic Dubbo capture generator for the Dubbo replay benchmark.
//
//   node benchmarks/dubbo/gen.mjs OUT.pcap [--packets N] [--connections C] [--seed S]
//
// Writes a classic pcap (microsecond timestamps, Ethernet / IPv4 / TCP) of Dubbo 2 traffic to port 20880,
// built from the specifications (Apache Dubbo ExchangeCodec / DubboCodec: 16-byte header, magic 0xdabb,
// flags, status, 64-bit request id, body length; Hessian 2.0 serialization for the bodies):
// C connections (default 64) open at a time, packets interleaved. Each connection sends batches of 1-8
// concurrent calls in one write (Dubbo multiplexes calls on a connection) that the provider answers out of
// order, in one write or several; heartbeats (event flag) now and then from either side. Calls: Hessian2
// invocations of a few services (string, int, long, list, map and object arguments; ~2% with a 20-60 KB
// binary argument; attachments with `traceparent` on half of them, `sw8` on a fifth), ~3% Kryo
// (serialization 8), ~2% one-way (no answer). Answers: a value with attachments, null, ~1.5% an exception
// (RESPONSE_WITH_EXCEPTION_WITH_ATTACHMENTS, a Throwable object), ~1% SERVICE_NOT_FOUND, ~0.5% SERVER_TIMEOUT
// (status byte and an error message string).
//
// Correct sequence numbers and checksums. Writes OUT.pcap.truth.json: packets, connections, messages (every
// Dubbo message on the wire, heartbeats included), calls (= spans), per rpc.method, errors, one-way calls,
// heartbeat messages. Plain Node ESM, no dependencies.

import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Conversation, PcapWriter, interleave, pick, rand, randInt, seedRandom } from '../gen-lib.mjs';

const USAGE =
  'usage: node benchmarks/dubbo/gen.mjs OUT.pcap [--packets N] [--connections C] [--seed S]\n' +
  '  --packets N      stop starting new rounds after N packets (default 300000)\n' +
  '  --connections C  concurrent connections (default 64)\n' +
  '  --seed S         PRNG seed (default 1)\n';

function fail(msg) {
  process.stderr.write(`gen.mjs: ${msg}\n${USAGE}`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { out: '', packets: 300_000, connections: 64, seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n <= 0) fail(`${a} needs a positive integer`);
      return n;
    };
    if (a === '--packets') o.packets = num();
    else if (a === '--connections') o.connections = num();
    else if (a === '--seed') o.seed = num();
    else if (a.startsWith('-')) fail(`unknown option ${a}`);
    else if (!o.out) o.out = a;
    else fail(`unexpected argument ${a}`);
  }
  if (!o.out) fail('missing OUT.pcap');
  return o;
}

// ---- Hessian 2.0 (only the forms this generator writes) ----------------------------------------------------

const bytes = (...b) => Buffer.from(b);
/** string: x00-x1f short, x30-x33 medium, 'S' long (ASCII here: chars = bytes). */
function hStr(s) {
  const n = s.length;
  const head = n < 32 ? bytes(n) : n < 1024 ? bytes(0x30 | (n >> 8), n & 0xff) : bytes(0x53, n >> 8, n & 0xff);
  return Buffer.concat([head, Buffer.from(s, 'latin1')]);
}
/** int: single octet for -16..47, 'I' otherwise. */
function hInt(n) {
  if (n >= -16 && n < 48) return bytes(0x90 + n);
  const b = Buffer.alloc(5);
  b[0] = 0x49;
  b.writeInt32BE(n, 1);
  return b;
}
/** long as 'L' + 8 bytes. */
function hLong(n) {
  const b = Buffer.alloc(9);
  b[0] = 0x4c;
  b.writeBigInt64BE(BigInt(n), 1);
  return b;
}
/** binary: 'B' final chunk (<= 65535 bytes here). */
const hBin = (len) => Buffer.concat([bytes(0x42, len >> 8, len & 0xff), Buffer.alloc(len, 0x5a)]);
/** untyped map 'H' ... 'Z' of string keys and values. */
const hMap = (obj) => Buffer.concat([bytes(0x48), ...Object.entries(obj).flatMap(([k, v]) => [hStr(k), typeof v === 'number' ? hInt(v) : hStr(v)]), bytes(0x5a)]);
/** fixed untyped list 'X' int value*. */
const hList = (values) => Buffer.concat([bytes(0x58), hInt(values.length), ...values]);

// ---- Dubbo --------------------------------------------------------------------------------------------------

function frame(flags, status, id, body) {
  const h = Buffer.alloc(16);
  h[0] = 0xda;
  h[1] = 0xbb;
  h[2] = flags;
  h[3] = status;
  h.writeBigUInt64BE(BigInt(id), 4);
  h.writeUInt32BE(body.length, 12);
  return Buffer.concat([h, body]);
}

const SERVICES = [
  ['com.shop.api.ItemService', ['findItem', 'listItems', 'updateStock']],
  ['com.shop.api.UserService', ['login', 'getProfile']],
  ['com.shop.api.OrderService', ['createOrder', 'cancelOrder', 'getOrder']],
  ['com.shop.api.PaymentService', ['pay', 'refund']],
];
const hex = (n) => Array.from({ length: n }, () => '0123456789abcdef'[randInt(0, 15)]).join('');
const b64 = (s) => Buffer.from(s).toString('base64');
const word = () => 'abcdefghijklmnopqrstuvwxyz'.slice(0, randInt(3, 20)).repeat(randInt(1, 12));

/** One call: [rpc.method, request bytes, response bytes or null (one-way), isError]. */
function exchange(id) {
  const [service, methods] = pick(SERVICES);
  const method = pick(methods);
  const rpcMethod = `${service}/${method}`;
  const r = rand();
  if (r < 0.03) {
    // Kryo (serialization 8): Kryo's writeString, ASCII with the last byte's high bit set; the rest opaque.
    const kryo = (s) => {
      const b = Buffer.from(s, 'latin1');
      b[b.length - 1] |= 0x80;
      return b;
    };
    const body = Buffer.concat([kryo('2.0.2'), kryo(service), kryo('1.0.0'), kryo(method), Buffer.alloc(randInt(20, 400), 0x31)]);
    return [rpcMethod, frame(0xc8, 0, id, body), frame(0x08, 20, id, bytes(0x02)), false];
  }
  const oneWay = r < 0.05;
  const args = [];
  let desc = '';
  const nargs = randInt(0, 4);
  for (let i = 0; i < nargs; i++) {
    const k = randInt(0, 5);
    if (k === 0) (desc += 'Ljava/lang/String;'), args.push(hStr(word()));
    else if (k === 1) (desc += 'I'), args.push(hInt(randInt(-100000, 100000)));
    else if (k === 2) (desc += 'J'), args.push(hLong(randInt(0, 2 ** 40)));
    else if (k === 3) (desc += 'Ljava/util/List;'), args.push(hList(Array.from({ length: randInt(0, 20) }, () => hInt(randInt(0, 40)))));
    else if (k === 4) (desc += 'Ljava/util/Map;'), args.push(hMap({ sku: word(), qty: randInt(1, 9), note: word() }));
    else {
      // An object: class definition 'C' name, field count, field names; then the instance 0x60 + values.
      desc += 'Lcom/shop/api/Query;';
      args.push(Buffer.concat([bytes(0x43), hStr('com.shop.api.Query'), hInt(3), hStr('keyword'), hStr('page'), hStr('size'), bytes(0x60), hStr(word()), hInt(randInt(0, 40)), hInt(20)]));
    }
  }
  if (rand() < 0.02) (desc += '[B'), args.push(hBin(randInt(20000, 60000)));
  const att = { path: service, interface: service, version: '1.0.0', timeout: '3000', 'remote.application': 'shop-web' };
  if (rand() < 0.5) att.traceparent = `00-${hex(32)}-${hex(16)}-01`;
  else if (rand() < 0.4) att.sw8 = ['1', b64(hex(32)), b64(hex(32)), String(randInt(0, 9)), b64('shop-web'), b64('inst@10.0.0.9'), b64(`/${method}`), b64('10.0.0.250:20880')].join('-');
  const body = Buffer.concat([hStr('2.0.2'), hStr(service), hStr('1.0.0'), hStr(method), hStr(desc), ...args, hMap(att)]);
  const req = frame(oneWay ? 0x82 : 0xc2, 0, id, body);
  if (oneWay) return [rpcMethod, req, null, false];
  const a = rand();
  const respAtt = hMap({ dubbo: '2.0.2' });
  if (a < 0.01) return [rpcMethod, req, frame(0x02, 60, id, hStr(`Not found exported service: ${service}:1.0.0:20880 in [], may be version or group mismatch`)), true];
  if (a < 0.015) return [rpcMethod, req, frame(0x02, 31, id, hStr(`Waiting server-side response timeout by scan timer. method: ${method}, timeout: 3000 ms`)), true];
  if (a < 0.03) {
    const exc = Buffer.concat([bytes(0x43), hStr('java.lang.IllegalStateException'), hInt(2), hStr('detailMessage'), hStr('stackTrace'), bytes(0x60), hStr('out of stock'), bytes(0x4e)]);
    return [rpcMethod, req, frame(0x02, 20, id, Buffer.concat([hInt(3), exc, respAtt])), true];
  }
  if (a < 0.2) return [rpcMethod, req, frame(0x02, 20, id, Buffer.concat([hInt(5), respAtt])), false];
  const value = Buffer.concat([bytes(0x43), hStr('com.shop.api.Result'), hInt(3), hStr('code'), hStr('message'), hStr('data'), bytes(0x60), hInt(0), hStr('ok'), hList(Array.from({ length: randInt(0, 30) }, () => hStr(word())))]);
  return [rpcMethod, req, frame(0x02, 20, id, Buffer.concat([hInt(4), value, respAtt])), false];
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  seedRandom(opts.seed);
  const out = new PcapWriter(opts.out);
  const truth = {
    generator: 'benchmarks/dubbo/gen.mjs',
    args: opts,
    file: basename(opts.out),
    packets: 0,
    bytes: 0,
    connections: 0,
    messages: 0,
    calls: 0,
    errors: 0,
    oneWay: 0,
    heartbeats: 0,
    byMethod: {},
  };
  const clock = { us: Date.UTC(2026, 10, 22, 12, 0, 0) * 1000 };
  const budget = () => out.packets >= opts.packets;
  let seq = 0;

  function* connection() {
    const n = seq++;
    truth.connections++;
    const c = new Conversation(out, clock, (10 << 24) | (3 << 16) | ((n % 60000) + 1), 30000 + (n % 30000), (10 << 24) | 250, 20880);
    c.open();
    yield;
    let id = randInt(0, 1000);
    for (let rounds = randInt(5, 60); rounds > 0 && !budget(); rounds--) {
      if (rand() < 0.05) {
        // A heartbeat (event, two-way, null body 'N') from either side, answered at once.
        const fromClient = rand() < 0.5;
        const hid = id++;
        c.send(fromClient, frame(0xe2, 0, hid, bytes(0x4e)));
        c.send(!fromClient, frame(0x22, 20, hid, bytes(0x4e)));
        truth.heartbeats += 2;
        truth.messages += 2;
        yield;
      }
      const batch = Array.from({ length: rand() < 0.5 ? 1 : randInt(2, 8) }, () => exchange(id++));
      c.send(true, Buffer.concat(batch.map((e) => e[1])));
      for (const [m, , resp, err] of batch) {
        truth.calls++;
        truth.messages += resp === null ? 1 : 2;
        truth.byMethod[m] = (truth.byMethod[m] ?? 0) + 1;
        if (err) truth.errors++;
        if (resp === null) truth.oneWay++;
      }
      yield;
      // Answers out of order, in one write or one per answer.
      const answers = batch.map((e) => e[2]).filter((x) => x !== null);
      for (let i = answers.length - 1; i > 0; i--) {
        const j = randInt(0, i);
        [answers[i], answers[j]] = [answers[j], answers[i]];
      }
      if (answers.length > 0) {
        if (rand() < 0.5) c.send(false, Buffer.concat(answers));
        else for (const a of answers) c.send(false, a);
      }
      yield;
    }
    c.close();
  }

  interleave(opts.connections, budget, connection);
  out.close();
  truth.packets = out.packets;
  truth.bytes = out.bytes;
  writeFileSync(`${opts.out}.truth.json`, `${JSON.stringify(truth, null, 2)}\n`);
  process.stderr.write(`gen.mjs: ${opts.out}: ${truth.packets} packets, ${truth.connections} connections, ${truth.calls} calls, ${truth.messages} messages\n`);
}

main();

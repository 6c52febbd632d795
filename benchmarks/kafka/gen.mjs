#!/usr/bin/env node
// Synthetic Kafka capture generator for the Kafka replay benchmark.
//
//   node benchmarks/kafka/gen.mjs OUT.pcap [--packets N] [--connections C] [--seed S]
//
// Writes a classic pcap (microsecond timestamps, Ethernet / IPv4 / TCP) of Kafka traffic to port 9092,
// encoded from the protocol guide (https://kafka.apache.org/protocol) in versions tshark 4.0 dissects:
// C connections (default 64) open at a time, packets interleaved. Each connection does a handshake and
// ApiVersions v2, then rounds of pipelined requests (1-10 in flight, as clients do) answered in order:
// Produce v7 (record batches, magic 2, of 1-10 records of 20-300 bytes, ~30% carrying a `traceparent`
// record header; ~10% with acks=0, which get no response; ~1% answered NOT_LEADER_OR_FOLLOWER),
// Fetch v11 (responses with 0-4 batches of 1-10 records of 50-400 bytes), Heartbeat v3 and
// OffsetCommit v7. Segments of at most 1460 bytes. FIN / FIN / ACK at the end.
//
// Correct sequence numbers and checksums: tshark dissects every message. Writes OUT.pcap.truth.json:
// packets, connections, requests (= spans), per operation, error responses, records produced and fetched.
// Plain Node ESM, no dependencies.

import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { Conversation, PcapWriter, interleave, pick, rand, randInt, seedRandom } from '../gen-lib.mjs';

const USAGE =
  'usage: node benchmarks/kafka/gen.mjs OUT.pcap [--packets N] [--connections C] [--seed S]\n' +
  '  --packets N      stop starting new rounds after N packets (default 300000)\n' +
  '  --connections C  concurrent connections (default 64)\n' +
  '  --seed S         PRNG seed (default 1)\n';

/** The command line (node:util parseArgs), checked: positive integers, exactly one output file. */
function options(argv) {
  let v;
  try {
    v = parseArgs({ args: argv, allowPositionals: true, options: { packets: { type: 'string' }, connections: { type: 'string' }, seed: { type: 'string' } } });
  } catch (e) {
    process.stderr.write(`gen.mjs: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  const o = { out: v.positionals[0] ?? '', packets: 300_000, connections: 64, seed: 1 };
  for (const k of ['packets', 'connections', 'seed']) {
    if (v.values[k] === undefined) continue;
    const n = Number(v.values[k]);
    if (!Number.isInteger(n) || n <= 0) {
      process.stderr.write(`gen.mjs: --${k} needs a positive integer\n${USAGE}`);
      process.exit(2);
    }
    o[k] = n;
  }
  if (o.out === '' || v.positionals.length > 1) {
    process.stderr.write(`gen.mjs: one OUT.pcap expected\n${USAGE}`);
    process.exit(2);
  }
  return o;
}

// ---- encoding (non-flexible versions: int16 strings, int32 arrays and bytes) ----------------------
const i8 = (n) => Buffer.from([n & 0xff]);
const i16 = (n) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const i32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const i64 = (n) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
};
const str = (s) => (s === null ? i16(-1) : Buffer.concat([i16(Buffer.byteLength(s)), Buffer.from(s)]));
const bytes = (b) => Buffer.concat([i32(b.length), b]);
function uvarint(n) {
  const out = [];
  do {
    let c = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) c |= 0x80;
    out.push(c);
  } while (n > 0);
  return Buffer.from(out);
}
const varint = (n) => uvarint(n >= 0 ? n * 2 : -n * 2 - 1);
const filler = (n) => Buffer.alloc(n, 0x61 + (n % 26));

/** A record batch (magic 2, uncompressed). */
function recordBatch(count, minSize, maxSize, traceparent) {
  const recs = [];
  for (let i = 0; i < count; i++) {
    const value = filler(randInt(minSize, maxSize));
    const key = Buffer.from(`key-${randInt(1, 1e6)}`);
    const headers = traceparent !== null && i === 0 ? [['traceparent', traceparent]] : [];
    const parts = [i8(0), varint(i), varint(i), varint(key.length), key, varint(value.length), value, varint(headers.length)];
    for (const [k, v] of headers) parts.push(varint(k.length), Buffer.from(k), varint(v.length), Buffer.from(v));
    const body = Buffer.concat(parts);
    recs.push(varint(body.length), body);
  }
  const after = Buffer.concat([
    i32(0), i8(2), i32(0), i16(0), i32(count - 1), i64(1_795_000_000_000), i64(1_795_000_000_000), i64(-1), i16(-1), i32(-1), i32(count), ...recs,
  ]);
  return Buffer.concat([i64(0), i32(after.length), after]);
}

const sized = (payload) => Buffer.concat([i32(payload.length), payload]);
const request = (key, version, corr, clientId, body) => sized(Buffer.concat([i16(key), i16(version), i32(corr), str(clientId), body]));
const response = (corr, body) => sized(Buffer.concat([i32(corr), body]));

const TOPICS = ['orders', 'payments', 'clicks', 'audit', 'inventory', 'shipments', 'users', 'metrics'];
const hex = (n) => Array.from({ length: n }, () => '0123456789abcdef'[randInt(0, 15)]).join('');

/** One exchange: [operation, request bytes, response bytes or null (acks=0), isError, records produced, records fetched]. */
function exchange(corr, clientId, group) {
  const topic = pick(TOPICS);
  const partition = randInt(0, 11);
  const r = rand();
  if (r < 0.5) {
    const acks = rand() < 0.1 ? 0 : rand() < 0.5 ? 1 : -1;
    const count = randInt(1, 10);
    const tp = rand() < 0.3 ? `00-${hex(32)}-${hex(16)}-01` : null;
    const batch = recordBatch(count, 20, 300, tp);
    const body = Buffer.concat([str(null), i16(acks), i32(30000), i32(1), str(topic), i32(1), i32(partition), bytes(batch)]);
    const err = acks !== 0 && rand() < 0.01 ? 6 : 0;
    const resp = acks === 0 ? null : response(corr, Buffer.concat([i32(1), str(topic), i32(1), i32(partition), i16(err), i64(randInt(0, 1e9)), i64(-1), i64(0), i32(0)]));
    return ['produce', request(0, 7, corr, clientId, body), resp, err !== 0, count, 0];
  }
  if (r < 0.8) {
    const body = Buffer.concat([i32(-1), i32(500), i32(1), i32(52428800), i8(0), i32(0), i32(-1), i32(1), str(topic), i32(1), i32(partition), i32(-1), i64(randInt(0, 1e6)), i64(-1), i32(1048576), i32(0), str('')]);
    const batches = rand() < 0.3 ? 0 : randInt(1, 4);
    let fetched = 0;
    const data = [];
    for (let i = 0; i < batches; i++) {
      const n = randInt(1, 10);
      fetched += n;
      data.push(recordBatch(n, 50, 400, null));
    }
    const records = Buffer.concat(data);
    const resp = response(corr, Buffer.concat([i32(0), i16(0), i32(randInt(1, 1e6)), i32(1), str(topic), i32(1), i32(partition), i16(0), i64(1e6), i64(1e6), i64(0), i32(-1), i32(-1), bytes(records)]));
    return ['fetch', request(1, 11, corr, clientId, body), resp, false, 0, fetched];
  }
  if (r < 0.9) {
    const body = Buffer.concat([str(group), i32(randInt(1, 100)), str(`${clientId}-member`), str(null)]);
    return ['heartbeat', request(12, 3, corr, clientId, body), response(corr, Buffer.concat([i32(0), i16(0)])), false, 0, 0];
  }
  const body = Buffer.concat([str(group), i32(randInt(1, 100)), str(`${clientId}-member`), str(null), i32(1), str(topic), i32(1), i32(partition), i64(randInt(0, 1e9)), i32(-1), str('')]);
  const resp = response(corr, Buffer.concat([i32(0), i32(1), str(topic), i32(1), i32(partition), i16(0)]));
  return ['offset_commit', request(8, 7, corr, clientId, body), resp, false, 0, 0];
}

function main() {
  const opts = options(process.argv.slice(2));
  seedRandom(opts.seed);
  const out = new PcapWriter(opts.out);
  const truth = {
    generator: 'benchmarks/kafka/gen.mjs', args: opts, file: basename(opts.out), packets: 0, bytes: 0, connections: 0,
    requests: 0, messages: 0, errors: 0, byOperation: {}, recordsProduced: 0, recordsFetched: 0, acks0: 0,
  };
  const clock = { us: Date.UTC(2026, 10, 22, 12, 0, 0) * 1000 };
  const budget = () => out.packets >= opts.packets;
  let seq = 0;
  const count = (op, isError, hasResponse) => {
    truth.requests++;
    truth.messages += hasResponse ? 2 : 1;
    truth.byOperation[op] = (truth.byOperation[op] ?? 0) + 1;
    if (isError) truth.errors++;
  };

  function* connection() {
    const n = seq++;
    truth.connections++;
    const c = new Conversation(out, clock, (10 << 24) | (3 << 16) | ((n % 60000) + 1), 30000 + (n % 30000), (10 << 24) | 251, 9092);
    const clientId = `client-${n % 500}`;
    const group = `group-${n % 20}`;
    let corr = 0;
    c.open();
    yield;
    const av = request(18, 2, corr, clientId, Buffer.alloc(0));
    const keys = [[0, 0, 7], [1, 0, 11], [3, 0, 8], [8, 0, 7], [12, 0, 3], [18, 0, 2]];
    const avResp = response(corr++, Buffer.concat([i16(0), i32(keys.length), ...keys.map(([k, a, b]) => Buffer.concat([i16(k), i16(a), i16(b)])), i32(0)]));
    c.send(true, av);
    count('api_versions', false, true);
    yield;
    c.send(false, avResp);
    yield;
    for (let rounds = randInt(5, 60); rounds > 0 && !budget(); rounds--) {
      const batch = Array.from({ length: randInt(1, 10) }, () => exchange(corr++, clientId, group));
      c.send(true, Buffer.concat(batch.map((e) => e[1])));
      for (const [op, , resp, err, produced, fetched] of batch) {
        count(op, err, resp !== null);
        if (resp === null) truth.acks0++;
        truth.recordsProduced += produced;
        truth.recordsFetched += fetched;
      }
      yield;
      const answers = batch.map((e) => e[2]).filter((x) => x !== null);
      if (answers.length > 0) c.send(false, Buffer.concat(answers));
      yield;
    }
    c.close();
  }

  interleave(opts.connections, budget, connection);
  out.close();
  truth.packets = out.packets;
  truth.bytes = out.bytes;
  writeFileSync(`${opts.out}.truth.json`, `${JSON.stringify(truth, null, 2)}\n`);
  process.stderr.write(`gen.mjs: ${opts.out}: ${truth.packets} packets, ${truth.connections} connections, ${truth.requests} requests\n`);
}

main();

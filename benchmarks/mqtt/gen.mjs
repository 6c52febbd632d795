#!/usr/bin/env node
// Synthetic MQTT capture generator for the MQTT replay benchmark.
//
//   node benchmarks/mqtt/gen.mjs OUT.pcap [--packets N] [--connections C] [--seed S]
//
// Writes a classic pcap (microsecond timestamps, Ethernet / IPv4 / TCP) of MQTT to port 1883, packets
// built from the OASIS MQTT 3.1.1 and 5.0 specifications: C connections (default 64) open at a time,
// interleaved. Each connection: CONNECT (70% 3.1.1, 30% 5.0; user name and password set) and CONNACK
// (0.5% refused: 5 / 0x87, then the connection closes). Publishers (75%) send rounds of 1-20 PUBLISHes in
// one write (QoS 0 40%, 1 40%, 2 20%; payloads 16-1000 bytes, 3% 2-20 KB over several segments; 5.0
// ones carry a traceparent user property one time in three), answered in one write by PUBACK / PUBREC,
// then PUBREL and PUBCOMP; 5.0 brokers refuse ~1% (PUBACK 0x87, PUBREC 0x97). Subscribers (25%)
// SUBSCRIBE to 1-3 filters (SUBACK; 2% with a 0x80 failure), then receive rounds of 1-20 deliveries
// (QoS 0/1/2, acknowledged by the client with the QoS 2 handshake), then UNSUBSCRIBE. PINGREQ/PINGRESP
// between rounds now and then; DISCONNECT; FIN / FIN / ACK.
//
// Correct sequence numbers and checksums: tshark dissects every packet. Writes OUT.pcap.truth.json:
// packets, connections, MQTT control packets (messages), spans (= exchanges) per operation, errors.
// Plain Node ESM, no dependencies.

import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Conversation, PcapWriter, interleave, pick, rand, randInt, seedRandom } from '../gen-lib.mjs';

const USAGE =
  'usage: node benchmarks/mqtt/gen.mjs OUT.pcap [--packets N] [--connections C] [--seed S]\n' +
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

// ---- MQTT encoding (3.1.1 section 2-3, 5.0 sections 1.5, 2.2, 3) -------------------------------------
/** Variable byte integer. */
function vbi(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}
const u16 = (n) => [n >> 8, n & 0xff];
const str = (s) => [...u16(Buffer.byteLength(s)), ...Buffer.from(s)];
const props = (list) => [...vbi(list.length), ...list];
/** Fixed header + body (an array of bytes, then an optional payload Buffer). */
function packet(type, flags, body, payload = null) {
  const len = body.length + (payload ? payload.length : 0);
  const head = Buffer.from([(type << 4) | flags, ...vbi(len), ...body]);
  return payload ? Buffer.concat([head, payload]) : head;
}
const hex = (n) => Array.from({ length: n }, () => '0123456789abcdef'[randInt(0, 15)]).join('');

const connect = (v5, clientId) =>
  packet(1, 0, [...str('MQTT'), v5 ? 5 : 4, 0xc2, ...u16(60), ...(v5 ? props([0x11, 0, 0, 0, 30]) : []), ...str(clientId), ...str('bench-user'), ...str('bench-password')]);
const connack = (v5, code) => packet(2, 0, [0, code, ...(v5 ? props([]) : [])]);
function publish(v5, topic, qos, pid, payload, traced) {
  const body = [...str(topic)];
  if (qos > 0) body.push(...u16(pid));
  if (v5) body.push(...props(traced ? [0x26, ...str('traceparent'), ...str(`00-${hex(32)}-${hex(16)}-01`)] : []));
  return packet(3, qos << 1, body, payload);
}
/** PUBACK 4, PUBREC 5, PUBREL 6, PUBCOMP 7; `code` only in 5.0 when not 0 (an absent code means 0). */
const ack = (type, pid, code = 0) => packet(type, type === 6 ? 2 : 0, [...u16(pid), ...(code ? [code, 0] : [])]);
const subscribe = (v5, pid, filters) => packet(8, 2, [...u16(pid), ...(v5 ? props([]) : []), ...filters.flatMap(([f, q]) => [...str(f), q])]);
const suback = (v5, pid, codes) => packet(9, 0, [...u16(pid), ...(v5 ? props([]) : []), ...codes]);
const unsubscribe = (v5, pid, filters) => packet(10, 2, [...u16(pid), ...(v5 ? props([]) : []), ...filters.flatMap((f) => str(f))]);
const unsuback = (v5, pid, n) => packet(11, 0, [...u16(pid), ...(v5 ? [...props([]), ...Array(n).fill(0)] : [])]);
const PINGREQ = Buffer.from([0xc0, 0]);
const PINGRESP = Buffer.from([0xd0, 0]);
const DISCONNECT = Buffer.from([0xe0, 0]);

const REGIONS = ['eu', 'us', 'ap', 'sa'];
const KINDS = ['temp', 'humidity', 'power', 'status'];
const topic = () => `sensors/${pick(REGIONS)}/dev${randInt(1, 200)}/${pick(KINDS)}`;
const payload = () => Buffer.alloc(rand() < 0.03 ? randInt(2000, 20000) : randInt(16, 1000), 0x61 + randInt(0, 25));
const qos = () => {
  const r = rand();
  return r < 0.4 ? 0 : r < 0.8 ? 1 : 2;
};

function main() {
  const opts = parseArgs(process.argv.slice(2));
  seedRandom(opts.seed);
  const out = new PcapWriter(opts.out);
  const truth = { generator: 'benchmarks/mqtt/gen.mjs', args: opts, file: basename(opts.out), packets: 0, bytes: 0, connections: 0, messages: 0, spans: 0, errors: 0, byOperation: {} };
  const clock = { us: Date.UTC(2026, 10, 22, 12, 0, 0) * 1000 };
  const budget = () => out.packets >= opts.packets;
  const span = (op, error = false) => {
    truth.spans++;
    truth.byOperation[op] = (truth.byOperation[op] ?? 0) + 1;
    if (error) truth.errors++;
  };
  let seq = 0;

  function* connection() {
    const n = seq++;
    truth.connections++;
    const v5 = rand() < 0.3;
    const c = new Conversation(out, clock, (10 << 24) | (3 << 16) | ((n % 60000) + 1), 30000 + (n % 30000), (10 << 24) | 250, 1883);
    /** Writes MQTT packets in one send; counts them. */
    const send = (fromClient, ...pk) => {
      truth.messages += pk.length;
      c.send(fromClient, pk.length === 1 ? pk[0] : Buffer.concat(pk));
    };
    let pid = 0;
    const nextPid = () => (pid = (pid % 65535) + 1);
    c.open();
    yield;
    send(true, connect(v5, `bench-${n}`));
    yield;
    if (rand() < 0.005) {
      send(false, connack(v5, v5 ? 0x87 : 5));
      span('connect', true);
      yield;
      c.close();
      return;
    }
    send(false, connack(v5, 0));
    span('connect');
    yield;
    const subscriber = rand() < 0.25;
    let filters = [];
    if (subscriber) {
      filters = Array.from({ length: randInt(1, 3) }, () => `sensors/${pick(REGIONS)}/+/${pick(KINDS)}`);
      const id = nextPid();
      send(true, subscribe(v5, id, filters.map((f) => [f, randInt(0, 2)])));
      yield;
      const failed = rand() < 0.02;
      send(false, suback(v5, id, filters.map((_, i) => (failed && i === 0 ? 0x80 : randInt(0, 2)))));
      span('subscribe', failed);
      yield;
    }
    let brokerPid = 0;
    for (let rounds = randInt(5, 40); rounds > 0 && !budget(); rounds--) {
      const fromClient = !subscriber;
      const batch = Array.from({ length: rand() < 0.4 ? 1 : randInt(2, 20) }, () => {
        const q = qos();
        const id = q === 0 ? 0 : fromClient ? nextPid() : (brokerPid = (brokerPid % 65535) + 1);
        return { q, id, pkt: publish(v5, topic(), q, id, payload(), v5 && rand() < 0.33) };
      });
      send(fromClient, ...batch.map((b) => b.pkt));
      yield;
      const acks = [];
      const rels = [];
      const comps = [];
      for (const b of batch) {
        const op = fromClient ? 'publish' : 'process';
        if (b.q === 0) span(op);
        else if (b.q === 1) {
          const refused = fromClient && v5 && rand() < 0.01;
          acks.push(ack(4, b.id, refused ? 0x87 : 0));
          span(op, refused);
        } else {
          const refused = fromClient && v5 && rand() < 0.01;
          acks.push(ack(5, b.id, refused ? 0x97 : 0));
          span(op, refused);
          if (!refused) {
            rels.push(ack(6, b.id));
            comps.push(ack(7, b.id));
          }
        }
      }
      if (acks.length) {
        send(!fromClient, ...acks);
        yield;
      }
      if (rels.length) {
        send(fromClient, ...rels);
        yield;
        send(!fromClient, ...comps);
        yield;
      }
      if (rand() < 0.05) {
        send(true, PINGREQ);
        yield;
        send(false, PINGRESP);
        span('ping');
        yield;
      }
    }
    if (subscriber) {
      const id = nextPid();
      send(true, unsubscribe(v5, id, filters));
      yield;
      send(false, unsuback(v5, id, filters.length));
      span('unsubscribe');
      yield;
    }
    send(true, DISCONNECT);
    span('disconnect');
    yield;
    c.close();
  }

  interleave(opts.connections, budget, connection);
  out.close();
  truth.packets = out.packets;
  truth.bytes = out.bytes;
  writeFileSync(`${opts.out}.truth.json`, `${JSON.stringify(truth, null, 2)}\n`);
  process.stderr.write(`gen.mjs: ${opts.out}: ${truth.packets} packets, ${truth.connections} connections, ${truth.messages} MQTT packets, ${truth.spans} exchanges\n`);
}

main();

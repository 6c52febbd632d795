#!/usr/bin/env node
// Synthetic PostgreSQL capture generator for the PostgreSQL replay benchmark.
//
//   node benchmarks/postgresql/gen.mjs OUT.pcap [--packets N] [--connections C] [--seed S]
//
// Writes a classic pcap (microsecond timestamps, Ethernet / IPv4 / TCP) of protocol-3.0 traffic to port
// 5432: C connections (default 64) open at a time, packets interleaved. Each connection: handshake,
// StartupMessage (user, database) answered by AuthenticationOk, ParameterStatus, BackendKeyData and
// ReadyForQuery; then queries: simple Query (SELECT with 0-20 DataRows, INSERT, UPDATE, DELETE, BEGIN /
// COMMIT) or extended protocol (Parse/Bind/Describe/Execute/Sync with named statements, re-executed later
// with Bind/Execute/Sync only), ~1% answered by an ErrorResponse; Terminate and FIN at the end.
//
// Correct sequence numbers and checksums: tshark dissects every message. Writes OUT.pcap.truth.json:
// packets, connections, units (= spans: one per connection start-up, Query and Sync), per operation,
// errors. Plain Node ESM, no dependencies.

import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Conversation, PcapWriter, interleave, pick, rand, randInt, seedRandom } from '../gen-lib.mjs';

const USAGE = 'usage: node benchmarks/postgresql/gen.mjs OUT.pcap [--packets N] [--connections C] [--seed S]\n';

function parseArgs(argv) {
  const o = { out: '', packets: 300_000, connections: 64, seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--packets' || a === '--connections' || a === '--seed') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n <= 0) {
        process.stderr.write(`gen.mjs: ${a} needs a positive integer\n${USAGE}`);
        process.exit(2);
      }
      o[a.slice(2)] = n;
    } else if (!a.startsWith('-') && !o.out) o.out = a;
    else {
      process.stderr.write(`gen.mjs: unexpected argument ${a}\n${USAGE}`);
      process.exit(2);
    }
  }
  if (!o.out) {
    process.stderr.write(`gen.mjs: missing OUT.pcap\n${USAGE}`);
    process.exit(2);
  }
  return o;
}

// ---- messages (protocol "Message Formats") ----
const int32 = (n) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const int16 = (n) => [(n >> 8) & 0xff, n & 0xff];
const cs = (s) => [...Buffer.from(s, 'latin1'), 0];
const msg = (type, body) => [type.charCodeAt(0), ...int32(body.length + 4), ...body];
const startup = (user, db) => {
  const body = [...int32(196608), ...cs('user'), ...cs(user), ...cs('database'), ...cs(db), 0];
  return [...int32(body.length + 4), ...body];
};
const Z = (st = 'I') => msg('Z', [st.charCodeAt(0)]);
const CC = (tag) => msg('C', cs(tag));
const ROWDESC = msg('T', [...int16(1), ...cs('name'), ...int32(0), ...int16(0), ...int32(25), ...int16(-1 & 0xffff), ...int32(-1 >>> 0), ...int16(0)]);
const row = () => {
  const v = 'x'.repeat(randInt(5, 200));
  return msg('D', [...int16(1), ...int32(v.length), ...Buffer.from(v, 'latin1')]);
};
const ERR = msg('E', [0x53, ...cs('ERROR'), 0x43, ...cs('23505'), 0x4d, ...cs('duplicate key value violates unique constraint'), 0]);

const TABLES = ['orders', 'users', 'items', 'payments', 'sessions', 'audit_log'];

function main() {
  const opts = parseArgs(process.argv.slice(2));
  seedRandom(opts.seed);
  const out = new PcapWriter(opts.out);
  const truth = { generator: 'benchmarks/postgresql/gen.mjs', args: opts, file: basename(opts.out), packets: 0, bytes: 0, connections: 0, units: 0, errors: 0, byOperation: {} };
  const count = (op, err = false) => {
    truth.units++;
    truth.byOperation[op] = (truth.byOperation[op] ?? 0) + 1;
    if (err) truth.errors++;
  };
  const clock = { us: Date.UTC(2026, 10, 22, 12, 0, 0) * 1000 };
  const budget = () => out.packets >= opts.packets;
  let seq = 0;

  /** One query: [client bytes, server bytes, operation, error]. */
  function query(prepared) {
    const table = pick(TABLES);
    const id = randInt(1, 1e6);
    const err = rand() < 0.01;
    const r = rand();
    if (r < 0.35) {
      // extended protocol, a named statement per table: Parse the first time, then Bind/Execute only
      const name = `s_${table}`;
      const sql = `SELECT name FROM ${table} WHERE id = $1`;
      const rows = randInt(0, 5);
      const parse = prepared.has(name) ? [] : msg('P', [...cs(name), ...cs(sql), ...int16(0)]);
      prepared.add(name);
      const bind = msg('B', [...cs(''), ...cs(name), ...int16(0), ...int16(1), ...int32(String(id).length), ...Buffer.from(String(id)), ...int16(0)]);
      const client = [...parse, ...bind, ...msg('D', [0x50, 0]), ...msg('E', [0, ...int32(0)]), ...msg('S', [])];
      const server = [...(parse.length ? msg('1', []) : []), ...msg('2', []), ...ROWDESC];
      for (let i = 0; i < rows; i++) server.push(...row());
      server.push(...CC(`SELECT ${rows}`), ...Z());
      return [client, server, 'SELECT', false];
    }
    if (r < 0.65) {
      const rows = randInt(0, 20);
      const server = [...ROWDESC];
      for (let i = 0; i < rows; i++) server.push(...row());
      server.push(...CC(`SELECT ${rows}`), ...Z());
      return [msg('Q', cs(`SELECT id, name FROM ${table} WHERE owner = 'user${id}' LIMIT 20`)), server, 'SELECT', false];
    }
    if (r < 0.8) return [msg('Q', cs(`INSERT INTO ${table} (id, name) VALUES (${id}, 'name ${id}')`)), err ? [...ERR, ...Z()] : [...CC('INSERT 0 1'), ...Z()], 'INSERT', err];
    if (r < 0.9) return [msg('Q', cs(`UPDATE ${table} SET name = 'n${id}' WHERE id = ${id}`)), [...CC(`UPDATE ${randInt(0, 3)}`), ...Z()], 'UPDATE', false];
    if (r < 0.95) return [msg('Q', cs(`DELETE FROM ${table} WHERE id = ${id}`)), [...CC(`DELETE ${randInt(0, 1)}`), ...Z()], 'DELETE', false];
    return rand() < 0.5 ? [msg('Q', cs('BEGIN')), [...CC('BEGIN'), ...Z('T')], 'BEGIN', false] : [msg('Q', cs('COMMIT')), [...CC('COMMIT'), ...Z()], 'COMMIT', false];
  }

  function* connection() {
    const n = seq++;
    truth.connections++;
    const conv = new Conversation(out, clock, (10 << 24) | (3 << 16) | ((n % 60000) + 1), 40000 + (n % 20000), (10 << 24) | 251, 5432);
    conv.open();
    yield;
    conv.send(true, startup('app', 'shop'));
    conv.send(false, [...msg('R', int32(0)), ...msg('S', [...cs('server_version'), ...cs('15.8')]), ...msg('K', [...int32(n), ...int32(7)]), ...Z()]);
    count('CONNECT');
    yield;
    const prepared = new Set();
    for (let q = randInt(5, 80); q > 0 && !budget(); q--) {
      const [c, s, op, err] = query(prepared);
      conv.send(true, c);
      count(op, err);
      yield;
      conv.send(false, s);
      yield;
    }
    conv.send(true, msg('X', []));
    conv.close();
  }

  interleave(opts.connections, budget, connection);
  out.close();
  truth.packets = out.packets;
  truth.bytes = out.bytes;
  writeFileSync(`${opts.out}.truth.json`, `${JSON.stringify(truth, null, 2)}\n`);
  process.stderr.write(`gen.mjs: ${opts.out}: ${truth.packets} packets, ${truth.connections} connections, ${truth.units} units\n`);
}

main();

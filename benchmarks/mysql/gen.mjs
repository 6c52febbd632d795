#!/usr/bin/env node
// Synthetic MySQL capture generator for the MySQL replay benchmark.
//
//   node benchmarks/mysql/gen.mjs OUT.pcap [--packets N] [--connections C] [--seed S]
//
// Writes a classic pcap (microsecond timestamps, Ethernet / IPv4 / TCP) of MySQL client/server protocol
// traffic to port 3306, built from the protocol documentation (MySQL source documentation, "Client/Server
// Protocol"): C connections (default 64) open at a time, packets interleaved. Each connection: handshake,
// the server greeting (Protocol::HandshakeV10, mysql_native_password), the client's HandshakeResponse41
// (user, auth response, database, plugin, connection attributes), then OK, or ERR 1045 for ~0.5% of them
// (the server then closes). Half the connections negotiate CLIENT_DEPRECATE_EOF (result sets end with an
// OK packet whose header is 0xFE), the other half use EOF packets. Then 5-80 commands, one at a time:
//   COM_QUERY SELECT (3 columns, 0-20 text rows, NULLs; ~1% against a missing table: ERR 1146 42S02),
//   COM_QUERY INSERT (OK, 1 affected row; ~1% ERR 1062 23000), UPDATE (OK, 0-3 rows, "Rows matched" info),
//   DELETE (OK, 0-1 rows), BEGIN / COMMIT (OK),
//   prepared SELECT by id: COM_STMT_PREPARE the first time per table (PREPARE_OK with 1 parameter and
//   3 columns, their definitions), then COM_STMT_EXECUTE (a LONGLONG parameter) answered by a binary
//   result set (0-5 binary rows with a NULL bitmap),
//   COM_PING and COM_INIT_DB (OK);
// at the end COM_STMT_CLOSE for each statement (half the connections) and COM_QUIT, then FIN.
//
// Correct sequence numbers and checksums: tshark dissects every packet. Writes OUT.pcap.truth.json:
// packets, connections, spans (one per login and per command, COM_STMT_CLOSE and COM_QUIT included),
// per operation (db.operation.name), per command (spanwire.mysql.command), per command byte (tshark's
// mysql.command), errors per error number, rows returned, rows affected. Plain Node ESM, no dependencies.

import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { Conversation, PcapWriter, interleave, pick, rand, randInt, seedRandom } from '../gen-lib.mjs';

const USAGE = 'usage: node benchmarks/mysql/gen.mjs OUT.pcap [--packets N] [--connections C] [--seed S]\n';

/** OUT.pcap and the positive integer options, with node:util's parser (unknown options are refused). */
function options(argv) {
  const fail = (msg) => {
    process.stderr.write(`gen.mjs: ${msg}\n${USAGE}`);
    process.exit(2);
  };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { packets: { type: 'string' }, connections: { type: 'string' }, seed: { type: 'string' } } });
  } catch (e) {
    fail(e.message);
  }
  if (parsed.positionals.length !== 1) fail(parsed.positionals.length === 0 ? 'missing OUT.pcap' : `unexpected argument ${parsed.positionals[1]}`);
  const o = { out: parsed.positionals[0], packets: 300_000, connections: 64, seed: 1 };
  for (const [k, v] of Object.entries(parsed.values)) {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) fail(`--${k} needs a positive integer`);
    o[k] = n;
  }
  return o;
}

// ---- protocol constants ("Capabilities Flags", "COM_xxx", "enum_field_types", "SERVER_STATUS_flags_enum") ----
const CLIENT = {
  LONG_PASSWORD: 1,
  FOUND_ROWS: 2,
  LONG_FLAG: 4,
  CONNECT_WITH_DB: 8,
  NO_SCHEMA: 16,
  COMPRESS: 32,
  ODBC: 64,
  LOCAL_FILES: 128,
  IGNORE_SPACE: 256,
  PROTOCOL_41: 512,
  INTERACTIVE: 1024,
  SSL: 2048,
  IGNORE_SIGPIPE: 4096,
  TRANSACTIONS: 8192,
  SECURE_CONNECTION: 32768,
  MULTI_STATEMENTS: 1 << 16,
  MULTI_RESULTS: 1 << 17,
  PS_MULTI_RESULTS: 1 << 18,
  PLUGIN_AUTH: 1 << 19,
  CONNECT_ATTRS: 1 << 20,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 1 << 21,
  CAN_HANDLE_EXPIRED_PASSWORDS: 1 << 22,
  SESSION_TRACK: 1 << 23,
  DEPRECATE_EOF: 1 << 24,
};
const SERVER_CAPS = Object.values(CLIENT).reduce((a, b) => a | b, 0) >>> 0; // everything listed, SSL and compression included
const CLIENT_CAPS =
  CLIENT.LONG_PASSWORD | CLIENT.LONG_FLAG | CLIENT.CONNECT_WITH_DB | CLIENT.LOCAL_FILES | CLIENT.PROTOCOL_41 | CLIENT.TRANSACTIONS |
  CLIENT.SECURE_CONNECTION | CLIENT.MULTI_STATEMENTS | CLIENT.MULTI_RESULTS | CLIENT.PS_MULTI_RESULTS | CLIENT.PLUGIN_AUTH |
  CLIENT.CONNECT_ATTRS | CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT.SESSION_TRACK;
const COM = { QUIT: 0x01, INIT_DB: 0x02, QUERY: 0x03, PING: 0x0e, STMT_PREPARE: 0x16, STMT_EXECUTE: 0x17, STMT_CLOSE: 0x19 };
const COM_NAME = { 0x01: 'COM_QUIT', 0x02: 'COM_INIT_DB', 0x03: 'COM_QUERY', 0x0e: 'COM_PING', 0x16: 'COM_STMT_PREPARE', 0x17: 'COM_STMT_EXECUTE', 0x19: 'COM_STMT_CLOSE' };
const TYPE = { DOUBLE: 0x05, LONGLONG: 0x08, VAR_STRING: 0xfd };
const STATUS_AUTOCOMMIT = 0x0002;
const STATUS_IN_TRANS = 0x0001;
const UTF8MB4 = 45; // utf8mb4_general_ci
const BINARY = 63;

// ---- basic types ("Basic Data Types": fixed-length and length-encoded integers and strings) ----
const int2 = (n) => [n & 0xff, (n >>> 8) & 0xff];
const int3 = (n) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff];
const int4 = (n) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const int8 = (n) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(n));
  return [...b];
};
const double8 = (x) => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return [...b];
};
function lenencInt(n) {
  if (n < 251) return [n];
  if (n < 1 << 16) return [0xfc, ...int2(n)];
  if (n < 1 << 24) return [0xfd, ...int3(n)];
  return [0xfe, ...int8(n)];
}
const ascii = (s) => [...Buffer.from(s, 'latin1')];
const lenencStr = (s) => {
  const b = ascii(s);
  return [...lenencInt(b.length), ...b];
};
const nulStr = (s) => [...ascii(s), 0];
const randomBytes = (n) => Array.from({ length: n }, () => randInt(1, 255));

/** One MySQL packet: 3-byte payload length, sequence id, payload. Appended to `out`. */
function packet(out, seq, payload) {
  out.push(...int3(payload.length), seq & 0xff, ...payload);
}

// ---- generic response packets ----
/** OK_Packet; with CLIENT_SESSION_TRACK (always negotiated here) the info is a length-encoded string, if any. */
const okPayload = (affected, insertId, status, info = '', header = 0x00) => [header, ...lenencInt(affected), ...lenencInt(insertId), ...int2(status), ...int2(0), ...(info ? lenencStr(info) : [])];
const eofPayload = (status) => [0xfe, ...int2(0), ...int2(status)];
const errPayload = (code, state, message) => [0xff, ...int2(code), 0x23, ...ascii(state), ...ascii(message)];
/** Protocol::ColumnDefinition41. */
const columnDef = (schema, table, name, type, charset, length, flags = 0, decimals = 0) => [
  ...lenencStr('def'),
  ...lenencStr(schema),
  ...lenencStr(table),
  ...lenencStr(table),
  ...lenencStr(name),
  ...lenencStr(name),
  0x0c,
  ...int2(charset),
  ...int4(length),
  type,
  ...int2(flags),
  decimals,
  0,
  0,
];
const COLUMNS = (schema, table) => [
  columnDef(schema, table, 'id', TYPE.LONGLONG, BINARY, 20, 0x0003 /* NOT_NULL | PRI_KEY */),
  columnDef(schema, table, 'name', TYPE.VAR_STRING, UTF8MB4, 1024),
  columnDef(schema, table, 'price', TYPE.DOUBLE, BINARY, 22, 0, 31),
];

const TABLES = ['orders', 'users', 'items', 'payments', 'sessions', 'audit_log'];
const SCHEMA = 'shop';
const SERVER_VERSION = '8.0.36';

function main() {
  const opts = options(process.argv.slice(2));
  seedRandom(opts.seed);
  const out = new PcapWriter(opts.out);
  const truth = {
    generator: 'benchmarks/mysql/gen.mjs',
    args: opts,
    file: basename(opts.out),
    packets: 0,
    bytes: 0,
    connections: 0,
    deprecateEofConnections: 0,
    loginFailures: 0,
    spans: 0,
    queries: 0,
    errors: 0,
    rows: 0,
    affectedRows: 0,
    byOperation: {},
    byCommand: {},
    byCommandCode: {},
    errorsByCode: {},
  };
  /** One span: its operation, command name (CONNECT for the login) and outcome. */
  const count = (op, command, { error = 0, rows = 0, affected = 0 } = {}) => {
    truth.spans++;
    if (command !== 'CONNECT' && command !== 'COM_QUIT' && command !== 'COM_STMT_CLOSE') truth.queries++;
    truth.byOperation[op] = (truth.byOperation[op] ?? 0) + 1;
    truth.byCommand[command] = (truth.byCommand[command] ?? 0) + 1;
    if (error) {
      truth.errors++;
      truth.errorsByCode[error] = (truth.errorsByCode[error] ?? 0) + 1;
    }
    truth.rows += rows;
    truth.affectedRows += affected;
  };
  const clock = { us: Date.UTC(2026, 10, 22, 12, 0, 0) * 1000 };
  const budget = () => out.packets >= opts.packets;
  let seq = 0;

  /** A client command: packet sequence 0. */
  const command = (code, body) => {
    const b = [];
    packet(b, 0, [code, ...body]);
    truth.byCommandCode[code] = (truth.byCommandCode[code] ?? 0) + 1;
    return b;
  };

  /** A server answer: packets with sequence ids 1, 2, ... */
  class Answer {
    constructor() {
      this.bytes = [];
      this.seq = 1;
    }
    add(payload) {
      packet(this.bytes, this.seq++, payload);
      return this;
    }
  }

  /** Column count, definitions, [EOF], rows, then EOF or (DEPRECATE_EOF) an OK packet with a 0xFE header. */
  function resultSet(a, columns, rows, deprecateEof, status) {
    a.add(lenencInt(columns.length));
    for (const c of columns) a.add(c);
    if (!deprecateEof) a.add(eofPayload(status));
    for (const r of rows) a.add(r);
    a.add(deprecateEof ? okPayload(0, 0, status, '', 0xfe) : eofPayload(status));
  }
  const name = () => 'n'.repeat(randInt(3, 120));
  const textRow = (id) => [...lenencStr(String(id)), ...(rand() < 0.1 ? [0xfb] : lenencStr(name())), ...lenencStr((randInt(100, 99999) / 100).toFixed(2))];
  /** Protocol::BinaryResultsetRow: 0x00, NULL bitmap with offset 2, values of the non-NULL columns. */
  const binaryRow = (id) => {
    const nullName = rand() < 0.1;
    return [0x00, nullName ? 1 << (1 + 2) : 0, ...int8(id), ...(nullName ? [] : lenencStr(name())), ...double8(randInt(100, 99999) / 100)];
  };

  /** One command of a logged-in connection: [client bytes, server bytes or null (no answer)]. */
  function step(c) {
    const table = pick(TABLES);
    const id = randInt(1, 1e6);
    const status = c.inTrans ? STATUS_AUTOCOMMIT | STATUS_IN_TRANS : STATUS_AUTOCOMMIT;
    const a = new Answer();
    const r = rand();
    if (r < 0.3) {
      if (rand() < 0.01) {
        const q = command(COM.QUERY, ascii(`SELECT id, name, price FROM ${table}_archive WHERE owner = 'user${id}' LIMIT 20`));
        a.add(errPayload(1146, '42S02', `Table '${SCHEMA}.${table}_archive' doesn't exist`));
        count('SELECT', 'COM_QUERY', { error: 1146 });
        return [q, a.bytes];
      }
      const n = rand() < 0.15 ? 0 : randInt(1, 20);
      const rows = Array.from({ length: n }, (_, i) => textRow(id + i));
      resultSet(a, COLUMNS(SCHEMA, table), rows, c.deprecateEof, status);
      count('SELECT', 'COM_QUERY', { rows: n });
      return [command(COM.QUERY, ascii(`SELECT id, name, price FROM ${table} WHERE owner = 'user${id}' LIMIT 20`)), a.bytes];
    }
    if (r < 0.6) {
      // prepared SELECT by id: PREPARE once per table and connection, then EXECUTE
      let stmt = c.statements.get(table);
      if (stmt === undefined) {
        stmt = c.nextStatement++;
        c.statements.set(table, stmt);
        const q = command(COM.STMT_PREPARE, ascii(`SELECT id, name, price FROM ${table} WHERE id = ?`));
        // COM_STMT_PREPARE_OK: status, statement id, columns, parameters, filler, warnings; then the definitions
        a.add([0x00, ...int4(stmt), ...int2(3), ...int2(1), 0x00, ...int2(0)]);
        a.add(columnDef('', '', '?', TYPE.LONGLONG, BINARY, 21, 0x0080 /* BINARY */));
        if (!c.deprecateEof) a.add(eofPayload(status));
        for (const col of COLUMNS(SCHEMA, table)) a.add(col);
        if (!c.deprecateEof) a.add(eofPayload(status));
        count('COM_STMT_PREPARE', 'COM_STMT_PREPARE');
        return [q, a.bytes];
      }
      // COM_STMT_EXECUTE: statement id, flags, iteration count 1, NULL bitmap, new-params-bound 1, type, value
      const q = command(COM.STMT_EXECUTE, [...int4(stmt), 0x00, ...int4(1), 0x00, 0x01, TYPE.LONGLONG, 0x00, ...int8(id)]);
      const n = randInt(0, 5);
      resultSet(a, COLUMNS(SCHEMA, table), Array.from({ length: n }, (_, i) => binaryRow(id + i)), c.deprecateEof, status);
      count('SELECT', 'COM_STMT_EXECUTE', { rows: n });
      return [q, a.bytes];
    }
    if (r < 0.75) {
      const q = command(COM.QUERY, ascii(`INSERT INTO ${table} (id, name, price) VALUES (${id}, 'name ${id}', ${randInt(1, 9999)}.99)`));
      if (rand() < 0.01) {
        a.add(errPayload(1062, '23000', `Duplicate entry '${id}' for key '${table}.PRIMARY'`));
        count('INSERT', 'COM_QUERY', { error: 1062 });
      } else {
        a.add(okPayload(1, id, status));
        count('INSERT', 'COM_QUERY', { affected: 1 });
      }
      return [q, a.bytes];
    }
    if (r < 0.85) {
      const n = randInt(0, 3);
      a.add(okPayload(n, 0, status, `Rows matched: ${n}  Changed: ${n}  Warnings: 0`));
      count('UPDATE', 'COM_QUERY', { affected: n });
      return [command(COM.QUERY, ascii(`UPDATE ${table} SET name = 'n${id}', price = price * 1.1 WHERE id = ${id}`)), a.bytes];
    }
    if (r < 0.9) {
      const n = randInt(0, 1);
      a.add(okPayload(n, 0, status));
      count('DELETE', 'COM_QUERY', { affected: n });
      return [command(COM.QUERY, ascii(`DELETE FROM ${table} WHERE id = ${id}`)), a.bytes];
    }
    if (r < 0.95) {
      const begin = !c.inTrans;
      c.inTrans = begin;
      a.add(okPayload(0, 0, begin ? STATUS_AUTOCOMMIT | STATUS_IN_TRANS : STATUS_AUTOCOMMIT));
      count(begin ? 'BEGIN' : 'COMMIT', 'COM_QUERY');
      return [command(COM.QUERY, ascii(begin ? 'BEGIN' : 'COMMIT')), a.bytes];
    }
    if (r < 0.98) {
      a.add(okPayload(0, 0, status));
      count('COM_PING', 'COM_PING');
      return [command(COM.PING, []), a.bytes];
    }
    a.add(okPayload(0, 0, status));
    count('COM_INIT_DB', 'COM_INIT_DB');
    return [command(COM.INIT_DB, ascii(SCHEMA)), a.bytes];
  }

  function* connection() {
    const n = seq++;
    truth.connections++;
    const clientIp = (10 << 24) | (4 << 16) | ((n % 60000) + 1);
    const conv = new Conversation(out, clock, clientIp, 40000 + (n % 20000), (10 << 24) | 252, 3306);
    const c = { deprecateEof: rand() < 0.5, inTrans: false, statements: new Map(), nextStatement: 1 };
    if (c.deprecateEof) truth.deprecateEofConnections++;
    conv.open();
    yield;
    // Protocol::HandshakeV10: version, thread id, scramble (8 + 13 bytes), capabilities, charset, status, plugin
    const scramble = randomBytes(20);
    const greeting = [];
    packet(greeting, 0, [
      10,
      ...nulStr(SERVER_VERSION),
      ...int4(n + 1),
      ...scramble.slice(0, 8),
      0,
      ...int2(SERVER_CAPS & 0xffff),
      UTF8MB4,
      ...int2(STATUS_AUTOCOMMIT),
      ...int2(SERVER_CAPS >>> 16),
      21,
      ...new Array(10).fill(0),
      ...scramble.slice(8),
      0,
      ...nulStr('mysql_native_password'),
    ]);
    conv.send(false, greeting);
    yield;
    // Protocol::HandshakeResponse41
    const caps = (CLIENT_CAPS | (c.deprecateEof ? CLIENT.DEPRECATE_EOF : 0)) >>> 0;
    const attrs = [...lenencStr('_client_name'), ...lenencStr('libmysql'), ...lenencStr('_pid'), ...lenencStr(String(1000 + (n % 30000)))];
    const login = [];
    packet(login, 1, [
      ...int4(caps),
      ...int4(16 << 20),
      UTF8MB4,
      ...new Array(23).fill(0),
      ...nulStr('app'),
      ...lenencInt(20),
      ...randomBytes(20),
      ...nulStr(SCHEMA),
      ...nulStr('mysql_native_password'),
      ...lenencInt(attrs.length),
      ...attrs,
    ]);
    conv.send(true, login);
    yield;
    const answer = [];
    if (rand() < 0.005) {
      packet(answer, 2, errPayload(1045, '28000', `Access denied for user 'app'@'10.4.${(n % 60000) >> 8}.${(n % 60000) & 0xff}' (using password: YES)`));
      conv.send(false, answer);
      count('CONNECT', 'CONNECT', { error: 1045 });
      truth.loginFailures++;
      conv.close();
      return;
    }
    packet(answer, 2, okPayload(0, 0, STATUS_AUTOCOMMIT));
    conv.send(false, answer);
    count('CONNECT', 'CONNECT');
    yield;
    for (let k = randInt(5, 80); k > 0 && !budget(); k--) {
      const [q, s] = step(c);
      conv.send(true, q);
      yield;
      conv.send(false, s);
      yield;
    }
    if (rand() < 0.5) {
      for (const stmt of c.statements.values()) {
        conv.send(true, command(COM.STMT_CLOSE, int4(stmt))); // no answer
        count('COM_STMT_CLOSE', 'COM_STMT_CLOSE');
      }
    }
    conv.send(true, command(COM.QUIT, []));
    count('COM_QUIT', 'COM_QUIT');
    conv.close();
  }

  interleave(opts.connections, budget, connection);
  out.close();
  truth.packets = out.packets;
  truth.bytes = out.bytes;
  truth.byCommandName = Object.fromEntries(Object.entries(truth.byCommandCode).map(([k, v]) => [COM_NAME[k], v]));
  writeFileSync(`${opts.out}.truth.json`, `${JSON.stringify(truth, null, 2)}\n`);
  process.stderr.write(`gen.mjs: ${opts.out}: ${truth.packets} packets, ${truth.connections} connections, ${truth.spans} spans (${truth.queries} queries)\n`);
}

main();

/**
 * MySQL parser on conversations built byte by byte from the protocol documentation (MySQL source
 * documentation, "Client/Server Protocol": packet header, Initial Handshake v10, HandshakeResponse41,
 * OK/ERR/EOF, text and binary result sets, COM_STMT_PREPARE_OK, LOCAL INFILE, compression).
 */
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { L7Message, SpanDescription } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE } from '../../core/l7/types.js';
import { mysqlParser } from '../../parsers/mysql/index.js';
import { FakeContext } from '../helpers/fake-parser-context.js';

const C = true;
const S = false;
type B = number[];

const u16 = (n: number): B => [n & 0xff, (n >> 8) & 0xff];
const u32 = (n: number): B => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
const str = (s: string): B => [...Buffer.from(s, 'utf8')];
const cstr = (s: string): B => [...str(s), 0];
const lenenc = (n: number): B => (n < 251 ? [n] : n < 65536 ? [0xfc, ...u16(n)] : [0xfd, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff]);
const lstr = (s: string): B => [...lenenc(Buffer.byteLength(s)), ...str(s)];
/** One packet: 3-byte little-endian payload length, sequence id, payload. */
const pkt = (seq: number, payload: B): B => [payload.length & 0xff, (payload.length >> 8) & 0xff, payload.length >> 16, seq, ...payload];
const bytes = (...parts: B[]) => Uint8Array.from(parts.flat());

// Capability flags
const PROTOCOL_41 = 0x200;
const SECURE = 0x8000;
const CONNECT_WITH_DB = 0x8;
const PLUGIN_AUTH = 0x80000;
const DEPRECATE_EOF = 0x1000000;
const COMPRESS = 0x20;
const SSL = 0x800;
const QUERY_ATTRIBUTES = 0x8000000;
const BASE = PROTOCOL_41 | SECURE | CONNECT_WITH_DB | PLUGIN_AUTH;

const greeting = (caps: number, version = '5.5.5-10.11.6-MariaDB'): B =>
  pkt(0, [10, ...cstr(version), ...u32(42), ...str('abcdefgh'), 0, ...u16(caps & 0xffff), 0x21, ...u16(2), ...u16(caps >>> 16), 21, ...new Array(10).fill(0), ...str('ijklmnopqrst'), 0, ...cstr('mysql_native_password')]);
/** HandshakeResponse41 with a 20-byte auth response that spells the password (it must never be exported). */
const login = (caps: number, user: string, db: string): B =>
  pkt(1, [...u32(caps), ...u32(1 << 24), 0x21, ...new Array(23).fill(0), ...cstr(user), 20, ...str('hunter2-hunter2-hunt'), ...cstr(db), ...cstr('mysql_native_password')]);
const OK = (seq: number, affected = 0, status = 2, header = 0): B => pkt(seq, [header, ...lenenc(affected), 0, ...u16(status), ...u16(0)]);
const ERR = (seq: number, code: number, state: string, msg: string): B => pkt(seq, [0xff, ...u16(code), 0x23, ...str(state), ...str(msg)]);
const EOF = (seq: number, status = 2): B => pkt(seq, [0xfe, 0, 0, ...u16(status)]);
const col = (seq: number, name: string, type = 253): B =>
  pkt(seq, [...lstr('def'), ...lstr('shop'), ...lstr('items'), ...lstr('items'), ...lstr(name), ...lstr(name), 0x0c, ...u16(33), ...u32(255), type, ...u16(0), 0, 0, 0]);
const row = (seq: number, ...vals: string[]): B => pkt(seq, vals.flatMap(lstr));
const cmd = (code: number, payload: B = []): B => pkt(0, [code, ...payload]);
const query = (sql: string): B => cmd(0x03, str(sql));

/** A text result set: column count, definitions, [EOF], rows, EOF (or OK 0xfe with DEPRECATE_EOF). */
function resultSet(cols: string[], rows: string[][], deprecateEof = false, lastStatus = 2): B[] {
  let seq = 1;
  const out: B[] = [pkt(seq++, lenenc(cols.length))];
  for (const c of cols) out.push(col(seq++, c));
  if (!deprecateEof) out.push(EOF(seq++));
  for (const r of rows) out.push(row(seq++, ...r));
  out.push(deprecateEof ? OK(seq++, 0, lastStatus, 0xfe) : EOF(seq++, lastStatus));
  return out;
}

const reqs = (c: FakeContext) => c.messages.filter((m) => m.type === MSG_REQUEST);
const resps = (c: FakeContext) => c.messages.filter((m) => m.type === MSG_RESPONSE);
function describeOf(req: L7Message | null, resp: L7Message | null): SpanDescription {
  const out: SpanDescription = { name: '', error: false, errorType: '', message: '', kind: 0 };
  mysqlParser.describeSpan(req, resp, 3, out);
  return out;
}

/** Greeting, login to `shop`, then the commands; the server's answers in order. */
function conversation(caps = BASE) {
  const client = bytes(
    login(caps, 'app', 'shop'),
    query("SELECT id, name FROM items WHERE name <> 'secretword'"),
    query('INSERT INTO items VALUES (4, "dq-secret"), (5, \'x\')'),
    query('SELECT * FROM nosuch'),
    cmd(0x02, str('other')),
    cmd(0x0e),
    cmd(0x01),
  );
  const dep = (caps & DEPRECATE_EOF) !== 0;
  const server = bytes(
    greeting(caps),
    OK(2),
    ...resultSet(['id', 'name'], [['1', 'widget'], ['2', 'gadget'], ['3', 'gizmo']], dep),
    OK(1, 2),
    ERR(1, 1146, '42S02', "Table 'shop.nosuch' doesn't exist"),
    OK(1),
    OK(1),
  );
  return { client, server };
}

/** Feed greeting first, then each direction whole (a client never runs ahead of its answers here). */
function play(client: Uint8Array, server: Uint8Array, options = {}): FakeContext {
  const c = new FakeContext(mysqlParser, options);
  // Interleave by packets as a real conversation does: greeting, login, OK, then command/answer pairs.
  const cp = packets(client);
  const sp = packets(server);
  c.feed(S, sp.shift()!);
  for (const p of cp) {
    c.feed(C, p);
    const code = p[4];
    if (p[3] === 0 && (code === 0x01 || code === 0x19 || code === 0x18)) continue; // no answer
    // the answer: server packets up to the next one with sequence 1 (or the end)
    do c.feed(S, sp.shift() ?? new Uint8Array(0));
    while (sp.length > 0 && sp[0][3] !== 1);
  }
  for (const p of sp) c.feed(S, p);
  return c;
}

function packets(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let p = 0; p < b.length; ) {
    const len = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16);
    out.push(b.subarray(p, p + 4 + len));
    p += 4 + len;
  }
  return out;
}

describe('MySQL parser', () => {
  it('a login, queries, an error, COM_INIT_DB, COM_PING and COM_QUIT (classic EOF)', () => {
    const { client, server } = conversation();
    const c = play(client, server);
    expect(reqs(c).map((m) => [m.attrs['spanwire.mysql.command'], m.attrs['db.operation.name'], m.attrs['db.query.text'] ?? '', m.attrs['db.namespace'], m.expectsResponse])).toEqual([
      ['CONNECT', 'CONNECT', '', 'shop', true],
      ['COM_QUERY', 'SELECT', 'SELECT id, name FROM items WHERE name <> ?', 'shop', true],
      ['COM_QUERY', 'INSERT', 'INSERT INTO items VALUES (?, ?), (?, ?)', 'shop', true],
      ['COM_QUERY', 'SELECT', 'SELECT * FROM nosuch', 'shop', true],
      ['COM_INIT_DB', 'COM_INIT_DB', '', 'other', true],
      ['COM_PING', 'COM_PING', '', 'other', true],
      ['COM_QUIT', 'COM_QUIT', '', 'other', false],
    ]);
    expect(reqs(c)[0].attrs['spanwire.mysql.server_version']).toBe('10.11.6-MariaDB');
    expect(resps(c).map((m) => [m.attrs['db.response.returned_rows'], m.attrs['spanwire.db.affected_rows'], m.attrs['db.response.status_code']])).toEqual([
      [undefined, undefined, undefined],
      [3, undefined, undefined],
      [undefined, 2, undefined],
      [undefined, undefined, '1146'],
      [undefined, 0, undefined],
      [undefined, 0, undefined],
    ]);
    expect(describeOf(reqs(c)[1], resps(c)[1])).toMatchObject({ name: 'SELECT items', error: false });
    expect(describeOf(reqs(c)[3], resps(c)[3])).toMatchObject({ name: 'SELECT nosuch', error: true, errorType: '1146', message: "Table 'shop.nosuch' doesn't exist" });
    expect(resps(c)[3].attrs['spanwire.mysql.sql_state']).toBe('42S02');
    expect(describeOf(reqs(c)[5], resps(c)[5]).name).toBe('COM_PING');
    const all = JSON.stringify(c.messages);
    for (const secret of ['hunter2', 'secretword', 'dq-secret', 'widget']) expect(all).not.toContain(secret);
    expect(c.anomalies).toEqual([]);
  });

  it('CLIENT_DEPRECATE_EOF: no EOF after the columns, an OK with header 0xfe ends the rows', () => {
    const { client, server } = conversation(BASE | DEPRECATE_EOF);
    const c = play(client, server);
    expect(resps(c)[1].attrs['db.response.returned_rows']).toBe(3);
    expect(resps(c).length).toBe(6);
    expect(c.anomalies).toEqual([]);
  });

  it('without the login, learns the EOF mode from the first result set (both modes)', () => {
    for (const dep of [false, true]) {
      const c = new FakeContext(mysqlParser);
      c.feed(C, bytes(query('SELECT a FROM t')));
      c.feed(S, bytes(...resultSet(['a'], [['1'], ['2']], dep)));
      c.feed(C, bytes(query('SELECT a FROM t')));
      c.feed(S, bytes(...resultSet(['a'], [], dep)));
      expect(resps(c).map((m) => m.attrs['db.response.returned_rows']), `deprecate ${dep}`).toEqual([2, 0]);
    }
  });

  it('prepared statements: PREPARE_OK id -> SQL, EXECUTE carries it, binary rows, CLOSE forgets it', () => {
    const c = new FakeContext(mysqlParser);
    c.feed(S, bytes(greeting(BASE)));
    c.feed(C, bytes(login(BASE, 'app', 'shop')));
    c.feed(S, bytes(OK(2)));
    c.feed(C, bytes(cmd(0x16, str('SELECT name, price FROM items WHERE id > ?'))));
    // COM_STMT_PREPARE_OK: status 0, id 7, 2 columns, 1 parameter, filler, warnings; then definitions + EOFs
    c.feed(S, bytes(pkt(1, [0, ...u32(7), ...u16(2), ...u16(1), 0, ...u16(0)]), col(2, '?'), EOF(3), col(4, 'name'), col(5, 'price'), EOF(6)));
    const exec = cmd(0x17, [...u32(7), 0, ...u32(1), 0, 1, ...u16(8), ...u32(3), ...u32(0)]);
    c.feed(C, bytes(exec));
    const binRow = (seq: number, name: string) => pkt(seq, [0, 0, ...lstr(name), ...lstr('9.50')]);
    c.feed(S, bytes(pkt(1, [2]), col(2, 'name'), col(3, 'price'), EOF(4), binRow(5, 'widget'), binRow(6, 'gadget'), EOF(7)));
    c.feed(C, bytes(cmd(0x19, u32(7))));
    c.feed(C, bytes(exec));
    c.feed(S, bytes(ERR(1, 1243, 'HY000', 'Unknown prepared statement handler (7) given to mysqld_stmt_execute')));
    expect(reqs(c).map((m) => [m.attrs['spanwire.mysql.command'], m.attrs['db.operation.name'], m.attrs['db.query.text'] ?? '', m.expectsResponse])).toEqual([
      ['CONNECT', 'CONNECT', '', true],
      ['COM_STMT_PREPARE', 'COM_STMT_PREPARE', 'SELECT name, price FROM items WHERE id > ?', true],
      ['COM_STMT_EXECUTE', 'SELECT', 'SELECT name, price FROM items WHERE id > ?', true],
      ['COM_STMT_CLOSE', 'COM_STMT_CLOSE', '', false],
      ['COM_STMT_EXECUTE', 'COM_STMT_EXECUTE', '', true],
    ]);
    expect(describeOf(reqs(c)[1], resps(c)[1]).name).toBe('COM_STMT_PREPARE items');
    expect(resps(c)[1].attrs['spanwire.mysql.statement_id']).toBe(7);
    expect(resps(c)[2].attrs['db.response.returned_rows']).toBe(2);
    expect(describeOf(reqs(c)[2], resps(c)[2]).name).toBe('SELECT items');
    expect(describeOf(reqs(c)[4], resps(c)[3])).toMatchObject({ name: 'COM_STMT_EXECUTE', error: true, errorType: '1243' });
  });

  it('a stored procedure: result sets chained by SERVER_MORE_RESULTS_EXISTS, then the final OK, are one answer', () => {
    const c = new FakeContext(mysqlParser);
    c.feed(C, bytes(query('CALL report(1)')));
    c.feed(S, bytes(...resultSet(['a'], [['1'], ['2']], false, 2 | 8)));
    c.feed(S, bytes(OK(5, 0, 2)));
    c.feed(C, bytes(cmd(0x0e)));
    c.feed(S, bytes(OK(1)));
    expect(resps(c).map((m) => m.attrs['db.response.returned_rows'])).toEqual([2, undefined]);
    expect(reqs(c).map((m) => m.attrs['db.operation.name'])).toEqual(['CALL', 'COM_PING']);
  });

  it('LOAD DATA LOCAL INFILE: the client sends the file (never read), the server answers with affected rows', () => {
    const c = new FakeContext(mysqlParser);
    c.feed(C, bytes(query("LOAD DATA LOCAL INFILE '/tmp/x.csv' INTO TABLE items")));
    c.feed(S, bytes(pkt(1, [0xfb, ...str('/tmp/x.csv')])));
    c.feed(C, bytes(pkt(2, str('1,secretfile\n2,b\n')), pkt(3, [])));
    c.feed(S, bytes(OK(4, 2)));
    expect(resps(c).map((m) => m.attrs['spanwire.db.affected_rows'])).toEqual([2]);
    expect(reqs(c)[0].attrs['db.operation.name']).toBe('LOAD DATA');
    expect(reqs(c)[0].attrs['db.collection.name']).toBe('items');
    expect(reqs(c)[0].size).toBe(4 + 1 + Buffer.byteLength("LOAD DATA LOCAL INFILE '/tmp/x.csv' INTO TABLE items") + 4 + 17 + 4);
    expect(JSON.stringify(c.messages)).not.toContain('secretfile');
  });

  it('COM_CHANGE_USER through an AuthSwitchRequest: OK switches the database, ERR is an error span', () => {
    const c = new FakeContext(mysqlParser);
    c.feed(S, bytes(greeting(BASE)));
    c.feed(C, bytes(login(BASE, 'app', 'shop')));
    c.feed(S, bytes(OK(2)));
    const change = (db: string) => cmd(0x11, [...cstr('other'), 20, ...str('hunter2-hunter2-hunt'), ...cstr(db), ...u16(33), ...cstr('mysql_native_password')]);
    c.feed(C, bytes(change('archive')));
    c.feed(S, bytes(pkt(1, [0xfe, ...cstr('mysql_native_password'), ...str('0123456789abcdefghij'), 0])));
    c.feed(C, bytes(pkt(2, str('hunter2-hunter2-hunt'))));
    c.feed(S, bytes(OK(3)));
    c.feed(C, bytes(query('SELECT 1')));
    c.feed(S, bytes(...resultSet(['1'], [['1']])));
    c.feed(C, bytes(change('shop')));
    c.feed(S, bytes(ERR(1, 1045, '28000', "Access denied for user 'other'@'localhost' (using password: YES)")));
    expect(reqs(c).map((m) => [m.attrs['db.operation.name'], m.attrs['db.namespace']])).toEqual([
      ['CONNECT', 'shop'],
      ['COM_CHANGE_USER', 'archive'],
      ['SELECT', 'archive'],
      ['COM_CHANGE_USER', 'shop'],
    ]);
    expect(describeOf(reqs(c)[3], resps(c)[3])).toMatchObject({ error: true, errorType: '1045' });
    expect(JSON.stringify(c.messages)).not.toContain('hunter2');
  });

  it('caching_sha2_password full authentication (AuthMoreData, public key request, RSA-encrypted password): one CONNECT, nothing of the exchange exported', () => {
    const c = new FakeContext(mysqlParser);
    c.feed(S, bytes(greeting(BASE, '8.0.36')));
    c.feed(C, bytes(login(BASE, 'app', 'shop')));
    c.feed(S, bytes(pkt(2, [0x01, 0x04]))); // AuthMoreData: perform full authentication
    c.feed(C, bytes(pkt(3, [0x02]))); // request the server's public key
    c.feed(S, bytes(pkt(4, [0x01, ...str('-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n')])));
    c.feed(C, bytes(pkt(5, str('RSA(hunter2)'.padEnd(256, '.')))));
    c.feed(S, bytes(OK(6)));
    c.feed(C, bytes(query('SELECT 1')));
    c.feed(S, bytes(...resultSet(['1'], [['1']])));
    expect(reqs(c).map((m) => m.attrs['db.operation.name'])).toEqual(['CONNECT', 'SELECT']);
    expect(resps(c).map((m) => [m.attrs['db.response.returned_rows'], m.attrs['db.response.status_code']])).toEqual([
      [undefined, undefined],
      [1, undefined],
    ]);
    expect(reqs(c)[0].size).toBe(login(BASE, 'app', 'shop').length + 5 + 4 + 256);
    expect(JSON.stringify(c.messages)).not.toMatch(/hunter2|PUBLIC KEY/);
    // and a fast-auth success (0x01 0x03) followed by OK
    const f = new FakeContext(mysqlParser);
    f.feed(S, bytes(greeting(BASE, '8.0.36')));
    f.feed(C, bytes(login(BASE, 'app', 'shop')));
    f.feed(S, bytes(pkt(2, [0x01, 0x03]), OK(3)));
    f.feed(C, bytes(cmd(0x0e)));
    f.feed(S, bytes(OK(1)));
    expect(resps(f).length).toBe(2);
    expect(describeOf(reqs(f)[0], resps(f)[0])).toMatchObject({ name: 'CONNECT', error: false });
  });

  it('a login refused before the handshake (ERR greeting) is a failed CONNECT', () => {
    const c = new FakeContext(mysqlParser);
    c.feed(S, bytes(pkt(0, [0xff, ...u16(1040), ...str('Too many connections')])));
    expect(describeOf(reqs(c)[0], resps(c)[0])).toMatchObject({ name: 'CONNECT', error: true, errorType: '1040', message: 'Too many connections' });
  });

  it('SSLRequest: the rest is TLS, parsing stops', () => {
    const c = new FakeContext(mysqlParser);
    c.feed(S, bytes(greeting(BASE | SSL)));
    c.feed(C, bytes(pkt(1, [...u32(BASE | SSL), ...u32(1 << 24), 0x21, ...new Array(23).fill(0)])));
    expect(c.stopped).toBe('tls');
    expect(reqs(c)).toEqual([]);
  });

  it('query attributes (CLIENT_QUERY_ATTRIBUTES): the SQL after them; the attribute values are not exported', () => {
    const caps = BASE | QUERY_ATTRIBUTES;
    const c = new FakeContext(mysqlParser);
    c.feed(S, bytes(greeting(caps, '8.0.36')));
    c.feed(C, bytes(login(caps, 'app', 'shop')));
    c.feed(S, bytes(OK(2)));
    // parameter_count 2, parameter_set_count 1, null bitmap (2nd NULL), new_params_bind_flag 1,
    // (type, name) x2, then the non-NULL values: a VARCHAR (253) and nothing for the NULL one
    const attrs = [2, 1, 0b10, 1, ...u16(253), ...lstr('traceparent'), ...u16(8), ...lstr('n'), ...lstr('00-secretattr-01')];
    c.feed(C, bytes(cmd(0x03, [...attrs, ...str('SELECT 1 FROM dual')])));
    c.feed(C, bytes(cmd(0x03, [0, 1, ...str('SELECT 2')])));
    expect(reqs(c).map((m) => m.attrs['db.query.text'])).toEqual([undefined, 'SELECT ? FROM dual', 'SELECT ?']);
    expect(JSON.stringify(c.messages)).not.toContain('secretattr');
  });

  it('the compressed protocol: zlib packets after the login, a MySQL packet split across two of them', () => {
    const caps = BASE | COMPRESS;
    const c = new FakeContext(mysqlParser);
    c.feed(S, bytes(greeting(caps)));
    c.feed(C, bytes(login(caps, 'app', 'shop')));
    c.feed(S, bytes(OK(2)));
    const compressed = (seq: number, inner: Uint8Array, store = false): B => {
      const z = store ? inner : deflateSync(inner);
      return [z.length & 0xff, (z.length >> 8) & 0xff, z.length >> 16, seq, ...(store ? [0, 0, 0] : [inner.length & 0xff, (inner.length >> 8) & 0xff, inner.length >> 16]), ...z];
    };
    c.feed(C, bytes(compressed(0, bytes(query('SELECT a FROM t')), true)));
    const answer = bytes(...resultSet(['a'], [['x'.repeat(300)], ['y'.repeat(300)], ['z']]));
    const cut = 200;
    c.feed(S, bytes(compressed(1, answer.subarray(0, cut)), compressed(2, answer.subarray(cut))));
    c.feed(C, bytes(compressed(0, bytes(query('SELECT b FROM t')))));
    c.feed(S, bytes(compressed(1, bytes(ERR(1, 1054, '42S22', "Unknown column 'b'")))));
    expect(reqs(c).map((m) => m.attrs['db.query.text'])).toEqual([undefined, 'SELECT a FROM t', 'SELECT b FROM t']);
    expect(resps(c).map((m) => [m.attrs['db.response.returned_rows'], m.attrs['db.response.status_code']])).toEqual([
      [undefined, undefined],
      [3, undefined],
      [undefined, '1054'],
    ]);
  });

  it('a row over 16 MB (a packet of 0xffffff bytes and its continuation) is counted once, never held', () => {
    const c = new FakeContext(mysqlParser);
    c.feed(C, bytes(query('SELECT blob FROM big')));
    c.feed(S, bytes(pkt(1, [1]), col(2, 'blob', 251), EOF(3)));
    const size = (1 << 24) + 100; // the column value
    const payload = new Uint8Array(9 + size);
    payload[0] = 0xfe; // lenenc: 8-byte length follows
    payload.set(u32(size), 1);
    const first = 0xffffff;
    const head = bytes([0xff, 0xff, 0xff, 4]);
    const tail = payload.length - first;
    c.feed(S, head);
    for (let p = 0; p < first; p += 1 << 16) c.feed(S, payload.subarray(p, Math.min(first, p + (1 << 16))));
    c.feed(S, bytes([tail & 0xff, (tail >> 8) & 0xff, tail >> 16, 5]));
    c.feed(S, payload.subarray(first));
    c.feed(S, bytes(EOF(6)));
    expect(resps(c).map((m) => [m.attrs['db.response.returned_rows'], m.size])).toEqual([[1, 5 + col(2, 'blob', 251).length + 9 + 4 + first + 4 + tail + 9]]);
  });

  it('gives the same messages for every split of the bytes', () => {
    const { client, server } = conversation(BASE | DEPRECATE_EOF);
    const whole = new FakeContext(mysqlParser);
    whole.feed(S, server.subarray(0, greeting(BASE).length));
    whole.feed(C, client);
    whole.feed(S, server.subarray(greeting(BASE).length));
    const shape = (c: FakeContext) => c.messages.map((m) => [m.type, m.attrs['db.query.text'] ?? '', m.attrs['db.response.returned_rows'] ?? -1, m.size]);
    const exp = shape(whole);
    expect(exp.length).toBe(13);
    for (let cut = 1; cut < Math.max(client.length, server.length); cut += 2) {
      const c = new FakeContext(mysqlParser);
      const g = greeting(BASE).length;
      c.feed(S, server.subarray(0, g));
      c.feed(C, client.subarray(0, Math.min(cut, client.length)));
      c.feed(C, client.subarray(Math.min(cut, client.length)));
      c.feed(S, server.subarray(g, Math.max(g, Math.min(cut, server.length))));
      c.feed(S, server.subarray(Math.max(g, Math.min(cut, server.length))));
      expect(shape(c), `cut ${cut}`).toEqual(exp);
    }
  });

  it('after lost bytes, resumes at the next command (client) and at the next answer (server)', () => {
    const c = new FakeContext(mysqlParser);
    c.feed(C, bytes(query('SELECT 1 FROM a')).subarray(0, 9));
    c.gap(C, 100);
    c.feed(C, bytes([0x41, 0x42, 0x43]));
    c.feed(C, bytes(query('SELECT 2 FROM b')));
    c.feed(S, bytes(...resultSet(['x'], [['1'], ['2'], ['3']])).subarray(0, 40));
    c.gap(S, 500); // the rest of that answer is lost
    c.feed(C, bytes(cmd(0x0e)));
    c.feed(S, bytes([0x01, 0x02]));
    c.feed(S, bytes(OK(1))); // the next answer starts with sequence 1
    expect(reqs(c).map((m) => [m.attrs['db.operation.name'], m.afterGap])).toEqual([
      ['SELECT', true],
      ['COM_PING', false],
    ]);
    expect(resps(c).map((m) => m.attrs['spanwire.db.affected_rows'])).toEqual([undefined, 0]);
  });

  it('db_query_text: full exports the SQL with its literals', () => {
    const c = new FakeContext(mysqlParser, { db_query_text: 'full' });
    c.feed(C, bytes(query("SELECT * FROM t WHERE a = 'visible'")));
    expect(reqs(c)[0].attrs['db.query.text']).toBe("SELECT * FROM t WHERE a = 'visible'");
  });

  it('probe: greeting, login, commands and answers; other protocols are not MySQL', () => {
    const hint = { transport: 'tcp' as const, port: 3306, toServer: null };
    const probe = (b: Uint8Array) => mysqlParser.probe(b, 0, b.length, hint);
    expect(probe(bytes(greeting(BASE)))).toBe(PROBE_RESPONSE);
    expect(probe(bytes(login(BASE, 'a', 'b')))).toBe(PROBE_REQUEST);
    expect(probe(bytes(query('select 1')))).toBe(PROBE_REQUEST);
    expect(probe(bytes(cmd(0x0e)))).toBe(PROBE_REQUEST);
    expect(probe(bytes(OK(1)))).toBe(PROBE_RESPONSE);
    expect(probe(bytes(ERR(1, 1146, '42S02', 'x')))).toBe(PROBE_RESPONSE);
    expect(probe(bytes(...resultSet(['a'], [['1']])))).toBe(PROBE_RESPONSE);
    for (const other of ['GET / HTTP/1.1\r\nHost: a\r\n\r\n', '*1\r\n$4\r\nPING\r\n', '+OK\r\n', 'SSH-2.0-OpenSSH_9.2\r\n']) expect(probe(Buffer.from(other)), other).toBe(PROBE_NO);
  });

  it('never throws on hostile input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.uint8Array({ maxLength: 400 }), fc.boolean(), (a, b, withLogin) => {
        const c = new FakeContext(mysqlParser);
        if (withLogin) {
          c.feed(S, bytes(greeting(BASE | COMPRESS)));
          c.feed(C, bytes(login(BASE | COMPRESS, 'a', 'b')));
          c.feed(S, bytes(OK(2)));
        }
        c.feed(C, a);
        c.feed(S, b);
        c.gap(S, 10);
        c.feed(S, a);
        c.end(S, 1);
        return true;
      }),
      { numRuns: 1500 },
    );
  });
});

/**
 * PostgreSQL parser and SQL-handling tests. Messages are written here from the PostgreSQL protocol
 * documentation (chapter "Frontend/Backend Protocol", message formats); SQL facts follow from the
 * statements written.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { L7Message, SpanDescription } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE } from '../../core/l7/types.js';
import { SPAN_KIND_CLIENT } from '../../core/trace/span.js';
import { postgresqlParser } from '../../parsers/postgresql/index.js';
import { analyzeSql } from '../../parsers/sql/sql.js';
import { FakeContext } from '../helpers/fake-parser-context.js';

// ---- message builders (protocol "Message Formats") ----
const int32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const int16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const cs = (s: string) => [...Buffer.from(s, 'utf8'), 0];
const msg = (type: string, body: number[]) => [type.charCodeAt(0), ...int32(body.length + 4), ...body];
const startup = (params: Record<string, string>) => {
  const body = [...int32(196608), ...Object.entries(params).flatMap(([k, v]) => [...cs(k), ...cs(v)]), 0];
  return [...int32(body.length + 4), ...body];
};
const Q = (sql: string) => msg('Q', cs(sql));
const P = (name: string, sql: string) => msg('P', [...cs(name), ...cs(sql), ...int16(0)]);
const B = (portal: string, stmt: string) => msg('B', [...cs(portal), ...cs(stmt), ...int16(0), ...int16(0), ...int16(0)]);
const E = (portal: string) => msg('E', [...cs(portal), ...int32(0)]);
const D = (kind: string, name: string) => msg('D', [kind.charCodeAt(0), ...cs(name)]);
const SYNC = msg('S', []);
const Z = (status = 'I') => msg('Z', [status.charCodeAt(0)]);
const CC = (tag: string) => msg('C', cs(tag));
const ROW = (...cols: string[]) => msg('D', [...int16(cols.length), ...cols.flatMap((c) => [...int32(Buffer.byteLength(c)), ...Buffer.from(c)])]);
const ERR = (code: string, m: string) => msg('E', [0x53, ...cs('ERROR'), 0x43, ...cs(code), 0x4d, ...cs(m), 0]);
const bytes = (...parts: number[][]) => Uint8Array.from(parts.flat());

const C = true;
const S = false;
const reqs = (c: FakeContext) => c.messages.filter((m) => m.type === MSG_REQUEST);
const resps = (c: FakeContext) => c.messages.filter((m) => m.type === MSG_RESPONSE);
function describeOf(req: L7Message | null, resp: L7Message | null): SpanDescription {
  const out: SpanDescription = { name: '', error: false, errorType: '', message: '', kind: 0 };
  postgresqlParser.describeSpan(req, resp, SPAN_KIND_CLIENT, out);
  return out;
}

describe('SQL facts', () => {
  it('operation, main table, summary; literals redacted, parameters and identifiers kept', () => {
    expect(analyzeSql("SELECT id, name FROM public.users u WHERE email = 'a@b.c' AND age > 30")).toEqual({
      operation: 'SELECT',
      collection: 'public.users',
      summary: 'SELECT public.users',
      redacted: 'SELECT id, name FROM public.users u WHERE email = ? AND age > ?',
      full: "SELECT id, name FROM public.users u WHERE email = 'a@b.c' AND age > 30",
    });
    expect(analyzeSql('insert into "Orders" (a, b) values ($1, $2)')).toMatchObject({ operation: 'INSERT', collection: 'Orders', redacted: 'insert into "Orders" (a, b) values ($1, $2)' });
    expect(analyzeSql("UPDATE t SET s = 'it''s' WHERE id = 7")).toMatchObject({ operation: 'UPDATE', collection: 't', redacted: 'UPDATE t SET s = ? WHERE id = ?' });
    expect(analyzeSql('delete  from test;')).toMatchObject({ operation: 'DELETE', collection: 'test', summary: 'DELETE test' });
    expect(analyzeSql('WITH x AS (SELECT 1) SELECT * FROM y')).toMatchObject({ operation: 'SELECT', collection: 'y' });
    expect(analyzeSql('SELECT * FROM (SELECT a FROM inner_t) s')).toMatchObject({ collection: '' });
    expect(analyzeSql('CREATE TABLE IF NOT EXISTS items (id int)')).toMatchObject({ operation: 'CREATE TABLE', collection: 'items' });
    expect(analyzeSql('CREATE UNIQUE INDEX i ON items (name)')).toMatchObject({ operation: 'CREATE INDEX', collection: '', summary: 'CREATE INDEX' });
    expect(analyzeSql('drop database shop')).toMatchObject({ operation: 'DROP DATABASE', collection: '' });
    expect(analyzeSql("LOAD DATA LOCAL INFILE '/tmp/a.csv' IGNORE INTO TABLE shop.items FIELDS TERMINATED BY ','")).toMatchObject({ operation: 'LOAD DATA', collection: 'shop.items', redacted: "LOAD DATA LOCAL INFILE ? IGNORE INTO TABLE shop.items FIELDS TERMINATED BY ?" });
    expect(analyzeSql("SELECT $tag$secret 'x'$tag$, E'\\n', x'0f', 1.5e3 -- note 'c'\n FROM t")).toMatchObject({ redacted: 'SELECT ?, ?, ?, ? \n FROM t' });
    expect(analyzeSql('/* hint */ BEGIN')).toMatchObject({ operation: 'BEGIN', collection: '', summary: 'BEGIN' });
    expect(analyzeSql('asdsdfdsf;')).toMatchObject({ operation: '', summary: '' });
  });

  it('never throws and never keeps a quoted literal', () => {
    fc.assert(
      // Junk of balanced SQL (no quote characters of its own): comments, operators, words, numbers.
      fc.property(fc.string({ maxLength: 200 }).filter((j) => !/['"`$\\]/.test(j)), fc.string({ maxLength: 20 }).filter((x) => /^[a-z]{6,}$/.test(x)), (junk, secret) => {
        const f = analyzeSql(`${junk} SELECT * FROM t WHERE a = '${secret}'`);
        // Whatever the junk before it (unclosed quotes, comments, dollar tags), the literal never survives.
        return typeof f.redacted === 'string' && (junk.includes(secret) || !f.redacted.includes(secret));
      }),
      { numRuns: 500 },
    );
  });
});

describe('postgresql probe', () => {
  const hint = { transport: 'tcp' as const, port: 9999, toServer: null };
  const probe = (b: number[]) => postgresqlParser.probe(Uint8Array.from(b), 0, b.length, hint);
  it('recognises the start-up, SSLRequest, CancelRequest, a query mid-connection and a server reply', () => {
    expect(probe(startup({ user: 'app', database: 'shop' }))).toBe(PROBE_REQUEST);
    expect(probe([...int32(8), ...int32(80877103)])).toBe(PROBE_REQUEST);
    expect(probe([...int32(16), ...int32(80877102), ...int32(1), ...int32(2)])).toBe(PROBE_REQUEST);
    expect(probe(Q('select 1'))).toBe(PROBE_REQUEST);
    expect(probe([...CC('SELECT 1'), ...Z()])).toBe(PROBE_RESPONSE);
    expect(probe([...Buffer.from('GET / HTTP/1.1\r\n\r\n')])).toBe(PROBE_NO);
    expect(probe([...Buffer.from('*1\r\n$4\r\nPING\r\n')])).toBe(PROBE_NO);
  });
});

describe('postgresql session', () => {
  function conversation() {
    const client = bytes(
      [...int32(8), ...int32(80877103)], // SSLRequest, refused below
      startup({ user: 'app', database: 'shop', application_name: 'psql' }),
      msg('p', cs('md5secretsecret')),
      Q("select * from items where name = 'widget'; update items set n = n + 1"),
      P('s1', 'SELECT price FROM items WHERE id = $1'),
      B('', 's1'),
      D('P', ''),
      E(''),
      SYNC,
      B('p2', 's1'),
      E('p2'),
      SYNC,
    );
    const server = bytes(
      [0x4e], // 'N': no TLS
      msg('R', int32(5).concat([1, 2, 3, 4])), // MD5 password request
      msg('R', int32(0)),
      msg('S', [...cs('server_version'), ...cs('16.1')]),
      msg('K', [...int32(42), ...int32(7)]),
      Z(),
      msg('T', [...int16(0)]),
      ROW('1'),
      ROW('2'),
      CC('SELECT 2'),
      CC('UPDATE 5'),
      Z(),
      msg('1', []),
      msg('2', []),
      msg('T', [...int16(0)]),
      ROW('9.99'),
      CC('SELECT 1'),
      Z(),
      ERR('42P01', 'relation "items" does not exist'),
      Z('E'),
    );
    return { client, server };
  }

  it('start-up, a two-statement simple query, an extended query with a named statement, an error', () => {
    const c = new FakeContext(postgresqlParser);
    const { client, server } = conversation();
    expect(c.feed(C, client, 1)).toBe(client.length);
    expect(c.feed(S, server, 2)).toBe(server.length);
    expect(reqs(c).map((m) => [m.attrs['db.operation.name'], m.attrs['db.query.text'], m.attrs['db.namespace']])).toEqual([
      ['CONNECT', undefined, 'shop'],
      ['SELECT', 'select * from items where name = ?; update items set n = n + ?', 'shop'],
      ['SELECT', 'SELECT price FROM items WHERE id = $1', 'shop'],
      ['SELECT', 'SELECT price FROM items WHERE id = $1', 'shop'],
    ]);
    expect(resps(c).map((m) => [m.attrs['db.response.returned_rows'], m.attrs['spanwire.db.affected_rows'], m.attrs['db.response.status_code']])).toEqual([
      [undefined, undefined, undefined],
      [2, 5, undefined],
      [1, undefined, undefined],
      [undefined, undefined, '42P01'],
    ]);
    expect(describeOf(reqs(c)[2], resps(c)[2])).toMatchObject({ name: 'SELECT items', error: false });
    expect(describeOf(reqs(c)[3], resps(c)[3])).toMatchObject({ error: true, errorType: '42P01', message: 'relation "items" does not exist' });
    expect(JSON.stringify(c.messages)).not.toContain('secret');
    expect(JSON.stringify(c.messages)).not.toContain('widget');
  });

  it('gives the same messages for every split of the bytes', () => {
    const { client, server } = conversation();
    const whole = new FakeContext(postgresqlParser);
    whole.feed(C, client);
    whole.feed(S, server);
    const exp = whole.messages.map((m) => [m.type, m.attrs['db.query.text'] ?? '', m.size]);
    for (let cut = 1; cut < Math.max(client.length, server.length); cut += 3) {
      const c = new FakeContext(postgresqlParser);
      c.feed(C, client.subarray(0, Math.min(cut, client.length)));
      c.feed(C, client.subarray(Math.min(cut, client.length)));
      c.feed(S, server.subarray(0, Math.min(cut, server.length)));
      c.feed(S, server.subarray(Math.min(cut, server.length)));
      expect(c.messages.map((m) => [m.type, m.attrs['db.query.text'] ?? '', m.size]), `cut ${cut}`).toEqual(exp);
    }
  });

  it('SSLRequest answered S: the rest is TLS, parsing stops', () => {
    const c = new FakeContext(postgresqlParser);
    c.feed(C, bytes([...int32(8), ...int32(80877103)]));
    c.feed(S, bytes([0x53, 0x16, 0x03, 0x01]));
    expect(c.stopped).toBe('tls');
  });

  it('COPY FROM STDIN: the copy data belongs to the query', () => {
    const c = new FakeContext(postgresqlParser);
    c.feed(C, bytes(Q('COPY items FROM STDIN'), msg('d', [...Buffer.from('1\tsecretrow\n')]), msg('c', [])));
    c.feed(S, bytes(msg('G', [0, ...int16(0)]), CC('COPY 1'), Z()));
    expect(reqs(c).map((m) => m.attrs['db.query.summary'])).toEqual(['COPY items']);
    expect(resps(c)[0].attrs['spanwire.db.affected_rows']).toBe(1);
    expect(JSON.stringify(c.messages)).not.toContain('secretrow');
  });

  it('a cancel request is one-way; a response cut by the end still answers', () => {
    const c = new FakeContext(postgresqlParser);
    c.feed(C, bytes([...int32(16), ...int32(80877102), ...int32(1), ...int32(2)]));
    expect(reqs(c).map((m) => [m.attrs['db.operation.name'], m.expectsResponse])).toEqual([['CANCEL', false]]);
    const d = new FakeContext(postgresqlParser);
    d.feed(C, bytes(Q('select 1')));
    d.feed(S, bytes(ERR('57014', 'canceling statement due to user request')));
    d.end(S, 9);
    expect(resps(d).map((m) => m.attrs['db.response.status_code'])).toEqual(['57014']);
  });

  it('after lost bytes, resumes at the next data that starts with whole messages', () => {
    const c = new FakeContext(postgresqlParser);
    c.feed(C, bytes(Q('select 1')).subarray(0, 6));
    c.gap(C, 100);
    c.feed(C, bytes([0x41, 0x42]));
    c.feed(C, bytes(Q('select 2')));
    expect(reqs(c).map((m) => m.attrs['db.query.text'])).toEqual(['select ?']);
  });

  it('never throws on hostile input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (a, b) => {
        const c = new FakeContext(postgresqlParser);
        try {
          c.feed(C, a);
          c.feed(S, b);
        } catch (e) {
          // FakeContext throws on PARSE_ERROR (-1): a clean refusal, allowed.
          if (!String(e).includes('parse error')) throw e;
        }
        return true;
      }),
      { numRuns: 1000 },
    );
  });
});

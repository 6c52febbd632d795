/**
 * End to end, PostgreSQL: a real server (a temporary cluster made with initdb, on 127.0.0.1 and a free
 * port), real clients (psql: simple queries; the npm pg driver: the extended protocol with unnamed and
 * named prepared statements), captured by tcpdump on `lo`, then `spanwire replay`.
 *
 * Expected values come from the statements the test ran and what the clients got back (row counts,
 * errors with their SQLSTATE). Never from spanwire's own output. Needs root (tcpdump; the server runs as
 * the `postgres` user) and postgresql, psql, tcpdump (`bash test/setup-system.sh`).
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, SPANWIRE, freePort, readOtlpSpans, run, sleep, startTcpdump, stopChildren, stopTcpdump, which } from '../helpers/e2e.js';
import type { OtlpSpanView } from '../helpers/e2e.js';

const BIN = '/usr/lib/postgresql/15/bin';
if (!IS_ROOT) console.warn('\n*** SKIPPED test/e2e/postgresql.test.ts: not root (tcpdump on lo needs root; CI runs as root) ***\n');

describe.skipIf(!IS_ROOT)('e2e: PostgreSQL server + psql + pg driver on loopback -> tcpdump -> spanwire replay', () => {
  let dir = '';
  let port = 0;
  let tcpdump: ChildProcess | undefined;
  let spans: OtlpSpanView[] = [];
  let started = false;
  const pgctl = (...args: string[]) => execFileSync('runuser', ['-u', 'postgres', '--', `${BIN}/pg_ctl`, ...args], { stdio: 'ignore' });

  beforeAll(async () => {
    for (const bin of ['tcpdump', 'psql', 'runuser']) if (!which(bin)) throw new Error(`missing ${bin}: run bash test/setup-system.sh`);
    if (!existsSync(`${BIN}/initdb`)) throw new Error('missing PostgreSQL 15 server binaries: run bash test/setup-system.sh');
    dir = mkdtempSync(join(tmpdir(), 'spanwire-e2e-pg-'));
    const pgUid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, pgUid, 0);
    execFileSync('runuser', ['-u', 'postgres', '--', `${BIN}/initdb`, '-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres'], { stdio: 'ignore', cwd: '/tmp' });
    port = await freePort();
    pgctl('-D', join(dir, 'data'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, '-l', join(dir, 'log'), '-w', 'start');
    started = true;

    const cap = await startTcpdump(join(dir, 'pg.pcap'), `tcp port ${port}`, (c) => (tcpdump = c));
    const psql = (sql: string) => run('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-X', '-q', '-c', sql]);
    await psql('CREATE TABLE items (id int PRIMARY KEY, name text)');
    await psql("INSERT INTO items VALUES (1, 'widget'), (2, 'gadget'), (3, 'gizmo')");
    await psql("SELECT * FROM items WHERE name <> 'widget'");
    await expect(psql('SELECT * FROM nosuch')).rejects.toThrow(/does not exist/);

    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
    await client.connect();
    expect((await client.query('SELECT name FROM items WHERE id = $1', [1])).rows).toEqual([{ name: 'widget' }]);
    const named = { name: 'item-by-id', text: 'SELECT name FROM items WHERE id = $1' };
    expect((await client.query({ ...named, values: [2] })).rowCount).toBe(1);
    expect((await client.query({ ...named, values: [3] })).rowCount).toBe(1); // Bind/Execute only: no Parse
    await expect(client.query('INSERT INTO items VALUES ($1, $2)', [1, 'dup'])).rejects.toMatchObject({ code: '23505' });
    expect((await client.query("UPDATE items SET name = 'secretname' WHERE id > 1")).rowCount).toBe(2);
    await client.end();
    await sleep(300);
    await stopTcpdump(cap);
    const out = join(dir, 'spans.json');
    await run('node', [SPANWIRE, 'replay', join(dir, 'pg.pcap'), '--format', 'otlp-json', '-o', out, '-q']);
    spans = readOtlpSpans(out).sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
  }, 90_000);

  afterAll(async () => {
    await stopChildren([[tcpdump, 'SIGINT']]);
    if (started) pgctl('-D', join(dir, 'data'), '-m', 'fast', 'stop');
    if (dir && process.env.SPANWIRE_E2E_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  });

  it('one CONNECT span per connection and one span per statement, in order', () => {
    expect(spans.map((s) => [s.name, s.attrs['db.operation.name']])).toEqual([
      ['CONNECT', 'CONNECT'],
      ['CREATE TABLE items', 'CREATE TABLE'],
      ['CONNECT', 'CONNECT'],
      ['INSERT items', 'INSERT'],
      ['CONNECT', 'CONNECT'],
      ['SELECT items', 'SELECT'],
      ['CONNECT', 'CONNECT'],
      ['SELECT nosuch', 'SELECT'], // an error: see the next test
      ['CONNECT', 'CONNECT'],
      ['SELECT items', 'SELECT'],
      ['SELECT items', 'SELECT'],
      ['SELECT items', 'SELECT'],
      ['INSERT items', 'INSERT'],
      ['UPDATE items', 'UPDATE'],
    ]);
    for (const s of spans) {
      expect(s.attrs['db.system.name']).toBe('postgresql');
      expect(s.attrs['db.namespace']).toBe('postgres');
    }
  });

  it('rows, errors with their SQLSTATE, prepared statements, and no literal anywhere', () => {
    const [, , , insert, , select, , nosuch, , byId, named1, named2, dup, update] = spans;
    expect(insert.attrs['spanwire.db.affected_rows']).toBe(3);
    expect(select.attrs['db.response.returned_rows']).toBe(2);
    expect(select.attrs['db.query.text']).toBe('SELECT * FROM items WHERE name <> ?');
    expect(nosuch.status.code).toBe(2);
    expect(nosuch.attrs['error.type']).toBe('42P01');
    expect(byId.attrs['db.query.text']).toBe('SELECT name FROM items WHERE id = $1');
    expect(byId.attrs['db.response.returned_rows']).toBe(1);
    // The second run of the named statement sends no Parse: its SQL comes from the first.
    expect(named1.attrs['db.query.text']).toBe('SELECT name FROM items WHERE id = $1');
    expect(named2.attrs['db.query.text']).toBe('SELECT name FROM items WHERE id = $1');
    expect(dup.attrs['error.type']).toBe('23505');
    expect(dup.attrs['db.response.status_code']).toBe('23505');
    expect(update.attrs['spanwire.db.affected_rows']).toBe(2);
    const text = JSON.stringify(spans.map((s) => s.attrs));
    for (const secret of ['widget', 'gadget', 'gizmo', 'secretname', 'dup']) expect(text).not.toContain(secret);
  });
});

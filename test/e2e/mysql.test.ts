/**
 * End to end, MySQL protocol: a real MariaDB server (mariadbd on 127.0.0.1 and a free port, a throw-away
 * datadir made by mariadb-install-db, passwords checked: no --skip-grant-tables), real clients (the `mariadb`
 * CLI: DDL/DML, an SQL error, a failed login, `USE` -> COM_INIT_DB, --compress, LOCAL INFILE; the npm mysql2
 * driver: prepared statements, COM_PING, changeUser, LOCAL INFILE through infileStreamFactory, a 17 MiB row,
 * the compressed protocol), captured by tcpdump on `lo`, then `spanwire replay`.
 *
 * Expected values come from the statements the test sent and what the clients reported (rows, affected rows,
 * error numbers, SQLSTATEs and messages, the prepared statement's id). Never from spanwire's own output.
 * Needs root (tcpdump; mariadbd runs as root with --user=root) and mariadb-server, mariadb-client, tcpdump
 * (`bash test/setup-system.sh`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, SPANWIRE, freePort, readOtlpSpans, run, sleep, startTcpdump, stopChildren, stopTcpdump, waitListening, which } from '../helpers/e2e.js';
import type { OtlpSpanView } from '../helpers/e2e.js';

const MARIADBD = '/usr/sbin/mariadbd';
if (!IS_ROOT) console.warn('\n*** SKIPPED test/e2e/mysql.test.ts: not root (tcpdump on lo needs root; CI runs as root) ***\n');

/** Secrets that must appear nowhere in spanwire's output: passwords, string and number literals, file content. */
const APP_PASSWORD = 'Pw-app-7f3aK9';
const OTHER_PASSWORD = 'Pw-other-2Qx8';
const WRONG_PASSWORD = 'Wrong-pw-91cZ';
const SECRET_CLI = 'Zq9-cli-literal-secret';
const SECRET_MYSQL2 = 'Zq9-mysql2-literal-secret';
const SECRET_NUMBER = '4242427';
const SECRET_CSV = 'csv-secret-row';
const SECRET_INFILE = 'infile-secret-row';
const BIG_ROW = 17 * 1024 * 1024; // one value larger than one 16 MiB packet
const SQL_BY_ID = 'SELECT id, name FROM items WHERE id = ?';

/** The server's answers as the mariadb CLI printed them with -vvv, in statement order. */
function cliResults(stdout: string): { affected?: number; rows?: number }[] {
  const out: { affected?: number; rows?: number }[] = [];
  for (const line of stdout.split('\n')) {
    let m = /^Query OK, (\d+) rows? affected/.exec(line);
    if (m) out.push({ affected: Number(m[1]) });
    else if ((m = /^(\d+) rows? in set/.exec(line))) out.push({ rows: Number(m[1]) });
    else if (/^Empty set/.test(line)) out.push({ rows: 0 });
  }
  return out;
}

/** The error the CLI printed (`ERROR 1146 (42S02) at line 1: Table ... doesn't exist`). */
function cliError(e: unknown): { code: string; state: string; message: string } {
  const m = /ERROR (\d+) \(([0-9A-Z]{5})\)(?: at line \d+)?: (.*)/.exec(String((e as Error).message));
  if (!m) throw new Error(`not a mariadb client error: ${String(e)}`);
  return { code: m[1], state: m[2], message: m[3].trim() };
}

describe.skipIf(!IS_ROOT)('e2e: MariaDB server + mariadb CLI + mysql2 driver on loopback -> tcpdump -> spanwire replay', () => {
  let dir = '';
  let port = 0;
  let server: ChildProcess | undefined;
  let tcpdump: ChildProcess | undefined;
  /** mysql2 connections, destroyed in afterAll if a failure left them open. */
  const drivers: mysql.Connection[] = [];
  let spans: OtlpSpanView[] = [];
  /** Spans per TCP connection (client port), connections in the order they started. */
  let conns: OtlpSpanView[][] = [];
  let otlpText = '';
  let serverVersion = '';
  /** What the clients reported. */
  const got = {
    dml: [] as { affected?: number; rows?: number }[],
    nosuch: { code: '', state: '', message: '' },
    login: { code: '', state: '', message: '' },
    useRows: 0,
    compressCli: [] as { affected?: number; rows?: number }[],
    compressCliOn: false,
    infileCli: [] as { affected?: number; rows?: number }[],
    byId: [] as number[],
    stmtId: 0,
    insertAffected: 0,
    infileAffected: 0,
    things: 0,
    bigLength: 0,
    afterBig: 0,
    compressOn: '',
    compressRows: 0,
  };

  beforeAll(async () => {
    for (const bin of ['tcpdump', 'mariadb', 'mariadb-install-db']) if (!which(bin)) throw new Error(`missing ${bin}: run bash test/setup-system.sh`);
    if (!existsSync(MARIADBD)) throw new Error(`missing ${MARIADBD} (mariadb-server): run bash test/setup-system.sh`);
    dir = mkdtempSync(join(tmpdir(), 'spanwire-e2e-mysql-'));
    const data = join(dir, 'data');
    const sock = join(dir, 'mysqld.sock');
    // Root logs in with a password (empty here, only over the socket): no unix_socket plugin, no skipped grants.
    await run('mariadb-install-db', ['--no-defaults', '--user=root', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db'], 120_000);
    port = await freePort();
    server = spawn(
      MARIADBD,
      [
        '--no-defaults',
        '--user=root',
        `--datadir=${data}`,
        `--socket=${sock}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        '--skip-name-resolve',
        `--pid-file=${join(dir, 'mysqld.pid')}`,
        `--log-error=${join(dir, 'error.log')}`,
        '--local-infile=1',
        '--max-allowed-packet=64M',
        '--innodb-buffer-pool-size=32M',
      ],
      { stdio: 'ignore' },
    );
    await waitListening(port, server, 'mariadbd', 60_000);

    // Set-up over the Unix socket (not captured): databases, a table for changeUser, two password users.
    const admin = (sql: string) => run('mariadb', ['--no-defaults', '-S', sock, '-u', 'root', '-N', '-B', '-e', sql]);
    await admin(
      'CREATE DATABASE shop; CREATE DATABASE shop2; CREATE TABLE shop2.things (id INT PRIMARY KEY); INSERT INTO shop2.things VALUES (1), (2), (3);' +
        `CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY '${APP_PASSWORD}'; GRANT ALL ON shop.* TO 'app'@'127.0.0.1';` +
        `CREATE USER 'other'@'127.0.0.1' IDENTIFIED BY '${OTHER_PASSWORD}'; GRANT ALL ON shop2.* TO 'other'@'127.0.0.1';`,
    );
    serverVersion = (await admin('SELECT VERSION()')).stdout.trim();
    const csv = join(dir, 'items.csv');
    writeFileSync(csv, `20,${SECRET_CSV}-a,x\n21,${SECRET_CSV}-b,y\n22,${SECRET_CSV}-c,z\n`);
    const infile = join(dir, 'more.csv');
    writeFileSync(infile, `30,${SECRET_INFILE}-a,x\n31,${SECRET_INFILE}-b,y\n`);

    const cap = await startTcpdump(join(dir, 'mysql.pcap'), `tcp port ${port}`, (c) => (tcpdump = c));
    // The mariadb CLI: one connection per invocation, no TLS (SSLRequest would end parsing), -vvv prints
    // every statement's result ("Query OK, 3 rows affected", "2 rows in set").
    const cli = (args: string[], sql: string, password = APP_PASSWORD) =>
      run('mariadb', ['--no-defaults', '--skip-ssl', '-h', '127.0.0.1', '-P', String(port), '-u', 'app', `-p${password}`, ...args, '-e', sql]);
    // 1. DDL and DML on one connection.
    got.dml = cliResults(
      (
        await cli(
          ['-vvv', '-D', 'shop'],
          'CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(64), note VARCHAR(64)); ' +
            `INSERT INTO items VALUES (1, 'alpha', '${SECRET_CLI}'), (2, 'beta', 'n2'), (3, 'gamma', 'n3'); ` +
            'SELECT id, name FROM items WHERE id >= 2; ' +
            "UPDATE items SET name = 'renamed' WHERE id > 1; " +
            'DELETE FROM items WHERE id = 3',
        )
      ).stdout,
    );
    // 2. An SQL error; 3. a failed login.
    await cli(['-D', 'shop'], 'SELECT * FROM nosuch').then(
      () => expect.fail('SELECT * FROM nosuch succeeded'),
      (e: unknown) => (got.nosuch = cliError(e)),
    );
    await cli(['-D', 'shop'], 'SELECT 1', WRONG_PASSWORD).then(
      () => expect.fail('a wrong password was accepted'),
      (e: unknown) => (got.login = cliError(e)),
    );
    // 4. `USE` in the CLI is COM_INIT_DB (the CLI asks SELECT DATABASE() first).
    got.useRows = cliResults((await cli(['-vvv'], 'USE shop; SELECT name FROM items WHERE id = 1')).stdout)[0]?.rows ?? -1;
    // 5. The compressed protocol; 6. LOCAL INFILE (then a query on the same connection).
    const compressed = await cli(['-vvv', '--compress', '-D', 'shop'], "SHOW STATUS LIKE 'Compression'; SELECT id, name FROM items ORDER BY id");
    got.compressCliOn = /Compression\s*\|\s*ON\s*\|/.test(compressed.stdout);
    got.compressCli = cliResults(compressed.stdout);
    got.infileCli = cliResults(
      (await cli(['-vvv', '--local-infile=1', '-D', 'shop'], `LOAD DATA LOCAL INFILE '${csv}' INTO TABLE items FIELDS TERMINATED BY ','; SELECT COUNT(*) FROM items`)).stdout,
    );

    // 7. mysql2: prepared statements, ping, a literal, LOCAL INFILE, changeUser, a 17 MiB row.
    const conn = await mysql.createConnection({ host: '127.0.0.1', port, user: 'app', password: APP_PASSWORD, database: 'shop' });
    drivers.push(conn);
    for (const id of [1, 2]) got.byId.push((await conn.execute<RowDataPacket[]>(SQL_BY_ID, [id]))[0].length); // PREPARE once, EXECUTE twice
    const stmt = await conn.prepare(SQL_BY_ID); // mysql2's statement cache: no packet, the same statement
    got.stmtId = (stmt as unknown as { statement: { id: number } }).statement.id;
    await stmt.close(); // COM_STMT_CLOSE
    await conn.ping();
    got.insertAffected = (await conn.query<ResultSetHeader>(`INSERT INTO items (id, name, note) VALUES (${SECRET_NUMBER}, 'mysql2', '${SECRET_MYSQL2}')`))[0].affectedRows;
    got.infileAffected = (
      await conn.query<ResultSetHeader>({
        sql: "LOAD DATA LOCAL INFILE 'more.csv' INTO TABLE items FIELDS TERMINATED BY ','",
        infileStreamFactory: () => createReadStream(infile),
      })
    )[0].affectedRows;
    await conn.changeUser({ user: 'other', password: OTHER_PASSWORD, database: 'shop2' });
    got.things = (await conn.query<RowDataPacket[]>('SELECT id FROM things'))[0].length;
    got.bigLength = String((await conn.query<RowDataPacket[]>(`SELECT REPEAT('a', ${BIG_ROW}) AS big`))[0][0].big).length;
    got.afterBig = (await conn.query<RowDataPacket[]>('SELECT id FROM things WHERE id <= 2'))[0].length;
    await conn.end();
    // 8. mysql2 with the compressed protocol.
    const z = await mysql.createConnection({ host: '127.0.0.1', port, user: 'app', password: APP_PASSWORD, database: 'shop', compress: true });
    drivers.push(z);
    got.compressOn = String((await z.query<RowDataPacket[]>("SHOW STATUS LIKE 'Compression'"))[0][0].Value);
    got.compressRows = (await z.execute<RowDataPacket[]>('SELECT id FROM items WHERE id > ?', [1]))[0].length;
    await z.end();

    await sleep(300);
    await stopTcpdump(cap);
    const out = join(dir, 'spans.json');
    await run('node', [SPANWIRE, 'replay', join(dir, 'mysql.pcap'), '--format', 'otlp-json', '-o', out, '-q'], 60_000);
    otlpText = readFileSync(out, 'utf8');
    spans = readOtlpSpans(out).sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
    const byPort = new Map<number, OtlpSpanView[]>();
    for (const s of spans) {
      const p = Number(s.attrs['client.port']);
      if (!byPort.has(p)) byPort.set(p, []);
      byPort.get(p)!.push(s);
    }
    conns = [...byPort.values()];
  }, 180_000);

  afterAll(async () => {
    for (const d of drivers) d.destroy();
    await stopChildren([
      [tcpdump, 'SIGINT'],
      [server, 'SIGTERM'],
    ]);
    if (dir && process.env.SPANWIRE_E2E_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  });

  const names = (c: OtlpSpanView[] | undefined) => (c ?? []).map((s) => [s.name, s.attrs['spanwire.mysql.command']]);
  const q = (name: unknown) => [name, 'COM_QUERY'];
  const LOAD = expect.stringMatching(/^LOAD/);

  it('the clients saw what the test expects (guards the expectations below)', () => {
    expect(got.dml).toEqual([{ affected: 0 }, { affected: 3 }, { rows: 2 }, { affected: 2 }, { affected: 1 }]);
    expect(got.nosuch.code).toBe('1146');
    expect(got.nosuch.state).toBe('42S02');
    expect(got.login.code).toBe('1045');
    expect(got.compressCliOn).toBe(true);
    expect(got.compressOn).toBe('ON');
    expect(got.byId).toEqual([1, 1]);
    expect(got.bigLength).toBe(BIG_ROW);
  });

  it('one CONNECT span per connection, then one span per command, in order, named as the contract says', () => {
    expect(conns.map(names)).toEqual([
      [['CONNECT', 'CONNECT'], q('CREATE TABLE items'), q('INSERT items'), q('SELECT items'), q('UPDATE items'), q('DELETE items'), ['COM_QUIT', 'COM_QUIT']],
      [['CONNECT', 'CONNECT'], q('SELECT nosuch'), ['COM_QUIT', 'COM_QUIT']],
      [['CONNECT', 'CONNECT']], // the failed login: the server closes the connection
      [['CONNECT', 'CONNECT'], q('SELECT'), ['COM_INIT_DB', 'COM_INIT_DB'], q('SELECT items'), ['COM_QUIT', 'COM_QUIT']], // SELECT DATABASE() is the CLI's own
      [['CONNECT', 'CONNECT'], q('SHOW'), q('SELECT items'), ['COM_QUIT', 'COM_QUIT']], // --compress
      [['CONNECT', 'CONNECT'], q(LOAD), q('SELECT items'), ['COM_QUIT', 'COM_QUIT']], // LOCAL INFILE
      [
        ['CONNECT', 'CONNECT'],
        ['COM_STMT_PREPARE items', 'COM_STMT_PREPARE'],
        ['SELECT items', 'COM_STMT_EXECUTE'],
        ['SELECT items', 'COM_STMT_EXECUTE'],
        ['COM_STMT_CLOSE', 'COM_STMT_CLOSE'],
        ['COM_PING', 'COM_PING'],
        q('INSERT items'),
        q(LOAD),
        ['COM_CHANGE_USER', 'COM_CHANGE_USER'],
        ['COM_STMT_CLOSE', 'COM_STMT_CLOSE'], // mysql2's own: changeUser empties its statement cache, closing each
        q('SELECT things'),
        q('SELECT'), // SELECT REPEAT(...): no table
        q('SELECT things'),
        ['COM_QUIT', 'COM_QUIT'],
      ],
      [['CONNECT', 'CONNECT'], q('SHOW'), ['COM_STMT_PREPARE items', 'COM_STMT_PREPARE'], ['SELECT items', 'COM_STMT_EXECUTE'], ['COM_QUIT', 'COM_QUIT']], // mysql2 compress
    ]);
  });

  it('every span is db.system.name=mysql with its command; CONNECT spans carry the greeting version; operations as the contract says', () => {
    expect(spans.length).toBeGreaterThan(0);
    for (const s of spans) {
      expect(s.attrs['db.system.name']).toBe('mysql');
      expect(typeof s.attrs['spanwire.mysql.command']).toBe('string');
      const cmd = s.attrs['spanwire.mysql.command'];
      if (cmd === 'CONNECT') {
        expect(s.attrs['db.operation.name']).toBe('CONNECT');
        expect(String(s.attrs['spanwire.mysql.server_version'])).toContain(serverVersion);
      } else if (cmd !== 'COM_QUERY' && cmd !== 'COM_STMT_EXECUTE') {
        expect(s.attrs['db.operation.name'], s.name).toBe(cmd);
      }
    }
    const [, , insert, select, update, del] = conns[0];
    expect([insert, select, update, del].map((s) => [s.attrs['db.operation.name'], s.attrs['db.collection.name'], s.attrs['db.query.summary']])).toEqual([
      ['INSERT', 'items', 'INSERT items'],
      ['SELECT', 'items', 'SELECT items'],
      ['UPDATE', 'items', 'UPDATE items'],
      ['DELETE', 'items', 'DELETE items'],
    ]);
    expect(conns[0][1].attrs['db.operation.name']).toBe('CREATE TABLE');
    for (const s of conns[0]) expect(s.attrs['db.namespace'], s.name).toBe('shop'); // -D shop: the login's database
    expect(spans.filter((s) => s.status.code === 2).map((s) => s.name)).toEqual(['SELECT nosuch', 'CONNECT']);
  });

  it('affected rows (OK packets) and returned rows (result sets) as the mariadb CLI reported them', () => {
    const [, create, insert, select, update, del] = conns[0];
    expect(create.attrs['spanwire.db.affected_rows']).toBe(got.dml[0].affected);
    expect(insert.attrs['spanwire.db.affected_rows']).toBe(got.dml[1].affected);
    expect(select.attrs['db.response.returned_rows']).toBe(got.dml[2].rows);
    expect(update.attrs['spanwire.db.affected_rows']).toBe(got.dml[3].affected);
    expect(del.attrs['spanwire.db.affected_rows']).toBe(got.dml[4].affected);
    expect(select.attrs['db.query.text']).toBe('SELECT id, name FROM items WHERE id >= ?');
    expect(update.attrs['db.query.text']).toBe('UPDATE items SET name = ? WHERE id > ?');
  });

  it('an SQL error: error span with the error number, SQLSTATE and message the client printed', () => {
    const nosuch = conns[1][1];
    expect(nosuch.status.code).toBe(2);
    expect(nosuch.attrs['error.type']).toBe(got.nosuch.code);
    expect(nosuch.attrs['db.response.status_code']).toBe(got.nosuch.code);
    expect(nosuch.attrs['spanwire.mysql.sql_state']).toBe(got.nosuch.state);
    expect(nosuch.status.message).toBe(got.nosuch.message);
    expect(nosuch.attrs['db.collection.name']).toBe('nosuch');
  });

  it('a failed login: an error CONNECT span with the ERR number, and no password anywhere in the output', () => {
    const [login] = conns[2];
    expect(login.status.code).toBe(2);
    expect(login.attrs['error.type']).toBe(got.login.code);
    expect(login.attrs['db.response.status_code']).toBe(got.login.code);
    expect(login.attrs['spanwire.mysql.sql_state']).toBe(got.login.state);
    expect(login.status.message).toBe(got.login.message);
    for (const c of conns.filter((x) => x !== conns[2])) expect(c[0].status.code, 'successful logins').not.toBe(2);
    expect(otlpText.length).toBeGreaterThan(0);
    for (const pw of [WRONG_PASSWORD, APP_PASSWORD, OTHER_PASSWORD]) expect(otlpText).not.toContain(pw);
  });

  it('`USE shop` in the CLI (COM_INIT_DB) changes db.namespace for the commands after it', () => {
    const [connect, selectDb, initDb, select] = conns[3];
    expect(connect.attrs['db.namespace'] ?? '').toBe(''); // no database at login
    expect(selectDb.attrs['db.namespace'] ?? '').toBe('');
    expect(initDb.status.code).not.toBe(2);
    expect(select.attrs['db.namespace']).toBe('shop');
    expect(select.attrs['db.response.returned_rows']).toBe(got.useRows);
  });

  it('mysql2 prepared statements: PREPARE carries the SQL, both EXECUTEs the prepared statement, CLOSE is one-way', () => {
    const [, prepare, exec1, exec2, close, ping] = conns[6];
    expect(prepare.attrs['db.operation.name']).toBe('COM_STMT_PREPARE');
    expect(prepare.attrs['db.collection.name']).toBe('items');
    expect(prepare.attrs['db.query.text']).toBe(SQL_BY_ID);
    for (const [i, e] of [exec1, exec2].entries()) {
      expect(e.attrs['db.operation.name']).toBe('SELECT');
      expect(e.attrs['db.query.summary']).toBe('SELECT items');
      expect(e.attrs['db.collection.name']).toBe('items');
      expect(e.attrs['db.query.text']).toBe(SQL_BY_ID);
      expect(e.attrs['db.response.returned_rows']).toBe(got.byId[i]);
    }
    for (const s of [prepare, exec1, exec2, close]) expect(s.attrs['spanwire.mysql.statement_id'], s.name).toBe(got.stmtId);
    // No answer is expected: neither an error nor a timeout / no-response span.
    expect(close.status.code).not.toBe(2);
    expect(close.attrs['error.type']).toBeUndefined();
    expect(ping.status.code).not.toBe(2);
    for (const s of conns[6]) expect(s.endNs >= s.startNs).toBe(true);
  });

  it('mysql2: a literal INSERT, COM_CHANGE_USER moving db.namespace to the new database, a 17 MiB row', () => {
    const c = conns[6];
    const insert = c[6];
    expect(insert.attrs['spanwire.db.affected_rows']).toBe(got.insertAffected);
    expect(insert.attrs['db.query.text']).toBe('INSERT INTO items (id, name, note) VALUES (?, ?, ?)');
    for (const s of c.slice(0, 8)) expect(s.attrs['db.namespace'], s.name).toBe('shop');
    const [changeUser, close, things, big, afterBig, quit] = c.slice(8);
    expect(changeUser.status.code).not.toBe(2);
    expect(close.attrs['spanwire.mysql.statement_id']).toBe(got.stmtId);
    for (const s of [close, things, big, afterBig, quit]) expect(s.attrs['db.namespace'], s.name).toBe('shop2');
    expect(things.attrs['db.response.returned_rows']).toBe(got.things);
    expect(big.status.code).not.toBe(2);
    expect(big.attrs['db.response.returned_rows']).toBe(1);
    expect(big.attrs['db.query.text']).toBe('SELECT REPEAT(?, ?) AS big');
    expect(afterBig.attrs['db.response.returned_rows']).toBe(got.afterBig); // the stream goes on after the big row
    expect(big.endNs).toBeLessThanOrEqual(afterBig.startNs);
  });

  it('the compressed protocol (mariadb --compress, mysql2 compress: true): spans as if uncompressed', () => {
    const [, show, select] = conns[4];
    expect(show.attrs['db.response.returned_rows']).toBe(got.compressCli[0].rows);
    expect(select.attrs['db.response.returned_rows']).toBe(got.compressCli[1].rows);
    expect(select.attrs['db.query.text']).toBe('SELECT id, name FROM items ORDER BY id');
    const [, zshow, zprepare, zexec] = conns[7];
    expect(zshow.attrs['db.response.returned_rows']).toBe(1);
    expect(zprepare.attrs['db.query.text']).toBe('SELECT id FROM items WHERE id > ?');
    expect(zexec.attrs['db.query.text']).toBe('SELECT id FROM items WHERE id > ?');
    expect(zexec.attrs['db.response.returned_rows']).toBe(got.compressRows);
    for (const s of [...conns[4], ...conns[7]]) expect(s.attrs['db.namespace'], s.name).toBe('shop');
  });

  it('LOCAL INFILE (CLI and mysql2): affected rows as reported, the next command pairs, no file content in spans', () => {
    const [, cliLoad, count] = conns[5];
    expect(cliLoad.status.code).not.toBe(2);
    expect(cliLoad.attrs['spanwire.db.affected_rows']).toBe(got.infileCli[0].affected);
    expect(count.attrs['db.response.returned_rows']).toBe(got.infileCli[1].rows);
    const m2Load = conns[6][7];
    expect(m2Load.attrs['spanwire.db.affected_rows']).toBe(got.infileAffected);
    expect(otlpText).not.toContain(SECRET_CSV);
    expect(otlpText).not.toContain(SECRET_INFILE);
  });

  it('LOAD DATA ... INTO TABLE items: db.collection.name is the table loaded into', () => {
    for (const load of [conns[5][1], conns[6][7]]) {
      expect(load.attrs['db.operation.name']).toMatch(/^LOAD/);
      expect(load.attrs['db.collection.name']).toBe('items');
    }
  });

  it('SQL literals never appear in the output: strings, numbers, the file names loaded', () => {
    for (const secret of [SECRET_CLI, SECRET_MYSQL2, SECRET_NUMBER, "'alpha'", "'renamed'", 'more.csv', 'items.csv']) expect(otlpText).not.toContain(secret);
    for (const s of spans) if (s.attrs['db.query.text'] !== undefined) expect(String(s.attrs['db.query.text'])).not.toMatch(/'[^']*'|\b\d{3,}\b/);
  });
});

/**
 * Golden tests on real MySQL captures made by others (DeepFlow's corpus), checked against tshark's
 * mysql dissector: per connection, one span per command tshark finds (the login included), running
 * the SQL tshark shows (prepared statements through their ids), with tshark's error numbers, affected
 * rows and row packets. The compressed captures (which tshark cannot read without the login) and
 * `mysql-use.pcap` (where tshark, starting mid-connection, calls the query "SLEEP") are checked
 * against the corpus's own expectations instead (the .result files and README counts).
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SpanData } from '../../core/trace/span.js';
import { PCAPS, replaySpans, tshark } from '../helpers/replay.js';

const MY = resolve(PCAPS, 'deepflow/mysql');

/** Command names by number, from the MySQL protocol documentation (COM_xxx). */
const COMMANDS: Record<number, string> = {
  1: 'COM_QUIT', 2: 'COM_INIT_DB', 3: 'COM_QUERY', 4: 'COM_FIELD_LIST', 9: 'COM_STATISTICS', 14: 'COM_PING', 17: 'COM_CHANGE_USER',
  22: 'COM_STMT_PREPARE', 23: 'COM_STMT_EXECUTE', 24: 'COM_STMT_SEND_LONG_DATA', 25: 'COM_STMT_CLOSE', 26: 'COM_STMT_RESET', 27: 'COM_SET_OPTION', 28: 'COM_STMT_FETCH', 31: 'COM_RESET_CONNECTION',
};
const NO_ANSWER = new Set(['COM_QUIT', 'COM_STMT_CLOSE', 'COM_STMT_SEND_LONG_DATA']);

interface Exchange {
  command: string;
  sql: string;
  errorCode: string;
  affected: number;
  rows: number;
  answered: boolean;
}

/** Row packets per frame, from tshark's verbose dissection ("MySQL Protocol - row packet"). */
function rowPackets(file: string, port: number): Map<number, number> {
  const out = execFileSync('tshark', ['-r', file, '-d', `tcp.port==${port},mysql`, '-Y', 'mysql', '-O', 'mysql'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 28 });
  const rows = new Map<number, number>();
  let frame = 0;
  for (const line of out.split('\n')) {
    const m = /^Frame (\d+):/.exec(line);
    if (m) frame = Number(m[1]);
    else if (line.startsWith('MySQL Protocol - row packet')) rows.set(frame, (rows.get(frame) ?? 0) + 1);
  }
  return rows;
}

/** Exchanges per TCP stream (client port), in order, from tshark. */
function tsharkExchanges(file: string, port: number): Map<number, Exchange[]> {
  const fields = ['frame.number', 'tcp.srcport', 'tcp.dstport', 'mysql.command', 'mysql.query', 'mysql.stmt_id', 'mysql.user', 'mysql.error_code', 'mysql.affected_rows', 'mysql.num_fields'];
  const lines = tshark(file, 'mysql', fields, ['-d', `tcp.port==${port},mysql`, '-E', 'occurrence=a', '-E', 'aggregator=|']);
  const rows = rowPackets(file, port);
  const streams = new Map<number, Exchange[]>();
  const statements = new Map<string, string>();
  for (const [frame, src, dst, command, query, stmtId, user, errorCode, affected, numFields] of lines) {
    const client = Number(src) !== port;
    const list = streams.get(client ? Number(src) : Number(dst)) ?? [];
    streams.set(client ? Number(src) : Number(dst), list);
    if (client) {
      if (user) list.push({ command: 'CONNECT', sql: '', errorCode: '', affected: -1, rows: 0, answered: false });
      else if (command) {
        const name = COMMANDS[Number(command)] ?? `#${command}`;
        let sql = query ?? '';
        if (name === 'COM_STMT_EXECUTE') sql = statements.get(stmtId) ?? '';
        list.push({ command: name, sql, errorCode: '', affected: -1, rows: 0, answered: false });
      }
      continue;
    }
    // Server: the answer to the latest command still waiting for one.
    const ex = [...list].reverse().find((e) => !NO_ANSWER.has(e.command));
    if (ex === undefined) continue;
    ex.answered = true;
    if (errorCode) ex.errorCode = errorCode.split('|')[0];
    // (the OK that ends a result set also carries an affected-row count: 0; not an update count)
    if (affected && !numFields && ex.rows === 0 && ex.command !== 'CONNECT' && ex.command !== 'COM_FIELD_LIST') ex.affected = affected.split('|').reduce((n, a) => n + Number(a), Math.max(ex.affected, 0));
    ex.rows += rows.get(Number(frame)) ?? 0;
    if (ex.command === 'COM_STMT_PREPARE' && stmtId) {
      const prep = list.filter((e) => e.command === 'COM_STMT_PREPARE').at(-1)!;
      statements.set(stmtId.split('|')[0], prep.sql);
    }
  }
  return streams;
}

const words = (x: string) =>
  x.replace(/\\n/g, '\n').replace(/\\t/g, '\t').replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\b\d+(\.\d+)?\b/g, '?').replace(/\s+/g, ' ').trim();

const byStart = (a: SpanData, b: SpanData) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1];

async function expectMatchesTshark(name: string, port: number): Promise<SpanData[]> {
  const file = resolve(MY, name);
  const expected = tsharkExchanges(file, port);
  const { spans } = await replaySpans([file]);
  const mysql = spans.filter((s) => s.attributes['spanwire.protocol'] === 'mysql');
  expect(mysql.length, 'spans').toBe([...expected.values()].reduce((n, l) => n + l.length, 0));
  for (const [clientPort, list] of expected) {
    const mine = mysql.filter((s) => Number(s.attributes['client.port']) === clientPort).sort(byStart);
    expect(mine.map((s) => s.attributes['spanwire.mysql.command']), `commands of :${clientPort}`).toEqual(list.map((e) => e.command));
    mine.forEach((s, i) => {
      const e = list[i];
      const what = `:${clientPort} #${i} ${e.command} ${e.sql.slice(0, 60)}`;
      expect(s.attributes['db.system.name']).toBe('mysql');
      // (a `_binary '...'` literal: tshark shows its bytes escaped, so compare the text before it)
      const cut = (x: string) => (e.sql.includes('_binary') ? x.slice(0, x.indexOf('_binary')) : x);
      if (e.sql !== '') expect(cut(words(String(s.attributes['db.query.text']))), what).toBe(cut(words(e.sql)));
      else if (e.command === 'COM_STMT_EXECUTE') expect(s.attributes['db.query.text'], what).toBeUndefined();
      if (!e.answered && !NO_ANSWER.has(e.command)) {
        expect(s.attributes['error.type'], `${what} (the capture ends before the answer)`).toBe('no_response');
      } else if (e.errorCode) {
        expect(s.attributes['db.response.status_code'], what).toBe(e.errorCode);
        expect(s.attributes['error.type'], what).toBe(e.errorCode);
        expect(s.status.code, what).toBe(2);
      } else expect(s.status.code, what).not.toBe(2);
      if (e.affected >= 0) expect(s.attributes['spanwire.db.affected_rows'], what).toBe(e.affected);
      if (e.rows > 0) expect(s.attributes['db.response.returned_rows'], what).toBe(e.rows);
    });
  }
  return mysql.sort(byStart);
}

/** The corpus's expectations: `{"msg_type":"Request",...,"request_resource":...}` lines of a .result file. */
function corpusResult(name: string): { type: string; resource: string; status: string; code: number }[] {
  return readFileSync(resolve(MY, name), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l.slice(0, l.lastIndexOf('}') + 1)))
    .map((j) => ({ type: j.msg_type, resource: j.request_resource ?? '', status: j.response_status, code: j.response_code }));
}

describe('MySQL golden captures (checked against tshark)', () => {
  it('mysql.pcap: login with a database, SET/SHOW/rollback, quit (corpus README: 7 requests, 6 responses)', async () => {
    const spans = await expectMatchesTshark('mysql.pcap', 20130);
    expect(spans.length).toBe(7);
    expect(spans[0].name).toBe('CONNECT');
    expect(spans[0].attributes['db.namespace']).toBe('deepflow');
    expect(spans[0].attributes['spanwire.mysql.server_version']).toMatch(/^\d+\.\d+\.\d+/);
    expect(spans.filter((s) => s.attributes['db.namespace'] === 'deepflow').length).toBe(7);
  });

  it('mysql-error.pcap: COM_INIT_DB of a database that does not exist is error 1049 (corpus: 1 server error)', async () => {
    const spans = await expectMatchesTshark('mysql-error.pcap', 20130);
    const err = spans.filter((s) => s.status.code === 2);
    expect(err.map((s) => [s.name, s.attributes['db.response.status_code'], s.attributes['spanwire.mysql.sql_state']])).toEqual([['COM_INIT_DB', '1049', '42000']]);
  });

  it('mysql-login-error.pcap: a refused login (1040 Too many connections) is an error CONNECT span', async () => {
    const spans = await expectMatchesTshark('mysql-login-error.pcap', 3306);
    expect(spans.map((s) => [s.name, s.attributes['error.type'], s.status.message])).toEqual([['CONNECT', '1040', 'Too many connections']]);
  });

  for (const name of ['mysql-database', 'mysql-table-alter', 'mysql-table-create', 'mysql-table-delete', 'mysql-table-desc', 'mysql-table-destroy', 'mysql-table-insert', 'mysql-table-select', 'mysql-table-update']) {
    it(`${name}.pcap: every command, its rows and affected rows as tshark reads them`, async () => {
      const spans = await expectMatchesTshark(`${name}.pcap`, 20130);
      expect(spans.length).toBeGreaterThan(2);
    });
  }

  it('mysql-statement.pcap: prepared statements on several connections, EXECUTE spans carry the prepared SQL', async () => {
    const spans = await expectMatchesTshark('mysql-statement.pcap', 30130);
    const exec = spans.filter((s) => s.attributes['spanwire.mysql.command'] === 'COM_STMT_EXECUTE' && s.attributes['db.query.text'] !== undefined);
    expect(exec.length).toBeGreaterThan(0);
    expect(exec[0].name).toBe('SELECT controller');
  });

  it('mysql-statement-id.pcap, mysql-exec.pcap: PREPARE_OK ids; a multi-row prepared INSERT', async () => {
    const [prep] = await expectMatchesTshark('mysql-statement-id.pcap', 30130);
    expect(prep.attributes['spanwire.mysql.statement_id']).toBe(510);
    expect(prep.name).toBe('COM_STMT_PREPARE controller');
    const exec = await expectMatchesTshark('mysql-exec.pcap', 30130);
    expect(exec.map((s) => s.name)).toEqual(['COM_STMT_PREPARE controller', 'INSERT controller']);
  });

  it('truncate-1024.pcap, large-response.pcap, binary-in-sql.pcap, 171-mysql.pcap: mid-connection starts', async () => {
    await expectMatchesTshark('truncate-1024.pcap', 6033);
    await expectMatchesTshark('large-response.pcap', 6033);
    await expectMatchesTshark('binary-in-sql.pcap', 2883);
    const many = await expectMatchesTshark('171-mysql.pcap', 20130);
    expect(many.length).toBe(390); // corpus README: 390 requests, 390 responses
  });
});

describe('MySQL captures tshark cannot read (checked against the corpus expectations)', () => {
  for (const name of ['mysql-compressed-response', 'partial-packet-compressed', 'mysql-use']) {
    it(`${name}.pcap: the requests and statuses of ${name}.result`, async () => {
      const expected = corpusResult(`${name}.result`);
      const requests = expected.filter((e) => e.type === 'Request').map((e) => e.resource);
      const responses = expected.filter((e) => e.type === 'Response');
      const { spans } = await replaySpans([resolve(MY, `${name}.pcap`)]);
      const mine = spans.filter((s) => s.attributes['spanwire.protocol'] === 'mysql').sort(byStart);
      expect(mine.map((s) => words(String(s.attributes['db.query.text'])))).toEqual(requests.map(words));
      // (the corpus's agent writes one Response per segment of a long answer: every request is answered)
      expect(responses.length).toBeGreaterThanOrEqual(requests.length);
      expect(mine.map((s) => s.attributes['error.type'] ?? 'ok')).toEqual(requests.map(() => 'ok'));
      expect(responses.every((r) => r.status === 'ok')).toBe(true);
    });
  }
});

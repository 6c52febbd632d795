/**
 * Golden tests on real PostgreSQL captures made by others (DeepFlow's corpus), checked against tshark's
 * pgsql dissector: one span per Query or Sync tshark finds, running the SQL tshark shows for it
 * (through named and unnamed prepared statements), with the row counts of tshark's CommandComplete
 * tags and the SQLSTATE of its ErrorResponses.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SpanData } from '../../core/trace/span.js';
import { PCAPS, replaySpans, tshark } from '../helpers/replay.js';

const PG = resolve(PCAPS, 'deepflow/postgresql');

interface Unit {
  sql: string;
  /** The unit executes (Query, Execute), else it only prepares. */
  executes: boolean;
  tags: string[];
  code: string;
}

/** Units (Query, or messages up to Sync) in client order, with the SQL they run, from tshark's fields. */
function tsharkUnits(file: string, port: number): Unit[] {
  const rows = tshark(file, 'pgsql', ['tcp.srcport', 'pgsql.type', 'pgsql.query', 'pgsql.statement', 'pgsql.tag', 'pgsql.code'], ['-d', `tcp.port==${port},pgsql`, '-E', 'occurrence=a', '-E', 'aggregator=|']);
  const statements = new Map<string, string>();
  const units: Unit[] = [];
  const answers: { tags: string[]; code: string }[] = [];
  let current: { tags: string[]; code: string } = { tags: [], code: '' };
  for (const [src, types, queries, stmts, tags, codes] of rows) {
    if (Number(src) !== port) {
      // Client: statement names are listed for Parse and Bind in message order.
      const t = types.split('|');
      const q = queries ? queries.split('|') : [];
      const st = stmts ? stmts.split('|') : [];
      let qi = 0;
      let si = 0;
      let sql = '';
      let executes = false;
      for (const ty of t) {
        if (ty === 'Simple query') units.push({ sql: q[qi++] ?? '', executes: true, tags: [], code: '' });
        else if (ty === 'Parse') {
          const s = q[qi++] ?? '';
          statements.set(st[si++] ?? '', s);
          if (sql === '') sql = s;
        } else if (ty === 'Bind') sql = statements.get(st[si++] ?? '') ?? ''; // prepared before the capture: unknown
        else if (ty === 'Execute') executes = true;
        else if (ty === 'Sync') {
          units.push({ sql, executes, tags: [], code: '' });
          sql = '';
          executes = false;
        }
      }
    } else {
      // Server: an answer ends at each ReadyForQuery; tags and codes come in message order.
      const tg = tags ? tags.split('|') : [];
      const cd = codes ? codes.split('|') : [];
      let ti = 0;
      let ci = 0;
      for (const ty of types.split('|')) {
        if (ty === 'Command completion') current.tags.push(tg[ti++] ?? '');
        else if (ty === 'Error') current.code = cd[ci++] ?? '';
        else if (ty === 'Ready for query') {
          answers.push(current);
          current = { tags: [], code: '' };
        }
      }
    }
  }
  if (current.tags.length > 0 || current.code !== '') answers.push(current); // cut by the end of the capture
  units.forEach((u, i) => Object.assign(u, answers[i] ?? {}));
  return units;
}

async function expectMatchesTshark(file: string, port: number): Promise<SpanData[]> {
  const units = tsharkUnits(file, port);
  const { spans } = await replaySpans([file]);
  const pg = spans.filter((s) => s.attributes['spanwire.protocol'] === 'postgresql').sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
  expect(pg.length).toBe(units.length);
  pg.forEach((s, i) => {
    const u = units[i];
    const what = `unit ${i}: ${u.sql}`;
    const first = u.sql.trim().split(/\s+/)[0].toUpperCase();
    if (!u.executes) expect(s.attributes['db.operation.name'], what).toBe('PREPARE');
    else if (['SELECT', 'INSERT', 'UPDATE', 'DELETE'].includes(first)) expect(s.attributes['db.operation.name'], what).toBe(first);
    if (u.sql === '') {
      // A statement prepared before the capture: tshark does not know its SQL, nor may spanwire.
      expect(s.attributes['db.query.text'], what).toBeUndefined();
    } else {
      // The redacted text keeps everything but literals: its words are tshark's words.
      // (tshark prints a newline or tab inside a field as \n or \t; comments are left out of db.query.text.)
      const words = (x: string) =>
        x.replace(/\\n/g, '\n').replace(/\\t/g, '\t').replace(/--[^\n]*/g, '').replace(/'[^']*'|\b\d+(\.\d+)?\b/g, '?').replace(/\s+/g, ' ').trim();
      expect(words(String(s.attributes['db.query.text'])), what).toBe(words(u.sql));
    }
    const rows = u.tags.map((t) => /^SELECT (\d+)$/.exec(t)).filter((m) => m !== null);
    if (rows.length > 0) expect(s.attributes['db.response.returned_rows'], what).toBe(rows.reduce((n, m) => n + Number(m![1]), 0));
    if (u.code) {
      expect(s.attributes['db.response.status_code'], what).toBe(u.code);
      expect(s.attributes['error.type'], what).toBe(u.code);
    } else {
      expect(s.status.code, what).not.toBe(2);
    }
    expect(s.attributes['db.system.name']).toBe('postgresql');
  });
  return pg;
}

describe('PostgreSQL golden captures (checked against tshark)', () => {
  it('simple_query.pcap: delete, 1 row affected (corpus README: rrt 2224 us)', async () => {
    const spans = await expectMatchesTshark(resolve(PG, 'simple_query.pcap'), 5432);
    expect(spans[0].attributes['spanwire.db.affected_rows']).toBe(1);
    expect(spans[0].name).toBe('DELETE test');
  });

  it('error.pcap: a syntax error answered 42601', async () => {
    await expectMatchesTshark(resolve(PG, 'error.pcap'), 5432);
  });

  it('prepare_stat.pcap: Parse/Describe/Sync whose first answer bytes were not captured', async () => {
    const spans = await expectMatchesTshark(resolve(PG, 'prepare_stat.pcap'), 5432);
    expect(spans[0].attributes['db.operation.name']).toBe('PREPARE');
  });

  it('pgsql-all.pcap: an extended-protocol client re-executing the unnamed statement', async () => {
    const spans = await expectMatchesTshark(resolve(PG, 'pgsql-all.pcap'), 8000);
    expect(spans.length).toBeGreaterThan(10);
  });
});

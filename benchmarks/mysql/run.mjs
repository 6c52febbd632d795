#!/usr/bin/env node
// MySQL replay benchmark: spanwire vs tshark vs tcpdump on the same synthetic MySQL protocol capture.
//
//   node benchmarks/mysql/run.mjs [--packets N] [--runs R] [--no-record]      (npm run bench:mysql)
//
// 1. Generates benchmarks/out/mysql-<N>.pcap (+ .truth.json) with benchmarks/mysql/gen.mjs if missing or
//    older than gen.mjs (logins, text queries, prepared statements on many connections; see gen.mjs).
// 2. Runs each tool R times (default 3) under `/usr/bin/time -f '%e %M'`, stdout to /dev/null:
//      spanwire  node bin/spanwire.js replay F --format otlp-json -o /dev/null
//      tshark    tshark -r F -Y mysql.command -T fields -e mysql.command
//      tcpdump   tcpdump -r F -w /dev/null
// 3. Checks, on one more run of each:
//    - the capture, with tshark as an independent dissector: client commands per command byte, logins,
//      ERR packets per error number, the sum of affected rows of OK packets, result-set rows (text rows:
//      column values / 3; binary rows: NULL bitmaps) equal the generator's truth, and no expert info of
//      warning level or above;
//    - spanwire's spans equal the truth's spans (logins and commands), per db.operation.name and per
//      spanwire.mysql.command, its errors per error.type, and the sums of db.response.returned_rows and
//      spanwire.db.affected_rows.
//    Targets (issue 4): >= 300,000 queries/s and >= 20x tshark.
// 4. Prints a markdown table and appends it, dated, to benchmarks/RESULTS.md (unless --no-record or a row failed).
// The common part is benchmarks/proto-bench.mjs.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sameCounts } from '../lib.mjs';
import { fmtInt, forEachSpan, runProtocolBenchmark } from '../proto-bench.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const SEP = '\x1f';
/** Columns of every generated result set (gen.mjs: id, name, price). */
const COLUMNS = 3;

/** tshark's view of the capture: commands, logins, errors, affected rows, rows, warnings. */
function tsharkDecode(pcap) {
  const fields = ['mysql.command', 'mysql.user', 'mysql.error_code', 'mysql.affected_rows', 'mysql.row.text', 'mysql.row.nullbuffer', '_ws.expert.message'];
  const r = spawnSync(
    'tshark',
    ['-r', pcap, '-Y', 'mysql || _ws.expert.severity >= warning', '-T', 'fields', '-E', 'occurrence=a', '-E', `aggregator=${SEP}`, ...fields.flatMap((f) => ['-e', f])],
    { encoding: 'latin1', maxBuffer: 2 ** 31 - 1, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const c = { ok: r.status === 0, byCommandCode: {}, logins: 0, errorsByCode: {}, affectedRows: 0, textValues: 0, binaryRows: 0, experts: {} };
  const each = (s, f) => {
    if (s) for (const v of s.split(SEP)) f(v);
  };
  for (const line of (r.stdout ?? '').split('\n')) {
    if (!line) continue;
    const [cmd, user, err, affected, text, nullbuf, expert] = line.split('\t');
    each(cmd, (v) => (c.byCommandCode[v] = (c.byCommandCode[v] ?? 0) + 1));
    each(user, () => c.logins++);
    each(err, (v) => (c.errorsByCode[v] = (c.errorsByCode[v] ?? 0) + 1));
    each(affected, (v) => (c.affectedRows += Number(v)));
    each(text, () => c.textValues++);
    each(nullbuf, () => c.binaryRows++);
    each(expert, (v) => (c.experts[v] = (c.experts[v] ?? 0) + 1));
  }
  c.rows = c.textValues / COLUMNS + c.binaryRows;
  return c;
}

/** Spans of an OTLP/JSON lines file, counted the way the truth file counts them. */
async function countSpans(file) {
  const c = { spans: 0, errors: 0, byOperation: {}, byCommand: {}, errorsByCode: {}, rows: 0, affectedRows: 0 };
  const inc = (o, k) => (o[k] = (o[k] ?? 0) + 1);
  await forEachSpan(file, (span) => {
    c.spans++;
    if (span.status?.code === 2) c.errors++;
    for (const kv of span.attributes ?? []) {
      const v = kv.value ?? {};
      switch (kv.key) {
        case 'db.operation.name': inc(c.byOperation, v.stringValue); break;
        case 'spanwire.mysql.command': inc(c.byCommand, v.stringValue); break;
        case 'error.type': inc(c.errorsByCode, v.stringValue); break;
        case 'db.response.returned_rows': c.rows += Number(v.intValue); break;
        case 'spanwire.db.affected_rows': c.affectedRows += Number(v.intValue); break;
      }
    }
  });
  return c;
}

await runProtocolBenchmark(
  {
    name: 'mysql',
    gen: join(HERE, 'gen.mjs'),
    tshark: {
      args: (pcap) => ['-r', pcap, '-Y', 'mysql.command', '-T', 'fields', '-e', 'mysql.command'],
      shown: 'tshark -r F -Y mysql.command -T fields -e mysql.command',
    },
    unit: 'queries',
    unitCount: (t) => t.queries,
    title: 'MySQL benchmark (benchmarks/mysql): ',
    describe: (t, rel, mb, runs) =>
      `Capture: \`${rel}\`: ${fmtInt(t.packets)} packets, ${mb} MB, ${fmtInt(t.connections)} connections ` +
      `(${fmtInt(t.deprecateEofConnections)} with CLIENT_DEPRECATE_EOF, ${fmtInt(t.loginFailures)} failed logins), ` +
      `${fmtInt(t.queries)} queries (COM_QUERY, COM_STMT_PREPARE/EXECUTE, COM_PING, COM_INIT_DB; ${fmtInt(t.spans)} spans with the logins, ` +
      `COM_STMT_CLOSE and COM_QUIT), ${fmtInt(t.rows)} rows, ${fmtInt(t.errors)} ERR packets (benchmarks/mysql/gen.mjs seed ${t.args.seed}). ` +
      `Best of ${runs} runs. Targets: >= 300,000 queries/s and >= 20x tshark.`,
    async check(file, truth, pcap) {
      const ts = tsharkDecode(pcap);
      const tsOk =
        ts.ok && sameCounts(ts.byCommandCode, truth.byCommandCode) && ts.logins === truth.connections && sameCounts(ts.errorsByCode, truth.errorsByCode) &&
        ts.affectedRows === truth.affectedRows && ts.rows === truth.rows && Object.keys(ts.experts).length === 0;
      const tsDetail = tsOk
        ? `tshark decodes the ${fmtInt(truth.connections)} logins, the commands per command byte, the ERR packets per error number, ` +
          `${fmtInt(ts.affectedRows)} affected rows and ${fmtInt(ts.rows)} rows (${fmtInt(ts.binaryRows)} binary) as written, no warnings`
        : `tshark MISMATCH: commands ${JSON.stringify(ts.byCommandCode)} vs ${JSON.stringify(truth.byCommandCode)}, logins ${ts.logins} vs ${truth.connections}, ` +
          `errors ${JSON.stringify(ts.errorsByCode)} vs ${JSON.stringify(truth.errorsByCode)}, affected rows ${ts.affectedRows} vs ${truth.affectedRows}, ` +
          `rows ${ts.rows} vs ${truth.rows}, experts ${JSON.stringify(ts.experts)}` + (ts.ok ? '' : ', tshark failed');

      const c = await countSpans(file);
      const counts = ['byOperation', 'byCommand', 'errorsByCode'].filter((k) => !sameCounts(c[k], truth[k]));
      const sums = ['spans', 'errors', 'rows', 'affectedRows'].filter((k) => c[k] !== truth[k]);
      const swOk = counts.length === 0 && sums.length === 0;
      const swDetail =
        `${fmtInt(c.spans)} spans (${fmtInt(c.errors)} errors), truth ${fmtInt(truth.spans)} (${fmtInt(truth.errors)})` +
        (counts.length === 0 ? '; per operation, command and error number equal' : counts.map((k) => `; ${k} ${JSON.stringify(c[k])} vs truth ${JSON.stringify(truth[k])}`).join('')) +
        (sums.length === 0 ? `; ${fmtInt(c.rows)} returned rows and ${fmtInt(c.affectedRows)} affected rows equal` : sums.map((k) => `; ${k} ${c[k]} vs truth ${truth[k]}`).join(''));
      return { ok: tsOk && swOk, detail: `${swDetail}. ${tsDetail}` };
    },
    targets: (t, sw, ts) => [
      { name: 'target >= 20x tshark', ok: ts / sw >= 20, detail: `${(ts / sw).toFixed(1)}x` },
      { name: 'target >= 300,000 queries/s', ok: t.queries / sw >= 300_000, detail: `${fmtInt(t.queries / sw)} queries/s` },
    ],
  },
  process.argv.slice(2),
);

#!/usr/bin/env node
// DNS replay benchmark: spanwire vs tshark vs tcpdump on the same synthetic DNS capture.
//
//   node benchmarks/dns/run.mjs [--packets N] [--runs R] [--no-record]
//
// 1. Generates benchmarks/out/dns-<N>.pcap (+ .truth.json) with benchmarks/dns/gen.mjs if it is missing
//    or older than gen.mjs.
// 2. Runs each tool R times (default 3) under `/usr/bin/time -f '%e %M'`, stdout to /dev/null:
//      spanwire  node bin/spanwire.js replay F --format otlp-json -o /dev/null
//      tshark    tshark -r F -Y dns -T fields -e dns.qry.name
//      tcpdump   tcpdump -r F -w /dev/null                 (the cost of just reading the file)
//    and reports the best and median wall time, packets/s, MB/s, peak RSS and spanwire/tshark.
// 3. Cross-checks spanwire's output: one more run to a file; spans must equal the truth's answered pairs +
//    unanswered queries (an unanswered query is an ERROR span, error.type no_response or timeout), per
//    question type (spanwire.dns.question.type) and per rcode (spanwire.dns.rcode; "none" if unanswered).
// 4. Prints a markdown table and appends it, dated and titled "DNS benchmark", with the machine's
//    description and load average, to benchmarks/RESULTS.md (unless --no-record or a row failed).
//
// Same method as benchmarks/replay/run.mjs (the HTTP/1 benchmark); both use benchmarks/lib.mjs for
// timing, paths and the RESULTS.md sections.
// Plain Node ESM, no dependencies.

import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync, rmSync, createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUT_DIR, RESULTS, ROOT, SPANWIRE, TIME, createBench, recordResults, sameCounts, spanwireMissing, which } from '../lib.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const GEN = join(HERE, 'gen.mjs');
const { die, log, ensureCapture, measure } = createBench('bench:dns', GEN);

const USAGE =
  'usage: node benchmarks/dns/run.mjs [--packets N] [--runs R] [--no-record]\n' +
  '  --packets N   size of the capture (default 300000)\n' +
  '  --runs R      runs per tool, best and median reported (default 3)\n' +
  '  --no-record   print the table only, do not append to benchmarks/RESULTS.md\n';

function parseArgs(argv) {
  const o = { packets: 300_000, runs: 3, record: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--packets' || a === '--runs') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n <= 0) die(`${a} needs a positive integer\n${USAGE}`);
      if (a === '--packets') o.packets = n;
      else o.runs = n;
    } else if (a === '--no-record') o.record = false;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else die(`unknown argument ${a}\n${USAGE}`);
  }
  return o;
}








/** Counts spans in an OTLP/JSON lines file, per DNS question type and rcode ("none" when unanswered). */
async function countSpans(file) {
  const res = { spans: 0, lines: 0, byQtype: {}, byRcode: {}, unansweredTypes: {} };
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    res.lines++;
    const req = JSON.parse(line);
    for (const rs of req.resourceSpans ?? []) {
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) {
          res.spans++;
          let qtype = '?';
          let rcode = 'none';
          let errorType = '';
          for (const kv of span.attributes ?? []) {
            if (kv.key === 'spanwire.dns.question.type') qtype = String(kv.value?.stringValue);
            else if (kv.key === 'spanwire.dns.rcode') rcode = String(kv.value?.stringValue);
            else if (kv.key === 'error.type') errorType = String(kv.value?.stringValue);
          }
          res.byQtype[qtype] = (res.byQtype[qtype] ?? 0) + 1;
          res.byRcode[rcode] = (res.byRcode[rcode] ?? 0) + 1;
          if (rcode === 'none') res.unansweredTypes[errorType] = (res.unansweredTypes[errorType] ?? 0) + 1;
        }
      }
    }
  }
  return res;
}


const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const fmtS = (s) => s.toFixed(3);

async function main() {
  const opts = parseArgs(process.argv.slice(2));

  const missingTools = [TIME, 'tshark', 'tcpdump'].filter((b) => !which(b));
  if (missingTools.length) die(`missing ${missingTools.join(', ')}: run test/setup-system.sh as root`);

  mkdirSync(OUT_DIR, { recursive: true });
  const pcap = join(OUT_DIR, `dns-${opts.packets}.pcap`);
  const truth = ensureCapture(pcap, ['--packets', String(opts.packets)]);
  const fileBytes = statSync(pcap).size;
  const rel = relative(ROOT, pcap);
  log(`${rel}: ${fmtInt(truth.packets)} packets, ${(fileBytes / 1e6).toFixed(1)} MB, ${fmtInt(truth.queries)} queries`);

  // Warm the page cache so that the first tool measured is not charged for disk reads.
  spawnSync('cat', [pcap], { stdio: ['ignore', 'ignore', 'ignore'] });

  const tools = [
    {
      name: 'spanwire',
      cmd: process.execPath,
      args: [SPANWIRE, 'replay', pcap, '--format', 'otlp-json', '-o', '/dev/null'],
      shown: 'node bin/spanwire.js replay F --format otlp-json -o /dev/null',
      blocked: spanwireMissing(),
    },
    {
      name: 'tshark',
      cmd: 'tshark',
      args: ['-r', pcap, '-Y', 'dns', '-T', 'fields', '-e', 'dns.qry.name'],
      shown: 'tshark -r F -Y dns -T fields -e dns.qry.name',
      blocked: '',
    },
    { name: 'tcpdump', cmd: 'tcpdump', args: ['-r', pcap, '-w', '/dev/null'], shown: 'tcpdump -r F -w /dev/null', blocked: '' },
  ];

  const rows = [];
  for (const t of tools) {
    if (t.blocked) {
      log(`${t.name}: SKIPPED: ${t.blocked}`);
      rows.push({ ...t, ok: false, error: t.blocked });
      continue;
    }
    log(`${t.name}: ${t.shown} (x${opts.runs})`);
    const m = measure(t.cmd, t.args, opts.runs);
    if (!m.ok) log(`${t.name}: FAILED: ${m.error}`);
    rows.push({ ...t, ...m });
  }
  const byName = Object.fromEntries(rows.map((r) => [r.name, r]));

  // Span-count cross-check against the generator's truth.
  const checks = [];
  const sw = byName.spanwire;
  const expected = truth.answered + truth.unanswered;
  const expectedByRcode = { ...truth.responsesByRcode, ...(truth.unanswered ? { none: truth.unanswered } : {}) };
  if (sw.ok) {
    const tmp = join(OUT_DIR, 'dns-spans.otlp.jsonl');
    log('spanwire: cross-check run to a file ...');
    const r = spawnSync(process.execPath, [SPANWIRE, 'replay', pcap, '--format', 'otlp-json', '-o', tmp], {
      stdio: ['ignore', 'ignore', 'pipe'],
      maxBuffer: 64 << 20,
    });
    if (r.status !== 0) {
      checks.push({ name: 'span count = truth', ok: false, detail: `replay exited ${r.status}: ${String(r.stderr).trim().slice(-300)}` });
    } else {
      const c = await countSpans(tmp);
      const okTotal = c.spans === expected;
      const okQtype = sameCounts(c.byQtype, truth.queriesByQtype);
      const okRcode = sameCounts(c.byRcode, expectedByRcode);
      const unanswered = Object.entries(c.unansweredTypes).map(([k, v]) => `${fmtInt(v)} ${k}`).join(', ') || 'none';
      checks.push({
        name: 'span count = truth',
        ok: okTotal && okQtype && okRcode,
        detail:
          `${fmtInt(c.spans)} spans in ${c.lines} OTLP lines, truth ${fmtInt(truth.answered)} answered + ` +
          `${fmtInt(truth.unanswered)} unanswered = ${fmtInt(expected)} (unanswered spans: ${unanswered})` +
          (okQtype ? '; per qtype equal' : `; by qtype ${JSON.stringify(c.byQtype)} vs truth ${JSON.stringify(truth.queriesByQtype)}`) +
          (okRcode ? '; per rcode equal' : `; by rcode ${JSON.stringify(c.byRcode)} vs truth ${JSON.stringify(expectedByRcode)}`),
      });
    }
    rmSync(tmp, { force: true });
  } else {
    checks.push({ name: 'span count = truth', ok: false, detail: `not run: ${sw.error}` });
  }

  // ---- table
  const tsh = byName.tshark;
  const lines = [];
  const rc = truth.responsesByRcode;
  lines.push(
    `Capture: \`${rel}\`: ${fmtInt(truth.packets)} packets, ${(fileBytes / 1e6).toFixed(1)} MB, ` +
      `${fmtInt(truth.queries)} DNS queries from ${fmtInt(truth.clients)} client sockets to ${truth.resolvers} resolvers ` +
      `(${fmtInt(truth.tcpQueries)} over ${fmtInt(truth.tcpConnections)} TCP connections), ${fmtInt(truth.answered)} answered ` +
      `(NXDOMAIN ${fmtInt(rc.NXDOMAIN ?? 0)}, SERVFAIL ${fmtInt(rc.SERVFAIL ?? 0)}), ${fmtInt(truth.unanswered)} unanswered ` +
      `(benchmarks/dns/gen.mjs seed ${truth.args.seed}). Best of ${opts.runs} runs.`,
  );
  lines.push('');
  lines.push('| tool | command | best s | median s | packets/s | MB/s | peak RSS MB | throughput vs tshark |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    if (!r.ok) {
      lines.push(`| ${r.name} | \`${r.shown}\` | FAILED: ${r.error.replace(/\|/g, '\\|')} | | | | | |`);
      continue;
    }
    const vs = tsh.ok ? `${(tsh.best / r.best).toFixed(1)}x` : 'n/a';
    lines.push(
      `| ${r.name} | \`${r.shown}\` | ${fmtS(r.best)} | ${fmtS(r.median)} | ${fmtInt(truth.packets / r.best)} | ` +
        `${(fileBytes / 1e6 / r.best).toFixed(1)} | ${(r.rssKB / 1024).toFixed(0)} | ${vs} |`,
    );
  }
  lines.push('');
  for (const c of checks) lines.push(`- ${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);
  const table = lines.join('\n');
  process.stdout.write(`\n${table}\n\n`);

  const failed = rows.some((r) => !r.ok);
  if (!opts.record) {
    log('not recorded (--no-record)');
  } else if (failed) {
    log('not recorded in benchmarks/RESULTS.md: a row failed (fix it and run again)');
  } else {
    recordResults('DNS benchmark (benchmarks/dns): ', table, '# Benchmark results\n');
    log(`appended to ${relative(ROOT, RESULTS)}`);
  }
  process.exitCode = failed || checks.some((c) => !c.ok) ? 1 : 0;
}




main().catch((e) => {
  process.stderr.write(`bench:dns: ${e.stack ?? e}\n`);
  process.exit(1);
});

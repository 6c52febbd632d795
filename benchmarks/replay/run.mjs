#!/usr/bin/env node
// Replay benchmark: spanwire vs tshark vs tcpdump on the same synthetic HTTP/1.1 capture.
//
//   npm run bench:replay -- [--packets N] [--big] [--runs R] [--no-record]
//   node benchmarks/replay/run.mjs [--packets N] [--big] [--runs R] [--no-record]
//
// 1. Generates benchmarks/out/http1-<N>.pcap (+ .truth.json) with gen.mjs if it is missing
//    or older than gen.mjs.
// 2. Runs each tool R times (default 3) under `/usr/bin/time -f '%e %M'`, stdout to /dev/null:
//      spanwire  node bin/spanwire.js replay F --format otlp-json -o /dev/null
//      tshark    tshark -r F -Y http.request -T fields -e http.request.method
//      tcpdump   tcpdump -r F -w /dev/null                 (the cost of just reading the file)
//    and reports the best and median wall time, packets/s, MB/s, peak RSS and spanwire/tshark.
// 3. Cross-checks spanwire's output: one more run to a file, spans counted per method and status code
//    must equal the generator's truth file.
// 4. With --big: generates a ~1 GB capture and records spanwire's peak RSS on it (target < 250 MB).
// 5. Prints a markdown table and appends it, dated, with the machine's description, to
//    benchmarks/RESULTS.md (unless --no-record, or a row failed: partial results are not recorded).
//
// Wall time is measured with process.hrtime around the `time` process (finer than time's 10 ms %e);
// peak RSS is time's %M. Plain Node ESM, no dependencies.

import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync, rmSync, createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUT_DIR, RESULTS, ROOT, SPANWIRE, TIME, createBench, recordResults, sameCounts, spanwireMissing, which } from '../lib.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const GEN = join(HERE, 'gen.mjs');
const { die, log, ensureCapture, measure } = createBench('bench:replay', GEN);

const TARGET_PPS = 1_000_000;
const TARGET_VS_TSHARK = 25;
const TARGET_RSS_MB = 250;

const USAGE =
  'usage: node benchmarks/replay/run.mjs [--packets N] [--big] [--runs R] [--no-record]\n' +
  '  --packets N   size of the main capture (default 300000)\n' +
  '  --big         also generate a ~1 GB capture and measure spanwire\'s peak RSS on it\n' +
  '  --runs R      runs per tool, best and median reported (default 3)\n' +
  '  --no-record   print the table only, do not append to benchmarks/RESULTS.md\n';

function parseArgs(argv) {
  const o = { packets: 300_000, big: false, runs: 3, record: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--packets' || a === '--runs') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n <= 0) die(`${a} needs a positive integer\n${USAGE}`);
      if (a === '--packets') o.packets = n;
      else o.runs = n;
    } else if (a === '--big') o.big = true;
    else if (a === '--no-record') o.record = false;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else die(`unknown argument ${a}\n${USAGE}`);
  }
  return o;
}








/** Counts spans in an OTLP/JSON lines file, per http.request.method and http.response.status_code. */
async function countSpans(file) {
  const res = { spans: 0, lines: 0, byMethod: {}, byStatus: {} };
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    res.lines++;
    const req = JSON.parse(line);
    for (const rs of req.resourceSpans ?? []) {
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) {
          res.spans++;
          let method = '?';
          let status = '?';
          for (const kv of span.attributes ?? []) {
            if (kv.key === 'http.request.method') method = String(kv.value?.stringValue);
            else if (kv.key === 'http.response.status_code') status = String(Number(kv.value?.intValue ?? kv.value?.doubleValue));
          }
          res.byMethod[method] = (res.byMethod[method] ?? 0) + 1;
          res.byStatus[status] = (res.byStatus[status] ?? 0) + 1;
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
  const pcap = join(OUT_DIR, `http1-${opts.packets}.pcap`);
  const truth = ensureCapture(pcap, ['--packets', String(opts.packets)]);
  const fileBytes = statSync(pcap).size;
  const rel = relative(ROOT, pcap);
  log(`${rel}: ${fmtInt(truth.packets)} packets, ${(fileBytes / 1e6).toFixed(1)} MB, ${fmtInt(truth.exchanges)} exchanges`);

  // Warm the page cache so that the first tool measured is not charged for disk reads.
  spawnSync('cat', [pcap], { stdio: ['ignore', 'ignore', 'ignore'] });

  const tools = [
    {
      name: 'spanwire',
      cmd: process.execPath,
      args: [SPANWIRE, 'replay', pcap, '--format', 'otlp-json', '-o', '/dev/null'],
      shown: `node bin/spanwire.js replay F --format otlp-json -o /dev/null`,
      blocked: spanwireMissing(),
    },
    {
      name: 'tshark',
      cmd: 'tshark',
      args: ['-r', pcap, '-Y', 'http.request', '-T', 'fields', '-e', 'http.request.method'],
      shown: 'tshark -r F -Y http.request -T fields -e http.request.method',
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
  if (sw.ok) {
    const tmp = join(OUT_DIR, 'spans.otlp.jsonl');
    log('spanwire: cross-check run to a file ...');
    const r = spawnSync(process.execPath, [SPANWIRE, 'replay', pcap, '--format', 'otlp-json', '-o', tmp], {
      stdio: ['ignore', 'ignore', 'pipe'],
      maxBuffer: 64 << 20,
    });
    if (r.status !== 0) {
      checks.push({ name: 'span count = truth', ok: false, detail: `replay exited ${r.status}: ${String(r.stderr).trim().slice(-300)}` });
    } else {
      const c = await countSpans(tmp);
      const okTotal = c.spans === truth.exchanges;
      const okMethod = sameCounts(c.byMethod, truth.requestsByMethod);
      const okStatus = sameCounts(c.byStatus, truth.responsesByStatus);
      checks.push({
        name: 'span count = truth',
        ok: okTotal && okMethod && okStatus,
        detail:
          `${fmtInt(c.spans)} spans in ${c.lines} OTLP lines, truth ${fmtInt(truth.exchanges)} exchanges` +
          (okMethod ? '' : `; by method ${JSON.stringify(c.byMethod)} vs truth ${JSON.stringify(truth.requestsByMethod)}`) +
          (okStatus ? '' : `; by status ${JSON.stringify(c.byStatus)} vs truth ${JSON.stringify(truth.responsesByStatus)}`),
      });
    }
    rmSync(tmp, { force: true });
  } else {
    checks.push({ name: 'span count = truth', ok: false, detail: `not run: ${sw.error}` });
  }

  // Peak RSS on ~1 GB.
  let bigRow = null;
  if (opts.big) {
    const bigPcap = join(OUT_DIR, 'http1-1gb.pcap');
    const bigTruth = ensureCapture(bigPcap, ['--size-gb', '1']);
    const bigBytes = statSync(bigPcap).size;
    if (sw.blocked) {
      bigRow = { ok: false, error: sw.blocked };
    } else {
      log(`spanwire on ${relative(ROOT, bigPcap)} (${(bigBytes / 1e9).toFixed(2)} GB), 1 run`);
      spawnSync('cat', [bigPcap], { stdio: ['ignore', 'ignore', 'ignore'] });
      const m = measure(process.execPath, [SPANWIRE, 'replay', bigPcap, '--format', 'otlp-json', '-o', '/dev/null'], 1);
      bigRow = { ...m, packets: bigTruth.packets, bytes: bigBytes };
    }
    const rssMB = bigRow.ok ? bigRow.rssKB / 1024 : NaN;
    checks.push({
      name: `peak RSS on 1 GB < ${TARGET_RSS_MB} MB`,
      ok: bigRow.ok && rssMB < TARGET_RSS_MB,
      detail: bigRow.ok ? `${rssMB.toFixed(0)} MB` : `not run: ${bigRow.error}`,
    });
  }

  // ---- table
  const tsh = byName.tshark;
  const lines = [];
  lines.push(`Capture: \`${rel}\`: ${fmtInt(truth.packets)} packets, ${(fileBytes / 1e6).toFixed(1)} MB, ` +
    `${fmtInt(truth.connections)} connections, ${fmtInt(truth.exchanges)} HTTP/1.1 exchanges (gen.mjs seed ${truth.args.seed}). ` +
    `Best of ${opts.runs} runs.`);
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
  if (bigRow) {
    if (bigRow.ok) {
      lines.push(
        `| spanwire, 1 GB file | \`node bin/spanwire.js replay http1-1gb.pcap --format otlp-json -o /dev/null\` | ` +
          `${fmtS(bigRow.best)} | ${fmtS(bigRow.median)} | ${fmtInt(bigRow.packets / bigRow.best)} | ` +
          `${(bigRow.bytes / 1e6 / bigRow.best).toFixed(1)} | ${(bigRow.rssKB / 1024).toFixed(0)} | |`,
      );
    } else lines.push(`| spanwire, 1 GB file | | FAILED: ${bigRow.error} | | | | | |`);
  }
  lines.push('');
  if (sw.ok) {
    const pps = truth.packets / sw.best;
    checks.unshift({ name: `>= ${fmtInt(TARGET_PPS)} packets/s`, ok: pps >= TARGET_PPS, detail: `${fmtInt(pps)} packets/s` });
    if (tsh.ok) {
      const x = tsh.best / sw.best;
      checks.splice(1, 0, { name: `>= ${TARGET_VS_TSHARK}x tshark`, ok: x >= TARGET_VS_TSHARK, detail: `${x.toFixed(1)}x` });
    }
  }
  for (const c of checks) lines.push(`- ${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);
  const table = lines.join('\n');
  process.stdout.write(`\n${table}\n\n`);

  const failed = rows.some((r) => !r.ok) || (bigRow && !bigRow.ok);
  if (!opts.record) {
    log('not recorded (--no-record)');
  } else if (failed) {
    log('not recorded in benchmarks/RESULTS.md: a row failed (fix it and run again)');
  } else {
    recordResults('', table, RESULTS_HEADER);
    log(`appended to ${relative(ROOT, RESULTS)}`);
  }
  process.exitCode = failed || checks.some((c) => !c.ok && c.name.startsWith('span count')) ? 1 : 0;
}




const RESULTS_HEADER = `# Benchmark results

Appended by \`npm run bench:replay\` (\`benchmarks/replay/run.mjs\`); see \`benchmarks/README.md\` for what is measured.
Newest section last. Do not edit old sections: run the benchmark again.

Targets for \`spanwire replay\` (pcap file -> OTLP/JSON spans, HTTP/1.1 traffic from \`benchmarks/replay/gen.mjs\`):
- throughput >= 1,000,000 packets/s on the default 300,000-packet capture;
- >= 25x the throughput of \`tshark -r F -Y http.request -T fields -e http.request.method\` on the same file;
- peak RSS < 250 MB on a 1 GB capture (\`--big\`): memory must not grow with the file;
- and always: the spans written equal the generator's truth file, per method and per status code.

\`tcpdump -r F -w /dev/null\` is the floor: the cost of reading the file with libpcap and doing nothing.
`;

main().catch((e) => {
  process.stderr.write(`bench:replay: ${e.stack ?? e}\n`);
  process.exit(1);
});

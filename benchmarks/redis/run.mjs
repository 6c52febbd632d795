#!/usr/bin/env node
// Redis replay benchmark: spanwire vs tshark vs tcpdump on the same synthetic RESP capture.
//
//   node benchmarks/redis/run.mjs [--packets N] [--runs R] [--no-record]      (npm run bench:redis)
//
// 1. Generates benchmarks/out/redis-<N>.pcap (+ .truth.json) with benchmarks/redis/gen.mjs if missing or
//    older than gen.mjs (pipelined commands on many connections; see gen.mjs).
// 2. Runs each tool R times (default 3) under `/usr/bin/time -f '%e %M'`, stdout to /dev/null:
//      spanwire  node bin/spanwire.js replay F --format otlp-json -o /dev/null
//      tshark    tshark -r F -d tcp.port==6379,resp -Y 'resp && tcp.dstport==6379' -T fields -e resp.array.length
//      tcpdump   tcpdump -r F -w /dev/null
//    and reports the best and median wall time, packets/s, commands/s, peak RSS and spanwire/tshark.
// 3. Checks: spanwire's spans equal the truth's commands, per command name and error replies. Targets:
//    >= 500,000 commands/s and >= 20x tshark.
// 4. Prints a markdown table and appends it, dated, to benchmarks/RESULTS.md (unless --no-record or a row failed).
//
// Same method as benchmarks/http2/run.mjs (benchmarks/lib.mjs).

import { spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUT_DIR, RESULTS, ROOT, SPANWIRE, TIME, createBench, recordResults, sameCounts, spanwireMissing, which } from '../lib.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const { die, log, ensureCapture, measure } = createBench('bench:redis', join(HERE, 'gen.mjs'));
const USAGE = 'usage: node benchmarks/redis/run.mjs [--packets N] [--runs R] [--no-record]\n';
const fmtInt = (n) => Math.round(n).toLocaleString('en-US');

function parseArgs(argv) {
  const o = { packets: 300_000, runs: 3, record: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--packets' || a === '--runs') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n <= 0) die(`${a} needs a positive integer\n${USAGE}`);
      o[a.slice(2)] = n;
    } else if (a === '--no-record') o.record = false;
    else die(`unknown argument ${a}\n${USAGE}`);
  }
  return o;
}

/** Spans in an OTLP/JSON lines file, per db.operation.name, and error spans. */
async function countSpans(file) {
  const res = { spans: 0, errors: 0, byCommand: {} };
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    for (const rs of JSON.parse(line).resourceSpans ?? []) {
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) {
          res.spans++;
          if (span.status?.code === 2) res.errors++;
          const op = span.attributes?.find((kv) => kv.key === 'db.operation.name')?.value.stringValue ?? '?';
          res.byCommand[op] = (res.byCommand[op] ?? 0) + 1;
        }
      }
    }
  }
  return res;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const missing = [TIME, 'tshark', 'tcpdump'].filter((b) => !which(b));
  if (missing.length) die(`missing ${missing.join(', ')}: run test/setup-system.sh as root`);
  if (spanwireMissing()) die(spanwireMissing());
  mkdirSync(OUT_DIR, { recursive: true });
  const pcap = join(OUT_DIR, `redis-${opts.packets}.pcap`);
  const truth = ensureCapture(pcap, ['--packets', String(opts.packets)]);
  const fileBytes = statSync(pcap).size;
  const rel = relative(ROOT, pcap);
  log(`${rel}: ${fmtInt(truth.packets)} packets, ${(fileBytes / 1e6).toFixed(1)} MB, ${fmtInt(truth.commands)} commands`);
  spawnSync('cat', [pcap], { stdio: 'ignore' });

  const tsharkArgs = ['-r', pcap, '-d', 'tcp.port==6379,resp', '-Y', 'resp && tcp.dstport==6379', '-T', 'fields', '-e', 'resp.array.length'];
  const tools = [
    { name: 'spanwire', cmd: process.execPath, args: [SPANWIRE, 'replay', pcap, '--format', 'otlp-json', '-o', '/dev/null'], shown: 'node bin/spanwire.js replay F --format otlp-json -o /dev/null' },
    { name: 'tshark', cmd: 'tshark', args: tsharkArgs, shown: "tshark -r F -d tcp.port==6379,resp -Y 'resp && tcp.dstport==6379' -T fields -e resp.array.length" },
    { name: 'tcpdump', cmd: 'tcpdump', args: ['-r', pcap, '-w', '/dev/null'], shown: 'tcpdump -r F -w /dev/null' },
  ];
  const rows = [];
  for (const t of tools) {
    log(`${t.name}: ${t.shown} (x${opts.runs})`);
    const m = measure(t.cmd, t.args, opts.runs);
    if (!m.ok) log(`${t.name}: FAILED: ${m.error}`);
    rows.push({ ...t, ...m });
  }
  const by = Object.fromEntries(rows.map((r) => [r.name, r]));

  const checks = [];
  const tmp = join(OUT_DIR, 'redis-spans.otlp.jsonl');
  const r = spawnSync(process.execPath, [SPANWIRE, 'replay', pcap, '--format', 'otlp-json', '-o', tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) {
    checks.push({ name: 'span count = truth', ok: false, detail: `replay exited ${r.status}` });
  } else {
    const c = await countSpans(tmp);
    const ok = c.spans === truth.commands && c.errors === truth.errors && sameCounts(c.byCommand, truth.byCommand);
    checks.push({
      name: 'span count = truth',
      ok,
      detail: `${fmtInt(c.spans)} spans (${fmtInt(c.errors)} errors), truth ${fmtInt(truth.commands)} commands (${fmtInt(truth.errors)} error replies)` + (ok ? '; per command equal' : `; by command ${JSON.stringify(c.byCommand)} vs ${JSON.stringify(truth.byCommand)}`),
    });
  }
  rmSync(tmp, { force: true });

  const tsh = by.tshark;
  const lines = [
    `Capture: \`${rel}\`: ${fmtInt(truth.packets)} packets, ${(fileBytes / 1e6).toFixed(1)} MB, ${fmtInt(truth.connections)} connections, ` +
      `${fmtInt(truth.commands)} commands in pipelines of 1-40 (benchmarks/redis/gen.mjs seed ${truth.args.seed}). Best of ${opts.runs} runs. ` +
      'Targets: >= 500,000 commands/s and >= 20x tshark.',
    '',
    '| tool | command | best s | median s | packets/s | commands/s | peak RSS MB | throughput vs tshark |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    if (!row.ok) {
      lines.push(`| ${row.name} | \`${row.shown}\` | FAILED: ${row.error.replace(/\|/g, '\\|')} | | | | | |`);
      continue;
    }
    const vs = tsh.ok ? `${(tsh.best / row.best).toFixed(1)}x` : 'n/a';
    lines.push(
      `| ${row.name} | \`${row.shown}\` | ${row.best.toFixed(3)} | ${row.median.toFixed(3)} | ${fmtInt(truth.packets / row.best)} | ${fmtInt(truth.commands / row.best)} | ${(row.rssKB / 1024).toFixed(0)} | ${vs} |`,
    );
  }
  lines.push('');
  if (by.spanwire.ok && tsh.ok) {
    const x = tsh.best / by.spanwire.best;
    const cps = truth.commands / by.spanwire.best;
    checks.push({ name: 'target >= 20x tshark', ok: x >= 20, detail: `${x.toFixed(1)}x` });
    checks.push({ name: 'target >= 500,000 commands/s', ok: cps >= 500_000, detail: `${fmtInt(cps)} commands/s` });
  }
  for (const c of checks) lines.push(`- ${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);
  const table = lines.join('\n');
  process.stdout.write(`\n${table}\n\n`);
  const failed = rows.some((x) => !x.ok);
  if (opts.record && !failed) {
    recordResults('Redis benchmark (benchmarks/redis): ', table, '# Benchmark results\n');
    log(`appended to ${relative(ROOT, RESULTS)}`);
  }
  process.exitCode = failed || checks.some((c) => !c.ok) ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`bench:redis: ${e.stack ?? e}\n`);
  process.exit(1);
});

/**
 * The shared runner of the per-protocol replay benchmarks (benchmarks/http2, benchmarks/redis): one
 * generated capture, spanwire vs tshark vs tcpdump on it under /usr/bin/time, a span check against the
 * generator's truth file, targets, a markdown table printed and appended to RESULTS.md.
 * Same method as benchmarks/replay and benchmarks/dns (benchmarks/lib.mjs).
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join, relative } from 'node:path';
import { OUT_DIR, RESULTS, ROOT, SPANWIRE, TIME, createBench, recordResults, spanwireMissing, which } from './lib.mjs';

export const fmtInt = (n) => Math.round(n).toLocaleString('en-US');

/** Calls `visit(span)` for every span of an OTLP/JSON lines file. */
export async function forEachSpan(file, visit) {
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    for (const rs of JSON.parse(line).resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) visit(span);
  }
}

/**
 * Runs one benchmark. `b`: { name ('http2'), gen (path of gen.mjs), tshark: { args(pcap), shown },
 * unit (streams), unitCount(truth), describe(truth, rel, mb, runs) -> capture line, check(spansFile, truth, pcap)
 * -> async { ok, detail }, targets(truth, spanwireBest, tsharkBest) -> [{ name, ok, detail }], title }.
 */
export async function runProtocolBenchmark(b, argv) {
  const { die, log, ensureCapture, measure } = createBench(`bench:${b.name}`, b.gen);
  const usage = `usage: node benchmarks/${b.name}/run.mjs [--packets N] [--runs R] [--no-record]\n`;
  const opts = { packets: 300_000, runs: 3, record: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--packets' || a === '--runs') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n <= 0) die(`${a} needs a positive integer\n${usage}`);
      opts[a.slice(2)] = n;
    } else if (a === '--no-record') opts.record = false;
    else die(`unknown argument ${a}\n${usage}`);
  }
  const missing = [TIME, 'tshark', 'tcpdump'].filter((x) => !which(x));
  if (missing.length) die(`missing ${missing.join(', ')}: run test/setup-system.sh as root`);
  if (spanwireMissing()) die(spanwireMissing());
  mkdirSync(OUT_DIR, { recursive: true });
  const pcap = join(OUT_DIR, `${b.name}-${opts.packets}.pcap`);
  const truth = ensureCapture(pcap, ['--packets', String(opts.packets)]);
  const fileBytes = statSync(pcap).size;
  const rel = relative(ROOT, pcap);
  log(`${rel}: ${fmtInt(truth.packets)} packets, ${(fileBytes / 1e6).toFixed(1)} MB, ${fmtInt(b.unitCount(truth))} ${b.unit}`);
  spawnSync('cat', [pcap], { stdio: 'ignore' }); // warm the page cache

  const tools = [
    { name: 'spanwire', cmd: process.execPath, args: [SPANWIRE, 'replay', pcap, '--format', 'otlp-json', '-o', '/dev/null'], shown: 'node bin/spanwire.js replay F --format otlp-json -o /dev/null' },
    { name: 'tshark', cmd: 'tshark', args: b.tshark.args(pcap), shown: b.tshark.shown },
    { name: 'tcpdump', cmd: 'tcpdump', args: ['-r', pcap, '-w', '/dev/null'], shown: 'tcpdump -r F -w /dev/null' },
  ];
  const rows = [];
  for (const t of tools) {
    log(`${t.name}: ${t.shown} (x${opts.runs})`);
    const m = measure(t.cmd, t.args, opts.runs);
    if (!m.ok) log(`${t.name}: FAILED: ${m.error}`);
    rows.push({ ...t, ...m });
  }
  const [sw, tsh] = rows;

  const checks = [];
  const tmp = join(OUT_DIR, `${b.name}-spans.otlp.jsonl`);
  const r = spawnSync(process.execPath, [SPANWIRE, 'replay', pcap, '--format', 'otlp-json', '-o', tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) checks.push({ name: 'span count = truth', ok: false, detail: `replay exited ${r.status}` });
  else checks.push({ name: 'span count = truth', ...(await b.check(tmp, truth, pcap)) });
  rmSync(tmp, { force: true });
  if (sw.ok && tsh.ok) checks.push(...b.targets(truth, sw.best, tsh.best));

  const lines = [
    `${b.describe(truth, rel, (fileBytes / 1e6).toFixed(1), opts.runs)}`,
    '',
    `| tool | command | best s | median s | packets/s | ${b.unit}/s | peak RSS MB | throughput vs tshark |`,
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    if (!row.ok) {
      lines.push(`| ${row.name} | \`${row.shown}\` | FAILED: ${row.error.replace(/\|/g, '\\|')} | | | | | |`);
      continue;
    }
    const vs = tsh.ok ? `${(tsh.best / row.best).toFixed(1)}x` : 'n/a';
    lines.push(
      `| ${row.name} | \`${row.shown}\` | ${row.best.toFixed(3)} | ${row.median.toFixed(3)} | ${fmtInt(truth.packets / row.best)} | ${fmtInt(b.unitCount(truth) / row.best)} | ${(row.rssKB / 1024).toFixed(0)} | ${vs} |`,
    );
  }
  lines.push('');
  for (const c of checks) lines.push(`- ${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);
  const table = lines.join('\n');
  process.stdout.write(`\n${table}\n\n`);
  const failed = rows.some((x) => !x.ok);
  if (opts.record && !failed) {
    recordResults(b.title, table, '# Benchmark results\n');
    log(`appended to ${relative(ROOT, RESULTS)}`);
  }
  process.exitCode = failed || checks.some((c) => !c.ok) ? 1 : 0;
}

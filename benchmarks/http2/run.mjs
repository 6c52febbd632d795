#!/usr/bin/env node
// HTTP/2 + gRPC replay benchmark: spanwire vs tshark vs tcpdump on the same synthetic h2c capture.
//
//   node benchmarks/http2/run.mjs [--packets N] [--runs R] [--no-record]      (npm run bench:http2)
//
// 1. Generates benchmarks/out/http2-<N>.pcap (+ .truth.json) with benchmarks/http2/gen.mjs if missing or
//    older than gen.mjs (many concurrent streams per connection, gRPC and plain HTTP/2; see gen.mjs).
// 2. Runs each tool R times (default 3) under `/usr/bin/time -f '%e %M'`, stdout to /dev/null:
//      spanwire  node bin/spanwire.js replay F --format otlp-json -o /dev/null
//      tshark    tshark -r F -d tcp.port==8080,http2 -d tcp.port==50051,http2 -Y http2.type==1 -T fields -e http2.headers.method
//      tcpdump   tcpdump -r F -w /dev/null                 (the cost of just reading the file)
//    and reports the best and median wall time, packets/s, streams/s, peak RSS and spanwire/tshark.
// 3. Checks: tshark finds exactly the truth's streams (request HEADERS with a :method), so the capture is
//    valid HTTP/2 for an independent decoder; spanwire's spans equal the truth's streams, per HTTP status
//    ("none" for streams reset before a response) and per gRPC status.
// 4. Prints a markdown table and appends it, dated, to benchmarks/RESULTS.md (unless --no-record or a row failed).
//
// Same method as benchmarks/dns/run.mjs and benchmarks/replay/run.mjs (benchmarks/lib.mjs).

import { spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUT_DIR, RESULTS, ROOT, SPANWIRE, TIME, createBench, recordResults, sameCounts, spanwireMissing, which } from '../lib.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const { die, log, ensureCapture, measure } = createBench('bench:http2', join(HERE, 'gen.mjs'));
const USAGE = 'usage: node benchmarks/http2/run.mjs [--packets N] [--runs R] [--no-record]\n';
const GRPC_NAMES = { 0: 'OK', 5: 'NOT_FOUND', 14: 'UNAVAILABLE' };
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

/** Spans in an OTLP/JSON lines file, per HTTP status ("none" without one) and per gRPC status. */
async function countSpans(file) {
  const res = { spans: 0, byStatus: {}, byGrpcStatus: {} };
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    for (const rs of JSON.parse(line).resourceSpans ?? []) {
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) {
          res.spans++;
          let status = 'none';
          let grpc = '';
          for (const kv of span.attributes ?? []) {
            if (kv.key === 'http.response.status_code') status = String(kv.value.intValue);
            else if (kv.key === 'rpc.response.status_code') grpc = kv.value.stringValue;
          }
          res.byStatus[status] = (res.byStatus[status] ?? 0) + 1;
          if (grpc) res.byGrpcStatus[grpc] = (res.byGrpcStatus[grpc] ?? 0) + 1;
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
  const pcap = join(OUT_DIR, `http2-${opts.packets}.pcap`);
  const truth = ensureCapture(pcap, ['--packets', String(opts.packets)]);
  const fileBytes = statSync(pcap).size;
  const rel = relative(ROOT, pcap);
  log(`${rel}: ${fmtInt(truth.packets)} packets, ${(fileBytes / 1e6).toFixed(1)} MB, ${fmtInt(truth.streams)} streams`);
  spawnSync('cat', [pcap], { stdio: 'ignore' });

  const tsharkArgs = ['-r', pcap, '-d', 'tcp.port==8080,http2', '-d', 'tcp.port==50051,http2', '-Y', 'http2.type==1', '-T', 'fields', '-e', 'http2.headers.method'];
  const tools = [
    { name: 'spanwire', cmd: process.execPath, args: [SPANWIRE, 'replay', pcap, '--format', 'otlp-json', '-o', '/dev/null'], shown: 'node bin/spanwire.js replay F --format otlp-json -o /dev/null' },
    { name: 'tshark', cmd: 'tshark', args: tsharkArgs, shown: 'tshark -r F -d tcp.port==8080,http2 -d tcp.port==50051,http2 -Y http2.type==1 -T fields -e http2.headers.method' },
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
  // tshark, an independent HPACK decoder, must see every request the generator wrote.
  const ts = spawnSync('tshark', tsharkArgs, { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  const tsRequests = ts.stdout.split('\n').reduce((n, l) => n + (l ? l.split(',').filter((m) => m === 'GET' || m === 'POST').length : 0), 0);
  checks.push({ name: 'tshark decodes every request', ok: tsRequests === truth.streams, detail: `${fmtInt(tsRequests)} request header blocks, truth ${fmtInt(truth.streams)}` });
  const tmp = join(OUT_DIR, 'http2-spans.otlp.jsonl');
  const r = spawnSync(process.execPath, [SPANWIRE, 'replay', pcap, '--format', 'otlp-json', '-o', tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) {
    checks.push({ name: 'span count = truth', ok: false, detail: `replay exited ${r.status}` });
  } else {
    const c = await countSpans(tmp);
    const grpcTruth = Object.fromEntries(Object.entries(truth.byGrpcStatus).map(([k, v]) => [GRPC_NAMES[k], v]));
    const ok = c.spans === truth.streams && sameCounts(c.byStatus, truth.byStatus) && sameCounts(c.byGrpcStatus, grpcTruth);
    checks.push({
      name: 'span count = truth',
      ok,
      detail: `${fmtInt(c.spans)} spans, truth ${fmtInt(truth.streams)} streams (${fmtInt(truth.resets)} reset by the client)` + (ok ? '; per HTTP and gRPC status equal' : `; by status ${JSON.stringify(c.byStatus)} vs ${JSON.stringify(truth.byStatus)}; gRPC ${JSON.stringify(c.byGrpcStatus)} vs ${JSON.stringify(grpcTruth)}`),
    });
  }
  rmSync(tmp, { force: true });

  const tsh = by.tshark;
  const lines = [
    `Capture: \`${rel}\`: ${fmtInt(truth.packets)} packets, ${(fileBytes / 1e6).toFixed(1)} MB, ${fmtInt(truth.connections)} h2c connections, ` +
      `${fmtInt(truth.streams)} streams (${fmtInt(truth.grpcCalls)} gRPC calls), up to ${truth.maxConcurrentStreams} concurrent streams per connection ` +
      `(benchmarks/http2/gen.mjs seed ${truth.args.seed}). Best of ${opts.runs} runs. Target: HTTP/2 + gRPC replay >= 15x tshark.`,
    '',
    '| tool | command | best s | median s | packets/s | streams/s | peak RSS MB | throughput vs tshark |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    if (!row.ok) {
      lines.push(`| ${row.name} | \`${row.shown}\` | FAILED: ${row.error.replace(/\|/g, '\\|')} | | | | | |`);
      continue;
    }
    const vs = tsh.ok ? `${(tsh.best / row.best).toFixed(1)}x` : 'n/a';
    lines.push(
      `| ${row.name} | \`${row.shown}\` | ${row.best.toFixed(3)} | ${row.median.toFixed(3)} | ${fmtInt(truth.packets / row.best)} | ${fmtInt(truth.streams / row.best)} | ${(row.rssKB / 1024).toFixed(0)} | ${vs} |`,
    );
  }
  lines.push('');
  if (by.spanwire.ok && tsh.ok) {
    const x = tsh.best / by.spanwire.best;
    checks.push({ name: 'target >= 15x tshark', ok: x >= 15, detail: `${x.toFixed(1)}x` });
  }
  for (const c of checks) lines.push(`- ${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);
  const table = lines.join('\n');
  process.stdout.write(`\n${table}\n\n`);
  const failed = rows.some((x) => !x.ok);
  if (opts.record && !failed) {
    recordResults('HTTP/2 + gRPC benchmark (benchmarks/http2): ', table, '# Benchmark results\n');
    log(`appended to ${relative(ROOT, RESULTS)}`);
  }
  process.exitCode = failed || checks.some((c) => !c.ok) ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`bench:http2: ${e.stack ?? e}\n`);
  process.exit(1);
});

#!/usr/bin/env node
// Dubbo replay benchmark: spanwire vs tshark vs tcpdump on the same synthetic Dubbo 2 capture.
//
//   node benchmarks/dubbo/run.mjs [--packets N] [--runs R] [--no-record]      (npm run bench:dubbo)
//
// 1. Generates benchmarks/out/dubbo-<N>.pcap (+ .truth.json) with benchmarks/dubbo/gen.mjs if missing or
//    older than gen.mjs (multiplexed Hessian2 / Kryo calls and heartbeats on many connections; see gen.mjs).
// 2. Runs each tool R times (default 3) under `/usr/bin/time -f '%e %M'`, stdout to /dev/null:
//      spanwire  node bin/spanwire.js replay F --format otlp-json -o /dev/null
//      tshark    tshark -r F -Y 'tcp.len>0' -T fields -e tcp.stream
//      tcpdump   tcpdump -r F -w /dev/null
//    tshark 4.0 has no Dubbo dissector: its row is tshark decoding TCP only (every segment with data, its
//    stream index), a peer that does less work than a Dubbo parse, not a like-for-like comparison; tcpdump
//    is the floor of reading the file. Reports the best and median wall time, packets/s, messages/s, peak RSS.
// 3. Checks: spanwire's spans equal the truth's calls (one-way calls included, heartbeats not), per
//    rpc.method, and its error spans the truth's errors (non-OK statuses and exceptions).
//    Target: >= 300,000 messages/s (every Dubbo message on the wire: requests, responses, heartbeats).
// 4. Prints a markdown table and appends it, dated, to benchmarks/RESULTS.md (unless --no-record or a row failed).
// The common part is benchmarks/proto-bench.mjs.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sameCounts } from '../lib.mjs';
import { fmtInt, forEachSpan, runProtocolBenchmark } from '../proto-bench.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

await runProtocolBenchmark(
  {
    name: 'dubbo',
    gen: join(HERE, 'gen.mjs'),
    tshark: {
      args: (pcap) => ['-r', pcap, '-Y', 'tcp.len>0', '-T', 'fields', '-e', 'tcp.stream'],
      shown: "tshark -r F -Y 'tcp.len>0' -T fields -e tcp.stream (TCP only: no Dubbo dissector)",
    },
    unit: 'messages',
    unitCount: (t) => t.messages,
    title: 'Dubbo benchmark (benchmarks/dubbo): ',
    describe: (t, rel, mb, runs) =>
      `Capture: \`${rel}\`: ${fmtInt(t.packets)} packets, ${mb} MB, ${fmtInt(t.connections)} connections, ` +
      `${fmtInt(t.messages)} Dubbo messages: ${fmtInt(t.calls)} calls (${fmtInt(t.oneWay)} one-way), ${fmtInt(t.heartbeats)} heartbeat messages ` +
      `(benchmarks/dubbo/gen.mjs seed ${t.args.seed}). Best of ${runs} runs. tshark has no Dubbo dissector: its row decodes TCP only ` +
      '(a lighter peer, not like for like); tcpdump is the read floor. Target: >= 300,000 messages/s.',
    async check(file, truth) {
      const c = { spans: 0, errors: 0, byMethod: {} };
      await forEachSpan(file, (span) => {
        c.spans++;
        if (span.status?.code === 2) c.errors++;
        const m = span.attributes?.find((kv) => kv.key === 'rpc.method')?.value.stringValue ?? '?';
        c.byMethod[m] = (c.byMethod[m] ?? 0) + 1;
      });
      const ok = c.spans === truth.calls && c.errors === truth.errors && sameCounts(c.byMethod, truth.byMethod);
      return {
        ok,
        detail:
          `${fmtInt(c.spans)} spans (${fmtInt(c.errors)} errors), truth ${fmtInt(truth.calls)} calls (${fmtInt(truth.errors)} errors)` +
          (ok ? '; per rpc.method equal' : `; by method ${JSON.stringify(c.byMethod)} vs ${JSON.stringify(truth.byMethod)}`),
      };
    },
    targets: (t, sw) => [
      { name: 'target >= 300,000 messages/s', ok: t.messages / sw >= 300_000, detail: `${fmtInt(t.messages / sw)} messages/s (${fmtInt(t.calls / sw)} calls/s)` },
    ],
  },
  process.argv.slice(2),
);

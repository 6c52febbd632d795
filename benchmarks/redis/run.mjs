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
// 3. Checks: spanwire's spans equal the truth's commands, per command name, and its error spans the
//    truth's error replies. Targets: >= 500,000 commands/s and >= 20x tshark.
// 4. Prints a markdown table and appends it, dated, to benchmarks/RESULTS.md (unless --no-record or a row failed).
// The common part is benchmarks/proto-bench.mjs.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sameCounts } from '../lib.mjs';
import { fmtInt, forEachSpan, runProtocolBenchmark } from '../proto-bench.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

await runProtocolBenchmark(
  {
    name: 'redis',
    gen: join(HERE, 'gen.mjs'),
    tshark: {
      args: (pcap) => ['-r', pcap, '-d', 'tcp.port==6379,resp', '-Y', 'resp && tcp.dstport==6379', '-T', 'fields', '-e', 'resp.array.length'],
      shown: "tshark -r F -d tcp.port==6379,resp -Y 'resp && tcp.dstport==6379' -T fields -e resp.array.length",
    },
    unit: 'commands',
    unitCount: (t) => t.commands,
    title: 'Redis benchmark (benchmarks/redis): ',
    describe: (t, rel, mb, runs) =>
      `Capture: \`${rel}\`: ${fmtInt(t.packets)} packets, ${mb} MB, ${fmtInt(t.connections)} connections, ` +
      `${fmtInt(t.commands)} commands in pipelines of 1-40 (benchmarks/redis/gen.mjs seed ${t.args.seed}). Best of ${runs} runs. ` +
      'Targets: >= 500,000 commands/s and >= 20x tshark.',
    async check(file, truth) {
      const c = { spans: 0, errors: 0, byCommand: {} };
      await forEachSpan(file, (span) => {
        c.spans++;
        if (span.status?.code === 2) c.errors++;
        const op = span.attributes?.find((kv) => kv.key === 'db.operation.name')?.value.stringValue ?? '?';
        c.byCommand[op] = (c.byCommand[op] ?? 0) + 1;
      });
      const ok = c.spans === truth.commands && c.errors === truth.errors && sameCounts(c.byCommand, truth.byCommand);
      return {
        ok,
        detail:
          `${fmtInt(c.spans)} spans (${fmtInt(c.errors)} errors), truth ${fmtInt(truth.commands)} commands (${fmtInt(truth.errors)} error replies)` +
          (ok ? '; per command equal' : `; by command ${JSON.stringify(c.byCommand)} vs ${JSON.stringify(truth.byCommand)}`),
      };
    },
    targets: (t, sw, ts) => [
      { name: 'target >= 20x tshark', ok: ts / sw >= 20, detail: `${(ts / sw).toFixed(1)}x` },
      { name: 'target >= 500,000 commands/s', ok: t.commands / sw >= 500_000, detail: `${fmtInt(t.commands / sw)} commands/s` },
    ],
  },
  process.argv.slice(2),
);

#!/usr/bin/env node
// PostgreSQL replay benchmark: spanwire vs tshark vs tcpdump on the same synthetic protocol-3.0 capture.
//
//   node benchmarks/postgresql/run.mjs [--packets N] [--runs R] [--no-record]      (npm run bench:postgresql)
//
// 1. Generates benchmarks/out/postgresql-<N>.pcap (+ .truth.json) with benchmarks/postgresql/gen.mjs if
//    missing or older than gen.mjs (simple and extended queries on many connections; see gen.mjs).
// 2. Runs each tool R times (default 3) under `/usr/bin/time -f '%e %M'`, stdout to /dev/null:
//      spanwire  node bin/spanwire.js replay F --format otlp-json -o /dev/null
//      tshark    tshark -r F -d tcp.port==5432,pgsql -Y 'pgsql && tcp.dstport==5432' -T fields -e pgsql.type
//      tcpdump   tcpdump -r F -w /dev/null
// 3. Checks: spanwire's spans equal the truth's units (start-ups, Queries, Syncs), per operation, and its
//    error spans the truth's ErrorResponses. Targets: >= 300,000 queries/s and >= 20x tshark.
// 4. Prints a markdown table and appends it, dated, to benchmarks/RESULTS.md (unless --no-record or a row failed).
// The common part is benchmarks/proto-bench.mjs.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sameCounts } from '../lib.mjs';
import { fmtInt, forEachSpan, runProtocolBenchmark } from '../proto-bench.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

await runProtocolBenchmark(
  {
    name: 'postgresql',
    gen: join(HERE, 'gen.mjs'),
    tshark: {
      args: (pcap) => ['-r', pcap, '-d', 'tcp.port==5432,pgsql', '-Y', 'pgsql && tcp.dstport==5432', '-T', 'fields', '-e', 'pgsql.type'],
      shown: "tshark -r F -d tcp.port==5432,pgsql -Y 'pgsql && tcp.dstport==5432' -T fields -e pgsql.type",
    },
    unit: 'queries',
    unitCount: (t) => t.units,
    title: 'PostgreSQL benchmark (benchmarks/postgresql): ',
    describe: (t, rel, mb, runs) =>
      `Capture: \`${rel}\`: ${fmtInt(t.packets)} packets, ${mb} MB, ${fmtInt(t.connections)} connections, ` +
      `${fmtInt(t.units)} request units (start-ups, simple queries, extended-protocol Syncs) (benchmarks/postgresql/gen.mjs seed ${t.args.seed}). ` +
      `Best of ${runs} runs. Targets: >= 300,000 queries/s and >= 20x tshark.`,
    async check(file, truth) {
      const c = { spans: 0, errors: 0, byOperation: {} };
      await forEachSpan(file, (span) => {
        c.spans++;
        if (span.status?.code === 2) c.errors++;
        const op = span.attributes?.find((kv) => kv.key === 'db.operation.name')?.value.stringValue ?? '?';
        c.byOperation[op] = (c.byOperation[op] ?? 0) + 1;
      });
      const ok = c.spans === truth.units && c.errors === truth.errors && sameCounts(c.byOperation, truth.byOperation);
      return {
        ok,
        detail:
          `${fmtInt(c.spans)} spans (${fmtInt(c.errors)} errors), truth ${fmtInt(truth.units)} units (${fmtInt(truth.errors)} errors)` +
          (ok ? '; per operation equal' : `; by operation ${JSON.stringify(c.byOperation)} vs ${JSON.stringify(truth.byOperation)}`),
      };
    },
    targets: (t, sw, ts) => [
      { name: 'target >= 20x tshark', ok: ts / sw >= 20, detail: `${(ts / sw).toFixed(1)}x` },
      { name: 'target >= 300,000 queries/s', ok: t.units / sw >= 300_000, detail: `${fmtInt(t.units / sw)} queries/s` },
    ],
  },
  process.argv.slice(2),
);

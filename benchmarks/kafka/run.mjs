#!/usr/bin/env node
// Kafka replay benchmark: spanwire vs tshark vs tcpdump on the same synthetic Kafka capture.
//
//   node benchmarks/kafka/run.mjs [--packets N] [--runs R] [--no-record]      (npm run bench:kafka)
//
// 1. Generates benchmarks/out/kafka-<N>.pcap (+ .truth.json) with benchmarks/kafka/gen.mjs if missing or
//    older than gen.mjs (pipelined Produce v7 / Fetch v11 / Heartbeat / OffsetCommit on many connections).
// 2. Runs each tool R times (default 3) under `/usr/bin/time -f '%e %M'`, stdout to /dev/null:
//      spanwire  node bin/spanwire.js replay F --format otlp-json -o /dev/null
//      tshark    tshark -r F -d tcp.port==9092,kafka -Y kafka -T fields -e kafka.api_key -e kafka.correlation_id
//      tcpdump   tcpdump -r F -w /dev/null
//    and reports the best and median wall time, packets/s, messages/s (requests + responses), peak RSS
//    and spanwire/tshark.
// 3. Checks: spanwire's spans equal the truth's requests, per operation, its error spans the truth's
//    error responses, and the record counts of produce and fetch spans the truth's records.
//    Targets (issue 5): >= 300,000 messages/s and >= 20x tshark.
// 4. Prints a markdown table and appends it, dated, to benchmarks/RESULTS.md (unless --no-record or a row failed).
// The common part is benchmarks/proto-bench.mjs.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sameCounts } from '../lib.mjs';
import { fmtInt, forEachSpan, runProtocolBenchmark } from '../proto-bench.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

await runProtocolBenchmark(
  {
    name: 'kafka',
    gen: join(HERE, 'gen.mjs'),
    tshark: {
      args: (pcap) => ['-r', pcap, '-d', 'tcp.port==9092,kafka', '-Y', 'kafka', '-T', 'fields', '-e', 'kafka.api_key', '-e', 'kafka.correlation_id'],
      shown: "tshark -r F -d tcp.port==9092,kafka -Y kafka -T fields -e kafka.api_key -e kafka.correlation_id",
    },
    unit: 'messages',
    unitCount: (t) => t.messages,
    title: 'Kafka benchmark (benchmarks/kafka): ',
    describe: (t, rel, mb, runs) =>
      `Capture: \`${rel}\`: ${fmtInt(t.packets)} packets, ${mb} MB, ${fmtInt(t.connections)} connections, ` +
      `${fmtInt(t.requests)} requests + ${fmtInt(t.messages - t.requests)} responses (Produce v7 with record batches, ${fmtInt(t.acks0)} of them acks=0; ` +
      `Fetch v11 with batches; Heartbeat v3; OffsetCommit v7; ApiVersions v2), 1-10 in flight per connection ` +
      `(benchmarks/kafka/gen.mjs seed ${t.args.seed}). Best of ${runs} runs. Targets: >= 300,000 messages/s and >= 20x tshark.`,
    async check(file, truth) {
      const c = { spans: 0, errors: 0, byOperation: {}, produced: 0, fetched: 0 };
      await forEachSpan(file, (span) => {
        c.spans++;
        if (span.status?.code === 2) c.errors++;
        const attr = (k) => span.attributes?.find((kv) => kv.key === k)?.value;
        const op = attr('messaging.operation.name')?.stringValue ?? '?';
        c.byOperation[op] = (c.byOperation[op] ?? 0) + 1;
        const n = Number(attr('messaging.batch.message_count')?.intValue ?? 0);
        if (op === 'produce') c.produced += n;
        else if (op === 'fetch') c.fetched += n;
      });
      const ok =
        c.spans === truth.requests && c.errors === truth.errors && sameCounts(c.byOperation, truth.byOperation) && c.produced === truth.recordsProduced && c.fetched === truth.recordsFetched;
      return {
        ok,
        detail:
          `${fmtInt(c.spans)} spans (${fmtInt(c.errors)} errors), truth ${fmtInt(truth.requests)} requests (${fmtInt(truth.errors)} error responses); ` +
          `records produced ${fmtInt(c.produced)}/${fmtInt(truth.recordsProduced)}, fetched ${fmtInt(c.fetched)}/${fmtInt(truth.recordsFetched)}` +
          (ok ? '; per operation equal' : `; by operation ${JSON.stringify(c.byOperation)} vs ${JSON.stringify(truth.byOperation)}`),
      };
    },
    targets: (t, sw, ts) => [
      { name: 'target >= 20x tshark', ok: ts / sw >= 20, detail: `${(ts / sw).toFixed(1)}x` },
      { name: 'target >= 300,000 messages/s', ok: t.messages / sw >= 300_000, detail: `${fmtInt(t.messages / sw)} messages/s` },
    ],
  },
  process.argv.slice(2),
);

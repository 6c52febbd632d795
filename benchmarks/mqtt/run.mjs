#!/usr/bin/env node
// MQTT replay benchmark: spanwire vs tshark vs tcpdump on the same synthetic MQTT capture.
//
//   node benchmarks/mqtt/run.mjs [--packets N] [--runs R] [--no-record]      (npm run bench:mqtt)
//
// 1. Generates benchmarks/out/mqtt-<N>.pcap (+ .truth.json) with benchmarks/mqtt/gen.mjs if missing or
//    older than gen.mjs (3.1.1 and 5.0 publishers and subscribers, QoS 0/1/2, on many connections; see gen.mjs).
// 2. Runs each tool R times (default 3) under `/usr/bin/time -f '%e %M'`, stdout to /dev/null:
//      spanwire  node bin/spanwire.js replay F --format otlp-json -o /dev/null
//      tshark    tshark -r F -d tcp.port==1883,mqtt -Y mqtt -T fields -e mqtt.msgtype
//      tcpdump   tcpdump -r F -w /dev/null
//    and reports the best and median wall time, packets/s, MQTT messages (control packets)/s, peak RSS
//    and spanwire/tshark.
// 3. Checks: spanwire's spans equal the truth's exchanges, per operation (connect, publish, process,
//    subscribe, unsubscribe, ping, disconnect), and its error spans the truth's refusals.
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
    name: 'mqtt',
    gen: join(HERE, 'gen.mjs'),
    tshark: {
      args: (pcap) => ['-r', pcap, '-d', 'tcp.port==1883,mqtt', '-Y', 'mqtt', '-T', 'fields', '-e', 'mqtt.msgtype'],
      shown: "tshark -r F -d tcp.port==1883,mqtt -Y mqtt -T fields -e mqtt.msgtype",
    },
    unit: 'messages',
    unitCount: (t) => t.messages,
    title: 'MQTT benchmark (benchmarks/mqtt): ',
    describe: (t, rel, mb, runs) =>
      `Capture: \`${rel}\`: ${fmtInt(t.packets)} packets, ${mb} MB, ${fmtInt(t.connections)} connections, ` +
      `${fmtInt(t.messages)} MQTT messages (control packets: PUBLISH, acknowledgements, CONNECT...) making ${fmtInt(t.spans)} exchanges ` +
      `(3.1.1 and 5.0, QoS 0/1/2 publishes and deliveries; benchmarks/mqtt/gen.mjs seed ${t.args.seed}). Best of ${runs} runs. ` +
      'Targets: >= 300,000 messages/s and >= 20x tshark.',
    async check(file, truth) {
      const c = { spans: 0, errors: 0, byOperation: {} };
      await forEachSpan(file, (span) => {
        c.spans++;
        if (span.status?.code === 2) c.errors++;
        const op = span.attributes?.find((kv) => kv.key === 'messaging.operation.name')?.value.stringValue ?? '?';
        c.byOperation[op] = (c.byOperation[op] ?? 0) + 1;
      });
      const ok = c.spans === truth.spans && c.errors === truth.errors && sameCounts(c.byOperation, truth.byOperation);
      return {
        ok,
        detail:
          `${fmtInt(c.spans)} spans (${fmtInt(c.errors)} errors), truth ${fmtInt(truth.spans)} exchanges (${fmtInt(truth.errors)} refused)` +
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

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
//    ("none" for streams reset before a response) and per gRPC status. Target: >= 15x tshark.
// 4. Prints a markdown table and appends it, dated, to benchmarks/RESULTS.md (unless --no-record or a row failed).
// The common part is benchmarks/proto-bench.mjs.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sameCounts } from '../lib.mjs';
import { fmtInt, forEachSpan, runProtocolBenchmark } from '../proto-bench.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const GRPC_NAMES = { 0: 'OK', 5: 'NOT_FOUND', 14: 'UNAVAILABLE' };
const tsharkArgs = (pcap) => ['-r', pcap, '-d', 'tcp.port==8080,http2', '-d', 'tcp.port==50051,http2', '-Y', 'http2.type==1', '-T', 'fields', '-e', 'http2.headers.method'];

await runProtocolBenchmark(
  {
    name: 'http2',
    gen: join(HERE, 'gen.mjs'),
    tshark: { args: tsharkArgs, shown: 'tshark -r F -d tcp.port==8080,http2 -d tcp.port==50051,http2 -Y http2.type==1 -T fields -e http2.headers.method' },
    unit: 'streams',
    unitCount: (t) => t.streams,
    title: 'HTTP/2 + gRPC benchmark (benchmarks/http2): ',
    describe: (t, rel, mb, runs) =>
      `Capture: \`${rel}\`: ${fmtInt(t.packets)} packets, ${mb} MB, ${fmtInt(t.connections)} h2c connections, ` +
      `${fmtInt(t.streams)} streams (${fmtInt(t.grpcCalls)} gRPC calls), up to ${t.maxConcurrentStreams} concurrent streams per connection ` +
      `(benchmarks/http2/gen.mjs seed ${t.args.seed}). Best of ${runs} runs. Target: HTTP/2 + gRPC replay >= 15x tshark.`,
    async check(file, truth, pcap) {
      // tshark, an independent HPACK decoder, must see every request the generator wrote.
      const ts = spawnSync('tshark', tsharkArgs(pcap), { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
      const tsRequests = ts.stdout.split('\n').reduce((n, l) => n + (l ? l.split(',').filter((m) => m === 'GET' || m === 'POST').length : 0), 0);
      const c = { spans: 0, byStatus: {}, byGrpcStatus: {} };
      await forEachSpan(file, (span) => {
        c.spans++;
        let status = 'none';
        let grpc = '';
        for (const kv of span.attributes ?? []) {
          if (kv.key === 'http.response.status_code') status = String(kv.value.intValue);
          else if (kv.key === 'rpc.response.status_code') grpc = kv.value.stringValue;
        }
        c.byStatus[status] = (c.byStatus[status] ?? 0) + 1;
        if (grpc) c.byGrpcStatus[grpc] = (c.byGrpcStatus[grpc] ?? 0) + 1;
      });
      const grpcTruth = Object.fromEntries(Object.entries(truth.byGrpcStatus).map(([k, v]) => [GRPC_NAMES[k], v]));
      const ok = tsRequests === truth.streams && c.spans === truth.streams && sameCounts(c.byStatus, truth.byStatus) && sameCounts(c.byGrpcStatus, grpcTruth);
      return {
        ok,
        detail:
          `${fmtInt(c.spans)} spans, truth ${fmtInt(truth.streams)} streams (${fmtInt(truth.resets)} reset by the client); tshark decodes ${fmtInt(tsRequests)} requests` +
          (ok ? '; per HTTP and gRPC status equal' : `; by status ${JSON.stringify(c.byStatus)} vs ${JSON.stringify(truth.byStatus)}; gRPC ${JSON.stringify(c.byGrpcStatus)} vs ${JSON.stringify(grpcTruth)}`),
      };
    },
    targets: (t, sw, ts) => [{ name: 'target >= 15x tshark', ok: ts / sw >= 15, detail: `${(ts / sw).toFixed(1)}x` }],
  },
  process.argv.slice(2),
);

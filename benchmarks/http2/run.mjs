#!/usr/bin/env node
// HTTP/2 + gRPC replay benchmark: spanwire vs tshark vs tcpdump on the same synthetic h2c capture.
//
//   node benchmarks/http2/run.mjs [--packets N | --big] [--runs R] [--no-record]      (npm run bench:http2)
//
// 1. Generates benchmarks/out/http2-<N>.pcap (+ .truth.json) with benchmarks/http2/gen.mjs if missing or
//    older than gen.mjs (many concurrent streams per connection, gRPC and plain HTTP/2; see gen.mjs).
//    N = 300000 by default, 1000000 with --big.
// 2. Runs each tool R times (default 3) under `/usr/bin/time -f '%e %M'`, stdout to /dev/null:
//      spanwire  node bin/spanwire.js replay F --format otlp-json -o /dev/null
//      tshark    tshark -r F -d tcp.port==8080,http2 -d tcp.port==50051,http2 -Y http2.type==1 -T fields -e http2.headers.method
//      tcpdump   tcpdump -r F -w /dev/null                 (the cost of just reading the file)
//    and reports the best and median wall time, packets/s, streams/s, peak RSS and spanwire/tshark.
// 3. Checks (one more run of each to a file):
//    - the capture, with tshark as an independent HPACK decoder: every header field the generator wrote
//      is decoded with the same name and value (count and order-free FNV-1a checksum equal), one :method
//      per stream, :status and grpc-status values equal, and no expert info of warning level or above
//      (but tshark 4.0's "Trailing stray characters" on CONTINUATION frames: it shows the raw HPACK
//      fragment as a string);
//    - spanwire's spans equal the truth's streams, per method, per HTTP status ("none" for streams reset
//      before a response), per gRPC status and per RST_STREAM code, and their body sizes (responses cut by
//      RST_STREAM carry none), gRPC message counts and grpc-timeouts add up to the truth's.
//    Target: >= 15x tshark.
// 4. Prints a markdown table and appends it, dated, to benchmarks/RESULTS.md (unless --no-record or a row failed).
// The common part is benchmarks/proto-bench.mjs.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fnv1a32 } from '../gen-lib.mjs';
import { sameCounts } from '../lib.mjs';
import { fmtInt, forEachSpan, runProtocolBenchmark } from '../proto-bench.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const DECODE_AS = ['-d', 'tcp.port==8080,http2', '-d', 'tcp.port==50051,http2'];
const tsharkArgs = (pcap) => ['-r', pcap, ...DECODE_AS, '-Y', 'http2.type==1', '-T', 'fields', '-e', 'http2.headers.method'];
/** Expert infos of a valid capture: tshark 4.0 shows a CONTINUATION's raw HPACK fragment as a string. */
const BENIGN_EXPERT = new Set(['Trailing stray characters']);
const SEP = '\x1f';

/** tshark's view of the capture: every header field decoded, and the warnings and errors it reports. */
function tsharkDecode(pcap) {
  const r = spawnSync(
    'tshark',
    ['-r', pcap, ...DECODE_AS, '-Y', 'http2.header || _ws.expert.severity >= warning', '-T', 'fields', '-E', `aggregator=${SEP}`, '-e', 'http2.header.name', '-e', 'http2.header.value', '-e', '_ws.expert.message'],
    { encoding: 'latin1', maxBuffer: 2 ** 31 - 1, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const c = { ok: r.status === 0, fields: 0, digest: 0, requests: 0, statusFields: {}, grpcStatusFields: {}, experts: {}, unpaired: 0 };
  for (const line of (r.stdout ?? '').split('\n')) {
    if (!line) continue;
    const [n, v, e] = line.split('\t');
    const names = n ? n.split(SEP) : [];
    const values = v ? v.split(SEP) : [];
    if (names.length !== values.length) c.unpaired++;
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      const value = values[i] ?? '';
      c.fields++;
      c.digest = (c.digest + fnv1a32(`${name}: ${value}`)) % 2 ** 32;
      if (name === ':method') c.requests++;
      else if (name === ':status') c.statusFields[value] = (c.statusFields[value] ?? 0) + 1;
      else if (name === 'grpc-status') c.grpcStatusFields[value] = (c.grpcStatusFields[value] ?? 0) + 1;
    }
    if (e) for (const m of e.split(SEP)) if (!BENIGN_EXPERT.has(m)) c.experts[m] = (c.experts[m] ?? 0) + 1;
  }
  return c;
}

/** Spans of an OTLP/JSON lines file, counted the way the truth file counts streams. */
async function countSpans(file) {
  const c = { spans: 0, byMethod: {}, byStatus: {}, byGrpcStatus: {}, byRstCode: {}, requestBodyBytes: 0, responseBodyBytes: 0, grpcRequestMessages: 0, grpcResponseMessages: 0, grpcTimeouts: 0, grpcTimeoutMsTotal: 0 };
  const inc = (o, k) => (o[k] = (o[k] ?? 0) + 1);
  await forEachSpan(file, (span) => {
    c.spans++;
    let status = 'none';
    for (const kv of span.attributes ?? []) {
      const v = kv.value ?? {};
      switch (kv.key) {
        case 'http.request.method': inc(c.byMethod, v.stringValue); break;
        case 'http.response.status_code': status = String(v.intValue); break;
        case 'rpc.response.status_code': inc(c.byGrpcStatus, v.stringValue); break;
        case 'spanwire.http2.rst_stream.error_code': inc(c.byRstCode, v.stringValue); break;
        case 'http.request.body.size': c.requestBodyBytes += Number(v.intValue); break;
        case 'http.response.body.size': c.responseBodyBytes += Number(v.intValue); break;
        case 'spanwire.grpc.request.messages': c.grpcRequestMessages += Number(v.intValue); break;
        case 'spanwire.grpc.response.messages': c.grpcResponseMessages += Number(v.intValue); break;
        case 'spanwire.grpc.timeout_ms': c.grpcTimeouts++; c.grpcTimeoutMsTotal += Number(v.intValue); break;
      }
    }
    inc(c.byStatus, status);
  });
  return c;
}

const argv = process.argv.slice(2);
if (argv.includes('-h') || argv.includes('--help')) {
  process.stdout.write('usage: node benchmarks/http2/run.mjs [--packets N | --big] [--runs R] [--no-record]\n  --big  a ~1,000,000-packet capture (--packets 1000000)\n');
  process.exit(0);
}
const args = argv.flatMap((a) => (a === '--big' ? ['--packets', '1000000'] : [a]));

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
      `${fmtInt(t.streams)} streams (${fmtInt(t.grpcCalls)} gRPC calls), up to ${t.maxConcurrentStreams} concurrent streams per connection, ` +
      `${fmtInt(t.headerFields)} HPACK header fields (${fmtInt(t.hpack.evictions)} dynamic-table evictions), ` +
      `${fmtInt(t.frames.CONTINUATION)} CONTINUATION frames, ${fmtInt(t.resetBeforeResponse + t.resetDuringResponse)} streams cancelled and ` +
      `${fmtInt(t.byRstCode.REFUSED_STREAM ?? 0)} refused (benchmarks/http2/gen.mjs seed ${t.args.seed}). Best of ${runs} runs. ` +
      'Target: HTTP/2 + gRPC replay >= 15x tshark.',
    async check(file, truth, pcap) {
      const ts = tsharkDecode(pcap);
      const tsOk =
        ts.ok && ts.unpaired === 0 && ts.fields === truth.headerFields && ts.digest === truth.headerDigest && ts.requests === truth.streams &&
        sameCounts(ts.statusFields, truth.statusFields) && sameCounts(ts.grpcStatusFields, truth.grpcStatusFields) && Object.keys(ts.experts).length === 0;
      const tsDetail = tsOk
        ? `tshark decodes all ${fmtInt(ts.fields)} header fields as written (checksum equal), ${fmtInt(ts.requests)} requests, :status and grpc-status values equal, no warnings`
        : `tshark MISMATCH: ${fmtInt(ts.fields)} header fields (truth ${fmtInt(truth.headerFields)}), checksum ${ts.digest} (truth ${truth.headerDigest}), ` +
          `${fmtInt(ts.requests)} requests (truth ${fmtInt(truth.streams)}), :status ${JSON.stringify(ts.statusFields)} vs ${JSON.stringify(truth.statusFields)}, ` +
          `grpc-status ${JSON.stringify(ts.grpcStatusFields)} vs ${JSON.stringify(truth.grpcStatusFields)}, experts ${JSON.stringify(ts.experts)}` +
          (ts.unpaired ? `, ${ts.unpaired} lines with unpaired names/values` : '') + (ts.ok ? '' : ', tshark failed');

      const c = await countSpans(file);
      const counts = ['byMethod', 'byStatus', 'byGrpcStatus', 'byRstCode'].filter((k) => !sameCounts(c[k], truth[k]));
      // A response cut by RST_STREAM has no http.response.body.size (parsers/http2/README.md: a cut
      // message's size is only a lower bound): the bytes it had sent are not in the expected sum.
      const expected = { ...truth, responseBodyBytes: truth.responseBodyBytes - truth.responseBodyBytesCut };
      const sums = ['requestBodyBytes', 'responseBodyBytes', 'grpcRequestMessages', 'grpcResponseMessages', 'grpcTimeouts', 'grpcTimeoutMsTotal'].filter((k) => c[k] !== expected[k]);
      const swOk = c.spans === truth.streams && counts.length === 0 && sums.length === 0;
      const resets = truth.resetBeforeResponse + truth.resetDuringResponse;
      const swDetail =
        `${fmtInt(c.spans)} spans, truth ${fmtInt(truth.streams)} streams (${fmtInt(resets)} cancelled by the client, ${fmtInt(truth.byRstCode.REFUSED_STREAM ?? 0)} refused)` +
        (counts.length === 0 ? '; per method, HTTP status, gRPC status and RST_STREAM code equal' : counts.map((k) => `; ${k} ${JSON.stringify(c[k])} vs truth ${JSON.stringify(truth[k])}`).join('')) +
        (sums.length === 0
          ? `; body bytes (without the ${fmtInt(truth.resetDuringResponse)} responses cut by RST_STREAM), gRPC messages and timeouts equal`
          : sums.map((k) => `; ${k} ${c[k]} vs expected ${expected[k]}`).join(''));
      return { ok: tsOk && swOk, detail: `${swDetail}. ${tsDetail}` };
    },
    targets: (t, sw, ts) => [{ name: 'target >= 15x tshark', ok: ts / sw >= 15, detail: `${(ts / sw).toFixed(1)}x` }],
  },
  args,
);

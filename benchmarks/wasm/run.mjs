#!/usr/bin/env node
// Wasm plugin benchmark: the minirpc plugin (examples/wasm-minirpc, AssemblyScript) against the same
// parser written in JS against the ProtocolParser interface (minirpc-js.mjs), on the same data.
//
//   node benchmarks/wasm/run.mjs [--calls N] [--no-record]        (needs `npm run build` first)
//
// 1. parse calls/s: one ~200-byte frame per parse call, through each parser's session (the plugin
//    through the host adapter: copy into the input window, call, read the result records, build the
//    L7Message), best of 3 rounds.
// 2. replay: a generated capture (N calls on 400 connections) through the whole pipeline with each
//    parser registered, calls (spans) per second, best of 3; span names and errors must be equal.
// 3. the cost of the fuel metering (time budget): raw ABI calls/s into the instrumented and the
//    uninstrumented module.
// 4. why not a worker thread: the cost of one synchronous Atomics round trip to a worker.
// Appends the table to benchmarks/RESULTS.md unless --no-record.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DIST, OUT_DIR, ROOT, recordResults } from '../lib.mjs';
import { Conversation, PcapWriter, seedRandom, randInt } from '../gen-lib.mjs';
import { miniRpcJsParser } from './minirpc-js.mjs';

const args = process.argv.slice(2);
const CALLS = Number(args[args.indexOf('--calls') + 1] || 200_000) || 200_000;
const record = !args.includes('--no-record');
const { buildPlugin } = await import(join(DIST, 'core/l7/wasm/build.js'));
const { WasmPlugin, WasmProtocolParser, registerWasmPlugins } = await import(join(DIST, 'core/l7/wasm/index.js'));
const { instrumentPlugin } = await import(join(DIST, 'core/l7/wasm/instrument.js'));
const { runReplay } = await import(join(DIST, 'core/pipeline/replay.js'));
const { ParserRegistry } = await import(join(DIST, 'core/l7/registry.js'));
const fmt = (n) => Math.round(n).toLocaleString('en-US');

mkdirSync(OUT_DIR, { recursive: true });
const wasmFile = join(OUT_DIR, 'minirpc.wasm');
const b = await buildPlugin(join(ROOT, 'examples/wasm-minirpc/assembly/index.ts'), wasmFile);
if (!b.ok) throw new Error(b.log);
process.stderr.write(`wasm: built ${wasmFile} in ${(b.ms / 1000).toFixed(1)} s\n`);

// ---- frames ----------------------------------------------------------------------------------
function frame(type, id, method, body) {
  const m = Buffer.from(method);
  const h = Buffer.alloc(16);
  h.writeUInt16BE(0x4d52, 0);
  h[2] = 1;
  h[3] = type;
  h.writeUInt32BE(id, 4);
  h.writeUInt16BE(type === 2 ? (body.length % 7 === 0 ? 5 : 0) : m.length, 8);
  h.writeUInt32BE(body.length, 12);
  return Buffer.concat([h, type === 2 ? Buffer.alloc(0) : m, body]);
}
const METHODS = ['Echo', 'GetUser', 'inventory.Stock/Reserve', 'PutOrder', 'List'];

// ---- 1. parse calls/s ------------------------------------------------------------------------
const frames = [];
for (let i = 0; i < 1000; i++) frames.push(frame(1, i, METHODS[i % METHODS.length], Buffer.alloc(160 + (i % 40), 0x61)));
const avgSize = frames.reduce((s, f) => s + f.length, 0) / frames.length;
function ctx() {
  let n = 0;
  return {
    flow: { transport: 'tcp', clientIsA: true, portA: 40000, portB: 7070, addrA: '10.0.0.1', addrB: '10.0.0.2' },
    firstByteTs: 0, lastByteTs: 0, handoff: null, options: {},
    emit() { n++; }, anomaly() {}, stop() {}, switchProtocol() { return false; },
    get count() { return n; },
  };
}
function parseRate(parser, calls) {
  const c = ctx();
  const s = parser.createSession(c);
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) {
      const f = frames[i % 1000];
      if (s.parse(true, f, 0, f.length) !== f.length) throw new Error('parse did not consume the frame');
    }
    const s1 = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.max(best, calls / s1);
  }
  if (c.count !== calls * 3) throw new Error(`emitted ${c.count}, expected ${calls * 3}`);
  return best;
}
const plugin = await WasmPlugin.load(wasmFile);
const wasmParser = new WasmProtocolParser(plugin);
parseRate(wasmParser, 200_000); // warm-up
parseRate(miniRpcJsParser, 200_000);
const parseWasm = parseRate(wasmParser, 2_000_000);
const parseJs = parseRate(miniRpcJsParser, 2_000_000);

// ---- 2. replay -------------------------------------------------------------------------------
const pcap = join(OUT_DIR, `minirpc-${CALLS}.pcap`);
seedRandom(1);
{
  const out = new PcapWriter(pcap);
  const clock = { us: 1_700_000_000_000_000 };
  let id = 0;
  const perConn = Math.ceil(CALLS / 400);
  for (let c = 0; c < 400 && id < CALLS; c++) {
    const conv = new Conversation(out, clock, '10.1.0.1', 30000 + c, '10.1.0.2', 7070);
    conv.open();
    for (let k = 0; k < perConn && id < CALLS; k++, id++) {
      const body = Buffer.alloc(randInt(20, 300), 0x62);
      conv.send(true, frame(1, id, METHODS[id % METHODS.length], body));
      conv.send(false, frame(2, id, '', Buffer.alloc(randInt(10, 200), 0x63)));
    }
    conv.close();
  }
  out.close();
}
async function replayRate(registry) {
  let best = Infinity;
  let names = null;
  for (let round = 0; round < 3; round++) {
    const byName = {};
    let spans = 0;
    const t0 = process.hrtime.bigint();
    await runReplay({
      files: [pcap],
      registry,
      idSeed: 1,
      consumer: { consumeTraces: (batch) => { for (const s of batch) { spans++; const k = `${s.name} ${s.status.code}`; byName[k] = (byName[k] ?? 0) + 1; } } },
    });
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    names = { spans, byName };
  }
  return { seconds: best, ...names };
}
const regWasm = new ParserRegistry();
registerWasmPlugins(regWasm, [plugin]);
const regJs = new ParserRegistry();
regJs.registerPlugin(miniRpcJsParser);
const rWasm = await replayRate(regWasm);
const rJs = await replayRate(regJs);
const same = rWasm.spans === CALLS && rJs.spans === CALLS && JSON.stringify(rWasm.byName) === JSON.stringify(Object.fromEntries(Object.keys(rWasm.byName).map((k) => [k, rJs.byName[k]])));

// ---- 3. fuel metering cost -------------------------------------------------------------------
async function rawRate(bytes) {
  const mem = new WebAssembly.Memory({ initial: 4, maximum: 1024 });
  const x = new WebAssembly.Instance(await WebAssembly.compile(bytes), { env: { memory: mem, abort() { throw new Error('abort'); }, trace() {}, seed: () => 1 } }).exports;
  const h = x.spanwire_session_open(7070, 0);
  const inPtr = x.spanwire_input_ptr();
  const outPtr = x.spanwire_output_ptr() >> 2;
  const f = frames[0];
  new Uint8Array(mem.buffer).set(f, inPtr);
  const i32 = new Int32Array(mem.buffer);
  let best = 0;
  for (let round = 0; round < 4; round++) {
    const n = 2_000_000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      i32[outPtr] = 0; i32[outPtr + 1] = 0; i32[outPtr + 2] = 0; i32[outPtr + 3] = 0;
      x.spanwire_parse(h, 1, f.length);
    }
    best = Math.max(best, n / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  return best;
}
const raw = readFileSync(wasmFile);
const rawPlain = await rawRate(raw);
const rawFuel = await rawRate((await instrumentPlugin(raw, 20_000_000, 1024)).bytes);

// ---- 4. worker round trip --------------------------------------------------------------------
async function workerRoundTrip(n) {
  const sab = new SharedArrayBuffer(8);
  const flag = new Int32Array(sab);
  const w = new Worker(
    `const { workerData } = require('node:worker_threads'); const f = new Int32Array(workerData);
     for (;;) { Atomics.wait(f, 0, 0); if (Atomics.load(f, 0) === 2) break; Atomics.store(f, 0, 0); Atomics.store(f, 1, 1); Atomics.notify(f, 1); }`,
    { eval: true, workerData: sab },
  );
  await new Promise((r) => setTimeout(r, 100));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    Atomics.store(flag, 1, 0);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    Atomics.wait(flag, 1, 0);
  }
  const us = Number(process.hrtime.bigint() - t0) / 1e3 / n;
  Atomics.store(flag, 0, 2);
  Atomics.notify(flag, 0);
  await w.terminate();
  return us;
}
const rtUs = await workerRoundTrip(100_000);

// ---- report ----------------------------------------------------------------------------------
const table = [
  `Plugin: \`examples/wasm-minirpc\` built with \`spanwire plugin build\` (asc ${b.ms > 0 ? 'O3' : ''}, ${fmt(raw.length)} bytes); the JS parser: \`benchmarks/wasm/minirpc-js.mjs\` (same logic, straight on the ProtocolParser interface). Target: plugin >= 50% of the native parser.`,
  '',
  '| measure | plugin (Wasm) | JS parser | plugin / JS |',
  '|---|---:|---:|---:|',
  `| parse calls/s, one ${Math.round(avgSize)}-byte request frame per call (best of 3 x 2M) | ${fmt(parseWasm)} | ${fmt(parseJs)} | ${((parseWasm / parseJs) * 100).toFixed(0)}% |`,
  `| replay \`benchmarks/out/minirpc-${CALLS}.pcap\` (${fmt(CALLS)} calls, 400 connections), calls/s, best of 3 | ${fmt(CALLS / rWasm.seconds)} (${rWasm.seconds.toFixed(2)} s) | ${fmt(CALLS / rJs.seconds)} (${rJs.seconds.toFixed(2)} s) | ${((rJs.seconds / rWasm.seconds) * 100).toFixed(0)}% |`,
  '',
  `- ${same ? 'PASS' : 'FAIL'} same spans: plugin ${fmt(rWasm.spans)}, JS ${fmt(rJs.spans)}, truth ${fmt(CALLS)}; per name and status ${same ? 'equal' : `differ: ${JSON.stringify(rWasm.byName)} vs ${JSON.stringify(rJs.byName)}`}`,
  `- ${parseWasm / parseJs >= 0.5 && rJs.seconds / rWasm.seconds >= 0.5 ? 'PASS' : 'FAIL'} target plugin >= 50% of the JS parser`,
  `- time budget by fuel metering (load-time instrumentation): raw ABI calls/s ${fmt(rawFuel)} instrumented vs ${fmt(rawPlain)} without (${(((rawPlain - rawFuel) / rawPlain) * 100).toFixed(0)}% cost)`,
  `- the alternative, a worker thread per plugin with a synchronous Atomics handoff: ${rtUs.toFixed(2)} us per round trip alone, i.e. at most ${fmt(1e6 / rtUs)} calls/s before any parsing`,
].join('\n');
process.stdout.write(`${table}\n`);
if (record) recordResults('Wasm plugin benchmark (benchmarks/wasm): ', table, '# Benchmark results\n');

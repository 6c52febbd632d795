#!/usr/bin/env node
// eBPF events/s into JS with zero loss (issue 6 target: >= 200,000 events/s).
//
//   node benchmarks/ebpf/events.mjs [--events N] [--payload B] [--rates 100000,200000,0] [--mmsg-rates 200000,0]
//                                   [--generators G] [--drain-ms D] [--ring-mb M] [--no-record]
//                                                                                  (as root; npm run bench:ebpf)
//
// A C generator (benchmarks/ebpf/flood.c, compiled here into benchmarks/out/) sends N UDP datagrams of B bytes
// (default 1,000,000 x 64) on loopback, paced at each rate in turn (0 = as fast as it can), first with one
// sendto() per datagram (--rates), then with sendmmsg() of 8 datagrams (--mmsg-rates: 8 events per syscall, so
// the generator's own syscall cost weighs less and the collector side is what is measured), split over G generator
// processes (default 2: one per core; each sends N/G). spanwire's
// BPF programs (native/build/bpf/spanwire.bpf.o, loaded by the addon with a port filter on the generator's port)
// turn each sendto() into one DATA event; the addon's drain thread hands JS one Buffer per drain and JS walks
// every record (length, kind, pid, ports, totalLen, payload length, payload bytes). A run is lossless when JS saw
// exactly N events of the generators, each with the generator's payload, and the kernel counted no ring-buffer drop
// and no skipped program run, and the addon no lost batch. The figure is the
// highest rate sustained without loss: events / time from the first to the last event JS received.
// Prints a table; appends it, dated, to benchmarks/RESULTS.md unless --no-record.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { OUT_DIR, ROOT, recordResults } from '../lib.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const EVENTS = Number(opt('events', 1_000_000));
const PAYLOAD = Number(opt('payload', 64));
const list = (v) => (v === '' ? [] : String(v).split(',').map(Number));
const RATES = list(opt('rates', '100000,200000,0'));
const MMSG_RATES = list(opt('mmsg-rates', '200000,300000,0'));
const DRAIN_MS = Number(opt('drain-ms', 10));
const GENERATORS = Math.max(1, Number(opt('generators', 2)));
const RING_MB = Number(opt('ring-mb', 16));
const RECORD = !args.includes('--no-record');
const log = (m) => process.stderr.write(`bench:ebpf: ${m}\n`);
const die = (m) => {
  log(m);
  process.exit(2);
};

if (process.getuid?.() !== 0) die('needs root (BPF programs): run as root');
const ADDON = join(ROOT, 'native/build/Release/spanwire_native.node');
const OBJ = join(ROOT, 'native/build/bpf/spanwire.bpf.o');
if (!existsSync(ADDON) || !existsSync(OBJ)) die('the native addon is not built: npm run build:native');
const native = createRequire(import.meta.url)(ADDON);

mkdirSync(OUT_DIR, { recursive: true });
const SRC = join(ROOT, 'benchmarks/ebpf/flood.c');
const FLOOD = join(OUT_DIR, 'ebpf-flood');
if (!existsSync(FLOOD) || statSync(FLOOD).mtimeMs < statSync(SRC).mtimeMs) {
  execFileSync('cc', ['-O2', '-o', FLOOD, SRC], { stdio: 'inherit' });
}

function freePort() {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

async function runOnce(rate, batch) {
  const ports = [];
  for (let i = 0; i < GENERATORS; i++) ports.push(await freePort());
  let seen = 0;
  let bytes = 0;
  let first = 0n;
  let last = 0n;
  let batches = 0;
  let maxBatch = 0;
  const genPids = new Set();
  let other = 0;
  let corrupt = 0;
  const h = native.ebpfOpen(
    { objectPath: OBJ, excludePid: process.pid, portFilter: ports, maxPayload: 4096, ringBytes: RING_MB << 20, drainMs: DRAIN_MS, sslLibs: [] },
    (b) => {
      const now = process.hrtime.bigint();
      if (first === 0n) first = now;
      last = now;
      batches++;
      let p = 0;
      let n = 0;
      while (p < b.length) {
        const len = b.readUInt32LE(p);
        const r = p + 4;
        // the fields a consumer reads first: kind, pid, totalLen, capturedLen
        const kind = b.readUInt16LE(r + 28);
        const pid = b.readUInt32LE(r + 16);
        const total = b.readUInt32LE(r + 80);
        const cap = b.readUInt32LE(r + 84);
        const dport = b.readUInt16LE(r + 42);
        if (kind === 1 && genPids.has(pid) && cap === total) {
          // the payload must be the generator's: first and last byte 'a' + port % 26
          const want = 97 + (dport % 26);
          if (b[r + 120] !== want || b[r + 120 + cap - 1] !== want) corrupt++;
          seen++;
          bytes += total;
        } else other++;
        n++;
        p = (r + len + 7) & ~7;
      }
      if (n > maxBatch) maxBatch = n;
    },
  );
  const cpu0 = process.cpuUsage();
  const outs = await Promise.all(
    Array.from({ length: GENERATORS }, (_, i) => {
      const n = Math.floor(EVENTS / GENERATORS) + (i < EVENTS % GENERATORS ? 1 : 0);
      // each generator binds its own sink port: port + i (the filter lists them all)
      const child = spawn(FLOOD, [String(ports[i]), String(n), String(PAYLOAD), String(rate / GENERATORS), String(batch)], { stdio: ['ignore', 'pipe', 'inherit'] });
      genPids.add(child.pid);
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      return new Promise((r) => child.on('exit', () => r(JSON.parse(out))));
    }),
  );
  // let the last drains arrive
  for (let i = 0; i < 100 && seen < EVENTS; i++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 3 * DRAIN_MS));
  const cpu = process.cpuUsage(cpu0);
  const st = h.stats();
  h.close();
  const gen = { sent: outs.reduce((n, o) => n + o.sent, 0), ns: Math.max(...outs.map((o) => o.ns)) };
  const secs = Number(last - first) / 1e9;
  const genRate = gen.sent / (gen.ns / 1e9);
  return {
    rate,
    batch,
    genRate,
    seen,
    bytes,
    other,
    drops: st.drops,
    lost: st.lost,
    corrupt,
    missed: st.missed,
    batches,
    maxBatch,
    jsRate: seen / secs,
    cpu: (cpu.user + cpu.system) / 1e6 / Math.max(secs, gen.ns / 1e9),
    lossless: seen === EVENTS && st.drops === 0 && st.lost === 0 && corrupt === 0 && st.missed === 0,
  };
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
log(`${fmt(EVENTS)} datagrams of ${PAYLOAD} bytes per run from ${GENERATORS} generator(s), drain every ${DRAIN_MS} ms, ring ${RING_MB} MiB`);
const rows = [];
const plan = [...RATES.map((r) => [r, 1]), ...MMSG_RATES.map((r) => [r, 8])];
const how = (r) => `${r.batch === 1 ? 'sendto' : `sendmmsg x${r.batch}`}, ${r.rate ? `paced ${fmt(r.rate)}/s` : 'unpaced'}`;
for (const [rate, batch] of plan) {
  const r = await runOnce(rate, batch);
  rows.push(r);
  log(
    `  ${how(r)}: generator ${fmt(r.genRate)}/s, JS got ${fmt(r.seen)}/${fmt(EVENTS)} at ${fmt(r.jsRate)} events/s, ` +
      `kernel drops ${fmt(r.drops)}, lost ${fmt(r.lost)}, missed ${fmt(r.missed)}, corrupt ${fmt(r.corrupt)}, ${fmt(r.batches)} batches (max ${fmt(r.maxBatch)} events), collector CPU ${(r.cpu * 100).toFixed(0)}%` +
      (r.lossless ? '' : '  LOSS'),
  );
}
const best = rows.filter((r) => r.lossless).reduce((a, r) => (a && a.jsRate >= r.jsRate ? a : r), null);
const figure = best ? best.jsRate : 0;
const ok = figure >= 200_000;
const table = [
  `${fmt(EVENTS)} UDP datagrams of ${PAYLOAD} bytes per run on loopback from ${GENERATORS} generator process(es) (benchmarks/ebpf/flood.c), one DATA event each; ` +
    `ring ${RING_MB} MiB, drain every ${DRAIN_MS} ms, one Buffer per drain, JS reads every record.`,
  '',
  '| generator | generator datagrams/s | events into JS | events/s into JS | kernel drops | missed | lost | bad payload | batches | max events/batch | collector CPU |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${how(r)} | ${fmt(r.genRate)} | ${fmt(r.seen)} | ${fmt(r.jsRate)} | ${fmt(r.drops)} | ${fmt(r.missed)} | ${fmt(r.lost)} | ${fmt(r.corrupt)} | ${fmt(r.batches)} | ${fmt(r.maxBatch)} | ${(r.cpu * 100).toFixed(0)}% |`,
  ),
  '',
  `- ${ok ? 'PASS' : 'FAIL'} >= 200,000 events/s into JS with zero loss: ${fmt(figure)} events/s (best lossless run: ${best ? how(best) : 'none'})`,
  `- load average at the end: ${os.loadavg()[0].toFixed(2)} (2 cores: the generator, the BPF programs running in its syscalls, the drain thread and JS share them)`,
].join('\n');
console.log(table);
console.log(`\nevents/s into JS with zero loss: ${fmt(figure)}`);
if (RECORD) {
  recordResults('eBPF events into JS (benchmarks/ebpf/events.mjs): ', table, '# Benchmark results\n');
  log('appended to benchmarks/RESULTS.md');
}
process.exit(best ? 0 : 1);

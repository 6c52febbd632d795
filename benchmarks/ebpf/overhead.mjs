/**
 * Issue 6, benchmark (b): what live capture costs the traffic it watches. `wrk` drives nginx and a Node
 * HTTP server on loopback at saturation for a fixed time, without spanwire and then with
 * `spanwire run --source ebpf` capturing everything; the table gives requests/s, p99 latency, the loss of
 * requests/s, spanwire's CPU over the run and its event counters (kernel ring drops, lost batches).
 * Targets: <= 10% requests/s loss for wrk -> nginx at saturation on this 2-core machine.
 *
 * Usage (root: BPF programs): node benchmarks/ebpf/overhead.mjs [--seconds S] [--connections C] [--no-record]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SPANWIRE, recordResults, which } from '../lib.mjs';

const { values: opts } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '50' }, 'no-record': { type: 'boolean', default: false } } });
const SECONDS = Number(opts.seconds);
const CONNECTIONS = Number(opts.connections);
const die = (m) => {
  process.stderr.write(`bench:ebpf-overhead: ${m}\n`);
  process.exit(2);
};
if (process.getuid() !== 0) die('needs root (BPF programs)');
for (const b of ['wrk', 'nginx']) if (!which(b) && !which(`/usr/sbin/${b}`)) die(`missing ${b}: bash test/setup-system.sh (apt-get install wrk)`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () => new Promise((res) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });

/** CPU seconds (user + system) of a process so far. */
function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

/** wrk at saturation: requests/s and p99 latency (ms). */
function wrk(url) {
  const r = spawnSync('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', url], { encoding: 'utf8' });
  const rps = Number((/Requests\/sec:\s+([\d.]+)/.exec(r.stdout) ?? [])[1]);
  const p99m = /\s99%\s+([\d.]+)(us|ms|s)/.exec(r.stdout);
  const p99 = p99m === null ? NaN : Number(p99m[1]) * (p99m[2] === 'us' ? 1e-3 : p99m[2] === 's' ? 1e3 : 1);
  const total = Number((/(\d+) requests in/.exec(r.stdout) ?? [])[1]);
  if (!Number.isFinite(rps)) die(`wrk failed: ${r.stdout}${r.stderr}`);
  return { rps, p99, total };
}

const dir = mkdtempSync(join(tmpdir(), 'spanwire-overhead-'));
mkdirSync(join(dir, 'tmp'));
const nginxPort = await freePort();
const nodePort = await freePort();
writeFileSync(join(dir, 'nginx.conf'), `daemon off; master_process off; worker_processes 1; user root; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  server { listen 127.0.0.1:${nginxPort}; location / { return 200 "ok\\n"; } } }
`);
const nginx = spawn('/usr/sbin/nginx', ['-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
const node = spawn(process.execPath, ['-e', `require('http').createServer((q, s) => s.end('ok\\n')).listen(${nodePort}, '127.0.0.1')`], { stdio: 'ignore' });
await sleep(1000);

process.stderr.write(`servers on ${nginxPort} and ${nodePort}\n`);
const rows = [];
const loadAtStart = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
try {
  for (const [name, url] of [['nginx', `http://127.0.0.1:${nginxPort}/`], ['node http', `http://127.0.0.1:${nodePort}/`]]) {
    const base = wrk(url);
    process.stderr.write(`${name}: ${base.rps.toFixed(0)} req/s without spanwire\n`);
    const sw = spawn(process.execPath, [SPANWIRE, 'run', '--source', 'ebpf', '--format', 'otlp-json', '-o', '/dev/null', '--no-spans-file', '--no-prometheus', '--port', String(url.split(':')[2].split('/')[0])], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    sw.stderr.on('data', (d) => (err += String(d)));
    for (let i = 0; !/capturing with eBPF/.test(err); i++) {
      if (sw.exitCode !== null || i > 100) die(`spanwire run did not start: ${err}`);
      await sleep(100);
    }
    await sleep(500);
    process.stderr.write(`${name}: spanwire run started\n`);
    const cpu0 = cpuSeconds(sw.pid);
    const t0 = performance.now();
    const withSw = wrk(url);
    const cpu = (cpuSeconds(sw.pid) - cpu0) / ((performance.now() - t0) / 1000);
    process.stderr.write(`${name}: ${withSw.rps.toFixed(0)} req/s with spanwire\n`);
    await sleep(2000);
    sw.kill('SIGINT');
    await new Promise((r) => sw.once('exit', r));
    const counters = JSON.parse((/counters (\{.*\})/.exec(err) ?? [, '{}'])[1]);
    rows.push({ name, base, withSw, cpu, counters });
    process.stderr.write(`${name}: ${base.rps.toFixed(0)} -> ${withSw.rps.toFixed(0)} req/s, spans ${counters.spans}, drops ${counters.drops}, lost ${counters.lost}\n`);
  }
} finally {
  nginx.kill('SIGTERM');
  node.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const table = [
  `wrk -t2 -c${CONNECTIONS} -d${SECONDS}s against each server on 127.0.0.1, without and with \`spanwire run --source ebpf --port P -o /dev/null\` (eBPF on every syscall of the host; the port filter keeps spanwire's work to this traffic). spanwire CPU: its process (drain thread + JS) over the run, in cores.`,
  '',
  '| server | req/s without | req/s with | loss | p99 without ms | p99 with ms | spanwire CPU | spans | events | ring drops | lost batches |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.name} | ${fmt(r.base.rps)} | ${fmt(r.withSw.rps)} | ${((1 - r.withSw.rps / r.base.rps) * 100).toFixed(1)}% | ${r.base.p99.toFixed(2)} | ${r.withSw.p99.toFixed(2)} | ${r.cpu.toFixed(2)} | ${fmt(r.counters.spans ?? 0)} | ${fmt(r.counters.events ?? 0)} | ${r.counters.drops ?? '?'} | ${r.counters.lost ?? '?'} |`),
  '',
  ...rows.filter((r) => r.name === 'nginx').map((r) => `- ${(1 - r.withSw.rps / r.base.rps) * 100 <= 10 ? 'PASS' : 'FAIL'} <= 10% requests/s loss for wrk -> nginx at saturation: ${((1 - r.withSw.rps / r.base.rps) * 100).toFixed(1)}%`),
  `- load average at start: ${loadAtStart}`,
].join('\n');
process.stdout.write(`${table}\n`);
if (!opts['no-record']) recordResults('eBPF overhead benchmark (benchmarks/ebpf/overhead.mjs): ', table, '# Benchmark results\n');

/**
 * Process helpers shared by the end-to-end tests: running commands, waiting for servers and exits,
 * free ports. (Test infrastructure only; no project code.)
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SPANWIRE = join(ROOT, 'bin', 'spanwire.js');
export const IS_ROOT = process.getuid?.() === 0;

export interface Run {
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else res({ stdout, stderr });
    });
  });
}

export function which(bin: string): boolean {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin']);
  return dirs.some((d) => d && existsSync(join(d, bin)));
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function waitExit(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`pid ${child.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(t);
      res(code);
    });
  });
}

/** Resolves when a TCP connect to 127.0.0.1:port succeeds; rejects if `child` exits or time runs out. */
export async function waitListening(port: number, child: ChildProcess, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited early with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${what} is not listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
}


/** Fails when tcpdump's closing summary (its stderr) reports packets dropped by the kernel. */
export function assertNoKernelDrops(tcpdumpStderr: string): void {
  if (!/\b0 packets dropped by kernel/.test(tcpdumpStderr)) throw new Error(`tcpdump dropped packets: ${tcpdumpStderr}`);
}

/** Stops each child still running with its signal, then SIGKILL if it has not exited within 5 s. */
export async function stopChildren(children: readonly (readonly [ChildProcess | undefined | null, NodeJS.Signals])[]): Promise<void> {
  for (const [child, sig] of children) {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill(sig);
      await waitExit(child, 5_000).catch(() => child.kill('SIGKILL'));
    }
  }
}

/** A running tcpdump and what it has printed on stderr. */
export interface Capture {
  child: ChildProcess;
  stderr: string[];
}

/**
 * Starts tcpdump on `lo` writing `pcap` for `filter`, resolving once it prints "listening on".
 * --immediate-mode: otherwise the packets of the last, unfinished ring block are lost on SIGINT.
 * -B: loopback frames are up to 64 KB, the default 2 MB ring holds only ~40 of them.
 * `onStart` receives the child at once, so that cleanup can stop it even if starting fails.
 */
export async function startTcpdump(pcap: string, filter: string, onStart: (child: ChildProcess) => void): Promise<Capture> {
  const stderr: string[] = [];
  const child = spawn('tcpdump', ['-i', 'lo', '-n', '-s', '0', '-U', '--immediate-mode', '-B', '65536', '-w', pcap, filter], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  onStart(child);
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`tcpdump did not start listening: ${stderr.join('')}`)), 10_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr.push(d.toString());
      if (stderr.join('').includes('listening on')) {
        clearTimeout(t);
        res();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      rej(new Error(`tcpdump exited with ${code}: ${stderr.join('')}`));
    });
  });
  return { child, stderr };
}

/** Stops tcpdump cleanly (SIGINT) and fails if the kernel dropped packets. */
export async function stopTcpdump(capture: Capture): Promise<void> {
  capture.child.kill('SIGINT');
  await waitExit(capture.child, 10_000);
  assertNoKernelDrops(capture.stderr.join(''));
}

/** A span read back from spanwire's OTLP/JSON output: name, status and attributes as plain values. */
export interface OtlpSpanView {
  /** Resource attributes (service.name, process.pid...). */
  resource: Record<string, string | number | boolean | undefined>;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  status: { code: number; message: string };
  attrs: Record<string, string | number | boolean | undefined>;
  startNs: bigint;
  endNs: bigint;
}

/** Reads an OTLP/JSON file (one ExportTraceServiceRequest per line) written by `spanwire replay -o`. */
export function readOtlpSpans(file: string): OtlpSpanView[] {
  type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
  type Span = {
    traceId: string;
    spanId: string;
    parentSpanId?: string;
    name: string;
    kind?: number;
    status?: { code?: number; message?: string };
    startTimeUnixNano: string;
    endTimeUnixNano: string;
    attributes?: { key: string; value: AnyValue }[];
  };
  const out: OtlpSpanView[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const req = JSON.parse(line) as { resourceSpans?: { resource?: { attributes?: { key: string; value: AnyValue }[] }; scopeSpans?: { spans?: Span[] }[] }[] };
    for (const rs of req.resourceSpans ?? []) {
      const resource: OtlpSpanView['attrs'] = {};
      for (const a of rs.resource?.attributes ?? []) {
        const v = a.value;
        resource[a.key] = v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.doubleValue ?? v.boolValue));
      }
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          const attrs: OtlpSpanView['attrs'] = {};
          for (const a of s.attributes ?? []) {
            const v = a.value;
            attrs[a.key] = v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.doubleValue ?? v.boolValue));
          }
          out.push({
            resource,
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            kind: s.kind ?? 0,
            status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
            attrs,
            startNs: BigInt(s.startTimeUnixNano),
            endNs: BigInt(s.endTimeUnixNano),
          });
        }
      }
    }
  }
  return out;
}

/**
 * The start of an nginx configuration for a test instance in `dir` (a `tmp/` subfolder must exist):
 * foreground, one process, logs and temp files under `dir`; ends inside the open `http {` block.
 */
export function nginxPrelude(dir: string): string {
  return `daemon off;
master_process off;
worker_processes 1;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;`;
}

/**
 * Runs `spanwire replay pcap --format otlp-json -o DIR/spans.otlp.jsonl` (the built CLI, as a user would)
 * and returns the output path. Fails clearly when the CLI or dist/ is missing.
 */
export async function replayToOtlp(pcap: string, dir: string): Promise<string> {
  if (!existsSync(SPANWIRE)) throw new Error(`${SPANWIRE} is missing: the CLI has not landed`);
  if (!existsSync(join(ROOT, 'dist')) || readdirSync(join(ROOT, 'dist')).length === 0) {
    throw new Error('dist/ is missing: run npm run build (npm test runs tsc first)');
  }
  const out = join(dir, 'spans.otlp.jsonl');
  await run(process.execPath, [SPANWIRE, 'replay', pcap, '--format', 'otlp-json', '-o', out], 60_000);
  return out;
}

/**
 * Shared by the tests of the native addon (native/): loading it (building it first when it is missing),
 * parsing its batches by the documented layout (native/README.md), child processes that make traffic.
 * The tests need root (AF_PACKET, BPF); elsewhere they are skipped with a loud warning.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ADDON_PATH = join(ROOT, 'native/build/Release/spanwire_native.node');
export const BPF_OBJECT = join(ROOT, 'native/build/bpf/spanwire.bpf.o');
export const IS_ROOT = process.getuid?.() === 0;

export function warnSkipped(file: string): void {
  if (!IS_ROOT) {
    console.warn(
      `\n*** SKIPPED ${file}: not root. The native capture tests need root (AF_PACKET needs CAP_NET_RAW, BPF needs ` +
        `CAP_BPF + CAP_PERFMON); CI runs them as root. ***\n`,
    );
  }
}

export interface Handle {
  stats(): Record<string, number>;
  close(): void;
  ref(): Handle;
  unref(): Handle;
  readonly warnings?: string[];
  readonly sslAttached?: string[];
  readonly linkType?: number;
  readonly ifindex?: number;
}

export interface Addon {
  afPacketOpen(opts: Record<string, unknown>, onBatch: (b: Buffer) => void): Handle;
  ebpfOpen(opts: Record<string, unknown>, onBatch: (b: Buffer) => void): Handle;
  afPacketLayout: { recordHeader: number; align: number; offsets: Record<string, number> };
  ebpfLayout: {
    headerSize: number;
    offsets: Record<string, number>;
    kinds: Record<string, number>;
    flags: Record<string, number>;
  };
}

/** Loads the addon; builds it (native/build.mjs --strict) when it is missing, so a root run never skips. */
export function loadAddon(): Addon {
  if (!existsSync(ADDON_PATH) || !existsSync(BPF_OBJECT)) {
    execFileSync(process.execPath, [join(ROOT, 'native/build.mjs'), '--strict'], { stdio: 'inherit' });
  }
  return createRequire(import.meta.url)(ADDON_PATH) as Addon;
}

// ---- AF_PACKET records (native/README.md) ----
export interface PacketRecord {
  recordLen: number;
  caplen: number;
  wirelen: number;
  ifindex: number;
  tsNs: bigint;
  linkType: number;
  data: Buffer;
}

export function parsePacketBatch(b: Buffer): PacketRecord[] {
  const out: PacketRecord[] = [];
  let p = 0;
  while (p < b.length) {
    const recordLen = b.readUInt32LE(p);
    const caplen = b.readUInt32LE(p + 4);
    if (recordLen < 32 || recordLen % 8 !== 0 || p + recordLen > b.length || 32 + caplen > recordLen) {
      throw new Error(`malformed AF_PACKET record at ${p}: recordLen ${recordLen} caplen ${caplen} batch ${b.length}`);
    }
    out.push({
      recordLen,
      caplen,
      wirelen: b.readUInt32LE(p + 8),
      ifindex: b.readUInt32LE(p + 12),
      tsNs: b.readBigUInt64LE(p + 16),
      linkType: b.readUInt16LE(p + 24),
      data: Buffer.from(b.subarray(p + 32, p + 32 + caplen)),
    });
    p += recordLen;
  }
  return out;
}

// ---- eBPF events (native/bpf/events.h) ----
export const KIND = { DATA: 1, CONNECT: 2, ACCEPT: 3, CLOSE: 4, SSL_DATA: 5 } as const;
export const FLAG = { TRUNCATED: 1, IPV6: 2, UDP: 4, PEER_ADDR: 8, NO_SOCK: 16 } as const;
export const NR = {
  read: 0, write: 1, close: 3, readv: 19, writev: 20, connect: 42, accept: 43, sendto: 44, recvfrom: 45,
  sendmsg: 46, recvmsg: 47, accept4: 288, recvmmsg: 299, sendmmsg: 307, ssl: 0xffff,
} as const;

export interface SwEvent {
  tsEnterNs: bigint;
  tsExitNs: bigint;
  pid: number;
  tid: number;
  fd: number;
  kind: number;
  direction: number;
  syscall: number;
  flags: number;
  sport: number;
  dport: number;
  saddr: string;
  daddr: string;
  tcpSeq: number;
  totalLen: number;
  capturedLen: number;
  /** SSL_DATA: the SSL* pointer (one TLS connection); 0 otherwise. */
  sslId: bigint;
  sockId: bigint;
  comm: string;
  payload: Buffer;
}

/** An address as text: IPv4 (first 4 bytes) or IPv6; a v4-mapped IPv6 address is written as IPv4. */
export function addr(b: Buffer, v6: boolean): string {
  if (!v6) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(i).toString(16));
  return parts.join(':');
}

export const HEADER = 120;

export function parseEventBatch(b: Buffer): SwEvent[] {
  const out: SwEvent[] = [];
  let p = 0;
  while (p < b.length) {
    const len = b.readUInt32LE(p);
    const r = p + 4;
    if (len < HEADER || r + len > b.length) throw new Error(`malformed event record at ${p}: len ${len} batch ${b.length}`);
    const capturedLen = b.readUInt32LE(r + 84);
    if (HEADER + capturedLen !== len) throw new Error(`event record at ${p}: len ${len} but capturedLen ${capturedLen}`);
    const flags = b.readUInt32LE(r + 36);
    const v6 = (flags & FLAG.IPV6) !== 0;
    const comm = b.subarray(r + 104, r + 120);
    const nul = comm.indexOf(0);
    out.push({
      tsEnterNs: b.readBigUInt64LE(r),
      tsExitNs: b.readBigUInt64LE(r + 8),
      pid: b.readUInt32LE(r + 16),
      tid: b.readUInt32LE(r + 20),
      fd: b.readUInt32LE(r + 24),
      kind: b.readUInt16LE(r + 28),
      direction: b.readUInt16LE(r + 30),
      syscall: b.readUInt32LE(r + 32),
      flags,
      sport: b.readUInt16LE(r + 40),
      dport: b.readUInt16LE(r + 42),
      saddr: addr(b.subarray(r + 44, r + 60), v6),
      daddr: addr(b.subarray(r + 60, r + 76), v6),
      tcpSeq: b.readUInt32LE(r + 76),
      totalLen: b.readUInt32LE(r + 80),
      capturedLen,
      sslId: b.readBigUInt64LE(r + 88),
      sockId: b.readBigUInt64LE(r + 96),
      comm: comm.subarray(0, nul < 0 ? 16 : nul).toString('latin1'),
      payload: Buffer.from(b.subarray(r + HEADER, r + HEADER + capturedLen)),
    });
    p = (r + len + 7) & ~7;
  }
  return out;
}

/** An eBPF capture collecting every event; `events(pred)` filters. */
export class EbpfCapture {
  readonly all: SwEvent[] = [];
  readonly handle: Handle;
  batches = 0;
  constructor(addon: Addon, opts: Record<string, unknown>) {
    this.handle = addon.ebpfOpen({ objectPath: BPF_OBJECT, excludePid: process.pid, ...opts }, (b) => {
      this.batches++;
      for (const e of parseEventBatch(b)) this.all.push(e);
    });
  }
  events(pred: (e: SwEvent) => boolean): SwEvent[] {
    return this.all.filter(pred);
  }
  /** Waits for the drain thread to hand over what the kernel has (drainMs is 10 by default). */
  async settle(ms = 150): Promise<void> {
    await sleep(ms);
  }
  close(): void {
    this.handle.close();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP port that was free a moment ago on 127.0.0.1 (also used for UDP: ephemeral ports rarely collide). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => res(p));
    });
  });
}

/** Runs a child process to completion; resolves with its pid, stdout and exit code. */
export function runChild(cmd: string, args: string[], timeoutMs = 20_000): Promise<{ pid: number; stdout: string; stderr: string; code: number | null }> {
  return new Promise((res, rej) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout!.on('data', (d) => (stdout += String(d)));
    c.stderr!.on('data', (d) => (stderr += String(d)));
    const t = setTimeout(() => {
      c.kill('SIGKILL');
      rej(new Error(`${cmd} ${args.join(' ')} timed out\n${stderr}`));
    }, timeoutMs);
    c.on('error', rej);
    c.on('exit', (code) => {
      clearTimeout(t);
      res({ pid: c.pid!, stdout, stderr, code });
    });
  });
}

/** Starts a long-running child and waits for a line on stdout matching `ready`. */
export async function startChild(cmd: string, args: string[], ready: RegExp, timeoutMs = 15_000): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += String(d)));
  const match = await new Promise<RegExpMatchArray>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`${cmd}: no ${ready} within ${timeoutMs} ms: ${out} ${err}`)), timeoutMs);
    child.stdout!.on('data', (d) => {
      out += String(d);
      const m = out.match(ready);
      if (m) {
        clearTimeout(t);
        res(m);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      rej(new Error(`${cmd} exited ${code} before ready: ${out} ${err}`));
    });
  });
  return { child, match };
}

export function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    child.once('exit', () => res());
    child.kill('SIGTERM');
  });
}

/** Compiles test/native/fixtures/sockops.c (a C helper doing readv/writev/sendmmsg/recvmmsg...) once. */
let sockops: string | null = null;
export function sockopsBinary(): string {
  if (sockops) return sockops;
  const dir = mkdtempSync(join(tmpdir(), 'spanwire-native-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'sockops');
  const cc = ['cc', 'clang', 'gcc'].find((c) => {
    try {
      execFileSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!cc) throw new Error('no C compiler (cc, clang, gcc) for test/native/fixtures/sockops.c');
  execFileSync(cc, ['-O1', '-Wall', '-o', out, join(ROOT, 'test/native/fixtures/sockops.c')], { stdio: 'inherit' });
  sockops = out;
  return out;
}

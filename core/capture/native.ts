/**
 * The optional native addon (native/: AF_PACKET ring and eBPF loader; see native/README.md). It is
 * built by `npm run build:native` when the toolchain is present; without it live capture explains
 * why and what to install instead of failing with a stack trace.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root: this file is core/capture/native.ts (tests) or dist/core/capture/native.js. */
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = existsSync(resolve(HERE, '../../package.json')) ? resolve(HERE, '../..') : resolve(HERE, '../../..');

export const NATIVE_ADDON = resolve(ROOT, 'native/build/Release/spanwire_native.node');
export const BPF_OBJECT = resolve(ROOT, 'native/build/bpf/spanwire.bpf.o');

export interface NativeHandle {
  stats(): Record<string, number>;
  close(): void;
  readonly warnings?: string[];
}

export interface AfPacketOptions {
  iface: string;
  filter: string;
  snaplen?: number;
  blockSize?: number;
  blockCount?: number;
  pollMs?: number;
}

export interface EbpfOptions {
  objectPath: string;
  excludePid: number;
  pidFilter: number[];
  portFilter: number[];
  maxPayload: number;
  ringBytes?: number;
  drainMs?: number;
  sslLibs: string[];
}

export interface NativeAddon {
  afPacketOpen(opts: AfPacketOptions, onBatch: (batch: Buffer) => void): NativeHandle;
  ebpfOpen(opts: EbpfOptions, onBatch: (batch: Buffer) => void): NativeHandle;
}

export type NativeLoad = { ok: true; addon: NativeAddon } | { ok: false; reason: string };

let cached: NativeLoad | null = null;

/** Loads the addon once; the reason says what is missing and how to get it. */
export function loadNative(): NativeLoad {
  if (cached !== null) return cached;
  if (!existsSync(NATIVE_ADDON)) {
    cached = {
      ok: false,
      reason: `the native capture addon is not built (${NATIVE_ADDON} is missing): run \`bash test/setup-system.sh\` (as root: clang, libbpf, libpcap) then \`npm run build:native\``,
    };
    return cached;
  }
  try {
    const addon = createRequire(import.meta.url)(NATIVE_ADDON) as NativeAddon;
    cached = { ok: true, addon };
  } catch (e) {
    cached = { ok: false, reason: `the native capture addon cannot be loaded: ${(e as Error).message}` };
  }
  return cached;
}

/**
 * A loaded Wasm plugin: its compiled module, the live instance, views on its memory, and the guarded
 * calls into it. Every call goes through `guard` semantics: a trap (including a fuel trap = over the
 * time budget, and an allocation failing at the memory cap) is caught, classified, counted, and the
 * instance is re-created from the compiled module; after `maxTimeouts` budget overruns or `maxTraps`
 * traps the plugin is disabled (it then matches nothing and parses nothing). Results out of range are
 * rejected and counted. Payloads go through the plugin's fixed input window, results come back in
 * its fixed output area: nothing is allocated per call on this side.
 */
import { readFileSync } from 'node:fs';
import {
  CAP_HTTP_REQUEST,
  CAP_HTTP_RESPONSE,
  CAP_PARSER,
  DESC,
  OUT,
  OUT_BYTES,
  REQUIRED_EXPORTS,
  WASM_ABI_VERSION,
} from './abi.js';
import { FUEL_EXPORT, instrumentPlugin } from './instrument.js';
import type { WasmGlobal, WasmImports, WasmMemory, WasmModule } from './wasm-api.js';
import { isWasmMemory, WA } from './wasm-api.js';

export interface WasmPluginLimits {
  /** Memory cap in MiB (default 64). */
  maxMemoryMiB: number;
  /**
   * Fuel per call: loop iterations plus function calls a single call may run (default 20,000,000:
   * roughly 20-60 ms of plugin code). Past it the call is stopped.
   */
  fuelPerCall: number;
  /** Calls stopped for their budget before the plugin is disabled (default 3). */
  maxTimeouts: number;
  /** Traps (including memory exhaustion) before the plugin is disabled (default 50). */
  maxTraps: number;
}

export const DEFAULT_WASM_PLUGIN_LIMITS: WasmPluginLimits = {
  maxMemoryMiB: 64,
  fuelPerCall: 20_000_000,
  maxTimeouts: 3,
  maxTraps: 50,
};

/** What happened to a plugin (read by `spanwire plugin test`, the replay summary and tests). */
export interface WasmPluginStats {
  calls: number;
  traps: number;
  timeouts: number;
  memoryFaults: number;
  badResults: number;
  badRecords: number;
  droppedRecords: number;
  reinstantiations: number;
  disabled: boolean;
  /** Why the plugin was disabled, '' while enabled. */
  disabledReason: string;
  /** The last trap's message (e.g. the AssemblyScript abort text). */
  lastTrap: string;
}

/** The plugin's registration, from `spanwire_describe`. */
export interface WasmPluginDescriptor {
  name: string;
  capabilities: number;
  transports: ('tcp' | 'udp')[];
  ports: number[];
  probeLimit: number;
}

/** A plugin that cannot be loaded (bad file, wrong ABI, bad descriptor): the message says why. */
export class WasmPluginError extends Error {}

/** Returned by a guarded call that trapped. */
export const CALL_TRAPPED = -0x7fffffff;

const PAGE = 65536;
const INTERN_SLOTS = 1024;
const INTERN_MAX_LEN = 40;
const NAME_RE = /^[a-z][a-z0-9_]{0,31}$/;

type Fn0 = () => number;
type Fn1 = (a: number) => number;
type Fn2 = (a: number, b: number) => number;
type Fn3 = (a: number, b: number, c: number) => number;

export class WasmPlugin {
  readonly stats: WasmPluginStats = {
    calls: 0,
    traps: 0,
    timeouts: 0,
    memoryFaults: 0,
    badResults: 0,
    badRecords: 0,
    droppedRecords: 0,
    reinstantiations: 0,
    disabled: false,
    disabledReason: '',
    lastTrap: '',
  };
  /** Incremented each time the instance is re-created: sessions of older generations are gone. */
  generation = 0;
  descriptor: WasmPluginDescriptor = { name: '', capabilities: 0, transports: [], ports: [], probeLimit: 0 };

  // The live instance and views on its memory (re-created after memory.grow detaches them).
  private memory!: WasmMemory;
  private buffer: ArrayBuffer = new ArrayBuffer(0);
  u8: Uint8Array = new Uint8Array(0);
  i32: Int32Array = new Int32Array(0);
  f64: Float64Array = new Float64Array(0);
  /** Node Buffer over the same memory, for UTF-8 decoding. */
  bytes: Buffer = Buffer.alloc(0);
  inputPtr = 0;
  inputCap = 0;
  outputPtr = 0;
  private fuel!: WasmGlobal;
  private abortMessage = '';
  private readonly internTable: (string | undefined)[] = new Array<string | undefined>(INTERN_SLOTS).fill(undefined);

  fnVersion!: Fn0;
  fnDescribe!: Fn0;
  fnProbe!: Fn3;
  fnOpen!: Fn2;
  fnParse!: Fn3;
  fnGap!: Fn3;
  fnEnd!: Fn2;
  fnClose!: Fn1;
  fnHttpRequest!: Fn2;
  fnHttpResponse!: Fn2;

  private constructor(
    readonly path: string,
    private readonly module: WasmModule,
    private readonly importsMemory: boolean,
    private readonly initialPages: number,
    private readonly maxPages: number,
    readonly limits: WasmPluginLimits,
  ) {}

  /**
   * Loads, instruments, compiles and instantiates a plugin, checks its ABI version and exports and
   * reads its descriptor. Throws WasmPluginError with a message that names the file and the fix.
   */
  static async load(path: string, limits: Partial<WasmPluginLimits> = {}, bytes?: Uint8Array): Promise<WasmPlugin> {
    const lim: WasmPluginLimits = { ...DEFAULT_WASM_PLUGIN_LIMITS, ...limits };
    let wasm: Uint8Array;
    try {
      wasm = bytes ?? readFileSync(path);
    } catch (e) {
      throw new WasmPluginError(`${path}: cannot read: ${(e as Error).message}`);
    }
    if (!WA.validate(wasm)) {
      throw new WasmPluginError(`${path}: not a valid WebAssembly module (build it with \`spanwire plugin build\`)`);
    }
    const maxPages = Math.max(1, Math.floor((lim.maxMemoryMiB * (1 << 20)) / PAGE));
    let inst;
    try {
      inst = await instrumentPlugin(wasm, lim.fuelPerCall, maxPages);
    } catch (e) {
      throw new WasmPluginError(`${path}: ${(e as Error).message}`);
    }
    const module = await WA.compile(inst.bytes);
    checkInterface(path, module);
    const p = new WasmPlugin(path, module, inst.importsMemory, inst.initialPages, Math.min(maxPages, inst.declaredMaxPages ?? maxPages), lim);
    try {
      p.instantiate();
    } catch (e) {
      throw new WasmPluginError(`${path}: instantiating failed (its start code trapped?): ${(e as Error).message}`);
    }
    p.checkVersionAndDescribe();
    return p;
  }

  get name(): string {
    return this.descriptor.name;
  }

  /** The memory cap, bytes. */
  get memoryCapBytes(): number {
    return this.maxPages * PAGE;
  }

  private instantiate(): void {
    const imports: WasmImports = {
      env: {
        abort: (msg: number, file: number, line: number, col: number) => {
          this.abortMessage = `abort: ${this.readAsString(msg)} at ${this.readAsString(file)}:${line}:${col}`;
          throw new WA.RuntimeError(this.abortMessage);
        },
        trace: () => {},
        seed: () => 0x5eed,
      },
    };
    if (this.importsMemory) {
      this.memory = new WA.Memory({ initial: this.initialPages, maximum: this.maxPages });
      imports.env.memory = this.memory;
    }
    const instance = new WA.Instance(this.module, imports);
    const x = instance.exports as Record<string, unknown>;
    if (!this.importsMemory) {
      const mem = Object.values(x).find(isWasmMemory);
      if (mem === undefined) throw new WasmPluginError(`${this.path}: the module's memory is not exported`);
      this.memory = mem;
    }
    this.fuel = x[FUEL_EXPORT] as WasmGlobal;
    this.fnVersion = x.spanwire_abi_version as Fn0;
    this.fnDescribe = x.spanwire_describe as Fn0;
    this.fnProbe = x.spanwire_probe as Fn3;
    this.fnOpen = x.spanwire_session_open as Fn2;
    this.fnParse = x.spanwire_parse as Fn3;
    this.fnGap = x.spanwire_gap as Fn3;
    this.fnEnd = x.spanwire_end as Fn2;
    this.fnClose = x.spanwire_session_close as Fn1;
    this.fnHttpRequest = x.spanwire_http_request as Fn2;
    this.fnHttpResponse = x.spanwire_http_response as Fn2;
    this.refreshViews();
    const ptrs = [(x.spanwire_input_ptr as Fn0)(), (x.spanwire_input_cap as Fn0)(), (x.spanwire_output_ptr as Fn0)()];
    this.refreshViews();
    const [inPtr, inCap, outPtr] = ptrs;
    const size = this.buffer.byteLength;
    if (
      !Number.isInteger(inPtr) || !Number.isInteger(inCap) || !Number.isInteger(outPtr) ||
      inCap < 64 || inPtr < 0 || inPtr + inCap > size || outPtr < 0 || outPtr % 8 !== 0 || outPtr + OUT_BYTES > size ||
      (inPtr < outPtr + OUT_BYTES && outPtr < inPtr + inCap)
    ) {
      throw new WasmPluginError(
        `${this.path}: bad memory areas: input window ${inPtr}+${inCap}, output area ${outPtr}+${OUT_BYTES} in ${size} bytes of memory`,
      );
    }
    this.inputPtr = inPtr;
    this.inputCap = inCap;
    this.outputPtr = outPtr;
  }

  /** Re-creates the views when the memory grew (growing detaches the old ArrayBuffer). */
  refreshViews(): void {
    const buf = this.memory.buffer;
    if (buf === this.buffer) return;
    this.buffer = buf;
    this.u8 = new Uint8Array(buf);
    this.i32 = new Int32Array(buf);
    this.f64 = new Float64Array(buf);
    this.bytes = Buffer.from(buf);
  }

  /** Zeroes the output header before a call (the plugin appends records after it). */
  resetOutput(): void {
    const h = this.outputPtr >> 2;
    this.i32[h] = 0;
    this.i32[h + 1] = 0;
    this.i32[h + 2] = 0;
    this.i32[h + 3] = 0;
  }

  /**
   * Copies `buf[offset .. offset+length)` into the input window (the caller caps length at inputCap).
   * Short payloads are copied byte by byte (no view object); long ones with one `set`.
   */
  writeInput(buf: Uint8Array, offset: number, length: number): void {
    const u8 = this.u8;
    const base = this.inputPtr;
    if (length <= 128) {
      for (let i = 0; i < length; i++) u8[base + i] = buf[offset + i];
    } else {
      u8.set(buf.subarray(offset, offset + length), base);
    }
  }

  /** A UTF-8 string in the output pool, or null when the range is outside what the plugin wrote. */
  poolString(off: number, len: number): string | null {
    const used = this.i32[(this.outputPtr + OUT.poolUsed) >> 2];
    if (len === 0 && off >= 0) return '';
    if (!(off >= 0 && len > 0 && off + len <= used && used <= OUT.poolSize)) return null;
    const start = this.outputPtr + OUT.pool + off;
    return len <= INTERN_MAX_LEN ? this.interned(start, len) : this.bytes.toString('utf8', start, start + len);
  }

  /**
   * Short ASCII strings (attribute keys, methods, status words: the same few again and again) come
   * from a small direct-mapped table: a hit costs a hash and a compare, and allocates nothing.
   */
  private interned(start: number, len: number): string {
    const u8 = this.u8;
    let h = 0x811c9dc5;
    for (let i = 0; i < len; i++) {
      const c = u8[start + i];
      if (c >= 0x80) return this.bytes.toString('utf8', start, start + len);
      h = Math.imul(h ^ c, 0x01000193);
    }
    const slot = (h ^ (h >>> 15)) & (INTERN_SLOTS - 1);
    const cand = this.internTable[slot];
    if (cand !== undefined && cand.length === len) {
      let i = 0;
      while (i < len && cand.charCodeAt(i) === u8[start + i]) i++;
      if (i === len) return cand;
    }
    const s = this.bytes.toString('latin1', start, start + len);
    this.internTable[slot] = s;
    return s;
  }

  /** An AssemblyScript string (UTF-16, byte length at ptr-4) for abort messages, bounded. */
  private readAsString(ptr: number): string {
    try {
      this.refreshViews();
      if (ptr < 4 || ptr >= this.buffer.byteLength) return '?';
      const n = Math.min(this.i32.length > 0 ? new DataView(this.buffer).getUint32(ptr - 4, true) : 0, 512);
      if (ptr + n > this.buffer.byteLength) return '?';
      return Buffer.from(this.buffer, ptr, n & ~1).toString('utf16le');
    } catch {
      return '?';
    }
  }

  /**
   * Called when a plugin call threw: classify (fuel = over the time budget; memory at the cap;
   * other trap), count, re-create the instance, and disable the plugin after repeated offences.
   * Returns the kind: 'timeout' | 'memory' | 'trap'.
   */
  onTrap(e: unknown): 'timeout' | 'memory' | 'trap' {
    let kind: 'timeout' | 'memory' | 'trap' = 'trap';
    const fuelLeft = this.fuel.value as number;
    const pages = this.memory.buffer.byteLength / PAGE;
    if (fuelLeft < 0) kind = 'timeout';
    else if (pages >= this.maxPages * 0.9) kind = 'memory';
    this.stats.lastTrap = this.abortMessage !== '' ? this.abortMessage : e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
    this.abortMessage = '';
    if (kind === 'timeout') this.stats.timeouts++;
    else if (kind === 'memory') this.stats.memoryFaults++;
    this.stats.traps++;
    if (kind === 'timeout' && this.stats.timeouts >= this.limits.maxTimeouts) {
      this.disable(`${this.stats.timeouts} calls over the time budget (${this.limits.fuelPerCall} fuel per call)`);
    } else if (this.stats.traps >= this.limits.maxTraps) {
      this.disable(`${this.stats.traps} traps (last: ${this.stats.lastTrap})`);
    }
    if (!this.stats.disabled) this.reinstantiate();
    return kind;
  }

  /** Counts a result out of range; the call's output is ignored. */
  onBadResult(): void {
    this.stats.badResults++;
  }

  disable(reason: string): void {
    if (this.stats.disabled) return;
    this.stats.disabled = true;
    this.stats.disabledReason = reason;
    this.generation++;
  }

  private reinstantiate(): void {
    this.generation++;
    this.stats.reinstantiations++;
    try {
      this.instantiate();
    } catch (e) {
      this.disable(`re-instantiation failed: ${(e as Error).message}`);
    }
  }

  // ---- load-time checks ----------------------------------------------------------------------

  private checkVersionAndDescribe(): void {
    const v = this.fnVersion();
    if (v !== WASM_ABI_VERSION) {
      throw new WasmPluginError(
        `${this.path}: plugin ABI version ${v}, this spanwire speaks version ${WASM_ABI_VERSION}: rebuild the plugin with the wasm-sdk of this spanwire (\`spanwire plugin build\`)`,
      );
    }
    this.resetOutput();
    const r = this.fnDescribe();
    this.refreshViews();
    if (r !== 0) {
      throw new WasmPluginError(
        `${this.path}: spanwire_describe returned ${r}: the plugin registered no parser and no HTTP hooks (call registerParser or registerHttpHooks at its top level)`,
      );
    }
    const d = (this.outputPtr + OUT.msgs) >> 2;
    const caps = this.i32[d + DESC.caps / 4];
    const transports = this.i32[d + DESC.transports / 4];
    const probeLimit = this.i32[d + DESC.probeLimit / 4];
    const name = this.poolString(this.i32[d + DESC.name / 4], this.i32[d + DESC.name / 4 + 1]);
    const portCount = this.i32[d + DESC.portCount / 4];
    if (name === null || !NAME_RE.test(name)) {
      throw new WasmPluginError(`${this.path}: bad protocol name ${JSON.stringify(name)}: lower-case letters, digits and '_', starting with a letter, at most 32`);
    }
    if ((caps & ~(CAP_PARSER | CAP_HTTP_REQUEST | CAP_HTTP_RESPONSE)) !== 0 || caps === 0) throw new WasmPluginError(`${this.path}: bad capabilities ${caps}`);
    if ((caps & CAP_PARSER) !== 0 && (transports < 1 || transports > 3)) throw new WasmPluginError(`${this.path}: bad transports ${transports} (TCP=1, UDP=2)`);
    if (portCount < 0 || portCount > DESC.maxPorts) throw new WasmPluginError(`${this.path}: bad port count ${portCount}`);
    const ports: number[] = [];
    for (let i = 0; i < portCount; i++) {
      const port = this.i32[d + DESC.ports / 4 + i];
      if (port < 1 || port > 65535) throw new WasmPluginError(`${this.path}: bad port ${port}`);
      ports.push(port);
    }
    const tr: ('tcp' | 'udp')[] = [];
    if (transports & 1) tr.push('tcp');
    if (transports & 2) tr.push('udp');
    this.descriptor = {
      name,
      capabilities: caps,
      transports: tr,
      ports,
      probeLimit: Math.max(1, Math.min(this.inputCap, probeLimit > 0 ? probeLimit : 1024)),
    };
  }

}

function checkInterface(path: string, module: WasmModule): void {
  const exp = new Map(WA.Module.exports(module).map((e) => [e.name, e.kind]));
  const missing = Object.keys(REQUIRED_EXPORTS).filter((n) => exp.get(n) !== 'function');
  if (missing.length > 0) {
    throw new WasmPluginError(
      `${path}: not a spanwire plugin: missing exports ${missing.join(', ')} (add \`export * from "wasm-sdk/abi";\` to the plugin\'s entry file)`,
    );
  }
  const allowed = new Set(['env.memory', 'env.abort', 'env.trace', 'env.seed']);
  const extra = WA.Module.imports(module).filter((i) => !allowed.has(`${i.module}.${i.name}`)).map((i) => `${i.module}.${i.name}`);
  if (extra.length > 0) {
    throw new WasmPluginError(`${path}: imports that spanwire does not provide: ${extra.join(', ')} (plugins may import env.abort, env.trace, env.seed and env.memory only)`);
  }
}

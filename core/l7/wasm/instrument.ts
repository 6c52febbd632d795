/**
 * Load-time instrumentation of a plugin binary with Binaryen (the optimizer AssemblyScript itself
 * uses), so that no plugin, however it was built, can stall or exhaust spanwire:
 *
 * - Fuel: Binaryen's `log-execution` pass puts a call at the top of every function and every loop;
 *   the call is then replaced by an inlined `fuel -= 1; if (fuel < 0) unreachable`. Every exported
 *   entry point is wrapped to reset the fuel to the per-call budget, so a call that loops or recurses
 *   past its budget traps (the host reads the exported fuel global to tell it from other traps).
 *   Measured cost: see benchmarks/wasm (about 10-15% on a tight byte loop).
 * - Memory cap: an imported memory is given a maximum by the host; a memory the module defines
 *   itself is rewritten with that maximum. `memory.grow` past it fails (-1), and the AssemblyScript
 *   allocator then traps.
 */

/** The exported global holding the fuel left (negative after a fuel trap). */
export const FUEL_EXPORT = 'spanwire$fuel';

export interface InstrumentedPlugin {
  bytes: Uint8Array;
  /** The module imports its memory (as env.memory) rather than defining it. */
  importsMemory: boolean;
  /** Pages the module asks for at start, and its own maximum if it declares one. */
  initialPages: number;
  declaredMaxPages: number | null;
}

type Binaryen = typeof import('binaryen').default;
let binaryenPromise: Promise<Binaryen> | null = null;

function loadBinaryen(): Promise<Binaryen> {
  binaryenPromise ??= import('binaryen').then((m) => m.default);
  return binaryenPromise;
}

/** Instruments `wasm` (already checked by WebAssembly.validate) with fuel metering and a memory cap. */
export async function instrumentPlugin(wasm: Uint8Array, fuelPerCall: number, maxPages: number): Promise<InstrumentedPlugin> {
  const b = await loadBinaryen();
  const m = b.readBinary(wasm);
  try {
    m.setFeatures(b.Features.All);
    if (!m.hasMemory()) throw new Error('the module has no memory (an ABI plugin has an input window and an output area in it)');
    const mem = m.getMemoryInfo();
    if (mem.is64 || mem.shared) throw new Error('64-bit or shared memory is not supported');
    const importsMemory = mem.module !== null && mem.module !== '';
    if (importsMemory && (mem.module !== 'env' || mem.base !== 'memory')) {
      throw new Error(`the module imports its memory as ${mem.module}.${mem.base}; expected env.memory`);
    }
    const declaredMax = mem.max === undefined || mem.max === null || mem.max >= 65536 ? null : mem.max;
    if (mem.initial > maxPages) {
      throw new Error(`the module needs ${mem.initial} memory pages at start, more than the cap of ${maxPages} (${(maxPages * 64) >> 10} MiB)`);
    }
    if (!importsMemory) {
      // Rewrite the module's own memory with the cap as its maximum, keeping its data segments.
      const segments = [];
      for (let i = 0; i < m.getNumMemorySegments(); i++) {
        const s = m.getMemorySegmentInfo(String(i));
        segments.push({ offset: s.offset, data: s.data, passive: s.passive });
      }
      const exportName = findMemoryExport(b, m);
      m.setMemory(mem.initial, Math.min(maxPages, declaredMax ?? maxPages), exportName, segments, false, false, '0');
    }

    for (let i = 0; i < m.getNumFunctions(); i++) {
      const name = b.getFunctionInfo(m.getFunctionByIndex(i)).name;
      if (name === 'log_execution' || name.startsWith('spanwire$')) throw new Error(`the module defines a reserved function name: ${name}`);
    }
    const fuel = FUEL_EXPORT;
    const budget = Math.max(1, Math.min(0x7fffffff, Math.floor(fuelPerCall)));
    m.runPasses(['log-execution']);
    m.removeFunction('log_execution');
    m.addGlobal(fuel, b.i32, true, m.i32.const(budget));
    m.addFunction(
      'log_execution',
      b.i32,
      b.none,
      [],
      m.block(null, [
        m.global.set(fuel, m.i32.sub(m.global.get(fuel, b.i32), m.i32.const(1))),
        m.if(m.i32.lt_s(m.global.get(fuel, b.i32), m.i32.const(0)), m.unreachable()),
      ]),
    );
    // Each exported function starts with a full budget.
    const exports: { name: string; fn: string }[] = [];
    for (let i = 0; i < m.getNumExports(); i++) {
      const e = b.getExportInfo(m.getExportByIndex(i));
      if (e.kind === b.ExternalFunction) exports.push({ name: e.name, fn: e.value });
    }
    for (const e of exports) {
      const f = b.getFunctionInfo(m.getFunction(e.fn));
      const params = b.expandType(f.params);
      const wrapper = `spanwire$entry$${e.name}`;
      const call = m.call(e.fn, params.map((t, j) => m.local.get(j, t)), f.results);
      m.addFunction(wrapper, f.params, f.results, [], m.block(null, [m.global.set(fuel, m.i32.const(budget)), call], f.results));
      m.removeExport(e.name);
      m.addFunctionExport(wrapper, e.name);
    }
    m.addGlobalExport(fuel, fuel);
    const inlineBefore = b.getAlwaysInlineMaxSize();
    const levelBefore = b.getOptimizeLevel();
    b.setAlwaysInlineMaxSize(40);
    b.setOptimizeLevel(2);
    try {
      m.runPasses(['inlining-optimizing']);
    } finally {
      b.setAlwaysInlineMaxSize(inlineBefore);
      b.setOptimizeLevel(levelBefore);
    }
    if (!m.validate()) throw new Error('the instrumented module does not validate');
    return { bytes: m.emitBinary(), importsMemory, initialPages: mem.initial, declaredMaxPages: declaredMax };
  } finally {
    m.dispose();
  }
}

function findMemoryExport(b: Binaryen, m: import('binaryen').default.Module): string | null {
  for (let i = 0; i < m.getNumExports(); i++) {
    const e = b.getExportInfo(m.getExportByIndex(i));
    if (e.kind === b.ExternalMemory) return e.name;
  }
  return null;
}

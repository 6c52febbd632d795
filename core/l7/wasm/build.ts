/**
 * `spanwire plugin build` and `spanwire plugin new`: compiling a plugin with the AssemblyScript
 * compiler (asc, a development dependency: `npm install --save-dev assemblyscript@0.28`) with the
 * options the ABI needs, and scaffolding a new plugin folder.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The spanwire folder holding wasm-sdk/ (found from this file, in core/ or dist/core/). */
export function spanwireRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'wasm-sdk', 'abi.ts'))) return d;
    d = dirname(d);
  }
  throw new Error('cannot find wasm-sdk/ next to this spanwire installation');
}

/** The asc options every plugin is built with (see wasm-sdk/ABI.md "Building"). */
export function ascArguments(entry: string, outFile: string, sdkParent: string, extra: readonly string[] = []): string[] {
  // --zeroFilledMemory: the host gives every instance a fresh (zeroed) memory, so the zero-filled
  // input window and output area need no data segment (118 KiB less per plugin).
  return [entry, '--path', sdkParent, '-O3', '--importMemory', '--zeroFilledMemory', '--runtime', 'incremental', '-o', outFile, ...extra];
}

export interface BuildResult {
  ok: boolean;
  outFile: string;
  /** The compiler's messages (errors and warnings). */
  log: string;
  ms: number;
}

/**
 * Compiles `entry` (an AssemblyScript file, e.g. plugin/assembly/index.ts) to `outFile` with asc.
 * `import ... from "wasm-sdk"` resolves to this spanwire's wasm-sdk/.
 */
export async function buildPlugin(entry: string, outFile: string, extra: readonly string[] = []): Promise<BuildResult> {
  const t0 = performance.now();
  let asc: typeof import('assemblyscript/asc');
  try {
    asc = await import('assemblyscript/asc');
  } catch {
    throw new Error('the AssemblyScript compiler is not installed: npm install --save-dev assemblyscript@0.28');
  }
  mkdirSync(dirname(resolve(outFile)), { recursive: true });
  const chunks: string[] = [];
  const sink = { write: (s: string | Uint8Array) => void chunks.push(typeof s === 'string' ? s : Buffer.from(s).toString()) };
  const r = await asc.main(ascArguments(resolve(entry), resolve(outFile), spanwireRoot(), extra.concat(['--noColors'])), { stdout: sink, stderr: sink });
  return { ok: r.error === null || r.error === undefined, outFile: resolve(outFile), log: chunks.join(''), ms: performance.now() - t0 };
}

/** Where `plugin build DIR` reads and writes: DIR/assembly/index.ts -> DIR/build/<dir name>.wasm. */
export function pluginPaths(dir: string): { entry: string; outFile: string } {
  const d = resolve(dir);
  return { entry: join(d, 'assembly', 'index.ts'), outFile: join(d, 'build', `${basename(d)}.wasm`) };
}

const NAME_RE = /^[a-z][a-z0-9_]{0,31}$/;

/**
 * Scaffolds a plugin folder `dir` whose protocol is named `name`: a working parser for a small line
 * protocol to start from, a test, a package.json and a README. Refuses to overwrite a folder.
 */
export function scaffoldPlugin(dir: string, name: string): string[] {
  if (!NAME_RE.test(name)) throw new Error(`bad plugin name "${name}": lower-case letters, digits and '_', starting with a letter, at most 32`);
  const d = resolve(dir);
  if (existsSync(d)) throw new Error(`${d} exists already: choose a new folder`);
  const root = spanwireRoot();
  const tpl = join(root, 'wasm-sdk', 'template');
  const host = pathToFileURL(join(root, 'dist', 'core', 'l7', 'wasm', 'index.js')).href;
  const files: [string, string][] = [
    ['assembly/index.ts', 'index.ts.txt'],
    ['test/plugin.test.mjs', 'plugin.test.mjs.txt'],
    ['package.json', 'package.json.txt'],
    ['README.md', 'README.md.txt'],
    ['tsconfig.json', 'tsconfig.json.txt'],
  ];
  const written: string[] = [];
  for (const [to, from] of files) {
    const text = readFileSync(join(tpl, from), 'utf8')
      .replaceAll('__NAME__', name)
      .replaceAll('__DIR__', basename(d))
      .replaceAll('__HOST__', host)
      .replaceAll('__SDK_TSCONFIG__', join(root, 'wasm-sdk', 'tsconfig.json'))
      .replaceAll('__SPANWIRE__', join(root, 'bin', 'spanwire.js'));
    const path = join(d, to);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    written.push(path);
  }
  return written;
}

/**
 * The Wasm plugin host: load `.wasm` parser plugins (AssemblyScript, wasm-sdk/) and register them
 * ahead of the built-in parsers.
 */
import type { ParserRegistry } from '../registry.js';
import { CAP_PARSER } from './abi.js';
import { WasmProtocolParser } from './parser.js';
import type { WasmPluginLimits } from './plugin.js';
import { WasmPlugin, WasmPluginError } from './plugin.js';

export { WASM_ABI_VERSION } from './abi.js';
export { WasmPlugin, WasmPluginError, DEFAULT_WASM_PLUGIN_LIMITS } from './plugin.js';
export type { WasmPluginLimits, WasmPluginStats, WasmPluginDescriptor } from './plugin.js';
export { WasmProtocolParser } from './parser.js';
export type { WasmMessageInfo } from './records.js';
export { WasmHttpHooks, applyHttpHookResults, newHttpHookResult } from './http-hooks.js';
export type { HttpHooks, HttpHookResult } from './http-hooks.js';

/** Loads plugins in order (fails fast on the first that cannot be loaded). */
export async function loadWasmPlugins(paths: readonly string[], limits: Partial<WasmPluginLimits> = {}): Promise<WasmPlugin[]> {
  const out: WasmPlugin[] = [];
  for (const path of paths) out.push(await WasmPlugin.load(path, limits));
  return out;
}

/**
 * Registers the parser of each plugin that has one ahead of the built-ins (`registerPlugin`).
 * Returns the registered parsers. A name already registered is a load error.
 */
export function registerWasmPlugins(registry: ParserRegistry, plugins: readonly WasmPlugin[]): WasmProtocolParser[] {
  const out: WasmProtocolParser[] = [];
  for (const p of plugins) {
    if ((p.descriptor.capabilities & CAP_PARSER) === 0) continue;
    if (registry.get(p.name) !== undefined) {
      throw new WasmPluginError(`${p.path}: protocol name '${p.name}' is already taken (a built-in parser or another plugin)`);
    }
    const parser = new WasmProtocolParser(p);
    registry.registerPlugin(parser);
    out.push(parser);
  }
  return out;
}
export { PluginHarness } from './harness.js';

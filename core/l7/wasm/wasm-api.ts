/**
 * The part of the WebAssembly JS API the plugin host uses, typed locally: the project compiles with
 * lib ES2023 and @types/node 20, neither of which declares the `WebAssembly` global.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
export interface WasmGlobal {
  value: number;
}
export type WasmModule = object;
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
export type WasmImports = Record<string, Record<string, unknown>>;
export interface WasmModuleDescriptor {
  name: string;
  kind: string;
  module?: string;
}

interface WasmApi {
  Memory: new (d: { initial: number; maximum?: number }) => WasmMemory;
  Instance: new (m: WasmModule, imports: WasmImports) => WasmInstance;
  Module: {
    exports(m: WasmModule): WasmModuleDescriptor[];
    imports(m: WasmModule): Required<WasmModuleDescriptor>[];
  };
  RuntimeError: new (message: string) => Error;
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<WasmModule>;
}

export const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export function isWasmMemory(v: unknown): v is WasmMemory {
  return typeof v === 'object' && v !== null && Object.prototype.toString.call(v) === '[object WebAssembly.Memory]';
}

/**
 * The host's view of the plugin ABI, version 1 (wasm-sdk/ABI.md; the SDK's copy of these numbers is
 * wasm-sdk/assembly/layout.ts). Byte offsets are relative to the address `spanwire_output_ptr()`
 * returns; the output area is read with Int32Array / Float64Array views, so offsets are multiples of 4
 * (8 for the f64 slot).
 */
export const WASM_ABI_VERSION = 1;

/** Output area: header. */
export const OUT = {
  msgCount: 0,
  attrCount: 4,
  poolUsed: 8,
  dropped: 12,
  msgs: 64,
  msgSize: 64,
  maxMsgs: 64,
  attrs: 64 + 64 * 64,
  attrSize: 32,
  maxAttrs: 512,
  pool: 64 + 64 * 64 + 32 * 512,
  poolSize: 32768,
} as const;
/** Bytes of the whole output area. */
export const OUT_BYTES = OUT.pool + OUT.poolSize;

/** Message record fields (byte offsets in a record). */
export const REC = {
  kind: 0,
  session: 4,
  start: 8,
  size: 12,
  flags: 16,
  status: 20,
  op: 24,
  resource: 32,
  error: 40,
  traceparent: 48,
  attrStart: 56,
  attrCount: 60,
} as const;

export const KIND_REQUEST = 1;
export const KIND_RESPONSE = 2;
export const KIND_HTTP_HOOK = 3;

export const FLAG_ONE_WAY = 1;
export const FLAG_ERROR = 2;
export const FLAG_HAS_STATUS = 4;
export const FLAG_AFTER_GAP = 8;
export const FLAG_KIND_SHIFT = 8;

/** Attribute record fields and value types. */
export const ATTR = { type: 0, key: 4, str: 12, num: 24 } as const;
export const ATTR_STRING = 1;
export const ATTR_INT = 2;
export const ATTR_DOUBLE = 3;
export const ATTR_BOOL = 4;

/** Descriptor written by `spanwire_describe` at OUT.msgs. */
export const DESC = { caps: 0, transports: 4, probeLimit: 8, name: 12, portCount: 20, ports: 24, maxPorts: 64 } as const;
export const CAP_PARSER = 1;
export const CAP_HTTP_REQUEST = 2;
export const CAP_HTTP_RESPONSE = 4;

/** `flags` of spanwire_probe / spanwire_session_open. */
export const HINT_UDP = 1;
export const HINT_DIRECTION_KNOWN = 2;
export const HINT_TO_SERVER = 4;

/** Exports every plugin must have, with their arity. */
export const REQUIRED_EXPORTS: Readonly<Record<string, number>> = {
  spanwire_abi_version: 0,
  spanwire_input_ptr: 0,
  spanwire_input_cap: 0,
  spanwire_output_ptr: 0,
  spanwire_describe: 0,
  spanwire_probe: 3,
  spanwire_session_open: 2,
  spanwire_parse: 3,
  spanwire_gap: 3,
  spanwire_end: 2,
  spanwire_session_close: 1,
  spanwire_http_request: 2,
  spanwire_http_response: 2,
};

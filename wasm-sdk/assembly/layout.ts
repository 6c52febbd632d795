// ABI v1 layout: the numbers every plugin and the host agree on. See ../ABI.md (this file is its
// source of truth for the SDK; core/l7/wasm/abi.ts is the host's copy).

export const ABI_VERSION: i32 = 1;

// Probe results (same numbering as the host's PROBE_*).
export const PROBE_NO: i32 = 0;
export const PROBE_REQUEST: i32 = 1;
export const PROBE_RESPONSE: i32 = 2;
export const PROBE_MATCH: i32 = 3;
export const PROBE_NEED_MORE: i32 = 4;

/** `parse` return value: stop parsing this flow. */
export const PARSE_ERROR: i32 = -1;

/** Transports (bit set). */
export const TCP: i32 = 1;
export const UDP: i32 = 2;

/** Pairing: in order (first request <-> first response). Any id >= 0 pairs by id. */
export const SESSION_FIFO: i32 = -1;

/** Span kinds (OTLP numbering) for `Message.spanKind`. */
export const KIND_SERVER: i32 = 2;
export const KIND_CLIENT: i32 = 3;
export const KIND_PRODUCER: i32 = 4;
export const KIND_CONSUMER: i32 = 5;

/** Span status for HTTP hooks (`Message.spanStatus`). */
export const STATUS_OK: i32 = 1;
export const STATUS_ERROR: i32 = 2;

export const INPUT_CAP: i32 = 65536;

// Output area: header, message records, attribute records, string pool.
export const OUT_MSG_COUNT: i32 = 0;
export const OUT_ATTR_COUNT: i32 = 4;
export const OUT_POOL_USED: i32 = 8;
export const OUT_DROPPED: i32 = 12;
export const OUT_HEADER_SIZE: i32 = 64;
export const MSG_RECORD_SIZE: i32 = 64;
export const MAX_MESSAGES: i32 = 64;
export const ATTR_RECORD_SIZE: i32 = 32;
export const MAX_ATTRS: i32 = 512;
export const OUT_MSGS: i32 = OUT_HEADER_SIZE;
export const OUT_ATTRS: i32 = OUT_MSGS + MSG_RECORD_SIZE * MAX_MESSAGES;
export const OUT_POOL: i32 = OUT_ATTRS + ATTR_RECORD_SIZE * MAX_ATTRS;
export const POOL_SIZE: i32 = 32768;
export const OUT_SIZE: i32 = OUT_POOL + POOL_SIZE;

// Message record fields (byte offsets).
export const M_KIND: i32 = 0;
export const M_SESSION: i32 = 4;
export const M_START: i32 = 8;
export const M_SIZE: i32 = 12;
export const M_FLAGS: i32 = 16;
export const M_STATUS: i32 = 20;
export const M_OP: i32 = 24;
export const M_RESOURCE: i32 = 32;
export const M_ERROR: i32 = 40;
export const M_TRACEPARENT: i32 = 48;
export const M_ATTR_START: i32 = 56;
export const M_ATTR_COUNT: i32 = 60;

// Message kinds.
export const REC_REQUEST: i32 = 1;
export const REC_RESPONSE: i32 = 2;
export const REC_HTTP_HOOK: i32 = 3;

// Message flags; bits 8-11 hold a span kind override.
export const F_ONE_WAY: i32 = 1;
export const F_ERROR: i32 = 2;
export const F_HAS_STATUS: i32 = 4;
export const F_AFTER_GAP: i32 = 8;
export const F_KIND_SHIFT: i32 = 8;

// Attribute record fields and types.
export const A_TYPE: i32 = 0;
export const A_KEY: i32 = 4;
export const A_STR: i32 = 12;
export const A_NUM: i32 = 24;
export const ATTR_STRING: i32 = 1;
export const ATTR_INT: i32 = 2;
export const ATTR_DOUBLE: i32 = 3;
export const ATTR_BOOL: i32 = 4;

// Descriptor (written by spanwire_describe at OUT_MSGS).
export const D_CAPS: i32 = 0;
export const D_TRANSPORTS: i32 = 4;
export const D_PROBE_LIMIT: i32 = 8;
export const D_NAME: i32 = 12;
export const D_PORT_COUNT: i32 = 20;
export const D_PORTS: i32 = 24;
export const MAX_PORTS: i32 = 64;
export const CAP_PARSER: i32 = 1;
export const CAP_HTTP_REQUEST: i32 = 2;
export const CAP_HTTP_RESPONSE: i32 = 4;

// Probe / session_open flags.
export const HINT_UDP: i32 = 1;
export const HINT_DIRECTION_KNOWN: i32 = 2;
export const HINT_TO_SERVER: i32 = 4;

/**
 * HTTP/2 framing (RFC 9113 section 4 and 6): frame types, flags, error codes, and the plausibility
 * check used by detection and by resynchronisation after a gap. No allocation.
 */
import { u32be as u32 } from '../../core/l7/bytes.js';

/** The client connection preface (RFC 9113 3.4), 24 bytes. */
export const PREFACE = Uint8Array.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', (c) => c.charCodeAt(0));

export const FRAME_HEADER_LEN = 9;
/** SETTINGS_MAX_FRAME_SIZE initial value (RFC 9113 6.5.2). */
export const DEFAULT_MAX_FRAME_SIZE = 16384;
/** Largest SETTINGS_MAX_FRAME_SIZE a peer may announce (2^24 - 1). */
export const MAX_MAX_FRAME_SIZE = 16777215;

export const T_DATA = 0x0;
export const T_HEADERS = 0x1;
export const T_PRIORITY = 0x2;
export const T_RST_STREAM = 0x3;
export const T_SETTINGS = 0x4;
export const T_PUSH_PROMISE = 0x5;
export const T_PING = 0x6;
export const T_GOAWAY = 0x7;
export const T_WINDOW_UPDATE = 0x8;
export const T_CONTINUATION = 0x9;

export const F_END_STREAM = 0x1;
export const F_ACK = 0x1;
export const F_END_HEADERS = 0x4;
export const F_PADDED = 0x8;
export const F_PRIORITY = 0x20;

/** SETTINGS identifiers (RFC 9113 6.5.2). */
export const S_HEADER_TABLE_SIZE = 0x1;
export const S_MAX_FRAME_SIZE = 0x5;

/** Flags defined per frame type (a frame with other flags set is legal but not plausible for detection). */
const DEFINED_FLAGS = [
  F_END_STREAM | F_PADDED, // DATA
  F_END_STREAM | F_END_HEADERS | F_PADDED | F_PRIORITY, // HEADERS
  0, // PRIORITY
  0, // RST_STREAM
  F_ACK, // SETTINGS
  F_END_HEADERS | F_PADDED, // PUSH_PROMISE
  F_ACK, // PING
  0, // GOAWAY
  0, // WINDOW_UPDATE
  F_END_HEADERS, // CONTINUATION
];

/** Error code names (RFC 9113 section 7); unknown codes are written as `0x..`. */
const ERROR_NAMES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];

export function errorCodeName(code: number): string {
  return code >= 0 && code < ERROR_NAMES.length ? ERROR_NAMES[code] : `0x${code.toString(16)}`;
}

export function u24(b: Uint8Array, p: number): number {
  return (b[p] << 16) | (b[p + 1] << 8) | b[p + 2];
}


/** 31-bit stream id (reserved bit ignored). */
export function streamIdAt(b: Uint8Array, p: number): number {
  return u32(b, p) & 0x7fffffff;
}

/**
 * Is the 9-byte frame header at `b[p..p+9)` plausible: a known type, only its defined flags, the
 * reserved bit clear, a length within `maxLen`, the stream id rules of its type and the fixed
 * payload sizes (PRIORITY 5, RST_STREAM 4, SETTINGS a multiple of 6 and empty when ACK, PING 8,
 * GOAWAY >= 8, WINDOW_UPDATE 4). Strict on purpose: used to recognise HTTP/2 and to find frame
 * boundaries after lost bytes.
 */
export function plausibleFrameHeader(b: Uint8Array, p: number, maxLen: number): boolean {
  const len = u24(b, p);
  const type = b[p + 3];
  const flags = b[p + 4];
  if (type > T_CONTINUATION || len > maxLen || (b[p + 5] & 0x80) !== 0) return false;
  if ((flags & ~DEFINED_FLAGS[type]) !== 0) return false;
  const sid = streamIdAt(b, p + 5);
  switch (type) {
    case T_DATA:
    case T_HEADERS:
      return sid !== 0 && ((flags & F_PADDED) === 0 || len >= 1);
    case T_CONTINUATION:
      return sid !== 0;
    case T_PUSH_PROMISE:
      return sid !== 0 && len >= 4;
    case T_PRIORITY:
      return sid !== 0 && len === 5;
    case T_RST_STREAM:
      return sid !== 0 && len === 4;
    case T_SETTINGS:
      return sid === 0 && len % 6 === 0 && ((flags & F_ACK) === 0 || len === 0);
    case T_PING:
      return sid === 0 && len === 8;
    case T_GOAWAY:
      return sid === 0 && len >= 8;
    default: // WINDOW_UPDATE
      return len === 4;
  }
}

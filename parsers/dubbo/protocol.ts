/**
 * Dubbo 2 protocol constants (Apache Dubbo `ExchangeCodec`, `DubboCodec`, `Response`, serialization
 * `Constants`) and the header checks shared by the probe and the session.
 *
 * Header (16 bytes): magic 0xdabb; flags (0x80 request, 0x40 two-way, 0x20 event, low 5 bits the
 * serialization id); status (responses); request id (8 bytes); body length (4 bytes); all big-endian.
 */
import { u32be } from '../../core/l7/bytes.js';
import { skipUtf16Chars } from './hessian.js';
import { latin1, utf8 } from '../../core/l7/bytes.js';

export const HEADER_LEN = 16;
export const MAGIC_HIGH = 0xda;
export const MAGIC_LOW = 0xbb;
export const FLAG_REQUEST = 0x80;
export const FLAG_TWOWAY = 0x40;
export const FLAG_EVENT = 0x20;
export const SERIALIZATION_MASK = 0x1f;
/** Bodies longer than this are not believed (Dubbo's default payload limit is 8 MiB; configurable). */
export const MAX_BODY = 1 << 30;

export const SER_HESSIAN2 = 2;
export const SER_FASTJSON = 6;
export const SER_KRYO = 8;
export const SER_GSON = 16;

/**
 * Serialization ids (`getContentTypeId()`), from Apache Dubbo's serialization `Constants` (2, 3, 4,
 * 6-12, 16, 18, 21-23, 25, 27, 28, 31) and the older Alibaba Dubbo (`dubbo` 1, `json` 5).
 */
const SERIALIZATIONS: Record<number, string> = {
  1: 'dubbo',
  2: 'hessian2',
  3: 'java',
  4: 'compactedjava',
  5: 'json',
  6: 'fastjson',
  7: 'nativejava',
  8: 'kryo',
  9: 'fst',
  10: 'native-hessian',
  11: 'avro',
  12: 'protostuff',
  16: 'gson',
  18: 'jackson',
  21: 'protobuf-json',
  22: 'protobuf',
  23: 'fastjson2',
  25: 'kryo2',
  27: 'msgpack',
  28: 'fury',
  31: 'custom-messagepack',
};
const KNOWN_SER = new Uint8Array(32);
for (const k of Object.keys(SERIALIZATIONS)) KNOWN_SER[Number(k)] = 1;

/** Name of a serialization id (`hessian2`, `kryo`...), or the number for an unknown one. */
export function serializationName(id: number): string {
  return SERIALIZATIONS[id] ?? String(id);
}

/** Response status codes (org.apache.dubbo.remoting.exchange.Response). */
export const STATUS_OK = 20;
const STATUSES: Record<number, string> = {
  20: 'OK',
  30: 'CLIENT_TIMEOUT',
  31: 'SERVER_TIMEOUT',
  35: 'CHANNEL_INACTIVE',
  40: 'BAD_REQUEST',
  50: 'BAD_RESPONSE',
  60: 'SERVICE_NOT_FOUND',
  70: 'SERVICE_ERROR',
  80: 'SERVER_ERROR',
  90: 'CLIENT_ERROR',
  100: 'SERVER_THREADPOOL_EXHAUSTED_ERROR',
};
const KNOWN_STATUS = new Uint8Array(256);
for (const k of Object.keys(STATUSES)) KNOWN_STATUS[Number(k)] = 1;

/** Name of a status byte (`OK`, `SERVICE_NOT_FOUND`...), or the number for an unknown one. */
export function statusName(status: number): string {
  return STATUSES[status] ?? String(status);
}

/** Response body type bytes (DubboCodec). */
export const RESPONSE_WITH_EXCEPTION = 0;
export const RESPONSE_VALUE = 1;
export const RESPONSE_NULL_VALUE = 2;
export const RESPONSE_WITH_EXCEPTION_WITH_ATTACHMENTS = 3;
export const RESPONSE_VALUE_WITH_ATTACHMENTS = 4;
export const RESPONSE_NULL_VALUE_WITH_ATTACHMENTS = 5;

/**
 * Is there a plausible header at b[p..p+16)? Magic, a known serialization, a request with a zero
 * status byte or a response (not two-way) with a known status, a body under MAX_BODY. No allocation.
 */
export function plausibleHeader(b: Uint8Array, p: number): boolean {
  if (b[p] !== MAGIC_HIGH || b[p + 1] !== MAGIC_LOW) return false;
  const flags = b[p + 2];
  if (KNOWN_SER[flags & SERIALIZATION_MASK] === 0) return false;
  if ((flags & FLAG_REQUEST) !== 0) {
    if (b[p + 3] !== 0) return false;
  } else if ((flags & FLAG_TWOWAY) !== 0 || KNOWN_STATUS[b[p + 3]] === 0) {
    return false;
  }
  return u32be(b, p + 12) < MAX_BODY;
}

/** Number of parameters in a JVM descriptor list (`Ljava/lang/String;[IJ`), or -1 when malformed. */
export function countParameters(desc: string): number {
  let n = 0;
  let i = 0;
  const len = desc.length;
  while (i < len) {
    let c = desc.charCodeAt(i);
    while (c === 0x5b) c = desc.charCodeAt(++i); // '[' arrays
    if (c === 0x4c) {
      // 'L' class name ';'
      const semi = desc.indexOf(';', i);
      if (semi < 0) return -1;
      i = semi + 1;
    } else if (c === 0x5a || c === 0x42 || c === 0x43 || c === 0x44 || c === 0x46 || c === 0x49 || c === 0x4a || c === 0x53 || c === 0x56) {
      i++; // Z B C D F I J S V
    } else {
      return -1;
    }
    n++;
  }
  return n;
}

// ---- leading strings of other serializations ---------------------------------------------------

/** Result of the prefix readers: the string read and the position after it (-1: cannot read). */
export let prefixValue = '';

/**
 * A Kryo string (`Output.writeString`) at b[p]: ASCII with the high bit set on the last byte, or a
 * UTF-8 char count + 1 as a varint whose first byte has 0x80 set (0x80 null, 0x81 empty). Returns
 * the position after it, or -1.
 */
export function kryoString(b: Uint8Array, p: number, end: number): number {
  if (p >= end) return -1;
  const c = b[p];
  if ((c & 0x80) === 0) {
    let q = p;
    while (q < end && (b[q] & 0x80) === 0) q++;
    if (q >= end) return -1;
    prefixValue = latin1(b, p, q) + String.fromCharCode(b[q] & 0x7f);
    return q + 1;
  }
  let v = c & 0x3f;
  let q = p + 1;
  if ((c & 0x40) !== 0) {
    let shift = 6;
    for (;;) {
      if (q >= end || shift > 27) return -1;
      const d = b[q++];
      v |= (d & 0x7f) << shift;
      shift += 7;
      if ((d & 0x80) === 0) break;
    }
  }
  if (v <= 1) {
    prefixValue = '';
    return q;
  }
  const e = skipUtf16Chars(b, q, end, v - 1);
  if (e < 0) return -1;
  prefixValue = utf8(b, q, e);
  return e;
}

/**
 * A JSON string on its own line (FastJson / Gson `writeUTF`: the value as JSON, then a newline) at
 * b[p]: `"..."` or `null`. Returns the position after the line, or -1. Escapes are kept as written.
 */
export function jsonLineString(b: Uint8Array, p: number, end: number): number {
  while (p < end && (b[p] === 0x20 || b[p] === 0x0d || b[p] === 0x0a)) p++;
  if (p + 4 <= end && b[p] === 0x6e && b[p + 1] === 0x75 && b[p + 2] === 0x6c && b[p + 3] === 0x6c) {
    prefixValue = '';
    return p + 4;
  }
  if (p >= end || b[p] !== 0x22) return -1;
  let q = p + 1;
  while (q < end && b[q] !== 0x22) q += b[q] === 0x5c ? 2 : 1;
  if (q >= end) return -1;
  prefixValue = utf8(b, p + 1, q);
  return q + 1;
}

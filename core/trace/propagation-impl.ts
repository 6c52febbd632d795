/**
 * Trace-context formats found in payloads, parsed strictly. Each `parse*` function returns a
 * `TraceContext` or null for an invalid value and never throws. Ids come out as lower-case hex;
 * 64-bit trace ids are left-padded to 32 characters.
 *
 * - W3C Trace Context level 1 (`traceparent` + `tracestate`), https://www.w3.org/TR/trace-context/
 * - B3 single header `b3` and multi headers `X-B3-*`, https://github.com/openzipkin/b3-propagation
 * - Jaeger `uber-trace-id: {trace-id}:{span-id}:{parent-span-id}:{flags}`,
 *   https://www.jaegertracing.io/docs/latest/client-libraries/#propagation-format
 * - SkyWalking v3 `sw8: {sample}-{traceId}-{segmentId}-{spanId}-{service}-{instance}-{endpoint}-{address}`,
 *   https://skywalking.apache.org/docs/main/latest/en/api/x-process-propagation-headers-v3/
 *
 * SkyWalking ids are strings, not hex. They are mapped the way the OpenTelemetry Collector's
 * `skywalkingreceiver` maps them, so that spans built here join traces that SkyWalking agents
 * report through a Collector:
 * - trace id: a UUID string (`de5980b8-fce3-...`, or 32 hex) is its 16 bytes; a Java-agent id
 *   `{32 hex}.{mid}.{last}` is those 16 bytes XOR (4 zero bytes, mid as 4 little-endian bytes,
 *   last as 8 little-endian bytes);
 * - parent span id: the segment id's 16 bytes (same rules, with the span id XORed little-endian into
 *   bytes 0-3), then bytes 0-7 XOR bytes 8-15.
 * Ids in no such form (other agents, custom generators) fall back to a hash: the first 16 bytes of
 * SHA-256 of the decoded trace id, and the first 8 bytes of SHA-256 of "{segmentId}/{spanId}".
 * Both mappings are deterministic: every observer of the same request derives the same ids. The
 * other sw8 fields (service, instance, endpoint, address) are validated but never kept.
 */
import { createHash } from 'node:crypto';
import type { TraceContext } from './propagation.js';

const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: (this: Uint8Array, start: number, end: number) => string })
  .latin1Slice;

const ZERO32 = '00000000000000000000000000000000';
const ZERO16 = '0000000000000000';

/** Longest header value read (longer ones are ignored: no valid format comes close). */
const MAX_VALUE_LENGTH = 8192;
/** Longest request id kept (longer ones are cut). */
const MAX_REQUEST_ID_LENGTH = 256;
/** W3C: at most 32 list members in tracestate. */
const MAX_TRACESTATE_MEMBERS = 32;

function makeContext(traceId: string, parentSpanId: string, sampled: boolean | null, source: string, traceState: string): TraceContext {
  return { traceId, parentSpanId, sampled, traceState, source, requestId: '' };
}

// ---- character helpers ------------------------------------------------------------------------------

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** True when s[start..end) is non-empty lower-case hex. */
function isLowerHex(s: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** True when s[start..end) is non-empty hex of either case. */
function isHex(s: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) if (hexValue(s.charCodeAt(i)) < 0) return false;
  return true;
}

function isAllZero(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (s.charCodeAt(i) !== 0x30) return false;
  return true;
}

function bytesToHex(b: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}

// ---- W3C Trace Context ------------------------------------------------------------------------------

/**
 * W3C `traceparent`: `{version}-{trace-id}-{parent-id}-{trace-flags}`, lower-case hex only.
 * Version 00 must be exactly 55 characters; version ff is invalid; a higher version is parsed for
 * its first four fields when the value is at least 55 characters and the flags are followed by the
 * end of the value or a '-' (W3C Trace Context 4.3). All-zero trace or parent ids are invalid.
 * The value is taken as it is (an HTTP parser has already removed the field's surrounding OWS).
 *
 * @param traceState the `tracestate` value(s) of the same message, joined with ','; it is validated
 *   by `parseTracestate` and kept only when valid.
 */
export function parseTraceparent(value: string, traceState = ''): TraceContext | null {
  const len = value.length;
  if (len < 55 || len > MAX_VALUE_LENGTH) return null;
  if (!isLowerHex(value, 0, 2)) return null;
  const v0 = value.charCodeAt(0);
  const v1 = value.charCodeAt(1);
  if (v0 === 0x66 && v1 === 0x66) return null; // ff
  if (v0 === 0x30 && v1 === 0x30) {
    if (len !== 55) return null;
  } else if (len > 55 && value.charCodeAt(55) !== 0x2d) {
    return null;
  }
  if (value.charCodeAt(2) !== 0x2d || value.charCodeAt(35) !== 0x2d || value.charCodeAt(52) !== 0x2d) return null;
  if (!isLowerHex(value, 3, 35) || !isLowerHex(value, 36, 52) || !isLowerHex(value, 53, 55)) return null;
  if (isAllZero(value, 3, 35) || isAllZero(value, 36, 52)) return null;
  const flags = hexValue(value.charCodeAt(53)) * 16 + hexValue(value.charCodeAt(54));
  return makeContext(value.slice(3, 35), value.slice(36, 52), (flags & 1) === 1, 'traceparent', traceState === '' ? '' : parseTracestate(traceState));
}

function isTracestateKeyChar(c: number): boolean {
  // lcalpha / DIGIT / "_" / "-" / "*" / "/"
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2d || c === 0x2a || c === 0x2f;
}

function validTracestateKey(s: string, start: number, end: number): boolean {
  const at = s.indexOf('@', start);
  if (at < 0 || at >= end) {
    // simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
    const c0 = s.charCodeAt(start);
    if (end - start < 1 || end - start > 256 || c0 < 0x61 || c0 > 0x7a) return false;
    for (let i = start + 1; i < end; i++) if (!isTracestateKeyChar(s.charCodeAt(i))) return false;
    return true;
  }
  // multi-tenant-key = tenant-id "@" system-id
  // tenant-id = ( lcalpha / DIGIT ) 0*240( keychar ); system-id = lcalpha 0*13( keychar )
  const t0 = s.charCodeAt(start);
  if (at - start < 1 || at - start > 241 || !((t0 >= 0x61 && t0 <= 0x7a) || (t0 >= 0x30 && t0 <= 0x39))) return false;
  for (let i = start + 1; i < at; i++) if (!isTracestateKeyChar(s.charCodeAt(i))) return false;
  const s0 = s.charCodeAt(at + 1);
  if (end - at - 1 < 1 || end - at - 1 > 14 || s0 < 0x61 || s0 > 0x7a) return false;
  for (let i = at + 2; i < end; i++) if (!isTracestateKeyChar(s.charCodeAt(i))) return false;
  return true;
}

function validTracestateValue(s: string, start: number, end: number): boolean {
  // value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
  if (end - start < 1 || end - start > 256) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x2c || c === 0x3d) return false;
  }
  return s.charCodeAt(end - 1) !== 0x20;
}

/**
 * W3C `tracestate` (several header fields joined with ','): returns the list normalised (members
 * trimmed of OWS, empty members dropped, joined with ','), or '' when it is invalid: a malformed key
 * or value, a duplicated key, or more than 32 members (W3C Trace Context 3.3).
 */
export function parseTracestate(value: string): string {
  const len = value.length;
  if (len === 0 || len > MAX_VALUE_LENGTH) return '';
  const members: string[] = [];
  const keys: string[] = [];
  let i = 0;
  while (i <= len) {
    let j = value.indexOf(',', i);
    if (j < 0) j = len;
    let s = i;
    let e = j;
    while (s < e && (value.charCodeAt(s) === 0x20 || value.charCodeAt(s) === 0x09)) s++;
    while (e > s && (value.charCodeAt(e - 1) === 0x20 || value.charCodeAt(e - 1) === 0x09)) e--;
    if (s < e) {
      const eq = value.indexOf('=', s);
      if (eq < 0 || eq >= e || !validTracestateKey(value, s, eq) || !validTracestateValue(value, eq + 1, e)) return '';
      const key = value.slice(s, eq);
      if (keys.includes(key)) return '';
      keys.push(key);
      members.push(value.slice(s, e));
      if (members.length > MAX_TRACESTATE_MEMBERS) return '';
    }
    i = j + 1;
  }
  return members.join(',');
}

// ---- B3 -----------------------------------------------------------------------------------------------

/**
 * B3 single header `b3: {TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]]`: TraceId 16 or 32
 * lower-hex, SpanId and ParentSpanId 16 lower-hex, SamplingState `1` (accept), `0` (deny) or `d`
 * (debug, which implies accept). A value carrying only a sampling state (`b3: 0`) has no ids: null.
 * All-zero trace or span ids are invalid.
 */
export function parseB3Single(value: string): TraceContext | null {
  const len = value.length;
  const t = value.indexOf('-');
  if (t !== 16 && t !== 32) return null;
  if (!isLowerHex(value, 0, t) || isAllZero(value, 0, t)) return null;
  const spanEnd = t + 17;
  if (len < spanEnd || !isLowerHex(value, t + 1, spanEnd) || isAllZero(value, t + 1, spanEnd)) return null;
  let sampled: boolean | null = null;
  if (len > spanEnd) {
    if (value.charCodeAt(spanEnd) !== 0x2d || len < spanEnd + 2) return null;
    const s = value.charCodeAt(spanEnd + 1);
    if (s === 0x31 || s === 0x64) sampled = true;
    else if (s === 0x30) sampled = false;
    else return null;
    if (len > spanEnd + 2) {
      if (value.charCodeAt(spanEnd + 2) !== 0x2d || len !== spanEnd + 19 || !isLowerHex(value, spanEnd + 3, len)) return null;
    }
  }
  const traceId = t === 32 ? value.slice(0, 32) : ZERO16 + value.slice(0, 16);
  return makeContext(traceId, value.slice(t + 1, spanEnd), sampled, 'b3', '');
}

/**
 * B3 multi headers. `traceId` (X-B3-TraceId, 16 or 32 lower-hex) and `spanId` (X-B3-SpanId, 16
 * lower-hex) are required; `parentSpanId` (X-B3-ParentSpanId) must be valid when present;
 * `sampled` (X-B3-Sampled) is `1`/`0`, or the legacy `true`/`false`; `flags` (X-B3-Flags) `1`
 * means debug, which implies accept. Pass '' for an absent header.
 */
export function parseB3Multi(traceId: string, spanId: string, sampled: string, flags: string, parentSpanId = ''): TraceContext | null {
  const tl = traceId.length;
  if ((tl !== 16 && tl !== 32) || !isLowerHex(traceId, 0, tl) || isAllZero(traceId, 0, tl)) return null;
  if (spanId.length !== 16 || !isLowerHex(spanId, 0, 16) || isAllZero(spanId, 0, 16)) return null;
  if (parentSpanId !== '' && (parentSpanId.length !== 16 || !isLowerHex(parentSpanId, 0, 16))) return null;
  let s: boolean | null = null;
  if (flags === '1') s = true;
  else if (sampled === '1' || sampled === 'true') s = true;
  else if (sampled === '0' || sampled === 'false') s = false;
  return makeContext(tl === 32 ? traceId : ZERO16 + traceId, spanId, s, 'b3multi', '');
}

// ---- Jaeger ---------------------------------------------------------------------------------------------

/**
 * Jaeger `uber-trace-id: {trace-id}:{span-id}:{parent-span-id}:{flags}`. Ids are hex of either case
 * and may be shorter than 32 / 16 characters (left-padded with zeros); a zero trace or span id is
 * invalid; the deprecated parent id must be hex (0 allowed) and is not used; flags are one or two hex
 * digits, bit 0 = sampled. A URL-encoded value (`%3A` for ':') is accepted; any other '%' is not.
 */
export function parseUberTraceId(value: string): TraceContext | null {
  let v = value;
  if (v.length > MAX_VALUE_LENGTH) return null;
  if (v.indexOf('%') >= 0) {
    let out = '';
    let i = 0;
    for (;;) {
      const k = v.indexOf('%', i);
      if (k < 0) break;
      if (v.charCodeAt(k + 1) !== 0x33 || (v.charCodeAt(k + 2) | 0x20) !== 0x61) return null;
      out += v.slice(i, k) + ':';
      i = k + 3;
    }
    v = out + v.slice(i);
  }
  const c1 = v.indexOf(':');
  const c2 = c1 < 0 ? -1 : v.indexOf(':', c1 + 1);
  const c3 = c2 < 0 ? -1 : v.indexOf(':', c2 + 1);
  if (c3 < 0 || v.indexOf(':', c3 + 1) >= 0) return null;
  if (c1 > 32 || !isHex(v, 0, c1) || isAllZero(v, 0, c1)) return null;
  if (c2 - c1 - 1 > 16 || !isHex(v, c1 + 1, c2) || isAllZero(v, c1 + 1, c2)) return null;
  if (c3 - c2 - 1 > 16 || !isHex(v, c2 + 1, c3)) return null;
  const fl = v.length - c3 - 1;
  if (fl < 1 || fl > 2 || !isHex(v, c3 + 1, v.length)) return null;
  const flags = fl === 1 ? hexValue(v.charCodeAt(c3 + 1)) : hexValue(v.charCodeAt(c3 + 1)) * 16 + hexValue(v.charCodeAt(c3 + 2));
  const traceId = ZERO32.slice(c1) + v.slice(0, c1).toLowerCase();
  const spanId = ZERO16.slice(c2 - c1 - 1) + v.slice(c1 + 1, c2).toLowerCase();
  return makeContext(traceId, spanId, (flags & 1) === 1, 'uber-trace-id', '');
}

// ---- SkyWalking sw8 ---------------------------------------------------------------------------------------

function isBase64Char(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;
}

/** Strict standard base64 (padding optional) of s[start..end) decoded as UTF-8, or null. Empty is invalid. */
function decodeBase64(s: string, start: number, end: number): string | null {
  let e = end;
  if (e > start && s.charCodeAt(e - 1) === 0x3d) e--;
  if (e > start && s.charCodeAt(e - 1) === 0x3d) e--;
  const n = e - start;
  if (n === 0 || n % 4 === 1) return null;
  if (end !== e && (end - start) % 4 !== 0) return null;
  for (let i = start; i < e; i++) if (!isBase64Char(s.charCodeAt(i))) return null;
  const out = Buffer.from(s.slice(start, end), 'base64').toString('utf8');
  return out.length > 0 ? out : null;
}

/** 16 bytes of 32 hex characters of s at `start` (either case), or null. */
function hex16(s: string, start: number): Uint8Array | null {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const h = hexValue(s.charCodeAt(start + 2 * i));
    const l = hexValue(s.charCodeAt(start + 2 * i + 1));
    if (h < 0 || l < 0) return null;
    out[i] = h * 16 + l;
  }
  return out;
}

const MAX_INT64 = (1n << 63n) - 1n;

function decimalBig(s: string): bigint | null {
  if (s.length === 0 || s.length > 19) return null;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return null;
  }
  const v = BigInt(s);
  return v <= MAX_INT64 ? v : null;
}

/**
 * The OTel Collector skywalkingreceiver's string -> 16 bytes mapping: `{32 hex}` or
 * `{32 hex}.{mid}.{last}`, XORed with `extra` (bytes 0-3), mid (bytes 4-7) and last (bytes 8-15),
 * all little-endian. Null when `s` has neither form.
 */
function swStringToBytes(s: string, extra: number): Uint8Array | null {
  if (s.length < 32) return null;
  const uid = hex16(s, 0);
  if (uid === null) return null;
  for (let i = 0; i < 4; i++) uid[i] ^= (extra >>> (8 * i)) & 0xff;
  if (s.length === 32) return uid;
  const last = s.lastIndexOf('.');
  if (s.charCodeAt(32) !== 0x2e || last <= 32) return null;
  const mid = decimalBig(s.slice(33, last));
  const low = decimalBig(s.slice(last + 1));
  if (mid === null || low === null) return null;
  for (let i = 0; i < 4; i++) uid[4 + i] ^= Number((mid >> BigInt(8 * i)) & 0xffn);
  for (let i = 0; i < 8; i++) uid[8 + i] ^= Number((low >> BigInt(8 * i)) & 0xffn);
  return uid;
}

/** A UUID string (36 characters with dashes, or 32 hex) as 16 bytes, or null. */
function uuidBytes(s: string): Uint8Array | null {
  if (s.length === 32) return hex16(s, 0);
  if (s.length !== 36) return null;
  if (s.charCodeAt(8) !== 0x2d || s.charCodeAt(13) !== 0x2d || s.charCodeAt(18) !== 0x2d || s.charCodeAt(23) !== 0x2d) return null;
  return hex16(s.slice(0, 8) + s.slice(9, 13) + s.slice(14, 18) + s.slice(19, 23) + s.slice(24), 0);
}

function isZeroBytes(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function sha256Hex(s: string, bytes: number): string {
  return createHash('sha256').update(s, 'utf8').digest('hex').slice(0, bytes * 2);
}

/** 32-hex trace id for a SkyWalking trace id (see the module comment). */
export function skywalkingTraceId(id: string): string {
  const b = id.length <= 36 ? uuidBytes(id) : swStringToBytes(id, 0);
  if (b !== null && !isZeroBytes(b)) return bytesToHex(b, 0, 16);
  return sha256Hex(id, 16);
}

/** 16-hex span id for SkyWalking span `spanId` of segment `segmentId` (see the module comment). */
export function skywalkingSpanId(segmentId: string, spanId: number): string {
  const b = swStringToBytes(segmentId, spanId >>> 0);
  if (b !== null) {
    const out = new Uint8Array(8);
    for (let i = 0; i < 8; i++) out[i] = b[i] ^ b[i + 8];
    if (!isZeroBytes(out)) return bytesToHex(out, 0, 8);
  }
  return sha256Hex(`${segmentId}/${spanId}`, 8);
}

/**
 * SkyWalking v3 `sw8`: exactly 8 '-'-separated fields: sample (`0`/`1`), trace id, parent segment
 * id (base64), parent span id (decimal, >= 0), then parent service, instance, endpoint and target
 * address (non-empty base64). Ids are derived as the module comment says; nothing else is kept.
 */
export function parseSw8(value: string): TraceContext | null {
  if (value.length > MAX_VALUE_LENGTH) return null;
  const f: number[] = [-1];
  for (let i = value.indexOf('-'); i >= 0; i = value.indexOf('-', i + 1)) {
    f.push(i);
    if (f.length > 8) return null;
  }
  if (f.length !== 8) return null;
  f.push(value.length);
  // f[k] .. f[k+1]: field k is value.slice(f[k] + 1, f[k + 1])
  if (f[1] !== 1) return null;
  const sample = value.charCodeAt(0);
  if (sample !== 0x30 && sample !== 0x31) return null;
  const traceId = decodeBase64(value, f[1] + 1, f[2]);
  const segmentId = decodeBase64(value, f[2] + 1, f[3]);
  if (traceId === null || segmentId === null) return null;
  const spanText = value.slice(f[3] + 1, f[4]);
  if (spanText.length === 0 || spanText.length > 10) return null;
  let spanId = 0;
  for (let i = 0; i < spanText.length; i++) {
    const c = spanText.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return null;
    spanId = spanId * 10 + (c - 0x30);
  }
  if (spanId > 0x7fffffff) return null;
  for (let k = 4; k < 8; k++) if (decodeBase64(value, f[k] + 1, f[k + 1]) === null) return null;
  return makeContext(skywalkingTraceId(traceId), skywalkingSpanId(segmentId, spanId), sample === 0x31, 'sw8', '');
}

// ---- collector ----------------------------------------------------------------------------------------------

const H_NONE = 0;
const H_TRACEPARENT = 1;
const H_TRACESTATE = 2;
const H_B3 = 3;
const H_XB3_TRACEID = 4;
const H_XB3_SPANID = 5;
const H_XB3_PARENTSPANID = 6;
const H_XB3_SAMPLED = 7;
const H_XB3_FLAGS = 8;
const H_UBER_TRACE_ID = 9;
const H_SW8 = 10;
const H_X_REQUEST_ID = 11;
const H_X_CORRELATION_ID = 12;
const H_REQUEST_ID = 13;

/** Header names by id (lower case). */
const NAMES = [
  '',
  'traceparent',
  'tracestate',
  'b3',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'uber-trace-id',
  'sw8',
  'x-request-id',
  'x-correlation-id',
  'request-id',
];

const NAME_BYTES: Uint8Array[] = NAMES.map((n) => {
  const a = new Uint8Array(n.length);
  for (let i = 0; i < n.length; i++) a[i] = n.charCodeAt(i);
  return a;
});

/** Ids of the names of each length. */
const BY_LENGTH: number[][] = [];
for (let id = 1; id < NAMES.length; id++) {
  const l = NAMES[id].length;
  while (BY_LENGTH.length <= l) BY_LENGTH.push([]);
  BY_LENGTH[l].push(id);
}

function idOfName(nameLower: string): number {
  const l = nameLower.length;
  if (l >= BY_LENGTH.length) return H_NONE;
  const c = BY_LENGTH[l];
  for (let k = 0; k < c.length; k++) if (NAMES[c[k]] === nameLower) return c[k];
  return H_NONE;
}

/** Case-insensitive: the name bytes are letters, digits and '-' only; only letters fold. */
function idOfBytes(buf: Uint8Array, start: number, end: number): number {
  const l = end - start;
  if (l >= BY_LENGTH.length) return H_NONE;
  const c = BY_LENGTH[l];
  outer: for (let k = 0; k < c.length; k++) {
    const n = NAME_BYTES[c[k]];
    for (let i = 0; i < l; i++) {
      const b = buf[start + i];
      const e = n[i];
      if (b !== e && (e < 0x61 || e > 0x7a || b !== e - 0x20)) continue outer;
    }
    return c[k];
  }
  return H_NONE;
}

/**
 * Collects the trace-context header fields of one message, cheaply: protocol parsers offer every
 * field (`offer` with a lower-case name and its value, or `offerBytes` on raw bytes, which decodes
 * only the values of the fields it reads) and call `result()` at the end of the header section.
 *
 * Precedence: traceparent (+ tracestate) > b3 > X-B3-* > uber-trace-id > sw8. A format whose value is
 * invalid gives way to the next one. Repeated fields: `traceparent` twice makes it invalid (W3C);
 * `tracestate` fields are joined with ','; for the others the first value wins (B3's rule).
 *
 * Request ids (`x-request-id`, else `x-correlation-id`, else `request-id`; cut to 256 characters)
 * are kept even without a trace context: `result()` then returns a context whose `traceId` and
 * `parentSpanId` are '' and `source` is '' (consumers must check `traceId !== ''` before using it as
 * a parent). With neither, `result()` is null.
 *
 * One instance per parser session, `reset()` between messages; it keeps nothing but strings.
 */
export class TraceContextCollector {
  private traceparent = '';
  private traceparentCount = 0;
  private tracestate = '';
  private tracestateCount = 0;
  private b3 = '';
  private xb3TraceId = '';
  private xb3SpanId = '';
  private xb3ParentSpanId = '';
  private xb3Sampled = '';
  private xb3Flags = '';
  private uberTraceId = '';
  private sw8 = '';
  private requestId = '';
  /** Rank of the request-id header kept (H_X_REQUEST_ID is the best), 0 when none. */
  private requestIdRank = 0;
  private offered = false;

  /** True once a field this collector reads was offered since the last `reset()`. */
  get any(): boolean {
    return this.offered;
  }

  /** Forget everything offered (call at the start of each message). */
  reset(): void {
    if (!this.offered) return;
    this.traceparent = '';
    this.traceparentCount = 0;
    this.tracestate = '';
    this.tracestateCount = 0;
    this.b3 = '';
    this.xb3TraceId = '';
    this.xb3SpanId = '';
    this.xb3ParentSpanId = '';
    this.xb3Sampled = '';
    this.xb3Flags = '';
    this.uberTraceId = '';
    this.sw8 = '';
    this.requestId = '';
    this.requestIdRank = 0;
    this.offered = false;
  }

  /** True when `nameLower` is a field this collector reads. */
  static wants(nameLower: string): boolean {
    return idOfName(nameLower) !== H_NONE;
  }

  /** Offer one header field: a lower-case name and its value (without surrounding whitespace). */
  offer(nameLower: string, value: string): void {
    const id = idOfName(nameLower);
    if (id !== H_NONE && value.length <= MAX_VALUE_LENGTH) this.set(id, value);
  }

  /**
   * Offer one header field on bytes: the name is `buf[nameStart..nameEnd)` (any case), the value
   * `buf[valueStart..valueEnd)`; spaces and tabs around the value are removed (HTTP field OWS).
   * Decodes the value (latin1) only when the name is one this collector reads; returns true then.
   */
  offerBytes(buf: Uint8Array, nameStart: number, nameEnd: number, valueStart: number, valueEnd: number): boolean {
    const id = idOfBytes(buf, nameStart, nameEnd);
    if (id === H_NONE) return false;
    let vs = valueStart;
    let ve = valueEnd;
    while (vs < ve && (buf[vs] === 0x20 || buf[vs] === 0x09)) vs++;
    while (ve > vs && (buf[ve - 1] === 0x20 || buf[ve - 1] === 0x09)) ve--;
    if (ve - vs <= MAX_VALUE_LENGTH) this.set(id, ve > vs ? latin1Slice.call(buf, vs, ve) : '');
    return true;
  }

  private set(id: number, value: string): void {
    this.offered = true;
    switch (id) {
      case H_TRACEPARENT:
        if (this.traceparentCount++ === 0) this.traceparent = value;
        break;
      case H_TRACESTATE:
        this.tracestate = this.tracestateCount++ === 0 ? value : `${this.tracestate},${value}`;
        if (this.tracestate.length > MAX_VALUE_LENGTH) this.tracestate = ' invalid';
        break;
      case H_B3:
        if (this.b3 === '') this.b3 = value;
        break;
      case H_XB3_TRACEID:
        if (this.xb3TraceId === '') this.xb3TraceId = value;
        break;
      case H_XB3_SPANID:
        if (this.xb3SpanId === '') this.xb3SpanId = value;
        break;
      case H_XB3_PARENTSPANID:
        if (this.xb3ParentSpanId === '') this.xb3ParentSpanId = value;
        break;
      case H_XB3_SAMPLED:
        if (this.xb3Sampled === '') this.xb3Sampled = value;
        break;
      case H_XB3_FLAGS:
        if (this.xb3Flags === '') this.xb3Flags = value;
        break;
      case H_UBER_TRACE_ID:
        if (this.uberTraceId === '') this.uberTraceId = value;
        break;
      case H_SW8:
        if (this.sw8 === '') this.sw8 = value;
        break;
      default: {
        // Request ids: x-request-id (11) > x-correlation-id (12) > request-id (13).
        const rank = 14 - id;
        if (value !== '' && rank > this.requestIdRank) {
          this.requestId = value.length > MAX_REQUEST_ID_LENGTH ? value.slice(0, MAX_REQUEST_ID_LENGTH) : value;
          this.requestIdRank = rank;
        }
      }
    }
  }

  /** The trace context of the fields offered since `reset()` (see the class comment), or null. */
  result(): TraceContext | null {
    if (!this.offered) return null;
    let c: TraceContext | null = null;
    if (this.traceparentCount === 1) c = parseTraceparent(this.traceparent, this.tracestate);
    if (c === null && this.b3 !== '') c = parseB3Single(this.b3);
    if (c === null && this.xb3TraceId !== '') {
      c = parseB3Multi(this.xb3TraceId, this.xb3SpanId, this.xb3Sampled, this.xb3Flags, this.xb3ParentSpanId);
    }
    if (c === null && this.uberTraceId !== '') c = parseUberTraceId(this.uberTraceId);
    if (c === null && this.sw8 !== '') c = parseSw8(this.sw8);
    if (c === null) {
      if (this.requestId === '') return null;
      c = makeContext('', '', null, '', '');
    }
    c.requestId = this.requestId;
    return c;
  }
}

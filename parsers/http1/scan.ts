/**
 * Byte-level helpers of the HTTP/1 parser: LF search, start-line matching, header-name
 * classification, field value parsing. Everything here works on `Uint8Array` ranges, allocates
 * nothing (but one word view per ArrayBuffer for `findLF`) and never throws on any input.
 */

export const HT = 0x09;
export const LF = 0x0a;
export const CR = 0x0d;
export const SP = 0x20;
export const COLON = 0x3a;

/** Result of the start-line matchers. */
export const MATCH_NO = 0;
export const MATCH_YES = 1;
export const MATCH_NEED_MORE = 2;

/** Longest method token accepted (the longest registered method, UPDATEREDIRECTREF, has 17). */
export const MAX_METHOD_LENGTH = 32;

/** RFC 9110 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~". */
const TCHAR = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;
for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1;

/** True for an RFC 9110 token character. */
export function isTchar(c: number): boolean {
  return TCHAR[c] === 1;
}

/**
 * Method characters accepted where a message start must be recognised among arbitrary bytes (probe,
 * resynchronisation): upper-case letters, '-' and '_', as in every registered method (PROPFIND,
 * M-SEARCH, VERSION-CONTROL...). An established flow accepts any token.
 */
const METHOD_CHAR = new Uint8Array(256);
for (let c = 0x41; c <= 0x5a; c++) METHOD_CHAR[c] = 1;
METHOD_CHAR[0x2d] = 1;
METHOD_CHAR[0x5f] = 1;

/** True for a method character of the strict kind (see METHOD_CHAR). */
export function isMethodChar(c: number): boolean {
  return METHOD_CHAR[c] === 1;
}

// findLF reads long ranges four bytes at a time through an Int32Array over the same memory. The
// word view is made once per ArrayBuffer (the last two are kept: the capture's read buffer and the
// dispatcher's carry buffer alternate) and looked up again only when another Uint8Array comes
// (a view never changes its ArrayBuffer).
let wordsBufferA: ArrayBufferLike | null = null;
let wordsA: Int32Array<ArrayBufferLike> = new Int32Array(0);
let wordsBufferB: ArrayBufferLike | null = null;
let wordsB: Int32Array<ArrayBufferLike> = new Int32Array(0);
/** The view `findLF` last read words for, its words, and its byte offset in them. */
let scanBuf: Uint8Array | null = null;
let scanWords = wordsA;
let scanBase = 0;

function selectScan(buf: Uint8Array): void {
  const ab = buf.buffer;
  let w: Int32Array<ArrayBufferLike>;
  if (ab === wordsBufferA) w = wordsA;
  else if (ab === wordsBufferB) w = wordsB;
  else {
    w = new Int32Array(ab, 0, ab.byteLength >>> 2);
    wordsBufferB = wordsBufferA;
    wordsB = wordsA;
    wordsBufferA = ab;
    wordsA = w;
  }
  scanBuf = buf;
  scanWords = w;
  scanBase = buf.byteOffset;
}

/**
 * Index of the first LF in `buf[from..end)`, or -1. Never reads outside the range. Ranges of 16
 * bytes or more are scanned a word at a time (a word holds an LF when `x ^ 0x0a0a0a0a` has a zero
 * byte), the rest byte by byte.
 */
export function findLF(buf: Uint8Array, from: number, end: number): number {
  let i = from;
  if (end - i >= 16) {
    if (buf !== scanBuf) selectScan(buf);
    const base = scanBase;
    while (((base + i) & 3) !== 0) {
      if (buf[i] === LF) return i;
      i++;
    }
    const w = scanWords;
    let k = (base + i) >>> 2;
    const kEnd = (base + end) >>> 2;
    for (; k < kEnd; k++) {
      const x = w[k] ^ 0x0a0a0a0a;
      if (((x - 0x01010101) & ~x & 0x80808080) !== 0) break;
    }
    i = k * 4 - base;
  }
  for (; i < end; i++) if (buf[i] === LF) return i;
  return -1;
}

// ---- start lines ----------------------------------------------------------------------------------

/**
 * Positions found by the last successful (or partial) start-line match. Module scratch: read them
 * right after the call (single-threaded, no allocation).
 */
export const startLine = {
  /** Request: end of the method token (the SP). */
  methodEnd: 0,
  /** Request: the request-target is [targetStart, targetEnd). */
  targetStart: 0,
  targetEnd: 0,
  /** HTTP/1.x minor version digit (0 or 1). */
  minor: 0,
  /** Response: the status code. */
  status: 0,
  /** Index of the LF that ends the line (full matches of a request line only). */
  lf: 0,
};

/** "HTTP/1." followed by 0 or 1 at `p`: MATCH_YES (minor in startLine.minor), MATCH_NO or MATCH_NEED_MORE. */
function matchVersion(buf: Uint8Array, p: number, end: number): number {
  // H T T P / 1 .
  if (p >= end) return MATCH_NEED_MORE;
  if (buf[p] !== 0x48) return MATCH_NO;
  if (p + 1 >= end) return MATCH_NEED_MORE;
  if (buf[p + 1] !== 0x54) return MATCH_NO;
  if (p + 2 >= end) return MATCH_NEED_MORE;
  if (buf[p + 2] !== 0x54) return MATCH_NO;
  if (p + 3 >= end) return MATCH_NEED_MORE;
  if (buf[p + 3] !== 0x50) return MATCH_NO;
  if (p + 4 >= end) return MATCH_NEED_MORE;
  if (buf[p + 4] !== 0x2f) return MATCH_NO;
  if (p + 5 >= end) return MATCH_NEED_MORE;
  if (buf[p + 5] !== 0x31) return MATCH_NO;
  if (p + 6 >= end) return MATCH_NEED_MORE;
  if (buf[p + 6] !== 0x2e) return MATCH_NO;
  if (p + 7 >= end) return MATCH_NEED_MORE;
  const m = buf[p + 7];
  if (m !== 0x30 && m !== 0x31) return MATCH_NO;
  startLine.minor = m - 0x30;
  return MATCH_YES;
}

/**
 * A whole request line at `p`: `token SP target SP HTTP/1.x CRLF` (or bare LF). The target is any
 * run of bytes above SP except DEL (obs-text tolerated). `maxLen` bounds the line: past it the
 * answer is MATCH_NO, so NEED_MORE never asks for more than `maxLen` bytes. With `strictMethod` the
 * method must start with an upper-case letter and continue with upper-case letters, '-' or '_'.
 */
export function matchRequestLine(buf: Uint8Array, p: number, end: number, maxLen: number, strictMethod: boolean): number {
  let i = p;
  const tokenLimit = p + MAX_METHOD_LENGTH;
  const table = strictMethod ? METHOD_CHAR : TCHAR;
  if (strictMethod && i < end && (buf[i] < 0x41 || buf[i] > 0x5a)) return MATCH_NO;
  while (i < end && i < tokenLimit && table[buf[i]] === 1) i++;
  if (i === end) return i - p < MAX_METHOD_LENGTH ? MATCH_NEED_MORE : MATCH_NO;
  if (i === p || buf[i] !== SP) return MATCH_NO;
  startLine.methodEnd = i;
  i++;
  const ts = i;
  const limit = p + maxLen;
  while (i < end && i < limit) {
    const c = buf[i];
    if (c <= SP || c === 0x7f) break;
    i++;
  }
  if (i >= limit) return MATCH_NO;
  if (i === end) return MATCH_NEED_MORE;
  if (i === ts || buf[i] !== SP) return MATCH_NO;
  startLine.targetStart = ts;
  startLine.targetEnd = i;
  i++;
  const v = matchVersion(buf, i, end);
  if (v !== MATCH_YES) return v;
  i += 8;
  if (i >= end) return i - p >= maxLen ? MATCH_NO : MATCH_NEED_MORE;
  if (buf[i] === LF) {
    startLine.lf = i;
    return MATCH_YES;
  }
  if (buf[i] !== CR) return MATCH_NO;
  if (i + 1 >= end) return MATCH_NEED_MORE;
  if (buf[i + 1] !== LF) return MATCH_NO;
  startLine.lf = i + 1;
  return MATCH_YES;
}

/**
 * The start of a status line at `p`: `HTTP/1.x SP 3DIGIT` followed by SP, CR or LF (the reason
 * phrase is not needed). Status codes 100-999 (the first digit is not 0).
 */
export function matchStatusLine(buf: Uint8Array, p: number, end: number): number {
  const v = matchVersion(buf, p, end);
  if (v !== MATCH_YES) return v;
  if (p + 12 >= end) {
    // Check what is there so that garbage is rejected early.
    for (let k = p + 8; k < end; k++) {
      const c = buf[k];
      if (k === p + 8 ? c !== SP : k === p + 9 ? c < 0x31 || c > 0x39 : c < 0x30 || c > 0x39) return MATCH_NO;
    }
    return MATCH_NEED_MORE;
  }
  if (buf[p + 8] !== SP) return MATCH_NO;
  const d1 = buf[p + 9] - 0x30;
  const d2 = buf[p + 10] - 0x30;
  const d3 = buf[p + 11] - 0x30;
  if (d1 < 1 || d1 > 9 || d2 < 0 || d2 > 9 || d3 < 0 || d3 > 9) return MATCH_NO;
  const after = buf[p + 12];
  if (after !== SP && after !== CR && after !== LF) return MATCH_NO;
  startLine.status = d1 * 100 + d2 * 10 + d3;
  return MATCH_YES;
}

/**
 * The beginning of a request line at `p`: a method token, SP and one target byte. Enough to decide
 * that a message starts here before its whole line has arrived.
 */
export function matchRequestStart(buf: Uint8Array, p: number, end: number): number {
  let i = p;
  const tokenLimit = p + MAX_METHOD_LENGTH;
  while (i < end && i < tokenLimit && TCHAR[buf[i]] === 1) i++;
  if (i === end) return i - p < MAX_METHOD_LENGTH ? MATCH_NEED_MORE : MATCH_NO;
  if (i === p || buf[i] !== SP) return MATCH_NO;
  startLine.methodEnd = i;
  if (i + 1 >= end) return MATCH_NEED_MORE;
  const c = buf[i + 1];
  return c > SP && c !== 0x7f ? MATCH_YES : MATCH_NO;
}

// ---- header names ---------------------------------------------------------------------------------

/** Header fields the HTTP/1 parser itself reads. */
export const HDR_OTHER = 0;
export const HDR_HOST = 1;
export const HDR_CONTENT_LENGTH = 2;
export const HDR_TRANSFER_ENCODING = 3;
export const HDR_USER_AGENT = 4;
export const HDR_UPGRADE = 5;
export const HDR_CONTENT_TYPE = 6;
export const HDR_GRPC_STATUS = 7;
export const HDR_GRPC_MESSAGE = 8;

function lit(s: string): Uint8Array {
  const a = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) a[i] = s.charCodeAt(i);
  return a;
}

const N_HOST = lit('host');
const N_CONTENT_LENGTH = lit('content-length');
const N_TRANSFER_ENCODING = lit('transfer-encoding');
const N_USER_AGENT = lit('user-agent');
const N_UPGRADE = lit('upgrade');
const N_CONTENT_TYPE = lit('content-type');
const N_GRPC_STATUS = lit('grpc-status');
const N_GRPC_MESSAGE = lit('grpc-message');

/**
 * Case-insensitive compare of `buf[p..p+name.length)` with a lower-case name (letters, digits and
 * '-'). Non-letters must match exactly: folding is only applied where the name has a letter.
 */
export function eqName(buf: Uint8Array, p: number, name: Uint8Array): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = buf[p + i];
    const e = name[i];
    if (c !== e && (e < 0x61 || e > 0x7a || c !== e - 0x20)) return false;
  }
  return true;
}

/** Which of the parser's own header fields `buf[p..p+len)` names (HDR_OTHER when none). */
export function classifyHeader(buf: Uint8Array, p: number, len: number): number {
  switch (len) {
    case 4:
      return eqName(buf, p, N_HOST) ? HDR_HOST : HDR_OTHER;
    case 7:
      return eqName(buf, p, N_UPGRADE) ? HDR_UPGRADE : HDR_OTHER;
    case 10:
      return eqName(buf, p, N_USER_AGENT) ? HDR_USER_AGENT : HDR_OTHER;
    case 11:
      return eqName(buf, p, N_GRPC_STATUS) ? HDR_GRPC_STATUS : HDR_OTHER;
    case 12:
      return eqName(buf, p, N_CONTENT_TYPE) ? HDR_CONTENT_TYPE : eqName(buf, p, N_GRPC_MESSAGE) ? HDR_GRPC_MESSAGE : HDR_OTHER;
    case 14:
      return eqName(buf, p, N_CONTENT_LENGTH) ? HDR_CONTENT_LENGTH : HDR_OTHER;
    case 17:
      return eqName(buf, p, N_TRANSFER_ENCODING) ? HDR_TRANSFER_ENCODING : HDR_OTHER;
    default:
      return HDR_OTHER;
  }
}

// ---- field values ---------------------------------------------------------------------------------

/**
 * Content-Length value: 1*DIGIT, or a list of identical values ("42, 42", RFC 9110 8.6).
 * Returns the length, or -1 when invalid (empty, not digits, differing values, above 2^53).
 */
export function parseContentLength(buf: Uint8Array, start: number, end: number): number {
  let value = -1;
  let i = start;
  for (;;) {
    while (i < end && (buf[i] === SP || buf[i] === HT)) i++;
    let v = 0;
    let digits = 0;
    while (i < end && buf[i] >= 0x30 && buf[i] <= 0x39) {
      v = v * 10 + (buf[i] - 0x30);
      digits++;
      i++;
    }
    if (digits === 0 || digits > 15) return -1;
    if (value >= 0 && v !== value) return -1;
    value = v;
    while (i < end && (buf[i] === SP || buf[i] === HT)) i++;
    if (i === end) return value;
    if (buf[i] !== 0x2c) return -1;
    i++;
  }
}

const N_CHUNKED = lit('chunked');

/** True when the last transfer coding listed in `buf[start..end)` is "chunked" (RFC 9112 6.1). */
export function lastCodingIsChunked(buf: Uint8Array, start: number, end: number): boolean {
  // The last list element: after the last comma, trimmed; parameters (";...") are not allowed on chunked.
  let s = end;
  while (s > start && buf[s - 1] !== 0x2c) s--;
  let e = end;
  while (s < e && (buf[s] === SP || buf[s] === HT)) s++;
  while (e > s && (buf[e - 1] === SP || buf[e - 1] === HT)) e--;
  return e - s === 7 && eqName(buf, s, N_CHUNKED);
}

const N_H2C = lit('h2c');

/** True when the first protocol of an Upgrade value is "h2c". */
export function upgradeIsH2c(buf: Uint8Array, start: number, end: number): boolean {
  let s = start;
  while (s < end && (buf[s] === SP || buf[s] === HT)) s++;
  if (end - s < 3 || !eqName(buf, s, N_H2C)) return false;
  const after = s + 3;
  return after === end || buf[after] === 0x2c || buf[after] === SP || buf[after] === HT;
}

/**
 * Chunk-size line `buf[start..end)` (CR already removed): 1*HEXDIG, then optional BWS and
 * chunk extensions (";..."). Returns the size, or -1 when malformed or above 2^52 (leading zeros
 * are allowed).
 */
export function parseChunkSize(buf: Uint8Array, start: number, end: number): number {
  let size = 0;
  let i = start;
  let significant = 0;
  while (i < end) {
    const c = buf[i];
    let v: number;
    if (c >= 0x30 && c <= 0x39) v = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) v = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) v = c - 0x37;
    else break;
    if (size > 0 || v > 0) significant++;
    if (significant > 13) return -1;
    size = size * 16 + v;
    i++;
  }
  if (i === start) return -1;
  while (i < end && (buf[i] === SP || buf[i] === HT)) i++;
  if (i < end && buf[i] !== 0x3b) return -1;
  return size;
}

/** Host without port or userinfo, IPv6 literal without brackets: "a.b:80" -> "a.b", "[::1]:80" -> "::1". */
export function hostOnly(host: string): string {
  const at = host.lastIndexOf('@');
  if (at >= 0) host = host.slice(at + 1);
  if (host.charCodeAt(0) === 0x5b) {
    const close = host.indexOf(']');
    return close > 0 ? host.slice(1, close) : host;
  }
  const colon = host.indexOf(':');
  return colon >= 0 ? host.slice(0, colon) : host;
}

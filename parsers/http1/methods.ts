/**
 * HTTP request methods: the "known" list of the semantic conventions (kept as-is in
 * `http.request.method`, others become `_OTHER`), looked up on bytes without allocating.
 */
import { SPAN_KIND_SERVER } from '../../core/trace/span.js';

/**
 * Known methods by default: RFC 9110, PATCH (RFC 5789) and QUERY (httpbis-safe-method-w-body), the
 * list the OTel HTTP conventions define. `known_methods` in the parser options replaces it.
 */
export const DEFAULT_KNOWN_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY'];

/** `http.request.method` for methods not in the known list. */
export const METHOD_OTHER = '_OTHER';

/** Span name of an HTTP exchange (SEMCONV.md): the method, `HTTP` for `_OTHER` or when none is known. */
export function httpSpanName(method: string): string {
  return method !== '' && method !== METHOD_OTHER ? method : 'HTTP';
}

/** Is an HTTP status an error for a span of this kind (SEMCONV.md): SERVER >= 500, any other kind >= 400. */
export function httpStatusIsError(status: number, kind: number): boolean {
  return status > 0 && (kind === SPAN_KIND_SERVER ? status >= 500 : status >= 400);
}

/** Methods whose response framing differs (RFC 9112 6.3): the response-side parser must know them. */
export const FRAMING_NONE = 0;
export const FRAMING_HEAD = 1;
export const FRAMING_CONNECT = 2;

/** Most methods a table holds (larger configured lists are cut). */
const MAX_METHODS = 250;

/** A case-sensitive method list with byte lookup. Immutable once built. */
export class MethodTable {
  readonly names: readonly string[];
  private readonly bytes: readonly Uint8Array[];
  /** Indices of names by length, for a quick first filter. */
  private readonly byLength: readonly (readonly number[])[];

  constructor(names: readonly string[]) {
    const clean: string[] = [];
    for (const n of names) {
      if (typeof n === 'string' && n.length > 0 && n.length <= 64 && !clean.includes(n) && clean.length < MAX_METHODS) clean.push(n);
    }
    this.names = clean;
    this.bytes = clean.map((n) => {
      const a = new Uint8Array(n.length);
      for (let i = 0; i < n.length; i++) a[i] = n.charCodeAt(i) & 0xff;
      return a;
    });
    const byLength: number[][] = [];
    for (let i = 0; i < clean.length; i++) {
      const l = clean[i].length;
      while (byLength.length <= l) byLength.push([]);
      byLength[l].push(i);
    }
    this.byLength = byLength;
  }

  /** Index of the method spelled by `buf[start..end)`, or -1. Case-sensitive (RFC 9110 9.1). */
  find(buf: Uint8Array, start: number, end: number): number {
    const len = end - start;
    if (len >= this.byLength.length) return -1;
    const cands = this.byLength[len];
    for (let k = 0; k < cands.length; k++) {
      const b = this.bytes[cands[k]];
      let i = 0;
      while (i < len && buf[start + i] === b[i]) i++;
      if (i === len) return cands[k];
    }
    return -1;
  }

  /**
   * Index of a known method that `buf[start..end)` ends with, when the token is longer than it (a
   * method glued to the tail of a lost body: "...xyzGET"), or -1.
   */
  findSuffix(buf: Uint8Array, start: number, end: number): number {
    for (let m = 0; m < this.bytes.length; m++) {
      const b = this.bytes[m];
      const s = end - b.length;
      if (s <= start) continue;
      let i = 0;
      while (i < b.length && buf[s + i] === b[i]) i++;
      if (i === b.length) return m;
    }
    return -1;
  }
}

/** Framing class of a method token (independent of the known list). */
export function framingOf(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len === 4 && buf[start] === 0x48 && buf[start + 1] === 0x45 && buf[start + 2] === 0x41 && buf[start + 3] === 0x44) {
    return FRAMING_HEAD;
  }
  if (
    len === 7 &&
    buf[start] === 0x43 &&
    buf[start + 1] === 0x4f &&
    buf[start + 2] === 0x4e &&
    buf[start + 3] === 0x4e &&
    buf[start + 4] === 0x45 &&
    buf[start + 5] === 0x43 &&
    buf[start + 6] === 0x54
  ) {
    return FRAMING_CONNECT;
  }
  return FRAMING_NONE;
}

/** The default table, shared. */
export const DEFAULT_METHOD_TABLE = new MethodTable(DEFAULT_KNOWN_METHODS);

/**
 * Building HTTP/2 bytes by hand for tests, straight from RFC 9113 section 4.1 (frame layout) and
 * RFC 7541 (header representations). Only encodings simple enough to check by eye: static-table
 * indexed fields (6.1) and literals without indexing with a literal or indexed name (6.2.2), plus
 * the literal with incremental indexing (6.2.1) to put entries in the dynamic table.
 */

export const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

export const DATA = 0;
export const HEADERS = 1;
export const PRIORITY = 2;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const PUSH_PROMISE = 5;
export const PING = 6;
export const GOAWAY = 7;
export const WINDOW_UPDATE = 8;
export const CONTINUATION = 9;

export const END_STREAM = 0x1;
export const ACK = 0x1;
export const END_HEADERS = 0x4;
export const PADDED = 0x8;
export const PRIORITY_FLAG = 0x20;

export function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** One frame: 24-bit length, type, flags, 31-bit stream id, payload. */
export function frame(type: number, flags: number, streamId: number, payload: ArrayLike<number> = []): Uint8Array {
  const len = payload.length;
  return Uint8Array.from([(len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff, type, flags, ...u32(streamId), ...Array.from(payload)]);
}

/** HPACK integer with an N-bit prefix (RFC 7541 5.1); `first` holds the pattern bits above the prefix. */
export function hpackInt(value: number, prefixBits: number, first = 0): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function str(s: string): number[] {
  const b = Array.from(Buffer.from(s, 'latin1'));
  return [...hpackInt(b.length, 7, 0), ...b];
}

/** Indexed header field (6.1): static (1..61) or dynamic (62..) index. */
export const indexed = (i: number): number[] => hpackInt(i, 7, 0x80);
/** Literal without indexing, new name (6.2.2). */
export const literal = (name: string, value: string): number[] => [0x00, ...str(name), ...str(value)];
/** Literal without indexing, indexed name (6.2.2). */
export const literalIdxName = (i: number, value: string): number[] => [...hpackInt(i, 4, 0x00), ...str(value)];
/** Literal with incremental indexing, new name (6.2.1): the field enters the dynamic table. */
export const literalIndexed = (name: string, value: string): number[] => [0x40, ...str(name), ...str(value)];
/** Dynamic table size update (6.3). */
export const sizeUpdate = (n: number): number[] => hpackInt(n, 5, 0x20);

/** Static table indices used in tests (RFC 7541 Appendix A). */
export const S = {
  authority: 1,
  get: 2,
  post: 3,
  slash: 4,
  http: 6,
  status200: 8,
  status204: 9,
  status404: 13,
  status500: 14,
  path: 4,
  status: 8,
  contentType: 31,
  userAgent: 58,
} as const;

/** A request header block: `:method`, `:scheme` http, `:path`, `:authority`, then extra fields. */
export function requestBlock(method: string, path: string, authority = 'example.test', extra: [string, string][] = []): number[] {
  const m = method === 'GET' ? indexed(S.get) : method === 'POST' ? indexed(S.post) : literalIdxName(2, method);
  return [...m, ...indexed(S.http), ...literalIdxName(S.path, path), ...literalIdxName(S.authority, authority), ...extra.flatMap(([n, v]) => literal(n, v))];
}

/** A response header block: `:status` then extra fields. */
export function responseBlock(status: number, extra: [string, string][] = []): number[] {
  const st = status === 200 ? indexed(S.status200) : status === 404 ? indexed(S.status404) : status === 500 ? indexed(S.status500) : literalIdxName(S.status, String(status));
  return [...st, ...extra.flatMap(([n, v]) => literal(n, v))];
}

/** gRPC length-prefixed messages (PROTOCOL-HTTP2.md): flag 0, 4-byte length, bytes. */
export function grpcMessages(...msgs: number[]): number[] {
  const out: number[] = [];
  for (const len of msgs) out.push(0, ...u32(len), ...new Array<number>(len).fill(0x61));
  return out;
}

export function concatBytes(...parts: (Uint8Array | string | number[])[]): Uint8Array {
  const arrs = parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Uint8Array.from(p)));
  const out = new Uint8Array(arrs.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of arrs) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

/** SETTINGS with (id, value) pairs. */
export function settings(pairs: [number, number][] = [], ack = false): Uint8Array {
  return frame(SETTINGS, ack ? ACK : 0, 0, pairs.flatMap(([id, v]) => [(id >> 8) & 0xff, id & 0xff, ...u32(v)]));
}

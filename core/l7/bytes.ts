/**
 * Byte helpers shared by parsers: network-order integers, and decoding views to strings without
 * per-byte string building.
 */
const latin1Slice = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string;

/**
 * buf[start..end) as a latin1 string (one native call; works on any Uint8Array). HTTP/1 header
 * values are ISO-8859-1 by definition (RFC 9110 5.5); for ASCII it is the identity.
 */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  return end > start ? latin1Slice.call(buf, start, end) : '';
}

/** Big-endian (network order) unsigned 16-bit integer at b[p]. */
export function u16be(b: Uint8Array, p: number): number {
  return (b[p] << 8) | b[p + 1];
}

/** Big-endian (network order) unsigned 32-bit integer at b[p]. */
export function u32be(b: Uint8Array, p: number): number {
  return ((b[p] << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
}

const utf8Slice = Buffer.prototype.utf8Slice as (this: Uint8Array, start: number, end: number) => string;

/** buf[start..end) decoded as UTF-8 (invalid sequences become U+FFFD; one native call). */
export function utf8(buf: Uint8Array, start: number, end: number): string {
  return end > start ? utf8Slice.call(buf, start, end) : '';
}

/** Little-endian unsigned 16-bit integer at b[p]. */
export function u16le(b: Uint8Array, p: number): number {
  return b[p] | (b[p + 1] << 8);
}

/** Little-endian unsigned 24-bit integer at b[p]. */
export function u24le(b: Uint8Array, p: number): number {
  return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16);
}

/** Little-endian unsigned 32-bit integer at b[p]. */
export function u32le(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + ((b[p + 3] << 24) >>> 0);
}

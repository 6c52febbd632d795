// Reading the payload in the input window: bounds-checked integer readers (a read outside the bytes
// of this call returns 0), varints, length-prefixed fields and searches. Nothing here allocates.
import { INPUT } from './buffers';

/** A byte range of the input (`start`, `length`), filled in by the finders below. */
export class Slice {
  start: i32 = 0;
  length: i32 = 0;
  get end(): i32 {
    return this.start + this.length;
  }
}

@inline function lower(c: i32): i32 {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/**
 * The bytes of the current call: `length` bytes at offsets 0..length-1. Valid only during the call
 * (the host overwrites the window with the next payload). One instance, reused for every call.
 */
export class Input {
  length: i32 = 0;
  /** The range found by the last `lengthPrefixed` / `until` / HTTP finder. */
  readonly value: Slice = new Slice();
  /** Bytes used by the last `varint` (0: incomplete or longer than 10 bytes). */
  varintSize: i32 = 0;

  /** True when `n` bytes are available at `at`. */
  @inline has(at: i32, n: i32): bool {
    return at >= 0 && n >= 0 && at <= this.length - n;
  }

  @inline u8(at: i32): u32 {
    return <u32>at < <u32>this.length ? <u32>load<u8>(INPUT + <usize>at) : 0;
  }
  u16be(at: i32): u32 {
    return this.has(at, 2) ? <u32>bswap<u16>(load<u16>(INPUT + <usize>at)) : 0;
  }
  u16le(at: i32): u32 {
    return this.has(at, 2) ? <u32>load<u16>(INPUT + <usize>at) : 0;
  }
  u32be(at: i32): u32 {
    return this.has(at, 4) ? bswap<u32>(load<u32>(INPUT + <usize>at)) : 0;
  }
  u32le(at: i32): u32 {
    return this.has(at, 4) ? load<u32>(INPUT + <usize>at) : 0;
  }
  i32be(at: i32): i32 {
    return <i32>this.u32be(at);
  }
  i32le(at: i32): i32 {
    return <i32>this.u32le(at);
  }
  u64be(at: i32): u64 {
    return this.has(at, 8) ? bswap<u64>(load<u64>(INPUT + <usize>at)) : 0;
  }
  u64le(at: i32): u64 {
    return this.has(at, 8) ? load<u64>(INPUT + <usize>at) : 0;
  }

  /**
   * Unsigned LEB128 varint at `at` (protobuf, Kafka, MQTT remaining length use this encoding).
   * Sets `varintSize` to the bytes used, 0 when the varint is cut short or longer than 10 bytes.
   */
  varint(at: i32): u64 {
    let v: u64 = 0;
    let shift: u64 = 0;
    for (let i = at; i < this.length && i - at < 10; i++) {
      if (i < 0) break;
      const b = <u64>load<u8>(INPUT + <usize>i);
      v |= (b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        this.varintSize = i - at + 1;
        return v;
      }
      shift += 7;
    }
    this.varintSize = 0;
    return 0;
  }

  /** Zig-zag decoded signed varint (protobuf sint32/sint64). */
  varintSigned(at: i32): i64 {
    const u = this.varint(at);
    return <i64>(u >> 1) ^ -<i64>(u & 1);
  }

  /**
   * A field preceded by its length (`prefixBytes` 1, 2 or 4, big- or little-endian) at `at`. On
   * success `value` is the field (after the prefix) and the result is true; false when cut short.
   */
  lengthPrefixed(at: i32, prefixBytes: i32, bigEndian: bool = true): bool {
    let n: i64;
    if (prefixBytes == 1) {
      if (!this.has(at, 1)) return false;
      n = this.u8(at);
    } else if (prefixBytes == 2) {
      if (!this.has(at, 2)) return false;
      n = bigEndian ? this.u16be(at) : this.u16le(at);
    } else if (prefixBytes == 4) {
      if (!this.has(at, 4)) return false;
      n = bigEndian ? this.u32be(at) : this.u32le(at);
    } else {
      return false;
    }
    const start = at + prefixBytes;
    if (n > <i64>(this.length - start)) return false;
    this.value.start = start;
    this.value.length = <i32>n;
    return true;
  }

  /** Offset of the first `byte` in [from, length), or -1. */
  indexOf(byte: i32, from: i32 = 0): i32 {
    for (let i = max(from, 0); i < this.length; i++) if (<i32>load<u8>(INPUT + <usize>i) == byte) return i;
    return -1;
  }

  /** Offset of the first occurrence of the ASCII `needle` in [from, length), or -1. */
  find(needle: string, from: i32 = 0): i32 {
    const n = needle.length;
    if (n == 0) return from;
    const first = needle.charCodeAt(0);
    const last = this.length - n;
    for (let i = max(from, 0); i <= last; i++) {
      if (<i32>load<u8>(INPUT + <usize>i) != first) continue;
      let j = 1;
      while (j < n && <i32>load<u8>(INPUT + <usize>(i + j)) == needle.charCodeAt(j)) j++;
      if (j == n) return i;
    }
    return -1;
  }

  /** Like `find`, ASCII letters compared without case. */
  findNoCase(needle: string, from: i32 = 0): i32 {
    const n = needle.length;
    const last = this.length - n;
    for (let i = max(from, 0); i <= last; i++) {
      if (this.equalsNoCase(i, needle)) return i;
    }
    return -1;
  }

  /** True when the ASCII `s` is at `at`. */
  startsWith(at: i32, s: string): bool {
    const n = s.length;
    if (!this.has(at, n)) return false;
    for (let j = 0; j < n; j++) if (<i32>load<u8>(INPUT + <usize>(at + j)) != s.charCodeAt(j)) return false;
    return true;
  }

  /** Like `startsWith`, ASCII letters compared without case. */
  equalsNoCase(at: i32, s: string): bool {
    const n = s.length;
    if (!this.has(at, n)) return false;
    for (let j = 0; j < n; j++) if (lower(<i32>load<u8>(INPUT + <usize>(at + j))) != lower(s.charCodeAt(j))) return false;
    return true;
  }

  /** Sets `value` to [at, first `byte` after at) and returns true; false when `byte` is not there. */
  until(at: i32, byte: i32): bool {
    const e = this.indexOf(byte, at);
    if (e < 0) return false;
    this.value.start = at;
    this.value.length = e - at;
    return true;
  }

  /** ASCII decimal digits at [at, at+len) as a number (an optional leading '-'); stops at a non-digit. */
  decimal(at: i32, len: i32): i64 {
    let v: i64 = 0;
    let i = at;
    const end = min(at + len, this.length);
    let neg = false;
    if (i < end && load<u8>(INPUT + <usize>i) == 0x2d) {
      neg = true;
      i++;
    }
    for (; i < end; i++) {
      const c = <i32>load<u8>(INPUT + <usize>i);
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + <i64>(c - 0x30);
    }
    return neg ? -v : v;
  }
}

export const input = new Input();

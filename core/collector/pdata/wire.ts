/**
 * Protocol Buffers wire format: a reader over a byte view and a growable writer. Enough for the
 * OTLP messages (varint, fixed32/64, length-delimited; groups are skipped by the reader).
 */

export class ProtoError extends Error {}

type FastSliceBuffer = Buffer & { utf8Slice(start: number, end: number): string; hexSlice(start: number, end: number): string };

const KEY_SLOTS = 1024;
const keyCache: ({ bytes: Uint8Array; str: string } | undefined)[] = new Array(KEY_SLOTS);

export class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
    public end = buf.length,
  ) {
    this.pos = start;
  }

  /** A varint up to 2^53 (lengths, tags, 32-bit values, small 64-bit values). */
  varint(): number {
    const b = this.buf;
    let p = this.pos;
    let c = b[p++];
    if (c < 0x80) {
      this.pos = p;
      return c;
    }
    let v = c & 0x7f;
    let mul = 0x80;
    for (let i = 1; i < 10; i++) {
      if (p >= this.end) throw new ProtoError('truncated varint');
      c = b[p++];
      v += (c & 0x7f) * mul;
      if (c < 0x80) {
        this.pos = p;
        return v;
      }
      mul *= 0x80;
    }
    throw new ProtoError('varint longer than 10 bytes');
  }

  /** A 64-bit varint as a decimal string (two's complement when signed). */
  varint64(signed: boolean): string {
    const start = this.pos;
    const v = this.varint();
    if (v <= Number.MAX_SAFE_INTEGER && this.pos - start < 10) return String(v);
    // Exact path: re-read with BigInt.
    let x = 0n;
    let shift = 0n;
    for (let p = start; p < this.pos; p++) {
      x |= BigInt(this.buf[p] & 0x7f) << shift;
      shift += 7n;
    }
    x = BigInt.asUintN(64, x);
    return String(signed ? BigInt.asIntN(64, x) : x);
  }

  sint32(): number {
    const v = this.varint() >>> 0;
    return (v >>> 1) ^ -(v & 1);
  }

  int32(): number {
    return this.varint() | 0;
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) throw new ProtoError('truncated fixed32');
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.end) throw new ProtoError('truncated fixed64');
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  sfixed64(): bigint {
    if (this.pos + 8 > this.end) throw new ProtoError('truncated sfixed64');
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new ProtoError('truncated double');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** The bounds of a length-delimited field's bytes (advances past them). */
  bytes(): number {
    const n = this.varint();
    const start = this.pos;
    if (start + n > this.end) throw new ProtoError('length-delimited field runs past its message');
    this.pos = start + n;
    return start;
  }

  string(): string {
    const n = this.varint();
    const start = this.pos;
    if (start + n > this.end) throw new ProtoError('string runs past its message');
    this.pos = start + n;
    if (n === 0) return '';
    // Buffer's own slicer without toString's argument checks (bounds are checked above).
    return (this.buf as FastSliceBuffer).utf8Slice(start, start + n);
  }

  /**
   * A string that recurs (attribute keys): looked up in a small cache by its bytes, so the same
   * key decodes to the same (already internalized) string without a UTF-8 decode.
   */
  key(): string {
    const n = this.varint();
    const start = this.pos;
    const end = start + n;
    if (end > this.end) throw new ProtoError('string runs past its message');
    this.pos = end;
    if (n === 0) return '';
    if (n > 48) return (this.buf as FastSliceBuffer).utf8Slice(start, end);
    const b = this.buf;
    const slot = (n * 31 + b[start] * 7 + b[end - 1] * 13 + b[start + (n >> 1)]) & (KEY_SLOTS - 1);
    const e = keyCache[slot];
    if (e !== undefined && e.bytes.length === n) {
      const kb = e.bytes;
      let i = 0;
      while (i < n && kb[i] === b[start + i]) i++;
      if (i === n) return e.str;
    }
    const str = (b as FastSliceBuffer).utf8Slice(start, end);
    keyCache[slot] = { bytes: Uint8Array.prototype.slice.call(b, start, end), str };
    return str;
  }

  /** Bytes start..end as lower-case hex (ids). */
  hex(start: number, end: number): string {
    return (this.buf as FastSliceBuffer).hexSlice(start, end);
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        break;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.bytes();
        break;
      case 5:
        this.pos += 4;
        break;
      case 3: {
        for (;;) {
          const tag = this.varint();
          if ((tag & 7) === 4) break;
          this.skip(tag & 7);
        }
        break;
      }
      default:
        throw new ProtoError(`unknown wire type ${wire}`);
    }
    if (this.pos > this.end) throw new ProtoError('field runs past its message');
  }
}

/** A growable output buffer. Nested messages: `fork()` ... `join(fieldNo)` (length fixed afterwards). */
export class Writer {
  buf: Buffer;
  pos = 0;
  private readonly stack: number[] = [];

  constructor(size = 4096) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = Buffer.allocUnsafe(size);
    this.buf.copy(b, 0, 0, this.pos);
    this.buf = b;
  }

  varint(v: number): void {
    this.ensure(10);
    const b = this.buf;
    if (v < 0x80 && v >= 0) {
      b[this.pos++] = v;
      return;
    }
    if (v < 0) {
      // Negative int32/int64: ten bytes of two's complement.
      this.varintBig(BigInt.asUintN(64, BigInt(Math.trunc(v))));
      return;
    }
    while (v >= 0x80) {
      b[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[this.pos++] = v;
  }

  varintBig(v: bigint): void {
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  tag(no: number, wire: number): void {
    this.varint(no * 8 + wire);
  }

  fixed32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  fixed64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.pos);
    this.pos += 8;
  }

  double(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  string(no: number, s: string): void {
    this.tag(no, 2);
    const len = s.length;
    if (len <= 42) {
      // At most 126 UTF-8 bytes: the length fits one byte, written after the string.
      this.ensure(1 + len * 3);
      const at = this.pos++;
      const b = this.buf;
      let p = this.pos;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[p++] = c;
      }
      if (i < len) p = this.pos + (b as Buffer & { utf8Write(s: string, o: number): number }).utf8Write(s, this.pos);
      b[at] = p - this.pos;
      this.pos = p;
      return;
    }
    const n = Buffer.byteLength(s);
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  bytes(no: number, b: Uint8Array): void {
    this.tag(no, 2);
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Bytes from a hex string (trace and span ids). */
  hex(no: number, h: string): void {
    const n = h.length >> 1;
    this.tag(no, 2);
    this.varint(n);
    this.ensure(n);
    this.pos += (this.buf as Buffer & { hexWrite(s: string, o: number, l: number): number }).hexWrite(h, this.pos, n);
  }

  /** Raw bytes, already encoded (cached fields). */
  raw(b: Uint8Array): void {
    const n = b.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    if (n <= 32) for (let i = 0; i < n; i++) buf[p++] = b[i];
    else {
      buf.set(b, p);
      p += n;
    }
    this.pos = p;
  }

  /** Starts a length-delimited field: its bytes follow until `join()`. */
  fork(no: number): void {
    this.tag(no, 2);
    this.ensure(1);
    this.stack.push(this.pos);
    this.pos += 1; // one length byte reserved; moved if the length needs more
  }

  join(): void {
    const at = this.stack.pop()!;
    const len = this.pos - at - 1;
    if (len < 0x80) {
      this.buf[at] = len;
      return;
    }
    let size = 1;
    for (let v = len; v >= 0x80; v = Math.floor(v / 0x80)) size++;
    this.ensure(size - 1);
    this.buf.copyWithin(at + size, at + 1, this.pos);
    this.pos += size - 1;
    let p = at;
    let v = len;
    while (v >= 0x80) {
      this.buf[p++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[p] = v;
  }

  /** The bytes written (a view on the writer's buffer: the writer must not be used afterwards). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/**
 * Kafka wire encoding for tests, written from the protocol guide (https://kafka.apache.org/protocol):
 * big-endian integers, (compact) strings, bytes and arrays, tagged fields, request/response headers,
 * record batches (magic 2, https://kafka.apache.org/documentation/#recordbatch) and message sets
 * (magic 0 and 1). CRCs are left zero: spanwire does not check them.
 */

export class W {
  private readonly parts: Buffer[] = [];
  constructor(readonly flexible = false) {}
  raw(b: Uint8Array | Buffer): this {
    this.parts.push(Buffer.from(b));
    return this;
  }
  i8(n: number): this {
    const b = Buffer.alloc(1);
    b.writeInt8(n);
    return this.raw(b);
  }
  i16(n: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    return this.raw(b);
  }
  i32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return this.raw(b);
  }
  i64(n: number | bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(n));
    return this.raw(b);
  }
  uuid(hex: string): this {
    return this.raw(Buffer.from(hex, 'hex'));
  }
  uvarint(n: number): this {
    const out: number[] = [];
    do {
      let c = n & 0x7f;
      n = Math.floor(n / 128);
      if (n > 0) c |= 0x80;
      out.push(c);
    } while (n > 0);
    return this.raw(Buffer.from(out));
  }
  varint(n: number): this {
    return this.uvarint(n >= 0 ? n * 2 : -n * 2 - 1);
  }
  /** string / nullable string, compact in flexible versions. */
  str(s: string | null): this {
    if (s === null) return this.flexible ? this.uvarint(0) : this.i16(-1);
    const b = Buffer.from(s, 'utf8');
    if (this.flexible) this.uvarint(b.length + 1);
    else this.i16(b.length);
    return this.raw(b);
  }
  /** bytes / records, compact in flexible versions. */
  bytes(b: Buffer | null): this {
    if (b === null) return this.flexible ? this.uvarint(0) : this.i32(-1);
    if (this.flexible) this.uvarint(b.length + 1);
    else this.i32(b.length);
    return this.raw(b);
  }
  /** Array length, compact in flexible versions (-1: null). */
  arr(n: number): this {
    return this.flexible ? this.uvarint(n + 1) : this.i32(n);
  }
  /** Empty tagged-field section (flexible versions only). */
  tags(): this {
    return this.flexible ? this.uvarint(0) : this;
  }
  /** One tagged field. */
  tagged(fields: [number, Buffer][]): this {
    this.uvarint(fields.length);
    for (const [t, v] of fields) this.uvarint(t).uvarint(v.length).raw(v);
    return this;
  }
  buf(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** A request: size, header (v1, or v2 with tagged fields when flexible), body. */
export function request(apiKey: number, version: number, correlationId: number, clientId: string | null, flexible: boolean, body: Buffer): Buffer {
  const h = new W(false).i16(apiKey).i16(version).i32(correlationId).str(clientId);
  if (flexible) h.uvarint(0);
  const payload = Buffer.concat([h.buf(), body]);
  return Buffer.concat([new W().i32(payload.length).buf(), payload]);
}

/** A response: size, correlation id (and tagged fields when the header is v1), body. */
export function response(correlationId: number, flexibleHeader: boolean, body: Buffer): Buffer {
  const h = new W().i32(correlationId);
  if (flexibleHeader) h.uvarint(0);
  const payload = Buffer.concat([h.buf(), body]);
  return Buffer.concat([new W().i32(payload.length).buf(), payload]);
}

export interface TestRecord {
  key?: string | null;
  value: string | Buffer;
  headers?: [string, string][];
}

/** A record batch (magic 2): the 61-byte header then the records (uncompressed unless `attributes` says). */
export function recordBatch(records: TestRecord[], opts: { baseOffset?: number; attributes?: number; body?: Buffer } = {}): Buffer {
  const recs = new W();
  records.forEach((r, i) => {
    const w = new W().i8(0).varint(0).varint(i);
    if (r.key === undefined || r.key === null) w.varint(-1);
    else w.varint(Buffer.byteLength(r.key)).raw(Buffer.from(r.key));
    const v = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    w.varint(v.length).raw(v);
    const hs = r.headers ?? [];
    w.varint(hs.length);
    for (const [k, val] of hs) w.varint(Buffer.byteLength(k)).raw(Buffer.from(k)).varint(Buffer.byteLength(val)).raw(Buffer.from(val));
    const body = w.buf();
    recs.varint(body.length).raw(body);
  });
  const recordBytes = opts.body ?? recs.buf();
  // After the length field: leader epoch(4) magic(1) crc(4) attributes(2) lastOffsetDelta(4)
  // firstTimestamp(8) maxTimestamp(8) producerId(8) producerEpoch(2) baseSequence(4) count(4).
  const after = new W()
    .i32(0)
    .i8(2)
    .i32(0)
    .i16(opts.attributes ?? 0)
    .i32(records.length - 1)
    .i64(1_700_000_000_000)
    .i64(1_700_000_000_000)
    .i64(-1)
    .i16(-1)
    .i32(-1)
    .i32(records.length)
    .raw(recordBytes)
    .buf();
  return new W().i64(opts.baseOffset ?? 0).i32(after.length).raw(after).buf();
}

/** A message set entry (magic 0 or 1). */
export function legacyMessage(magic: 0 | 1, key: string | null, value: string, offset = 0): Buffer {
  const m = new W().i32(0).i8(magic).i8(0);
  if (magic === 1) m.i64(1_700_000_000_000);
  if (key === null) m.i32(-1);
  else m.i32(Buffer.byteLength(key)).raw(Buffer.from(key));
  m.i32(Buffer.byteLength(value)).raw(Buffer.from(value));
  const msg = m.buf();
  return new W().i64(offset).i32(msg.length).raw(msg).buf();
}

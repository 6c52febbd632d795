/**
 * Record data inside Produce requests and Fetch responses, walked as it passes: record batches
 * (magic 2: the record count is in the 61-byte batch header) and message sets (magic 0 and 1: one
 * message per entry). Payloads are skipped, never buffered, except a small uncompressed batch of a
 * Produce request, which is read whole for its record headers (trace context).
 */
import { u16be, u32be } from '../../core/l7/bytes.js';
import type { TraceContext } from '../../core/trace/propagation.js';
import { TraceContextCollector } from '../../core/trace/propagation.js';


/** Batch header sizes: offset(8) length(4) then, for magic 2, 49 more bytes up to the record count. */
const LOG_OVERHEAD = 12;
const V2_HEADER = 61;
/** Bytes to read magic: offset(8) length(4) epoch-or-crc(4) magic(1). */
const MAGIC_AT = 16;

/** Unsigned LEB128 varint at b[p] within end: value, or -1 incomplete / -2 too long. Sets `varEnd`. */
let varEnd = 0;
export function uvarint(b: Uint8Array, p: number, end: number): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 5; i++) {
    if (p + i >= end) return -1;
    const c = b[p + i];
    v += (c & 0x7f) * mul;
    if ((c & 0x80) === 0) {
      varEnd = p + i + 1;
      return v;
    }
    mul *= 128;
  }
  return -2;
}
/** Where the last successful `uvarint` ended. */
export function uvarintEnd(): number {
  return varEnd;
}

/** Zigzag (signed) varint at b[p]: value, or NaN when incomplete/invalid; sets `varEnd`. */
function svarint(b: Uint8Array, p: number, end: number): number {
  const u = uvarint(b, p, end);
  if (u < 0) return NaN;
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}

/** Skip a zigzag varlong (up to 10 bytes): its end, or -1. */
function skipVarlong(b: Uint8Array, p: number, end: number): number {
  for (let i = 0; i < 10 && p + i < end; i++) if ((b[p + i] & 0x80) === 0) return p + i + 1;
  return -1;
}

/**
 * Walks one `records` field of `left` bytes. `step` consumes what it can of b[p..end) (end is within
 * the field) and returns the new position; `needMore` is set when it stopped at a batch header (or a
 * batch read whole) cut by the end of the buffer. `records` and `batches` accumulate over the message.
 */
export class RecordsWalker {
  /** Bytes of the field not walked yet. */
  left = 0;
  /** Bytes of the current batch still to skip. */
  private skip = 0;
  /** Records counted (magic 2: the batches' record counts; magic 0/1: messages). */
  records = 0;
  batches = 0;
  /** Trace context from the first record header that carries one (Produce requests only). */
  trace: TraceContext | null = null;
  /** Read record headers of batches up to this size (0: never). */
  private headerBatchLimit = 0;
  /** A malformed batch was met (the rest of the field was skipped). */
  malformed = false;
  /** The field ended inside a batch (a Fetch response may end with a partial batch). */
  partial = false;
  /** The last `step` stopped before a batch whose header (or whole bytes) is not all there yet. */
  needMore = false;
  private readonly collector = new TraceContextCollector();

  /** Start of a message: forget the counts. */
  resetMessage(): void {
    this.records = 0;
    this.batches = 0;
    this.trace = null;
    this.malformed = false;
    this.partial = false;
    this.left = 0;
    this.skip = 0;
  }

  /** Start of a records field of `length` bytes; record headers are read in batches up to `headerBatchLimit`. */
  begin(length: number, headerBatchLimit: number): void {
    this.left = length;
    this.skip = 0;
    this.headerBatchLimit = headerBatchLimit;
  }

  step(b: Uint8Array, p: number, end: number): number {
    this.needMore = false;
    while (p < end && this.left > 0) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, end - p);
        this.skip -= n;
        this.left -= n;
        p += n;
        continue;
      }
      const avail = end - p;
      if (this.left < MAGIC_AT + 1) {
        // A trailing fragment shorter than a batch header: a partial batch.
        this.partial = true;
        this.skip = this.left;
        continue;
      }
      if (avail < MAGIC_AT + 1) return this.stop(p);
      const batchLen = u32be(b, p + 8) | 0;
      const magic = b[p + MAGIC_AT];
      const total = LOG_OVERHEAD + batchLen;
      if (batchLen < 0 || magic > 2 || (magic === 2 && total < V2_HEADER) || (magic < 2 && batchLen < 14)) {
        this.malformed = true;
        this.skip = this.left;
        continue;
      }
      if (total > this.left) {
        // The last batch is cut (brokers may return a partial batch at the end of a fetch).
        this.partial = true;
        this.skip = this.left;
        continue;
      }
      if (magic < 2) {
        this.records++;
        this.batches++;
        this.skip = total;
        continue;
      }
      if (avail < V2_HEADER) return this.stop(p);
      const attributes = u16be(b, p + 21);
      const count = u32be(b, p + 57) | 0;
      const control = (attributes & 0x20) !== 0;
      if (this.trace === null && !control && (attributes & 7) === 0 && count > 0 && total <= this.headerBatchLimit) {
        if (avail < total) return this.stop(p);
        this.readHeaders(b, p + V2_HEADER, p + total, count);
      }
      this.batches++;
      if (!control && count > 0) this.records += count;
      this.skip = total;
    }
    return p;
  }

  private stop(p: number): number {
    this.needMore = true;
    return p;
  }

  /** Record headers of an uncompressed batch: the first record carrying trace context gives it. */
  private readHeaders(b: Uint8Array, q: number, end: number, count: number): void {
    const c = this.collector;
    for (let i = 0; i < count && q < end; i++) {
      const len = svarint(b, q, end);
      if (!(len >= 0)) return;
      const recEnd = varEnd + len;
      if (recEnd > end) return;
      q = varEnd + 1; // attributes
      q = skipVarlong(b, q, recEnd); // timestamp delta
      if (q < 0) return;
      if (!(svarint(b, q, recEnd) >= -1)) return; // offset delta
      q = varEnd;
      const keyLen = svarint(b, q, recEnd);
      if (!(keyLen >= -1)) return;
      q = varEnd + Math.max(0, keyLen);
      const valueLen = svarint(b, q, recEnd);
      if (!(valueLen >= -1)) return;
      q = varEnd + Math.max(0, valueLen);
      const headers = svarint(b, q, recEnd);
      if (!(headers >= 0)) return;
      q = varEnd;
      c.reset();
      for (let h = 0; h < headers; h++) {
        const kl = svarint(b, q, recEnd);
        if (!(kl >= 0) || varEnd + kl > recEnd) return;
        const ks = varEnd;
        const ke = ks + kl;
        const vl = svarint(b, ke, recEnd);
        if (!(vl >= -1) || varEnd + Math.max(0, vl) > recEnd) return;
        const vs = varEnd;
        const ve = vs + Math.max(0, vl);
        c.offerBytes(b, ks, ke, vs, ve);
        q = ve;
      }
      const t = c.any ? c.result() : null;
      if (t !== null && t.traceId !== '') {
        this.trace = t;
        return;
      }
      q = recEnd;
    }
  }
}

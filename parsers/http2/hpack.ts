/**
 * HPACK decoding (RFC 7541): integers (5.1), strings (5.2), the static table (Appendix A), the
 * dynamic table with its size rules (4), and the field representations (6).
 *
 * A passive observer may miss the start of a connection or a header block. Then the decoder is in
 * "unknown" mode: older dynamic entries exist in an unknown number and content (the unknown tail).
 * The dynamic table is indexed newest first, and an encoder never refers to an evicted entry, so the
 * entries inserted since the state was lost are always found at their right index: they decode. A
 * reference past them gives `onUnknown()` (never a guessed value). The tail is known to be gone when
 * a size update to 0 empties the table, or when the entries held (their sizes are exact, or lower
 * bounds for entries whose name was unknown) plus one minimal entry (32 octets) exceed the table's
 * maximum size: no older entry can still fit. From then on the table is fully known again.
 *
 * While the state is unknown, the encoder's current maximum size is unknown too (a size update may
 * have been in a block not seen): the largest value it can have (the last one seen, or the bound
 * from SETTINGS if larger) stands for it in both the eviction and the rule above. A larger maximum
 * only evicts later and concludes later, so neither can drop an entry the encoder still refers to.
 */
import { latin1 } from '../../core/l7/bytes.js';
import { huffmanDecode } from './huffman.js';

export const HPACK_OK = 0;
/** Index 0, or past the static and dynamic tables when the dynamic table is fully known. */
export const HPACK_ERR_INDEX = -1;
/** An integer above 2^31-1, longer than 6 continuation octets, or cut by the end of the block. */
export const HPACK_ERR_INTEGER = -2;
/** A string longer than the block, or than 1 MiB. */
export const HPACK_ERR_STRING = -3;
/** Invalid Huffman: EOS inside, or bad padding. */
export const HPACK_ERR_HUFFMAN = -4;
/** A dynamic table size update above the allowed maximum, or after a field in the block. */
export const HPACK_ERR_TABLE_SIZE = -5;

export interface HeaderSink {
  /** One decoded field: `name` as sent (HTTP/2 names are lower-case), `value` decoded as latin1. */
  onHeader(name: string, value: string): void;
  /** A field referring to a dynamic-table entry this decoder does not know. Nothing about it is invented. */
  onUnknown(): void;
}

/** RFC 7541 Appendix A (index 1 = STATIC_TABLE[0]). */
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_LEN = STATIC_TABLE.length;

/** Largest dynamic table accepted (SETTINGS_HEADER_TABLE_SIZE may say up to 2^32-1; real peers use 4-64 KiB). */
export const MAX_TABLE_BOUND = 1 << 20;
/** Entry overhead (RFC 7541 4.1). */
const ENTRY_OVERHEAD = 32;
/** Longest string accepted. */
const MAX_STRING = 1 << 20;

export class HpackDecoder {
  /** Dynamic entries, oldest first (index 62 = the last one). null: not known. */
  private names: (string | null)[] = [];
  private values: (string | null)[] = [];
  private sizes: number[] = [];
  /** Sum of `sizes` (exact, or a lower bound while entries with unknown names are held). */
  private size = 0;
  /** Entries held whose name is unknown. */
  private unknownEntries = 0;
  /** Older entries of unknown number and content may exist. */
  private tail: boolean;
  /** Maximum size set by the encoder (size updates), bounded by `bound`. */
  private maxSize: number;
  /** A size update may have been missed: `maxSize` is not known to be the encoder's. */
  private maxUnknown: boolean;
  /** SETTINGS_HEADER_TABLE_SIZE of the decoding side. */
  private bound: number;
  /** Position after the last integer/string read. */
  private pos = 0;

  constructor(maxTableSize = 4096, known = true) {
    this.bound = maxTableSize;
    this.maxSize = maxTableSize;
    this.tail = !known;
    this.maxUnknown = !known;
  }

  get incomplete(): boolean {
    return this.tail || this.unknownEntries > 0;
  }

  /** For tests: the table size as HPACK counts it, and the entries newest first. */
  get tableSize(): number {
    return this.size;
  }

  tableEntries(): [string | null, string | null][] {
    const out: [string | null, string | null][] = [];
    for (let i = this.names.length - 1; i >= 0; i--) out.push([this.names[i], this.values[i]]);
    return out;
  }

  /**
   * The bound for the encoder's size updates (SETTINGS_HEADER_TABLE_SIZE of the decoding side). The
   * table itself changes only with the encoder's next size update (RFC 7541 4.2: the encoder must
   * signal a reduction at the start of its next block): blocks encoded before the encoder saw the
   * setting still refer to the entries of the larger table, so nothing is evicted here.
   */
  setMaxTableSize(n: number): void {
    // Capped so that a peer cannot make one connection hold an unbounded table: a size update above
    // the cap is then an error (the state becomes unknown, counted) rather than memory.
    this.bound = n >= 0 ? (n < MAX_TABLE_BOUND ? n : MAX_TABLE_BOUND) : 0;
  }

  lose(): void {
    this.clear(true);
    this.maxUnknown = true;
  }

  /** The table's maximum size, or while it is unknown the largest it can be. */
  private limit(): number {
    return this.maxUnknown && this.bound > this.maxSize ? this.bound : this.maxSize;
  }

  /** Empty the dynamic table; `tail`: older entries of unknown content may still exist. */
  private clear(tail: boolean): void {
    this.names = [];
    this.values = [];
    this.sizes = [];
    this.size = 0;
    this.unknownEntries = 0;
    this.tail = tail;
  }

  decode(buf: Uint8Array, offset: number, length: number, sink: HeaderSink): number {
    // Bytes outside `buf` do not exist: a range past its end is a block cut there.
    const start = offset > 0 ? Math.floor(offset) : 0;
    const end = Math.min(Math.floor(offset + length), buf.length);
    const r = end > start ? this.decodeBlock(buf, start, end, sink) : HPACK_OK;
    if (r !== HPACK_OK) this.lose();
    return r;
  }

  private decodeBlock(b: Uint8Array, p: number, end: number, sink: HeaderSink): number {
    let fields = 0;
    while (p < end) {
      const c = b[p];
      if ((c & 0x80) !== 0) {
        // 6.1 Indexed Header Field
        const idx = this.int(b, p, end, 7);
        if (idx < 0) return idx;
        p = this.pos;
        if (idx === 0) return HPACK_ERR_INDEX;
        const r = this.emitIndexed(idx, sink);
        if (r !== HPACK_OK) return r;
        fields++;
        continue;
      }
      if ((c & 0xe0) === 0x20) {
        // 6.3 Dynamic Table Size Update: only at the start of a block (4.2).
        if (fields > 0) return HPACK_ERR_TABLE_SIZE;
        const n = this.int(b, p, end, 5);
        if (n < 0) return n;
        p = this.pos;
        if (n > this.bound) return HPACK_ERR_TABLE_SIZE;
        this.maxSize = n;
        this.maxUnknown = false;
        if (n === 0) this.clear(false);
        else this.evict();
        continue;
      }
      // 6.2.1 with incremental indexing (01), 6.2.2 without indexing (0000), 6.2.3 never indexed (0001)
      const indexing = (c & 0xc0) === 0x40;
      const nameIdx = this.int(b, p, end, indexing ? 6 : 4);
      if (nameIdx < 0) return nameIdx;
      p = this.pos;
      let name: string | null;
      if (nameIdx === 0) {
        const s = this.str(b, p, end);
        if (typeof s === 'number') return s;
        p = this.pos;
        name = s;
      } else {
        const r = this.nameAt(nameIdx);
        if (typeof r === 'number') return r;
        name = r;
      }
      const value = this.str(b, p, end);
      if (typeof value === 'number') return value;
      p = this.pos;
      if (name === null) sink.onUnknown();
      else sink.onHeader(name, value);
      if (indexing) this.insert(name, value);
      fields++;
    }
    return HPACK_OK;
  }

  private emitIndexed(idx: number, sink: HeaderSink): number {
    if (idx <= STATIC_LEN) {
      const e = STATIC_TABLE[idx - 1];
      sink.onHeader(e[0], e[1]);
      return HPACK_OK;
    }
    const i = this.names.length - (idx - STATIC_LEN);
    if (i < 0) {
      if (!this.tail) return HPACK_ERR_INDEX;
      sink.onUnknown();
      return HPACK_OK;
    }
    const name = this.names[i];
    if (name === null) sink.onUnknown();
    else sink.onHeader(name, this.values[i]!);
    return HPACK_OK;
  }

  /** The name at an index: a string, null when unknown, or an error code. */
  private nameAt(idx: number): string | null | number {
    if (idx <= STATIC_LEN) return STATIC_TABLE[idx - 1][0];
    const i = this.names.length - (idx - STATIC_LEN);
    if (i < 0) return this.tail ? null : HPACK_ERR_INDEX;
    return this.names[i];
  }

  /** 4.4: add an entry (name null: unknown, its size a lower bound), evicting older ones. */
  private insert(name: string | null, value: string): void {
    const size = ENTRY_OVERHEAD + (name !== null ? name.length : 0) + value.length;
    if (size > this.limit()) {
      // Larger than the table: it empties the table (older unknown entries included) and is not added.
      this.clear(false);
      return;
    }
    this.names.push(name);
    this.values.push(value);
    this.sizes.push(size);
    this.size += size;
    if (name === null) this.unknownEntries++;
    this.evict();
  }

  private evict(): void {
    const max = this.limit();
    // With the entries held (and the one just added) no entry older than them (32 octets at least)
    // fits in the table any more: the encoder, which evicts oldest first, has dropped them all. (After
    // the eviction below the sum is smaller: checking before it is enough.)
    if (this.tail && this.size + ENTRY_OVERHEAD > max) this.tail = false;
    while (this.size > max && this.names.length > 0) {
      const name = this.names.shift();
      this.values.shift();
      this.size -= this.sizes.shift()!;
      if (name === null) this.unknownEntries--;
    }
  }

  /** 5.1: an integer with an N-bit prefix starting at b[p]; sets `pos`. */
  private int(b: Uint8Array, p: number, end: number, n: number): number {
    const max = (1 << n) - 1;
    let v = b[p] & max;
    p++;
    if (v < max) {
      this.pos = p;
      return v;
    }
    let shift = 0;
    for (let k = 0; k < 6; k++) {
      if (p >= end) return HPACK_ERR_INTEGER;
      const c = b[p++];
      v += (c & 0x7f) * 2 ** shift;
      shift += 7;
      if ((c & 0x80) === 0) {
        if (v > 0x7fffffff) return HPACK_ERR_INTEGER;
        this.pos = p;
        return v;
      }
    }
    return HPACK_ERR_INTEGER;
  }

  /** 5.2: a string literal at b[p]; sets `pos`; returns the string or an error code. */
  private str(b: Uint8Array, p: number, end: number): string | number {
    if (p >= end) return HPACK_ERR_STRING;
    const huff = (b[p] & 0x80) !== 0;
    const len = this.int(b, p, end, 7);
    if (len < 0) return len;
    p = this.pos;
    if (len > MAX_STRING || p + len > end) return HPACK_ERR_STRING;
    this.pos = p + len;
    if (!huff) return latin1(b, p, p + len);
    const s = huffmanDecode(b, p, len);
    return s === null ? HPACK_ERR_HUFFMAN : s;
  }
}

/**
 * A streaming reader of RESP values (RESP2 and RESP3, redis.io/docs/reference/protocol-spec):
 * simple string `+`, error `-`, integer `:`, bulk string `$`, array `*`, null `_`, double `,`,
 * boolean `#`, blob error `!`, verbatim string `=`, big number `(`, map `%`, set `~`, attribute `|`,
 * push `>`. Fed with bytes as they come; reports each complete top-level value. Bulk payloads are
 * skipped (never buffered whole); the first bytes of a few elements are kept for the session.
 */
import { latin1 } from '../../core/l7/bytes.js';

/** `RespReader.step` result for bytes that are not RESP. */
export const STEP_ERROR = -1;

/** Nesting deeper than this is treated as a protocol error (real replies nest a few levels). */
const MAX_DEPTH = 64;
/** A header line (type byte, length or simple value) longer than this is an error. */
export const MAX_LINE = 64 << 10;
/** Bytes kept of a top-level element (command name, key, error text...). */
const KEEP = 256;
/** Top-level elements whose first bytes are kept. */
export const KEPT_ELEMENTS = 4;

const CR = 0x0d;
const LF = 0x0a;

function isType(c: number): boolean {
  switch (c) {
    case 0x2b: // +
    case 0x2d: // -
    case 0x3a: // :
    case 0x24: // $
    case 0x2a: // *
    case 0x5f: // _
    case 0x2c: // ,
    case 0x23: // #
    case 0x21: // !
    case 0x3d: // =
    case 0x28: // (
    case 0x25: // %
    case 0x7e: // ~
    case 0x7c: // |
    case 0x3e: // >
      return true;
    default:
      return false;
  }
}

/** Signed decimal in buf[s..e), or NaN. */
function parseInt10(b: Uint8Array, s: number, e: number): number {
  if (s >= e || e - s > 15) return NaN;
  let neg = false;
  if (b[s] === 0x2d) {
    neg = true;
    s++;
    if (s === e) return NaN;
  }
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = b[i] - 0x30;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return neg ? -n : n;
}

/**
 * One direction's reader. `step` consumes bytes; when a top-level value completes, `done` is true and
 * `topType`, `count` (elements of a top-level aggregate), `kept[i]` (first bytes of top-level element
 * i, or of the value itself for scalars at index 0) describe it. Inline commands (a line of words, not a
 * RESP type) are accepted at the top level when `inline` is set (client side).
 */
export class RespReader {
  /** The value just completed (true after a `step` that ended one). */
  done = false;
  topType = 0;
  /** Elements of the top-level aggregate (-1 for null), 0 for scalars. */
  count = 0;
  /** Kept text of the first top-level elements (or of a scalar value at 0); '' when none. */
  readonly kept: string[] = ['', '', '', ''];
  /** Wire bytes of the current value so far. */
  wire = 0;
  /** The current top-level value is an inline command (words in `kept`, count = words). */
  inlineCmd = false;
  /** Remaining elements per open aggregate; `attr` marks attribute frames (not a value of their parent). */
  private readonly left = new Int32Array(MAX_DEPTH);
  private readonly attr = new Uint8Array(MAX_DEPTH);
  private depth = 0;
  /** Index of the next element at depth 1. */
  private elem = 0;
  /** Bulk payload bytes still to skip (+2 for its CRLF), and where to keep them. */
  private bulkLeft = 0;
  private keepSlot = -1;
  private keepBuf = new Uint8Array(KEEP);
  private keepLen = 0;
  private started = false;

  constructor(private readonly inline: boolean) {}

  /** Forget any partial value (after lost bytes). */
  reset(): void {
    this.depth = 0;
    this.elem = 0;
    this.bulkLeft = 0;
    this.keepSlot = -1;
    this.started = false;
    this.done = false;
    this.wire = 0;
  }

  /**
   * Consumes bytes of `b[p..end)` up to the end of the next complete top-level value. Returns the new
   * position (`done` tells whether a value completed there; a position before `end` without `done`
   * means a header line is incomplete: offer those bytes again with more), or STEP_ERROR.
   */
  step(b: Uint8Array, p: number, end: number): number {
    this.done = false;
    while (p < end) {
      if (this.bulkLeft > 0) {
        const n = end - p < this.bulkLeft ? end - p : this.bulkLeft;
        if (this.keepSlot >= 0) this.keep(b, p, p + n);
        this.bulkLeft -= n;
        this.wire += n;
        p += n;
        if (this.bulkLeft === 0) {
          if (this.keepSlot >= 0) this.flushKept();
          if (this.valueDone()) return p;
        }
        continue;
      }
      // A header line.
      let lf = -1;
      const lim = end - p > MAX_LINE ? p + MAX_LINE : end;
      for (let i = p; i < lim; i++) {
        if (b[i] === LF) {
          lf = i;
          break;
        }
      }
      // An incomplete header line: stop before it (the caller offers it again with more bytes).
      if (lf < 0) return end - p >= MAX_LINE ? STEP_ERROR : p;
      const le = lf > p && b[lf - 1] === CR ? lf - 1 : lf;
      const t = b[p];
      if (!this.started) {
        this.started = true;
        this.topType = t;
        this.count = 0;
        this.elem = 0;
        this.wire = 0;
        this.inlineCmd = false;
        for (let i = 0; i < KEPT_ELEMENTS; i++) this.kept[i] = '';
        if (!isType(t)) {
          if (!this.inline || le === p) return STEP_ERROR;
          this.inlineLine(b, p, le);
          this.wire = lf + 1 - p;
          this.started = false;
          this.done = true;
          return lf + 1;
        }
      }
      this.wire += lf + 1 - p;
      const r = this.header(t, b, p + 1, le);
      if (r === STEP_ERROR) return STEP_ERROR;
      p = lf + 1;
      if (r === 1 && this.valueDone()) return p;
    }
    return p;
  }

  /** Handles one header line of type `t`, payload b[s..e). Returns 1 when a scalar value completed, 0 when an aggregate opened or a bulk started, or STEP_ERROR. */
  private header(t: number, b: Uint8Array, s: number, e: number): number {
    if (this.depth === 0 && t !== 0x7c) this.topType = t; // after a top-level attribute, the value's type
    switch (t) {
      case 0x24: // $ bulk string
      case 0x3d: // = verbatim
      case 0x21: {
        // ! blob error
        const n = parseInt10(b, s, e);
        if (Number.isNaN(n) || n < -1) return STEP_ERROR;
        if (n === -1) return this.scalarKept(b, s, s); // RESP2 null bulk
        this.bulkLeft = n + 2;
        this.keepSlot = this.slotHere();
        this.keepLen = 0;
        return 0;
      }
      case 0x2a: // * array
      case 0x25: // % map
      case 0x7e: // ~ set
      case 0x3e: // > push
      case 0x7c: {
        // | attribute
        const n = parseInt10(b, s, e);
        if (Number.isNaN(n) || n < -1) return STEP_ERROR;
        if (this.depth === 0 && t !== 0x7c) this.count = n;
        const elems = t === 0x25 || t === 0x7c ? n * 2 : n;
        if (elems <= 0) return this.scalarKept(b, s, s); // empty or null aggregate: a complete value
        if (this.depth >= MAX_DEPTH) return STEP_ERROR;
        this.left[this.depth] = elems;
        this.attr[this.depth] = t === 0x7c ? 1 : 0;
        this.depth++;
        return 0;
      }
      default:
        // + - : _ , # ( : one-line values
        return this.scalarKept(b, s, e);
    }
  }

  /** Top-level element slot for the value starting now, or -1. */
  private slotHere(): number {
    if (this.depth === 0) return 0;
    if (this.depth === 1 && this.attr[0] === 0 && this.elem < KEPT_ELEMENTS) return this.elem;
    return -1;
  }

  private scalarKept(b: Uint8Array, s: number, e: number): number {
    const slot = this.slotHere();
    if (slot >= 0) this.kept[slot] = latin1(b, s, e - s > KEEP ? s + KEEP : e);
    return 1;
  }

  private keep(b: Uint8Array, s: number, e: number): void {
    const room = KEEP + 2 - this.keepLen;
    if (room <= 0) return;
    const n = e - s < room ? e - s : room;
    if (this.keepLen + n > this.keepBuf.length) {
      const nb = new Uint8Array(KEEP + 2);
      nb.set(this.keepBuf.subarray(0, this.keepLen));
      this.keepBuf = nb;
    }
    this.keepBuf.set(b.subarray(s, s + n), this.keepLen);
    this.keepLen += n;
  }

  private flushKept(): void {
    let n = this.keepLen;
    // Drop the CRLF that ends the payload (when it was kept).
    if (n >= 2 && this.keepBuf[n - 1] === LF && this.keepBuf[n - 2] === CR) n -= 2;
    this.kept[this.keepSlot] = latin1(this.keepBuf, 0, n > KEEP ? KEEP : n);
    this.keepSlot = -1;
  }

  /** A value ended at the current depth: close the aggregates it completes. True when the top-level value is done. */
  private valueDone(): boolean {
    for (;;) {
      if (this.depth === 0) {
        this.started = false;
        this.done = true;
        return true;
      }
      const d = this.depth - 1;
      if (d === 0 && this.attr[0] === 0) this.elem++;
      if (--this.left[d] > 0) return false;
      // The aggregate at depth d is complete.
      this.depth--;
      if (this.attr[d] === 1) return false; // an attribute precedes a value: not a value itself
    }
  }

  private inlineLine(b: Uint8Array, s: number, e: number): void {
    this.inlineCmd = true;
    let n = 0;
    let i = s;
    while (i < e) {
      while (i < e && (b[i] === 0x20 || b[i] === 0x09)) i++;
      if (i >= e) break;
      const w = i;
      while (i < e && b[i] !== 0x20 && b[i] !== 0x09) i++;
      if (n < KEPT_ELEMENTS) this.kept[n] = latin1(b, w, i - w > KEEP ? w + KEEP : i);
      n++;
    }
    this.count = n;
    this.topType = 0;
  }
}

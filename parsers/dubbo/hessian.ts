/**
 * A small, bounded Hessian 2.0 reader (http://hessian.caucho.com/doc/hessian-serialization.html) for
 * the parts of a Dubbo body spanwire reads: strings (compact, medium and chunked), ints, and the
 * skipping of any value without building it (longs, doubles, dates, binary, lists, maps, typed
 * maps, class definitions and objects, refs, null and booleans).
 *
 * Skipping is resumable: `HessianSkipper.skip` walks values with an explicit stack (never recursion,
 * at most MAX_DEPTH containers deep) and stops where the bytes run out, keeping its state, so a
 * body of any size streams through in pieces. The bytes it leaves unconsumed are at most one small
 * token (a container header, a class definition, a number): the payloads of strings and binary
 * chunks are skipped as they arrive, never held.
 *
 * String lengths count UTF-16 code units (Java `char`s): Java's Hessian writes each surrogate as a
 * 3-byte sequence; a 4-byte UTF-8 sequence (other writers) counts as two.
 */
import { isAscii } from 'node:buffer';
import { utf8 } from '../../core/l7/bytes.js';

/** Runs of at least this many characters are first checked for ASCII in one native call. */
const ASCII_RUN = 16;

/** Are the `n` bytes at b[p] all ASCII (one native call)? */
function asciiRun(b: Uint8Array, p: number, n: number): boolean {
  return isAscii(b.subarray(p, p + n));
}

/** Results of `stringEnd` and `intEnd` besides a position. */
export const NEED_MORE = -1;
export const NOT_THIS = -2;
export const TOO_LONG = -3;

/** Containers nested deeper than this are refused (the body is then skipped unread). */
export const MAX_DEPTH = 64;
/** Class definitions remembered per message (field counts); past it the body is skipped unread. */
export const MAX_CLASS_DEFS = 1024;
/** Largest class definition or type name read whole (bytes). */
const MAX_HEADER_BYTES = 16 << 10;

/**
 * Bytes of the fixed-size tokens by their first byte (0: not a fixed-size token). Ints, longs,
 * doubles, dates, null and booleans.
 */
const FIXED = new Uint8Array(256);
(() => {
  for (let c = 0x80; c <= 0xbf; c++) FIXED[c] = 1; // int -16..47
  for (let c = 0xc0; c <= 0xcf; c++) FIXED[c] = 2; // int, two octets
  for (let c = 0xd0; c <= 0xd7; c++) FIXED[c] = 3; // int, three octets
  for (let c = 0xd8; c <= 0xef; c++) FIXED[c] = 1; // long -8..15
  for (let c = 0xf0; c <= 0xff; c++) FIXED[c] = 2; // long, two octets
  for (let c = 0x38; c <= 0x3f; c++) FIXED[c] = 3; // long, three octets
  FIXED[0x49] = 5; // 'I' int
  FIXED[0x59] = 5; // 'Y' long as 32 bits
  FIXED[0x4c] = 9; // 'L' long
  FIXED[0x44] = 9; // 'D' double
  FIXED[0x5b] = 1; // double 0.0
  FIXED[0x5c] = 1; // double 1.0
  FIXED[0x5d] = 2; // double from a byte
  FIXED[0x5e] = 3; // double from a short
  FIXED[0x5f] = 5; // double as float
  FIXED[0x4a] = 9; // date, milliseconds
  FIXED[0x4b] = 5; // date, minutes
  FIXED[0x4e] = 1; // 'N' null
  FIXED[0x54] = 1; // 'T'
  FIXED[0x46] = 1; // 'F'
})();

/** Is `c` the first byte of a string (a chunk or 'N' null does not count)? */
export function isStringStart(c: number): boolean {
  return c <= 0x1f || (c >= 0x30 && c <= 0x33) || c === 0x53 || c === 0x52;
}

/** Is `c` the first byte of an int? */
function isIntStart(c: number): boolean {
  return (c >= 0x80 && c <= 0xd7) || c === 0x49;
}

/** The int value at b[p] (its first byte must pass isIntStart and all its bytes be there). */
export function intAt(b: Uint8Array, p: number): number {
  const c = b[p];
  if (c <= 0xbf) return c - 0x90;
  if (c <= 0xcf) return ((c - 0xc8) << 8) + b[p + 1];
  if (c <= 0xd7) return ((c - 0xd4) << 16) + (b[p + 1] << 8) + b[p + 2];
  return (b[p + 1] << 24) | (b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4];
}

/** Position after the int at b[p], or NEED_MORE, or NOT_THIS when b[p] does not start an int. */
export function intEnd(b: Uint8Array, p: number, end: number): number {
  if (p >= end) return NEED_MORE;
  const c = b[p];
  if (!isIntStart(c)) return NOT_THIS;
  const q = p + FIXED[c];
  return q <= end ? q : NEED_MORE;
}

/**
 * Position after `chars` UTF-16 code units of UTF-8 starting at b[p], or NEED_MORE when they run
 * past `end`. A 4-byte sequence counts as two units.
 */
export function skipUtf16Chars(b: Uint8Array, p: number, end: number, chars: number): number {
  let n = chars;
  if (n >= ASCII_RUN && n <= end - p && asciiRun(b, p, n)) return p + n;
  while (n > 0) {
    if (p >= end) return NEED_MORE;
    const c = b[p];
    if (c < 0x80) p++;
    else if (c < 0xe0) p += 2;
    else if (c < 0xf0) p += 3;
    else {
      p += 4;
      n--;
    }
    n--;
  }
  return p <= end ? p : NEED_MORE;
}

/** Header of the string chunk at b[p]: sets chunkChars / chunkData / chunkFinal; false if not there. */
let chunkChars = 0;
let chunkData = 0;
let chunkFinal = true;
function stringChunk(b: Uint8Array, p: number, end: number): number {
  if (p >= end) return NEED_MORE;
  const c = b[p];
  if (c <= 0x1f) {
    chunkChars = c;
    chunkData = p + 1;
    chunkFinal = true;
    return 0;
  }
  if (c >= 0x30 && c <= 0x33) {
    if (p + 2 > end) return NEED_MORE;
    chunkChars = ((c - 0x30) << 8) + b[p + 1];
    chunkData = p + 2;
    chunkFinal = true;
    return 0;
  }
  if (c === 0x53 || c === 0x52) {
    if (p + 3 > end) return NEED_MORE;
    chunkChars = (b[p + 1] << 8) | b[p + 2];
    chunkData = p + 3;
    chunkFinal = c === 0x53;
    return 0;
  }
  return NOT_THIS;
}

/**
 * The end of the string (all its chunks) or null ('N') at b[p]: a position, NEED_MORE when it runs
 * past `end`, NOT_THIS when b[p] starts another type, TOO_LONG when it is longer than `maxBytes`.
 */
export function stringEnd(b: Uint8Array, p: number, end: number, maxBytes: number): number {
  if (p >= end) return NEED_MORE;
  if (b[p] === 0x4e) return p + 1;
  const limit = p + maxBytes;
  let q = p;
  for (;;) {
    const r = stringChunk(b, q, end);
    if (r === NEED_MORE) return q >= limit ? TOO_LONG : NEED_MORE;
    if (r !== 0) return NOT_THIS; // not a string, or a chunked string continued by something else
    const e = skipUtf16Chars(b, chunkData, end, chunkChars);
    if (e === NEED_MORE) return end >= limit ? TOO_LONG : NEED_MORE;
    if (e > limit) return TOO_LONG;
    q = e;
    if (chunkFinal) return q;
  }
}

/** The string at b[p] whose end `stringEnd` returned (UTF-8 decoded; '' for null). */
export function stringAt(b: Uint8Array, p: number, end: number): string {
  if (b[p] === 0x4e) return '';
  stringChunk(b, p, end);
  if (chunkFinal) return utf8(b, chunkData, end); // one chunk: it ends where the string ends
  let e = skipUtf16Chars(b, chunkData, end, chunkChars);
  let s = utf8(b, chunkData, e);
  while (!chunkFinal) {
    stringChunk(b, e, end);
    e = skipUtf16Chars(b, chunkData, end, chunkChars);
    s += utf8(b, chunkData, e);
  }
  return s;
}

/** Does the string at b[p..end) (whole, from stringEnd) equal the ASCII `s`? No allocation. */
export function stringIs(b: Uint8Array, p: number, end: number, s: string): boolean {
  if (b[p] === 0x4e) return s === '';
  if (stringChunk(b, p, end) !== 0 || !chunkFinal || chunkChars !== s.length || chunkData + s.length !== end) return false;
  for (let i = 0; i < s.length; i++) if (b[chunkData + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** Skip results. */
export const SKIP_DONE = 0;
export const SKIP_MORE = 1;
export const SKIP_BAD = 2;

/** Frame kinds of the skipper's stack. */
const F_UNTIL_Z = -1;

/**
 * Skips whole Hessian values, resumably. One per direction; `resetMessage()` at each message
 * (class definitions are per message in Dubbo: each body has its own Hessian2Output state).
 *
 * It also remembers, for exception responses, the class name of the first class definition and the
 * `detailMessage` field of the first object made from it (Java's Throwable), when that object is
 * the value being skipped (`captureException`).
 */
export class HessianSkipper {
  /** Result of the last `skip` call: SKIP_DONE, SKIP_MORE or SKIP_BAD. */
  state = SKIP_DONE;
  /** Why SKIP_BAD (an anomaly name). */
  fault = '';
  /** Remaining values per open container (F_UNTIL_Z: until 'Z'). */
  private readonly rem = new Int32Array(MAX_DEPTH);
  /** The class definition of an object frame (field counting), -1 for lists and maps. */
  private readonly def = new Int32Array(MAX_DEPTH);
  private depth = 0;
  /** Payload still to skip of a string chunk (chars) or binary chunk (bytes), and whether more chunks follow. */
  private strLeft = 0;
  private strMore = false;
  private binLeft = 0;
  private binMore = false;
  /** Field counts of the class definitions seen in this message. */
  private readonly fields: number[] = [];
  /** Name of the first class definition of the message, and the index of its `detailMessage` field. */
  firstClass = '';
  private detailIndex = -1;
  /** Capture the exception message of the value being skipped. */
  captureException = false;
  /** The `detailMessage` string captured, '' when none. */
  detailMessage = '';

  /** Forget everything (a new message). */
  resetMessage(): void {
    this.depth = 0;
    this.strLeft = 0;
    this.strMore = false;
    this.binLeft = 0;
    this.binMore = false;
    this.fields.length = 0;
    this.firstClass = '';
    this.detailIndex = -1;
    this.captureException = false;
    this.detailMessage = '';
    this.state = SKIP_DONE;
    this.fault = '';
  }

  /** True when no value is half skipped. */
  get idle(): boolean {
    return this.depth === 0 && this.strLeft === 0 && !this.strMore && this.binLeft === 0 && !this.binMore;
  }

  private bad(fault: string, p: number): number {
    this.state = SKIP_BAD;
    this.fault = fault;
    return p;
  }

  /**
   * Skips one whole value starting at b[p] (or continues the one in progress). Returns the position
   * reached; `state` says SKIP_DONE (the value ended there), SKIP_MORE (the bytes ran out: call again
   * with the bytes from that position on, plus more) or SKIP_BAD (not Hessian; stop reading).
   */
  skip(b: Uint8Array, p: number, end: number): number {
    for (;;) {
      // The payload of a string or binary chunk in progress.
      if (this.strLeft > 0) {
        let n = this.strLeft;
        if (n >= ASCII_RUN && n <= end - p && asciiRun(b, p, n)) {
          p += n;
          n = 0;
        }
        while (n > 0 && p < end) {
          const c = b[p];
          const w = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
          if (p + w > end) break; // a character split across calls: keep its bytes
          p += w;
          n -= w === 4 ? 2 : 1;
        }
        this.strLeft = n > 0 ? n : 0;
        if (this.strLeft > 0) {
          this.state = SKIP_MORE;
          return p;
        }
        if (this.strMore) continue;
        if (this.valueDone()) return p;
        continue;
      }
      if (this.binLeft > 0) {
        const n = Math.min(this.binLeft, end - p);
        p += n;
        this.binLeft -= n;
        if (this.binLeft > 0) {
          this.state = SKIP_MORE;
          return p;
        }
        if (this.binMore) continue;
        if (this.valueDone()) return p;
        continue;
      }
      if (p >= end) {
        this.state = SKIP_MORE;
        return p;
      }
      const c = b[p];
      if (this.strMore) {
        // The next chunk of a chunked string must be a string chunk.
        const r = stringChunk(b, p, end);
        if (r === NEED_MORE) return this.more(p);
        if (r !== 0) return this.bad('dubbo_hessian_bad_chunk', p);
        this.strMore = !chunkFinal;
        this.strLeft = chunkChars;
        p = chunkData;
        if (chunkChars === 0 && !this.strMore && this.valueDone()) return p;
        continue;
      }
      if (this.binMore) {
        const r = this.binaryChunk(b, p, end);
        if (r === NEED_MORE) return this.more(p);
        if (r === NOT_THIS) return this.bad('dubbo_hessian_bad_chunk', p);
        p = r;
        if (this.binLeft === 0 && !this.binMore && this.valueDone()) return p;
        continue;
      }
      // End of a container read until 'Z'.
      if (c === 0x5a) {
        if (this.depth === 0 || this.rem[this.depth - 1] !== F_UNTIL_Z) return this.bad('dubbo_hessian_bad_value', p);
        p++;
        this.depth--;
        if (this.valueDone()) return p;
        continue;
      }
      // A captured exception message: the string field `detailMessage` of the top-level object.
      if (this.depth === 1 && this.captureException && this.def[0] === 0 && this.detailIndex >= 0 && isStringStart(c)) {
        const field = this.fields[0] - this.rem[0];
        if (field === this.detailIndex) {
          const e = stringEnd(b, p, end, 4096);
          if (e === NEED_MORE) return this.more(p);
          if (e >= 0) {
            this.detailMessage = stringAt(b, p, e);
            p = e;
            if (this.valueDone()) return p;
            continue;
          }
          // Too long: skipped like any string below.
        }
      }
      const fixed = FIXED[c];
      if (fixed > 0) {
        if (p + fixed > end) return this.more(p);
        p += fixed;
        if (this.valueDone()) return p;
        continue;
      }
      // Strings (payload skipped as it comes).
      if (isStringStart(c)) {
        const r = stringChunk(b, p, end);
        if (r === NEED_MORE) return this.more(p);
        this.strMore = !chunkFinal;
        this.strLeft = chunkChars;
        p = chunkData;
        if (chunkChars === 0 && !this.strMore && this.valueDone()) return p;
        continue;
      }
      // Binary.
      if ((c >= 0x20 && c <= 0x2f) || (c >= 0x34 && c <= 0x37) || c === 0x41 || c === 0x42) {
        const r = this.binaryChunk(b, p, end);
        if (r === NEED_MORE) return this.more(p);
        p = r;
        if (this.binLeft === 0 && !this.binMore && this.valueDone()) return p;
        continue;
      }
      // Containers and the rest: their headers are read whole.
      const r = this.structure(b, p, end, c);
      if (r === NEED_MORE) return this.more(p);
      if (r < 0) return p; // bad, state set
      p = r;
      if (this.pendingDone && this.valueDone()) return p;
    }
  }

  /** Set by `structure` when the token it read completed a value (a ref, an empty container). */
  private pendingDone = false;

  private more(p: number): number {
    this.state = SKIP_MORE;
    return p;
  }

  /** A value ended: count it in its container. True when the outermost value is complete. */
  private valueDone(): boolean {
    while (this.depth > 0) {
      const i = this.depth - 1;
      if (this.rem[i] === F_UNTIL_Z) return false;
      if (--this.rem[i] > 0) return false;
      this.depth--; // the container is complete: it is a value of its parent
    }
    this.state = SKIP_DONE;
    return true;
  }

  /** Header of a binary chunk at b[p]: sets binLeft/binMore and returns the payload start. */
  private binaryChunk(b: Uint8Array, p: number, end: number): number {
    const c = b[p];
    if (c >= 0x20 && c <= 0x2f) {
      this.binLeft = c - 0x20;
      this.binMore = false;
      return p + 1;
    }
    if (c >= 0x34 && c <= 0x37) {
      if (p + 2 > end) return NEED_MORE;
      this.binLeft = ((c - 0x34) << 8) + b[p + 1];
      this.binMore = false;
      return p + 2;
    }
    if (c === 0x41 || c === 0x42) {
      if (p + 3 > end) return NEED_MORE;
      this.binLeft = (b[p + 1] << 8) | b[p + 2];
      this.binMore = c === 0x41;
      return p + 3;
    }
    return NOT_THIS;
  }

  /** A type (string or type-ref int) at b[p]: its end, NEED_MORE, or NOT_THIS. */
  private static typeEnd(b: Uint8Array, p: number, end: number): number {
    if (p >= end) return NEED_MORE;
    if (isIntStart(b[p])) return intEnd(b, p, end);
    const e = stringEnd(b, p, end, MAX_HEADER_BYTES);
    return e === TOO_LONG ? NOT_THIS : e;
  }

  private push(count: number, def: number): boolean {
    if (this.depth >= MAX_DEPTH) return false;
    this.rem[this.depth] = count;
    this.def[this.depth] = def;
    this.depth++;
    return true;
  }

  /**
   * Lists, maps, class definitions, objects and refs, whose headers are read whole. Returns the
   * position after the header, NEED_MORE, or a negative value after `bad`. Sets `pendingDone` when
   * the token is a complete value by itself.
   */
  private structure(b: Uint8Array, p: number, end: number, c: number): number {
    this.pendingDone = false;
    let q = p + 1;
    let count = F_UNTIL_Z;
    let def = -1;
    switch (c) {
      case 0x48: // 'H' untyped map ... 'Z'
      case 0x57: // 'W' variable-length untyped list ... 'Z'
        break;
      case 0x4d: // 'M' typed map: type (key value)* 'Z'
      case 0x55: // 'U' variable-length typed list: type value* 'Z'
        q = HessianSkipper.typeEnd(b, q, end);
        break;
      case 0x56: // 'V' fixed-length typed list: type int value*
        q = HessianSkipper.typeEnd(b, q, end);
        if (q >= 0) {
          const e = intEnd(b, q, end);
          if (e >= 0) count = intAt(b, q);
          q = e;
        }
        break;
      case 0x58: {
        // 'X' fixed-length untyped list: int value*
        const e = intEnd(b, q, end);
        if (e >= 0) count = intAt(b, q);
        q = e;
        break;
      }
      case 0x51: // 'Q' ref: int
        q = intEnd(b, q, end);
        if (q >= 0) this.pendingDone = true;
        break;
      case 0x43: // 'C' class definition: string int string*
        return this.classDef(b, p, end);
      case 0x4f: {
        // 'O' object: int (class ref) value*
        const e = intEnd(b, q, end);
        if (e >= 0) def = intAt(b, q);
        q = e;
        break;
      }
      default:
        if (c >= 0x70 && c <= 0x77) {
          // fixed list, typed, direct length
          count = c - 0x70;
          q = HessianSkipper.typeEnd(b, q, end);
        } else if (c >= 0x78 && c <= 0x7f) {
          count = c - 0x78; // fixed untyped list, direct length
        } else if (c >= 0x60 && c <= 0x6f) {
          def = c - 0x60; // object, direct class ref
        } else {
          // 0x40, 0x45, 0x47, 0x50 are reserved; anything else is not a value start.
          this.bad('dubbo_hessian_bad_value', p);
          return NOT_THIS;
        }
    }
    if (q === NEED_MORE) return NEED_MORE;
    if (q < 0) {
      this.bad('dubbo_hessian_bad_value', p);
      return NOT_THIS;
    }
    if (this.pendingDone) return q;
    if (def >= 0 || c === 0x4f) {
      if (def < 0 || def >= this.fields.length) {
        this.bad('dubbo_hessian_unknown_class', p);
        return NOT_THIS;
      }
      count = this.fields[def];
    }
    if (count !== F_UNTIL_Z && count < 0) {
      this.bad('dubbo_hessian_bad_value', p);
      return NOT_THIS;
    }
    if (count === 0) {
      this.pendingDone = true; // an empty fixed list, an object without fields
      return q;
    }
    if (!this.push(count, def)) {
      this.bad('dubbo_hessian_too_deep', p);
      return NOT_THIS;
    }
    return q;
  }

  /** 'C' string int string*: remembers the field count (and, for the first, the name and detailMessage). */
  private classDef(b: Uint8Array, p: number, end: number): number {
    const limit = Math.min(end, p + MAX_HEADER_BYTES);
    const nameEnd = stringEnd(b, p + 1, end, MAX_HEADER_BYTES);
    if (nameEnd === NEED_MORE) return end - p >= MAX_HEADER_BYTES ? this.tooLong(p) : NEED_MORE;
    if (nameEnd < 0) return this.badDef(p);
    const ce = intEnd(b, nameEnd, end);
    if (ce === NEED_MORE) return NEED_MORE;
    if (ce < 0) return this.badDef(p);
    const n = intAt(b, nameEnd);
    if (n < 0 || n > 65535) return this.badDef(p);
    let q = ce;
    let detail = -1;
    for (let i = 0; i < n; i++) {
      const e = stringEnd(b, q, limit, MAX_HEADER_BYTES);
      if (e === NEED_MORE || e === TOO_LONG) return end - p >= MAX_HEADER_BYTES ? this.tooLong(p) : NEED_MORE;
      if (e < 0) return this.badDef(p);
      if (detail < 0 && this.fields.length === 0 && stringIs(b, q, e, 'detailMessage')) detail = i;
      q = e;
    }
    if (this.fields.length >= MAX_CLASS_DEFS) {
      this.bad('dubbo_hessian_too_many_classes', p);
      return NOT_THIS;
    }
    if (this.fields.length === 0) {
      this.firstClass = stringAt(b, p + 1, nameEnd);
      this.detailIndex = detail;
    }
    this.fields.push(n);
    return q;
  }

  private badDef(p: number): number {
    this.bad('dubbo_hessian_bad_class_def', p);
    return NOT_THIS;
  }

  private tooLong(p: number): number {
    this.bad('dubbo_hessian_class_def_too_long', p);
    return NOT_THIS;
  }
}

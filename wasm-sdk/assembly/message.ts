// Emitting messages: fixed 64-byte records in the output area, their strings copied into the pool,
// their attributes as 32-byte records. One `Message` builder is reused for every record (no
// allocation); it always edits the latest record. When the area is full, records are dropped and
// counted (the host reports the count), never written past the end.
import { INPUT, OUT } from './buffers';
import { input, Slice } from './input';
import {
  A_KEY, A_NUM, A_STR, A_TYPE, ATTR_BOOL, ATTR_DOUBLE, ATTR_INT, ATTR_RECORD_SIZE, ATTR_STRING, F_AFTER_GAP, F_ERROR,
  F_HAS_STATUS, F_KIND_SHIFT, F_ONE_WAY, M_ATTR_COUNT, M_ATTR_START, M_ERROR, M_FLAGS, M_KIND, M_OP, M_RESOURCE,
  M_SESSION, M_SIZE, M_START, M_STATUS, M_TRACEPARENT, MAX_ATTRS, MAX_MESSAGES, MSG_RECORD_SIZE, OUT_ATTR_COUNT,
  OUT_ATTRS, OUT_DROPPED, OUT_MSG_COUNT, OUT_MSGS, OUT_POOL, OUT_POOL_USED, POOL_SIZE, SESSION_FIFO,
} from './layout';

@inline function hdr(field: i32): i32 {
  return load<i32>(OUT + <usize>field);
}
@inline function setHdr(field: i32, v: i32): void {
  store<i32>(OUT + <usize>field, v);
}
function countDropped(): void {
  setHdr(OUT_DROPPED, hdr(OUT_DROPPED) + 1);
}

/** Bytes free in the pool. */
function poolFree(): i32 {
  return POOL_SIZE - hdr(OUT_POOL_USED);
}

/** Copies input bytes [off, off+len) (clamped to the input) into the pool; writes (offset, length) at `ref`. */
export function poolBytes(ref: usize, off: i32, len: i32): void {
  if (off < 0) off = 0;
  if (len > input.length - off) len = input.length - off;
  if (len < 0) len = 0;
  const used = hdr(OUT_POOL_USED);
  if (len > POOL_SIZE - used) len = POOL_SIZE - used; // truncated: the pool is full
  const dst = OUT + <usize>(OUT_POOL + used);
  const src = INPUT + <usize>off;
  if (len <= 64) {
    for (let k = 0; k < len; k++) store<u8>(dst + <usize>k, load<u8>(src + <usize>k)); // short: no runtime call
  } else {
    memory.copy(dst, src, <usize>len);
  }
  setHdr(OUT_POOL_USED, used + len);
  store<i32>(ref, used);
  store<i32>(ref, len, 4);
}

/** UTF-8 encodes `s` into the pool (truncated at a character boundary when full); writes (offset, length) at `ref`. */
export function poolString(ref: usize, s: string): void {
  const used = hdr(OUT_POOL_USED);
  const room = POOL_SIZE - used;
  let p = OUT + <usize>(OUT_POOL + used);
  let n = 0;
  const len = s.length;
  const chars = changetype<usize>(s); // UTF-16 code units, read directly (charCodeAt is a call per char)
  for (let i = 0; i < len; i++) {
    let c = <u32>load<u16>(chars + (<usize>i << 1));
    if (c < 0x80) {
      if (n + 1 > room) break;
      store<u8>(p + <usize>n, c);
      n += 1;
    } else if (c < 0x800) {
      if (n + 2 > room) break;
      store<u8>(p + <usize>n, 0xc0 | (c >> 6));
      store<u8>(p + <usize>n, 0x80 | (c & 0x3f), 1);
      n += 2;
    } else {
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < len) {
        const lo = <u32>load<u16>(chars + (<usize>(i + 1) << 1));
        if (lo >= 0xdc00 && lo < 0xe000) {
          if (n + 4 > room) break;
          c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
          store<u8>(p + <usize>n, 0xf0 | (c >> 18));
          store<u8>(p + <usize>n, 0x80 | ((c >> 12) & 0x3f), 1);
          store<u8>(p + <usize>n, 0x80 | ((c >> 6) & 0x3f), 2);
          store<u8>(p + <usize>n, 0x80 | (c & 0x3f), 3);
          n += 4;
          i++;
          continue;
        }
      }
      if (n + 3 > room) break;
      store<u8>(p + <usize>n, 0xe0 | (c >> 12));
      store<u8>(p + <usize>n, 0x80 | ((c >> 6) & 0x3f), 1);
      store<u8>(p + <usize>n, 0x80 | (c & 0x3f), 2);
      n += 3;
    }
  }
  setHdr(OUT_POOL_USED, used + n);
  store<i32>(ref, used);
  store<i32>(ref, n, 4);
}

/**
 * The record being built: a request, a response, or an HTTP hook result. Returned by
 * `Parser.request` / `Parser.response` and given to the HTTP hooks; every setter returns `this`
 * so calls chain. Strings are copied at once: the source may change afterwards.
 */
export class Message {
  /** Address of the record, 0 when it was dropped (output area full): setters then do nothing. */
  rec: usize = 0;

  /** Starts a record (internal: use Parser.request / Parser.response). */
  begin(kind: i32, start: i32, size: i32): Message {
    const n = hdr(OUT_MSG_COUNT);
    if (n >= MAX_MESSAGES) {
      countDropped();
      this.rec = 0;
      return this;
    }
    const r = OUT + <usize>(OUT_MSGS + n * MSG_RECORD_SIZE);
    for (let k: usize = 0; k < <usize>MSG_RECORD_SIZE; k += 8) store<u64>(r + k, 0); // (memory.fill is a runtime call in V8)
    store<i32>(r + M_KIND, kind);
    store<i32>(r + M_SESSION, SESSION_FIFO);
    store<i32>(r + M_START, start < 0 ? 0 : start);
    store<i32>(r + M_SIZE, size < 0 ? 0 : size);
    store<i32>(r + M_ATTR_START, hdr(OUT_ATTR_COUNT));
    setHdr(OUT_MSG_COUNT, n + 1);
    this.rec = r;
    return this;
  }

  /** Pairing id: a request and a response with the same id (>= 0) are paired; default: in order. */
  session(id: i32): Message {
    if (this.rec != 0) store<i32>(this.rec + M_SESSION, id < 0 ? SESSION_FIFO : id);
    return this;
  }
  /** Operation (the span name, e.g. the method): a string. */
  operation(s: string): Message {
    if (this.rec != 0) poolString(this.rec + M_OP, s);
    return this;
  }
  /** Operation from input bytes [off, off+len). */
  operationBytes(off: i32, len: i32): Message {
    if (this.rec != 0) poolBytes(this.rec + M_OP, off, len);
    return this;
  }
  /** Resource (what the operation acts on: a key, a table, a path); appended to the span name. */
  resource(s: string): Message {
    if (this.rec != 0) poolString(this.rec + M_RESOURCE, s);
    return this;
  }
  resourceBytes(off: i32, len: i32): Message {
    if (this.rec != 0) poolBytes(this.rec + M_RESOURCE, off, len);
    return this;
  }
  /** Protocol status code (kept for the span's error.type when the exchange is an error). */
  status(code: i32): Message {
    if (this.rec != 0) {
      store<i32>(this.rec + M_STATUS, code);
      store<i32>(this.rec + M_FLAGS, load<i32>(this.rec + M_FLAGS) | F_HAS_STATUS);
    }
    return this;
  }
  /** Marks the exchange failed; `type` becomes `error.type` ('' : the status code, else "error"). */
  error(type: string = ''): Message {
    if (this.rec != 0) {
      store<i32>(this.rec + M_FLAGS, load<i32>(this.rec + M_FLAGS) | F_ERROR);
      poolString(this.rec + M_ERROR, type);
    }
    return this;
  }
  errorBytes(off: i32, len: i32): Message {
    if (this.rec != 0) {
      store<i32>(this.rec + M_FLAGS, load<i32>(this.rec + M_FLAGS) | F_ERROR);
      poolBytes(this.rec + M_ERROR, off, len);
    }
    return this;
  }
  /** A W3C traceparent carried by the request (`00-<trace id>-<span id>-<flags>`): the span joins that trace. */
  traceparentBytes(off: i32, len: i32): Message {
    if (this.rec != 0) poolBytes(this.rec + M_TRACEPARENT, off, len);
    return this;
  }
  traceparent(s: string): Message {
    if (this.rec != 0) poolString(this.rec + M_TRACEPARENT, s);
    return this;
  }
  /** A request that gets no response (fire-and-forget): its span ends at once. */
  oneWay(): Message {
    if (this.rec != 0) store<i32>(this.rec + M_FLAGS, load<i32>(this.rec + M_FLAGS) | F_ONE_WAY);
    return this;
  }
  /** Messages of this direction may have been lost just before this one (after a gap). */
  afterGap(): Message {
    if (this.rec != 0) store<i32>(this.rec + M_FLAGS, load<i32>(this.rec + M_FLAGS) | F_AFTER_GAP);
    return this;
  }
  /** Span kind override (KIND_PRODUCER, KIND_CONSUMER...; default: the observation point's). */
  spanKind(kind: i32): Message {
    if (this.rec != 0 && kind >= 1 && kind <= 5) {
      const f = load<i32>(this.rec + M_FLAGS) & ~(0xf << F_KIND_SHIFT);
      store<i32>(this.rec + M_FLAGS, f | (kind << F_KIND_SHIFT));
    }
    return this;
  }
  /** HTTP hooks: the span name. */
  spanName(s: string): Message {
    return this.operation(s);
  }
  spanNameBytes(off: i32, len: i32): Message {
    return this.operationBytes(off, len);
  }
  /** HTTP hooks: the span status (STATUS_OK or STATUS_ERROR) and its message. */
  spanStatus(code: i32, message: string = ''): Message {
    if (this.rec != 0) {
      store<i32>(this.rec + M_STATUS, code);
      store<i32>(this.rec + M_FLAGS, load<i32>(this.rec + M_FLAGS) | F_HAS_STATUS | (code == 2 ? F_ERROR : 0));
      poolString(this.rec + M_ERROR, message);
    }
    return this;
  }

  /** HTTP hooks: the span status with a message from input bytes [off, off+len). */
  spanStatusBytes(code: i32, off: i32, len: i32): Message {
    if (this.rec != 0) {
      store<i32>(this.rec + M_STATUS, code);
      store<i32>(this.rec + M_FLAGS, load<i32>(this.rec + M_FLAGS) | F_HAS_STATUS | (code == 2 ? F_ERROR : 0));
      poolBytes(this.rec + M_ERROR, off, len);
    }
    return this;
  }

  private attrRecord(key: string, type: i32): usize {
    if (this.rec == 0) return 0;
    const n = hdr(OUT_ATTR_COUNT);
    if (n >= MAX_ATTRS || poolFree() < key.length * 3) {
      countDropped();
      return 0;
    }
    const a = OUT + <usize>(OUT_ATTRS + n * ATTR_RECORD_SIZE);
    for (let k: usize = 0; k < <usize>ATTR_RECORD_SIZE; k += 8) store<u64>(a + k, 0);
    store<i32>(a + A_TYPE, type);
    poolString(a + A_KEY, key);
    setHdr(OUT_ATTR_COUNT, n + 1);
    store<i32>(this.rec + M_ATTR_COUNT, load<i32>(this.rec + M_ATTR_COUNT) + 1);
    return a;
  }
  /** A string attribute (use the OTel semantic-convention name when one exists). */
  attr(key: string, value: string): Message {
    const a = this.attrRecord(key, ATTR_STRING);
    if (a != 0) poolString(a + A_STR, value);
    return this;
  }
  /** A string attribute from input bytes [off, off+len). */
  attrBytes(key: string, off: i32, len: i32): Message {
    const a = this.attrRecord(key, ATTR_STRING);
    if (a != 0) poolBytes(a + A_STR, off, len);
    return this;
  }
  /** A string attribute from a found range (`input.value`, `http.value`). */
  attrSlice(key: string, s: Slice): Message {
    return this.attrBytes(key, s.start, s.length);
  }
  /** An integer attribute (exact up to 2^53). */
  attrInt(key: string, value: i64): Message {
    const a = this.attrRecord(key, ATTR_INT);
    if (a != 0) store<f64>(a + A_NUM, <f64>value);
    return this;
  }
  attrDouble(key: string, value: f64): Message {
    const a = this.attrRecord(key, ATTR_DOUBLE);
    if (a != 0) store<f64>(a + A_NUM, value);
    return this;
  }
  attrBool(key: string, value: bool): Message {
    const a = this.attrRecord(key, ATTR_BOOL);
    if (a != 0) store<f64>(a + A_NUM, value ? 1.0 : 0.0);
    return this;
  }
}

export const message = new Message();

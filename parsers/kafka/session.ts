/**
 * The per-flow Kafka state. Each direction is a stream of size-delimited messages; a request's header
 * names its API, version and correlation id, a response's header only the correlation id, so the
 * session remembers (api key, version) per correlation id to decode the response. Message bodies are
 * walked field by field from the layouts in schema.ts by a resumable interpreter (an explicit stack
 * of frames), consuming bytes as they arrive: nothing is buffered but the one field being read (at
 * most a short string, a batch header, or a small batch whose record headers are read), so a Fetch
 * response of many megabytes streams through. See README.md in this folder.
 */
import type { Attributes } from '../../core/trace/span.js';
import type { TraceContext } from '../../core/trace/propagation.js';
import type { L7Message, ParserContext, ParserSession } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE } from '../../core/l7/types.js';
import { latin1, u16be, u32be, utf8 } from '../../core/l7/bytes.js';
import type { FieldSpec } from './schema.js';
import {
  API_KEY_API_VERSIONS,
  API_KEY_CONTROLLED_SHUTDOWN,
  API_KEY_FETCH,
  API_KEY_PRODUCE,
  API_NAMES,
  errorName,
  FLEXIBLE_FROM,
  LAYOUT_MAX_VERSION,
  MAX_API_KEY,
  MAX_VERSION,
  OPERATION_NAMES,
  R_ACKS,
  R_ERROR,
  R_GROUP,
  R_NONE,
  R_PARTITION,
  R_TOPIC,
  R_TOPIC_ID,
  REQUEST_LAYOUT,
  RESPONSE_LAYOUT,
  T_ARRAY,
  T_BYTES,
  T_I16,
  T_I32,
  T_I64,
  T_I8,
  T_PARRAY,
  T_RECORDS,
  T_STR,
  T_STRUCT,
  T_UUID,
} from './schema.js';
import { RecordsWalker, uvarint, uvarintEnd } from './records.js';

/** What `describeSpan` needs (`L7Message.info`). */
export interface KafkaInfo {
  /** API key (-1 for a response whose request was not captured). */
  apiKey: number;
  apiVersion: number;
  /** `messaging.operation.name` (`produce`, `join_group`...; '' unknown). */
  operation: string;
  /** First topic named by the message ('' none). */
  topic: string;
  /** First non-zero error code of a response (0: none). */
  errorCode: number;
}

/** Longest string value read (topic, group, client id); longer ones are skipped and counted. */
const MAX_NAME = 1024;
/** Frames of nested arrays/structs (the layouts nest 4 deep at most). */
const MAX_DEPTH = 8;
/** Requests waiting for their response per connection, and topic ids learned from Metadata. */
const MAX_PENDING = 4096;
const MAX_TOPIC_IDS = 4096;
/** Largest message accepted (brokers default to 100 MiB per request). */
const MAX_MESSAGE = 1 << 30;
/** Default: Produce batches up to this size are read whole for their record headers. */
const DEFAULT_HEADER_BATCH_LIMIT = 64 << 10;
/** Bytes kept unscanned at the end of a buffer while resynchronising (a header may straddle buffers). */
const RESYNC_TAIL = 300;

/** Direction phases. */
const PH_HEAD = 0; // at a message start
const PH_BODY = 1; // inside a message
const PH_RESYNC = 2; // after lost bytes: looking for a plausible message start

/** What the interpreter is doing inside a message body. */
const M_FIELDS = 0;
const M_SKIP = 1; // skipping `skip` bytes of a value
const M_TAG_COUNT = 2; // tagged fields of the top frame: the count
const M_TAGS = 3; // ... each tag and size
const M_RECORDS = 4; // a records field
const M_PARRAY = 5; // elements of an array of primitives
const M_REST = 6; // the rest of the message is skipped

/** `parse` loop: the bytes needed next are not there yet. */
const STALL = -0x7fffffff;

class Frame {
  fields: readonly FieldSpec[] = [];
  idx = 0;
  /** Array elements still to come after the current one. */
  left = 0;
  /** Elements end with tagged fields (flexible versions). */
  tagged = false;
  tagsDone = false;
}

/** One direction's stream state. */
class Dir {
  phase = PH_HEAD;
  /** Bytes of the current message not consumed yet (after the 4-byte size). */
  remaining = 0;
  size = 0;
  startTs = 0;
  /** Bytes were lost before the next message of this direction. */
  lostBefore = false;
  /** No message has been framed yet in this direction (the first is checked more strictly). */
  first = true;
  // ---- the message being walked
  apiKey = -1;
  version = 0;
  correlationId = 0;
  clientId: string | null = null;
  flexible = false;
  mode = M_FIELDS;
  readonly stack: Frame[] = [];
  depth = 0;
  skip = 0;
  /** The mode after the skip. */
  after = M_FIELDS;
  tagLeft = 0;
  parrLeft = 0;
  parrSpec: FieldSpec | null = null;
  // ---- facts collected
  topic = '';
  topicCount = 0;
  topicId = '';
  partition = -1;
  errorCode = 0;
  group = '';
  acks = -99;
  malformed = false;
  /** The current element's topic name and id (Metadata responses map ids to names). */
  curTopic = '';
  curTopicId = '';
  readonly records = new RecordsWalker();

  constructor() {
    for (let i = 0; i < MAX_DEPTH; i++) this.stack.push(new Frame());
  }

  resetFacts(): void {
    this.mode = M_FIELDS;
    this.depth = 0;
    this.skip = 0;
    this.topic = '';
    this.topicCount = 0;
    this.topicId = '';
    this.partition = -1;
    this.errorCode = 0;
    this.group = '';
    this.acks = -99;
    this.malformed = false;
    this.curTopic = '';
    this.curTopicId = '';
    this.clientId = null;
    this.records.resetMessage();
  }
}

const HEX = '0123456789abcdef';
function uuidHex(b: Uint8Array, p: number): string {
  let s = '';
  let zero = true;
  for (let i = 0; i < 16; i++) {
    const c = b[p + i];
    if (c !== 0) zero = false;
    s += HEX[c >> 4] + HEX[c & 15];
  }
  return zero ? '' : s;
}

/** Is b[p..p+n) printable ASCII (client ids, topic names)? */
function printable(b: Uint8Array, p: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (b[p + i] < 0x20 || b[p + i] > 0x7e) return false;
  return true;
}

/**
 * A plausible request header at b[p] (all of it within end): size, a known API key and a version
 * not far beyond the newest known, a non-negative correlation id, and a printable client id.
 * 1 yes, 0 no, -1 cannot tell yet (cut by `end`).
 */
export function plausibleRequest(b: Uint8Array, p: number, end: number): number {
  if (end - p < 12) return -1;
  const size = u32be(b, p);
  const key = u16be(b, p + 4);
  const version = u16be(b, p + 6);
  if (size < 8 || size > MAX_MESSAGE || key > MAX_API_KEY || API_NAMES[key] === '' || version > MAX_VERSION[key] + 8) return 0;
  if (b[p + 8] & 0x80) return 0; // correlation ids count up from 0
  if (key === API_KEY_CONTROLLED_SHUTDOWN && version === 0) return size >= 8 ? 1 : 0;
  if (size < 10) return 0;
  if (end - p < 14) return -1;
  const idLen = u16be(b, p + 12);
  if (idLen === 0xffff) return 1;
  if (idLen > 256 || idLen + 10 > size) return 0;
  if (end - p < 14 + idLen) return -1;
  return printable(b, p + 14, idLen) ? 1 : 0;
}

export class KafkaSession implements ParserSession {
  private readonly dirs = [new Dir(), new Dir()];
  /** correlation id -> api key << 16 | version, for requests waiting for a response. */
  private readonly pending = new Map<number, number>();
  /** Topic ids (hex) -> names, from Metadata responses (Fetch v13+ names topics by id). */
  private readonly topicNames = new Map<string, string>();
  private readonly headerBatchLimit: number;

  constructor(private readonly ctx: ParserContext) {
    const o = ctx.options['header_batch_limit'];
    const n = typeof o === 'number' ? o : typeof o === 'string' ? Number(o) : NaN;
    this.headerBatchLimit = Number.isInteger(n) && n >= 0 && n <= 128 << 10 ? n : DEFAULT_HEADER_BATCH_LIMIT;
  }

  parse(toServer: boolean, buf: Uint8Array, offset: number, length: number): number {
    const d = this.dirs[toServer ? 0 : 1];
    const end = offset + length;
    let p = offset;
    while (p < end) {
      if (d.phase === PH_RESYNC) {
        const q = this.findStart(toServer, buf, p, end);
        if (q < 0) {
          // No start here: keep the tail (a header may continue in the next bytes).
          const keep = Math.max(p, end - RESYNC_TAIL);
          return keep - offset;
        }
        if (q === STALL) return p - offset;
        p = q;
        d.phase = PH_HEAD;
      }
      if (d.phase === PH_HEAD) {
        d.startTs = p === offset ? this.ctx.firstByteTs : this.ctx.lastByteTs;
        const q = toServer ? this.requestHead(d, buf, p, end) : this.responseHead(d, buf, p, end);
        if (q === STALL) return p - offset;
        if (q < 0) {
          // Not a message start: count it and look for the next plausible one.
          this.ctx.anomaly(toServer ? 'kafka_bad_request_header' : 'kafka_bad_response_header');
          d.phase = PH_RESYNC;
          d.lostBefore = true;
          p++;
          continue;
        }
        p = q;
        d.phase = PH_BODY;
        d.first = false;
        if (d.remaining === 0) {
          this.finish(toServer, d);
          continue;
        }
      }
      const lim = Math.min(end, p + d.remaining);
      const q = this.body(d, buf, p, lim);
      d.remaining -= q - p;
      p = q;
      if (d.remaining === 0) this.finish(toServer, d);
      else if (this.stalled || p < lim) return p - offset;
    }
    return p - offset;
  }

  onGap(toServer: boolean, _length: number): void {
    const d = this.dirs[toServer ? 0 : 1];
    this.ctx.anomaly('kafka_gap');
    if (d.phase === PH_BODY) {
      // The message was sent, even if part of it was lost: a request still waits for its
      // response, a response still answers its request.
      d.malformed = true;
      this.finish(toServer, d);
    }
    d.phase = PH_RESYNC;
    d.lostBefore = true;
  }

  /** The server side ended inside a response (a capture cut short): it still answers its request. */
  onEnd(toServer: boolean): void {
    const d = this.dirs[toServer ? 0 : 1];
    if (!toServer && d.phase === PH_BODY) {
      d.malformed = true;
      this.finish(false, d);
      d.phase = PH_HEAD;
    }
  }

  // ---- headers -----------------------------------------------------------------------------------

  /** Request header at b[p]: the position after it, STALL, or -2 when it is not one. */
  private requestHead(d: Dir, b: Uint8Array, p: number, end: number): number {
    if (end - p < 12) return STALL;
    if (d.first || d.lostBefore) {
      const ok = plausibleRequest(b, p, end);
      if (ok === -1) return STALL;
      if (ok === 0) return -2;
    }
    const size = u32be(b, p);
    const key = u16be(b, p + 4);
    const version = u16be(b, p + 6);
    if (size < 8 || size > MAX_MESSAGE || key > 0x7fff || version > 0x7fff) return -2;
    d.resetFacts();
    d.size = size + 4;
    d.apiKey = key;
    d.version = version;
    d.correlationId = u32be(b, p + 8) | 0;
    let q = p + 12;
    if (!(key === API_KEY_CONTROLLED_SHUTDOWN && version === 0)) {
      if (size < 10) return -2;
      if (end - q < 2) return STALL;
      const idLen = u16be(b, q);
      q += 2;
      if (idLen !== 0xffff) {
        if (idLen + 10 > size) return -2;
        if (idLen > MAX_NAME) {
          this.ctx.anomaly('kafka_long_client_id');
          d.remaining = size - 10;
          this.afterClientId(d, key, version);
          this.skipThen(d, idLen, d.mode);
          return q;
        }
        if (end - q < idLen) return STALL;
        d.clientId = utf8(b, q, q + idLen);
        q += idLen;
      }
    }
    d.remaining = size - (q - p - 4);
    this.afterClientId(d, key, version);
    return q;
  }

  /** After the client id: the body layout (with the header's tagged fields first), or skip the rest. */
  private afterClientId(d: Dir, key: number, version: number): void {
    const known = key <= MAX_API_KEY;
    d.flexible = known && version >= FLEXIBLE_FROM[key];
    const layout = known ? REQUEST_LAYOUT[key] : null;
    if (layout === null || version > LAYOUT_MAX_VERSION[key]) {
      d.mode = M_REST;
      if (known && version > MAX_VERSION[key]) this.ctx.anomaly('kafka_unknown_version');
      return;
    }
    this.startBody(d, layout, d.flexible);
  }

  /** Push the body's root frame, and above it an empty frame for the header's tagged fields. */
  private startBody(d: Dir, layout: readonly FieldSpec[], flexible: boolean): void {
    const root = d.stack[0];
    root.fields = layout;
    root.idx = 0;
    root.left = 0;
    root.tagged = flexible;
    root.tagsDone = false;
    d.depth = 1;
    if (flexible) {
      const h = d.stack[1];
      h.fields = [];
      h.idx = 0;
      h.left = 0;
      h.tagged = true;
      h.tagsDone = false;
      d.depth = 2;
    }
    d.mode = M_FIELDS;
  }

  /** Response header at b[p]: size and correlation id; the request it answers gives the layout. */
  private responseHead(d: Dir, b: Uint8Array, p: number, end: number): number {
    if (end - p < 8) return STALL;
    const size = u32be(b, p);
    const corr = u32be(b, p + 4) | 0;
    if (size < 4 || size > MAX_MESSAGE) return -2;
    const req = this.pending.get(corr);
    if (req === undefined && (d.lostBefore || (d.first && this.pending.size > 0))) return -2;
    d.resetFacts();
    d.size = size + 4;
    d.correlationId = corr;
    d.remaining = size - 4;
    if (req === undefined) {
      d.apiKey = -1;
      d.version = 0;
      d.mode = M_REST;
      return p + 8;
    }
    this.pending.delete(corr);
    const key = req >>> 16;
    const version = req & 0xffff;
    d.apiKey = key;
    d.version = version;
    if (key > MAX_API_KEY) {
      d.mode = M_REST;
      return p + 8;
    }
    d.flexible = version >= FLEXIBLE_FROM[key];
    const layout = RESPONSE_LAYOUT[key];
    if (layout === null || version > LAYOUT_MAX_VERSION[key]) {
      d.mode = M_REST;
      return p + 8;
    }
    // ApiVersions responses keep header v0 (no tagged fields) so that any client can read them.
    this.startBody(d, layout, d.flexible);
    if (key === API_KEY_API_VERSIONS && d.depth === 2) d.depth = 1;
    return p + 8;
  }

  /**
   * After lost bytes: the next plausible message start at or after p, STALL when one may start but
   * is cut by `end`, or -1 when none starts before the last RESYNC_TAIL bytes.
   */
  private findStart(toServer: boolean, b: Uint8Array, p: number, end: number): number {
    for (let q = p; q + 8 <= end; q++) {
      if (toServer) {
        const ok = plausibleRequest(b, q, end);
        if (ok === 1) return q;
        if (ok === -1 && end - q < RESYNC_TAIL) return q === p ? STALL : q;
      } else {
        const size = u32be(b, q);
        if (size >= 4 && size <= MAX_MESSAGE && this.pending.has(u32be(b, q + 4) | 0)) return q;
      }
    }
    return -1;
  }

  // ---- bodies ------------------------------------------------------------------------------------

  /**
   * Walk the message body in b[p..lim) (lim is at most the message end). Returns the new position;
   * sets `stalled` when the next value is cut by the end of the buffer (not by the end of the message).
   */
  private body(d: Dir, b: Uint8Array, p: number, lim: number): number {
    this.stalled = false;
    const atMsgEnd = lim - p === d.remaining;
    this.msgEnd = p + d.remaining;
    while (p < lim || (d.mode === M_FIELDS && d.depth > 0)) {
      switch (d.mode) {
        case M_REST:
          return lim;
        case M_SKIP: {
          const n = Math.min(d.skip, lim - p);
          d.skip -= n;
          p += n;
          if (d.skip > 0) return p;
          d.mode = d.after;
          continue;
        }
        case M_RECORDS: {
          const r = d.records;
          p = r.step(b, p, Math.min(lim, p + r.left));
          if (r.needMore) return atMsgEnd ? this.malformed(d, lim) : this.stall(p);
          if (r.left > 0) return p;
          d.mode = M_FIELDS;
          continue;
        }
        case M_TAG_COUNT:
        case M_TAGS: {
          // The count of a tagged-field section, then each tag and size; M_SKIP skips the value.
          const counting = d.mode === M_TAG_COUNT;
          const n = uvarint(b, p, lim);
          const size = n >= 0 && !counting ? uvarint(b, uvarintEnd(), lim) : 0;
          if (n === -1 || size === -1) return atMsgEnd ? this.malformed(d, lim) : this.stall(p);
          if (n < 0 || size < 0) return this.malformed(d, lim);
          p = uvarintEnd();
          d.tagLeft = counting ? n : d.tagLeft - 1;
          const next = d.tagLeft > 0 ? M_TAGS : M_FIELDS;
          if (next === M_FIELDS) d.stack[d.depth - 1].tagsDone = true;
          this.skipThen(d, size, next);
          continue;
        }
        case M_PARRAY: {
          const q = this.parrayStep(d, b, p, lim);
          if (q === STALL) return atMsgEnd ? this.malformed(d, lim) : this.stall(p);
          p = q;
          continue;
        }
        default: {
          if (d.depth === 0) {
            // Body complete; anything left in the message is not in the layout.
            if (p < lim) this.ctx.anomaly('kafka_trailing_bytes');
            d.mode = M_REST;
            continue;
          }
          const q = this.fieldStep(d, b, p, lim);
          if (q === STALL) return atMsgEnd ? this.malformed(d, lim) : this.stall(p);
          p = q;
        }
      }
    }
    return p;
  }

  /** The walk stopped at p: the next value is not all in the buffer yet. */
  private stalled = false;
  private stall(p: number): number {
    this.stalled = true;
    return p;
  }

  /** The message does not fit its layout: count it, keep what was read, skip the rest. */
  private malformed(d: Dir, lim: number): number {
    this.ctx.anomaly('kafka_malformed_body');
    d.malformed = true;
    d.mode = M_REST;
    return lim;
  }

  /** One step at the top frame: a field, the element's tagged fields, or the element's end. */
  private fieldStep(d: Dir, b: Uint8Array, p: number, lim: number): number {
    const fr = d.stack[d.depth - 1];
    const v = d.version;
    while (fr.idx < fr.fields.length) {
      const f = fr.fields[fr.idx];
      if (v < f.min || v > f.max) {
        fr.idx++;
        continue;
      }
      return this.field(d, f, b, p, lim);
    }
    if (fr.tagged && !fr.tagsDone) {
      d.mode = M_TAG_COUNT;
      return p;
    }
    // End of an element.
    if (d.curTopic !== '' && d.curTopicId !== '') {
      if (d.apiKey === 3 && this.topicNames.size < MAX_TOPIC_IDS) this.topicNames.set(d.curTopicId, d.curTopic);
      d.curTopic = '';
      d.curTopicId = '';
    }
    if (fr.left > 0) {
      fr.left--;
      fr.idx = 0;
      fr.tagsDone = false;
    } else {
      d.depth--;
    }
    return p;
  }

  /** Where the message being walked ends, in the current buffer's coordinates. */
  private msgEnd = 0;

  /** Length of a string/bytes/array at b[p]: value (-1 null), position after it in `lenEnd`; STALL or -3 bad. */
  private lenEnd = 0;
  private length(d: Dir, b: Uint8Array, p: number, lim: number, width: number): number {
    if (d.flexible) {
      const n = uvarint(b, p, lim);
      if (n === -1) return STALL;
      if (n < 0) return -3;
      this.lenEnd = uvarintEnd();
      return n - 1;
    }
    if (lim - p < width) return STALL;
    this.lenEnd = p + width;
    if (width === 2) {
      const n = u16be(b, p);
      return n === 0xffff ? -1 : n > 0x7fff ? -3 : n;
    }
    const n = u32be(b, p) | 0;
    return n < -1 ? -3 : n;
  }

  /** Read field `f` at b[p]; returns the position after what was consumed, or STALL. */
  private field(d: Dir, f: FieldSpec, b: Uint8Array, p: number, lim: number): number {
    const fr = d.stack[d.depth - 1];
    const avail = lim - p;
    switch (f.type) {
      case T_I8:
        if (avail < 1) return STALL;
        fr.idx++;
        return p + 1;
      case T_I16: {
        if (avail < 2) return STALL;
        fr.idx++;
        if (f.role === R_ERROR) {
          const e = (u16be(b, p) << 16) >> 16;
          if (e !== 0 && d.errorCode === 0) d.errorCode = e;
        } else if (f.role === R_ACKS) d.acks = (u16be(b, p) << 16) >> 16;
        return p + 2;
      }
      case T_I32:
        if (avail < 4) return STALL;
        fr.idx++;
        if (f.role === R_PARTITION && d.partition < 0 && d.topicCount > 0) d.partition = u32be(b, p) | 0;
        return p + 4;
      case T_I64:
        if (avail < 8) return STALL;
        fr.idx++;
        return p + 8;
      case T_UUID:
        if (avail < 16) return STALL;
        fr.idx++;
        if (f.role === R_TOPIC_ID) this.topicIdValue(d, uuidHex(b, p));
        return p + 16;
      case T_STR: {
        const q = this.string(d, f.role, b, p, lim, M_FIELDS);
        if (q !== STALL) fr.idx++;
        return q;
      }
      case T_BYTES:
      case T_RECORDS: {
        const n = this.length(d, b, p, lim, 4);
        if (n === STALL) return STALL;
        if (n < -1) return this.malformed(d, lim);
        fr.idx++;
        if (n > 0) {
          if (f.type === T_RECORDS) {
            d.records.begin(n, d.apiKey === API_KEY_PRODUCE ? this.headerBatchLimit : 0);
            d.mode = M_RECORDS;
          } else this.skipThen(d, n, M_FIELDS);
        }
        return this.lenEnd;
      }
      case T_ARRAY:
      case T_PARRAY: {
        const n = this.length(d, b, p, lim, 4);
        if (n === STALL) return STALL;
        if (n < -1 || n > d.remaining) return this.malformed(d, lim);
        fr.idx++;
        if (n > 0) {
          if (f.type === T_PARRAY) {
            d.parrLeft = n;
            d.parrSpec = f.children![0];
            d.mode = M_PARRAY;
          } else {
            if (d.depth >= MAX_DEPTH) return this.malformed(d, lim);
            this.push(d, f.children!, n - 1);
          }
        }
        return this.lenEnd;
      }
      case T_STRUCT: {
        let q = p;
        if (d.version >= f.nullMin) {
          if (avail < 1) return STALL;
          q++;
          if (b[p] === 0xff) {
            fr.idx++;
            return q;
          }
        }
        fr.idx++;
        if (d.depth >= MAX_DEPTH) return this.malformed(d, lim);
        this.push(d, f.children!, 0);
        return q;
      }
      default:
        return this.malformed(d, lim);
    }
  }

  /** Skip `n` bytes (none when n <= 0), then continue in `next`. */
  private skipThen(d: Dir, n: number, next: number): void {
    if (n > 0) {
      d.skip = n;
      d.after = next;
      d.mode = M_SKIP;
    } else d.mode = next;
  }

  /**
   * A string at b[p]: read when its role needs the value (up to MAX_NAME bytes, which must all be in
   * the buffer), else skipped as it passes; then the walk continues in `next`. Returns the position
   * after what was consumed, or STALL.
   */
  private string(d: Dir, role: number, b: Uint8Array, p: number, lim: number, next: number): number {
    const n = this.length(d, b, p, lim, 2);
    if (n === STALL) return STALL;
    if (n < -1) return this.malformed(d, lim);
    const q = this.lenEnd;
    if (role !== R_NONE && n >= 0 && n <= MAX_NAME) {
      if (q + n > lim) return q + n > this.msgEnd ? this.malformed(d, lim) : STALL;
      this.stringValue(d, role, latin1(b, q, q + n));
      d.mode = next;
      return q + n;
    }
    if (n > MAX_NAME && role !== R_NONE) this.ctx.anomaly('kafka_long_name');
    this.skipThen(d, n, next);
    return q;
  }

  private push(d: Dir, fields: readonly FieldSpec[], left: number): void {
    const fr = d.stack[d.depth++];
    fr.fields = fields;
    fr.idx = 0;
    fr.left = left;
    fr.tagged = d.flexible;
    fr.tagsDone = false;
  }

  /** Elements of an array of primitives (partition indexes, coordinator keys...). */
  private parrayStep(d: Dir, b: Uint8Array, p: number, lim: number): number {
    const f = d.parrSpec!;
    if (f.type === T_STR) {
      const q = this.string(d, f.role, b, p, lim, d.parrLeft > 1 ? M_PARRAY : M_FIELDS);
      if (q !== STALL) d.parrLeft--;
      return q;
    }
    const w = f.type === T_I8 ? 1 : f.type === T_I16 ? 2 : f.type === T_I32 ? 4 : f.type === T_I64 ? 8 : 16;
    const n = Math.min(d.parrLeft, Math.floor((lim - p) / w));
    if (n === 0) return STALL;
    if (f.role === R_PARTITION && d.partition < 0 && d.topicCount > 0) d.partition = u32be(b, p) | 0;
    d.parrLeft -= n;
    if (d.parrLeft === 0) d.mode = M_FIELDS;
    return p + n * w;
  }

  private stringValue(d: Dir, role: number, s: string): void {
    if (role === R_TOPIC) {
      d.curTopic = s;
      if (d.topicCount++ === 0) d.topic = s;
    } else if (role === R_GROUP) {
      if (d.group === '') d.group = s;
    }
  }

  private topicIdValue(d: Dir, id: string): void {
    if (id === '') return;
    d.curTopicId = id;
    if (d.apiKey === 3) return; // Metadata: the name comes with it
    const name = this.topicNames.get(id);
    if (name !== undefined) this.stringValue(d, R_TOPIC, name);
    else if (d.topicId === '') {
      d.topicId = id;
      d.topicCount++;
    }
  }

  // ---- messages ----------------------------------------------------------------------------------

  private finish(toServer: boolean, d: Dir): void {
    d.phase = PH_HEAD;
    if (d.malformed || d.records.malformed) this.ctx.anomaly(d.records.malformed ? 'kafka_bad_record_batch' : 'kafka_truncated_message');
    if (toServer) this.emitRequest(d);
    else this.emitResponse(d);
    d.lostBefore = false;
  }

  private commonAttrs(d: Dir, attrs: Attributes): void {
    if (d.topic !== '') attrs['messaging.destination.name'] = d.topic;
    else if (d.topicId !== '') attrs['spanwire.kafka.topic_id'] = d.topicId;
    if (d.partition >= 0 && d.topicCount === 1) attrs['messaging.destination.partition.id'] = String(d.partition);
    if (d.group !== '') attrs['messaging.consumer.group.name'] = d.group;
  }

  private emitRequest(d: Dir): void {
    const key = d.apiKey;
    const known = key <= MAX_API_KEY && API_NAMES[key] !== '';
    const op = known ? OPERATION_NAMES[key] : `api_key_${key}`;
    const attrs: Attributes = {
      'messaging.system': 'kafka',
      'messaging.operation.name': op,
      'spanwire.kafka.api_key': key,
      'spanwire.kafka.api_version': d.version,
      'spanwire.kafka.correlation_id': d.correlationId,
    };
    const type = operationType(key);
    if (type !== '') attrs['messaging.operation.type'] = type;
    if (d.clientId !== null && d.clientId !== '') attrs['messaging.client.id'] = d.clientId;
    this.commonAttrs(d, attrs);
    let expectsResponse = true;
    let trace: TraceContext | null = null;
    if (key === API_KEY_PRODUCE) {
      if (d.acks !== -99) attrs['spanwire.kafka.acks'] = d.acks;
      if (d.acks === 0) expectsResponse = false; // acks=0: the broker sends no response
      if (d.records.batches > 0) attrs['messaging.batch.message_count'] = d.records.records;
      trace = d.records.trace;
    }
    if (expectsResponse) {
      if (this.pending.size >= MAX_PENDING) {
        this.ctx.anomaly('kafka_pending_overflow');
        const oldest = this.pending.keys().next().value as number;
        this.pending.delete(oldest);
      }
      this.pending.set(d.correlationId, ((key & 0xffff) << 16) | (d.version & 0xffff));
    }
    const info: KafkaInfo = { apiKey: key, apiVersion: d.version, operation: op, topic: d.topic, errorCode: 0 };
    const msg: L7Message = {
      type: MSG_REQUEST,
      sessionId: d.correlationId,
      startTs: d.startTs,
      endTs: this.ctx.lastByteTs,
      size: d.size,
      attrs,
      expectsResponse,
      trace,
      afterGap: d.lostBefore,
      info,
    };
    this.ctx.emit(msg);
  }

  private emitResponse(d: Dir): void {
    const key = d.apiKey;
    const attrs: Attributes = { 'spanwire.kafka.correlation_id': d.correlationId };
    this.commonAttrs(d, attrs);
    if (d.errorCode !== 0) attrs['spanwire.kafka.error_code'] = d.errorCode;
    if (key === API_KEY_FETCH && d.records.batches > 0) attrs['messaging.batch.message_count'] = d.records.records;
    const op = key >= 0 && key <= MAX_API_KEY ? OPERATION_NAMES[key] : '';
    const info: KafkaInfo = { apiKey: key, apiVersion: d.version, operation: op, topic: d.topic, errorCode: d.errorCode };
    const msg: L7Message = {
      type: MSG_RESPONSE,
      sessionId: d.correlationId,
      startTs: d.startTs,
      endTs: this.ctx.lastByteTs,
      size: d.size,
      attrs,
      expectsResponse: false,
      trace: null,
      afterGap: d.lostBefore,
      info,
    };
    this.ctx.emit(msg);
  }
}

/** `messaging.operation.type` of an API: send (Produce), receive (Fetch, ShareFetch), settle (commits, acknowledgements). */
export function operationType(key: number): string {
  switch (key) {
    case 0:
      return 'send';
    case 1:
    case 78:
      return 'receive';
    case 8:
    case 28:
    case 79:
      return 'settle';
    default:
      return '';
  }
}



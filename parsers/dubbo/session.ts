/**
 * The per-flow Dubbo state: framing by the 16-byte header, streaming of the bodies, and the
 * messages built from them.
 *
 * Each direction reads header, then body. Bodies stream through: a Hessian2 body is decoded as its
 * bytes arrive (the leading strings, then the arguments skipped value by value, then the
 * attachments), so only a partial token is ever left unconsumed, never the body; bodies of other
 * serializations give their first strings where the format is known (Kryo, FastJson, Gson) from at
 * most PREFIX_BYTES, and the rest is skipped. A message is emitted when its body ends.
 *
 * Request body (DubboCodec.encodeRequestData): Dubbo version, service path, service version,
 * method name, parameter types descriptor (strings), one value per parameter, attachments (a map).
 * Response body (encodeResponseData): a type byte (RESPONSE_*), the value or the exception unless
 * null, then the attachments for the *_WITH_ATTACHMENTS types; with a status other than OK, the
 * body is the error message (a string).
 */
import type { L7Message, ParserContext, ParserSession } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE } from '../../core/l7/types.js';
import type { Attributes } from '../../core/trace/span.js';
import { TraceContextCollector } from '../../core/trace/propagation.js';
import { u32be } from '../../core/l7/bytes.js';
import {
  FLAG_EVENT,
  FLAG_REQUEST,
  FLAG_TWOWAY,
  HEADER_LEN,
  MAGIC_HIGH,
  MAGIC_LOW,
  RESPONSE_NULL_VALUE,
  RESPONSE_NULL_VALUE_WITH_ATTACHMENTS,
  RESPONSE_VALUE,
  RESPONSE_VALUE_WITH_ATTACHMENTS,
  RESPONSE_WITH_EXCEPTION,
  RESPONSE_WITH_EXCEPTION_WITH_ATTACHMENTS,
  SER_FASTJSON,
  SER_GSON,
  SER_HESSIAN2,
  SER_KRYO,
  SERIALIZATION_MASK,
  STATUS_OK,
  countParameters,
  jsonLineString,
  kryoString,
  plausibleHeader,
  prefixValue,
  serializationName,
  statusName,
} from './protocol.js';
import { HessianSkipper, NEED_MORE, SKIP_BAD, SKIP_MORE, TOO_LONG, intAt, intEnd, isStringStart, stringAt, stringEnd } from './hessian.js';

/** What `describeSpan` needs, in `L7Message.info`. */
export interface DubboInfo {
  /** Service path and method name ('' when not read). */
  service: string;
  method: string;
  /** Responses: the status byte (20 = OK); -1 on requests. */
  status: number;
  /** Responses: the body carries an exception (RESPONSE_WITH_EXCEPTION*). */
  exception: boolean;
  /** Responses: the exception's class name ('' when not read). */
  exceptionType: string;
  /** Responses: the error message of a non-OK status, or the exception's message ('' when none). */
  message: string;
}

/** Longest leading string (version, service, method, parameter types) read. */
const MAX_HEAD_STRING = 16 << 10;
/** Longest attachment key and value read (longer ones are skipped). */
const MAX_KEY = 1024;
const MAX_VALUE = 8192;
/** Longest error message kept. */
const MAX_MESSAGE = 1024;
/** Longest custom trace id kept. */
const MAX_TRACE_ID = 256;
/** Bytes of a non-Hessian body looked at for its leading strings. */
const PREFIX_BYTES = 2048;

/** Attachment keys carrying a trace id in no standard format, recorded as `spanwire.dubbo.trace_id` (lower case). */
const CUSTOM_TRACE_KEYS = ['trace_id', 'traceid', 'trace-id', 'x-trace-id', 'x-b3-traceid', 'eagleeye-traceid'];

// Framing states.
const FR_HEADER = 0;
const FR_BODY = 1;
/** Framing lost (after a gap or bad bytes): looking for a plausible header. */
const FR_LOST = 2;

// Body phases.
const PH_SKIP = 0; // skip the rest of the body unread
const PH_HEAD = 1; // request: the five leading strings
const PH_ARGS = 2; // request: one value per parameter
const PH_ATT_OPEN = 3; // the attachments map header
const PH_ATT_KEY = 4;
const PH_ATT_VALUE = 5;
const PH_RESP_TYPE = 6; // response: the type byte
const PH_ERROR_MESSAGE = 7; // response with a non-OK status: a string
const PH_PREFIX = 8; // other serializations: leading strings from the first bytes
const PH_VALUE = 9; // skipping one value, then `afterValue`
const PH_DONE = 10; // decoded; anything left is skipped

/** The state of one direction. All fields set here: stable shape. */
class Direction {
  frame = FR_HEADER;
  /** The next message follows lost bytes. */
  afterGap = false;
  // header of the current message
  request = false;
  twoWay = false;
  event = false;
  serialization = 0;
  status = 0;
  sessionId = 0;
  bodyLen = 0;
  bodyLeft = 0;
  startTs = 0;
  // body decoding
  phase = PH_SKIP;
  afterValue = PH_DONE;
  headIndex = 0;
  argsLeft = 0;
  version = '';
  service = '';
  serviceVersion = '';
  method = '';
  parameterTypes = '';
  key = '';
  group = '';
  customTraceId = '';
  responseType = -1;
  message = '';
  /** The body was not decoded to its end (malformed, or bytes lost). */
  incomplete = false;
  readonly skipper = new HessianSkipper();
  readonly trace = new TraceContextCollector();

  startMessage(): void {
    this.phase = PH_SKIP;
    this.afterValue = PH_DONE;
    this.headIndex = 0;
    this.argsLeft = 0;
    this.version = '';
    this.service = '';
    this.serviceVersion = '';
    this.method = '';
    this.parameterTypes = '';
    this.key = '';
    this.group = '';
    this.customTraceId = '';
    this.responseType = -1;
    this.message = '';
    this.incomplete = false;
    this.skipper.resetMessage();
    this.trace.reset();
  }
}

export class DubboSession implements ParserSession {
  private readonly dirs = [new Direction(), new Direction()];

  constructor(private readonly ctx: ParserContext) {}

  parse(toServer: boolean, buf: Uint8Array, offset: number, length: number): number {
    const d = this.dirs[toServer ? 0 : 1];
    const end = offset + length;
    let p = offset;
    while (p < end) {
      if (d.frame === FR_LOST) {
        const h = DubboSession.findHeader(buf, p, end);
        if (h < 0) {
          // Keep a possible header start (magic high byte) from the last 15 bytes.
          let keep = end;
          for (let i = Math.max(p, end - HEADER_LEN + 1); i < end; i++) {
            if (buf[i] === MAGIC_HIGH && (i + 1 === end || buf[i + 1] === MAGIC_LOW)) {
              keep = i;
              break;
            }
          }
          return keep - offset;
        }
        p = h;
        d.frame = FR_HEADER;
        d.afterGap = true;
      }
      if (d.frame === FR_HEADER) {
        const avail = end - p;
        if (buf[p] !== MAGIC_HIGH || (avail > 1 && buf[p + 1] !== MAGIC_LOW)) {
          this.ctx.anomaly('dubbo_bad_magic');
          d.frame = FR_LOST;
          p++;
          continue;
        }
        if (avail < HEADER_LEN) return p - offset;
        if (!plausibleHeader(buf, p)) {
          this.ctx.anomaly('dubbo_bad_header');
          d.frame = FR_LOST;
          p++;
          continue;
        }
        this.header(d, toServer, buf, p, p === offset ? this.ctx.firstByteTs : this.ctx.lastByteTs);
        p += HEADER_LEN;
        if (d.bodyLeft === 0) this.finish(d, toServer);
        else d.frame = FR_BODY;
        continue;
      }
      // FR_BODY
      const final = end - p >= d.bodyLeft;
      const e = final ? p + d.bodyLeft : end;
      let q = this.body(d, buf, p, e, final);
      if (q < e && final) {
        // The decoder wants bytes past the end of the body: it is not what it should be.
        this.malformed(d, 'dubbo_body_malformed');
        q = e;
      }
      d.bodyLeft -= q - p;
      p = q;
      if (d.bodyLeft === 0) {
        this.finish(d, toServer);
        d.frame = FR_HEADER;
        continue;
      }
      if (q < e) return p - offset; // a token continues in the next bytes
    }
    return length;
  }

  /**
   * `length` bytes were lost (including any the dispatcher held). Inside a body longer than the
   * loss, the framing survives: the rest of the body is skipped and the message still ends where its
   * length says. Otherwise the direction looks for the next plausible header.
   */
  onGap(toServer: boolean, length: number): void {
    const d = this.dirs[toServer ? 0 : 1];
    this.ctx.anomaly('dubbo_gap');
    if (d.frame === FR_BODY && length < d.bodyLeft) {
      d.bodyLeft -= length;
      if (d.phase !== PH_DONE) d.incomplete = true;
      d.phase = PH_SKIP;
      return;
    }
    d.frame = FR_LOST;
  }

  onEnd(_toServer: boolean): void {
    // A message cut by the end of the stream is dropped (its request times out as no_response).
  }

  /** First plausible header in b[p..end) (whole), or -1. */
  private static findHeader(b: Uint8Array, p: number, end: number): number {
    for (let i = p; i + HEADER_LEN <= end; i++) {
      if (b[i] === MAGIC_HIGH && plausibleHeader(b, i)) return i;
    }
    return -1;
  }

  private header(d: Direction, toServer: boolean, b: Uint8Array, p: number, ts: number): void {
    const flags = b[p + 2];
    d.request = (flags & FLAG_REQUEST) !== 0;
    d.twoWay = (flags & FLAG_TWOWAY) !== 0;
    d.event = (flags & FLAG_EVENT) !== 0;
    d.serialization = flags & SERIALIZATION_MASK;
    d.status = b[p + 3];
    // The request id is 64 bits; ids are counters, so the low 53 bits make an exact, safe number.
    d.sessionId = (u32be(b, p + 4) & 0x1fffff) * 4294967296 + u32be(b, p + 8);
    d.bodyLen = u32be(b, p + 12);
    d.bodyLeft = d.bodyLen;
    d.startTs = ts;
    d.startMessage();
    if (d.event || d.request !== toServer) {
      d.phase = PH_SKIP; // heartbeats and other events; calls the server makes (callbacks) are not read
      return;
    }
    const ser = d.serialization;
    if (ser === SER_HESSIAN2) {
      if (d.request) d.phase = PH_HEAD;
      else d.phase = d.status === STATUS_OK ? PH_RESP_TYPE : PH_ERROR_MESSAGE;
    } else if (d.request && (ser === SER_KRYO || ser === SER_FASTJSON || ser === SER_GSON)) {
      d.phase = PH_PREFIX;
    }
  }

  private malformed(d: Direction, kind: string): void {
    if (d.phase === PH_SKIP || d.phase === PH_DONE) return;
    this.ctx.anomaly(kind);
    d.incomplete = true;
    d.phase = PH_SKIP;
  }

  /**
   * Decodes body bytes b[p..e) (`final`: e is the end of the body). Returns the position reached:
   * e, or less when a token continues past e (those bytes are offered again with more).
   */
  private body(d: Direction, b: Uint8Array, p: number, e: number, final: boolean): number {
    for (;;) {
      switch (d.phase) {
        case PH_SKIP:
        case PH_DONE:
          return e;
        case PH_HEAD: {
          while (d.headIndex < 5) {
            if (p >= e) return p;
            const r = stringEnd(b, p, e, MAX_HEAD_STRING);
            if (r === NEED_MORE) return p;
            if (r < 0) {
              this.malformed(d, r === TOO_LONG ? 'dubbo_string_too_long' : 'dubbo_hessian_bad_value');
              return e;
            }
            const s = stringAt(b, p, r);
            switch (d.headIndex++) {
              case 0:
                d.version = s;
                break;
              case 1:
                d.service = s;
                break;
              case 2:
                d.serviceVersion = s;
                break;
              case 3:
                d.method = s;
                break;
              default:
                d.parameterTypes = s;
            }
            p = r;
          }
          const n = countParameters(d.parameterTypes);
          if (n < 0) {
            this.malformed(d, 'dubbo_bad_parameter_types');
            return e;
          }
          d.argsLeft = n;
          d.phase = PH_ARGS;
          break;
        }
        case PH_ARGS:
          if (d.argsLeft === 0) {
            d.phase = PH_ATT_OPEN;
            break;
          }
          d.argsLeft--;
          d.afterValue = PH_ARGS;
          d.phase = PH_VALUE;
          break;
        case PH_VALUE: {
          if (p >= e) return p;
          const sk = d.skipper;
          p = sk.skip(b, p, e);
          if (sk.state === SKIP_MORE) return p;
          if (sk.state === SKIP_BAD) {
            this.malformed(d, sk.fault);
            return e;
          }
          d.phase = d.afterValue;
          break;
        }
        case PH_ATT_OPEN: {
          if (p >= e) return p;
          const c = b[p];
          if (c === 0x48) {
            p++; // 'H' untyped map
          } else if (c === 0x4d) {
            // 'M' typed map: a type string or type ref first
            const t = isStringStart(b[p + 1]) ? stringEnd(b, p + 1, e, MAX_KEY) : intEnd(b, p + 1, e);
            if (t === NEED_MORE || p + 1 >= e) return p;
            if (t < 0) {
              this.malformed(d, 'dubbo_hessian_bad_value');
              return e;
            }
            p = t;
          } else if (c === 0x4e) {
            d.phase = PH_DONE; // 'N': no attachments
            return e;
          } else {
            this.malformed(d, 'dubbo_bad_attachments');
            return e;
          }
          d.phase = PH_ATT_KEY;
          break;
        }
        case PH_ATT_KEY: {
          if (p >= e) return p;
          if (b[p] === 0x5a) {
            d.phase = PH_DONE; // 'Z': end of the map
            return e;
          }
          const r = isStringStart(b[p]) ? stringEnd(b, p, e, MAX_KEY) : TOO_LONG;
          if (r === NEED_MORE) return p;
          if (r >= 0) {
            d.key = stringAt(b, p, r);
            p = r;
            d.phase = PH_ATT_VALUE;
          } else {
            // A key that is not a (short) string: skip it and its value.
            d.key = '';
            d.afterValue = PH_ATT_VALUE;
            d.phase = PH_VALUE;
          }
          break;
        }
        case PH_ATT_VALUE: {
          if (p >= e) return p;
          if (d.key !== '' && (isStringStart(b[p]) || b[p] === 0x4e)) {
            const r = stringEnd(b, p, e, MAX_VALUE);
            if (r === NEED_MORE) return p;
            if (r >= 0) {
              this.attachment(d, d.key, stringAt(b, p, r));
              p = r;
              d.phase = PH_ATT_KEY;
              break;
            }
          }
          d.afterValue = PH_ATT_KEY;
          d.phase = PH_VALUE;
          break;
        }
        case PH_RESP_TYPE: {
          const r = intEnd(b, p, e);
          if (r === NEED_MORE) return p;
          if (r < 0) {
            this.malformed(d, 'dubbo_bad_response_type');
            return e;
          }
          const t = intAt(b, p);
          p = r;
          d.responseType = t;
          if (t === RESPONSE_WITH_EXCEPTION || t === RESPONSE_WITH_EXCEPTION_WITH_ATTACHMENTS) {
            d.skipper.captureException = true;
            d.afterValue = t === RESPONSE_WITH_EXCEPTION ? PH_DONE : PH_ATT_OPEN;
            d.phase = PH_VALUE;
          } else if (t === RESPONSE_VALUE || t === RESPONSE_VALUE_WITH_ATTACHMENTS) {
            d.afterValue = t === RESPONSE_VALUE ? PH_DONE : PH_ATT_OPEN;
            d.phase = PH_VALUE;
          } else if (t === RESPONSE_NULL_VALUE) {
            d.phase = PH_DONE;
          } else if (t === RESPONSE_NULL_VALUE_WITH_ATTACHMENTS) {
            d.phase = PH_ATT_OPEN;
          } else {
            d.responseType = -1;
            this.malformed(d, 'dubbo_bad_response_type');
            return e;
          }
          break;
        }
        case PH_ERROR_MESSAGE: {
          if (p >= e) return p;
          const r = stringEnd(b, p, e, MAX_HEAD_STRING);
          if (r === NEED_MORE) return p;
          if (r === TOO_LONG) {
            d.afterValue = PH_DONE; // a message too long to keep: skipped
            d.phase = PH_VALUE;
            break;
          }
          if (r < 0) {
            this.malformed(d, 'dubbo_hessian_bad_value');
            return e;
          }
          const s = stringAt(b, p, r);
          d.message = s.length > MAX_MESSAGE ? s.slice(0, MAX_MESSAGE) : s;
          d.phase = PH_DONE;
          return e;
        }
        case PH_PREFIX: {
          const need = Math.min(d.bodyLeft, PREFIX_BYTES);
          if (e - p < need && !final) return p;
          this.prefix(d, b, p, Math.min(e, p + PREFIX_BYTES));
          d.phase = PH_SKIP;
          return e;
        }
        default:
          return e;
      }
    }
  }

  /** The leading strings (version, service, service version, method) of a Kryo or JSON body. */
  private prefix(d: Direction, b: Uint8Array, p: number, e: number): void {
    const read = d.serialization === SER_KRYO ? kryoString : jsonLineString;
    for (let i = 0; i < 4; i++) {
      const r = read(b, p, e);
      if (r < 0) break;
      const s = prefixValue;
      if (i === 0) d.version = s;
      else if (i === 1) d.service = s;
      else if (i === 2) d.serviceVersion = s;
      else d.method = s;
      p = r;
    }
    // Only believe them when they look like names (a wrong guess must not name a span).
    if (!DubboSession.nameLike(d.service) || !DubboSession.nameLike(d.method)) {
      d.service = '';
      d.method = '';
      d.serviceVersion = '';
      d.version = '';
    }
  }

  /** A Java identifier path (`com.foo.Bar`, `$invoke`): letters, digits, `. _ $ / -`. */
  private static nameLike(s: string): boolean {
    if (s.length === 0 || s.length > 512) return false;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x5f || c === 0x24 || c === 0x2f || c === 0x2d || c > 0x7f;
      if (!ok) return false;
    }
    return true;
  }

  private attachment(d: Direction, key: string, value: string): void {
    const k = key.toLowerCase();
    d.trace.offer(k, value);
    switch (k) {
      case 'group':
        if (d.group === '') d.group = value;
        return;
      case 'path':
      case 'interface':
        if (d.service === '') d.service = value;
        return;
      case 'dubbo':
        // Responses carry the provider's protocol version here.
        if (d.version === '') d.version = value;
        return;
      default:
        if (d.customTraceId === '' && value !== '' && CUSTOM_TRACE_KEYS.includes(k)) {
          d.customTraceId = value.length > MAX_TRACE_ID ? value.slice(0, MAX_TRACE_ID) : value;
        }
    }
  }

  private finish(d: Direction, toServer: boolean): void {
    if (d.phase !== PH_SKIP && d.phase !== PH_DONE) {
      // The body ended before what it should hold.
      this.ctx.anomaly('dubbo_body_malformed');
      d.incomplete = true;
    }
    if (d.event) {
      this.ctx.anomaly('dubbo_heartbeat'); // heartbeats (and other events) are counted, not calls
      return;
    }
    if (d.request !== toServer) {
      this.ctx.anomaly('dubbo_reverse_call');
      return;
    }
    const ctx = this.ctx;
    const ser = serializationName(d.serialization);
    const attrs: Attributes = { 'rpc.system.name': 'dubbo', 'spanwire.dubbo.serialization': ser, 'spanwire.dubbo.request_id': d.sessionId };
    if (d.version !== '') attrs['spanwire.dubbo.version'] = d.version;
    const afterGap = d.afterGap;
    d.afterGap = false;
    const size = HEADER_LEN + d.bodyLen;
    if (d.request) {
      if (d.service !== '' && d.method !== '') attrs['rpc.method'] = `${d.service}/${d.method}`;
      if (d.serviceVersion !== '') attrs['spanwire.dubbo.service.version'] = d.serviceVersion;
      if (d.group !== '') attrs['spanwire.dubbo.group'] = d.group;
      if (d.parameterTypes !== '') attrs['spanwire.dubbo.parameter_types'] = d.parameterTypes;
      if (d.customTraceId !== '') attrs['spanwire.dubbo.trace_id'] = d.customTraceId;
      const info: DubboInfo = { service: d.service, method: d.method, status: -1, exception: false, exceptionType: '', message: '' };
      ctx.emit({
        type: MSG_REQUEST,
        sessionId: d.sessionId,
        startTs: d.startTs,
        endTs: ctx.lastByteTs,
        size,
        attrs,
        expectsResponse: d.twoWay,
        trace: d.trace.result(),
        afterGap,
        info,
      } satisfies L7Message);
      return;
    }
    attrs['rpc.response.status_code'] = statusName(d.status);
    const exception = d.responseType === RESPONSE_WITH_EXCEPTION || d.responseType === RESPONSE_WITH_EXCEPTION_WITH_ATTACHMENTS;
    const sk = d.skipper;
    const message = exception ? sk.detailMessage : d.message;
    const info: DubboInfo = { service: '', method: '', status: d.status, exception, exceptionType: exception ? sk.firstClass : '', message: message.length > MAX_MESSAGE ? message.slice(0, MAX_MESSAGE) : message };
    ctx.emit({ type: MSG_RESPONSE, sessionId: d.sessionId, startTs: d.startTs, endTs: ctx.lastByteTs, size, attrs, expectsResponse: false, trace: null, afterGap, info } satisfies L7Message);
  }
}

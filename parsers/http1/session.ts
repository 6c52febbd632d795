/**
 * The per-flow state of the HTTP/1 parser: one `Http1Session` sees both directions.
 *
 * Each direction is a small state machine over bytes. Header sections are consumed line by line
 * (a partial line is left unconsumed and offered again; `lineScanned` remembers how much of it was
 * already searched for LF, so a line delivered a byte at a time costs O(n)). Bodies are counted,
 * never buffered. Requests are emitted when their header section ends, so that an early response
 * still pairs, and completed in place (end time, size, body size) when their body ends; responses
 * are emitted when they end. Interim (1xx) responses are not messages.
 */
import { latin1 } from '../../core/l7/bytes.js';
import type { L7Message, ParserContext, ParserSession } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE, SESSION_FIFO } from '../../core/l7/types.js';
import { TraceContextCollector } from '../../core/trace/propagation-impl.js';
import type { H2cUpgrade } from '../http2/session.js';
import { decodeGrpcMessage, GrpcWebBody, grpcStatusName, grpcWebKind, parseGrpcStatus } from '../http2/grpc.js';
import type { Attributes } from '../../core/trace/span.js';
import { FRAMING_CONNECT, FRAMING_HEAD, FRAMING_NONE, framingOf, METHOD_OTHER } from './methods.js';
import type { Http1Options } from './options.js';
import { redactQuery } from './options.js';
import {
  COLON,
  CR,
  classifyHeader,
  findLF,
  HDR_CONTENT_LENGTH,
  HDR_HOST,
  HDR_OTHER,
  HDR_TRANSFER_ENCODING,
  HDR_UPGRADE,
  HDR_CONTENT_TYPE,
  HDR_GRPC_STATUS,
  HDR_USER_AGENT,
  HT,
  hostOnly,
  isMethodChar,
  LF,
  lastCodingIsChunked,
  MATCH_NEED_MORE,
  MATCH_NO,
  MATCH_YES,
  matchRequestLine,
  matchRequestStart,
  matchStatusLine,
  parseChunkSize,
  parseContentLength,
  SP,
  startLine,
  upgradeIsH2c,
} from './scan.js';

/** What `describeSpan` needs, kept in `L7Message.info`. */
export interface Http1Info {
  /**
   * The request's `http.request.method` (a known method, or '_OTHER'). On a response: that of the
   * request it answers when the session knows it (the request was seen), else ''.
   */
  method: string;
  /** Response status code; 0 on a request. */
  statusCode: number;
  /**
   * True when the message was cut short (a gap or the end of the stream inside it, a framing
   * error): its size and end time are lower bounds and it has no body-size attribute.
   */
  incomplete: boolean;
  /**
   * gRPC-Web (grpc/doc/PROTOCOL-WEB.md): `rpc.method` of the call ('' when not gRPC-Web), and the
   * `grpc-status` (-1 when none) and `grpc-message` of the response (headers or trailer frame).
   */
  rpcMethod: string;
  grpcStatus: number;
  grpcMessage: string;
}

function newInfo(method: string, statusCode: number, incomplete: boolean): Http1Info {
  return { method, statusCode, incomplete, rpcMethod: '', grpcStatus: -1, grpcMessage: '' };
}

// Direction states
const ST_IDLE = 0; // between messages, or reading a start line
const ST_HEAD = 1; // header section lines
const ST_BODY = 2; // `remaining` body bytes (Content-Length)
const ST_CHUNK_SIZE = 3; // a chunk-size line
const ST_CHUNK_DATA = 4; // `remaining` chunk bytes
const ST_CHUNK_END = 5; // the CRLF after chunk data
const ST_TRAILERS = 6; // trailer section lines
const ST_UNTIL_CLOSE = 7; // response body delimited by the end of the connection
const ST_RESYNC = 8; // looking for the next start line

/** Chunk-size lines (with extensions) longer than this are malformed. */
const MAX_CHUNK_LINE = 4096;
/** Longest request line the resynchronisation scan accepts. */
const RESYNC_MAX_LINE = 8192;
/** Initial size of the pending-request ring (grows by doubling up to the configured cap). */
const PENDING_INITIAL = 8;

/** Encodes "need more data: keep the bytes from `pos`" as a negative step result. */
function needMore(pos: number): number {
  return -pos - 1;
}

/** Per-direction state. All fields set here (stable shape). */
class Direction {
  state = ST_IDLE;
  /** The first byte of a start line was seen; `startTs` holds its time. */
  started = false;
  startTs = 0;
  /** Capture time of the last byte offered in this direction. */
  lastTs = 0;
  /** Bytes at the start of the current (incomplete) line already searched for LF. */
  lineScanned = 0;
  /** Header or trailer section bytes so far (start line included). */
  headBytes = 0;
  /** Wire bytes of the current message so far. */
  wire = 0;
  /** Body bytes (without chunk framing). */
  body = 0;
  /** Bytes left in the body (ST_BODY) or the chunk (ST_CHUNK_DATA). */
  remaining = 0;
  msg: L7Message | null = null;
  info: Http1Info | null = null;
  /** Request: already handed to the pairing layer. Response: its request was taken from the queue. */
  emitted = false;
  popped = false;
  contentLength = -1;
  badLength = false;
  transferEncoding = false;
  chunked = false;
  upgradeH2c = false;
  /** gRPC-Web body reader (content-type application/grpc-web*), null otherwise. */
  grpcWeb: GrpcWebBody | null = null;
  hostSeen = false;
  userAgentSeen = false;
  /** The header field of the previous line (for obs-fold continuation lines). */
  lastHeader = HDR_OTHER;
  /** Request: framing class and known-method index of its method. */
  framing = FRAMING_NONE;
  methodIndex = -1;
  /** A start line cut before its end: what its first bytes told. */
  partialMethodIndex = -1;
  partialFraming = FRAMING_NONE;
  partialMethodOriginal = '';
  partialStatus = 0;
  partialMinor = 1;
  /** Resync scan: the byte before the scan position, -1 when unknown (right after a gap). */
  prev = -1;
  /** Messages of this direction may have been lost before the next one. */
  lostBefore = false;

  /** Forget the current message (the state goes back to between messages). */
  clearMessage(): void {
    this.state = ST_IDLE;
    this.started = false;
    this.lineScanned = 0;
    this.headBytes = 0;
    this.wire = 0;
    this.body = 0;
    this.remaining = 0;
    this.msg = null;
    this.info = null;
    this.emitted = false;
    this.popped = false;
    this.contentLength = -1;
    this.badLength = false;
    this.transferEncoding = false;
    this.chunked = false;
    this.upgradeH2c = false;
    this.grpcWeb = null;
    this.hostSeen = false;
    this.userAgentSeen = false;
    this.lastHeader = HDR_OTHER;
    this.framing = FRAMING_NONE;
    this.methodIndex = -1;
    this.partialMethodIndex = -1;
    this.partialFraming = FRAMING_NONE;
    this.partialMethodOriginal = '';
    this.partialStatus = 0;
  }
}

/**
 * HTTP/1.x parser state of one flow (RFC 9112 message framing, RFC 9110 semantics). Never throws;
 * memory per flow is bounded (two small direction records, a ring of pending request methods capped
 * by `max_pending_requests`, and the strings of the message being read).
 */
export class Http1Session implements ParserSession {
  private readonly req = new Direction();
  private readonly resp = new Direction();
  private readonly collector = new TraceContextCollector();
  /** The last request handed to the pairing layer (an `Upgrade: h2c` request continues in http2). */
  private lastRequest: L7Message | null = null;
  /** Requests whose final response has not been read: (known-method index + 1) << 2 | framing, and start time. */
  private pendingCodes = new Uint16Array(PENDING_INITIAL);
  private pendingTs = new Float64Array(PENDING_INITIAL);
  private pendingHead = 0;
  private pendingLen = 0;
  /** Set after a 101 or a CONNECT tunnel: the flow is no longer HTTP/1. */
  private done = false;

  constructor(
    private readonly ctx: ParserContext,
    private readonly opts: Http1Options,
  ) {}

  // ---- ParserSession ----------------------------------------------------------------------------

  parse(toServer: boolean, buf: Uint8Array, offset: number, length: number): number {
    if (this.done || length <= 0) return length > 0 ? length : 0;
    const d = toServer ? this.req : this.resp;
    const end = offset + length;
    d.lastTs = this.ctx.lastByteTs;
    let p = offset;
    while (p < end) {
      let r: number;
      switch (d.state) {
        case ST_IDLE:
          if (!d.started) {
            // Empty lines between messages are ignored (RFC 9112 2.2).
            while (p < end && (buf[p] === CR || buf[p] === LF)) p++;
            if (p === end) return length;
            d.started = true;
            d.startTs = p === offset ? this.ctx.firstByteTs : this.ctx.lastByteTs;
          }
          r = toServer ? this.requestLine(d, buf, p, end) : this.statusLine(d, buf, p, end);
          break;
        case ST_HEAD:
          r = this.headerLines(d, toServer, buf, p, end);
          break;
        case ST_BODY:
        case ST_CHUNK_DATA: {
          const n = d.remaining < end - p ? d.remaining : end - p;
          d.remaining -= n;
          d.body += n;
          if (d.grpcWeb !== null) d.grpcWeb.feed(buf, p, p + n);
          d.wire += n;
          r = p + n;
          if (d.remaining === 0) {
            if (d.state === ST_BODY) this.finish(d, toServer, false, this.ctx.lastByteTs);
            else d.state = ST_CHUNK_END;
          }
          break;
        }
        case ST_CHUNK_SIZE:
          r = this.chunkSizeLine(d, toServer, buf, p, end);
          break;
        case ST_CHUNK_END:
          r = this.chunkEnd(d, toServer, buf, p, end);
          break;
        case ST_TRAILERS:
          r = this.trailerLines(d, toServer, buf, p, end);
          break;
        case ST_UNTIL_CLOSE:
          d.body += end - p;
          if (d.grpcWeb !== null) d.grpcWeb.feed(buf, p, end);
          d.wire += end - p;
          r = end;
          break;
        default:
          r = this.resync(d, toServer, buf, p, end);
          break;
      }
      if (r < 0) return -r - 1 - offset;
      p = r;
      if (this.done) return p - offset;
    }
    return length;
  }

  onGap(toServer: boolean, length: number): void {
    if (this.done || !(length > 0)) return; // nothing lost: the stream continues where it was
    const d = toServer ? this.req : this.resp;
    this.ctx.anomaly('http1_gap');
    switch (d.state) {
      case ST_BODY:
        if (length < d.remaining) {
          // Inside a body of known length: the framing survives, just count the missing bytes.
          d.remaining -= length;
          d.body += length;
          d.wire += length;
          this.ctx.anomaly('http1_gap_in_body');
          return;
        }
        // The body ends inside the hole: the message is complete (its last bytes were not seen).
        d.body += d.remaining;
        d.wire += d.remaining;
        this.ctx.anomaly('http1_gap_in_body');
        if (length === d.remaining) {
          d.remaining = 0;
          this.finish(d, toServer, false, d.lastTs);
          return; // the next byte starts the next message: no resync needed
        }
        d.remaining = 0;
        this.finish(d, toServer, false, d.lastTs);
        break;
      case ST_CHUNK_DATA:
        if (length < d.remaining) {
          d.remaining -= length;
          d.body += length;
          d.wire += length;
          this.ctx.anomaly('http1_gap_in_body');
          return;
        }
        this.cut(d, toServer, d.lastTs);
        break;
      case ST_UNTIL_CLOSE:
        d.body += length;
        d.wire += length;
        this.ctx.anomaly('http1_gap_in_body');
        return;
      case ST_TRAILERS:
        // The body was complete; only the trailer section (not exported) was cut.
        this.finish(d, toServer, false, d.lastTs);
        break;
      case ST_RESYNC:
        break;
      default:
        this.cut(d, toServer, d.lastTs);
        break;
    }
    this.enterResync(d, -1);
  }

  onEnd(toServer: boolean): void {
    if (this.done) return;
    const d = toServer ? this.req : this.resp;
    // The dispatcher's clock here is the end of the direction (its FIN, or the flow's last packet).
    const endTs = this.ctx.lastByteTs;
    if (d.state === ST_UNTIL_CLOSE || d.state === ST_TRAILERS) {
      // A body delimited by the end of the connection ends with it.
      this.finish(d, toServer, false, endTs);
    } else if (d.state !== ST_RESYNC) {
      this.cut(d, toServer, endTs);
    }
    d.clearMessage();
    d.prev = -1;
  }

  // ---- start lines ------------------------------------------------------------------------------

  /** Request line at `p` (the message has started). Returns the next position or needMore(). */
  private requestLine(d: Direction, buf: Uint8Array, p: number, end: number): number {
    if (d.lineScanned === 0) {
      // The whole line is here (the common case): validate it in one pass.
      const lf0 = findLF(buf, p, end);
      if (lf0 >= 0) return this.requestLineComplete(d, buf, p, lf0);
      // First look at a partial line: reject what cannot be a request line before waiting for its end.
      const q = matchRequestStart(buf, p, end);
      if (q === MATCH_NO) return this.badStartLine(d, buf, p);
      if (q === MATCH_NEED_MORE) return needMore(p);
      // Remember the method in case the line never completes.
      const me = startLine.methodEnd;
      d.partialMethodIndex = this.opts.methods.find(buf, p, me);
      d.partialFraming = framingOf(buf, p, me);
      d.partialMethodOriginal = d.partialMethodIndex < 0 ? latin1(buf, p, me) : '';
      return this.waitLine(d, buf, p, end);
    }
    const lf = findLF(buf, p + d.lineScanned, end);
    if (lf < 0) return this.waitLine(d, buf, p, end);
    return this.requestLineComplete(d, buf, p, lf);
  }

  private requestLineComplete(d: Direction, buf: Uint8Array, p: number, lf: number): number {
    const cap = this.opts.maxHeaderBytes;
    if (matchRequestLine(buf, p, lf + 1, cap + 1, false) !== MATCH_YES || startLine.lf !== lf) return this.badStartLine(d, buf, p);
    const methodEnd = startLine.methodEnd;
    const targetStart = startLine.targetStart;
    const targetEnd = startLine.targetEnd;
    const minor = startLine.minor;
    const n = lf + 1 - p;
    d.lineScanned = 0;
    d.headBytes = n;
    d.wire = n;
    if (n > cap) return this.tooLarge(d, true, buf, lf + 1);
    const methods = this.opts.methods;
    const idx = methods.find(buf, p, methodEnd);
    const framing = framingOf(buf, p, methodEnd);
    const attrs: Attributes = {};
    let method: string;
    if (idx >= 0) {
      method = methods.names[idx];
      attrs['http.request.method'] = method;
    } else {
      method = METHOD_OTHER;
      attrs['http.request.method'] = METHOD_OTHER;
      attrs['http.request.method_original'] = latin1(buf, p, methodEnd);
    }
    this.targetAttributes(d, attrs, buf, targetStart, targetEnd, framing);
    attrs['network.protocol.name'] = 'http';
    attrs['network.protocol.version'] = minor === 1 ? '1.1' : '1.0';
    d.framing = framing;
    d.methodIndex = idx;
    d.info = newInfo(method, 0, false);
    d.msg = this.message(MSG_REQUEST, d, attrs, d.info);
    this.collector.reset();
    d.state = ST_HEAD;
    return lf + 1;
  }

  /**
   * url.* and server.address from the request-target (RFC 9112 3.2): origin-form "/p?q",
   * absolute-form "http://host/p?q" (its authority wins over Host), authority-form for CONNECT,
   * asterisk-form "*".
   */
  private targetAttributes(d: Direction, attrs: Attributes, buf: Uint8Array, ts: number, te: number, framing: number): void {
    if (framing === FRAMING_CONNECT) {
      const host = hostOnly(latin1(buf, ts, te));
      if (host !== '') attrs['server.address'] = host;
      attrs['url.scheme'] = 'http';
      d.hostSeen = true;
      return;
    }
    let ps = ts;
    let scheme = 'http';
    const c0 = buf[ts];
    if (c0 !== 0x2f && c0 !== 0x2a) {
      const se = schemeEnd(buf, ts, te);
      if (se > 0) {
        scheme = latin1(buf, ts, se - 3).toLowerCase();
        let hs = se;
        while (hs < te && buf[hs] !== 0x2f && buf[hs] !== 0x3f && buf[hs] !== 0x23) hs++;
        const host = hostOnly(latin1(buf, se, hs));
        if (host !== '') {
          attrs['server.address'] = host;
          d.hostSeen = true;
        }
        ps = hs;
      }
    }
    let q = ps;
    while (q < te && buf[q] !== 0x3f && buf[q] !== 0x23) q++;
    attrs['url.path'] = q > ps ? latin1(buf, ps, q) : '/';
    if (q < te && buf[q] === 0x3f) {
      let qe = q + 1;
      while (qe < te && buf[qe] !== 0x23) qe++;
      attrs['url.query'] = redactQuery(latin1(buf, q + 1, qe), this.opts.sensitiveQueryParameters);
    }
    attrs['url.scheme'] = scheme;
  }

  /** Status line at `p`. Returns the next position or needMore(). */
  private statusLine(d: Direction, buf: Uint8Array, p: number, end: number): number {
    if (d.lineScanned === 0) {
      const q = matchStatusLine(buf, p, end);
      if (q === MATCH_NO) return this.badStartLine(d, buf, p);
      if (q === MATCH_NEED_MORE) return needMore(p);
      d.partialStatus = startLine.status;
      d.partialMinor = startLine.minor;
    }
    const lf = findLF(buf, p + d.lineScanned, end);
    if (lf < 0) return this.waitLine(d, buf, p, end);
    const n = lf + 1 - p;
    d.lineScanned = 0;
    d.headBytes = n;
    d.wire = n;
    if (n > this.opts.maxHeaderBytes) return this.tooLarge(d, false, buf, lf + 1);
    d.info = newInfo('', d.partialStatus, false);
    d.msg = this.message(MSG_RESPONSE, d, responseAttributes(d.partialStatus, d.partialMinor), d.info);
    d.state = ST_HEAD;
    return lf + 1;
  }

  /** A line not complete yet: remember how far it was searched, enforce the cap, keep its bytes. */
  private waitLine(d: Direction, buf: Uint8Array, p: number, end: number): number {
    d.lineScanned = end - p;
    if (d.headBytes + d.lineScanned > this.opts.maxHeaderBytes) return this.tooLarge(d, d === this.req, buf, end);
    return needMore(p);
  }

  private badStartLine(d: Direction, buf: Uint8Array, p: number): number {
    this.ctx.anomaly('http1_bad_start_line');
    d.clearMessage();
    this.enterResync(d, buf[p]);
    return p + 1;
  }

  // ---- header sections ----------------------------------------------------------------------------

  private headerLines(d: Direction, toServer: boolean, buf: Uint8Array, p: number, end: number): number {
    const cap = this.opts.maxHeaderBytes;
    for (;;) {
      const lf = findLF(buf, p + d.lineScanned, end);
      if (lf < 0) return this.waitLine(d, buf, p, end);
      const n = lf + 1 - p;
      d.lineScanned = 0;
      d.headBytes += n;
      d.wire += n;
      if (d.headBytes > cap) return this.tooLarge(d, toServer, buf, lf + 1);
      let le = lf;
      if (le > p && buf[le - 1] === CR) le--;
      if (le === p) return toServer ? this.requestHeadEnd(d, buf, lf + 1) : this.responseHeadEnd(d, buf, lf + 1);
      if (buf[p] === SP || buf[p] === HT) this.foldedLine(d, toServer, buf, p, le);
      else this.headerLine(d, toServer, buf, p, le);
      p = lf + 1;
    }
  }

  /** One field line `name: value` in buf[p..le). */
  private headerLine(d: Direction, toServer: boolean, buf: Uint8Array, p: number, le: number): void {
    let c = p;
    while (c < le) {
      const b = buf[c];
      if (b === COLON) break;
      if (b === SP || b === HT) {
        c = le; // whitespace inside or before the name: malformed (RFC 9112 5.1)
        break;
      }
      c++;
    }
    if (c === le || c === p) {
      this.ctx.anomaly('http1_bad_header');
      d.lastHeader = HDR_OTHER;
      return;
    }
    const id = classifyHeader(buf, p, c - p);
    d.lastHeader = id;
    if (id === HDR_OTHER) {
      // Trace-context fields (requests only); the collector trims and decodes only its own.
      if (toServer) this.collector.offerBytes(buf, p, c, c + 1, le);
      return;
    }
    let vs = c + 1;
    let ve = le;
    while (vs < ve && (buf[vs] === SP || buf[vs] === HT)) vs++;
    while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HT)) ve--;
    switch (id) {
      case HDR_CONTENT_LENGTH: {
        const v = parseContentLength(buf, vs, ve);
        if (v < 0 || (d.contentLength >= 0 && v !== d.contentLength)) d.badLength = true;
        else d.contentLength = v;
        break;
      }
      case HDR_TRANSFER_ENCODING:
        if (ve > vs) {
          d.transferEncoding = true;
          d.chunked = lastCodingIsChunked(buf, vs, ve);
        }
        break;
      case HDR_HOST:
        if (toServer && !d.hostSeen) {
          d.hostSeen = true;
          const host = hostOnly(latin1(buf, vs, ve));
          if (host !== '') d.msg!.attrs['server.address'] = host;
        }
        break;
      case HDR_USER_AGENT:
        if (toServer && !d.userAgentSeen) {
          d.userAgentSeen = true;
          d.msg!.attrs['user_agent.original'] = latin1(buf, vs, ve);
        }
        break;
      case HDR_UPGRADE:
        if (!toServer) d.upgradeH2c = upgradeIsH2c(buf, vs, ve);
        break;
      case HDR_CONTENT_TYPE:
        if (d.grpcWeb === null && ve - vs >= 20 && (buf[vs + 12] | 0x20) === 0x67) this.grpcWebContentType(d, toServer, latin1(buf, vs, ve));
        break;
      case HDR_GRPC_STATUS:
        // A trailers-only gRPC-Web response carries the status in its headers.
        if (!toServer && d.info!.grpcStatus < 0) d.info!.grpcStatus = parseGrpcStatus(latin1(buf, vs, ve));
        break;
      default:
        // HDR_GRPC_MESSAGE
        if (!toServer && d.info!.grpcMessage === '') d.info!.grpcMessage = decodeGrpcMessage(latin1(buf, vs, ve));
    }
  }

  /** `Content-Type: application/grpc-web...`: the message is a gRPC-Web call; its body is read for messages and trailers. */
  private grpcWebContentType(d: Direction, toServer: boolean, ct: string): void {
    const kind = grpcWebKind(ct.toLowerCase());
    if (kind === 0) return;
    d.grpcWeb = new GrpcWebBody(kind === 2);
    if (!toServer) return;
    const a = d.msg!.attrs;
    a['rpc.system.name'] = 'grpc';
    a['spanwire.grpc.web'] = true;
    const path = a['url.path'];
    if (typeof path === 'string' && path.length > 1 && path.charCodeAt(0) === 0x2f) {
      d.info!.rpcMethod = path.slice(1);
      a['rpc.method'] = d.info!.rpcMethod;
    }
  }

  /** obs-fold (RFC 9112 5.2): a line starting with whitespace continues the previous field value. */
  private foldedLine(d: Direction, toServer: boolean, buf: Uint8Array, p: number, le: number): void {
    this.ctx.anomaly('http1_obs_fold');
    let vs = p;
    let ve = le;
    while (vs < ve && (buf[vs] === SP || buf[vs] === HT)) vs++;
    while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HT)) ve--;
    if (ve === vs) return;
    if (d.lastHeader === HDR_USER_AGENT && toServer && d.msg !== null) {
      const ua = d.msg.attrs['user_agent.original'];
      if (typeof ua === 'string') d.msg.attrs['user_agent.original'] = `${ua} ${latin1(buf, vs, ve)}`;
    } else if (d.lastHeader === HDR_TRANSFER_ENCODING) {
      d.transferEncoding = true;
      d.chunked = lastCodingIsChunked(buf, vs, ve);
    } else if (d.lastHeader === HDR_CONTENT_LENGTH) {
      d.badLength = true;
    }
  }

  private requestHeadEnd(d: Direction, buf: Uint8Array, p: number): number {
    const msg = d.msg!;
    if (this.collector.any) msg.trace = this.collector.result();
    msg.size = d.wire;
    msg.endTs = this.ctx.lastByteTs;
    // To the pairing layer now: a response may come before the body ends (413, 417, early errors).
    this.emitRequest(d);
    if (d.transferEncoding) {
      if (d.contentLength >= 0 || d.badLength) this.ctx.anomaly('http1_te_and_cl');
      if (d.chunked) {
        d.state = ST_CHUNK_SIZE;
        return p;
      }
      // A request whose last transfer coding is not chunked has no knowable length (RFC 9112 6.3).
      return this.framingError(d, true, p, 'http1_bad_transfer_encoding');
    }
    if (d.badLength) return this.framingError(d, true, p, 'http1_bad_content_length');
    if (d.contentLength > 0) {
      d.state = ST_BODY;
      d.remaining = d.contentLength;
      return p;
    }
    this.finish(d, true, false, this.ctx.lastByteTs);
    return p;
  }

  private responseHeadEnd(d: Direction, buf: Uint8Array, p: number): number {
    const status = d.info!.statusCode;
    if (status < 200 && status !== 101) {
      // Interim response (100 Continue, 102, 103): not the final one, no body.
      const lost = d.lostBefore;
      d.clearMessage();
      d.lostBefore = lost;
      return p;
    }
    const framing = this.takeRequest(d);
    d.msg!.size = d.wire;
    if (status === 101) {
      this.done = true;
      const req = this.lastRequest;
      const handoff: H2cUpgrade = {
        request: req !== null && req.startTs <= d.startTs ? req : null,
        method: d.info!.method,
      };
      if (d.upgradeH2c && this.ctx.switchProtocol('http2', handoff)) {
        // The upgraded request is HTTP/2's stream 1: its response comes as HTTP/2 and pairs with it
        // there; the 101 is not the response.
        d.clearMessage();
        return p;
      }
      this.finish(d, false, false, this.ctx.lastByteTs);
      this.ctx.stop('upgrade');
      return p;
    }
    if (framing === FRAMING_CONNECT && status < 300) {
      this.finish(d, false, false, this.ctx.lastByteTs);
      this.done = true;
      this.ctx.stop('tunnel');
      return p;
    }
    if (framing === FRAMING_HEAD || status === 204 || status === 304) {
      this.finish(d, false, false, this.ctx.lastByteTs);
      return p;
    }
    if (d.transferEncoding) {
      if (d.contentLength >= 0 || d.badLength) this.ctx.anomaly('http1_te_and_cl');
      d.state = d.chunked ? ST_CHUNK_SIZE : ST_UNTIL_CLOSE;
      return p;
    }
    if (d.badLength) {
      this.ctx.anomaly('http1_bad_content_length');
      d.state = ST_UNTIL_CLOSE;
      return p;
    }
    if (d.contentLength > 0) {
      d.state = ST_BODY;
      d.remaining = d.contentLength;
      return p;
    }
    if (d.contentLength === 0) {
      this.finish(d, false, false, this.ctx.lastByteTs);
      return p;
    }
    d.state = ST_UNTIL_CLOSE;
    return p;
  }

  // ---- chunked bodies ---------------------------------------------------------------------------

  private chunkSizeLine(d: Direction, toServer: boolean, buf: Uint8Array, p: number, end: number): number {
    const lf = findLF(buf, p + d.lineScanned, end);
    if (lf < 0) {
      d.lineScanned = end - p;
      if (d.lineScanned > MAX_CHUNK_LINE) return this.framingError(d, toServer, p, 'http1_bad_chunk');
      return needMore(p);
    }
    d.lineScanned = 0;
    let le = lf;
    if (le > p && buf[le - 1] === CR) le--;
    const size = le - p > MAX_CHUNK_LINE ? -1 : parseChunkSize(buf, p, le);
    if (size < 0) return this.framingError(d, toServer, p, 'http1_bad_chunk');
    d.wire += lf + 1 - p;
    if (size === 0) {
      d.state = ST_TRAILERS;
      d.headBytes = 0;
    } else {
      d.state = ST_CHUNK_DATA;
      d.remaining = size;
    }
    return lf + 1;
  }

  private chunkEnd(d: Direction, toServer: boolean, buf: Uint8Array, p: number, end: number): number {
    const c = buf[p];
    if (c === LF) {
      d.wire += 1;
      d.state = ST_CHUNK_SIZE;
      return p + 1;
    }
    if (c === CR) {
      if (p + 1 === end) return needMore(p);
      if (buf[p + 1] === LF) {
        d.wire += 2;
        d.state = ST_CHUNK_SIZE;
        return p + 2;
      }
    }
    return this.framingError(d, toServer, p, 'http1_bad_chunk');
  }

  private trailerLines(d: Direction, toServer: boolean, buf: Uint8Array, p: number, end: number): number {
    const cap = this.opts.maxHeaderBytes;
    for (;;) {
      const lf = findLF(buf, p + d.lineScanned, end);
      if (lf < 0) {
        d.lineScanned = end - p;
        if (d.headBytes + d.lineScanned > cap) {
          this.ctx.anomaly('http1_header_too_large');
          this.finish(d, toServer, false, this.ctx.lastByteTs);
          this.enterResync(d, buf[end - 1]);
          return end;
        }
        return needMore(p);
      }
      const n = lf + 1 - p;
      d.lineScanned = 0;
      d.headBytes += n;
      d.wire += n;
      const empty = lf === p || (lf === p + 1 && buf[p] === CR);
      p = lf + 1;
      if (empty) {
        this.finish(d, toServer, false, this.ctx.lastByteTs);
        return p;
      }
      if (d.headBytes > cap) {
        this.ctx.anomaly('http1_header_too_large');
        this.finish(d, toServer, false, this.ctx.lastByteTs);
        this.enterResync(d, LF);
        return p;
      }
    }
  }

  // ---- errors, gaps, resynchronisation --------------------------------------------------------------

  /** Header section over the cap: report what is known of the message, resynchronise after `pos`. */
  private tooLarge(d: Direction, toServer: boolean, buf: Uint8Array, pos: number): number {
    this.ctx.anomaly('http1_header_too_large');
    this.cut(d, toServer, this.ctx.lastByteTs);
    this.enterResync(d, buf[pos - 1]);
    return pos;
  }

  /** The framing of the current message is broken at `pos`: report it cut, resynchronise from `pos`. */
  private framingError(d: Direction, toServer: boolean, pos: number, anomaly: string): number {
    this.ctx.anomaly(anomaly);
    this.cut(d, toServer, this.ctx.lastByteTs);
    // `pos` is where a line should have started: a candidate for the next start line.
    this.enterResync(d, -1);
    return pos;
  }

  private enterResync(d: Direction, prev: number): void {
    d.clearMessage();
    d.state = ST_RESYNC;
    d.prev = prev;
    d.lostBefore = true;
  }

  /**
   * Scan for the next plausible start line: for requests a whole `METHOD SP target SP HTTP/1.x` line
   * (upper-case method) whose method does not continue a previous one; for responses `HTTP/1.x NNN`. Returns its
   * position (state back to IDLE), `end` when none was found, or needMore() to keep a candidate
   * that may complete with the next bytes.
   */
  private resync(d: Direction, toServer: boolean, buf: Uint8Array, p: number, end: number): number {
    let prev = d.prev;
    for (let i = p; i < end; i++) {
      const c = buf[i];
      if (toServer) {
        if (c >= 0x41 && c <= 0x5a && (prev < 0 || !isMethodChar(prev))) {
          const m = matchRequestLine(buf, i, end, RESYNC_MAX_LINE, true);
          if (m === MATCH_YES) {
            let s = i;
            const me = startLine.methodEnd;
            if (this.opts.methods.find(buf, i, me) < 0) {
              // "...xyzGET / HTTP/1.1": the method glued to the tail of a lost body.
              const k = this.opts.methods.findSuffix(buf, i, me);
              if (k >= 0) s = me - this.opts.methods.names[k].length;
            }
            d.state = ST_IDLE;
            d.prev = -1;
            return s;
          }
          if (m === MATCH_NEED_MORE) {
            d.prev = prev;
            return needMore(i);
          }
        }
      } else if (c === 0x48) {
        const m = matchStatusLine(buf, i, end);
        if (m === MATCH_YES) {
          d.state = ST_IDLE;
          d.prev = -1;
          return i;
        }
        if (m === MATCH_NEED_MORE) {
          d.prev = prev;
          return needMore(i);
        }
      }
      prev = c;
    }
    d.prev = prev;
    return end;
  }

  /**
   * The current message ends before its framing said: report it as incomplete if anything of it is
   * known (its start line, or the first bytes of it), then forget it.
   */
  private cut(d: Direction, toServer: boolean, endTs: number): void {
    if (d.msg === null && d.state === ST_IDLE && d.started && d.lineScanned > 0) {
      // Only the beginning of the start line was seen.
      if (toServer) {
        const idx = d.partialMethodIndex;
        const attrs: Attributes = {};
        const method = idx >= 0 ? this.opts.methods.names[idx] : METHOD_OTHER;
        attrs['http.request.method'] = method;
        if (idx < 0) attrs['http.request.method_original'] = d.partialMethodOriginal;
        attrs['network.protocol.name'] = 'http';
        d.framing = d.partialFraming;
        d.methodIndex = idx;
        d.info = newInfo(method, 0, true);
        d.msg = this.message(MSG_REQUEST, d, attrs, d.info);
      } else {
        d.info = newInfo('', d.partialStatus, true);
        d.msg = this.message(MSG_RESPONSE, d, responseAttributes(d.partialStatus, d.partialMinor), d.info);
      }
      d.wire = d.lineScanned;
    }
    const status = d.info !== null ? d.info.statusCode : 0;
    if (d.msg !== null && !(status >= 100 && status < 200 && status !== 101)) {
      this.ctx.anomaly('http1_incomplete_message');
      this.finish(d, toServer, true, endTs);
    } else {
      // Nothing known, or an interim response (never a message, even whole).
      d.clearMessage();
    }
  }

  // ---- messages ---------------------------------------------------------------------------------

  private message(type: number, d: Direction, attrs: Attributes, info: Http1Info): L7Message {
    return {
      type,
      sessionId: SESSION_FIFO,
      startTs: d.startTs,
      endTs: d.startTs,
      size: 0,
      attrs,
      expectsResponse: type === MSG_REQUEST,
      trace: null,
      afterGap: false,
      info,
    };
  }

  private emitRequest(d: Direction): void {
    const msg = d.msg!;
    if (d.lostBefore) {
      msg.afterGap = true;
      d.lostBefore = false;
    }
    this.pushPending(d.framing, d.methodIndex, d.startTs);
    d.emitted = true;
    this.lastRequest = msg;
    this.ctx.emit(msg);
  }

  /**
   * The current message is over: fill in its end time, size and body size (unless incomplete) and
   * hand it over (responses; requests were handed over at the end of their header section, or now
   * when they never got that far). The direction is then between messages.
   */
  private finish(d: Direction, toServer: boolean, incomplete: boolean, endTs: number): void {
    const msg = d.msg;
    if (msg !== null) {
      msg.endTs = endTs < msg.startTs ? msg.startTs : endTs;
      msg.size = d.wire;
      if (incomplete) d.info!.incomplete = true;
      else msg.attrs[toServer ? 'http.request.body.size' : 'http.response.body.size'] = d.body;
      if (d.grpcWeb !== null) this.grpcWebEnd(d, toServer, msg, incomplete);
      if (toServer) {
        if (!d.emitted) this.emitRequest(d);
      } else {
        if (!d.popped) this.takeRequest(d);
        if (d.lostBefore) {
          msg.afterGap = true;
          d.lostBefore = false;
        }
        this.ctx.emit(msg);
      }
    }
    d.clearMessage();
  }

  private grpcWebEnd(d: Direction, toServer: boolean, msg: L7Message, incomplete: boolean): void {
    const g = d.grpcWeb!;
    const info = d.info!;
    if (!g.lost && !incomplete) msg.attrs[toServer ? 'spanwire.grpc.request.messages' : 'spanwire.grpc.response.messages'] = g.count;
    if (toServer) return;
    if (info.grpcStatus < 0 && g.status >= 0) {
      info.grpcStatus = g.status;
      info.grpcMessage = g.message;
    }
    msg.attrs['rpc.system.name'] = 'grpc';
    if (info.grpcStatus >= 0) msg.attrs['rpc.response.status_code'] = grpcStatusName(info.grpcStatus);
  }

  // ---- requests awaiting their response -------------------------------------------------------------

  private pushPending(framing: number, methodIndex: number, startTs: number): void {
    const max = this.opts.maxPendingRequests;
    if (this.pendingLen >= max) {
      this.ctx.anomaly('http1_too_many_pending_requests');
      return;
    }
    let cap = this.pendingCodes.length;
    if (this.pendingLen === cap) {
      const ncap = cap * 2 < max ? cap * 2 : max;
      const codes = new Uint16Array(ncap);
      const ts = new Float64Array(ncap);
      for (let i = 0; i < this.pendingLen; i++) {
        const k = (this.pendingHead + i) % cap;
        codes[i] = this.pendingCodes[k];
        ts[i] = this.pendingTs[k];
      }
      this.pendingCodes = codes;
      this.pendingTs = ts;
      this.pendingHead = 0;
      cap = ncap;
    }
    const k = (this.pendingHead + this.pendingLen) % cap;
    this.pendingCodes[k] = ((methodIndex + 1) << 2) | framing;
    this.pendingTs[k] = startTs;
    this.pendingLen++;
  }

  private dropPending(): void {
    this.pendingHead = (this.pendingHead + 1) % this.pendingCodes.length;
    this.pendingLen--;
  }

  /**
   * The response of direction `d` takes the request it answers from the queue (same rules as the
   * pairing layer: after a gap it answers the latest request that started before it; it never
   * answers a request that started after it). Sets `info.method`; returns the request's framing.
   */
  private takeRequest(d: Direction): number {
    d.popped = true;
    const ts = d.startTs;
    if (d.lostBefore) {
      let last = -1;
      for (let i = 0; i < this.pendingLen; i++) {
        if (this.pendingTs[(this.pendingHead + i) % this.pendingCodes.length] <= ts) last = i;
      }
      for (let i = 0; i < last; i++) this.dropPending();
    }
    if (this.pendingLen === 0 || this.pendingTs[this.pendingHead] > ts) return FRAMING_NONE;
    const code = this.pendingCodes[this.pendingHead];
    this.dropPending();
    const idx = (code >> 2) - 1;
    d.info!.method = idx >= 0 ? this.opts.methods.names[idx] : METHOD_OTHER;
    return code & 3;
  }
}

function responseAttributes(status: number, minor: number): Attributes {
  return {
    'http.response.status_code': status,
    'network.protocol.name': 'http',
    'network.protocol.version': minor === 1 ? '1.1' : '1.0',
  };
}

/** End of "scheme://" in buf[start..end) (the index after "//"), or -1. */
function schemeEnd(buf: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end && i - start <= 32; i++) {
    const c = buf[i];
    if (c === COLON) return i > start && i + 2 < end && buf[i + 1] === 0x2f && buf[i + 2] === 0x2f ? i + 3 : -1;
    const alpha = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
    if (!(alpha || (i > start && ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e)))) return -1;
  }
  return -1;
}

/**
 * The per-flow HTTP/2 state machine: frames of both directions, one HPACK decoder per direction,
 * a bounded table of open streams, one request and one response message per stream.
 */
import type { Attributes } from '../../core/trace/span.js';
import type { L7Message, ParserContext, ParserSession } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE, SESSION_FIFO } from '../../core/l7/types.js';
import { TraceContextCollector } from '../../core/trace/propagation-impl.js';
import { hostOnly } from '../http1/scan.js';
import { METHOD_OTHER } from '../http1/methods.js';
import { redactQuery } from '../http1/options.js';
import {
  DEFAULT_MAX_FRAME_SIZE,
  errorCodeName,
  F_ACK,
  F_END_HEADERS,
  F_END_STREAM,
  F_PADDED,
  F_PRIORITY,
  FRAME_HEADER_LEN,
  MAX_MAX_FRAME_SIZE,
  plausibleFrameHeader,
  PREFACE,
  S_HEADER_TABLE_SIZE,
  S_MAX_FRAME_SIZE,
  streamIdAt,
  T_CONTINUATION,
  T_DATA,
  T_GOAWAY,
  T_HEADERS,
  T_PUSH_PROMISE,
  T_RST_STREAM,
  T_SETTINGS,
  u24,
} from './frames.js';
import { u32be as u32 } from '../../core/l7/bytes.js';
import { decodeGrpcMessage, GrpcMessageCounter, grpcStatusName as grpcName, isGrpcContentType, parseGrpcStatus, parseGrpcTimeoutMs } from './grpc.js';
import type { HeaderSink } from './hpack.js';
import { HPACK_OK, HpackDecoder } from './hpack.js';
import type { Http2Options } from './options.js';

/** What `describeSpan` needs, kept in `L7Message.info` (requests and responses of a stream). */
export interface Http2Info {
  /** `http.request.method` of the stream's request (a known method or `_OTHER`), '' when unknown. */
  method: string;
  /** Final `:status`, 0 when none was seen. */
  statusCode: number;
  /** The call is gRPC (request `content-type: application/grpc...`). */
  grpc: boolean;
  /** `rpc.method` (`pkg.Service/Method`), '' when not gRPC or unknown. */
  rpcMethod: string;
  /** `grpc-status`, -1 when none was seen. */
  grpcStatus: number;
  /** `grpc-message`, percent-decoded, '' when none. */
  grpcMessage: string;
  /** RST_STREAM error code that ended the stream, -1 when none. */
  rstCode: number;
  /** GOAWAY error code that ended the stream, -1 when none. */
  goawayCode: number;
  /** The message was cut short (lost bytes, the connection ended inside it). */
  incomplete: boolean;
}

/**
 * What the HTTP/1 parser hands over with `switchProtocol('http2', ...)` after `101 Switching
 * Protocols` to `Upgrade: h2c` (RFC 9113 3.2, RFC 7540 3.2): the upgraded request is stream 1, and
 * its response comes as HTTP/2 on stream 1. The request was already handed to the pairing layer
 * (in order, SESSION_FIFO); the HTTP/2 response of stream 1 pairs with it the same way.
 */
export interface H2cUpgrade {
  /** The upgraded request's message (already emitted), or null when it was not seen. */
  request: L7Message | null;
  /** Its `http.request.method`. */
  method: string;
}

// Direction modes
const M_PREFACE = 0; // client only: the connection preface may come first
const M_FRAMES = 1; // at a frame header
const M_DATA = 2; // inside a DATA payload (streamed, never buffered)
const M_SKIP = 3; // inside a payload too large to buffer, or of a stream not tracked
const M_RESYNC = 4; // bytes were lost: looking for a frame boundary

/** Largest non-DATA frame payload held whole (below the dispatcher's carry cap). */
const MAX_BUFFERED_FRAME = 128 << 10;
/** Largest header block assembled from HEADERS/PUSH_PROMISE + CONTINUATION frames. */
const MAX_HEADER_BLOCK = 256 << 10;
/** Strings longer than this are not kept as attribute values. */
const MAX_VALUE = 8192;

function infoOf(method: string): Http2Info {
  return { method, statusCode: 0, grpc: false, rpcMethod: '', grpcStatus: -1, grpcMessage: '', rstCode: -1, goawayCode: -1, incomplete: false };
}

/** One stream. All fields set in the constructor (stable shape). */
class Stream {
  /** The request message (emitted when its header block ends), null when not seen. */
  req: L7Message | null = null;
  reqInfo: Http2Info | null = null;
  /** The response message (emitted when the stream ends), null until its first HEADERS. */
  resp: L7Message | null = null;
  respInfo: Http2Info | null = null;
  /** The response pairs in order with a request handed over by HTTP/1 (h2c upgrade). */
  upgraded = false;
  clientEnded = false;
  serverEnded = false;
  reqBody = 0;
  respBody = 0;
  reqWire = 0;
  respWire = 0;
  reqStartTs = 0;
  respStartTs = 0;
  /** Bytes of this stream were lost (body sizes are lower bounds). */
  lostReq = false;
  lostResp = false;
  grpcReq: GrpcMessageCounter | null = null;
  grpcResp: GrpcMessageCounter | null = null;
  constructor(readonly id: number) {}
}

/** The fields of one header block the session reads; reused (reset per block). */
class BlockFields implements HeaderSink {
  method = '';
  path = '';
  scheme = '';
  authority = '';
  status = '';
  contentType = '';
  userAgent = '';
  grpcStatus = '';
  grpcMessage = '';
  grpcTimeout = '';
  host = '';
  /** Fields that referred to unknown dynamic-table entries. */
  unknown = 0;
  /** Whether to offer fields to the trace collector (request blocks). */
  collect = false;
  readonly trace = new TraceContextCollector();

  reset(collect: boolean): void {
    this.method = '';
    this.path = '';
    this.scheme = '';
    this.authority = '';
    this.status = '';
    this.contentType = '';
    this.userAgent = '';
    this.grpcStatus = '';
    this.grpcMessage = '';
    this.grpcTimeout = '';
    this.host = '';
    this.unknown = 0;
    this.collect = collect;
    this.trace.reset();
  }

  onHeader(name: string, value: string): void {
    if (name.charCodeAt(0) === 0x3a) {
      // Pseudo-header fields: the first of each counts.
      switch (name) {
        case ':method':
          if (this.method === '') this.method = value;
          return;
        case ':path':
          if (this.path === '') this.path = value;
          return;
        case ':scheme':
          if (this.scheme === '') this.scheme = value;
          return;
        case ':authority':
          if (this.authority === '') this.authority = value;
          return;
        case ':status':
          if (this.status === '') this.status = value;
          return;
      }
      return;
    }
    switch (name) {
      case 'content-type':
        if (this.contentType === '') this.contentType = value;
        return;
      case 'user-agent':
        if (this.userAgent === '') this.userAgent = value;
        return;
      case 'grpc-status':
        if (this.grpcStatus === '') this.grpcStatus = value;
        return;
      case 'grpc-message':
        if (this.grpcMessage === '') this.grpcMessage = value;
        return;
      case 'grpc-timeout':
        if (this.grpcTimeout === '') this.grpcTimeout = value;
        return;
      case 'host':
        if (this.host === '') this.host = value;
        return;
    }
    if (this.collect) this.trace.offer(name, value);
  }

  onUnknown(): void {
    this.unknown++;
  }
}

/** Per-direction state. All fields set here (stable shape). */
class Direction {
  mode = M_FRAMES;
  /** Preface bytes matched so far (client direction, M_PREFACE). */
  prefaceSeen = 0;
  /** Payload bytes left in the current DATA or skipped frame. */
  remaining = 0;
  /** DATA: the pad-length byte is still to come. */
  padPending = false;
  /** DATA: trailing padding bytes at the end of `remaining`. */
  padLeft = 0;
  /** DATA: END_STREAM flag of the current frame. */
  endStream = false;
  /** DATA: the stream of the current frame, null when not tracked. */
  stream: Stream | null = null;
  /** Largest frame payload the peer allows this direction (SETTINGS_MAX_FRAME_SIZE). */
  maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  /** Header block being assembled (HEADERS/PUSH_PROMISE without END_HEADERS). */
  block = new Uint8Array(0);
  blockLen = 0;
  /** Stream the block belongs to; 0 when no block is open. */
  blockStream = 0;
  blockType = 0;
  blockEndStream = false;
  blockPromised = 0;
  blockStartTs = 0;
  /** Wire bytes of the frames of the open block. */
  blockWire = 0;
  /** Bytes searched in M_RESYNC without finding a boundary. */
  resyncScanned = 0;
  readonly fields = new BlockFields();
  /** SETTINGS_HEADER_TABLE_SIZE the peer announced: the bound of this direction's encoder. */
  tableMax = 4096;
  /** A header block of this direction was decoded. */
  blocksSeen = false;

  constructor(public hpack: HpackDecoder) {}
}

export class Http2Session implements ParserSession {
  private readonly dirs: [Direction, Direction];
  private readonly streams = new Map<number, Stream>();
  /** GOAWAY error code seen, applied to streams the end of the connection cuts; -1 when none. */
  private goawayCode = -1;
  /** Highest client stream id seen (new client streams must be higher). */
  private lastClientStream = 0;

  constructor(
    private readonly ctx: ParserContext,
    private readonly opts: Http2Options,
    handoff: H2cUpgrade | null,
  ) {
    // The dynamic tables are known from the connection's start: the preface (see M_PREFACE), or the
    // first frames after an h2c upgrade. Otherwise the capture started mid-connection.
    const known = handoff !== null;
    this.dirs = [new Direction(new HpackDecoder(4096, known)), new Direction(new HpackDecoder(4096, known))];
    // The client may send the preface first; without it (mid-connection capture) frames start at once.
    this.dirs[0].mode = M_PREFACE;
    if (handoff !== null) {
      const s = new Stream(1);
      s.upgraded = true;
      s.clientEnded = true;
      s.req = handoff.request;
      if (handoff.request !== null) {
        const info = infoOf(handoff.method);
        handoff.request.info = info;
        s.reqInfo = info;
        handoff.request.attrs['spanwire.http2.stream_id'] = 1;
        // The exchange is HTTP/2's stream 1 (RFC 9113 3.2): its response comes as HTTP/2.
        handoff.request.attrs['network.protocol.version'] = '2';
        s.reqStartTs = handoff.request.startTs;
      }
      this.streams.set(1, s);
      this.lastClientStream = 1;
    }
  }

  parse(toServer: boolean, buf: Uint8Array, offset: number, length: number): number {
    const d = this.dirs[toServer ? 0 : 1];
    const end = offset + length;
    let p = offset;
    while (p < end) {
      switch (d.mode) {
        case M_PREFACE: {
          while (p < end && d.prefaceSeen < PREFACE.length && buf[p] === PREFACE[d.prefaceSeen]) {
            p++;
            d.prefaceSeen++;
          }
          if (d.prefaceSeen === PREFACE.length) {
            d.mode = M_FRAMES;
            this.connectionStart();
          } else if (p < end) {
            // Not the preface: frames from the first byte (a capture that started mid-connection).
            if (d.prefaceSeen > 0) {
              this.ctx.anomaly('http2_bad_preface');
              this.enterResync(d);
            } else {
              d.mode = M_FRAMES;
            }
          }
          continue;
        }
        case M_FRAMES: {
          if (end - p < FRAME_HEADER_LEN) return p - offset;
          const len = u24(buf, p);
          const type = buf[p + 3];
          if (len > d.maxFrameSize && len > DEFAULT_MAX_FRAME_SIZE) {
            this.ctx.anomaly('http2_frame_too_large');
            this.enterResync(d);
            continue;
          }
          if (type === T_DATA) {
            this.startData(d, toServer, buf, p, len);
            p += FRAME_HEADER_LEN;
            continue;
          }
          if (len > MAX_BUFFERED_FRAME) {
            this.ctx.anomaly('http2_frame_not_buffered');
            if (type === T_HEADERS || type === T_PUSH_PROMISE || type === T_CONTINUATION) this.loseHeaders(d);
            d.mode = M_SKIP;
            d.remaining = len;
            p += FRAME_HEADER_LEN;
            continue;
          }
          if (end - p < FRAME_HEADER_LEN + len) return p - offset;
          const ts = p === offset ? this.ctx.firstByteTs : this.ctx.lastByteTs;
          this.frame(d, toServer, buf, p, len, ts);
          p += FRAME_HEADER_LEN + len;
          continue;
        }
        case M_DATA:
          p = this.dataBytes(d, toServer, buf, p, end);
          continue;
        case M_SKIP: {
          const n = end - p < d.remaining ? end - p : d.remaining;
          p += n;
          d.remaining -= n;
          if (d.remaining === 0) d.mode = M_FRAMES;
          continue;
        }
        default: {
          const q = this.resync(d, buf, p, end);
          if (q < 0) {
            // No boundary yet: keep the last bytes (a frame header may start there).
            const keep = end - p < FRAME_HEADER_LEN * 2 ? end - p : FRAME_HEADER_LEN * 2;
            d.resyncScanned += end - p - keep;
            return end - keep - offset;
          }
          p = q;
          d.mode = M_FRAMES;
          d.resyncScanned = 0;
          continue;
        }
      }
    }
    return p - offset;
  }

  /** The preface was seen: both dynamic tables start empty (unless blocks were decoded before it). */
  private connectionStart(): void {
    for (const d of this.dirs) {
      if (d.blocksSeen) continue;
      d.hpack = new HpackDecoder(4096, true);
      if (d.tableMax !== 4096) d.hpack.setMaxTableSize(d.tableMax);
    }
  }

  onGap(toServer: boolean, length: number): void {
    const d = this.dirs[toServer ? 0 : 1];
    if ((d.mode === M_DATA || d.mode === M_SKIP) && length < d.remaining) {
      // Lost bytes inside a payload: the frame boundaries are still known.
      if (d.mode === M_DATA) {
        let lostData = length;
        if (d.padPending) {
          d.padPending = false;
          d.padLeft = 0;
          lostData--;
        }
        d.remaining -= length;
        if (d.padLeft > d.remaining) d.padLeft = d.remaining;
        const s = d.stream;
        if (s !== null && lostData > 0) this.streamLost(s, toServer);
      } else {
        d.remaining -= length;
      }
      return;
    }
    if (d.mode === M_DATA && d.stream !== null) this.streamLost(d.stream, toServer);
    // A header block may have been lost: this direction's HPACK state is no longer known.
    this.loseHeaders(d);
    if (d.mode !== M_PREFACE || d.prefaceSeen > 0) this.enterResync(d);
  }

  onEnd(toServer: boolean): void {
    if (toServer) return;
    // The server side ended: streams with a response in progress end here, cut short.
    for (const s of this.streams.values()) {
      if (s.resp !== null && !s.serverEnded) {
        s.respInfo!.incomplete = true;
        if (this.goawayCode > 0) s.respInfo!.goawayCode = this.goawayCode;
        this.finishResponse(s, this.ctx.lastByteTs);
      } else if (s.resp === null && s.req !== null && this.goawayCode > 0) {
        this.endWithoutResponse(s, -1, this.goawayCode, this.ctx.lastByteTs);
      }
    }
    this.streams.clear();
  }

  // ---- frames ----------------------------------------------------------------------------------

  private frame(d: Direction, toServer: boolean, b: Uint8Array, p: number, len: number, ts: number): void {
    const type = b[p + 3];
    const flags = b[p + 4];
    const sid = streamIdAt(b, p + 5);
    const pl = p + FRAME_HEADER_LEN;
    if (d.blockStream !== 0 && type !== T_CONTINUATION) {
      // A header block must be continued by CONTINUATION frames only (RFC 9113 6.10).
      this.ctx.anomaly('http2_continuation_missing');
      this.loseHeaders(d);
    }
    switch (type) {
      case T_HEADERS:
      case T_PUSH_PROMISE: {
        if (sid === 0) return this.ctx.anomaly('http2_bad_frame');
        let s = pl;
        let e = pl + len;
        if ((flags & F_PADDED) !== 0) {
          if (len < 1) return this.badHeaders(d);
          e -= b[s];
          s++;
        }
        let promised = 0;
        if (type === T_PUSH_PROMISE) {
          if (e - s < 4) return this.badHeaders(d);
          promised = streamIdAt(b, s);
          s += 4;
        } else if ((flags & F_PRIORITY) !== 0) {
          s += 5;
        }
        if (e < s) return this.badHeaders(d);
        const endStream = type === T_HEADERS && (flags & F_END_STREAM) !== 0;
        if ((flags & F_END_HEADERS) !== 0) {
          this.headerBlock(d, toServer, type, sid, promised, endStream, b, s, e, ts, FRAME_HEADER_LEN + len);
        } else {
          d.blockStream = sid;
          d.blockType = type;
          d.blockPromised = promised;
          d.blockEndStream = endStream;
          d.blockStartTs = ts;
          d.blockLen = 0;
          d.blockWire = FRAME_HEADER_LEN + len;
          this.appendBlock(d, b, s, e);
        }
        return;
      }
      case T_CONTINUATION: {
        if (d.blockStream === 0 || d.blockStream !== sid) {
          this.ctx.anomaly('http2_unexpected_continuation');
          this.loseHeaders(d);
          return;
        }
        d.blockWire += FRAME_HEADER_LEN + len;
        if (!this.appendBlock(d, b, pl, pl + len)) return;
        if ((flags & F_END_HEADERS) !== 0) {
          const sidB = d.blockStream;
          d.blockStream = 0;
          this.headerBlock(d, toServer, d.blockType, sidB, d.blockPromised, d.blockEndStream, d.block, 0, d.blockLen, d.blockStartTs, d.blockWire);
        }
        return;
      }
      case T_RST_STREAM: {
        if (len !== 4) return this.ctx.anomaly('http2_bad_frame');
        const s = this.streams.get(sid);
        if (s !== undefined) this.reset(s, u32(b, pl), ts);
        return;
      }
      case T_SETTINGS: {
        if ((flags & F_ACK) !== 0 || len % 6 !== 0) return;
        // The sender's settings bind its peer: the peer's encoder (decoded in the other direction)
        // and the frames the peer sends.
        const peer = this.dirs[toServer ? 1 : 0];
        for (let q = pl; q + 6 <= pl + len; q += 6) {
          const id = (b[q] << 8) | b[q + 1];
          const v = u32(b, q + 2);
          if (id === S_HEADER_TABLE_SIZE) {
            peer.tableMax = v;
            peer.hpack.setMaxTableSize(v);
          }
          else if (id === S_MAX_FRAME_SIZE && v >= DEFAULT_MAX_FRAME_SIZE && v <= MAX_MAX_FRAME_SIZE) peer.maxFrameSize = v;
        }
        return;
      }
      case T_GOAWAY: {
        if (len < 8) return this.ctx.anomaly('http2_bad_frame');
        this.goaway(toServer, streamIdAt(b, pl), u32(b, pl + 4), ts);
        return;
      }
      default:
        // PRIORITY, PING, WINDOW_UPDATE, unknown types (ignored, RFC 9113 4.1): nothing to record.
        if (sid !== 0) {
          const s = this.streams.get(sid);
          if (s !== undefined) {
            if (toServer) s.reqWire += FRAME_HEADER_LEN + len;
            else s.respWire += FRAME_HEADER_LEN + len;
          }
        }
        return;
    }
  }

  private badHeaders(d: Direction): void {
    this.ctx.anomaly('http2_bad_frame');
    this.loseHeaders(d);
  }

  private appendBlock(d: Direction, b: Uint8Array, s: number, e: number): boolean {
    const need = d.blockLen + (e - s);
    if (need > MAX_HEADER_BLOCK) {
      this.ctx.anomaly('http2_header_block_too_large');
      this.loseHeaders(d);
      return false;
    }
    if (need > d.block.length) {
      let cap = d.block.length < 4096 ? 4096 : d.block.length * 2;
      while (cap < need) cap *= 2;
      const nb = new Uint8Array(cap);
      nb.set(d.block.subarray(0, d.blockLen));
      d.block = nb;
    }
    d.block.set(b.subarray(s, e), d.blockLen);
    d.blockLen = need;
    return true;
  }

  /** A header block was (or may have been) lost or could not be decoded: the HPACK state is unknown. */
  private loseHeaders(d: Direction): void {
    d.blockStream = 0;
    d.blockLen = 0;
    d.hpack.lose();
  }

  private enterResync(d: Direction): void {
    d.mode = M_RESYNC;
    d.remaining = 0;
    d.stream = null;
    d.resyncScanned = 0;
  }

  /**
   * Position of the next plausible frame header in `b[p..end)` that is followed by another plausible
   * header or ends exactly at `end`, or -1.
   */
  private resync(d: Direction, b: Uint8Array, p: number, end: number): number {
    const maxLen = d.maxFrameSize;
    for (let q = p; q + FRAME_HEADER_LEN <= end; q++) {
      if (!plausibleFrameHeader(b, q, maxLen)) continue;
      const next = q + FRAME_HEADER_LEN + u24(b, q);
      if (next === end) return q;
      if (next + FRAME_HEADER_LEN <= end && plausibleFrameHeader(b, next, maxLen)) return q;
    }
    return -1;
  }

  // ---- DATA --------------------------------------------------------------------------------------

  private startData(d: Direction, toServer: boolean, b: Uint8Array, p: number, len: number): void {
    const flags = b[p + 4];
    const sid = streamIdAt(b, p + 5);
    const s = this.streams.get(sid) ?? null;
    d.stream = s;
    d.remaining = len;
    d.padPending = (flags & F_PADDED) !== 0 && len > 0;
    d.padLeft = 0;
    d.endStream = (flags & F_END_STREAM) !== 0;
    if (s !== null) {
      if (toServer) s.reqWire += FRAME_HEADER_LEN + len;
      else s.respWire += FRAME_HEADER_LEN + len;
    }
    d.mode = M_DATA;
    if (len === 0) this.endData(d, toServer);
  }

  private dataBytes(d: Direction, toServer: boolean, b: Uint8Array, p: number, end: number): number {
    if (d.padPending) {
      d.padPending = false;
      d.remaining--;
      d.padLeft = b[p] <= d.remaining ? b[p] : d.remaining;
      p++;
      if (d.remaining === 0) {
        this.endData(d, toServer);
        return p;
      }
      if (p >= end) return p;
    }
    const avail = end - p < d.remaining ? end - p : d.remaining;
    const dataLeft = d.remaining - d.padLeft;
    const data = avail < dataLeft ? avail : dataLeft;
    const s = d.stream;
    if (s !== null && data > 0) {
      if (toServer) {
        s.reqBody += data;
        if (s.grpcReq !== null) s.grpcReq.feed(b, p, p + data);
      } else {
        s.respBody += data;
        if (s.grpcResp !== null) s.grpcResp.feed(b, p, p + data);
      }
    }
    d.remaining -= avail;
    if (d.padLeft > d.remaining) d.padLeft = d.remaining;
    p += avail;
    if (d.remaining === 0) this.endData(d, toServer);
    return p;
  }

  private endData(d: Direction, toServer: boolean): void {
    d.mode = M_FRAMES;
    const s = d.stream;
    d.stream = null;
    if (s !== null && d.endStream) this.endOfStream(s, toServer, this.ctx.lastByteTs);
  }

  // ---- header blocks -------------------------------------------------------------------------------

  private headerBlock(
    d: Direction,
    toServer: boolean,
    type: number,
    sid: number,
    promised: number,
    endStream: boolean,
    b: Uint8Array,
    s: number,
    e: number,
    ts: number,
    wire: number,
  ): void {
    const f = d.fields;
    // Requests: client HEADERS opening a stream, server PUSH_PROMISE. Trace headers only there.
    const requestBlock = type === T_PUSH_PROMISE || (toServer && !this.streams.has(sid));
    f.reset(requestBlock);
    // The block is always decoded: it changes the dynamic table even for streams not tracked.
    d.blocksSeen = true;
    const r = d.hpack.decode(b, s, e - s, f);
    if (r !== HPACK_OK) {
      this.ctx.anomaly('http2_hpack_error');
      f.unknown++;
    }
    if (type === T_PUSH_PROMISE) {
      if (toServer || promised === 0 || (promised & 1) !== 0) return this.ctx.anomaly('http2_bad_push_promise');
      this.openRequest(promised, f, ts, wire, false);
      return;
    }
    if (toServer) {
      let st = this.streams.get(sid);
      if (st === undefined) {
        // A new stream from the client: its request headers (RFC 9113 8.1). Without `:method` and
        // without fields that could not be decoded, it is not a request (trailers of a stream that
        // started before the capture): ignored.
        if ((sid & 1) === 0 || (f.method === '' && f.unknown === 0)) return;
        st = this.openRequest(sid, f, ts, wire, endStream);
        if (st === undefined) return;
        if (sid > this.lastClientStream) this.lastClientStream = sid;
      } else {
        st.reqWire += wire; // trailers
      }
      if (endStream) this.endOfStream(st, true, this.ctx.lastByteTs);
      return;
    }
    let st = this.streams.get(sid);
    if (st === undefined) {
      if (f.status === '' && f.unknown === 0) return; // trailers of a stream not seen
      if (this.streams.size >= this.opts.maxStreams) return this.ctx.anomaly('http2_too_many_streams');
      st = new Stream(sid);
      this.streams.set(sid, st);
    }
    st.respWire += wire;
    if (st.resp === null) {
      const status = parseStatus(f.status);
      if (status >= 100 && status < 200 && !endStream) return; // interim response (1xx)
      if (status !== 0 || f.unknown > 0 || endStream) this.openResponse(st, f, status, ts);
    } else {
      this.trailers(st, f);
    }
    if (endStream) this.endOfStream(st, false, this.ctx.lastByteTs);
  }

  /** A request header block: the stream's request message, handed to the pairing layer now. */
  private openRequest(sid: number, f: BlockFields, ts: number, wire: number, endStream: boolean): Stream | undefined {
    if (this.streams.size >= this.opts.maxStreams) {
      this.ctx.anomaly('http2_too_many_streams');
      return undefined;
    }
    const st = new Stream(sid);
    this.streams.set(sid, st);
    const attrs: Attributes = {};
    let method = '';
    if (f.method !== '') {
      if (this.opts.methods.includes(f.method)) {
        method = f.method;
        attrs['http.request.method'] = method;
      } else {
        method = METHOD_OTHER;
        attrs['http.request.method'] = METHOD_OTHER;
        attrs['http.request.method_original'] = clip(f.method);
      }
    }
    if (f.path !== '') {
      const q = f.path.indexOf('?');
      attrs['url.path'] = clip(q < 0 ? f.path : f.path.slice(0, q));
      if (q >= 0) attrs['url.query'] = clip(redactQuery(f.path.slice(q + 1), this.opts.sensitiveQueryParameters));
    }
    if (f.scheme !== '') attrs['url.scheme'] = clip(f.scheme);
    const authority = f.authority !== '' ? f.authority : f.host;
    if (authority !== '') attrs['server.address'] = clip(hostOnly(authority));
    if (f.userAgent !== '') attrs['user_agent.original'] = clip(f.userAgent);
    attrs['network.protocol.name'] = 'http';
    attrs['network.protocol.version'] = '2';
    attrs['spanwire.http2.stream_id'] = sid;
    const info = infoOf(method);
    if (isGrpcContentType(f.contentType)) {
      info.grpc = true;
      attrs['rpc.system.name'] = 'grpc';
      if (f.path.length > 1 && f.path.charCodeAt(0) === 0x2f) {
        info.rpcMethod = clip(f.path.slice(1));
        attrs['rpc.method'] = info.rpcMethod;
      }
      if (f.grpcTimeout !== '') {
        const ms = parseGrpcTimeoutMs(f.grpcTimeout);
        if (ms >= 0) attrs['spanwire.grpc.timeout_ms'] = ms;
      }
      st.grpcReq = new GrpcMessageCounter();
      st.grpcResp = new GrpcMessageCounter();
    }
    if (f.unknown > 0) attrs['spanwire.http2.hpack_incomplete'] = true;
    const msg: L7Message = {
      type: MSG_REQUEST,
      sessionId: sid,
      startTs: ts,
      endTs: this.ctx.lastByteTs,
      size: wire,
      attrs,
      expectsResponse: true,
      trace: f.trace.any ? f.trace.result() : null,
      afterGap: false,
      info,
    };
    st.req = msg;
    st.reqInfo = info;
    st.reqWire = wire;
    st.reqStartTs = ts;
    if (endStream) st.clientEnded = true;
    this.ctx.emit(msg);
    return st;
  }

  /** The response's first header block (or a trailers-only response). */
  private openResponse(st: Stream, f: BlockFields, status: number, ts: number): void {
    const attrs: Attributes = {};
    if (status >= 200) attrs['http.response.status_code'] = status;
    attrs['network.protocol.name'] = 'http';
    attrs['network.protocol.version'] = '2';
    const info = infoOf(st.reqInfo !== null ? st.reqInfo.method : '');
    if (status >= 200) info.statusCode = status;
    if (st.reqInfo !== null) {
      info.grpc = st.reqInfo.grpc;
      info.rpcMethod = st.reqInfo.rpcMethod;
    } else {
      attrs['spanwire.http2.stream_id'] = st.id;
      if (isGrpcContentType(f.contentType)) {
        // A response whose request was not captured: gRPC from its own content-type.
        info.grpc = true;
        attrs['rpc.system.name'] = 'grpc';
        st.grpcResp = new GrpcMessageCounter();
      }
    }
    if (f.unknown > 0) attrs['spanwire.http2.hpack_incomplete'] = true;
    st.resp = {
      type: MSG_RESPONSE,
      sessionId: st.upgraded ? SESSION_FIFO : st.id,
      startTs: ts,
      endTs: ts,
      size: 0,
      attrs,
      expectsResponse: false,
      trace: null,
      afterGap: false,
      info,
    };
    st.respInfo = info;
    st.respStartTs = ts;
    this.trailers(st, f);
  }

  /** grpc-status / grpc-message from trailers (or a trailers-only response). */
  private trailers(st: Stream, f: BlockFields): void {
    const info = st.respInfo!;
    if (f.unknown > 0) st.resp!.attrs['spanwire.http2.hpack_incomplete'] = true;
    if (f.grpcStatus === '' || info.grpcStatus >= 0) return;
    const code = parseGrpcStatus(f.grpcStatus);
    if (code < 0) {
      this.ctx.anomaly('grpc_bad_status');
      return;
    }
    info.grpcStatus = code;
    if (f.grpcMessage !== '') info.grpcMessage = clip(decodeGrpcMessage(f.grpcMessage));
  }

  // ---- stream ends ---------------------------------------------------------------------------------

  private endOfStream(st: Stream, toServer: boolean, ts: number): void {
    if (toServer) {
      st.clientEnded = true;
      if (st.req !== null && !st.upgraded) {
        st.req.endTs = ts < st.req.startTs ? st.req.startTs : ts;
        st.req.size = st.reqWire;
      }
      return;
    }
    st.serverEnded = true;
    if (st.resp === null) return;
    this.finishResponse(st, ts);
  }

  /** The response is over (END_STREAM, a reset, the end of the connection): hand it over. */
  private finishResponse(st: Stream, ts: number): void {
    const resp = st.resp!;
    const info = st.respInfo!;
    resp.endTs = ts < resp.startTs ? resp.startTs : ts;
    resp.size = st.respWire;
    const a = resp.attrs;
    if (!st.lostResp && !info.incomplete) a['http.response.body.size'] = st.respBody;
    if (st.req !== null && !st.upgraded) {
      if (st.clientEnded && !st.lostReq) st.req.attrs['http.request.body.size'] = st.reqBody;
      if (st.grpcReq !== null && !st.grpcReq.lost) st.req.attrs['spanwire.grpc.request.messages'] = st.grpcReq.count;
    }
    if (st.grpcResp !== null && !st.grpcResp.lost) a['spanwire.grpc.response.messages'] = st.grpcResp.count;
    if (info.grpcStatus >= 0) a['rpc.response.status_code'] = grpcName(info.grpcStatus);
    if (info.rstCode >= 0) a['spanwire.http2.rst_stream.error_code'] = errorCodeName(info.rstCode);
    if (info.goawayCode >= 0) a['spanwire.http2.goaway.error_code'] = errorCodeName(info.goawayCode);
    this.streams.delete(st.id);
    this.ctx.emit(resp);
  }

  /**
   * The stream ended before a response (RST_STREAM, GOAWAY): a response message carrying only the
   * error code, so that the span ends now with it.
   */
  private endWithoutResponse(st: Stream, rst: number, goaway: number, ts: number): void {
    if (st.req === null) {
      this.streams.delete(st.id);
      return;
    }
    const info = infoOf(st.reqInfo !== null ? st.reqInfo.method : '');
    if (st.reqInfo !== null) {
      info.grpc = st.reqInfo.grpc;
      info.rpcMethod = st.reqInfo.rpcMethod;
    }
    info.rstCode = rst;
    info.goawayCode = goaway;
    st.resp = {
      type: MSG_RESPONSE,
      sessionId: st.upgraded ? SESSION_FIFO : st.id,
      startTs: ts,
      endTs: ts,
      size: 0,
      attrs: {},
      expectsResponse: false,
      trace: null,
      afterGap: false,
      info,
    };
    st.respInfo = info;
    st.grpcResp = null;
    st.lostResp = true; // no body size: there was no response
    this.finishResponse(st, ts);
  }

  private reset(st: Stream, code: number, ts: number): void {
    if (st.resp === null) {
      this.endWithoutResponse(st, code, -1, ts);
      return;
    }
    if (!st.serverEnded) {
      st.respInfo!.rstCode = code;
      if (code !== 0) st.respInfo!.incomplete = true;
      this.finishResponse(st, ts);
    }
  }

  /**
   * GOAWAY (RFC 9113 6.8): streams the sender's peer opened above `lastId` were not processed and
   * end now with the error code; the others may complete (when the code is not NO_ERROR, the ones
   * the end of the connection cuts carry it).
   */
  private goaway(fromClient: boolean, lastId: number, code: number, ts: number): void {
    this.goawayCode = code;
    const peerOdd = !fromClient; // GOAWAY from the server concerns client (odd) streams
    for (const st of [...this.streams.values()]) {
      if ((st.id & 1) === (peerOdd ? 1 : 0) && st.id > lastId && !st.upgraded) {
        if (st.resp === null) this.endWithoutResponse(st, -1, code, ts);
        else if (!st.serverEnded) {
          st.respInfo!.goawayCode = code;
          st.respInfo!.incomplete = true;
          this.finishResponse(st, ts);
        }
      }
    }
  }

  private streamLost(s: Stream, toServer: boolean): void {
    if (toServer) {
      s.lostReq = true;
      s.grpcReq?.loseSync();
    } else {
      s.lostResp = true;
      s.grpcResp?.loseSync();
    }
  }
}

function parseStatus(v: string): number {
  if (v.length !== 3) return 0;
  const n = (v.charCodeAt(0) - 0x30) * 100 + (v.charCodeAt(1) - 0x30) * 10 + (v.charCodeAt(2) - 0x30);
  return n >= 100 && n <= 999 && /^[0-9]{3}$/.test(v) ? n : 0;
}

function clip(v: string): string {
  return v.length > MAX_VALUE ? v.slice(0, MAX_VALUE) : v;
}

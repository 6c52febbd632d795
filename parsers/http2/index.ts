/**
 * HTTP/2 (RFC 9113, RFC 7541) and gRPC over it: the registration record. See README.md in this
 * folder for detection, the attributes produced, limits and known gaps.
 */
import type { L7Message, ParserContext, ParserSession, ProbeHint, ProtocolParser, SpanDescription } from '../../core/l7/types.js';
import { PROBE_MATCH, PROBE_NEED_MORE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE } from '../../core/l7/types.js';
import { httpSpanName, httpStatusIsError, METHOD_OTHER } from '../http1/methods.js';
import {
  DEFAULT_MAX_FRAME_SIZE,
  errorCodeName,
  F_PADDED,
  F_PRIORITY,
  F_ACK,
  FRAME_HEADER_LEN,
  plausibleFrameHeader,
  PREFACE,
  T_HEADERS,
  T_PUSH_PROMISE,
  T_SETTINGS,
  u24,
} from './frames.js';
import { describeGrpcStatus } from './grpc.js';
import { resolveHttp2Options } from './options.js';
import type { H2cUpgrade, Http2Info } from './session.js';
import { Http2Session } from './session.js';

export type { H2cUpgrade, Http2Info } from './session.js';
export type { Http2Options } from './options.js';
export { DEFAULT_MAX_STREAMS } from './options.js';

/** A whole default-size frame plus the next header. */
const PROBE_LIMIT = DEFAULT_MAX_FRAME_SIZE + 2 * FRAME_HEADER_LEN;
/** Frames the probe walks at most. */
const PROBE_FRAMES = 16;

/**
 * Which side sent a HEADERS payload `b[s..e)`, from its first field representation (RFC 7541 6):
 * a static-table reference (indexed, or a literal's indexed name) to `:authority`, `:method`,
 * `:path` or `:scheme` (1..7) is a request, to `:status` (8..14) a response; anything else
 * (dynamic-table references, literal names) does not tell.
 */
function headersVerdict(b: Uint8Array, s: number, e: number): number {
  let p = s;
  // Dynamic table size updates (001xxxxx) may come first.
  while (p < e && (b[p] & 0xe0) === 0x20) {
    if ((b[p] & 0x1f) !== 0x1f) p++;
    else {
      p++;
      while (p < e && (b[p] & 0x80) !== 0) p++;
      p++;
    }
  }
  if (p >= e) return PROBE_MATCH;
  const c = b[p];
  let idx: number;
  if ((c & 0x80) !== 0) idx = c & 0x7f;
  else if ((c & 0xc0) === 0x40) idx = c & 0x3f;
  else idx = c & 0x0f; // literal without indexing (0000) or never indexed (0001)
  if (idx >= 1 && idx <= 7) return PROBE_REQUEST;
  if (idx >= 8 && idx <= 14) return PROBE_RESPONSE;
  return PROBE_MATCH;
}

/**
 * Is `buf[offset..offset+length)` HTTP/2? The client preface (`PRI * HTTP/2.0...`, the sender is
 * the client), or, for a capture that starts mid-connection, a chain of plausible frame headers
 * (strict: known type, defined flags, type-specific sizes and stream ids) that ends exactly at the
 * end of the bytes, with a HEADERS, PUSH_PROMISE or SETTINGS frame among them or at least two
 * frames. A HEADERS frame tells the direction by its first field (`:method`... or `:status`).
 * No allocation.
 */
function probe(buf: Uint8Array, offset: number, length: number, hint: ProbeHint): number {
  if (hint.transport !== 'tcp' || length === 0) return PROBE_NO;
  const n = length < PREFACE.length ? length : PREFACE.length;
  let i = 0;
  while (i < n && buf[offset + i] === PREFACE[i]) i++;
  if (i === n) return n === PREFACE.length ? PROBE_REQUEST : PROBE_NEED_MORE;
  const end = offset + length;
  let p = offset;
  let frames = 0;
  let strong = false;
  let verdict = PROBE_MATCH;
  while (frames < PROBE_FRAMES) {
    if (p === end) break;
    if (end - p < FRAME_HEADER_LEN) return strong || frames >= 2 ? verdict : PROBE_NEED_MORE;
    if (!plausibleFrameHeader(buf, p, DEFAULT_MAX_FRAME_SIZE)) return PROBE_NO;
    const len = u24(buf, p);
    const next = p + FRAME_HEADER_LEN + len;
    if (next > end) return strong || frames >= 2 ? verdict : PROBE_NEED_MORE;
    const type = buf[p + 3];
    const flags = buf[p + 4];
    if (type === T_HEADERS) {
      strong = true;
      let s = p + FRAME_HEADER_LEN;
      let e = next;
      if ((flags & F_PADDED) !== 0) {
        e -= buf[s];
        s++;
      }
      if ((flags & F_PRIORITY) !== 0) s += 5;
      if (e < s) return PROBE_NO;
      if (verdict === PROBE_MATCH) verdict = headersVerdict(buf, s, e);
    } else if (type === T_PUSH_PROMISE) {
      strong = true;
      if (verdict === PROBE_MATCH) verdict = PROBE_RESPONSE;
    } else if (type === T_SETTINGS && (flags & F_ACK) === 0 && len > 0) {
      // Known setting identifiers only (RFC 9113 6.5.2, RFC 8441, RFC 9218).
      let ok = true;
      for (let q = p + FRAME_HEADER_LEN; q < next; q += 6) {
        const id = (buf[q] << 8) | buf[q + 1];
        if (id === 0 || (id > 8 && id !== 9)) ok = false;
      }
      if (!ok) return PROBE_NO;
      strong = true;
    }
    frames++;
    p = next;
  }
  return strong || frames >= 2 ? verdict : PROBE_NO;
}

/**
 * Span name and status of a stream (SEMCONV.md). gRPC: named by `rpc.method`; the status from
 * `grpc-status` (CLIENT and network-observed spans: any non-OK is an error; SERVER spans: UNKNOWN,
 * DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS), `error.type` its name, the
 * `grpc-message` as the status message. HTTP: named by the method (`HTTP` when unknown); error as
 * for HTTP/1 (SERVER >= 500, others >= 400). A stream ended by RST_STREAM or GOAWAY with an error
 * code before its response completed is an error whose type is the code's name (`CANCEL`...).
 */
function describeSpan(req: L7Message | null, resp: L7Message | null, kind: number, out: SpanDescription): void {
  const qi = req !== null ? (req.info as Http2Info) : null;
  const ri = resp !== null ? (resp.info as Http2Info) : null;
  const method = qi !== null ? qi.method : ri !== null ? ri.method : '';
  const grpc = (qi !== null && qi.grpc) || (ri !== null && ri.grpc);
  const rpcMethod = qi !== null && qi.rpcMethod !== '' ? qi.rpcMethod : ri !== null ? ri.rpcMethod : '';
  out.name = grpc && rpcMethod !== '' ? rpcMethod : grpc && (method === '' || method === METHOD_OTHER) ? 'grpc' : httpSpanName(method);
  out.error = false;
  out.errorType = '';
  out.message = '';
  out.kind = 0;
  if (ri === null) return;
  if (grpc && ri.grpcStatus >= 0) {
    describeGrpcStatus(ri.grpcStatus, ri.grpcMessage, kind, out);
    return;
  }
  if (httpStatusIsError(ri.statusCode, kind)) {
    out.error = true;
    out.errorType = String(ri.statusCode);
    return;
  }
  const unfinished = ri.statusCode === 0 || ri.incomplete;
  if (ri.rstCode > 0 || (ri.rstCode === 0 && ri.statusCode === 0)) {
    out.error = true;
    out.errorType = errorCodeName(ri.rstCode);
    return;
  }
  if (ri.goawayCode >= 0 && unfinished) {
    out.error = true;
    // A stream above a graceful GOAWAY's last id was not processed: as REFUSED_STREAM (RFC 9113 8.7).
    out.errorType = ri.goawayCode === 0 && ri.statusCode === 0 ? 'REFUSED_STREAM' : errorCodeName(ri.goawayCode);
    return;
  }
  if (grpc && ri.statusCode === 200 && !ri.incomplete && resp!.attrs['spanwire.http2.hpack_incomplete'] !== true) {
    // A gRPC response that ended without grpc-status (PROTOCOL-HTTP2.md: a missing status is UNKNOWN).
    out.error = true;
    out.errorType = 'UNKNOWN';
  }
}

/** The HTTP/2 parser (h2c with prior knowledge, `Upgrade: h2c` from http1, mid-connection captures). */
export const http2Parser: ProtocolParser = {
  name: 'http2',
  transports: ['tcp'],
  ports: [80, 8080, 50051, 9090, 10000, 15001, 15006],
  probeLimit: PROBE_LIMIT,
  probe,
  createSession(ctx: ParserContext): ParserSession {
    return new Http2Session(ctx, resolveHttp2Options(ctx.options), (ctx.handoff as H2cUpgrade | null) ?? null);
  },
  describeSpan,
};

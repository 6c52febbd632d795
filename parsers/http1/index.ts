/**
 * HTTP/1.0 and HTTP/1.1 (RFC 9110, RFC 9112): the registration record. See README.md in this folder
 * for detection, the attributes produced, limits and known gaps.
 */
import type { L7Message, ParserContext, ParserSession, ProbeHint, ProtocolParser, SpanDescription } from '../../core/l7/types.js';
import { PROBE_NEED_MORE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE } from '../../core/l7/types.js';
import { httpSpanName, httpStatusIsError } from './methods.js';
import { describeGrpcStatus } from '../http2/grpc.js';
import { resolveOptions } from './options.js';
import { CR, LF, MATCH_NEED_MORE, MATCH_YES, matchRequestLine, matchStatusLine } from './scan.js';
import type { Http1Info } from './session.js';
import { Http1Session } from './session.js';

export type { Http1Info } from './session.js';
export type { Http1Options } from './options.js';
export { DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_PENDING_REQUESTS, DEFAULT_SENSITIVE_QUERY_PARAMETERS } from './options.js';
export { DEFAULT_KNOWN_METHODS } from './methods.js';

/** Bytes the probe may look at: a request line longer than this is not recognised at flow start. */
const PROBE_LIMIT = 8192;

/**
 * Is `buf[offset..offset+length)` the start of an HTTP/1 request or response? A request line is
 * `METHOD SP target SP HTTP/1.0|1.1 CRLF` with any upper-case method (WebDAV, custom methods...); a
 * status line starts `HTTP/1.0|1.1 SP 3DIGIT`. At most 4 leading CR/LF are skipped. No allocation.
 */
function probe(buf: Uint8Array, offset: number, length: number, _hint: ProbeHint): number {
  const end = offset + length;
  let p = offset;
  while (p < end && p - offset < 4 && (buf[p] === CR || buf[p] === LF)) p++;
  if (p >= end) return PROBE_NEED_MORE;
  const c = buf[p];
  if (c < 0x41 || c > 0x5a) return PROBE_NO;
  const limit = PROBE_LIMIT - (p - offset);
  if (c === 0x48) {
    // "HTTP/1.1 200" or a method starting with H (HEAD...).
    const s = matchStatusLine(buf, p, end);
    if (s === MATCH_YES) return PROBE_RESPONSE;
    const r = matchRequestLine(buf, p, end, limit, true);
    if (r === MATCH_YES) return PROBE_REQUEST;
    return s === MATCH_NEED_MORE || r === MATCH_NEED_MORE ? PROBE_NEED_MORE : PROBE_NO;
  }
  const r = matchRequestLine(buf, p, end, limit, true);
  return r === MATCH_YES ? PROBE_REQUEST : r === MATCH_NEED_MORE ? PROBE_NEED_MORE : PROBE_NO;
}

/**
 * Span name and status for an HTTP exchange (SEMCONV.md): the name is the method (`HTTP` for
 * `_OTHER` or when no method is known), never the path; error when a SERVER span has status >= 500
 * or another kind (CLIENT, network observation) status >= 400, with `error.type` the status code.
 * Without a response the caller decides (timeout / no_response).
 */
function describeSpan(req: L7Message | null, resp: L7Message | null, kind: number, out: SpanDescription): void {
  const qi = req !== null ? (req.info as Http1Info) : null;
  const ri = resp !== null ? (resp.info as Http1Info) : null;
  const method = qi !== null ? qi.method : ri !== null ? ri.method : '';
  const rpcMethod = qi !== null ? qi.rpcMethod : '';
  out.name = rpcMethod !== '' ? rpcMethod : httpSpanName(method);
  out.error = false;
  out.errorType = '';
  out.message = '';
  out.kind = 0;
  if (ri !== null && ri.grpcStatus >= 0 && (rpcMethod !== '' || resp!.attrs['rpc.system.name'] === 'grpc')) {
    // gRPC-Web: the gRPC status decides (SEMCONV.md gRPC rules), as for gRPC over HTTP/2.
    describeGrpcStatus(ri.grpcStatus, ri.grpcMessage, kind, out);
    return;
  }
  if (ri !== null && httpStatusIsError(ri.statusCode, kind)) {
    out.error = true;
    out.errorType = String(ri.statusCode);
  }
}

/** The HTTP/1.x parser. Options (`http1` section): see `Http1Options` and README.md. */
export const http1Parser: ProtocolParser = {
  name: 'http1',
  transports: ['tcp'],
  ports: [80, 8080, 8000, 8008, 8081, 8888, 3128],
  probeLimit: PROBE_LIMIT,
  probe,
  createSession(ctx: ParserContext): ParserSession {
    return new Http1Session(ctx, resolveOptions(ctx.options));
  },
  describeSpan,
};

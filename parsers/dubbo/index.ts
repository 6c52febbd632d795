/**
 * Dubbo (the `dubbo://` protocol of Apache Dubbo 2.x/3.x over TCP): the registration record. See
 * README.md in this folder for detection, the attributes produced, limits and known gaps.
 */
import type { L7Message, ParserContext, ParserSession, ProbeHint, ProtocolParser, SpanDescription } from '../../core/l7/types.js';
import { PROBE_MATCH, PROBE_NEED_MORE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE } from '../../core/l7/types.js';
import { isStringStart } from './hessian.js';
import { FLAG_EVENT, FLAG_REQUEST, HEADER_LEN, MAGIC_HIGH, MAGIC_LOW, SER_HESSIAN2, SERIALIZATION_MASK, STATUS_OK, plausibleHeader, statusName } from './protocol.js';
import type { DubboInfo } from './session.js';
import { DubboSession } from './session.js';

export type { DubboInfo } from './session.js';

/** The header and the first byte of the body. */
const PROBE_LIMIT = HEADER_LEN + 1;

/**
 * Is `buf[offset..offset+length)` Dubbo? A plausible 16-byte header (magic 0xdabb, a known
 * serialization id, a zero status byte on requests or a known status on responses, a sane body
 * length); a Hessian2 call must then start its body with a string (the Dubbo version). Heartbeats
 * go both ways, so they do not tell the direction. No allocation.
 */
function probe(buf: Uint8Array, offset: number, length: number, hint: ProbeHint): number {
  if (hint.transport !== 'tcp') return PROBE_NO;
  if (length === 0) return PROBE_NEED_MORE;
  if (buf[offset] !== MAGIC_HIGH) return PROBE_NO;
  if (length < 2) return PROBE_NEED_MORE;
  if (buf[offset + 1] !== MAGIC_LOW) return PROBE_NO;
  if (length < HEADER_LEN) return PROBE_NEED_MORE;
  if (!plausibleHeader(buf, offset)) return PROBE_NO;
  const flags = buf[offset + 2];
  if ((flags & FLAG_EVENT) !== 0) return PROBE_MATCH;
  if ((flags & FLAG_REQUEST) === 0) return PROBE_RESPONSE;
  if ((flags & SERIALIZATION_MASK) === SER_HESSIAN2) {
    if (length === HEADER_LEN) return PROBE_NEED_MORE;
    if (!isStringStart(buf[offset + HEADER_LEN])) return PROBE_NO;
  }
  return PROBE_REQUEST;
}

/**
 * Span: `{service}/{method}` (the `rpc.method`); without a readable body, the protocol name. Error
 * (any span kind): a status other than OK (`error.type` = its name, e.g. `SERVICE_NOT_FOUND`, message
 * = the error message), or a response carrying an exception (`error.type` = the exception class,
 * else `RESPONSE_WITH_EXCEPTION`; message = its detail message).
 */
function describeSpan(req: L7Message | null, resp: L7Message | null, _kind: number, out: SpanDescription): void {
  const qi = req !== null ? (req.info as DubboInfo) : null;
  const ri = resp !== null ? (resp.info as DubboInfo) : null;
  out.name = qi !== null && qi.service !== '' && qi.method !== '' ? `${qi.service}/${qi.method}` : '';
  out.error = false;
  out.errorType = '';
  out.message = '';
  out.kind = 0;
  if (ri === null) return;
  if (ri.status !== STATUS_OK) {
    out.error = true;
    out.errorType = statusName(ri.status);
    out.message = ri.message !== '' ? ri.message : out.errorType;
  } else if (ri.exception) {
    out.error = true;
    out.errorType = ri.exceptionType !== '' ? ri.exceptionType : 'RESPONSE_WITH_EXCEPTION';
    out.message = ri.message !== '' ? ri.message : out.errorType;
  }
}

/** The Dubbo parser (no options). */
export const dubboParser: ProtocolParser = {
  name: 'dubbo',
  transports: ['tcp'],
  ports: [20880],
  probeLimit: PROBE_LIMIT,
  probe,
  createSession(ctx: ParserContext): ParserSession {
    return new DubboSession(ctx);
  },
  describeSpan,
};

/**
 * DNS over UDP and TCP (RFC 1035, RFC 7766), including mDNS (RFC 6762) and LLMNR (RFC 4795): the
 * registration record. See README.md in this folder for detection, the attributes produced, limits
 * and known gaps.
 */
import type { L7Message, ParserContext, ParserSession, ProbeHint, ProtocolParser, SpanDescription } from '../../core/l7/types.js';
import { PROBE_NEED_MORE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE } from '../../core/l7/types.js';
import type { DnsInfo } from './session.js';
import { DnsSession } from './session.js';
import { HEADER_LEN, rcodeName, skipName } from './wire.js';
import { u16be as u16 } from '../../core/l7/bytes.js';

export type { DnsInfo } from './session.js';
export { MAX_ANSWERS, decodeMessage } from './session.js';

/** TCP length prefix + header + a few questions of at most 255 + 4 bytes. */
const PROBE_LIMIT = 2 + HEADER_LEN + 4 * 259;
/** Questions per message accepted by the probe. */
const MAX_QUESTIONS = 8;
/** Records per section accepted by the probe. */
const MAX_SECTION = 1024;

/**
 * Checks a DNS message `buf[base .. base+avail)` whose full length is `msgLen` (unknown on UDP: equal
 * to avail). Returns PROBE_REQUEST/PROBE_RESPONSE, PROBE_NO, or PROBE_NEED_MORE when the question
 * section runs past the bytes available but not past the message. No allocation.
 */
function probeMessage(buf: Uint8Array, base: number, avail: number, msgLen: number, port: number): number {
  if (avail < HEADER_LEN) return msgLen > avail ? PROBE_NEED_MORE : PROBE_NO;
  const flags = u16(buf, base + 2);
  const qr = (flags & 0x8000) !== 0;
  const opcode = (flags >> 11) & 0xf;
  if (opcode !== 0 && opcode !== 4 && opcode !== 5) return PROBE_NO;
  if ((flags & 0x0040) !== 0) return PROBE_NO; // Z bit, must be zero
  const rcode = flags & 0xf;
  if (!qr && rcode !== 0) return PROBE_NO;
  if (rcode > 10) return PROBE_NO;
  const qd = u16(buf, base + 4);
  const an = u16(buf, base + 6);
  const ns = u16(buf, base + 8);
  const ar = u16(buf, base + 10);
  if (qd > MAX_QUESTIONS || an > MAX_SECTION || ns > MAX_SECTION || ar > MAX_SECTION) return PROBE_NO;
  const end = base + avail;
  let p = base + HEADER_LEN;
  if (qd === 0) {
    // mDNS/LLMNR announcements and responses carry no question: check the first answer record.
    if (!qr || an === 0 || (port !== 5353 && port !== 5355)) return PROBE_NO;
    p = skipName(buf, base, p, end);
    if (p < 0 || p + 10 > end) return msgLen > avail ? PROBE_NEED_MORE : PROBE_NO;
    const cls = u16(buf, p + 2) & 0x7fff;
    if (cls !== 1 && cls !== 255) return PROBE_NO;
    if (p + 10 + u16(buf, p + 8) > base + msgLen) return PROBE_NO;
    return PROBE_RESPONSE;
  }
  for (let i = 0; i < qd; i++) {
    p = skipName(buf, base, p, end);
    if (p < 0 || p + 4 > end) return msgLen > avail ? PROBE_NEED_MORE : PROBE_NO;
    const type = u16(buf, p);
    const cls = u16(buf, p + 2) & 0x7fff; // mDNS: top bit = unicast-response
    if (type === 0) return PROBE_NO;
    if (cls !== 1 && cls !== 3 && cls !== 4 && cls !== 254 && cls !== 255) return PROBE_NO;
    p += 4;
  }
  return qr ? PROBE_RESPONSE : PROBE_REQUEST;
}

/**
 * Is `buf[offset..offset+length)` the start of a DNS message (UDP: a whole datagram; TCP: a 2-byte
 * length then the message)? A plausible header (opcode QUERY/NOTIFY/UPDATE, Z zero, a query with
 * RCODE 0, 1..8 questions, sane counts) whose question section parses. No allocation.
 */
function probe(buf: Uint8Array, offset: number, length: number, hint: ProbeHint): number {
  if (hint.transport === 'tcp') return probeTcp(buf, offset, length, hint.port);
  return probeMessage(buf, offset, length, length, hint.port);
}

function probeTcp(buf: Uint8Array, offset: number, length: number, port = 53): number {
  if (length < 2) return PROBE_NEED_MORE;
  const msgLen = u16(buf, offset);
  if (msgLen < HEADER_LEN) return PROBE_NO;
  return probeMessage(buf, offset + 2, Math.min(length - 2, msgLen), msgLen, port);
}

/**
 * Span name and status (SEMCONV.md): `DNS {qtype}` from the request's question, else the response's;
 * error when the RCODE is not NOERROR, with `error.type` `host_not_found` for NXDOMAIN and the RCODE
 * name otherwise. The same for every span kind. Without a response the caller decides (timeout).
 */
function describeSpan(req: L7Message | null, resp: L7Message | null, _kind: number, out: SpanDescription): void {
  const qi = req !== null ? (req.info as DnsInfo) : null;
  const ri = resp !== null ? (resp.info as DnsInfo) : null;
  const qtype = qi !== null && qi.qtype !== '' ? qi.qtype : ri !== null ? ri.qtype : '';
  out.name = qtype !== '' ? `DNS ${qtype}` : 'DNS';
  out.error = false;
  out.errorType = '';
  out.message = '';
  out.kind = 0;
  if (ri !== null && ri.rcode > 0) {
    out.error = true;
    out.errorType = ri.rcode === 3 ? 'host_not_found' : rcodeName(ri.rcode);
    out.message = rcodeName(ri.rcode);
  }
}

/** The DNS parser (no options). */
export const dnsParser: ProtocolParser = {
  name: 'dns',
  transports: ['udp', 'tcp'],
  ports: [53, 5353, 5355],
  probeLimit: PROBE_LIMIT,
  probe,
  createSession(ctx: ParserContext): ParserSession {
    return new DnsSession(ctx, (b, o, l) => probeTcp(b, o, l));
  },
  describeSpan,
};

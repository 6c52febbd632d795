/**
 * The per-flow state of the DNS parser, and the decoding of one DNS message into an `L7Message`.
 *
 * UDP: each `parse` call is one datagram, decoded and consumed whole. TCP (RFC 1035 §4.2.2, RFC 7766):
 * messages are prefixed by a 2-byte length; one call may hold several messages or part of one, so
 * the session decodes every complete message and leaves a partial one unconsumed (offered again).
 * After a gap on TCP the framing is lost: bytes are skipped until a segment starts with something
 * that probes as a length-prefixed DNS message.
 */
import type { L7Message, ParserContext, ParserSession } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE, PROBE_REQUEST, PROBE_RESPONSE } from '../../core/l7/types.js';
import type { Attributes } from '../../core/trace/span.js';
import type { Reader } from './wire.js';
import { HEADER_LEN, rcodeName, readName, renderRdata, typeName } from './wire.js';
import { u16be as u16 } from '../../core/l7/bytes.js';

/** At most this many answers are rendered into `dns.answers`. */
export const MAX_ANSWERS = 32;
/** Records walked per section at most (answers past MAX_ANSWERS are only skipped). */
const MAX_RECORDS = 512;

/** What `describeSpan` needs, kept in `L7Message.info`. */
export interface DnsInfo {
  /** DNS message id. */
  id: number;
  /** QTYPE mnemonic of the first question ('' when the message has no question). */
  qtype: string;
  /** Response code (with the EDNS extended bits); -1 on a query. */
  rcode: number;
  /** True when the message could not be decoded completely. */
  malformed: boolean;
}

/**
 * Decodes the DNS message `buf[base .. end)`. Returns null when it is shorter than a header (counted
 * as an anomaly). Malformed names or records are counted via `anomaly` and decoding stops there,
 * keeping what was read. `wireSize` is the message's size on the wire (with the TCP length prefix).
 */
export function decodeMessage(
  buf: Uint8Array,
  base: number,
  end: number,
  wireSize: number,
  startTs: number,
  endTs: number,
  isMdns: boolean,
  anomaly: (kind: string) => void,
): L7Message | null {
  if (end - base < HEADER_LEN) {
    anomaly('dns_short_message');
    return null;
  }
  const id = u16(buf, base);
  const flags = u16(buf, base + 2);
  const isResponse = (flags & 0x8000) !== 0;
  const qdcount = u16(buf, base + 4);
  const ancount = u16(buf, base + 6);
  const nscount = u16(buf, base + 8);
  const arcount = u16(buf, base + 10);
  const r: Reader = { buf, base, end, pos: base + HEADER_LEN, fault: '' };
  const attrs: Attributes = {};
  const info: DnsInfo = { id, qtype: '', rcode: -1, malformed: false };

  // Question section: the first question names the exchange.
  for (let i = 0; i < qdcount && r.fault === ''; i++) {
    const name = readName(r);
    if (r.fault !== '') {
      if (i === 0 && name !== '') attrs['dns.question.name'] = name;
      break;
    }
    if (r.pos + 4 > end) {
      r.fault = 'dns_record_truncated';
      if (i === 0) attrs['dns.question.name'] = name === '' ? '.' : name;
      break;
    }
    if (i === 0) {
      attrs['dns.question.name'] = name === '' ? '.' : name;
      info.qtype = typeName(u16(buf, r.pos));
      attrs['spanwire.dns.question.type'] = info.qtype;
    }
    r.pos += 4;
  }
  attrs['spanwire.dns.id'] = id;

  if (isResponse) {
    let rcode = flags & 0x000f;
    const answers: string[] = [];
    const total = Math.min(ancount + nscount + arcount, MAX_RECORDS * 3);
    for (let i = 0; i < total && r.fault === ''; i++) {
      readName(r);
      if (r.fault !== '') break;
      const p = r.pos;
      if (p + 10 > end) {
        r.fault = 'dns_record_truncated';
        break;
      }
      const type = u16(buf, p);
      const rdlen = u16(buf, p + 8);
      const rdata = p + 10;
      if (rdata + rdlen > end) {
        r.fault = 'dns_record_truncated';
        break;
      }
      if (i < ancount) {
        if (answers.length < MAX_ANSWERS) answers.push(renderRdata(r, type, rdata, rdlen));
      } else if (i >= ancount + nscount && type === 41) {
        // EDNS OPT (RFC 6891 §6.1.3): the TTL's high byte holds the upper 8 bits of the RCODE.
        rcode |= buf[p + 4] << 4;
      }
      r.pos = rdata + rdlen;
    }
    info.rcode = rcode;
    attrs['spanwire.dns.rcode'] = rcodeName(rcode);
    if (answers.length > 0) attrs['dns.answers'] = answers;
    if ((flags & 0x0200) !== 0) attrs['spanwire.dns.truncated'] = true;
  }
  if (r.fault !== '') {
    info.malformed = true;
    anomaly(r.fault);
  }
  return {
    type: isResponse ? MSG_RESPONSE : MSG_REQUEST,
    sessionId: id,
    startTs,
    endTs,
    size: wireSize,
    attrs,
    // Multicast mDNS queries (sent from port 5353) are answered to the group, not on this flow.
    expectsResponse: !isResponse && !isMdns,
    trace: null,
    afterGap: false,
    info,
  };
}

/** Probe function shape (the parser's own probe, passed in to resynchronise after a TCP gap). */
export type TcpProbe = (buf: Uint8Array, offset: number, length: number) => number;

export class DnsSession implements ParserSession {
  private readonly tcp: boolean;
  private readonly mdns: boolean;
  /** Per direction (0 to server, 1 to client): framing lost after a gap (TCP only). */
  private readonly lost = [false, false];
  private readonly anomaly: (kind: string) => void;

  constructor(
    private readonly ctx: ParserContext,
    private readonly probeTcp: TcpProbe,
  ) {
    const f = ctx.flow;
    this.tcp = f.transport === 'tcp';
    this.mdns = f.portA === 5353 && f.portB === 5353;
    this.anomaly = (kind) => ctx.anomaly(kind);
  }

  parse(toServer: boolean, buf: Uint8Array, offset: number, length: number): number {
    const ctx = this.ctx;
    if (!this.tcp) {
      const m = decodeMessage(buf, offset, offset + length, length, ctx.firstByteTs, ctx.lastByteTs, this.mdns, this.anomaly);
      if (m !== null) ctx.emit(m);
      return length;
    }
    const d = toServer ? 0 : 1;
    if (this.lost[d]) {
      const v = this.probeTcp(buf, offset, length);
      if (v !== PROBE_REQUEST && v !== PROBE_RESPONSE) return length;
      this.lost[d] = false;
    }
    let p = offset;
    const end = offset + length;
    while (end - p >= 2) {
      const len = u16(buf, p);
      if (len < HEADER_LEN) {
        // Not a DNS message length: framing is lost; skip to a recognisable message start.
        this.anomaly('dns_tcp_bad_length');
        this.lost[d] = true;
        return length;
      }
      if (end - p - 2 < len) break;
      const m = decodeMessage(buf, p + 2, p + 2 + len, len + 2, ctx.firstByteTs, ctx.lastByteTs, this.mdns, this.anomaly);
      if (m !== null) ctx.emit(m);
      p += 2 + len;
    }
    return p - offset;
  }

  onGap(toServer: boolean, _length: number): void {
    if (this.tcp) this.lost[toServer ? 0 : 1] = true;
  }

  onEnd(_toServer: boolean): void {
    // Nothing is delimited by the end of the stream; a partial TCP message is dropped.
  }
}

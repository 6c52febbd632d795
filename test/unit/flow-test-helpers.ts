/**
 * Helpers for the flow table tests: packet builders and a recording StreamConsumer.
 * Not a test file itself (vitest only runs *.test.ts).
 */
import { DecodedPacket, IPPROTO_TCP, IPPROTO_UDP } from '../../core/decode/types.js';
import type { Flow, FlowEndReason, StreamConsumer } from '../../core/flow/types.js';

export { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../core/decode/types.js';

/** Parses "10.0.0.1" or an IPv6 text address ("2001:db8::1") into 16 bytes; returns the version. */
export function parseAddress(text: string, out: Uint8Array): 4 | 6 {
  out.fill(0);
  if (!text.includes(':')) {
    const parts = text.split('.').map(Number);
    for (let i = 0; i < 4; i++) out[i] = parts[i];
    return 4;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i] >> 8;
    out[2 * i + 1] = groups[i] & 0xff;
  }
  return 6;
}

export interface PacketSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags?: number;
  seq?: number;
  ack?: number;
  /** Payload bytes present in the buffer. */
  data?: Uint8Array | string;
  /** Wire length (default: data length); larger than data means snap-length truncation. */
  wire?: number;
  ts?: number;
}

const enc = new TextEncoder();

/** Bytes of a string (latin1-ish via UTF-8; tests use ASCII). */
export function bytes(s: string): Uint8Array {
  return enc.encode(s);
}

function build(proto: number, s: PacketSpec): DecodedPacket {
  const p = new DecodedPacket();
  p.ipVersion = parseAddress(s.src, p.srcAddr);
  const v2 = parseAddress(s.dst, p.dstAddr);
  if (v2 !== p.ipVersion) throw new Error('mixed address families');
  p.protocol = proto;
  p.srcPort = s.sport;
  p.dstPort = s.dport;
  p.tcpFlags = s.flags ?? 0;
  p.seq = (s.seq ?? 0) >>> 0;
  p.ack = (s.ack ?? 0) >>> 0;
  const data = typeof s.data === 'string' ? bytes(s.data) : (s.data ?? new Uint8Array(0));
  // Put the payload behind some junk "headers" so offsets matter.
  const buf = new Uint8Array(data.length + 20).fill(0xaa);
  buf.set(data, 14);
  p.buf = buf;
  p.payloadOffset = 14;
  p.payloadLength = data.length;
  p.wireLength = s.wire ?? data.length;
  p.ts = s.ts ?? 0;
  return p;
}

/** A TCP packet. */
export function tcp(s: PacketSpec): DecodedPacket {
  return build(IPPROTO_TCP, s);
}

/** A UDP packet. */
export function udp(s: PacketSpec): DecodedPacket {
  return build(IPPROTO_UDP, s);
}

/** Overwrites the packet's buffer (the table must not keep views into it after `process`). */
export function scribble(p: DecodedPacket): void {
  p.buf.fill(0xee);
}

export type Event =
  | { t: 'start'; flow: Flow }
  | { t: 'data'; flow: Flow; fromA: boolean; bytes: Uint8Array; ts: number }
  | { t: 'gap'; flow: Flow; fromA: boolean; length: number; ts: number }
  | { t: 'fin'; flow: Flow; fromA: boolean; ts: number }
  | { t: 'end'; flow: Flow; reason: FlowEndReason; ts: number };

/** Pieces of one direction's stream: data chunks and gaps, in delivery order. */
export type Piece = { data: Uint8Array } | { gap: number };

/** A StreamConsumer that records everything (copying the bytes). */
export class Recorder implements StreamConsumer {
  readonly events: Event[] = [];
  /** Ended flows, in order. */
  readonly ended: Flow[] = [];

  onFlowStart(flow: Flow): void {
    this.events.push({ t: 'start', flow });
  }
  onData(flow: Flow, fromA: boolean, buf: Uint8Array, offset: number, length: number, ts: number): void {
    if (offset < 0 || length < 0 || offset + length > buf.length) throw new Error('view out of range');
    this.events.push({ t: 'data', flow, fromA, bytes: buf.slice(offset, offset + length), ts });
  }
  onGap(flow: Flow, fromA: boolean, length: number, ts: number): void {
    if (!(length > 0)) throw new Error(`bad gap length ${length}`);
    this.events.push({ t: 'gap', flow, fromA, length, ts });
  }
  onFin(flow: Flow, fromA: boolean, ts: number): void {
    this.events.push({ t: 'fin', flow, fromA, ts });
  }
  onFlowEnd(flow: Flow, reason: FlowEndReason, ts: number): void {
    this.events.push({ t: 'end', flow, reason, ts });
    this.ended.push(flow);
  }

  /** Flows started, in order. */
  flows(): Flow[] {
    return this.events.filter((e) => e.t === 'start').map((e) => e.flow);
  }

  /** Everything delivered for one direction of a flow: chunks and gaps. */
  pieces(flow: Flow, fromA: boolean): Piece[] {
    const out: Piece[] = [];
    for (const e of this.events) {
      if (e.flow !== flow) continue;
      if (e.t === 'data' && e.fromA === fromA) out.push({ data: e.bytes });
      else if (e.t === 'gap' && e.fromA === fromA) out.push({ gap: e.length });
    }
    return out;
  }

  /** The stream of one direction as text; a gap of n bytes shows as "[gap n]". */
  text(flow: Flow, fromA: boolean): string {
    const dec = new TextDecoder();
    return this.pieces(flow, fromA)
      .map((p) => ('data' in p ? dec.decode(p.data) : `[gap ${p.gap}]`))
      .join('');
  }

  /** Event types for one flow, e.g. ['start', 'data', 'fin', 'end']. */
  kinds(flow: Flow): string[] {
    return this.events.filter((e) => e.flow === flow).map((e) => e.t);
  }

  /** Index of the first event matching. */
  indexOf(pred: (e: Event) => boolean): number {
    return this.events.findIndex(pred);
  }
}

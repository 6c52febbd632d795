/**
 * The bounded bidirectional flow table.
 *
 * Groups decoded TCP/UDP packets into flows, decides which side is the client, runs TCP reassembly
 * (./tcp-reassembly.ts) and hands in-order bytes, gaps, FINs and flow ends to a `StreamConsumer`.
 *
 * Lookup allocates nothing: the packet's 5-tuple is hashed from its address bytes and ports into a
 * reused key (./flow-key.ts), and a hit is verified on the full key. Flows sit in one of three
 * doubly-linked lists ordered by last activity (open TCP, closing TCP, UDP), each with its own idle
 * timeout, so idle expiry only ever looks at list heads and eviction of the least recently active
 * flow at `maxFlows` is O(1).
 *
 * After a TCP flow ends by FIN or RST its key is remembered for a short linger (the closing timeout,
 * 10 s by default) as a "closed marker": stray ACKs, FINs and RSTs of the dead connection are
 * absorbed silently, payload is counted as 'tcp_data_after_close' and dropped, and only a new SYN
 * starts a new flow on the same 5-tuple. After the linger, any packet starts a new (mid-stream) flow.
 *
 * Other choices worth knowing:
 * - The key is the 5-tuple (addresses, ports, protocol, IP version); VLAN ids are not part of it.
 * - Roles: a pure SYN's sender is the client, a SYN-ACK's sender the server (ROLE_FROM_HANDSHAKE,
 *   also when the SYN shows up after the flow started). Otherwise ROLE_FROM_PORTS: the one port
 *   that `isServerPort` accepts; else the lower port if below 1024; else the port outside the
 *   ephemeral range (>= 32768) if only one is; else the first packet's destination.
 * - A pure SYN with a new ISN on a live flow ends it (anomaly 'tcp_port_reuse') and starts another.
 * - RST ends the flow at once (holes become gaps; no onFin). Both FINs delivered end it with 'fin';
 *   a hole before a FIN waits for data reordered behind the FIN until the peer ACKs past it, the
 *   caps trip, or the closing timeout ends the flow.
 * - Idle-expired TCP flows end with 'fin' when both sides had sent FIN, else 'idle'.
 * - A TCP RST for an unknown 5-tuple creates no flow ('tcp_rst_without_flow').
 * - Time is the packets' `ts`; the table clock only moves forward, flows keep the latest `ts` seen.
 */
import {
  type DecodedPacket,
  IPPROTO_TCP,
  IPPROTO_UDP,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
  formatAddress,
} from '../decode/types.js';
import { HashIndex, KEY_FROM_A, KeyedNode, PacketKey } from './flow-key.js';
import { TcpDirection, TcpReassembler, seqAdd } from './tcp-reassembly.js';
import {
  DEFAULT_FLOW_LIMITS,
  ROLE_FROM_HANDSHAKE,
  ROLE_FROM_PORTS,
  type Flow,
  type FlowEndReason,
  type FlowLimits,
  type FlowStats,
  type StreamConsumer,
} from './types.js';

/** Idle timeout of a TCP flow once a FIN was seen (capped by `tcpIdleTimeoutNs`). */
export const TCP_CLOSING_TIMEOUT_NS = 10e9;

/** How often `process` runs `expire` by itself, in capture time. */
const EXPIRE_INTERVAL_NS = 1e9;

/** First port of the usual ephemeral (client) port range (Linux: 32768-60999). */
const EPHEMERAL_PORT_MIN = 32768;

/** Options of `FlowTable`. */
export interface FlowTableOptions {
  /** Overrides of `DEFAULT_FLOW_LIMITS`. */
  limits?: Partial<FlowLimits>;
  /** Ports that identify the server side (default: port < 1024). */
  isServerPort?: (port: number) => boolean;
  /**
   * Fixed number of hash buckets (rounded up to a power of two). Default: grows with the table up
   * to one bucket per flow. Meant for tests (1 bucket: every flow collides) and tuning.
   */
  hashBuckets?: number;
}

/** A list of flows ordered by last activity (head: least recent), sharing one idle timeout. */
class FlowList {
  head: FlowEntry | null = null;
  tail: FlowEntry | null = null;
  constructor(readonly timeoutNs: number) {}
}

/** The table's flow object: the public `Flow` plus key, list links and reassembly state. */
class FlowEntry extends KeyedNode implements Flow {
  readonly id: number;
  readonly transport: 'tcp' | 'udp';
  readonly ipVersion: 4 | 6;
  readonly addrA: string;
  readonly portA: number;
  readonly addrB: string;
  readonly portB: number;
  clientIsA: boolean;
  roleSource: number;
  readonly firstTs: number;
  lastTs: number;
  packetsA = 0;
  packetsB = 0;
  bytesA = 0;
  bytesB = 0;
  l7: unknown = null;
  /** The activity list the flow is in (null once ended). */
  list: FlowList | null = null;
  lruPrev: FlowEntry | null = null;
  lruNext: FlowEntry | null = null;
  /** TCP reassembly state of A's and B's streams (null for UDP). */
  readonly dirA: TcpDirection | null;
  readonly dirB: TcpDirection | null;

  constructor(k: PacketKey, pkt: DecodedPacket, id: number, clientIsA: boolean, roleSource: number) {
    super(k);
    this.id = id;
    const tcp = k.proto === IPPROTO_TCP;
    this.transport = tcp ? 'tcp' : 'udp';
    this.ipVersion = k.ver === 6 ? 6 : 4;
    this.addrA = formatAddress(this.ipVersion, pkt.srcAddr);
    this.portA = k.sp;
    this.addrB = formatAddress(this.ipVersion, pkt.dstAddr);
    this.portB = k.dp;
    this.clientIsA = clientIsA;
    this.roleSource = roleSource;
    this.firstTs = pkt.ts;
    this.lastTs = pkt.ts;
    this.dirA = tcp ? new TcpDirection() : null;
    this.dirB = tcp ? new TcpDirection() : null;
  }
}

/** The key of a TCP flow that ended by FIN or RST, remembered until `expiresAt`. */
class ClosedMarker extends KeyedNode {
  prev: ClosedMarker | null = null;
  next: ClosedMarker | null = null;
  constructor(
    k: PacketKey,
    readonly expiresAt: number,
  ) {
    super(k);
  }
}

/**
 * Bounded bidirectional flow table with TCP reassembly. Feed it decoded packets in capture order
 * with `process`; it calls the consumer synchronously. Call `endAll` at the end of the capture.
 */
export class FlowTable {
  /** Counters (live object; read it any time). */
  readonly stats: FlowStats = {
    flowsCreated: 0,
    flowsEnded: 0,
    flowsEvicted: 0,
    duplicateBytes: 0,
    gapBytes: 0,
    gaps: 0,
    outOfOrderSegments: 0,
    anomalies: {},
  };

  private readonly consumer: StreamConsumer;
  private readonly limits: FlowLimits;
  private readonly isServerPort: (port: number) => boolean;
  private readonly reasm: TcpReassembler;
  private readonly key = new PacketKey();
  /** Scratch key for closed markers (`key` may be in use when a flow ends). */
  private readonly markerKey = new PacketKey();
  private readonly flows: HashIndex<FlowEntry>;
  private readonly closed: HashIndex<ClosedMarker>;
  private readonly tcpOpen: FlowList;
  private readonly tcpClosing: FlowList;
  private readonly udp: FlowList;
  private closedHead: ClosedMarker | null = null;
  private closedTail: ClosedMarker | null = null;
  private nextId = 1;
  /** Latest capture time seen. */
  private clock = -Infinity;
  private nextExpireAt = -Infinity;
  /** True while `endAll` runs (no closed markers are kept). */
  private endingAll = false;

  /**
   * @param consumer receives flow starts, stream bytes, gaps, FINs and flow ends
   * @param opts limits (defaults: `DEFAULT_FLOW_LIMITS`), server-port predicate, hash buckets
   * @throws RangeError when a limit is not a positive number
   */
  constructor(consumer: StreamConsumer, opts: FlowTableOptions = {}) {
    this.consumer = consumer;
    const limits: FlowLimits = { ...DEFAULT_FLOW_LIMITS, ...opts.limits };
    for (const [name, value] of Object.entries(limits)) {
      if (typeof value !== 'number' || !(value > 0)) {
        throw new RangeError(`flow limit ${name} must be a positive number (got ${String(value)})`);
      }
    }
    if (!Number.isInteger(limits.maxFlows)) {
      throw new RangeError(`flow limit maxFlows must be an integer (got ${limits.maxFlows})`);
    }
    this.limits = limits;
    this.isServerPort = opts.isServerPort ?? ((port: number) => port < 1024);
    this.reasm = new TcpReassembler(consumer, this.stats, limits);
    this.flows = new HashIndex<FlowEntry>(limits.maxFlows, opts.hashBuckets ?? 0);
    this.closed = new HashIndex<ClosedMarker>(limits.maxFlows, opts.hashBuckets ?? 0);
    this.tcpOpen = new FlowList(limits.tcpIdleTimeoutNs);
    this.tcpClosing = new FlowList(Math.min(TCP_CLOSING_TIMEOUT_NS, limits.tcpIdleTimeoutNs));
    this.udp = new FlowList(limits.udpIdleTimeoutNs);
  }

  /** Flows currently tracked. */
  get size(): number {
    return this.flows.count;
  }

  /** Out-of-order TCP bytes currently buffered across all flows (bounded by maxOutOfOrderBytesTotal). */
  get bufferedBytes(): number {
    return this.reasm.totalOooBytes;
  }

  /**
   * Processes one decoded TCP or UDP packet (`pkt.protocol` 6 or 17; others are counted as
   * 'flow_unsupported_protocol'). The packet's buffer is only read during the call. Runs idle
   * expiry itself about once per second of capture time.
   */
  process(pkt: DecodedPacket): void {
    const ts = pkt.ts;
    if (ts > this.clock) {
      this.clock = ts;
      if (ts >= this.nextExpireAt) {
        this.nextExpireAt = ts + EXPIRE_INTERVAL_NS;
        this.expire(ts);
      }
    }
    const proto = pkt.protocol;
    if (proto === IPPROTO_TCP) this.processTcp(pkt, ts);
    else if (proto === IPPROTO_UDP) this.processUdp(pkt, ts);
    else this.anomaly('flow_unsupported_protocol');
  }

  /**
   * Ends every flow idle for longer than its timeout at capture time `now` (reason 'idle'; 'fin'
   * for a TCP flow whose both sides had sent FIN) and forgets expired closed markers. Cheap when
   * nothing is due: it only looks at list heads.
   */
  expire(now: number): void {
    this.expireList(this.tcpClosing, now);
    this.expireList(this.tcpOpen, now);
    this.expireList(this.udp, now);
    let m = this.closedHead;
    while (m !== null && m.expiresAt <= now) {
      const next = m.next;
      this.removeMarker(m);
      m = next;
    }
  }

  /**
   * Ends every flow (e.g. at the end of the capture): remaining holes are reported as gaps, buffered
   * bytes and seen FINs delivered, then `onFlowEnd(flow, reason, ts)`. The table is empty afterwards.
   */
  endAll(reason: FlowEndReason, ts: number): void {
    this.endingAll = true;
    try {
      for (const list of [this.tcpOpen, this.tcpClosing, this.udp]) {
        while (list.head !== null) this.endFlow(list.head, reason, ts);
      }
    } finally {
      this.endingAll = false;
    }
    this.closed.clear();
    this.closedHead = this.closedTail = null;
  }

  // ---- TCP ---------------------------------------------------------------------------------

  private processTcp(pkt: DecodedPacket, ts: number): void {
    const k = this.key;
    k.load(pkt);
    const flags = pkt.tcpFlags;
    const pureSyn = (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    let f = this.flows.find(k);
    let fromA = this.flows.lastMatch === KEY_FROM_A;
    if (f !== null) {
      if (ts - f.lastTs > f.list!.timeoutNs) {
        this.endFlow(f, this.timeoutReason(f), ts);
        f = null;
      } else if (pureSyn && isNewConnection(fromA ? f.dirA! : f.dirB!, pkt.seq)) {
        // A new connection on the same 5-tuple while we never saw the old one close.
        this.anomaly('tcp_port_reuse');
        this.endFlow(f, this.timeoutReason(f), ts);
        f = null;
      }
    }
    if (f === null) {
      if (this.closed.count > 0) {
        const m = this.closed.find(k);
        if (m !== null) {
          if (!pureSyn) {
            if (pkt.wireLength > 0 && (flags & TCP_RST) === 0) this.anomaly('tcp_data_after_close');
            return;
          }
          this.removeMarker(m);
        }
      }
      if ((flags & TCP_RST) !== 0) {
        this.anomaly('tcp_rst_without_flow');
        return;
      }
      f = this.createFlow(k, pkt, ts, flags);
      fromA = true;
    } else {
      this.touch(f, ts);
    }

    const present = pkt.payloadLength;
    const wireLen = this.countPacket(f, fromA, pkt);
    const d = fromA ? f.dirA! : f.dirB!;
    const peer = fromA ? f.dirB! : f.dirA!;
    const reasm = this.reasm;
    let synOffset = 0;
    if ((flags & TCP_SYN) !== 0) {
      if (f.roleSource < ROLE_FROM_HANDSHAKE) {
        f.clientIsA = pureSyn ? fromA : !fromA;
        f.roleSource = ROLE_FROM_HANDSHAKE;
      }
      reasm.syn(d, pkt.seq >>> 0);
      synOffset = 1;
    }
    if ((flags & TCP_RST) !== 0) {
      this.endFlow(f, 'rst', ts);
      return;
    }
    if ((flags & TCP_ACK) !== 0) reasm.ack(f, peer, !fromA, pkt);
    if (wireLen > 0) {
      if (present < wireLen) this.anomaly('tcp_truncated_segment');
      reasm.data(f, d, fromA, pkt, synOffset);
    }
    if ((flags & TCP_FIN) !== 0) {
      reasm.fin(f, d, fromA, seqAdd(pkt.seq, synOffset + wireLen), ts);
      if (f.list !== this.tcpClosing) this.moveTo(f, this.tcpClosing);
    }
    if (d.finDelivered && peer.finDelivered) this.endFlow(f, 'fin', ts);
  }

  /** Counts a packet on its side of the flow; returns its payload length on the wire (>= bytes present). */
  private countPacket(f: FlowEntry, fromA: boolean, pkt: DecodedPacket): number {
    const wireLen = pkt.wireLength < pkt.payloadLength ? pkt.payloadLength : pkt.wireLength;
    if (fromA) {
      f.packetsA++;
      f.bytesA += wireLen;
    } else {
      f.packetsB++;
      f.bytesB += wireLen;
    }
    return wireLen;
  }

  // ---- UDP ---------------------------------------------------------------------------------

  private processUdp(pkt: DecodedPacket, ts: number): void {
    const k = this.key;
    k.load(pkt);
    let f = this.flows.find(k);
    let fromA = this.flows.lastMatch === KEY_FROM_A;
    if (f !== null && ts - f.lastTs > f.list!.timeoutNs) {
      this.endFlow(f, 'idle', ts);
      f = null;
    }
    if (f === null) {
      f = this.createFlow(k, pkt, ts, 0);
      fromA = true;
    } else {
      this.touch(f, ts);
    }
    const present = pkt.payloadLength;
    const wireLen = this.countPacket(f, fromA, pkt);
    this.consumer.onData(f, fromA, pkt.buf, pkt.payloadOffset, present, ts);
    if (wireLen > present) {
      this.anomaly('udp_truncated_datagram');
      this.stats.gaps++;
      this.stats.gapBytes += wireLen - present;
      this.consumer.onGap(f, fromA, wireLen - present, ts);
    }
  }

  // ---- flows -------------------------------------------------------------------------------

  private createFlow(k: PacketKey, pkt: DecodedPacket, ts: number, tcpFlags: number): FlowEntry {
    if (this.flows.count >= this.limits.maxFlows) this.evictOne(ts);
    let clientIsA: boolean;
    let roleSource: number;
    if ((tcpFlags & TCP_SYN) !== 0) {
      // SYN sender: client; SYN-ACK sender: server.
      clientIsA = (tcpFlags & TCP_ACK) === 0;
      roleSource = ROLE_FROM_HANDSHAKE;
    } else {
      clientIsA = serverIsDestination(k.sp, k.dp, this.isServerPort);
      roleSource = ROLE_FROM_PORTS;
    }
    const f = new FlowEntry(k, pkt, this.nextId++, clientIsA, roleSource);
    this.flows.insert(f);
    this.append(k.proto === IPPROTO_TCP ? this.tcpOpen : this.udp, f);
    this.stats.flowsCreated++;
    this.consumer.onFlowStart(f);
    return f;
  }

  /** Ends `f`: flushes both TCP streams, unlinks it, calls onFlowEnd, keeps a closed marker. */
  private endFlow(f: FlowEntry, reason: FlowEndReason, ts: number): void {
    this.flows.remove(f);
    this.unlink(f);
    f.list = null;
    const a = f.dirA;
    const b = f.dirB;
    if (a !== null && b !== null) {
      this.reasm.flush(f, a, true, ts);
      this.reasm.flush(f, b, false, ts);
    }
    this.stats.flowsEnded++;
    this.consumer.onFlowEnd(f, reason, ts);
    if (a !== null && (reason === 'fin' || reason === 'rst') && !this.endingAll) this.addMarker(f, ts);
  }

  /** Evicts the least recently active flow (the oldest of the three list heads). */
  private evictOne(ts: number): void {
    let victim = this.tcpOpen.head;
    const c = this.tcpClosing.head;
    const u = this.udp.head;
    if (c !== null && (victim === null || c.lastTs < victim.lastTs)) victim = c;
    if (u !== null && (victim === null || u.lastTs < victim.lastTs)) victim = u;
    if (victim === null) return;
    this.stats.flowsEvicted++;
    this.endFlow(victim, 'evicted', ts);
  }

  private expireList(list: FlowList, now: number): void {
    const timeout = list.timeoutNs;
    let f = list.head;
    while (f !== null && now - f.lastTs > timeout) {
      this.endFlow(f, this.timeoutReason(f), now);
      f = list.head;
    }
  }

  /** 'fin' when both sides of a TCP flow sent FIN, else 'idle'. */
  private timeoutReason(f: FlowEntry): FlowEndReason {
    return f.dirA !== null && f.dirA.finSeen && f.dirB!.finSeen ? 'fin' : 'idle';
  }

  // ---- activity lists ----------------------------------------------------------------------

  private touch(f: FlowEntry, ts: number): void {
    if (ts > f.lastTs) f.lastTs = ts;
    const list = f.list!;
    if (list.tail !== f) {
      this.unlink(f);
      this.append(list, f);
    }
  }

  private moveTo(f: FlowEntry, list: FlowList): void {
    this.unlink(f);
    this.append(list, f);
  }

  private append(list: FlowList, f: FlowEntry): void {
    f.list = list;
    f.lruNext = null;
    f.lruPrev = list.tail;
    if (list.tail !== null) list.tail.lruNext = f;
    else list.head = f;
    list.tail = f;
  }

  private unlink(f: FlowEntry): void {
    const list = f.list;
    if (list === null) return;
    const prev = f.lruPrev;
    const next = f.lruNext;
    if (prev !== null) prev.lruNext = next;
    else list.head = next;
    if (next !== null) next.lruPrev = prev;
    else list.tail = prev;
    f.lruPrev = f.lruNext = null;
  }

  // ---- closed markers ----------------------------------------------------------------------

  private addMarker(f: FlowEntry, ts: number): void {
    if (this.closed.count >= this.limits.maxFlows && this.closedHead !== null) this.removeMarker(this.closedHead);
    const k = this.markerKey;
    k.ver = f.kver;
    k.proto = f.kproto;
    k.s0 = f.ka0;
    k.s1 = f.ka1;
    k.s2 = f.ka2;
    k.s3 = f.ka3;
    k.sp = f.kpa;
    k.d0 = f.kb0;
    k.d1 = f.kb1;
    k.d2 = f.kb2;
    k.d3 = f.kb3;
    k.dp = f.kpb;
    k.hash = f.hash;
    const m = new ClosedMarker(k, ts + this.tcpClosing.timeoutNs);
    this.closed.insert(m);
    m.prev = this.closedTail;
    if (this.closedTail !== null) this.closedTail.next = m;
    else this.closedHead = m;
    this.closedTail = m;
  }

  private removeMarker(m: ClosedMarker): void {
    this.closed.remove(m);
    if (m.prev !== null) m.prev.next = m.next;
    else this.closedHead = m.next;
    if (m.next !== null) m.next.prev = m.prev;
    else this.closedTail = m.prev;
    m.prev = m.next = null;
  }

  private anomaly(kind: string): void {
    const a = this.stats.anomalies;
    a[kind] = (a[kind] ?? 0) + 1;
  }
}

/**
 * A pure SYN with sequence `seq` from side `d` of an existing flow starts a new connection unless
 * it repeats the SYN already seen, or matches where that side's stream was inferred to start.
 */
function isNewConnection(d: TcpDirection, seq: number): boolean {
  if (d.synSeen) return d.isn !== seq >>> 0;
  return d.baseKnown && d.startSeq !== seqAdd(seq, 1);
}

/**
 * Role from ports: true when the destination of the first packet is the server. Exactly one port
 * satisfying `isServerPort` is the server; else the lower port when it is below 1024; else the
 * port outside the ephemeral range (>= 32768) when only one is; else the destination.
 */
function serverIsDestination(sp: number, dp: number, isServerPort: (port: number) => boolean): boolean {
  const ss = isServerPort(sp);
  const ds = isServerPort(dp);
  if (ss !== ds) return ds;
  if (sp !== dp) {
    if ((sp < dp ? sp : dp) < 1024) return dp < sp;
    const se = sp >= EPHEMERAL_PORT_MIN;
    const de = dp >= EPHEMERAL_PORT_MIN;
    if (se !== de) return se;
  }
  return true;
}

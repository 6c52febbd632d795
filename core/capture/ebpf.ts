/**
 * Live capture with eBPF: the native addon drains spanwire's ring buffer (syscall data of sockets,
 * socket lifecycle, TLS plaintext from the SSL uprobes) and hands JS one Buffer per drain (format in
 * native/README.md). Each socket of each process becomes a flow of its own, fed as ordered byte
 * streams straight into L7 dispatch (no packets, no reassembly): the local side is A, the remote B;
 * the client side comes from connect/accept when seen, else from the ports (and then the payload).
 * TCP sequence numbers tell lost or truncated bytes, which become gaps. Spans of such flows are
 * observed in the process: CLIENT in the client process, SERVER in the server process, with the
 * process's resource (process.pid, process.executable.name, ...).
 */
import type { Flow, FlowObserver, StreamConsumer } from '../flow/types.js';
import { ROLE_FROM_HANDSHAKE, ROLE_FROM_PORTS } from '../flow/types.js';
import { formatAddress } from '../decode/types.js';
import type { Resource } from '../trace/span.js';
import type { ProcessTable } from './process-info.js';
import type { TimeBase } from './types.js';

// ---- the event record (native/bpf/events.h, little-endian) ------------------------------------
export const EV_TS_ENTER = 0;
export const EV_TS_EXIT = 8;
export const EV_PID = 16;
export const EV_TID = 20;
export const EV_FD = 24;
export const EV_KIND = 28;
export const EV_DIRECTION = 30;
export const EV_SYSCALL = 32;
export const EV_FLAGS = 36;
export const EV_SPORT = 40;
export const EV_DPORT = 42;
export const EV_SADDR = 44;
export const EV_DADDR = 60;
export const EV_TCP_SEQ = 76;
export const EV_TOTAL_LEN = 80;
export const EV_CAPTURED_LEN = 84;
export const EV_SOCK_ID = 96;
export const EV_COMM = 104;
export const EV_HEADER = 120;

export const KIND_DATA = 1;
export const KIND_CONNECT = 2;
export const KIND_ACCEPT = 3;
export const KIND_CLOSE = 4;
export const KIND_SSL_DATA = 5;

export const FLAG_TRUNCATED = 1;
export const FLAG_IPV6 = 2;
export const FLAG_UDP = 4;

/** Direction: bytes the local process wrote (egress) or read (ingress). */
export const DIR_EGRESS = 0;

export interface EbpfStats {
  events: number;
  dataEvents: number;
  sslEvents: number;
  bytes: number;
  sockets: number;
  truncatedEvents: number;
  gapBytes: number;
  /** Records that did not fit their batch (never expected; counted, the batch rest skipped). */
  malformed: number;
  /** Sockets dropped because the table was full. */
  socketsEvicted: number;
  /** Socket objects reused by the kernel for another socket before a CLOSE was seen. */
  socketsReused: number;
  /** TCP sequence jumps too large to be lost events (the sequence was re-read): followed without a gap. */
  seqResets: number;
}

interface SocketState {
  flow: Flow & { observer: FlowObserver };
  /** Owner and ports when created: a struct sock freed (its process exited without close()) and reused for another socket must not continue the old flow. */
  pid: number;
  lport: number;
  rport: number;
  /** Next expected TCP sequence number per direction (egress, ingress), or -1 unknown. */
  seq: [number, number];
  lastTs: number;
  tls: boolean;
}

const MAX_SOCKETS = 65536;
/** A sequence jump up to this is lost data (events dropped); beyond it the sequence itself is suspect. */
const MAX_GAP = 64 << 20;
const IDLE_NS = 300e9;

/**
 * An address of the event: IPv4 in the first 4 bytes, or IPv6; an IPv4-mapped IPv6 address (a
 * dual-stack socket talking IPv4) is written as the IPv4 address, as packet captures see it.
 */
export function socketAddress(b: Uint8Array, p: number, v6: boolean): string {
  if (v6) {
    let mapped = b[p + 10] === 0xff && b[p + 11] === 0xff;
    for (let i = 0; i < 10 && mapped; i++) if (b[p + i] !== 0) mapped = false;
    if (!mapped) return formatAddress(6, b.subarray(p, p + 16));
    p += 12;
  }
  return formatAddress(4, b.subarray(p, p + 4));
}

/** Converts CLOCK_MONOTONIC ns (bpf_ktime_get_ns) to the pipeline's relative ns. */
export class MonotonicClock {
  /** Wall-clock ns minus monotonic ns, measured at start (process.hrtime is CLOCK_MONOTONIC on Linux). */
  readonly offsetNs: number;

  constructor(private readonly timeBase: TimeBase) {
    this.offsetNs = Date.now() * 1e6 - Number(process.hrtime.bigint());
  }

  toRel(monoNs: number): number {
    const wall = monoNs + this.offsetNs;
    const sec = Math.floor(wall / 1e9);
    return this.timeBase.toRel(sec, wall - sec * 1e9);
  }
}

export class EbpfSocketStreams {
  readonly stats: EbpfStats = { events: 0, dataEvents: 0, sslEvents: 0, bytes: 0, sockets: 0, truncatedEvents: 0, gapBytes: 0, malformed: 0, socketsEvicted: 0, socketsReused: 0, seqResets: 0 };
  private readonly sockets = new Map<number, SocketState>();
  /** TLS plaintext flows, by the socket key. */
  private readonly tlsSockets = new Map<number, SocketState>();
  /** (pid, fd) -> socket key, for SSL events that carry no socket. */
  private readonly fds = new Map<number, number>();
  /** Sockets whose role came from connect/accept before their first data: key -> local is client. */
  private readonly roles = new Map<number, boolean>();
  private nextFlowId = 1;
  private lastTs = 0;

  constructor(
    private readonly consumer: StreamConsumer,
    private readonly clock: MonotonicClock,
    private readonly processes: ProcessTable,
    private readonly isServerPort: (port: number) => boolean,
  ) {}

  /** Walks one batch of `[u32 recordLen][record][pad to 8]` records. */
  onBatch(batch: Uint8Array): void {
    const dv = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
    let p = 0;
    while (p + 4 + EV_HEADER <= batch.length) {
      const len = dv.getUint32(p, true);
      const rec = p + 4;
      if (len < EV_HEADER || rec + len > batch.length || EV_HEADER + dv.getUint32(rec + EV_CAPTURED_LEN, true) > len) {
        this.stats.malformed++;
        return;
      }
      this.onEvent(batch, dv, rec);
      p = (rec + len + 7) & ~7;
    }
  }

  /** One event at `batch[r]`. */
  onEvent(b: Uint8Array, dv: DataView, r: number): void {
    this.stats.events++;
    const kind = dv.getUint16(r + EV_KIND, true);
    const pid = dv.getUint32(r + EV_PID, true);
    const fd = dv.getUint32(r + EV_FD, true);
    // The struct sock pointer: kernel addresses have their top 16 bits set, the rest fits a double exactly.
    const key = (dv.getUint32(r + EV_SOCK_ID + 4, true) & 0xffff) * 0x100000000 + dv.getUint32(r + EV_SOCK_ID, true);
    const fdKey = pid * 65536 + (fd & 0xffff);
    switch (kind) {
      case KIND_CONNECT:
      case KIND_ACCEPT:
        if (key !== 0) {
          if (this.roles.size >= MAX_SOCKETS) this.roles.clear();
          this.roles.set(key, kind === KIND_CONNECT);
          this.fds.set(fdKey, key);
        }
        return;
      case KIND_CLOSE: {
        const k = key !== 0 ? key : (this.fds.get(fdKey) ?? 0);
        this.fds.delete(fdKey);
        this.roles.delete(k);
        const ts = this.clock.toRel(this.u64(dv, r + EV_TS_EXIT));
        this.end(this.sockets, k, ts);
        this.end(this.tlsSockets, k, ts);
        return;
      }
      case KIND_DATA:
      case KIND_SSL_DATA: {
        const tls = kind === KIND_SSL_DATA;
        let k = key;
        if (k === 0) k = this.fds.get(fdKey) ?? 0;
        else if (!tls) {
          if (this.fds.size >= MAX_SOCKETS) this.fds.clear();
          this.fds.set(fdKey, k);
        }
        if (k === 0) return; // an SSL call whose socket is unknown (not yet seen): nothing to tie it to
        const egress = dv.getUint16(r + EV_DIRECTION, true) === DIR_EGRESS;
        const ts = this.clock.toRel(this.u64(dv, r + (egress ? EV_TS_ENTER : EV_TS_EXIT)));
        if (ts > this.lastTs) this.lastTs = ts;
        const st = this.socket(tls ? this.tlsSockets : this.sockets, k, b, dv, r, ts, tls);
        if (st === null) return;
        if (tls) this.stats.sslEvents++;
        else this.stats.dataEvents++;
        this.data(st, b, dv, r, egress, ts);
        return;
      }
      default:
        return;
    }
  }

  private u64(dv: DataView, p: number): number {
    return dv.getUint32(p + 4, true) * 0x100000000 + dv.getUint32(p, true);
  }

  /** The socket's state, creating its flow on first data. */
  private socket(map: Map<number, SocketState>, key: number, b: Uint8Array, dv: DataView, r: number, ts: number, tls: boolean): SocketState | null {
    let st = map.get(key);
    const pid = dv.getUint32(r + EV_PID, true);
    const lport = dv.getUint16(r + EV_SPORT, true);
    const rport = dv.getUint16(r + EV_DPORT, true);
    if (st !== undefined) {
      // The same kernel socket object, but another owner or other ports: the old socket is gone (its
      // process exited without close(), so no CLOSE came) and the memory was reused.
      if (st.pid === pid && ((lport === 0 && rport === 0) || (st.lport === lport && st.rport === rport))) return st;
      this.stats.socketsReused++;
      this.end(map, key, ts);
    }
    if (map.size >= MAX_SOCKETS) {
      // Full: the least recently active socket (first in insertion order after refreshes) goes.
      const oldest = map.keys().next().value as number;
      this.end(map, oldest, ts);
      this.stats.socketsEvicted++;
    }
    const flags = dv.getUint32(r + EV_FLAGS, true);
    const v6 = (flags & FLAG_IPV6) !== 0;
    const local = socketAddress(b, r + EV_SADDR, v6);
    const remote = socketAddress(b, r + EV_DADDR, v6);
    let comm = '';
    for (let i = 0; i < 16 && b[r + EV_COMM + i] !== 0; i++) comm += String.fromCharCode(b[r + EV_COMM + i]);
    const role = this.roles.get(key);
    let clientIsA: boolean;
    let roleSource = ROLE_FROM_HANDSHAKE;
    if (role !== undefined) clientIsA = role;
    else {
      // Established before spanwire started: the well-known / registered port is the server's.
      roleSource = ROLE_FROM_PORTS;
      const ls = this.isServerPort(lport);
      const rs = this.isServerPort(rport);
      clientIsA = ls !== rs ? rs : lport > rport;
    }
    // TLS plaintext: the socket's own flow knows the endpoints (an SSL event may carry none).
    const plain = tls ? this.sockets.get(key) : undefined;
    const pf = plain?.flow;
    const flow = {
      id: this.nextFlowId++,
      transport: pf !== undefined ? pf.transport : (flags & FLAG_UDP) !== 0 ? 'udp' : 'tcp',
      ipVersion: pf !== undefined ? pf.ipVersion : v6 ? 6 : 4,
      addrA: pf !== undefined ? pf.addrA : local,
      portA: pf !== undefined ? pf.portA : lport,
      addrB: pf !== undefined ? pf.addrB : remote,
      portB: pf !== undefined ? pf.portB : rport,
      clientIsA: pf !== undefined ? pf.clientIsA : clientIsA,
      roleSource: pf !== undefined ? pf.roleSource : roleSource,
      firstTs: ts,
      lastTs: ts,
      packetsA: 0,
      packetsB: 0,
      bytesA: 0,
      bytesB: 0,
      l7: null,
      observer: { resource: this.processes.resource(pid, comm), localIsA: true, observation: tls ? 'process_tls' : 'process' },
    } as Flow & { observer: FlowObserver };
    st = { flow, pid, lport: flow.portA, rport: flow.portB, seq: [-1, -1], lastTs: ts, tls };
    map.set(key, st);
    this.stats.sockets++;
    this.consumer.onFlowStart(flow);
    return st;
  }

  private data(st: SocketState, b: Uint8Array, dv: DataView, r: number, egress: boolean, ts: number): void {
    const flow = st.flow;
    let total = dv.getUint32(r + EV_TOTAL_LEN, true);
    let captured = dv.getUint32(r + EV_CAPTURED_LEN, true);
    let off = r + EV_HEADER;
    const d = egress ? 0 : 1;
    if (flow.transport === 'tcp' && !st.tls) {
      const seq = dv.getUint32(r + EV_TCP_SEQ, true);
      const expected = st.seq[d];
      let behind = 0;
      if (expected >= 0 && seq !== expected) {
        const ahead = (seq - expected) >>> 0;
        if (ahead <= MAX_GAP) {
          // Bytes in between were never seen (a lost event): a gap of known length.
          this.stats.gapBytes += ahead;
          this.consumer.onGap(flow, egress, ahead, ts);
        } else if (ahead < 0x80000000) {
          // Far more than lost events can explain: the sequence number is not this stream's (re-read). Follow it.
          this.stats.seqResets++;
        } else {
          // Behind: bytes already delivered (a duplicate): only what is new.
          behind = (expected - seq) >>> 0;
          if (behind > MAX_GAP) {
            this.stats.seqResets++;
            behind = 0;
          }
        }
      }
      if (behind >= total) return;
      st.seq[d] = (seq + total) >>> 0;
      if (behind > 0) {
        const skip = Math.min(behind, captured);
        off += skip;
        captured -= skip;
        total -= behind;
      }
    }
    if (egress) {
      flow.packetsA++;
      flow.bytesA += total;
    } else {
      flow.packetsB++;
      flow.bytesB += total;
    }
    flow.lastTs = ts;
    st.lastTs = ts;
    this.stats.bytes += captured;
    if (captured > 0) this.consumer.onData(flow, egress, b, off, captured, ts);
    if (total > captured && flow.transport === 'tcp') {
      // Truncated at the capture size: the rest of the bytes are a gap.
      this.stats.truncatedEvents++;
      this.stats.gapBytes += total - captured;
      this.consumer.onGap(flow, egress, total - captured, ts);
    }
  }

  private end(map: Map<number, SocketState>, key: number, ts: number): void {
    const st = map.get(key);
    if (st === undefined) return;
    map.delete(key);
    this.consumer.onFin(st.flow, true, ts);
    this.consumer.onFin(st.flow, false, ts);
    this.consumer.onFlowEnd(st.flow, 'fin', ts);
  }

  /** Ends sockets idle for longer than the idle timeout (live capture calls it periodically). */
  expire(now: number): void {
    for (const map of [this.sockets, this.tlsSockets]) {
      for (const [k, st] of map) if (now - st.lastTs > IDLE_NS) this.end(map, k, st.lastTs);
    }
  }

  /** Stop: every socket ends (messages cut short are reported). */
  endAll(ts: number): void {
    for (const map of [this.sockets, this.tlsSockets]) for (const k of [...map.keys()]) this.end(map, k, ts);
  }

  get latestTs(): number {
    return this.lastTs;
  }
}

/**
 * TCP stream reassembly, one `TcpDirection` per side of a flow.
 *
 * Sequence numbers are uint32 and wrap; every comparison is modular (`seqDiff`). In-order bytes are
 * handed to the consumer as views into the packet buffer (no copy); out-of-order bytes are copied
 * into disjoint, sorted pieces and delivered when the hole before them fills or is declared a gap.
 *
 * A hole becomes a gap (`StreamConsumer.onGap` with its exact length) when:
 * - the peer has acknowledged bytes beyond it (they were sent but not captured),
 * - the buffered out-of-order bytes or pieces exceed the per-direction caps or the global cap,
 * - the flow ends (RST, idle, eviction, end of capture, or after a FIN whose hole was never filled).
 * A segment cut by the snap length delivers its present bytes, then its missing tail as a gap.
 *
 * Times: each buffered piece and a seen FIN keep their capture time. Bytes that become deliverable
 * because a late segment filled the hole before them carry the filling segment's time (they were
 * available in order only then); bytes delivered after a declared gap carry their own capture time,
 * and the gap itself the time of the first piece (or FIN) after the hole. Every time delivered
 * (onData, onGap, onFin) is clamped so that the times of one direction never decrease.
 */
import type { DecodedPacket } from '../decode/types.js';
import type { Flow, FlowLimits, FlowStats, StreamConsumer } from './types.js';

/** Signed distance `a - b` between two uint32 sequence numbers (modular, in [-2^31, 2^31)). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** `a + n` as a uint32 sequence number. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/**
 * One buffered out-of-order piece covering `[seq, seq + len)`. `data` holds a copy of the bytes, or
 * is null when the bytes are known to be lost (the tail of a snap-length-truncated segment). `ts` is
 * the capture time of the segment the piece came from.
 */
export class OooPiece {
  constructor(
    readonly seq: number,
    readonly len: number,
    readonly data: Uint8Array | null,
    readonly ts: number,
  ) {}
}

/** Reassembly state of one direction of a TCP flow. All fields are set here (stable shape). */
export class TcpDirection {
  /** True once the start of the stream is known (SYN, peer ACK or first data). */
  baseKnown = false;
  /** Sequence number of the first stream byte (bytes before it are 'tcp_data_before_stream_start'). */
  startSeq = 0;
  /** Next stream byte expected (everything before it was delivered or reported as a gap). */
  nextSeq = 0;
  /** A SYN was seen from this side; `isn` is its sequence number. */
  synSeen = false;
  isn = 0;
  /** The peer has acknowledged this side's bytes up to `acked` (exclusive). */
  ackKnown = false;
  acked = 0;
  /** A FIN was seen at sequence `finSeq`; `finDelivered` once onFin was called. */
  finSeen = false;
  finSeq = 0;
  finDelivered = false;
  /** Capture time of the FIN (meaningful once `finSeen`). */
  finTs = 0;
  /** Latest time passed to the consumer for this direction (times delivered never decrease). */
  lastTs = -Infinity;
  /** Out-of-order pieces, sorted by seq, disjoint, all after `nextSeq` (null until first needed). */
  pieces: OooPiece[] | null = null;
  /** Bytes held in `pieces` (copies). */
  oooBytes = 0;
}

/**
 * The time to deliver something of `d` with, given its own time `ts`: `ts`, but no earlier than the
 * last time delivered for `d`. Records the result as the last time delivered.
 */
function stamp(d: TcpDirection, ts: number): number {
  const last = d.lastTs;
  if (ts < last) return last;
  d.lastTs = ts;
  return ts;
}

/**
 * The reassembly logic shared by all flows of a table: owns the consumer edge for TCP data, the
 * counters and the global out-of-order byte budget.
 */
export class TcpReassembler {
  /** Out-of-order bytes buffered across all flows. */
  totalOooBytes = 0;

  constructor(
    private readonly consumer: StreamConsumer,
    private readonly stats: FlowStats,
    private readonly limits: FlowLimits,
  ) {}

  /** A SYN from `d`'s side with sequence `seq`: the stream starts at seq + 1 unless already known. */
  syn(d: TcpDirection, seq: number): void {
    if (!d.synSeen) {
      d.synSeen = true;
      d.isn = seq;
    }
    if (!d.baseKnown) {
      d.baseKnown = true;
      d.startSeq = d.nextSeq = seqAdd(seq, 1);
    }
  }

  /**
   * `pkt`, sent by the peer of `d`, acknowledges `pkt.ack` (bytes of `d`'s stream before it were
   * received). Sets the start of `d`'s stream if nothing of it was seen yet; declares holes the ACK
   * proves lost (stamped with the capture times of what follows them, not the ACK's). (Takes the
   * packet rather than numbers so no number is boxed per call.)
   */
  ack(flow: Flow, d: TcpDirection, fromA: boolean, pkt: DecodedPacket): void {
    const ack = pkt.ack >>> 0;
    if (!d.ackKnown || seqDiff(ack, d.acked) > 0) {
      d.ackKnown = true;
      d.acked = ack;
    }
    if (!d.baseKnown) {
      d.baseKnown = true;
      d.startSeq = d.nextSeq = ack;
      return;
    }
    if (seqDiff(d.acked, d.nextSeq) > 0) this.resolveAcked(flow, d, fromA);
  }

  /**
   * The payload of `pkt`, a segment from `d`'s side: its stream bytes start at `pkt.seq + synOffset`
   * (1 when the segment carries a SYN); `pkt.wireLength` bytes were sent, the first
   * `pkt.payloadLength` of them are in `pkt.buf` at `pkt.payloadOffset`. In-order bytes are passed
   * on as a view of `pkt.buf`; out-of-order bytes are copied.
   */
  data(flow: Flow, d: TcpDirection, fromA: boolean, pkt: DecodedPacket, synOffset: number): void {
    const seq = seqAdd(pkt.seq, synOffset);
    let present = pkt.payloadLength;
    let wireLen = pkt.wireLength;
    if (wireLen < present) wireLen = present;
    if (wireLen === 0) return;
    if (!d.baseKnown) {
      d.baseKnown = true;
      d.startSeq = d.nextSeq = seq;
    }
    if (d.finSeen) {
      const beyond = seqDiff(seqAdd(seq, wireLen), d.finSeq);
      if (beyond > 0) {
        this.anomaly('tcp_data_after_fin');
        wireLen -= beyond;
        if (wireLen <= 0) return;
        if (present > wireLen) present = wireLen;
      }
    }
    const rel = seqDiff(seq, d.nextSeq);
    if (rel <= 0) {
      // In order (possibly overlapping what was already delivered).
      const trim = -rel;
      if (trim >= wireLen) {
        this.old(d, seq, wireLen);
        return;
      }
      if (trim > 0) this.old(d, seq, trim);
      // From here on everything delivered for this segment (and the buffered pieces it releases,
      // which became available in order only now) is stamped no earlier than this packet.
      const ts = stamp(d, pkt.ts);
      if (trim < present) {
        this.consumer.onData(flow, fromA, pkt.buf, pkt.payloadOffset + trim, present - trim, ts);
      }
      d.nextSeq = seqAdd(seq, wireLen);
      const missing = wireLen - (trim > present ? trim : present);
      if (missing > 0) this.gap(flow, fromA, missing, ts);
      const pieces = d.pieces;
      if (pieces !== null && pieces.length > 0) this.drain(flow, d, fromA);
      if (d.finSeen && !d.finDelivered && d.nextSeq === d.finSeq) this.deliverFin(flow, d, fromA);
      return;
    }
    this.buffer(d, rel, wireLen, present, pkt.buf, pkt.payloadOffset, pkt.ts);
    if (d.ackKnown && seqDiff(d.acked, d.nextSeq) > 0) this.resolveAcked(flow, d, fromA);
    this.enforceCaps(flow, d, fromA);
  }

  /**
   * A FIN from `d`'s side at `finSeq` (the sequence number after its last data byte), captured at
   * `ts`. onFin is called once every byte before it was delivered or declared lost.
   */
  fin(flow: Flow, d: TcpDirection, fromA: boolean, finSeq: number, ts: number): void {
    if (d.finSeen) {
      if (finSeq !== d.finSeq) this.anomaly('tcp_fin_moved');
      return;
    }
    if (!d.baseKnown) {
      d.baseKnown = true;
      d.startSeq = d.nextSeq = finSeq;
    }
    if (seqDiff(finSeq, d.nextSeq) < 0) {
      // Bytes past the FIN were already delivered: inconsistent; end the stream where it is.
      this.anomaly('tcp_fin_before_delivered_data');
      finSeq = d.nextSeq;
    }
    d.finSeen = true;
    d.finSeq = finSeq;
    d.finTs = ts;
    // Drop buffered bytes beyond the FIN.
    const pieces = d.pieces;
    if (pieces !== null && pieces.length > 0) {
      const limit = seqDiff(finSeq, d.nextSeq);
      let dropped = false;
      for (let i = pieces.length - 1; i >= 0; i--) {
        const p = pieces[i];
        const start = seqDiff(p.seq, d.nextSeq);
        if (start + p.len <= limit) break;
        dropped = true;
        this.release(d, p);
        if (start >= limit) {
          pieces.pop();
        } else {
          const keep = limit - start;
          const data = p.data === null ? null : p.data.subarray(0, keep);
          const cut = new OooPiece(p.seq, keep, data, p.ts);
          pieces[i] = cut;
          this.hold(d, cut);
        }
      }
      if (dropped) this.anomaly('tcp_data_after_fin');
    }
    if (d.nextSeq === finSeq) this.deliverFin(flow, d, fromA);
    else if (d.ackKnown && seqDiff(d.acked, d.nextSeq) > 0) this.resolveAcked(flow, d, fromA);
  }

  /**
   * Ends `d`'s stream for good (the flow is ending): every remaining hole becomes a gap, buffered
   * bytes are delivered, and a FIN that was seen is delivered after the bytes before it. All of them
   * carry their own capture times (clamped to be non-decreasing), not `_ts`, the time the flow ended.
   */
  flush(flow: Flow, d: TcpDirection, fromA: boolean, _ts: number): void {
    const pieces = d.pieces;
    if (pieces !== null) {
      while (pieces.length > 0) this.declareFirstHole(flow, d, fromA);
    }
    if (d.finSeen && !d.finDelivered) {
      const hole = seqDiff(d.finSeq, d.nextSeq);
      if (hole > 0) {
        this.gap(flow, fromA, hole, stamp(d, d.finTs));
        d.nextSeq = d.finSeq;
      }
      this.deliverFin(flow, d, fromA);
    }
  }

  // ---- internals ---------------------------------------------------------------------------

  /** Counts `n` already-passed bytes starting at `seq`: duplicates, or before the stream start. */
  private old(d: TcpDirection, seq: number, n: number): void {
    let before = seqDiff(d.startSeq, seq);
    if (before > 0) {
      if (before > n) before = n;
      this.anomaly('tcp_data_before_stream_start');
      n -= before;
    }
    this.stats.duplicateBytes += n;
  }

  /**
   * Stores the uncovered parts of a segment captured at `ts`, starting `rel` (> 0) bytes after
   * nextSeq. Parts already buffered are counted as duplicates.
   */
  private buffer(
    d: TcpDirection,
    rel: number,
    wireLen: number,
    present: number,
    buf: Uint8Array,
    off: number,
    ts: number,
  ): void {
    let pieces = d.pieces;
    if (pieces === null) pieces = d.pieces = [];
    const base = d.nextSeq;
    const end = rel + wireLen;
    const presentEnd = rel + present;
    let n = pieces.length;
    // First piece ending after rel (pieces are disjoint and sorted).
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = pieces[mid];
      if (seqDiff(p.seq, base) + p.len <= rel) lo = mid + 1;
      else hi = mid;
    }
    let i = lo;
    let cur = rel;
    let added = false;
    while (cur < end) {
      let stop = end;
      if (i < n) {
        const p = pieces[i];
        const ps = seqDiff(p.seq, base);
        if (ps <= cur) {
          const pe = ps + p.len;
          const covered = (pe < end ? pe : end) - cur;
          this.stats.duplicateBytes += covered;
          cur += covered;
          i++;
          continue;
        }
        if (ps < stop) stop = ps;
      }
      if (cur < presentEnd) {
        const pe = stop < presentEnd ? stop : presentEnd;
        const start = off + (cur - rel);
        const piece = new OooPiece(seqAdd(base, cur), pe - cur, buf.slice(start, start + (pe - cur)), ts);
        pieces.splice(i, 0, piece);
        this.hold(d, piece);
        i++;
        n++;
        cur = pe;
        added = true;
      }
      if (cur < stop) {
        const piece = new OooPiece(seqAdd(base, cur), stop - cur, null, ts);
        pieces.splice(i, 0, piece);
        i++;
        n++;
        cur = stop;
        added = true;
      }
    }
    if (added) this.stats.outOfOrderSegments++;
  }

  /**
   * Delivers buffered pieces that now start at or before nextSeq, each stamped with its capture time
   * but no earlier than the last time delivered (after a filled hole: the filling segment's time).
   */
  private drain(flow: Flow, d: TcpDirection, fromA: boolean): void {
    const pieces = d.pieces!;
    let k = 0;
    while (k < pieces.length) {
      const p = pieces[k];
      const r = seqDiff(p.seq, d.nextSeq);
      if (r > 0) break;
      k++;
      this.release(d, p);
      const over = -r;
      if (over >= p.len) {
        if (p.data !== null) this.stats.duplicateBytes += p.len;
        continue;
      }
      const ts = stamp(d, p.ts);
      if (p.data !== null) {
        this.stats.duplicateBytes += over;
        this.consumer.onData(flow, fromA, p.data, over, p.len - over, ts);
      } else {
        this.gap(flow, fromA, p.len - over, ts);
      }
      d.nextSeq = seqAdd(p.seq, p.len);
    }
    if (k > 0) pieces.splice(0, k);
  }

  /**
   * The peer acknowledged beyond nextSeq: holes below the ACK (and before the FIN) are lost. Each gap
   * carries the capture time of the first piece (or the FIN) after it.
   */
  private resolveAcked(flow: Flow, d: TcpDirection, fromA: boolean): void {
    let limit = d.acked;
    if (d.finSeen && seqDiff(limit, d.finSeq) > 0) limit = d.finSeq;
    const pieces = d.pieces;
    for (;;) {
      const want = seqDiff(limit, d.nextSeq);
      if (want <= 0) break;
      if (pieces !== null && pieces.length > 0) {
        const r = seqDiff(pieces[0].seq, d.nextSeq);
        const hole = r < want ? r : want;
        this.gap(flow, fromA, hole, stamp(d, pieces[0].ts));
        d.nextSeq = seqAdd(d.nextSeq, hole);
        this.drain(flow, d, fromA);
      } else if (d.finSeen) {
        this.gap(flow, fromA, want, stamp(d, d.finTs));
        d.nextSeq = limit;
        break;
      } else {
        // Nothing buffered after the hole: wait for the next segment (it resolves the hole then).
        break;
      }
    }
    if (d.finSeen && !d.finDelivered && d.nextSeq === d.finSeq) this.deliverFin(flow, d, fromA);
  }

  /** Declares holes while `d` is over a cap. */
  private enforceCaps(flow: Flow, d: TcpDirection, fromA: boolean): void {
    const pieces = d.pieces!;
    const lim = this.limits;
    while (pieces.length > 0) {
      if (pieces.length > lim.maxOutOfOrderSegmentsPerDirection || d.oooBytes > lim.maxOutOfOrderBytesPerDirection) {
        this.anomaly('tcp_ooo_cap');
      } else if (this.totalOooBytes > lim.maxOutOfOrderBytesTotal) {
        this.anomaly('tcp_ooo_total_cap');
      } else {
        break;
      }
      this.declareFirstHole(flow, d, fromA);
    }
    if (d.finSeen && !d.finDelivered && d.nextSeq === d.finSeq) this.deliverFin(flow, d, fromA);
  }

  /**
   * Reports the hole before the first buffered piece as a gap (at the piece's capture time) and
   * delivers what follows it.
   */
  private declareFirstHole(flow: Flow, d: TcpDirection, fromA: boolean): void {
    const first = d.pieces![0];
    const hole = seqDiff(first.seq, d.nextSeq);
    if (hole > 0) {
      this.gap(flow, fromA, hole, stamp(d, first.ts));
      d.nextSeq = first.seq;
    }
    this.drain(flow, d, fromA);
  }

  /**
   * Calls onFin at the FIN's capture time, but no earlier than the last time delivered (so, after a
   * filled hole, at the filling segment's time).
   */
  private deliverFin(flow: Flow, d: TcpDirection, fromA: boolean): void {
    d.finDelivered = true;
    this.consumer.onFin(flow, fromA, stamp(d, d.finTs));
  }

  private gap(flow: Flow, fromA: boolean, n: number, ts: number): void {
    this.stats.gaps++;
    this.stats.gapBytes += n;
    this.consumer.onGap(flow, fromA, n, ts);
  }

  private hold(d: TcpDirection, p: OooPiece): void {
    if (p.data === null) return;
    d.oooBytes += p.len;
    this.totalOooBytes += p.len;
  }

  private release(d: TcpDirection, p: OooPiece): void {
    if (p.data === null) return;
    d.oooBytes -= p.len;
    this.totalOooBytes -= p.len;
  }

  private anomaly(kind: string): void {
    const a = this.stats.anomalies;
    a[kind] = (a[kind] ?? 0) + 1;
  }
}

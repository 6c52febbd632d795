/**
 * IP fragment reassembly (IPv4 and IPv6), bounded.
 *
 * Each datagram being reassembled owns a buffer holding the fragmentable part (for IPv4 everything
 * after the IP header; for IPv6 everything after the Fragment header), filled at the fragment
 * offsets. Overlaps are resolved "first arrival wins": bytes already received are never overwritten
 * (an overlap is counted as `ip_fragment_overlap`; exact duplicates included). Inconsistent
 * fragments (two different ends, data past the announced end, more than 64 KiB) drop the datagram.
 *
 * Limits (every drop counted through the `onAnomaly` callback):
 * - `maxFragmentedDatagrams`: a new datagram beyond it evicts the oldest (`ip_fragments_evicted`);
 * - `maxFragmentBytes`: bytes held in reassembly buffers; the oldest datagrams are evicted to make
 *   room (`ip_fragments_evicted`);
 * - `fragmentTimeoutNs`: a datagram not completed within this time of its first fragment is dropped
 *   (`ip_fragments_timeout`), checked on every fragment and on `expire(now)`.
 *
 * Allocation: one object and one buffer per fragmented datagram (fragments are rare); nothing for
 * an unfragmented packet.
 */

/** `add` result: the fragment was stored, the datagram is not complete. */
export const FRAG_HELD = 0;
/** `add` result: the datagram is complete; read it from `result*`. */
export const FRAG_COMPLETE = 1;
/** `add` result: the fragment (or its whole datagram) was dropped; an anomaly was counted. */
export const FRAG_DROPPED = 2;

/** Largest reassembled payload accepted (the IP length fields are 16-bit). */
export const MAX_REASSEMBLED_BYTES = 65535;

/** Limits used by the reassembler (a subset of `DecoderLimits`). */
export interface ReassemblyLimits {
  maxFragmentedDatagrams: number;
  maxFragmentBytes: number;
  fragmentTimeoutNs: number;
}

class Datagram {
  /** Received byte ranges, sorted and merged: [start0, end0, start1, end1, ...]. */
  ranges: number[] = [];
  buf: Uint8Array;
  /** Payload length, known once the last fragment (MF = 0) arrived; -1 before. */
  totalLen = -1;
  /** Upper-layer protocol (IPv4 protocol field; IPv6: Next Header of the offset-0 fragment). */
  proto: number;
  /** Source then destination address (4 + 4 or 16 + 16 bytes). */
  readonly addr: Uint8Array;

  constructor(
    readonly key: string,
    readonly firstTs: number,
    proto: number,
    addrBuf: Uint8Array,
    addrOff: number,
    addrLen: number,
    initialSize: number,
  ) {
    this.proto = proto;
    this.addr = addrBuf.slice(addrOff, addrOff + addrLen * 2);
    this.buf = new Uint8Array(initialSize);
  }
}

/** Bounded IPv4/IPv6 fragment reassembler; see the module comment for policies. */
export class IpReassembler {
  private readonly table = new Map<string, Datagram>();
  private heldBytes = 0;

  /** The completed datagram after `add` returned FRAG_COMPLETE (valid until the next `add`). */
  resultBuf: Uint8Array = new Uint8Array(0);
  resultLength = 0;
  resultProto = 0;
  /** Source then destination address of the completed datagram (its own array). */
  resultAddr: Uint8Array = new Uint8Array(32);

  constructor(
    private readonly limits: ReassemblyLimits,
    private readonly onAnomaly: (kind: string) => void,
  ) {}

  /** Datagrams currently pending. */
  get pending(): number {
    return this.table.size;
  }

  /** Bytes currently held in reassembly buffers. */
  get bytesHeld(): number {
    return this.heldBytes;
  }

  /**
   * Adds one fragment.
   * @param key identifies the datagram (addresses, id, protocol, ...), built by the caller.
   * @param ts capture time of the fragment (relative ns).
   * @param proto upper-layer protocol carried by this fragment (used from the offset-0 fragment).
   * @param addrBuf/addrOff/addrLen source address at addrOff, destination right after it.
   * @param fragOffset byte offset of this fragment's data in the datagram payload.
   * @param more the "more fragments" flag.
   * @param data/dataOff/dataLen the fragment's data (fully captured).
   */
  add(
    key: string,
    ts: number,
    proto: number,
    addrBuf: Uint8Array,
    addrOff: number,
    addrLen: number,
    fragOffset: number,
    more: boolean,
    data: Uint8Array,
    dataOff: number,
    dataLen: number,
  ): number {
    this.expire(ts);
    const fragEnd = fragOffset + dataLen;
    if (more && (dataLen === 0 || (dataLen & 7) !== 0)) {
      this.onAnomaly('ip_fragment_bad_length');
      return FRAG_DROPPED;
    }
    let d = this.table.get(key);
    if (fragEnd > MAX_REASSEMBLED_BYTES) {
      this.onAnomaly('ip_fragment_too_large');
      if (d !== undefined) this.remove(d);
      return FRAG_DROPPED;
    }
    if (d === undefined) {
      while (this.table.size >= this.limits.maxFragmentedDatagrams && this.table.size > 0) {
        this.evictOldest('ip_fragments_evicted');
      }
      if (this.limits.maxFragmentedDatagrams <= 0) {
        this.onAnomaly('ip_fragments_evicted');
        return FRAG_DROPPED;
      }
      const size = more ? Math.max(fragEnd, 2048) : fragEnd;
      d = new Datagram(key, ts, proto, addrBuf, addrOff, addrLen, Math.min(size, MAX_REASSEMBLED_BYTES));
      this.table.set(key, d);
      this.heldBytes += d.buf.length;
      if (!this.makeRoom(d)) return FRAG_DROPPED;
    }
    if (fragOffset === 0) d.proto = proto;

    // End of the datagram.
    if (!more) {
      if (d.totalLen >= 0 && d.totalLen !== fragEnd) return this.inconsistent(d);
      d.totalLen = fragEnd;
      const r = d.ranges;
      if (r.length > 0 && r[r.length - 1] > fragEnd) return this.inconsistent(d);
    } else if (d.totalLen >= 0 && fragEnd > d.totalLen) {
      return this.inconsistent(d);
    }

    // Grow the buffer if needed.
    if (fragEnd > d.buf.length) {
      let size = d.buf.length * 2;
      if (size < fragEnd) size = fragEnd;
      if (d.totalLen >= 0 && size > d.totalLen) size = Math.max(d.totalLen, fragEnd);
      if (size > MAX_REASSEMBLED_BYTES) size = MAX_REASSEMBLED_BYTES;
      const nb = new Uint8Array(size);
      nb.set(d.buf);
      this.heldBytes += size - d.buf.length;
      d.buf = nb;
      if (!this.makeRoom(d)) return FRAG_DROPPED;
    }

    // Copy the bytes not received yet (first arrival wins) and merge the range.
    if (dataLen > 0) {
      const r = d.ranges;
      let c = fragOffset;
      let overlap = false;
      for (let i = 0; i < r.length; i += 2) {
        const rs = r[i];
        const re = r[i + 1];
        if (re <= c) continue;
        if (rs >= fragEnd) break;
        overlap = true;
        if (rs > c) d.buf.set(data.subarray(dataOff + (c - fragOffset), dataOff + (rs - fragOffset)), c);
        if (re > c) c = re;
        if (c >= fragEnd) break;
      }
      if (c < fragEnd) d.buf.set(data.subarray(dataOff + (c - fragOffset), dataOff + dataLen), c);
      if (overlap) this.onAnomaly('ip_fragment_overlap');
      mergeRange(r, fragOffset, fragEnd);
    }

    if (d.totalLen >= 0 && d.ranges.length === 2 && d.ranges[0] === 0 && d.ranges[1] === d.totalLen) {
      this.remove(d);
      this.resultBuf = d.buf;
      this.resultLength = d.totalLen;
      this.resultProto = d.proto;
      this.resultAddr = d.addr;
      return FRAG_COMPLETE;
    }
    return FRAG_HELD;
  }

  /** Drops datagrams whose first fragment is older than the timeout; returns how many. */
  expire(now: number): number {
    let n = 0;
    const limit = now - this.limits.fragmentTimeoutNs;
    for (const d of this.table.values()) {
      if (d.firstTs >= limit) break;
      this.remove(d);
      this.onAnomaly('ip_fragments_timeout');
      n++;
    }
    return n;
  }

  /** Drops everything pending (e.g. at the end of a capture) without counting; returns how many. */
  clear(): number {
    const n = this.table.size;
    this.table.clear();
    this.heldBytes = 0;
    return n;
  }

  private inconsistent(d: Datagram): number {
    this.onAnomaly('ip_fragment_inconsistent');
    this.remove(d);
    return FRAG_DROPPED;
  }

  private remove(d: Datagram): void {
    if (this.table.get(d.key) === d) {
      this.table.delete(d.key);
      this.heldBytes -= d.buf.length;
    }
  }

  private evictOldest(kind: string): void {
    for (const d of this.table.values()) {
      this.remove(d);
      this.onAnomaly(kind);
      return;
    }
  }

  /** Evicts the oldest datagrams until the byte cap holds; false when `d` itself had to go. */
  private makeRoom(d: Datagram): boolean {
    while (this.heldBytes > this.limits.maxFragmentBytes && this.table.size > 0) {
      const oldest = this.table.values().next().value as Datagram;
      this.remove(oldest);
      this.onAnomaly('ip_fragments_evicted');
      if (oldest === d) return false;
    }
    return true;
  }
}

/** Inserts [s, e) into a sorted, merged range list. */
function mergeRange(r: number[], s: number, e: number): void {
  let i = 0;
  while (i < r.length && r[i + 1] < s) i += 2;
  // r[i..] may overlap or touch [s, e)
  let j = i;
  let ns = s;
  let ne = e;
  while (j < r.length && r[j] <= e) {
    if (r[j] < ns) ns = r[j];
    if (r[j + 1] > ne) ne = r[j + 1];
    j += 2;
  }
  r.splice(i, j - i, ns, ne);
}

/**
 * Flow keys without per-packet allocation.
 *
 * A packet's 5-tuple is read into a reused `PacketKey` (addresses as 32-bit words, ports, protocol)
 * and hashed symmetrically, so both directions of a conversation hash alike. Table entries
 * (`KeyedNode`) keep their key as plain numeric fields; a hit is verified on the full key, never on
 * the hash alone. `HashIndex` is a chained hash over those numeric hashes.
 */
import type { DecodedPacket } from '../decode/types.js';

/** Key of the current packet: filled by `load`, reused for every packet. */
export class PacketKey {
  /** 4 or 6. */
  ver = 0;
  /** IP protocol number (6 or 17). */
  proto = 0;
  /** Source address as four big-endian 32-bit words (IPv4: s0 only, the rest 0). */
  s0 = 0;
  s1 = 0;
  s2 = 0;
  s3 = 0;
  sp = 0;
  /** Destination address words. */
  d0 = 0;
  d1 = 0;
  d2 = 0;
  d3 = 0;
  dp = 0;
  /** Symmetric hash of the 5-tuple (uint32): the same for both directions. */
  hash = 0;

  /** Reads the 5-tuple of `pkt` and computes its hash. Allocates nothing. */
  load(pkt: DecodedPacket): void {
    const s = pkt.srcAddr;
    const d = pkt.dstAddr;
    const ver = pkt.ipVersion === 6 ? 6 : 4;
    this.ver = ver;
    this.proto = pkt.protocol;
    this.sp = pkt.srcPort;
    this.dp = pkt.dstPort;
    this.s0 = (s[0] << 24) | (s[1] << 16) | (s[2] << 8) | s[3];
    this.d0 = (d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3];
    if (ver === 6) {
      this.s1 = (s[4] << 24) | (s[5] << 16) | (s[6] << 8) | s[7];
      this.s2 = (s[8] << 24) | (s[9] << 16) | (s[10] << 8) | s[11];
      this.s3 = (s[12] << 24) | (s[13] << 16) | (s[14] << 8) | s[15];
      this.d1 = (d[4] << 24) | (d[5] << 16) | (d[6] << 8) | d[7];
      this.d2 = (d[8] << 24) | (d[9] << 16) | (d[10] << 8) | d[11];
      this.d3 = (d[12] << 24) | (d[13] << 16) | (d[14] << 8) | d[15];
    } else {
      this.s1 = this.s2 = this.s3 = 0;
      this.d1 = this.d2 = this.d3 = 0;
    }
    const hs = endpointHash(this.s0, this.s1, this.s2, this.s3, this.sp);
    const hd = endpointHash(this.d0, this.d1, this.d2, this.d3, this.dp);
    // Addition is symmetric; the final mix spreads it over all bits.
    this.hash = fmix32((hs + hd + Math.imul(this.proto * 16 + ver, 0x9e3779b1)) | 0);
  }
}

/**
 * A table entry that owns a flow key. Endpoint "A" is the source of the packet the entry was made
 * from. Subclasses set their own fields in their constructors (stable shapes).
 */
export class KeyedNode {
  readonly hash: number;
  readonly kver: number;
  readonly kproto: number;
  readonly ka0: number;
  readonly ka1: number;
  readonly ka2: number;
  readonly ka3: number;
  readonly kpa: number;
  readonly kb0: number;
  readonly kb1: number;
  readonly kb2: number;
  readonly kb3: number;
  readonly kpb: number;
  /** Next entry in the same hash bucket. */
  hashNext: KeyedNode | null = null;

  /** Copies the key of `k` (its source becomes endpoint A). */
  constructor(k: PacketKey) {
    this.hash = k.hash;
    this.kver = k.ver;
    this.kproto = k.proto;
    this.ka0 = k.s0;
    this.ka1 = k.s1;
    this.ka2 = k.s2;
    this.ka3 = k.s3;
    this.kpa = k.sp;
    this.kb0 = k.d0;
    this.kb1 = k.d1;
    this.kb2 = k.d2;
    this.kb3 = k.d3;
    this.kpb = k.dp;
  }
}

/** `matchKey` results. */
export const KEY_MISMATCH = 0;
/** The packet was sent by endpoint A. */
export const KEY_FROM_A = 1;
/** The packet was sent by endpoint B. */
export const KEY_FROM_B = 2;

/** Compares the full key of `n` with the packet key `k` (either direction). */
export function matchKey(n: KeyedNode, k: PacketKey): number {
  if (n.hash !== k.hash || n.kproto !== k.proto || n.kver !== k.ver) return KEY_MISMATCH;
  if (
    n.kpa === k.sp &&
    n.kpb === k.dp &&
    n.ka0 === k.s0 &&
    n.kb0 === k.d0 &&
    n.ka1 === k.s1 &&
    n.ka2 === k.s2 &&
    n.ka3 === k.s3 &&
    n.kb1 === k.d1 &&
    n.kb2 === k.d2 &&
    n.kb3 === k.d3
  ) {
    return KEY_FROM_A;
  }
  if (
    n.kpa === k.dp &&
    n.kpb === k.sp &&
    n.ka0 === k.d0 &&
    n.kb0 === k.s0 &&
    n.ka1 === k.d1 &&
    n.ka2 === k.d2 &&
    n.ka3 === k.d3 &&
    n.kb1 === k.s1 &&
    n.kb2 === k.s2 &&
    n.kb3 === k.s3
  ) {
    return KEY_FROM_B;
  }
  return KEY_MISMATCH;
}

/**
 * Chained hash index of `KeyedNode`s over their numeric hash. The bucket array doubles (up to
 * `maxBuckets`) when the entries outnumber the buckets; a fixed bucket count can be given instead.
 */
export class HashIndex<T extends KeyedNode> {
  private buckets: (KeyedNode | null)[];
  private mask: number;
  private readonly maxBuckets: number;
  private readonly fixed: boolean;
  /** Entries in the index. */
  count = 0;
  /** After a hit of `find`: KEY_FROM_A or KEY_FROM_B. */
  lastMatch = KEY_MISMATCH;

  /**
   * @param maxEntries expected maximum number of entries (bounds the bucket array)
   * @param fixedBuckets if > 0, a fixed bucket count (rounded up to a power of two; no growth)
   */
  constructor(maxEntries: number, fixedBuckets = 0) {
    this.fixed = fixedBuckets > 0;
    this.maxBuckets = this.fixed ? pow2AtLeast(fixedBuckets) : pow2AtLeast(Math.max(16, maxEntries));
    const initial = this.fixed ? this.maxBuckets : Math.min(1024, this.maxBuckets);
    this.buckets = new Array<KeyedNode | null>(initial).fill(null);
    this.mask = initial - 1;
  }

  /** The entry with the key of `k` (either direction), or null. Sets `lastMatch` on a hit. */
  find(k: PacketKey): T | null {
    let n = this.buckets[k.hash & this.mask];
    while (n !== null) {
      const m = matchKey(n, k);
      if (m !== KEY_MISMATCH) {
        this.lastMatch = m;
        return n as T;
      }
      n = n.hashNext;
    }
    return null;
  }

  /** Adds `n` (its key must not be present). */
  insert(n: T): void {
    if (this.count >= this.buckets.length && this.buckets.length < this.maxBuckets) this.grow();
    const i = n.hash & this.mask;
    n.hashNext = this.buckets[i];
    this.buckets[i] = n;
    this.count++;
  }

  /** Removes `n` if present. */
  remove(n: T): void {
    const i = n.hash & this.mask;
    let prev: KeyedNode | null = null;
    let cur = this.buckets[i];
    while (cur !== null) {
      if (cur === n) {
        if (prev === null) this.buckets[i] = cur.hashNext;
        else prev.hashNext = cur.hashNext;
        n.hashNext = null;
        this.count--;
        return;
      }
      prev = cur;
      cur = cur.hashNext;
    }
  }

  /** Removes every entry. */
  clear(): void {
    this.buckets.fill(null);
    this.count = 0;
  }

  private grow(): void {
    const old = this.buckets;
    const size = old.length * 2;
    const buckets = new Array<KeyedNode | null>(size).fill(null);
    const mask = size - 1;
    for (let i = 0; i < old.length; i++) {
      let n = old[i];
      while (n !== null) {
        const next = n.hashNext;
        const j = n.hash & mask;
        n.hashNext = buckets[j];
        buckets[j] = n;
        n = next;
      }
    }
    this.buckets = buckets;
    this.mask = mask;
  }
}

function pow2AtLeast(n: number): number {
  let p = 1;
  while (p < n && p < 1 << 30) p *= 2;
  return p;
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function round(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = rotl(k, 15);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = rotl(h, 13);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3-style hash of one endpoint (address words + port). */
function endpointHash(w0: number, w1: number, w2: number, w3: number, port: number): number {
  let h = 0x2f6b1e4d;
  h = round(h, w0);
  if ((w1 | w2 | w3) !== 0) {
    h = round(h, w1);
    h = round(h, w2);
    h = round(h, w3);
  }
  h = round(h, port);
  return fmix32(h);
}

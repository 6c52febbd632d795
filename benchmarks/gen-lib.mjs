/**
 * Shared by the capture generators (benchmarks/replay/gen.mjs, benchmarks/dns/gen.mjs): a seeded PRNG
 * (mulberry32), a streaming pcap writer with one reused buffer, and Internet-checksum helpers.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export const MSS = 1460;
const OUT_BUFFER_SIZE = 8 << 20;
/** The largest record a generator writes: pcap record header + Ethernet + IPv4 + TCP with options + MSS. */
const MAX_RECORD = 16 + 14 + 20 + 24 + MSS;

// ---- deterministic PRNG (mulberry32) ---------------------------------------------------------------
let rngState = 1;
/** Restarts the sequence: the same seed always gives the same file. */
export function seedRandom(seed) {
  rngState = seed | 0;
}
export function rand() {
  rngState = (rngState + 0x6d2b79f5) | 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
export const randInt = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1)); // inclusive
export const pick = (arr) => arr[Math.floor(rand() * arr.length)];

// ---- output: one reused buffer, flushed with writeSync ---------------------------------------------
export class PcapWriter {
  constructor(path) {
    this.fd = openSync(path, 'w');
    this.buf = Buffer.allocUnsafe(OUT_BUFFER_SIZE);
    this.off = 0;
    this.bytes = 0;
    this.packets = 0;
    const h = this.buf;
    h.writeUInt32LE(0xa1b2c3d4, 0); // microsecond pcap, little endian
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8); // thiszone
    h.writeUInt32LE(0, 12); // sigfigs
    h.writeUInt32LE(65535, 16); // snaplen
    h.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
    this.off = 24;
    this.bytes = 24;
  }
  /** Make room for one record; returns the offset to write it at. */
  reserve() {
    if (this.off + MAX_RECORD > this.buf.length) this.flush();
    return this.off;
  }
  commit(len) {
    this.off += len;
    this.bytes += len;
    this.packets++;
  }
  flush() {
    let done = 0;
    while (done < this.off) done += writeSync(this.fd, this.buf, done, this.off - done);
    this.off = 0;
  }
  close() {
    this.flush();
    closeSync(this.fd);
  }
}

// ---- Internet checksum (RFC 1071) ------------------------------------------------------------------
export function sum16(buf, start, end, sum) {
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i < end) sum += buf[i] << 8;
  return sum;
}

export function fold(sum) {
  while (sum > 0xffff) sum = (sum % 65536) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}

/**
 * Shared by the capture generators (benchmarks/{replay,dns,http2,redis}/gen.mjs): a seeded PRNG
 * (mulberry32), a streaming pcap writer with one reused buffer, checksums, one IPv4 TCP/UDP packet writer
 * and the interleaving of concurrent connections.
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

// ---- one Ethernet / IPv4 / TCP or UDP packet ------------------------------------------------------------
const SCRATCH = Buffer.allocUnsafe(65536);
/**
 * Writes one packet from `src` to `dst` (objects { ip, port, mac: Buffer(6), ipId, seq }) at `tsUs`
 * (microseconds since the epoch): IPv4 (DF set for TCP), then TCP (`proto` 6, with `flags`, the ack number
 * dst.seq when ACK is set, an MSS option when `mssOption`) or UDP (`proto` 17), carrying
 * `data[from, from+len)` (a Buffer, any array-like of bytes, or null when len is 0); correct checksums.
 * Advances src.ipId, and src.seq for TCP (SYN and FIN count one).
 */
export function ipv4Packet(out, tsUs, src, dst, proto, flags, data, from, len, mssOption = false) {
  const b = out.buf;
  const o = out.reserve();
  const l4Header = proto === 17 ? 8 : mssOption ? 24 : 20;
  const ipLen = 20 + l4Header + len;
  const frameLen = 14 + ipLen;
  b.writeUInt32LE(Math.floor(tsUs / 1e6), o);
  b.writeUInt32LE(tsUs % 1e6, o + 4);
  b.writeUInt32LE(frameLen, o + 8);
  b.writeUInt32LE(frameLen, o + 12);
  const e = o + 16;
  dst.mac.copy(b, e);
  src.mac.copy(b, e + 6);
  b[e + 12] = 0x08;
  b[e + 13] = 0x00;
  const ip = e + 14;
  b[ip] = 0x45;
  b[ip + 1] = 0;
  b.writeUInt16BE(ipLen, ip + 2);
  b.writeUInt16BE(src.ipId, ip + 4);
  src.ipId = (src.ipId + 1) & 0xffff;
  b[ip + 6] = proto === 6 ? 0x40 : 0; // DF for TCP
  b[ip + 7] = 0;
  b[ip + 8] = 64; // TTL
  b[ip + 9] = proto;
  b[ip + 10] = 0;
  b[ip + 11] = 0;
  b.writeUInt32BE(src.ip >>> 0, ip + 12);
  b.writeUInt32BE(dst.ip >>> 0, ip + 16);
  b.writeUInt16BE(fold(sum16(b, ip, ip + 20, 0)), ip + 10);
  const t = ip + 20;
  b.writeUInt16BE(src.port, t);
  b.writeUInt16BE(dst.port, t + 2);
  if (proto === 17) {
    b.writeUInt16BE(8 + len, t + 4);
    b[t + 6] = 0;
    b[t + 7] = 0;
  } else {
    b.writeUInt32BE(src.seq >>> 0, t + 4);
    b.writeUInt32BE(flags & 0x10 ? dst.seq >>> 0 : 0, t + 8); // ack = everything the peer sent so far
    b[t + 12] = (l4Header / 4) << 4;
    b[t + 13] = flags;
    b.writeUInt16BE(64240, t + 14); // window
    b[t + 16] = 0;
    b[t + 17] = 0;
    b[t + 18] = 0;
    b[t + 19] = 0;
    if (mssOption) {
      b[t + 20] = 2;
      b[t + 21] = 4;
      b.writeUInt16BE(MSS, t + 22);
    }
  }
  if (len > 0) {
    if (Buffer.isBuffer(data)) data.copy(b, t + l4Header, from, from + len);
    else {
      for (let i = 0; i < len; i++) SCRATCH[i] = data[from + i];
      SCRATCH.copy(b, t + l4Header, 0, len);
    }
  }
  const l4Len = l4Header + len;
  const s = (src.ip >>> 16) + (src.ip & 0xffff) + (dst.ip >>> 16) + (dst.ip & 0xffff) + proto + l4Len;
  let ck = fold(sum16(b, t, t + l4Len, s));
  if (proto === 17 && ck === 0) ck = 0xffff; // UDP: 0 means "no checksum"
  b.writeUInt16BE(ck, t + (proto === 17 ? 6 : 16));
  out.commit(16 + frameLen);
  if (proto === 6) src.seq = (src.seq + len + (flags & 0x03 ? 1 : 0)) >>> 0;
}

/** A TCP segment (see `ipv4Packet`). */
export function tcpIpv4Packet(out, tsUs, src, dst, flags, data, from, len) {
  ipv4Packet(out, tsUs, src, dst, 6, flags, data, from, len);
}

/**
 * Runs connections (generators yielding between writes) `concurrency` at a time, stepping a random live
 * one each time, so their packets interleave; new ones start until `budgetReached()`, then the live ones
 * run to their end.
 */
export function interleave(concurrency, budgetReached, start) {
  const live = [];
  while (!budgetReached() || live.length > 0) {
    while (!budgetReached() && live.length < concurrency) live.push(start());
    if (live.length === 0) break;
    const i = Math.floor(rand() * live.length);
    if (live[i].next().done) live.splice(i, 1);
  }
}

const CLIENT_MAC = Buffer.from([0x02, 0, 0, 0, 0, 2]);
const SERVER_MAC = Buffer.from([0x02, 0, 0, 0, 0, 1]);

/**
 * One TCP connection of a generated capture: `open()` (SYN, SYN-ACK, ACK), `send(fromClient, bytes)`
 * (segments of at most MSS bytes, 1-4 us apart), `close()` (FIN-ACK both ways, ACK). `clock.us` is the
 * capture clock shared by all connections. Initial sequence numbers are random (client's drawn first).
 */
export class Conversation {
  constructor(out, clock, clientIp, clientPort, serverIp, serverPort) {
    this.out = out;
    this.clock = clock;
    this.client = { ip: clientIp, port: clientPort, mac: CLIENT_MAC, ipId: 1, seq: randInt(1, 2 ** 31) };
    this.server = { ip: serverIp, port: serverPort, mac: SERVER_MAC, ipId: 1, seq: randInt(1, 2 ** 31) };
  }
  ctl(fromClient, flags) {
    this.clock.us += 1;
    const [a, b] = fromClient ? [this.client, this.server] : [this.server, this.client];
    tcpIpv4Packet(this.out, this.clock.us, a, b, flags, null, 0, 0);
  }
  open() {
    this.ctl(true, 0x02);
    this.ctl(false, 0x12);
    this.ctl(true, 0x10);
  }
  send(fromClient, bytes) {
    const [a, b] = fromClient ? [this.client, this.server] : [this.server, this.client];
    for (let o = 0; o < bytes.length; o += MSS) {
      this.clock.us += 1 + Math.floor(rand() * 4);
      tcpIpv4Packet(this.out, this.clock.us, a, b, 0x18, bytes, o, Math.min(MSS, bytes.length - o));
    }
  }
  close() {
    this.ctl(true, 0x11);
    this.ctl(false, 0x11);
    this.ctl(true, 0x10);
  }
}

/**
 * FNV-1a (32 bits) of a string's char codes (generated text is ASCII): a cheap content checksum that a
 * generator writes to its truth file and a runner recomputes from what tshark decodes.
 */
export function fnv1a32(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Test fixture builder: frames (Ethernet / VLAN / SLL / SLL2 / NULL / LOOP / NFLOG / IPv4 / IPv6 /
 * fragments / VXLAN / GRE / TCP / UDP) and capture files (pcap and pcapng, both byte orders,
 * micro- and nanosecond timestamps), plus a `tshark` helper to use as an independent oracle.
 *
 * Typical use (a TCP conversation in a pcap file):
 * ```ts
 * const dir = tempDir();
 * const frames = tcpConversation({ client: '10.0.0.1', server: '10.0.0.2', clientPort: 40000, serverPort: 80,
 *   exchanges: [{ from: 'client', data: 'GET / HTTP/1.1\r\n\r\n' }, { from: 'server', data: 'HTTP/1.1 200 OK\r\n\r\n' }] });
 * const file = writePcap(join(dir, 'conv.pcap'), frames);
 * ```
 * Single packets: `tcpPacket({ src, dst, sport, dport, seq, ack, flags: 'PA', payload })` returns an Ethernet
 * frame; `tcpIp(...)` returns the bare IP packet to wrap in another link layer (`sll`, `bsdNull`, ...).
 * Checksums (IPv4 header, TCP, UDP, GRE) are computed, so tshark shows no checksum errors.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCaptureFileSource } from '../../core/capture/pcap-file.js';
import { TimeBase, type CaptureSummary, type RawPacket } from '../../core/capture/types.js';
import { PacketDecoder } from '../../core/decode/decoder.js';
import { DECODE_OK, DecodedPacket, formatAddress, type DecoderLimits } from '../../core/decode/types.js';

// ---------------------------------------------------------------------------------------------
// Bytes

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** UTF-8 bytes of a string, or the bytes themselves. */
export function bytes(x: Uint8Array | string | undefined): Uint8Array {
  if (x === undefined) return new Uint8Array(0);
  return typeof x === 'string' ? new TextEncoder().encode(x) : x;
}

function put16(b: Uint8Array, o: number, v: number, le = false): void {
  if (le) {
    b[o] = v & 0xff;
    b[o + 1] = (v >>> 8) & 0xff;
  } else {
    b[o] = (v >>> 8) & 0xff;
    b[o + 1] = v & 0xff;
  }
}
function put32(b: Uint8Array, o: number, v: number, le = false): void {
  if (le) {
    b[o] = v & 0xff;
    b[o + 1] = (v >>> 8) & 0xff;
    b[o + 2] = (v >>> 16) & 0xff;
    b[o + 3] = (v >>> 24) & 0xff;
  } else {
    b[o] = (v >>> 24) & 0xff;
    b[o + 1] = (v >>> 16) & 0xff;
    b[o + 2] = (v >>> 8) & 0xff;
    b[o + 3] = v & 0xff;
  }
}
function put64(b: Uint8Array, o: number, v: bigint, le = false): void {
  const hi = Number((v >> 32n) & 0xffffffffn);
  const lo = Number(v & 0xffffffffn);
  if (le) {
    put32(b, o, lo, true);
    put32(b, o + 4, hi, true);
  } else {
    put32(b, o, hi);
    put32(b, o + 4, lo);
  }
}

/** Internet checksum (RFC 1071) over the concatenation of `parts`. */
export function inetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  let odd = false;
  let carryByte = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) {
      if (!odd) {
        carryByte = p[i];
        odd = true;
      } else {
        sum += (carryByte << 8) | p[i];
        odd = false;
      }
    }
  }
  if (odd) sum += carryByte << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}

// ---------------------------------------------------------------------------------------------
// Addresses

/** True when the address is IPv6 (contains ':'). */
export function isIpv6(addr: string): boolean {
  return addr.includes(':');
}

/** Parses "10.0.0.1" (4 bytes) or "2001:db8::1" (16 bytes). */
export function parseIp(addr: string): Uint8Array {
  if (!isIpv6(addr)) {
    const parts = addr.split('.').map(Number);
    if (parts.length !== 4 || parts.some((x) => !(x >= 0 && x <= 255))) throw new Error(`bad IPv4 address ${addr}`);
    return Uint8Array.from(parts);
  }
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) throw new Error(`bad IPv6 address ${addr}`);
  const out = new Uint8Array(16);
  groups.forEach((g, i) => put16(out, i * 2, parseInt(g, 16)));
  return out;
}

/** Parses "02:00:00:00:00:01". */
export function parseMac(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':').map((x) => parseInt(x, 16)));
}

// ---------------------------------------------------------------------------------------------
// Transport

/** TCP flags as a number or letters: F S R P A U (e.g. 'S', 'SA', 'PA', 'FA'). */
export type TcpFlags = number | string;

export function tcpFlagsValue(f: TcpFlags | undefined): number {
  if (f === undefined) return 0x18; // PSH|ACK
  if (typeof f === 'number') return f;
  let v = 0;
  for (const c of f.toUpperCase()) {
    v |= { F: 1, S: 2, R: 4, P: 8, A: 16, U: 32, E: 64, C: 128 }[c] ?? 0;
  }
  return v;
}

export interface TcpSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** Default 'PA'. */
  flags?: TcpFlags;
  window?: number;
  payload?: Uint8Array | string;
  /** Raw TCP options (padded to 4 bytes with NOPs... zeros). */
  options?: Uint8Array;
  /** IPv4 identification (default 1). */
  ipId?: number;
  ttl?: number;
}

export interface UdpSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  payload?: Uint8Array | string;
  /** Override the UDP length field. */
  length?: number;
  ipId?: number;
  ttl?: number;
}

function pseudoHeader(src: string, dst: string, proto: number, len: number): Uint8Array {
  const s = parseIp(src);
  const d = parseIp(dst);
  if (s.length === 4) {
    const p = new Uint8Array(12);
    p.set(s, 0);
    p.set(d, 4);
    p[9] = proto;
    put16(p, 10, len);
    return p;
  }
  const p = new Uint8Array(40);
  p.set(s, 0);
  p.set(d, 16);
  put32(p, 32, len);
  p[39] = proto;
  return p;
}

/** TCP header + payload, checksum computed for the given addresses. */
export function tcpSegment(spec: TcpSpec): Uint8Array {
  const payload = bytes(spec.payload);
  const opts = spec.options ?? new Uint8Array(0);
  const optLen = (opts.length + 3) & ~3;
  const hl = 20 + optLen;
  const seg = new Uint8Array(hl + payload.length);
  put16(seg, 0, spec.sport);
  put16(seg, 2, spec.dport);
  put32(seg, 4, (spec.seq ?? 1) >>> 0);
  put32(seg, 8, (spec.ack ?? 0) >>> 0);
  seg[12] = (hl / 4) << 4;
  seg[13] = tcpFlagsValue(spec.flags);
  put16(seg, 14, spec.window ?? 65535);
  seg.set(opts, 20);
  seg.set(payload, hl);
  put16(seg, 16, inetChecksum(pseudoHeader(spec.src, spec.dst, 6, seg.length), seg));
  return seg;
}

/** UDP header + payload, checksum computed. */
export function udpDatagram(spec: UdpSpec): Uint8Array {
  const payload = bytes(spec.payload);
  const d = new Uint8Array(8 + payload.length);
  put16(d, 0, spec.sport);
  put16(d, 2, spec.dport);
  put16(d, 4, spec.length ?? d.length);
  d.set(payload, 8);
  let c = inetChecksum(pseudoHeader(spec.src, spec.dst, 17, d.length), d);
  if (c === 0) c = 0xffff;
  put16(d, 6, c);
  return d;
}

// ---------------------------------------------------------------------------------------------
// IP

export interface Ipv4Spec {
  src: string;
  dst: string;
  protocol: number;
  payload: Uint8Array;
  id?: number;
  ttl?: number;
  df?: boolean;
  /** More-fragments flag. */
  mf?: boolean;
  /** Fragment offset in bytes (multiple of 8). */
  fragOffset?: number;
  /** Override the total length field (default header + payload). */
  totalLength?: number;
  /** Raw IP options (padded to 4 bytes). */
  options?: Uint8Array;
}

export function ipv4Packet(spec: Ipv4Spec): Uint8Array {
  const opts = spec.options ?? new Uint8Array(0);
  const hl = 20 + ((opts.length + 3) & ~3);
  const p = new Uint8Array(hl + spec.payload.length);
  p[0] = 0x40 | (hl / 4);
  put16(p, 2, spec.totalLength ?? p.length);
  put16(p, 4, spec.id ?? 1);
  put16(p, 6, (spec.df ? 0x4000 : 0) | (spec.mf ? 0x2000 : 0) | ((spec.fragOffset ?? 0) >>> 3));
  p[8] = spec.ttl ?? 64;
  p[9] = spec.protocol;
  p.set(parseIp(spec.src), 12);
  p.set(parseIp(spec.dst), 16);
  p.set(opts, 20);
  put16(p, 10, inetChecksum(p.subarray(0, hl)));
  p.set(spec.payload, hl);
  return p;
}

/** An IPv6 extension header to put between the fixed header and the payload. */
export type Ipv6Ext =
  /** Hop-by-hop (0), routing (43), destination options (60), mobility (135): `len` bytes total (multiple of 8, default 8). */
  | { type: 0 | 43 | 60 | 135; len?: number }
  /** Authentication header: `len` bytes total (multiple of 4, >= 12; default 12). */
  | { type: 51; len?: number }
  /** Fragment header. */
  | { type: 44; offset: number; more: boolean; id: number };

export interface Ipv6Spec {
  src: string;
  dst: string;
  nextHeader: number;
  payload: Uint8Array;
  hopLimit?: number;
  ext?: Ipv6Ext[];
  /** Override the payload length field. */
  payloadLength?: number;
}

/** Encodes IPv6 extension headers followed by `payload`; returns [first next-header value, bytes]. */
function ipv6ExtChain(ext: Ipv6Ext[], last: number, payload: Uint8Array): [number, Uint8Array] {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < ext.length; i++) {
    const e = ext[i];
    const next = i + 1 < ext.length ? ext[i + 1].type : last;
    let h: Uint8Array;
    if (e.type === 44) {
      h = new Uint8Array(8);
      h[0] = next;
      put16(h, 2, (e.offset & 0xfff8) | (e.more ? 1 : 0));
      put32(h, 4, e.id);
    } else if (e.type === 51) {
      const len = e.len ?? 12;
      h = new Uint8Array(len);
      h[0] = next;
      h[1] = len / 4 - 2;
      put32(h, 4, 0x100); // SPI
    } else {
      const len = e.len ?? 8;
      h = new Uint8Array(len);
      h[0] = next;
      h[1] = len / 8 - 1;
      // PadN option filling the rest
      h[2] = 1;
      h[3] = len - 4;
    }
    parts.push(h);
  }
  parts.push(payload);
  return [ext.length > 0 ? ext[0].type : last, concat(...parts)];
}

export function ipv6Packet(spec: Ipv6Spec): Uint8Array {
  const [nh, body] = ipv6ExtChain(spec.ext ?? [], spec.nextHeader, spec.payload);
  const p = new Uint8Array(40 + body.length);
  p[0] = 0x60;
  put16(p, 4, spec.payloadLength ?? body.length);
  p[6] = nh;
  p[7] = spec.hopLimit ?? 64;
  p.set(parseIp(spec.src), 8);
  p.set(parseIp(spec.dst), 24);
  p.set(body, 40);
  return p;
}

/** IPv4 or IPv6 packet (chosen from the address syntax). */
export function ipPacket(src: string, dst: string, protocol: number, payload: Uint8Array, extra?: { id?: number; ttl?: number }): Uint8Array {
  if (isIpv6(src)) return ipv6Packet({ src, dst, nextHeader: protocol, payload, hopLimit: extra?.ttl });
  return ipv4Packet({ src, dst, protocol, payload, id: extra?.id, ttl: extra?.ttl });
}

/** An IP packet carrying a TCP segment. */
export function tcpIp(spec: TcpSpec): Uint8Array {
  return ipPacket(spec.src, spec.dst, 6, tcpSegment(spec), { id: spec.ipId, ttl: spec.ttl });
}

/** An IP packet carrying a UDP datagram. */
export function udpIp(spec: UdpSpec): Uint8Array {
  return ipPacket(spec.src, spec.dst, 17, udpDatagram(spec), { id: spec.ipId, ttl: spec.ttl });
}

/**
 * Splits an IPv4 packet into fragments of at most `maxData` payload bytes (rounded down to 8).
 * Returns the fragments in order; shuffle them yourself for out-of-order tests.
 */
export function fragmentIpv4(packet: Uint8Array, maxData: number): Uint8Array[] {
  const hl = (packet[0] & 15) * 4;
  const payload = packet.subarray(hl);
  const step = maxData & ~7;
  const src = packet.subarray(12, 16).join('.');
  const dst = packet.subarray(16, 20).join('.');
  const id = (packet[4] << 8) | packet[5];
  const out: Uint8Array[] = [];
  for (let o = 0; o < payload.length; o += step) {
    const chunk = payload.subarray(o, Math.min(o + step, payload.length));
    out.push(ipv4Packet({ src, dst, protocol: packet[9], payload: chunk, id, ttl: packet[8], mf: o + step < payload.length, fragOffset: o }));
  }
  return out;
}

/**
 * Splits an IPv6 packet (no extension headers) into fragments carrying at most `maxData` bytes each
 * (rounded down to 8), with Fragment headers using identification `id`.
 */
export function fragmentIpv6(packet: Uint8Array, maxData: number, id: number): Uint8Array[] {
  const nh = packet[6];
  const payload = packet.subarray(40);
  const step = maxData & ~7;
  const src = formatIpv6(packet.subarray(8, 24));
  const dst = formatIpv6(packet.subarray(24, 40));
  const out: Uint8Array[] = [];
  for (let o = 0; o < payload.length; o += step) {
    const chunk = payload.subarray(o, Math.min(o + step, payload.length));
    out.push(ipv6Packet({ src, dst, nextHeader: nh, payload: chunk, hopLimit: packet[7], ext: [{ type: 44, offset: o, more: o + step < payload.length, id }] }));
  }
  return out;
}

function formatIpv6(b: Uint8Array): string {
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i] << 8) | b[i + 1]).toString(16));
  return g.join(':');
}

// ---------------------------------------------------------------------------------------------
// Link layers

export interface VlanTag {
  id: number;
  /** Default 0x8100. Use 0x88a8 for an 802.1ad service tag. */
  tpid?: number;
  pcp?: number;
}

export interface EthernetOptions {
  /** Default derived from the payload's IP version nibble (0x0800 / 0x86dd). */
  etherType?: number;
  src?: string;
  dst?: string;
  /** Tags from the outermost in. */
  vlans?: (number | VlanTag)[];
  /** Bytes appended after the payload (Ethernet padding, FCS...). */
  trailer?: Uint8Array;
}

function ipEtherType(payload: Uint8Array): number {
  return payload.length > 0 && payload[0] >> 4 === 6 ? 0x86dd : 0x0800;
}

export function ethernet(payload: Uint8Array, opts: EthernetOptions = {}): Uint8Array {
  const tags = (opts.vlans ?? []).map((t) => (typeof t === 'number' ? { id: t } : t));
  const h = new Uint8Array(14 + tags.length * 4);
  h.set(parseMac(opts.dst ?? '02:00:00:00:00:02'), 0);
  h.set(parseMac(opts.src ?? '02:00:00:00:00:01'), 6);
  let o = 12;
  for (const t of tags) {
    put16(h, o, t.tpid ?? 0x8100);
    put16(h, o + 2, ((t.pcp ?? 0) << 13) | (t.id & 0xfff));
    o += 4;
  }
  put16(h, o, opts.etherType ?? ipEtherType(payload));
  return concat(h, payload, opts.trailer ?? new Uint8Array(0));
}

/** Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 16-byte header). */
export function sll(payload: Uint8Array, opts: { protocol?: number; packetType?: number } = {}): Uint8Array {
  const h = new Uint8Array(16);
  put16(h, 0, opts.packetType ?? 0); // 0 = to us
  put16(h, 2, 1); // ARPHRD_ETHER
  put16(h, 4, 6);
  h.set(parseMac('02:00:00:00:00:01'), 6);
  put16(h, 14, opts.protocol ?? ipEtherType(payload));
  return concat(h, payload);
}

/** Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 20-byte header). */
export function sll2(payload: Uint8Array, opts: { protocol?: number; ifindex?: number } = {}): Uint8Array {
  const h = new Uint8Array(20);
  put16(h, 0, opts.protocol ?? ipEtherType(payload));
  put32(h, 4, opts.ifindex ?? 2);
  put16(h, 8, 1); // ARPHRD_ETHER
  h[10] = 0;
  h[11] = 6;
  h.set(parseMac('02:00:00:00:00:01'), 12);
  return concat(h, payload);
}

/** BSD loopback (LINKTYPE_NULL): 4-byte address family in the writer's byte order (default little-endian). */
export function bsdNull(payload: Uint8Array, opts: { family?: number; bigEndian?: boolean } = {}): Uint8Array {
  const h = new Uint8Array(4);
  put32(h, 0, opts.family ?? (payload[0] >> 4 === 6 ? 30 : 2), !opts.bigEndian);
  return concat(h, payload);
}

/** OpenBSD loopback (LINKTYPE_LOOP): address family in network byte order. */
export function bsdLoop(payload: Uint8Array, opts: { family?: number } = {}): Uint8Array {
  const h = new Uint8Array(4);
  put32(h, 0, opts.family ?? (payload[0] >> 4 === 6 ? 24 : 2));
  return concat(h, payload);
}

/**
 * LINKTYPE_NFLOG: nfgenmsg header then TLVs (packet header, prefix, payload), lengths and types in
 * little-endian (or big-endian) host order, each padded to 4 bytes.
 */
export function nflog(payload: Uint8Array, opts: { bigEndian?: boolean; prefix?: string } = {}): Uint8Array {
  const le = !opts.bigEndian;
  const v6 = payload[0] >> 4 === 6;
  const tlv = (type: number, value: Uint8Array): Uint8Array => {
    const len = 4 + value.length;
    const t = new Uint8Array((len + 3) & ~3);
    put16(t, 0, len, le);
    put16(t, 2, type, le);
    t.set(value, 4);
    return t;
  };
  const hdr = new Uint8Array([v6 ? 10 : 2, 0, 0, 0]);
  const pktHdr = new Uint8Array(4);
  put16(pktHdr, 0, v6 ? 0x86dd : 0x0800);
  pktHdr[2] = 3; // NF_INET_LOCAL_OUT
  return concat(hdr, tlv(1, pktHdr), tlv(10, bytes(`${opts.prefix ?? 'spanwire'}\0`)), tlv(9, payload));
}

/** A TCP packet in an Ethernet frame. */
export function tcpPacket(spec: TcpSpec & { vlans?: (number | VlanTag)[] }): Uint8Array {
  return ethernet(tcpIp(spec), { vlans: spec.vlans });
}

/** A UDP packet in an Ethernet frame. */
export function udpPacket(spec: UdpSpec & { vlans?: (number | VlanTag)[] }): Uint8Array {
  return ethernet(udpIp(spec), { vlans: spec.vlans });
}

// ---------------------------------------------------------------------------------------------
// Tunnels

/** VXLAN header (I flag set) + inner Ethernet frame: a UDP payload. */
export function vxlan(innerFrame: Uint8Array, vni = 42): Uint8Array {
  const h = new Uint8Array(8);
  h[0] = 0x08;
  h[4] = (vni >>> 16) & 0xff;
  h[5] = (vni >>> 8) & 0xff;
  h[6] = vni & 0xff;
  return concat(h, innerFrame);
}

export interface OuterSpec {
  src: string;
  dst: string;
  /** UDP source port for VXLAN (default 54321). */
  sport?: number;
  /** UDP destination port for VXLAN (default 4789). */
  dport?: number;
  vni?: number;
}

/** Ethernet / outer IP / UDP / VXLAN / `innerFrame`. */
export function vxlanPacket(outer: OuterSpec, innerFrame: Uint8Array): Uint8Array {
  return ethernet(udpIp({ src: outer.src, dst: outer.dst, sport: outer.sport ?? 54321, dport: outer.dport ?? 4789, payload: vxlan(innerFrame, outer.vni) }));
}

export interface GreOptions {
  /** GRE protocol type (default from the inner payload: 0x0800 / 0x86dd; use 0x6558 for Ethernet). */
  protocol?: number;
  checksum?: boolean;
  key?: number;
  sequence?: number;
}

/** GRE header (version 0, optional checksum/key/sequence) + payload. */
export function gre(inner: Uint8Array, opts: GreOptions = {}): Uint8Array {
  const words: number[] = [];
  let flags = 0;
  if (opts.checksum) {
    flags |= 0x8000;
    words.push(0);
  }
  if (opts.key !== undefined) {
    flags |= 0x2000;
    words.push(opts.key);
  }
  if (opts.sequence !== undefined) {
    flags |= 0x1000;
    words.push(opts.sequence);
  }
  const h = new Uint8Array(4 + words.length * 4);
  put16(h, 0, flags);
  put16(h, 2, opts.protocol ?? ipEtherType(inner));
  words.forEach((w, i) => put32(h, 4 + i * 4, w));
  const out = concat(h, inner);
  if (opts.checksum) put16(out, 4, inetChecksum(out));
  return out;
}

/** Ethernet / outer IP / GRE / `inner`. */
export function grePacket(outer: { src: string; dst: string }, inner: Uint8Array, opts: GreOptions = {}): Uint8Array {
  return ethernet(ipPacket(outer.src, outer.dst, 47, gre(inner, opts)));
}

// ---------------------------------------------------------------------------------------------
// Capture files

/** Seconds (may be fractional) or an exact [seconds, nanoseconds] pair. */
export type Timestamp = number | [number, number];

export interface Frame {
  data: Uint8Array;
  /** Default: 1700000000 s + index ms. */
  ts?: Timestamp;
  /** Length on the wire (default data.length). */
  origLen?: number;
  /** pcapng interface index (default 0). */
  interfaceId?: number;
}

export type FrameInput = Uint8Array | Frame;

/** Base time of frames without `ts`: 2023-11-14T22:13:20Z. */
export const DEFAULT_TS_BASE = 1_700_000_000;

function frameOf(f: FrameInput): Frame {
  return f instanceof Uint8Array ? { data: f } : f;
}

/** [sec, nsec] of frame `i`. */
export function frameTime(f: FrameInput, i: number): [number, number] {
  const ts = frameOf(f).ts;
  if (ts === undefined) return [DEFAULT_TS_BASE, i * 1_000_000];
  if (typeof ts === 'number') {
    const s = Math.floor(ts);
    return [s, Math.round((ts - s) * 1e9)];
  }
  return ts;
}

export interface PcapOptions {
  /** Default LINKTYPE_ETHERNET (1). */
  linkType?: number;
  /** Nanosecond magic (a1b23c4d) instead of microseconds. */
  nanos?: boolean;
  bigEndian?: boolean;
  /** Snap length: frames longer than this are cut (origLen keeps the full length). Default 262144. */
  snaplen?: number;
  /** Raw 32-bit value of the header's link-type field (overrides linkType, e.g. to set FCS bits). */
  linkTypeField?: number;
}

/** A classic pcap file image. */
export function buildPcap(frames: FrameInput[], opts: PcapOptions = {}): Uint8Array {
  const le = !opts.bigEndian;
  const snaplen = opts.snaplen ?? 262144;
  const parts: Uint8Array[] = [];
  const gh = new Uint8Array(24);
  put32(gh, 0, opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4, le);
  put16(gh, 4, 2, le);
  put16(gh, 6, 4, le);
  put32(gh, 16, snaplen, le);
  put32(gh, 20, opts.linkTypeField ?? opts.linkType ?? 1, le);
  parts.push(gh);
  frames.forEach((fi, i) => {
    const f = frameOf(fi);
    const [sec, nsec] = frameTime(fi, i);
    const data = f.data.length > snaplen ? f.data.subarray(0, snaplen) : f.data;
    const rh = new Uint8Array(16);
    put32(rh, 0, sec, le);
    put32(rh, 4, opts.nanos ? nsec : Math.floor(nsec / 1000), le);
    put32(rh, 8, data.length, le);
    put32(rh, 12, f.origLen ?? f.data.length, le);
    parts.push(rh, data);
  });
  return concat(...parts);
}

/** Writes a pcap file; returns the path. */
export function writePcap(path: string, frames: FrameInput[], opts: PcapOptions = {}): string {
  writeFileSync(path, buildPcap(frames, opts));
  return path;
}

export interface PcapngInterfaceSpec {
  linkType: number;
  snaplen?: number;
  /** Raw if_tsresol byte: 6 = microseconds (default), 9 = ns, 0x80|n = 2^-n. */
  tsresol?: number;
  /** if_tsoffset in seconds (timestamps are written relative to it). */
  tsoffset?: number;
  name?: string;
}

export interface PcapngSection {
  bigEndian?: boolean;
  interfaces: PcapngInterfaceSpec[];
  frames: FrameInput[];
  /** Packet block type: 'epb' (default), 'spb' (interface 0, no timestamp) or 'pb' (obsolete type 2). */
  blockType?: 'epb' | 'spb' | 'pb';
  /** Insert NRB, ISB, a custom block and an unknown block type (the reader must skip them). */
  extraBlocks?: boolean;
  /** Section length field of the SHB: a value, 'auto' (the real length), or unspecified (-1, default). */
  sectionLength?: bigint | 'auto';
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function pcapngBlock(type: number, body: Uint8Array, le: boolean): Uint8Array {
  const len = 12 + pad4(body.length);
  const b = new Uint8Array(len);
  put32(b, 0, type, le);
  put32(b, 4, len, le);
  b.set(body, 8);
  put32(b, len - 4, len, le);
  return b;
}

function pcapngOption(code: number, value: Uint8Array, le: boolean): Uint8Array {
  const o = new Uint8Array(4 + pad4(value.length));
  put16(o, 0, code, le);
  put16(o, 2, value.length, le);
  o.set(value, 4);
  return o;
}

/** Timestamp units for a tsresol byte, as a bigint. */
function unitsPerSecond(tsresol: number): bigint {
  return tsresol & 0x80 ? 1n << BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol);
}

/** A pcapng file image with one or more sections. */
export function buildPcapng(sections: PcapngSection[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let frameIndex = 0;
  for (const sec of sections) {
    const le = !sec.bigEndian;
    const shbBody = new Uint8Array(16);
    put32(shbBody, 0, 0x1a2b3c4d, le);
    put16(shbBody, 4, 1, le);
    put16(shbBody, 6, 0, le);
    const sl = sec.sectionLength;
    put64(shbBody, 8, typeof sl === 'bigint' ? sl : 0xffffffffffffffffn, le);
    const shbOpts = concat(pcapngOption(4, bytes('spanwire test builder'), le), pcapngOption(0, new Uint8Array(0), le));
    const sectionParts: Uint8Array[] = [];
    for (const itf of sec.interfaces) {
      const body = new Uint8Array(8);
      put16(body, 0, itf.linkType, le);
      put32(body, 4, itf.snaplen ?? 262144, le);
      const opts: Uint8Array[] = [];
      if (itf.name !== undefined) opts.push(pcapngOption(2, bytes(itf.name), le));
      if (itf.tsresol !== undefined) opts.push(pcapngOption(9, new Uint8Array([itf.tsresol]), le));
      if (itf.tsoffset !== undefined) {
        const v = new Uint8Array(8);
        put64(v, 0, BigInt(itf.tsoffset), le);
        opts.push(pcapngOption(14, v, le));
      }
      if (opts.length > 0) opts.push(pcapngOption(0, new Uint8Array(0), le));
      sectionParts.push(pcapngBlock(1, concat(body, ...opts), le));
    }
    if (sec.extraBlocks) {
      // Name Resolution Block: one IPv4 record then end of records.
      const rec = concat(new Uint8Array([0, 1, 0, 0]), new Uint8Array([10, 0, 0, 1]), bytes('host.example\0'));
      put16(rec, 0, 1, le);
      put16(rec, 2, rec.length - 4, le);
      const padded = new Uint8Array(pad4(rec.length));
      padded.set(rec);
      sectionParts.push(pcapngBlock(4, concat(padded, new Uint8Array(4)), le));
      // Custom block (copiable) with a PEN and some data.
      const custom = new Uint8Array(12);
      put32(custom, 0, 32473, le);
      sectionParts.push(pcapngBlock(0x00000bad, custom, le));
      // An unknown block type.
      sectionParts.push(pcapngBlock(0x00000123, new Uint8Array(20), le));
    }
    sec.frames.forEach((fi) => {
      const f = frameOf(fi);
      const ifId = f.interfaceId ?? 0;
      const itf = sec.interfaces[ifId] ?? { linkType: 1 };
      const snap = itf.snaplen ?? 262144;
      const data = snap > 0 && f.data.length > snap ? f.data.subarray(0, snap) : f.data;
      const origLen = f.origLen ?? f.data.length;
      const [s, ns] = frameTime(fi, frameIndex++);
      const type = sec.blockType ?? 'epb';
      if (type === 'spb') {
        const body = new Uint8Array(4 + pad4(data.length));
        put32(body, 0, origLen, le);
        body.set(data, 4);
        sectionParts.push(pcapngBlock(3, body, le));
        return;
      }
      const units = unitsPerSecond(itf.tsresol ?? 6);
      const rel = BigInt(s - (itf.tsoffset ?? 0));
      const t = rel * units + (BigInt(ns) * units) / 1_000_000_000n;
      const body = new Uint8Array(20 + pad4(data.length));
      if (type === 'pb') {
        put16(body, 0, ifId, le);
        put16(body, 2, 0, le);
      } else {
        put32(body, 0, ifId, le);
      }
      put32(body, 4, Number(t >> 32n), le);
      put32(body, 8, Number(t & 0xffffffffn), le);
      put32(body, 12, data.length, le);
      put32(body, 16, origLen, le);
      body.set(data, 20);
      sectionParts.push(pcapngBlock(type === 'pb' ? 2 : 6, body, le));
    });
    if (sec.extraBlocks) {
      // Interface Statistics Block for interface 0 (timestamp + no options).
      const isb = new Uint8Array(12);
      put32(isb, 0, 0, le);
      sectionParts.push(pcapngBlock(5, isb, le));
    }
    if (sec.sectionLength === 'auto') {
      put64(shbBody, 8, BigInt(sectionParts.reduce((a, b) => a + b.length, 0)), le);
    }
    parts.push(pcapngBlock(0x0a0d0d0a, concat(shbBody, shbOpts), le), ...sectionParts);
  }
  return concat(...parts);
}

export interface PcapngOptions {
  linkType?: number;
  bigEndian?: boolean;
  tsresol?: number;
  snaplen?: number;
  blockType?: 'epb' | 'spb' | 'pb';
}

/**
 * Writes a pcapng file: either one section with one interface built from `opts`, or the given
 * sections. Returns the path.
 */
export function writePcapng(path: string, framesOrSections: FrameInput[] | PcapngSection[], opts: PcapngOptions = {}): string {
  const isSections = framesOrSections.length > 0 && !(framesOrSections[0] instanceof Uint8Array) && 'interfaces' in framesOrSections[0];
  const sections: PcapngSection[] = isSections
    ? (framesOrSections as PcapngSection[])
    : [
        {
          bigEndian: opts.bigEndian,
          blockType: opts.blockType,
          interfaces: [{ linkType: opts.linkType ?? 1, tsresol: opts.tsresol, snaplen: opts.snaplen }],
          frames: framesOrSections as FrameInput[],
        },
      ];
  writeFileSync(path, buildPcapng(sections));
  return path;
}

/** A new empty temporary directory. */
export function tempDir(prefix = 'spanwire-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

// ---------------------------------------------------------------------------------------------
// TCP conversations

export interface Exchange {
  from: 'client' | 'server';
  data: Uint8Array | string;
}

export interface ConversationSpec {
  client: string;
  server: string;
  clientPort: number;
  serverPort: number;
  exchanges: Exchange[];
  /** Emit SYN, SYN-ACK, ACK first (default true). */
  handshake?: boolean;
  /** Emit FIN/ACK from each side at the end (default true). */
  close?: boolean;
  /** Initial sequence numbers (defaults 1000 and 5000). */
  clientIsn?: number;
  serverIsn?: number;
  /** Time of the first packet (default [1700000000, 0]) and the step between packets in ns (default 1 ms). */
  start?: [number, number];
  stepNs?: number;
  /** Split data into segments of at most this many bytes (default 1460). */
  mss?: number;
  /** VLAN tags for every frame. */
  vlans?: (number | VlanTag)[];
}

/**
 * A complete TCP conversation as Ethernet frames with timestamps: optional handshake, each exchange
 * as PSH|ACK segments (split at `mss`) with correct sequence/acknowledgement numbers, optional
 * FIN handshake.
 */
export function tcpConversation(spec: ConversationSpec): Frame[] {
  const frames: Frame[] = [];
  const step = spec.stepNs ?? 1_000_000;
  const [s0, n0] = spec.start ?? [DEFAULT_TS_BASE, 0];
  const mss = spec.mss ?? 1460;
  let cseq = spec.clientIsn ?? 1000;
  let sseq = spec.serverIsn ?? 5000;
  const at = (): [number, number] => {
    const t = n0 + frames.length * step;
    return [s0 + Math.floor(t / 1e9), t % 1e9];
  };
  const push = (fromClient: boolean, flags: TcpFlags, payload?: Uint8Array): void => {
    const spec2: TcpSpec = fromClient
      ? { src: spec.client, dst: spec.server, sport: spec.clientPort, dport: spec.serverPort, seq: cseq, ack: sseq, flags, payload }
      : { src: spec.server, dst: spec.client, sport: spec.serverPort, dport: spec.clientPort, seq: sseq, ack: cseq, flags, payload };
    if (typeof flags === 'string' && flags === 'S') spec2.ack = 0;
    frames.push({ data: tcpPacket({ ...spec2, vlans: spec.vlans }), ts: at() });
  };
  if (spec.handshake ?? true) {
    push(true, 'S');
    cseq = (cseq + 1) >>> 0;
    push(false, 'SA');
    sseq = (sseq + 1) >>> 0;
    push(true, 'A');
  }
  for (const ex of spec.exchanges) {
    const data = bytes(ex.data);
    const fromClient = ex.from === 'client';
    for (let o = 0; o < data.length || (o === 0 && data.length === 0); o += mss) {
      const seg = data.subarray(o, Math.min(o + mss, data.length));
      push(fromClient, 'PA', seg);
      if (fromClient) cseq = (cseq + seg.length) >>> 0;
      else sseq = (sseq + seg.length) >>> 0;
      if (data.length === 0) break;
    }
  }
  if (spec.close ?? true) {
    push(true, 'FA');
    cseq = (cseq + 1) >>> 0;
    push(false, 'FA');
    sseq = (sseq + 1) >>> 0;
    push(true, 'A');
  }
  return frames;
}

// ---------------------------------------------------------------------------------------------
// Oracle

export interface TsharkOptions {
  /** Display filter (-Y). */
  filter?: string;
  /** Which occurrence of repeated fields (tunnels): 'f' first, 'l' last, 'a' all (default 'a'). */
  occurrence?: 'f' | 'l' | 'a';
  /** Extra arguments, e.g. ['-d', 'udp.port==8472,vxlan']. */
  args?: string[];
}

/**
 * Runs `tshark -r file -T fields -e f1 -e f2 ...` and returns one row (array of field strings) per
 * displayed frame. Throws if tshark fails.
 */
export function tshark(file: string, fields: string[], opts: TsharkOptions = {}): string[][] {
  const args = ['-r', file, '-n', '-T', 'fields', '-E', 'separator=\t', '-E', `occurrence=${opts.occurrence ?? 'a'}`];
  for (const f of fields) args.push('-e', f);
  if (opts.filter !== undefined) args.push('-Y', opts.filter);
  if (opts.args) args.push(...opts.args);
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 });
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}

/** True when tshark can be run. */
export function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading back through spanwire's own reader and decoder

/** One frame as delivered by the capture source (bytes copied). */
export interface ReadFrame {
  frameNumber: number;
  linkType: number;
  interfaceId: number;
  /** Relative ns (see TimeBase). */
  ts: number;
  /** Absolute [sec, nsec]. */
  time: [number, number];
  caplen: number;
  origLen: number;
  data: Uint8Array;
}

/** Reads a capture file with `createCaptureFileSource`, copying every frame. */
export async function readCaptureFrames(
  path: string,
  opts: { chunkSize?: number } = {},
): Promise<{ frames: ReadFrame[]; summary: CaptureSummary }> {
  const tb = new TimeBase();
  const frames: ReadFrame[] = [];
  const src = createCaptureFileSource(path, opts);
  const summary = await src.run(
    {
      onPacket(p: RawPacket) {
        frames.push({
          frameNumber: p.frameNumber,
          linkType: p.linkType,
          interfaceId: p.interfaceId,
          ts: p.ts,
          time: [0, 0],
          caplen: p.caplen,
          origLen: p.origLen,
          data: p.buf.slice(p.offset, p.offset + p.caplen),
        });
      },
    },
    tb,
  );
  for (const f of frames) f.time = tb.toHrTime(f.ts);
  return { frames, summary };
}

/** One decoded frame (fields meaningful when `code === DECODE_OK`). */
export interface DecodedRow {
  frameNumber: number;
  code: number;
  ipVersion: number;
  src: string;
  dst: string;
  protocol: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  tcpFlags: number;
  payloadLength: number;
  wireLength: number;
  vlanId: number;
  tunnelDepth: number;
  payload: Uint8Array;
  ts: number;
}

/** Reads and decodes a capture file; returns one row per frame plus the decoder (for its stats). */
export async function decodeCaptureFile(
  path: string,
  limits?: Partial<DecoderLimits>,
  opts: { chunkSize?: number } = {},
): Promise<{ rows: DecodedRow[]; decoder: PacketDecoder; summary: CaptureSummary }> {
  const decoder = new PacketDecoder(limits);
  const out = new DecodedPacket();
  const rows: DecodedRow[] = [];
  const summary = await createCaptureFileSource(path, opts).run(
    {
      onPacket(p: RawPacket) {
        const code = decoder.decode(p, out);
        const ok = code === DECODE_OK;
        rows.push({
          frameNumber: p.frameNumber,
          code,
          ipVersion: ok ? out.ipVersion : 0,
          src: ok ? formatAddress(out.ipVersion, out.srcAddr) : '',
          dst: ok ? formatAddress(out.ipVersion, out.dstAddr) : '',
          protocol: ok ? out.protocol : 0,
          srcPort: ok ? out.srcPort : 0,
          dstPort: ok ? out.dstPort : 0,
          seq: ok ? out.seq : 0,
          ack: ok ? out.ack : 0,
          tcpFlags: ok ? out.tcpFlags : 0,
          payloadLength: ok ? out.payloadLength : 0,
          wireLength: ok ? out.wireLength : 0,
          vlanId: ok ? out.vlanId : -1,
          tunnelDepth: ok ? out.tunnelDepth : 0,
          payload: ok ? out.buf.slice(out.payloadOffset, out.payloadOffset + out.payloadLength) : new Uint8Array(0),
          ts: p.ts,
        });
      },
    },
    new TimeBase(),
  );
  return { rows, decoder, summary };
}

/** What tshark says about the innermost TCP/UDP packet of a frame (empty `transport` when none). */
export interface TsharkPacket {
  frameNumber: number;
  protocols: string;
  transport: '' | 'tcp' | 'udp';
  ipVersion: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  tcpFlags: number;
  /** Payload bytes on the wire per the headers (tcp.len, or udp.length - 8). */
  wireLength: number;
  /** Outermost VLAN id, or -1. */
  vlanId: number;
  /** [sec, nsec] from frame.time_epoch. */
  time: [number, number];
  /** Number of 'ip'/'ipv6' layers minus one (tunnel layers, for IP-in-something tunnels). */
  ipLayers: number;
  /** Captured payload bytes as lower-case hex (tcp.payload / udp.payload; '' when empty). */
  payloadHex: string;
}

const PACKET_FIELDS = [
  'frame.number', 'frame.protocols', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst',
  'tcp.srcport', 'tcp.dstport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.flags', 'tcp.len',
  'udp.srcport', 'udp.dstport', 'udp.length', 'vlan.id', 'frame.time_epoch', 'tcp.payload', 'udp.payload',
];

/** Runs tshark on `file` and normalises each frame to its innermost TCP/UDP packet. */
export function tsharkPackets(file: string, opts: TsharkOptions = {}): TsharkPacket[] {
  const rows = tshark(file, PACKET_FIELDS, { ...opts, occurrence: 'a' });
  const last = (s: string): string => {
    const parts = s.split(',');
    return parts[parts.length - 1];
  };
  const first = (s: string): string => s.split(',')[0];
  return rows.map((r) => {
    const [num, protos, ipSrc, ipDst, ip6Src, ip6Dst, tSport, tDport, tSeq, tAck, tFlags, tLen, uSport, uDport, uLen, vlan, epoch, tPay, uPay] = r;
    const tokens = protos.split(':');
    let ipVersion = 0;
    let transport: '' | 'tcp' | 'udp' = '';
    let ipLayers = 0;
    for (const t of tokens) {
      // A transport counts only when it follows the innermost IP layer.
      if (t === 'ip') {
        ipVersion = 4;
        ipLayers++;
        transport = '';
      } else if (t === 'ipv6') {
        ipVersion = 6;
        ipLayers++;
        transport = '';
      } else if ((t === 'tcp' || t === 'udp') && transport === '') transport = t;
    }
    if (tokens.includes('icmp') || tokens.includes('icmpv6')) transport = '';
    const [es, ens = '0'] = (epoch ?? '').split('.');
    return {
      frameNumber: Number(num),
      protocols: protos,
      transport,
      ipVersion,
      src: ipVersion === 4 ? last(ipSrc) : ipVersion === 6 ? last(ip6Src) : '',
      dst: ipVersion === 4 ? last(ipDst) : ipVersion === 6 ? last(ip6Dst) : '',
      srcPort: Number(last(transport === 'tcp' ? tSport : uSport) || 0),
      dstPort: Number(last(transport === 'tcp' ? tDport : uDport) || 0),
      seq: transport === 'tcp' ? Number(last(tSeq)) : 0,
      ack: transport === 'tcp' ? Number(last(tAck)) : 0,
      tcpFlags: transport === 'tcp' ? parseInt(last(tFlags), 16) : 0,
      wireLength: transport === 'tcp' ? Number(last(tLen)) : transport === 'udp' ? Number(last(uLen)) - 8 : 0,
      vlanId: vlan ? Number(first(vlan)) : -1,
      time: [Number(es), Number(ens.padEnd(9, '0'))],
      ipLayers: Math.max(0, ipLayers - 1),
      payloadHex: transport === 'tcp' ? last(tPay ?? '') : transport === 'udp' ? last(uPay ?? '') : '',
    };
  });
}

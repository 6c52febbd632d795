/**
 * Packet decoder: link layer -> IPv4/IPv6 (with fragment reassembly) -> TCP/UDP, through VXLAN,
 * GRE and IP-in-IP tunnels.
 *
 * Every read is bounds-checked against the captured length; no input makes `decode` throw or read
 * outside the frame. Nothing is allocated for an ordinary packet: the decoder walks the frame with
 * offsets and writes into the caller's reused `DecodedPacket`. Only IP fragments allocate (in the
 * reassembler).
 *
 * Length model: `capEnd` is the end of the bytes present (captured), `wireEnd` the end per the IP /
 * UDP length fields (may lie beyond the captured bytes under a snap length). Bytes after `wireEnd`
 * (Ethernet padding, trailers) are ignored.
 *
 * Anomaly kinds counted in `stats.anomalies` (all snake_case):
 * link: `unsupported_link_type`, `link_truncated`, `ethernet_truncated`, `vlan_truncated`,
 *   `vlan_too_many_tags`, `sll_truncated`, `raw_bad_version`, `nflog_bad_tlv`;
 * IPv4: `ipv4_truncated`, `ipv4_bad_version`, `ipv4_bad_header`, `ipv4_bad_length`,
 *   `ipv4_zero_total_length` (TSO: length taken from the capture);
 * IPv6: `ipv6_truncated`, `ipv6_bad_version`, `ipv6_bad_ext_header`, `ipv6_too_many_ext_headers`,
 *   `ipv6_zero_payload_length` (jumbogram/TSO: length taken from the capture), `ipv6_nested_fragment`;
 * fragments: `ip_fragment_truncated`, `ip_fragment_bad_length`, `ip_fragment_too_large`,
 *   `ip_fragment_overlap`, `ip_fragment_inconsistent`, `ip_fragments_evicted`, `ip_fragments_timeout`;
 * TCP/UDP: `tcp_truncated`, `tcp_bad_offset`, `udp_truncated`, `udp_bad_length`;
 * tunnels: `vxlan_bad_header`, `vxlan_bad_inner` (reported as plain UDP), `gre_truncated`,
 *   `gre_bad_inner` (skipped), `ipip_bad_inner` (skipped), `tunnel_depth_exceeded`.
 */

import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NFLOG,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  LINKTYPE_RAW_OLD_12,
  LINKTYPE_RAW_OLD_14,
  type RawPacket,
} from '../capture/types.js';
import {
  DECODE_FRAGMENT_HELD,
  DECODE_MALFORMED,
  DECODE_OK,
  DECODE_SKIP,
  DECODE_UNSUPPORTED_LINK,
  DEFAULT_DECODER_LIMITS,
  IPPROTO_TCP,
  IPPROTO_UDP,
  type DecodedPacket,
  type DecoderLimits,
  type DecodeStats,
} from './types.js';
import { FRAG_COMPLETE, FRAG_HELD, IpReassembler } from './ipfrag.js';

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_TEB = 0x6558; // transparent Ethernet bridging (GRE)
const IPPROTO_IPIP = 4;
const IPPROTO_IPV6 = 41;
const IPPROTO_GRE = 47;
const MAX_VLAN_TAGS = 8;
const MAX_IPV6_EXT_HEADERS = 16;

function u16be(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
function u32be(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
function u32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

function isVlanTpid(t: number): boolean {
  return t === 0x8100 || t === 0x88a8 || t === 0x9100 || t === 0x9200 || t === 0x9300;
}

/**
 * Decodes captured frames into `DecodedPacket`s. One instance per capture stream (it holds the
 * fragment reassembly state). Not thread-safe, not re-entrant.
 */
export class PacketDecoder {
  /** Counters, updated by every `decode` call and by `expire`. */
  readonly stats: DecodeStats;
  /** Effective limits (defaults merged with the constructor argument). */
  readonly limits: DecoderLimits;
  private readonly vxlanPortMap: Uint8Array;
  private readonly frag: IpReassembler;
  private readonly maxDepth: number;
  /** Current capture time (for fragment timeouts). */
  private now = 0;
  // NFLOG payload bounds found by `nflogWalk`.
  private nfStart = 0;
  private nfEnd = 0;

  constructor(limits?: Partial<DecoderLimits>) {
    const l: DecoderLimits = { ...DEFAULT_DECODER_LIMITS };
    if (limits !== undefined) {
      for (const k of Object.keys(limits) as (keyof DecoderLimits)[]) {
        const v = limits[k];
        if (v !== undefined) (l as unknown as Record<string, unknown>)[k] = v;
      }
    }
    this.limits = l;
    this.stats = { decoded: 0, skipped: 0, reassembled: 0, anomalies: {} };
    this.vxlanPortMap = new Uint8Array(65536);
    for (const p of l.vxlanPorts) if (Number.isInteger(p) && p >= 0 && p < 65536) this.vxlanPortMap[p] = 1;
    this.maxDepth = l.maxTunnelDepth;
    this.frag = new IpReassembler(l, (kind) => this.anomaly(kind));
  }

  /** IP datagrams currently waiting for fragments. */
  get pendingFragments(): number {
    return this.frag.pending;
  }

  /**
   * Decodes one frame into `out` (every field of `out` is rewritten on DECODE_OK). Returns a DECODE_*
   * code. The payload view in `out` is valid until the next call. Never throws.
   */
  decode(pkt: RawPacket, out: DecodedPacket): number {
    const buf = pkt.buf;
    const off = pkt.offset;
    let end = off + pkt.caplen;
    if (end > buf.length) end = buf.length;
    out.ts = pkt.ts;
    out.vlanId = -1;
    out.tunnelDepth = 0;
    this.now = pkt.ts;
    let r: number;
    if (!(off >= 0 && off <= end)) {
      r = this.bad('link_truncated');
    } else {
      switch (pkt.linkType) {
        case LINKTYPE_ETHERNET:
          r = this.ether(buf, off, end, 0, out);
          break;
        case LINKTYPE_RAW:
        case LINKTYPE_RAW_OLD_12:
        case LINKTYPE_RAW_OLD_14:
          r = this.rawIp(buf, off, end, 0, out);
          break;
        case LINKTYPE_IPV4:
          r = this.ipv4(buf, off, end, 0, out);
          break;
        case LINKTYPE_IPV6:
          r = this.ipv6(buf, off, end, 0, out);
          break;
        case LINKTYPE_LINUX_SLL:
          if (end - off < 16) r = this.bad('sll_truncated');
          else r = this.ethertype(u16be(buf, off + 14), buf, off + 16, end, 0, out);
          break;
        case LINKTYPE_LINUX_SLL2:
          if (end - off < 20) r = this.bad('sll_truncated');
          else r = this.ethertype(u16be(buf, off), buf, off + 20, end, 0, out);
          break;
        case LINKTYPE_NULL:
          r = this.bsdNull(buf, off, end, out);
          break;
        case LINKTYPE_LOOP:
          r = this.bsdLoop(buf, off, end, out);
          break;
        case LINKTYPE_NFLOG:
          r = this.nflog(buf, off, end, out);
          break;
        default:
          this.anomaly('unsupported_link_type');
          return DECODE_UNSUPPORTED_LINK;
      }
    }
    if (r === DECODE_OK) this.stats.decoded++;
    else if (r === DECODE_SKIP) this.stats.skipped++;
    return r;
  }

  /**
   * Drops fragment sets whose first fragment is older than `fragmentTimeoutNs` at time `now`
   * (relative ns); each is counted as `ip_fragments_timeout`. Returns how many were dropped.
   */
  expire(now: number): number {
    return this.frag.expire(now);
  }

  // -------------------------------------------------------------------------------------------

  private anomaly(kind: string): void {
    const a = this.stats.anomalies;
    a[kind] = (a[kind] ?? 0) + 1;
  }

  private bad(kind: string): number {
    this.anomaly(kind);
    return DECODE_MALFORMED;
  }

  // ---- link layer ----------------------------------------------------------------------------

  private ether(buf: Uint8Array, off: number, end: number, depth: number, out: DecodedPacket): number {
    if (end - off < 14) return this.bad('ethernet_truncated');
    let type = u16be(buf, off + 12);
    let p = off + 14;
    let tags = 0;
    while (isVlanTpid(type)) {
      if (end - p < 4) return this.bad('vlan_truncated');
      if (++tags > MAX_VLAN_TAGS) return this.bad('vlan_too_many_tags');
      if (out.vlanId < 0) out.vlanId = u16be(buf, p) & 0x0fff;
      type = u16be(buf, p + 2);
      p += 4;
    }
    return this.ethertype(type, buf, p, end, depth, out);
  }

  private ethertype(type: number, buf: Uint8Array, p: number, end: number, depth: number, out: DecodedPacket): number {
    if (type === ETH_IPV4) return this.ipv4(buf, p, end, depth, out);
    if (type === ETH_IPV6) return this.ipv6(buf, p, end, depth, out);
    return DECODE_SKIP;
  }

  private rawIp(buf: Uint8Array, off: number, end: number, depth: number, out: DecodedPacket): number {
    if (end - off < 1) return this.bad('link_truncated');
    const v = buf[off] >> 4;
    if (v === 4) return this.ipv4(buf, off, end, depth, out);
    if (v === 6) return this.ipv6(buf, off, end, depth, out);
    return this.bad('raw_bad_version');
  }

  /** BSD loopback: 4-byte address family in the capturing host's byte order. */
  private bsdNull(buf: Uint8Array, off: number, end: number, out: DecodedPacket): number {
    if (end - off < 4) return this.bad('link_truncated');
    let fam = u32le(buf, off);
    if (fam > 0xffff) fam = u32be(buf, off);
    return this.family(fam, buf, off + 4, end, out);
  }

  /** OpenBSD loopback: address family in network byte order. */
  private bsdLoop(buf: Uint8Array, off: number, end: number, out: DecodedPacket): number {
    if (end - off < 4) return this.bad('link_truncated');
    return this.family(u32be(buf, off), buf, off + 4, end, out);
  }

  private family(fam: number, buf: Uint8Array, p: number, end: number, out: DecodedPacket): number {
    if (fam === 2) return this.ipv4(buf, p, end, 0, out);
    // AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD/DragonFly), 30 (macOS).
    if (fam === 24 || fam === 28 || fam === 30) return this.ipv6(buf, p, end, 0, out);
    return DECODE_SKIP;
  }

  /**
   * NFLOG: 4-byte nfgenmsg header, then TLVs (length includes the 4-byte TLV header, padded to 4).
   * TLV length/type are in the capturing host's byte order: little-endian is tried first, then
   * big-endian if the TLV chain does not parse. TLV type 9 (NFULA_PAYLOAD) holds the IP packet.
   */
  private nflog(buf: Uint8Array, off: number, end: number, out: DecodedPacket): number {
    if (end - off < 4) return this.bad('link_truncated');
    let r = this.nflogWalk(buf, off + 4, end, true);
    if (r < 0) r = this.nflogWalk(buf, off + 4, end, false);
    if (r < 0) return this.bad('nflog_bad_tlv');
    if (r === 0) return DECODE_SKIP;
    return this.rawIp(buf, this.nfStart, this.nfEnd, 0, out);
  }

  /** 1: payload found (nfStart/nfEnd), 0: no payload TLV, -1: TLV chain does not parse. */
  private nflogWalk(buf: Uint8Array, p: number, end: number, le: boolean): number {
    for (let i = 0; i < 256 && end - p >= 4; i++) {
      const len = le ? buf[p] | (buf[p + 1] << 8) : u16be(buf, p);
      const type = (le ? buf[p + 2] | (buf[p + 3] << 8) : u16be(buf, p + 2)) & 0x7fff;
      if (len < 4) return -1;
      if (type === 9) {
        this.nfStart = p + 4;
        // Under a snap length the payload TLV may be cut: take what is present.
        this.nfEnd = p + len < end ? p + len : end;
        return 1;
      }
      if (p + len > end) return -1;
      p += (len + 3) & ~3;
    }
    return 0;
  }

  // ---- IP ------------------------------------------------------------------------------------

  private ipv4(buf: Uint8Array, off: number, end: number, depth: number, out: DecodedPacket): number {
    const avail = end - off;
    if (avail < 20) return this.bad('ipv4_truncated');
    const vihl = buf[off];
    if (vihl >> 4 !== 4) return this.bad('ipv4_bad_version');
    const hl = (vihl & 15) << 2;
    if (hl < 20) return this.bad('ipv4_bad_header');
    if (hl > avail) return this.bad('ipv4_truncated');
    let total = u16be(buf, off + 2);
    if (total === 0) {
      // Captured on the sender before TCP segmentation offload: the length is not filled in.
      this.anomaly('ipv4_zero_total_length');
      total = avail;
    }
    if (total < hl) return this.bad('ipv4_bad_length');
    const wireEnd = off + total;
    const capEnd = wireEnd < end ? wireEnd : end;
    const proto = buf[off + 9];
    const fo = u16be(buf, off + 6);
    if ((fo & 0x3fff) === 0) {
      return this.l4(proto, buf, off + hl, capEnd, wireEnd, 4, buf, off + 12, depth, out);
    }
    // Fragment (MF set or offset > 0).
    if (capEnd !== wireEnd) return this.bad('ip_fragment_truncated');
    const key = `4/${depth}/${u32be(buf, off + 12)}/${u32be(buf, off + 16)}/${u16be(buf, off + 4)}/${proto}`;
    const l4 = off + hl;
    const f = this.frag;
    const r = f.add(key, this.now, proto, buf, off + 12, 4, (fo & 0x1fff) << 3, (fo & 0x2000) !== 0, buf, l4, wireEnd - l4);
    if (r === FRAG_HELD) return DECODE_FRAGMENT_HELD;
    if (r !== FRAG_COMPLETE) return DECODE_MALFORMED;
    this.stats.reassembled++;
    const rb = f.resultBuf;
    const rl = f.resultLength;
    return this.l4(f.resultProto, rb, 0, rl, rl, 4, f.resultAddr, 0, depth, out);
  }

  private ipv6(buf: Uint8Array, off: number, end: number, depth: number, out: DecodedPacket): number {
    if (end - off < 40) return this.bad('ipv6_truncated');
    if (buf[off] >> 4 !== 6) return this.bad('ipv6_bad_version');
    const plen = u16be(buf, off + 4);
    let wireEnd = off + 40 + plen;
    if (plen === 0 && end - off > 40) {
      // Jumbogram or TSO: take the length from the capture.
      this.anomaly('ipv6_zero_payload_length');
      wireEnd = end;
    }
    const capEnd = wireEnd < end ? wireEnd : end;
    return this.ipv6Chain(buf[off + 6], buf, off + 40, capEnd, wireEnd, buf, off + 8, depth, out, true);
  }

  /** Walks the IPv6 extension header chain from `p` (next header `nh`) to the upper layer. */
  private ipv6Chain(
    nh: number,
    buf: Uint8Array,
    p: number,
    capEnd: number,
    wireEnd: number,
    addrBuf: Uint8Array,
    addrOff: number,
    depth: number,
    out: DecodedPacket,
    allowFragment: boolean,
  ): number {
    for (let i = 0; i < MAX_IPV6_EXT_HEADERS; i++) {
      switch (nh) {
        case 0: // hop-by-hop
        case 43: // routing
        case 60: // destination options
        case 135: // mobility
        case 139: // HIP
        case 140: // shim6
        case 51: {
          // AH: length in 4-byte units minus 2; others: 8-byte units minus 1.
          if (wireEnd - p < 8) return this.bad('ipv6_bad_ext_header');
          if (capEnd - p < 8) return this.bad('ipv6_truncated');
          const len = nh === 51 ? (buf[p + 1] + 2) << 2 : (buf[p + 1] + 1) << 3;
          if (wireEnd - p < len) return this.bad('ipv6_bad_ext_header');
          if (capEnd - p < len) return this.bad('ipv6_truncated');
          nh = buf[p];
          p += len;
          break;
        }
        case 44: {
          if (wireEnd - p < 8) return this.bad('ipv6_bad_ext_header');
          if (capEnd - p < 8) return this.bad('ipv6_truncated');
          if (!allowFragment) return this.bad('ipv6_nested_fragment');
          const v = u16be(buf, p + 2);
          const fragOff = v & 0xfff8;
          const more = (v & 1) !== 0;
          const next = buf[p];
          if (fragOff === 0 && !more) {
            // Atomic fragment (RFC 6946): not really fragmented.
            nh = next;
            p += 8;
            break;
          }
          if (capEnd !== wireEnd) return this.bad('ip_fragment_truncated');
          let key = `6/${depth}/${u32be(buf, p + 4)}`;
          for (let k = 0; k < 32; k += 4) key += `/${u32be(addrBuf, addrOff + k)}`;
          const f = this.frag;
          const r = f.add(key, this.now, next, addrBuf, addrOff, 16, fragOff, more, buf, p + 8, wireEnd - p - 8);
          if (r === FRAG_HELD) return DECODE_FRAGMENT_HELD;
          if (r !== FRAG_COMPLETE) return DECODE_MALFORMED;
          this.stats.reassembled++;
          const rl = f.resultLength;
          return this.ipv6Chain(f.resultProto, f.resultBuf, 0, rl, rl, f.resultAddr, 0, depth, out, false);
        }
        case 50: // ESP: encrypted
        case 59: // no next header
          return DECODE_SKIP;
        default:
          return this.l4(nh, buf, p, capEnd, wireEnd, 6, addrBuf, addrOff, depth, out);
      }
    }
    return this.bad('ipv6_too_many_ext_headers');
  }

  // ---- transport and tunnels -------------------------------------------------------------------

  private l4(
    proto: number,
    buf: Uint8Array,
    p: number,
    capEnd: number,
    wireEnd: number,
    ver: number,
    addrBuf: Uint8Array,
    addrOff: number,
    depth: number,
    out: DecodedPacket,
  ): number {
    if (proto === IPPROTO_TCP) return this.tcp(buf, p, capEnd, wireEnd, ver, addrBuf, addrOff, depth, out);
    if (proto === IPPROTO_UDP) return this.udp(buf, p, capEnd, wireEnd, ver, addrBuf, addrOff, depth, out);
    if (proto === IPPROTO_GRE) return this.gre(buf, p, capEnd, depth, out);
    if (proto === IPPROTO_IPIP || proto === IPPROTO_IPV6) return this.ipInIp(proto, buf, p, capEnd, depth, out);
    return DECODE_SKIP;
  }

  private setAddrs(out: DecodedPacket, ver: number, a: Uint8Array, o: number): void {
    const s = out.srcAddr;
    const d = out.dstAddr;
    if (ver === 4) {
      // Bytes 4..15 are kept zero for IPv4; they can only be non-zero after an IPv6 packet.
      if (out.ipVersion !== 4) {
        for (let i = 4; i < 16; i++) {
          s[i] = 0;
          d[i] = 0;
        }
      }
      out.ipVersion = 4;
      s[0] = a[o];
      s[1] = a[o + 1];
      s[2] = a[o + 2];
      s[3] = a[o + 3];
      d[0] = a[o + 4];
      d[1] = a[o + 5];
      d[2] = a[o + 6];
      d[3] = a[o + 7];
    } else {
      out.ipVersion = 6;
      for (let i = 0; i < 16; i++) {
        s[i] = a[o + i];
        d[i] = a[o + 16 + i];
      }
    }
  }

  private tcp(
    buf: Uint8Array,
    p: number,
    capEnd: number,
    wireEnd: number,
    ver: number,
    addrBuf: Uint8Array,
    addrOff: number,
    depth: number,
    out: DecodedPacket,
  ): number {
    if (wireEnd - p < 20) return this.bad('tcp_bad_offset');
    if (capEnd - p < 20) return this.bad('tcp_truncated');
    const doff = (buf[p + 12] >> 4) << 2;
    if (doff < 20 || wireEnd - p < doff) return this.bad('tcp_bad_offset');
    if (capEnd - p < doff) return this.bad('tcp_truncated');
    this.setAddrs(out, ver, addrBuf, addrOff);
    out.protocol = IPPROTO_TCP;
    out.srcPort = u16be(buf, p);
    out.dstPort = u16be(buf, p + 2);
    out.seq = u32be(buf, p + 4);
    out.ack = u32be(buf, p + 8);
    out.tcpFlags = buf[p + 13];
    const po = p + doff;
    out.buf = buf;
    out.payloadOffset = po;
    out.payloadLength = capEnd - po;
    out.wireLength = wireEnd - po;
    out.tunnelDepth = depth;
    return DECODE_OK;
  }

  private udp(
    buf: Uint8Array,
    p: number,
    capEnd: number,
    wireEnd: number,
    ver: number,
    addrBuf: Uint8Array,
    addrOff: number,
    depth: number,
    out: DecodedPacket,
  ): number {
    if (wireEnd - p < 8) return this.bad('udp_bad_length');
    if (capEnd - p < 8) return this.bad('udp_truncated');
    const ulen = u16be(buf, p + 4);
    if (ulen < 8 || ulen > wireEnd - p) return this.bad('udp_bad_length');
    const uEnd = p + ulen;
    if (capEnd > uEnd) capEnd = uEnd;
    const dport = u16be(buf, p + 2);
    if (this.vxlanPortMap[dport] === 1) {
      if (depth >= this.maxDepth) {
        this.anomaly('tunnel_depth_exceeded');
      } else {
        const vlan = out.vlanId;
        const r = this.vxlan(buf, p + 8, capEnd, depth + 1, out);
        if (r !== DECODE_MALFORMED) return r;
        // Not decodable as VXLAN: report the outer datagram as plain UDP.
        out.vlanId = vlan;
        this.anomaly('vxlan_bad_inner');
      }
    }
    this.setAddrs(out, ver, addrBuf, addrOff);
    out.protocol = IPPROTO_UDP;
    out.srcPort = u16be(buf, p);
    out.dstPort = dport;
    out.seq = 0;
    out.ack = 0;
    out.tcpFlags = 0;
    const po = p + 8;
    out.buf = buf;
    out.payloadOffset = po;
    out.payloadLength = capEnd - po;
    out.wireLength = uEnd - po;
    out.tunnelDepth = depth;
    return DECODE_OK;
  }

  /** VXLAN (RFC 7348): 8-byte header, I flag (0x08) required, then an Ethernet frame. */
  private vxlan(buf: Uint8Array, p: number, end: number, depth: number, out: DecodedPacket): number {
    if (end - p < 8 || (buf[p] & 0x08) === 0) return this.bad('vxlan_bad_header');
    return this.ether(buf, p + 8, end, depth, out);
  }

  /**
   * GRE (RFC 2784/2890), version 0 only: optional checksum, key and sequence words; payload IPv4,
   * IPv6 or Ethernet (0x6558). Other payloads (ERSPAN, PPTP's version 1, ...) are skipped.
   * An undecodable payload is skipped with `gre_bad_inner`.
   */
  private gre(buf: Uint8Array, p: number, end: number, depth: number, out: DecodedPacket): number {
    if (depth >= this.maxDepth) {
      this.anomaly('tunnel_depth_exceeded');
      return DECODE_SKIP;
    }
    if (end - p < 4) {
      this.anomaly('gre_truncated');
      return DECODE_SKIP;
    }
    const flags = u16be(buf, p);
    if ((flags & 7) !== 0 || (flags & 0x4000) !== 0) return DECODE_SKIP; // version != 0, or source routing
    const hl = 4 + (flags & 0x8000 ? 4 : 0) + (flags & 0x2000 ? 4 : 0) + (flags & 0x1000 ? 4 : 0);
    if (end - p < hl) {
      this.anomaly('gre_truncated');
      return DECODE_SKIP;
    }
    const type = u16be(buf, p + 2);
    const q = p + hl;
    let r: number;
    if (type === ETH_IPV4) r = this.ipv4(buf, q, end, depth + 1, out);
    else if (type === ETH_IPV6) r = this.ipv6(buf, q, end, depth + 1, out);
    else if (type === ETH_TEB) {
      const vlan = out.vlanId;
      r = this.ether(buf, q, end, depth + 1, out);
      if (r === DECODE_MALFORMED) out.vlanId = vlan;
    } else return DECODE_SKIP;
    if (r === DECODE_MALFORMED) {
      this.anomaly('gre_bad_inner');
      return DECODE_SKIP;
    }
    return r;
  }

  /** IP-in-IP (4) and IPv6-in-IP (41): a tunnel layer like GRE. */
  private ipInIp(proto: number, buf: Uint8Array, p: number, end: number, depth: number, out: DecodedPacket): number {
    if (depth >= this.maxDepth) {
      this.anomaly('tunnel_depth_exceeded');
      return DECODE_SKIP;
    }
    const r = proto === IPPROTO_IPIP ? this.ipv4(buf, p, end, depth + 1, out) : this.ipv6(buf, p, end, depth + 1, out);
    if (r === DECODE_MALFORMED) {
      this.anomaly('ipip_bad_inner');
      return DECODE_SKIP;
    }
    return r;
  }
}

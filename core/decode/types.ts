/**
 * Decoding: link layer -> IP (with fragment reassembly) -> TCP/UDP, through VXLAN and GRE tunnels.
 *
 * `PacketDecoder.decode` fills one reused `DecodedPacket` per call; nothing is allocated for an
 * ordinary packet. The payload is a view (`buf`, `payloadOffset`, `payloadLength`) into either the
 * source's frame buffer or, for a reassembled IP datagram, a buffer owned by the decoder; either
 * way it is valid only until the next `decode` call.
 */

/** Results of `PacketDecoder.decode`. Anything but DECODE_OK means: nothing to hand on. */
export const DECODE_OK = 0;
/** Not TCP/UDP over IPv4/IPv6 (ARP, ICMP, ...): counted as 'other' traffic, not an anomaly. */
export const DECODE_SKIP = 1;
/** An IP fragment was stored; the datagram is not complete yet. */
export const DECODE_FRAGMENT_HELD = 2;
/** Malformed or truncated: an anomaly was counted. */
export const DECODE_MALFORMED = 3;
/** Link type this build does not decode: counted. */
export const DECODE_UNSUPPORTED_LINK = 4;

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** TCP flag bits as in the TCP header's flags byte. */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/**
 * One decoded transport-layer packet (the innermost one when tunnelled). Reused: every field is
 * rewritten by each successful decode.
 */
export class DecodedPacket {
  /** 4 or 6. */
  ipVersion = 0;
  /**
   * Source and destination addresses. IPv4 uses bytes 0..3; IPv6 uses 0..15. The arrays are owned
   * by the packet object and overwritten by each decode.
   */
  readonly srcAddr = new Uint8Array(16);
  readonly dstAddr = new Uint8Array(16);
  /** IPPROTO_TCP or IPPROTO_UDP. */
  protocol = 0;
  srcPort = 0;
  dstPort = 0;
  /** TCP only: flags byte (TCP_SYN | TCP_ACK ...), sequence and acknowledgement numbers (uint32). */
  tcpFlags = 0;
  seq = 0;
  ack = 0;
  /** Payload view: valid until the next decode. */
  buf: Uint8Array = new Uint8Array(0);
  payloadOffset = 0;
  /** Bytes of payload present in `buf` (may be less than the wire length under a snap length). */
  payloadLength = 0;
  /** Payload bytes on the wire per the IP/TCP headers (>= payloadLength). */
  wireLength = 0;
  /** Capture time (relative ns, see TimeBase). */
  ts = 0;
  /** Number of tunnel layers (VXLAN, GRE) that were removed to reach this packet. */
  tunnelDepth = 0;
  /** VLAN id of the outermost 802.1Q tag, or -1. */
  vlanId = -1;
}

/** Counts of what the decoder saw and dropped, by kind; exposed in the replay summary. */
export interface DecodeStats {
  /** Packets decoded to TCP/UDP. */
  decoded: number;
  /** Packets that were valid but not TCP/UDP over IP. */
  skipped: number;
  /** IP datagrams completed from fragments. */
  reassembled: number;
  /** Anomalies by kind (e.g. 'ipv4_bad_header', 'ip_fragments_evicted', 'tcp_bad_offset'). */
  anomalies: Record<string, number>;
}

/** Limits on the IP fragment reassembler; every drop is counted in `DecodeStats.anomalies`. */
export interface DecoderLimits {
  /** Datagrams being reassembled at once (default 1024). */
  maxFragmentedDatagrams: number;
  /** Bytes held in pending fragments in total (default 16 MiB). */
  maxFragmentBytes: number;
  /** A datagram whose fragments do not all arrive within this time is dropped (ns; default 30 s). */
  fragmentTimeoutNs: number;
  /** Nested tunnel layers decoded before giving up (default 4). */
  maxTunnelDepth: number;
  /** UDP ports decoded as VXLAN (default [4789, 8472]). */
  vxlanPorts: readonly number[];
}

export const DEFAULT_DECODER_LIMITS: DecoderLimits = {
  maxFragmentedDatagrams: 1024,
  maxFragmentBytes: 16 << 20,
  fragmentTimeoutNs: 30e9,
  maxTunnelDepth: 4,
  vxlanPorts: [4789, 8472],
};

/** Formats an address from a DecodedPacket address array ("10.0.0.1", "2001:db8::1"). */
export function formatAddress(version: number, a: Uint8Array): string {
  if (version === 4) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  // RFC 5952: lower-case hex, longest run (>= 2) of zero groups compressed (the first one on a tie).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if ((a[2 * i] | a[2 * i + 1]) !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && (a[2 * j] | a[2 * j + 1]) === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // IPv4-mapped ::ffff:a.b.c.d
  if (bestStart === 0 && bestLen === 5 && a[10] === 0xff && a[11] === 0xff) {
    return `::ffff:${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s !== '' && !s.endsWith(':')) s += ':';
    s += ((a[2 * i] << 8) | a[2 * i + 1]).toString(16);
  }
  return s;
}

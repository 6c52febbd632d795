/**
 * Packet decoder: link types, VLANs, IPv4/IPv6 (extension headers, fragments), TCP/UDP, tunnels and
 * malformed input. Oracles: tshark on the same file (fields of the innermost TCP/UDP packet), and the
 * bytes we built (we know what we put in).
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
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
  RawPacket,
} from '../../core/capture/types.js';
import { PacketDecoder } from '../../core/decode/decoder.js';
import {
  DECODE_FRAGMENT_HELD,
  DECODE_MALFORMED,
  DECODE_OK,
  DECODE_SKIP,
  DECODE_UNSUPPORTED_LINK,
  DecodedPacket,
  formatAddress,
  type DecoderLimits,
} from '../../core/decode/types.js';
import {
  bsdLoop,
  bsdNull,
  concat,
  decodeCaptureFile,
  ethernet,
  fragmentIpv4,
  fragmentIpv6,
  gre,
  grePacket,
  ipPacket,
  ipv4Packet,
  ipv6Packet,
  nflog,
  sll,
  sll2,
  tcpConversation,
  tcpIp,
  tcpPacket,
  tcpSegment,
  tempDir,
  tshark,
  tsharkPackets,
  udpDatagram,
  udpIp,
  vxlan,
  vxlanPacket,
  writePcap,
  type DecodedRow,
  type FrameInput,
  type PcapOptions,
  type TsharkPacket,
} from '../helpers/pcap-builder.js';

let dir = '';
let fileNo = 0;
beforeAll(() => {
  dir = tempDir('spanwire-decode-');
});

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/**
 * Writes `frames`, decodes them with spanwire and with tshark, and checks that every frame tshark
 * shows as TCP/UDP decodes to the same innermost packet, and every other frame does not decode.
 */
async function crossCheck(
  frames: FrameInput[],
  opts: PcapOptions = {},
  more: { limits?: Partial<DecoderLimits>; tsharkArgs?: string[] } = {},
): Promise<{ rows: DecodedRow[]; t: TsharkPacket[]; decoder: PacketDecoder }> {
  const file = writePcap(join(dir, `f${fileNo++}.pcap`), frames, opts);
  const { rows, decoder } = await decodeCaptureFile(file, more.limits);
  const t = tsharkPackets(file, { args: more.tsharkArgs });
  expect(rows.length).toBe(t.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const x = t[i];
    expect(r.frameNumber).toBe(x.frameNumber);
    if (x.transport === '') {
      expect(r.code, `frame ${x.frameNumber} (${x.protocols})`).not.toBe(DECODE_OK);
      continue;
    }
    expect(r.code, `frame ${x.frameNumber} (${x.protocols})`).toBe(DECODE_OK);
    expect({
      ipVersion: r.ipVersion,
      src: r.src,
      dst: r.dst,
      protocol: r.protocol,
      srcPort: r.srcPort,
      dstPort: r.dstPort,
      seq: r.seq,
      ack: r.ack,
      tcpFlags: r.tcpFlags,
      wireLength: r.wireLength,
      payload: hex(r.payload),
    }).toEqual({
      ipVersion: x.ipVersion,
      src: x.src,
      dst: x.dst,
      protocol: x.transport === 'tcp' ? 6 : 17,
      srcPort: x.srcPort,
      dstPort: x.dstPort,
      seq: x.seq,
      ack: x.ack,
      tcpFlags: x.tcpFlags,
      wireLength: x.wireLength,
      payload: x.payloadHex,
    });
  }
  return { rows, t, decoder };
}

const T4 = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40001, dport: 80, seq: 0xfffffff0, ack: 0x80000001, flags: 'PA', payload: 'GET / HTTP/1.1\r\n\r\n' };
const T6 = { src: '2001:db8::1', dst: '2001:db8:0:1::2', sport: 40002, dport: 443, seq: 1, ack: 2, flags: 'SA' };
const U4 = { src: '192.168.1.10', dst: '8.8.8.8', sport: 5353, dport: 53, payload: 'dns-ish payload' };
const U6 = { src: 'fe80::1', dst: 'ff02::fb', sport: 5353, dport: 5353, payload: 'mdns' };
const IPS = (): Uint8Array[] => [tcpIp(T4), tcpIp(T6), udpIp(U4), udpIp(U6)];

describe('link types', () => {
  const cases: [string, number, (ip: Uint8Array) => Uint8Array][] = [
    ['Ethernet', LINKTYPE_ETHERNET, (p) => ethernet(p)],
    ['Linux SLL', LINKTYPE_LINUX_SLL, (p) => sll(p)],
    ['Linux SLL2', LINKTYPE_LINUX_SLL2, (p) => sll2(p)],
    ['NULL little-endian family', LINKTYPE_NULL, (p) => bsdNull(p)],
    ['NULL big-endian family', LINKTYPE_NULL, (p) => bsdNull(p, { bigEndian: true })],
    ['NULL AF_INET6 = 24', LINKTYPE_NULL, (p) => bsdNull(p, { family: p[0] >> 4 === 6 ? 24 : 2 })],
    ['NULL AF_INET6 = 28 big-endian', LINKTYPE_NULL, (p) => bsdNull(p, { family: p[0] >> 4 === 6 ? 28 : 2, bigEndian: true })],
    ['LOOP', LINKTYPE_LOOP, (p) => bsdLoop(p)],
    ['LOOP AF_INET6 = 30', LINKTYPE_LOOP, (p) => bsdLoop(p, { family: p[0] >> 4 === 6 ? 30 : 2 })],
    ['NFLOG', LINKTYPE_NFLOG, (p) => nflog(p)],
    ['RAW (101)', LINKTYPE_RAW, (p) => p],
    ['RAW (12)', LINKTYPE_RAW_OLD_12, (p) => p],
    ['RAW (14)', LINKTYPE_RAW_OLD_14, (p) => p],
  ];
  for (const [name, linkType, wrap] of cases) {
    it(`${name}: TCP and UDP over IPv4 and IPv6 decode like tshark`, async () => {
      const { rows } = await crossCheck(IPS().map(wrap), { linkType });
      expect(rows.map((r) => r.code)).toEqual([DECODE_OK, DECODE_OK, DECODE_OK, DECODE_OK]);
      // Construction: seq/ack as uint32.
      expect(rows[0].seq).toBe(0xfffffff0);
      expect(rows[0].ack).toBe(0x80000001);
      expect(rows[0].vlanId).toBe(-1);
    });
  }
  it('IPV4 (228) and IPV6 (229)', async () => {
    const a = await crossCheck([tcpIp(T4), udpIp(U4)], { linkType: LINKTYPE_IPV4 });
    expect(a.rows.map((r) => r.code)).toEqual([DECODE_OK, DECODE_OK]);
    const b = await crossCheck([tcpIp(T6), udpIp(U6)], { linkType: LINKTYPE_IPV6 });
    expect(b.rows.map((r) => r.code)).toEqual([DECODE_OK, DECODE_OK]);
    // A v6 packet on the IPv4 link type is malformed.
    const d = new PacketDecoder();
    expect(decodeBytes(d, tcpIp(T6), LINKTYPE_IPV4)).toBe(DECODE_MALFORMED);
    expect(d.stats.anomalies).toEqual({ ipv4_bad_version: 1 });
  });

  it('NFLOG with big-endian TLVs (a big-endian capturing host)', () => {
    const d = new PacketDecoder();
    const out = new DecodedPacket();
    expect(decodeBytes(d, nflog(tcpIp(T4), { bigEndian: true }), LINKTYPE_NFLOG, out)).toBe(DECODE_OK);
    expect(out.dstPort).toBe(80);
  });

  it('unsupported link type', () => {
    const d = new PacketDecoder();
    expect(decodeBytes(d, tcpIp(T4), 147)).toBe(DECODE_UNSUPPORTED_LINK);
    expect(d.stats.anomalies).toEqual({ unsupported_link_type: 1 });
  });
});

/** Decodes one frame given as bytes (placed at an offset inside a larger buffer, like a chunk). */
function decodeBytes(d: PacketDecoder, frame: Uint8Array, linkType = LINKTYPE_ETHERNET, out = new DecodedPacket(), caplen = frame.length, ts = 0): number {
  const pkt = new RawPacket();
  const buf = new Uint8Array(frame.length + 100).fill(0xee);
  buf.set(frame, 37);
  pkt.buf = buf;
  pkt.offset = 37;
  pkt.caplen = caplen;
  pkt.origLen = frame.length;
  pkt.linkType = linkType;
  pkt.ts = ts;
  return d.decode(pkt, out);
}

describe('Ethernet details', () => {
  it('VLAN tags: 802.1Q, 802.1ad QinQ, 0x9100, triple stacks; vlanId is the outermost', async () => {
    const frames = [
      ethernet(tcpIp(T4), { vlans: [100] }),
      ethernet(tcpIp(T4), { vlans: [{ id: 300, tpid: 0x88a8 }, 200] }),
      ethernet(tcpIp(T6), { vlans: [{ id: 7, tpid: 0x9100 }, 8] }),
      ethernet(udpIp(U4), { vlans: [{ id: 4094, tpid: 0x88a8, pcp: 5 }, { id: 5, tpid: 0x8100 }, { id: 6, tpid: 0x8100 }] }),
    ];
    const { rows } = await crossCheck(frames);
    expect(rows.map((r) => r.vlanId)).toEqual([100, 300, 7, 4094]);
    // tshark sees the same tag stack (802.1ad tags are ieee8021ad.id, 802.1Q ones vlan.id).
    const file = writePcap(join(dir, 'vlan-check.pcap'), frames);
    const t = tshark(file, ['ieee8021ad.id', 'vlan.id']);
    expect(t).toEqual([
      ['', '100'],
      ['300', '200'],
      ['', '7,8'],
      ['4094', '5,6'],
    ]);
  });

  it('Ethernet padding is trimmed by the IP total length', async () => {
    const ip = tcpIp({ ...T4, flags: 'A', payload: '' }); // 40 bytes: frame 54, padded to 60
    const { rows } = await crossCheck([ethernet(ip, { trailer: new Uint8Array(6).fill(0xaa) }), ethernet(udpIp({ ...U4, payload: 'x' }), { trailer: new Uint8Array(17) })]);
    expect(rows.map((r) => [r.payloadLength, r.wireLength])).toEqual([
      [0, 0],
      [1, 1],
    ]);
  });

  it('non-IP and non-TCP/UDP traffic is skipped, not an anomaly', async () => {
    const arp = ethernet(new Uint8Array(28), { etherType: 0x0806 });
    const icmp = ethernet(ipv4Packet({ src: '1.1.1.1', dst: '2.2.2.2', protocol: 1, payload: new Uint8Array([8, 0, 0xf7, 0xff, 0, 0, 0, 0]) }));
    const icmp6 = ethernet(ipv6Packet({ src: '::1', dst: '::2', nextHeader: 58, payload: new Uint8Array(8) }));
    const llc = ethernet(new Uint8Array(40), { etherType: 40 }); // 802.3 length field
    const { decoder, rows } = await crossCheck([arp, icmp, icmp6, llc, tcpPacket(T4)]);
    expect(rows.map((r) => r.code)).toEqual([DECODE_SKIP, DECODE_SKIP, DECODE_SKIP, DECODE_SKIP, DECODE_OK]);
    expect(decoder.stats).toMatchObject({ decoded: 1, skipped: 4, anomalies: {} });
  });
});

describe('snap length', () => {
  it('payloadLength = bytes present, wireLength = length per headers', async () => {
    const payload = 'y'.repeat(1000);
    const frames = [tcpPacket({ ...T4, payload }), tcpPacket({ ...T6, payload }), ethernet(udpIp({ ...U4, payload }))];
    const { rows } = await crossCheck(frames, { snaplen: 200 });
    // Construction: 200 bytes captured minus the headers.
    expect(rows.map((r) => [r.payloadLength, r.wireLength])).toEqual([
      [200 - 14 - 20 - 20, 1000],
      [200 - 14 - 40 - 20, 1000],
      [200 - 14 - 20 - 8, 1000],
    ]);
    expect(Buffer.from(rows[0].payload).toString()).toBe(payload.slice(0, 146));
  });

  it('a TCP header cut by the snap length is counted, not decoded', () => {
    const d = new PacketDecoder();
    expect(decodeBytes(d, tcpPacket(T4), LINKTYPE_ETHERNET, new DecodedPacket(), 14 + 20 + 10)).toBe(DECODE_MALFORMED);
    expect(d.stats.anomalies).toEqual({ tcp_truncated: 1 });
  });
});

describe('IPv4 fragments', () => {
  const big = (n: number): string => Array.from({ length: n }, (_, i) => String.fromCharCode(65 + (i % 26))).join('');

  it('reassembles in order, out of order, with duplicates and overlaps, like tshark', async () => {
    const tcp = tcpIp({ ...T4, payload: big(3000), ipId: 0x1234 });
    const udp = udpIp({ ...U4, payload: big(2500), ipId: 0x4321 });
    const ft = fragmentIpv4(tcp, 1000); // 4 fragments (3020 bytes of TCP)
    const fu = fragmentIpv4(udp, 800);
    const frames = [
      ...ft.map((f) => ethernet(f)),
      ethernet(fu[3]),
      ethernet(fu[1]),
      ethernet(fu[0]),
      ethernet(fu[1]), // duplicate
      ethernet(fu[2]),
    ];
    const { rows, decoder } = await crossCheck(frames);
    expect(rows.map((r) => r.code)).toEqual([
      DECODE_FRAGMENT_HELD, DECODE_FRAGMENT_HELD, DECODE_FRAGMENT_HELD, DECODE_OK,
      DECODE_FRAGMENT_HELD, DECODE_FRAGMENT_HELD, DECODE_FRAGMENT_HELD, DECODE_FRAGMENT_HELD, DECODE_OK,
    ]);
    expect(Buffer.from(rows[3].payload).toString()).toBe(big(3000));
    expect(Buffer.from(rows[8].payload).toString()).toBe(big(2500));
    expect(decoder.stats.reassembled).toBe(2);
    expect(decoder.stats.anomalies).toEqual({ ip_fragment_overlap: 1 });
    expect(decoder.pendingFragments).toBe(0);
  });

  it('overlapping fragments: first arrival wins', () => {
    // Build by hand: payload = 8 'A' + 8 'B' + 8 'C' in UDP; the second fragment overlaps with 'Z's.
    const udp = udpDatagram({ ...U4, payload: 'AAAAAAAABBBBBBBBCCCCCCCC' }); // 32 bytes
    const mk = (off: number, data: Uint8Array, mf: boolean): Uint8Array =>
      ethernet(ipv4Packet({ src: U4.src, dst: U4.dst, protocol: 17, payload: data, id: 9, mf, fragOffset: off }));
    const d = new PacketDecoder();
    const out = new DecodedPacket();
    expect(decodeBytes(d, mk(0, udp.subarray(0, 16), true), 1, out)).toBe(DECODE_FRAGMENT_HELD);
    const evil = udp.slice(8, 24).fill(0x5a);
    expect(decodeBytes(d, mk(8, evil, true), 1, out)).toBe(DECODE_FRAGMENT_HELD);
    expect(decodeBytes(d, mk(24, udp.subarray(24), false), 1, out)).toBe(DECODE_OK);
    // Bytes 8..15 (first fragment) kept, 16..23 filled from the overlapping one.
    expect(Buffer.from(out.buf.subarray(out.payloadOffset, out.payloadOffset + out.payloadLength)).toString()).toBe('AAAAAAAAZZZZZZZZCCCCCCCC');
    expect(d.stats.anomalies).toEqual({ ip_fragment_overlap: 1 });
  });

  it('inconsistent and bad fragments are dropped and counted', () => {
    const d = new PacketDecoder();
    const frag = (off: number, len: number, mf: boolean, id = 5): Uint8Array =>
      ethernet(ipv4Packet({ src: '1.1.1.1', dst: '2.2.2.2', protocol: 17, payload: new Uint8Array(len), id, mf, fragOffset: off }));
    expect(decodeBytes(d, frag(0, 13, true), 1)).toBe(DECODE_MALFORMED); // not a multiple of 8
    expect(decodeBytes(d, frag(0, 16, true), 1)).toBe(DECODE_FRAGMENT_HELD);
    expect(decodeBytes(d, frag(32, 8, false), 1)).toBe(DECODE_FRAGMENT_HELD); // end = 40
    expect(decodeBytes(d, frag(40, 8, true), 1)).toBe(DECODE_MALFORMED); // beyond the end
    expect(decodeBytes(d, frag(65528, 16, false, 6), 1)).toBe(DECODE_MALFORMED); // > 64 KiB
    const cut = frag(0, 64, true, 7);
    expect(decodeBytes(d, cut, 1, new DecodedPacket(), cut.length - 10)).toBe(DECODE_MALFORMED);
    expect(d.stats.anomalies).toEqual({
      ip_fragment_bad_length: 1,
      ip_fragment_inconsistent: 1,
      ip_fragment_too_large: 1,
      ip_fragment_truncated: 1,
    });
    expect(d.pendingFragments).toBe(0);
  });
});

describe('IPv6', () => {
  it('extension header chain: hop-by-hop, destination options, routing, AH', async () => {
    const seg = tcpSegment({ ...T6, payload: 'over ext headers' });
    const frames = [
      ethernet(ipv6Packet({ src: T6.src, dst: T6.dst, nextHeader: 6, payload: seg, ext: [{ type: 0 }, { type: 60, len: 16 }, { type: 43 }, { type: 51 }] })),
      ethernet(ipv6Packet({ src: T6.src, dst: T6.dst, nextHeader: 17, payload: udpDatagram({ ...U6, src: T6.src, dst: T6.dst }), ext: [{ type: 60, len: 24 }] })),
    ];
    const { rows } = await crossCheck(frames);
    expect(rows.map((r) => r.code)).toEqual([DECODE_OK, DECODE_OK]);
    expect(Buffer.from(rows[0].payload).toString()).toBe('over ext headers');
  });

  it('ESP, no-next-header and mobility without payload are skipped', () => {
    const d = new PacketDecoder();
    const esp = ethernet(ipv6Packet({ src: '::1', dst: '::2', nextHeader: 50, payload: new Uint8Array(32) }));
    const none = ethernet(ipv6Packet({ src: '::1', dst: '::2', nextHeader: 59, payload: new Uint8Array(0) }));
    const mob = ethernet(ipv6Packet({ src: '::1', dst: '::2', nextHeader: 59, payload: new Uint8Array(0), ext: [{ type: 135 }] }));
    const espAfterHbh = ethernet(ipv6Packet({ src: '::1', dst: '::2', nextHeader: 50, payload: new Uint8Array(16), ext: [{ type: 0 }] }));
    for (const f of [esp, none, mob, espAfterHbh]) expect(decodeBytes(d, f)).toBe(DECODE_SKIP);
    expect(d.stats).toMatchObject({ skipped: 4, anomalies: {} });
  });

  it('extension header longer than the packet is counted', () => {
    const d = new PacketDecoder();
    const p = ipv6Packet({ src: '::1', dst: '::2', nextHeader: 6, payload: tcpSegment({ ...T6, src: '::1', dst: '::2' }), ext: [{ type: 60 }] });
    p[41] = 200; // hdr ext len: 201 * 8 bytes
    expect(decodeBytes(d, ethernet(p))).toBe(DECODE_MALFORMED);
    expect(d.stats.anomalies).toEqual({ ipv6_bad_ext_header: 1 });
  });

  it('fragments (out of order) reassemble like tshark, with extension headers on both sides', async () => {
    const udp = udpIp({ ...U6, src: '2001:db8::10', dst: '2001:db8::20', payload: 'z'.repeat(3000) });
    const f = fragmentIpv6(udp, 1232, 0xabcdef01);
    // Hop-by-hop before the fragment header, destination options inside the fragmentable part.
    const seg = tcpSegment({ ...T6, payload: 'q'.repeat(2000) });
    const dst = new Uint8Array(8);
    dst[0] = 6; // next: TCP
    dst[2] = 1; // PadN
    dst[3] = 4;
    const fragmentable = concat(dst, seg);
    const parts: Uint8Array[] = [];
    for (let o = 0; o < fragmentable.length; o += 1024) {
      parts.push(
        ipv6Packet({
          src: T6.src,
          dst: T6.dst,
          nextHeader: 60,
          payload: fragmentable.subarray(o, Math.min(o + 1024, fragmentable.length)),
          ext: [{ type: 0 }, { type: 44, offset: o, more: o + 1024 < fragmentable.length, id: 77 }],
        }),
      );
    }
    const frames = [f[2], f[0], f[1], parts[1], parts[0]].map((x) => ethernet(x));
    const { rows, decoder } = await crossCheck(frames);
    expect(rows.map((r) => r.code)).toEqual([DECODE_FRAGMENT_HELD, DECODE_FRAGMENT_HELD, DECODE_OK, DECODE_FRAGMENT_HELD, DECODE_OK]);
    expect(rows[2].payload.length).toBe(3000);
    expect(Buffer.from(rows[4].payload).toString()).toBe('q'.repeat(2000));
    expect(decoder.stats.reassembled).toBe(2);
  });

  it('atomic fragment (offset 0, M = 0) is decoded in place', async () => {
    const p = ipv6Packet({ src: T6.src, dst: T6.dst, nextHeader: 6, payload: tcpSegment(T6), ext: [{ type: 44, offset: 0, more: false, id: 1 }] });
    const { rows, decoder } = await crossCheck([ethernet(p)]);
    expect(rows[0].code).toBe(DECODE_OK);
    expect(decoder.stats.reassembled).toBe(0);
  });
});

describe('tunnels', () => {
  const outer = { src: '172.16.0.1', dst: '172.16.0.2' };

  it('VXLAN (4789, and 8472 when configured) reports the inner TCP/UDP packet', async () => {
    const frames = [
      vxlanPacket(outer, ethernet(tcpIp(T4))),
      vxlanPacket(outer, ethernet(tcpIp(T6), { vlans: [42] })),
      vxlanPacket({ ...outer, dport: 8472 }, ethernet(udpIp(U4))),
      ethernet(ipPacket('2001::a', '2001::b', 17, udpDatagram({ src: '2001::a', dst: '2001::b', sport: 1, dport: 4789, payload: vxlan(ethernet(tcpIp(T4))) }))),
    ];
    const { rows } = await crossCheck(frames, {}, { tsharkArgs: ['-d', 'udp.port==8472,vxlan'] });
    expect(rows.map((r) => [r.code, r.tunnelDepth, r.vlanId])).toEqual([
      [DECODE_OK, 1, -1],
      [DECODE_OK, 1, 42],
      [DECODE_OK, 1, -1],
      [DECODE_OK, 1, -1],
    ]);
  });

  it('VXLAN ports are configurable', async () => {
    const frame = vxlanPacket({ ...outer, dport: 8472 }, ethernet(udpIp(U4)));
    const d = new PacketDecoder({ vxlanPorts: [4789] });
    const out = new DecodedPacket();
    expect(decodeBytes(d, frame, 1, out)).toBe(DECODE_OK);
    expect([out.dstPort, out.tunnelDepth]).toEqual([8472, 0]);
  });

  it('VXLAN whose inner frame does not decode is reported as plain UDP, with an anomaly', () => {
    const d = new PacketDecoder();
    const out = new DecodedPacket();
    // I flag missing.
    const noI = vxlan(ethernet(tcpIp(T4)));
    noI[0] = 0;
    const f1 = ethernet(udpIp({ ...U4, dport: 4789, payload: noI }), { vlans: [9] });
    expect(decodeBytes(d, f1, 1, out)).toBe(DECODE_OK);
    expect([out.protocol, out.dstPort, out.tunnelDepth, out.vlanId, formatAddress(4, out.srcAddr)]).toEqual([17, 4789, 0, 9, U4.src]);
    expect(out.payloadLength).toBe(noI.length);
    // Inner IPv4 header cut short; inner VLAN must not leak into the outer report.
    const inner = ethernet(tcpIp(T4), { vlans: [77] }).subarray(0, 14 + 4 + 12);
    const f2 = ethernet(udpIp({ ...U4, dport: 4789, payload: vxlan(inner) }));
    expect(decodeBytes(d, f2, 1, out)).toBe(DECODE_OK);
    expect([out.protocol, out.tunnelDepth, out.vlanId]).toEqual([17, 0, -1]);
    expect(d.stats.anomalies).toEqual({ vxlan_bad_header: 1, vxlan_bad_inner: 2, ipv4_truncated: 1 });
  });

  it('GRE: IPv4, IPv6 and Ethernet payloads, optional checksum/key/sequence, GRE over IPv6', async () => {
    const frames = [
      grePacket(outer, tcpIp(T4)),
      grePacket(outer, tcpIp(T6), { key: 1234, sequence: 5 }),
      grePacket(outer, ethernet(udpIp(U4), { vlans: [3] }), { protocol: 0x6558, checksum: true, key: 1 }),
      grePacket({ src: '2001::1', dst: '2001::2' }, udpIp(U6), { checksum: true, sequence: 99 }),
    ];
    const { rows } = await crossCheck(frames);
    expect(rows.map((r) => [r.code, r.tunnelDepth, r.vlanId])).toEqual([
      [DECODE_OK, 1, -1],
      [DECODE_OK, 1, -1],
      [DECODE_OK, 1, 3],
      [DECODE_OK, 1, -1],
    ]);
  });

  it('nested tunnels: VXLAN in GRE, IP-in-IP; depth limit', async () => {
    const nested = grePacket(outer, ipPacket('10.9.9.1', '10.9.9.2', 17, udpDatagram({ src: '10.9.9.1', dst: '10.9.9.2', sport: 50000, dport: 4789, payload: vxlan(ethernet(tcpIp(T4))) })));
    const ipip = ethernet(ipPacket('172.16.0.1', '172.16.0.2', 4, tcpIp(T4)));
    const { rows } = await crossCheck([nested, ipip]);
    expect(rows.map((r) => [r.code, r.tunnelDepth])).toEqual([
      [DECODE_OK, 2],
      [DECODE_OK, 1],
    ]);
    // maxTunnelDepth 1: the VXLAN inside GRE is not opened; the UDP datagram carrying it is reported.
    const d = new PacketDecoder({ maxTunnelDepth: 1 });
    const out = new DecodedPacket();
    expect(decodeBytes(d, nested, 1, out)).toBe(DECODE_OK);
    expect([out.protocol, out.dstPort, out.tunnelDepth]).toEqual([17, 4789, 1]);
    // maxTunnelDepth 0: GRE itself is not opened.
    const d0 = new PacketDecoder({ maxTunnelDepth: 0 });
    expect(decodeBytes(d0, nested, 1, out)).toBe(DECODE_SKIP);
    expect(d.stats.anomalies).toEqual({ tunnel_depth_exceeded: 1 });
    expect(d0.stats.anomalies).toEqual({ tunnel_depth_exceeded: 1 });
  });

  it('GRE that cannot be opened is skipped: ERSPAN, version 1, routing, bad inner', () => {
    const d = new PacketDecoder();
    const erspan = grePacket(outer, new Uint8Array(40), { protocol: 0x88be, sequence: 1 });
    const v1 = grePacket(outer, tcpIp(T4));
    v1[14 + 20 + 1] = 1; // version 1 (PPTP)
    const routing = grePacket(outer, tcpIp(T4));
    routing[14 + 20] = 0x40;
    const badInner = grePacket(outer, tcpIp(T4).subarray(0, 19));
    for (const f of [erspan, v1, routing, badInner]) expect(decodeBytes(d, f)).toBe(DECODE_SKIP);
    expect(d.stats.anomalies).toEqual({ gre_bad_inner: 1, ipv4_truncated: 1 });
  });

  it('fragmented inner packet inside VXLAN', async () => {
    const frags = fragmentIpv4(tcpIp({ ...T4, payload: 'f'.repeat(2000), ipId: 4 }), 1200);
    const frames = frags.map((f) => vxlanPacket(outer, ethernet(f)));
    const { rows } = await crossCheck(frames);
    expect(rows.map((r) => [r.code, r.tunnelDepth])).toEqual([
      [DECODE_FRAGMENT_HELD, 0],
      [DECODE_OK, 1],
    ]);
  });
});

describe('malformed input (construction)', () => {
  const base = (): Uint8Array => tcpPacket(T4);
  const cases: [string, () => Uint8Array, string, number?][] = [
    ['frame shorter than Ethernet', () => base().subarray(0, 10), 'ethernet_truncated'],
    ['VLAN tag cut', () => ethernet(new Uint8Array(0), { vlans: [1], etherType: 0x8100 }).subarray(0, 16), 'vlan_truncated'],
    ['IPv4 header cut', () => base().subarray(0, 14 + 12), 'ipv4_truncated'],
    ['IPv4 bad version', () => { const b = base(); b[14] = 0x55; return b; }, 'ipv4_bad_version'],
    ['IPv4 IHL < 5', () => { const b = base(); b[14] = 0x44; return b; }, 'ipv4_bad_header'],
    ['IPv4 IHL beyond capture', () => { const b = base().subarray(0, 14 + 30); b[14] = 0x4f; return b; }, 'ipv4_truncated'],
    ['IPv4 total length < IHL', () => { const b = base(); b[16] = 0; b[17] = 10; return b; }, 'ipv4_bad_length'],
    ['TCP data offset < 5', () => { const b = base(); b[14 + 20 + 12] = 0x40; return b; }, 'tcp_bad_offset'],
    ['TCP data offset beyond IP length', () => { const b = tcpPacket({ ...T4, payload: '' }); b[14 + 20 + 12] = 0xf0; return b; }, 'tcp_bad_offset'],
    ['TCP shorter than 20 bytes per IP length', () => ethernet(ipv4Packet({ src: '1.1.1.1', dst: '2.2.2.2', protocol: 6, payload: new Uint8Array(12) })), 'tcp_bad_offset'],
    ['UDP length < 8', () => ethernet(udpIp({ ...U4, length: 4 })), 'udp_bad_length'],
    ['UDP length > IP payload', () => ethernet(udpIp({ ...U4, length: 200 })), 'udp_bad_length'],
    ['IPv6 header cut', () => tcpPacket(T6).subarray(0, 14 + 30), 'ipv6_truncated'],
    ['IPv6 bad version', () => { const b = tcpPacket(T6); b[14] = 0x40; return b; }, 'ipv6_bad_version'],
    ['SLL shorter than its header', () => sll(tcpIp(T4)).subarray(0, 10), 'sll_truncated', LINKTYPE_LINUX_SLL],
    ['SLL2 shorter than its header', () => sll2(tcpIp(T4)).subarray(0, 19), 'sll_truncated', LINKTYPE_LINUX_SLL2],
    ['RAW with version 5', () => { const b = tcpIp(T4); b[0] = 0x55; return b; }, 'raw_bad_version', LINKTYPE_RAW],
    ['NULL shorter than 4', () => new Uint8Array([2, 0]), 'link_truncated', LINKTYPE_NULL],
    ['NFLOG TLV length < 4', () => { const b = nflog(tcpIp(T4)); b[4] = 2; b[5] = 0; return b; }, 'nflog_bad_tlv', LINKTYPE_NFLOG],
    ['too many VLAN tags', () => ethernet(tcpIp(T4), { vlans: [1, 2, 3, 4, 5, 6, 7, 8, 9] }), 'vlan_too_many_tags'],
  ];
  for (const [name, make, kind, linkType] of cases) {
    it(`${name} -> ${kind}`, () => {
      const d = new PacketDecoder();
      expect(decodeBytes(d, make(), linkType ?? LINKTYPE_ETHERNET)).toBe(DECODE_MALFORMED);
      expect(d.stats.anomalies).toEqual({ [kind]: 1 });
      expect(d.stats.decoded + d.stats.skipped).toBe(0);
    });
  }

  it('IPv4 total length 0 (TSO) takes the length from the capture', async () => {
    const b = tcpPacket({ ...T4, payload: 'tso!' });
    b[16] = 0;
    b[17] = 0;
    const d = new PacketDecoder();
    const out = new DecodedPacket();
    expect(decodeBytes(d, b, 1, out)).toBe(DECODE_OK);
    expect([out.payloadLength, out.wireLength]).toEqual([4, 4]);
    expect(d.stats.anomalies).toEqual({ ipv4_zero_total_length: 1 });
  });

  it('never reads past caplen even when the buffer holds more bytes', () => {
    const d = new PacketDecoder();
    const out = new DecodedPacket();
    const f = tcpPacket({ ...T4, payload: 'abcdef' });
    expect(decodeBytes(d, f, 1, out, f.length - 2)).toBe(DECODE_OK);
    expect([out.payloadLength, out.wireLength]).toEqual([4, 6]);
    expect(out.payloadOffset + out.payloadLength).toBe(37 + f.length - 2);
  });
});

describe('DecodedPacket reuse', () => {
  it('rewrites every field on each decode', () => {
    const d = new PacketDecoder();
    const out = new DecodedPacket();
    decodeBytes(d, tcpPacket({ ...T6, flags: 'S' }), 1, out);
    expect(out.ipVersion).toBe(6);
    decodeBytes(d, ethernet(udpIp(U4), { vlans: [5] }), 1, out, undefined, 1234);
    expect({ v: out.ipVersion, p: out.protocol, seq: out.seq, ack: out.ack, f: out.tcpFlags, vlan: out.vlanId, ts: out.ts, tail: Array.from(out.srcAddr.subarray(4)) }).toEqual({
      v: 4,
      p: 17,
      seq: 0,
      ack: 0,
      f: 0,
      vlan: 5,
      ts: 1234,
      tail: new Array(12).fill(0),
    });
  });
});

describe('fixture builder: tcpConversation', () => {
  it('builds a clean TCP conversation (tshark sees no sequence problems) that decodes like tshark', async () => {
    const frames = tcpConversation({
      client: '10.1.1.1',
      server: '10.1.1.2',
      clientPort: 51000,
      serverPort: 8080,
      clientIsn: 0xfffffff0, // wraps
      exchanges: [
        { from: 'client', data: 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n' },
        { from: 'server', data: `HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n${'b'.repeat(3000)}` },
      ],
    });
    // 3 handshake + 1 request + 3 response segments (mss 1460) + 3 closing.
    expect(frames.length).toBe(10);
    const { rows } = await crossCheck(frames);
    expect(rows.map((r) => r.tcpFlags)).toEqual([0x02, 0x12, 0x10, 0x18, 0x18, 0x18, 0x18, 0x11, 0x11, 0x10]);
    const file = writePcap(join(dir, 'conv.pcap'), frames);
    const t = tshark(file, ['tcp.stream', 'tcp.analysis.flags', 'http.request.method', 'http.response.code']);
    expect(new Set(t.map((r) => r[0]))).toEqual(new Set(['0']));
    expect(t.map((r) => r[1]).filter((x) => x !== '')).toEqual([]);
    expect(t.map((r) => r[2]).filter((x) => x !== '')).toEqual(['GET']);
    expect(t.map((r) => r[3]).filter((x) => x !== '')).toEqual(['200']);
  });
});

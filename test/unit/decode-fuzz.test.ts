/**
 * Fuzzing the decoder with fast-check: valid frames of every kind, mutated (byte overwrites, bit
 * flips, truncation, random link type) and fully random bytes. `decode` must never throw, must
 * return a DECODE_* code, and an OK result must describe a payload inside the captured bytes.
 * A hang would show up as the test timing out.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
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
  RawPacket,
} from '../../core/capture/types.js';
import { PacketDecoder } from '../../core/decode/decoder.js';
import { DECODE_OK, DecodedPacket } from '../../core/decode/types.js';
import {
  bsdLoop,
  bsdNull,
  ethernet,
  fragmentIpv4,
  fragmentIpv6,
  grePacket,
  ipPacket,
  ipv6Packet,
  nflog,
  sll,
  sll2,
  tcpIp,
  tcpSegment,
  udpDatagram,
  udpIp,
  vxlan,
  vxlanPacket,
} from '../helpers/pcap-builder.js';

const T4 = { src: '10.0.0.1', dst: '10.0.0.2', sport: 1000, dport: 80, seq: 1, ack: 2, payload: 'hello world' };
const T6 = { src: '2001:db8::1', dst: '2001:db8::2', sport: 1000, dport: 80, seq: 1, ack: 2, payload: 'hello world' };
const U4 = { src: '10.0.0.1', dst: '10.0.0.2', sport: 53, dport: 53, payload: 'dns' };

/** [linkType, frame] seeds covering every decoder path. */
const SEEDS: [number, Uint8Array][] = [
  [LINKTYPE_ETHERNET, ethernet(tcpIp(T4))],
  [LINKTYPE_ETHERNET, ethernet(tcpIp(T6), { vlans: [{ id: 1, tpid: 0x88a8 }, 2] })],
  [LINKTYPE_ETHERNET, ethernet(udpIp(U4), { vlans: [3] })],
  [LINKTYPE_ETHERNET, vxlanPacket({ src: '1.1.1.1', dst: '2.2.2.2' }, ethernet(tcpIp(T4)))],
  [LINKTYPE_ETHERNET, grePacket({ src: '1.1.1.1', dst: '2.2.2.2' }, ethernet(tcpIp(T6)), { protocol: 0x6558, key: 1, sequence: 2, checksum: true })],
  [LINKTYPE_ETHERNET, grePacket({ src: '1.1.1.1', dst: '2.2.2.2' }, ipPacket('9.9.9.9', '8.8.8.8', 17, udpDatagram({ src: '9.9.9.9', dst: '8.8.8.8', sport: 9, dport: 4789, payload: vxlan(ethernet(tcpIp(T4))) })))],
  [LINKTYPE_ETHERNET, ethernet(ipPacket('1.1.1.1', '2.2.2.2', 4, tcpIp(T4)))],
  [LINKTYPE_ETHERNET, ethernet(ipv6Packet({ src: '::1', dst: '::2', nextHeader: 6, payload: tcpSegment({ ...T6, src: '::1', dst: '::2' }), ext: [{ type: 0 }, { type: 60 }, { type: 43 }, { type: 51 }] }))],
  ...fragmentIpv4(udpIp({ ...U4, payload: new Uint8Array(100), ipId: 7 }), 48).map((f): [number, Uint8Array] => [LINKTYPE_ETHERNET, ethernet(f)]),
  ...fragmentIpv6(tcpIp({ ...T6, payload: new Uint8Array(100) }), 48, 9).map((f): [number, Uint8Array] => [LINKTYPE_ETHERNET, ethernet(f)]),
  [LINKTYPE_LINUX_SLL, sll(tcpIp(T4))],
  [LINKTYPE_LINUX_SLL2, sll2(udpIp(U4))],
  [LINKTYPE_NULL, bsdNull(tcpIp(T6))],
  [LINKTYPE_LOOP, bsdLoop(tcpIp(T4))],
  [LINKTYPE_NFLOG, nflog(tcpIp(T4))],
  [LINKTYPE_RAW, tcpIp(T6)],
  [LINKTYPE_IPV4, udpIp(U4)],
  [LINKTYPE_IPV6, tcpIp(T6)],
];
const LINK_TYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 239, 276, 147];

interface Mutation {
  seed: number;
  writes: [number, number][];
  flips: [number, number][];
  cut: number;
  linkType: number | null;
}

const mutation = fc.record({
  seed: fc.nat(SEEDS.length - 1),
  writes: fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { maxLength: 6 }),
  flips: fc.array(fc.tuple(fc.nat(200), fc.nat(7)), { maxLength: 4 }),
  cut: fc.nat(220),
  linkType: fc.option(fc.constantFrom(...LINK_TYPES), { freq: 8 }),
});

function check(d: PacketDecoder, out: DecodedPacket, pkt: RawPacket): void {
  const code = d.decode(pkt, out);
  expect(code >= 0 && code <= 4).toBe(true);
  if (code === DECODE_OK) {
    expect(out.payloadLength).toBeGreaterThanOrEqual(0);
    expect(out.wireLength).toBeGreaterThanOrEqual(out.payloadLength);
    expect(out.payloadOffset).toBeGreaterThanOrEqual(0);
    expect(out.payloadOffset + out.payloadLength).toBeLessThanOrEqual(out.buf.length);
    if (out.buf === pkt.buf) expect(out.payloadOffset + out.payloadLength).toBeLessThanOrEqual(pkt.offset + pkt.caplen);
    expect(out.ipVersion === 4 || out.ipVersion === 6).toBe(true);
    expect(out.protocol === 6 || out.protocol === 17).toBe(true);
  }
}

describe('decoder fuzz', () => {
  it('mutated valid frames never throw and stay in bounds', () => {
    const shared = new PacketDecoder({ maxFragmentedDatagrams: 8, maxFragmentBytes: 64 * 1024 });
    const out = new DecodedPacket();
    const pkt = new RawPacket();
    let ts = 0;
    fc.assert(
      fc.property(mutation, (m: Mutation) => {
        const [lt, seed] = SEEDS[m.seed];
        // Put the frame inside a larger buffer, with bytes after caplen that must not be read.
        const buf = new Uint8Array(seed.length + 64).fill(0x45);
        buf.set(seed, 16);
        for (const [pos, v] of m.writes) buf[16 + (pos % seed.length)] = v;
        for (const [pos, bit] of m.flips) buf[16 + (pos % seed.length)] ^= 1 << bit;
        pkt.buf = buf;
        pkt.offset = 16;
        pkt.caplen = Math.min(seed.length, m.cut);
        pkt.origLen = seed.length;
        pkt.linkType = m.linkType ?? lt;
        pkt.ts = ts += 1e6;
        check(shared, out, pkt);
        check(new PacketDecoder(), out, pkt);
      }),
      { numRuns: 30000 },
    );
    expect(shared.pendingFragments).toBeLessThanOrEqual(8);
  });

  it('bytes after caplen (and before offset) never influence the result', () => {
    const snapshot = (d: PacketDecoder, o: DecodedPacket, code: number): unknown => ({
      code,
      anomalies: { ...d.stats.anomalies },
      f: code === DECODE_OK ? [o.ipVersion, Array.from(o.srcAddr), Array.from(o.dstAddr), o.protocol, o.srcPort, o.dstPort, o.seq, o.ack, o.tcpFlags, o.payloadLength, o.wireLength, o.tunnelDepth, o.vlanId] : null,
      payload: code === DECODE_OK ? Array.from(o.buf.subarray(o.payloadOffset, o.payloadOffset + o.payloadLength)) : null,
    });
    fc.assert(
      fc.property(mutation, fc.nat(255), (m: Mutation, fill) => {
        const [lt, seed] = SEEDS[m.seed];
        const frame = seed.slice();
        for (const [pos, v] of m.writes) frame[pos % frame.length] = v;
        for (const [pos, bit] of m.flips) frame[pos % frame.length] ^= 1 << bit;
        const caplen = Math.min(frame.length, m.cut);
        const results = [0x00, fill].map((f) => {
          const buf = new Uint8Array(frame.length + 80).fill(f);
          buf.set(frame.subarray(0, caplen), 40);
          const pkt = new RawPacket();
          pkt.buf = buf;
          pkt.offset = 40;
          pkt.caplen = caplen;
          pkt.linkType = m.linkType ?? lt;
          const d = new PacketDecoder();
          const o = new DecodedPacket();
          return snapshot(d, o, d.decode(pkt, o));
        });
        expect(results[1]).toEqual(results[0]);
      }),
      { numRuns: 5000 },
    );
  });

  it('random bytes on every link type never throw', () => {
    const d = new PacketDecoder();
    const out = new DecodedPacket();
    const pkt = new RawPacket();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...LINK_TYPES), (bytes, lt) => {
        pkt.buf = bytes;
        pkt.offset = 0;
        pkt.caplen = bytes.length;
        pkt.linkType = lt;
        check(d, out, pkt);
      }),
      { numRuns: 20000 },
    );
  });

  it('inconsistent RawPacket fields (caplen beyond the buffer, odd offsets) never throw', () => {
    const d = new PacketDecoder();
    const out = new DecodedPacket();
    const pkt = new RawPacket();
    const frame = ethernet(tcpIp(T4));
    fc.assert(
      fc.property(fc.integer({ min: -10, max: 200 }), fc.integer({ min: 0, max: 100000 }), (offset, caplen) => {
        pkt.buf = frame;
        pkt.offset = offset;
        pkt.caplen = caplen;
        pkt.linkType = 1;
        check(d, out, pkt);
      }),
      { numRuns: 2000 },
    );
  });
});

/**
 * Fragment reassembly limits: datagram count, bytes held, timeouts (via decode and via expire).
 * Expected values follow from the construction (how many datagrams/bytes we sent and when).
 */
import { describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, RawPacket } from '../../core/capture/types.js';
import { PacketDecoder } from '../../core/decode/decoder.js';
import { IpReassembler, FRAG_COMPLETE, FRAG_DROPPED, FRAG_HELD } from '../../core/decode/ipfrag.js';
import { DECODE_FRAGMENT_HELD, DECODE_MALFORMED, DECODE_OK, DecodedPacket, DEFAULT_DECODER_LIMITS } from '../../core/decode/types.js';
import { ethernet, fragmentIpv4, fragmentIpv6, udpIp } from '../helpers/pcap-builder.js';

function feed(d: PacketDecoder, frame: Uint8Array, ts = 0, out = new DecodedPacket()): number {
  const p = new RawPacket();
  p.buf = frame;
  p.caplen = frame.length;
  p.origLen = frame.length;
  p.linkType = LINKTYPE_ETHERNET;
  p.ts = ts;
  return d.decode(p, out);
}

/** Fragments of a UDP datagram with `n` payload bytes and IP id `id`. */
function frags(id: number, n = 2000, v6 = false): Uint8Array[] {
  if (v6) return fragmentIpv6(udpIp({ src: '2001::1', dst: '2001::2', sport: 1, dport: 2, payload: new Uint8Array(n) }), 1000, id).map((f) => ethernet(f));
  return fragmentIpv4(udpIp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, payload: new Uint8Array(n), ipId: id }), 1000).map((f) => ethernet(f));
}

describe('fragment limits', () => {
  it('evicts the oldest datagram beyond maxFragmentedDatagrams', () => {
    const d = new PacketDecoder({ maxFragmentedDatagrams: 2 });
    const a = frags(1);
    const b = frags(2);
    const c = frags(3, 2000, true);
    expect(feed(d, a[0])).toBe(DECODE_FRAGMENT_HELD);
    expect(feed(d, b[0])).toBe(DECODE_FRAGMENT_HELD);
    expect(feed(d, c[0])).toBe(DECODE_FRAGMENT_HELD); // evicts a
    expect(d.pendingFragments).toBe(2);
    expect(d.stats.anomalies).toEqual({ ip_fragments_evicted: 1 });
    // a's remaining fragments start a new datagram that cannot complete (its first part is gone).
    expect(feed(d, a[1])).toBe(DECODE_FRAGMENT_HELD); // evicts b
    expect(feed(d, c[1])).toBe(DECODE_FRAGMENT_HELD);
    expect(feed(d, c[2])).toBe(DECODE_OK);
    expect(d.stats.reassembled).toBe(1);
    expect(d.stats.anomalies).toEqual({ ip_fragments_evicted: 2 });
  });

  it('evicts to stay under maxFragmentBytes', () => {
    // Each datagram's first fragment allocates a 2 KiB buffer; 5000 bytes allow two of them.
    const d = new PacketDecoder({ maxFragmentBytes: 5000 });
    for (let id = 1; id <= 4; id++) expect(feed(d, frags(id)[0])).toBe(DECODE_FRAGMENT_HELD);
    expect(d.pendingFragments).toBe(2);
    expect(d.stats.anomalies).toEqual({ ip_fragments_evicted: 2 });
    // A datagram larger than the whole budget is dropped outright.
    const d2 = new PacketDecoder({ maxFragmentBytes: 1000 });
    expect(feed(d2, frags(9)[0])).toBe(DECODE_MALFORMED);
    expect(d2.pendingFragments).toBe(0);
    expect(d2.stats.anomalies).toEqual({ ip_fragments_evicted: 1 });
  });

  it('times out incomplete datagrams (on later fragments and on expire)', () => {
    const d = new PacketDecoder({ fragmentTimeoutNs: 1e9 });
    const a = frags(1);
    const b = frags(2);
    expect(feed(d, a[0], 0)).toBe(DECODE_FRAGMENT_HELD);
    expect(feed(d, b[0], 0.5e9)).toBe(DECODE_FRAGMENT_HELD);
    expect(d.expire(0.9e9)).toBe(0);
    // a is 1.2 s old when its next fragment arrives: dropped first, the new fragment starts over.
    expect(feed(d, a[1], 1.2e9)).toBe(DECODE_FRAGMENT_HELD);
    expect(d.stats.anomalies).toEqual({ ip_fragments_timeout: 1 });
    expect(feed(d, a[2], 1.3e9)).toBe(DECODE_FRAGMENT_HELD); // offset 0 gone: never completes
    expect(d.expire(1.6e9)).toBe(1); // b
    expect(d.expire(10e9)).toBe(1); // a (restarted at 1.2 s)
    expect(d.pendingFragments).toBe(0);
    expect(d.stats.anomalies).toEqual({ ip_fragments_timeout: 3 });
  });

  it('defaults come from DEFAULT_DECODER_LIMITS and partial limits merge', () => {
    const d = new PacketDecoder({ maxTunnelDepth: 2 });
    expect(d.limits).toEqual({ ...DEFAULT_DECODER_LIMITS, maxTunnelDepth: 2 });
    expect(new PacketDecoder().limits).toEqual(DEFAULT_DECODER_LIMITS);
  });
});

describe('IpReassembler', () => {
  const limits = { maxFragmentedDatagrams: 10, maxFragmentBytes: 1 << 20, fragmentTimeoutNs: 1e9 };
  const addr = new Uint8Array([10, 0, 0, 1, 10, 0, 0, 2]);
  const data = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

  it('assembles any arrival order, counting overlaps; first arrival wins', () => {
    const kinds: string[] = [];
    const r = new IpReassembler(limits, (k) => kinds.push(k));
    // [0,16) = 1, [8,24) = 2 (overlaps 8 bytes), [24,32) = 3 last, [16,24) = 4 (fully covered)
    expect(r.add('k', 0, 17, addr, 0, 4, 24, false, data(8, 3), 0, 8)).toBe(FRAG_HELD);
    expect(r.add('k', 0, 17, addr, 0, 4, 8, true, data(16, 2), 0, 16)).toBe(FRAG_HELD);
    expect(r.add('k', 0, 17, addr, 0, 4, 16, true, data(8, 4), 0, 8)).toBe(FRAG_HELD);
    expect(r.add('k', 0, 6, addr, 0, 4, 0, true, data(16, 1), 0, 16)).toBe(FRAG_COMPLETE);
    expect(Array.from(r.resultBuf.subarray(0, r.resultLength))).toEqual([...data(8, 1), ...data(16, 2), ...data(8, 3)]);
    expect(r.resultProto).toBe(6); // from the offset-0 fragment
    expect(Array.from(r.resultAddr)).toEqual(Array.from(addr));
    expect(kinds).toEqual(['ip_fragment_overlap', 'ip_fragment_overlap']);
    expect(r.pending).toBe(0);
    expect(r.bytesHeld).toBe(0);
  });

  it('rejects conflicting ends', () => {
    const kinds: string[] = [];
    const r = new IpReassembler(limits, (k) => kinds.push(k));
    expect(r.add('k', 0, 17, addr, 0, 4, 8, false, data(8, 1), 0, 8)).toBe(FRAG_HELD);
    expect(r.add('k', 0, 17, addr, 0, 4, 16, false, data(8, 1), 0, 8)).toBe(FRAG_DROPPED);
    expect(kinds).toEqual(['ip_fragment_inconsistent']);
    expect(r.pending).toBe(0);
    expect(r.clear()).toBe(0);
  });
});

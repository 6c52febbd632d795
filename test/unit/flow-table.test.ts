import { describe, expect, it } from 'vitest';
import { DecodedPacket } from '../../core/decode/types.js';
import { PacketKey } from '../../core/flow/flow-key.js';
import { FlowTable } from '../../core/flow/flow-table.js';
import {
  ROLE_FROM_HANDSHAKE,
  ROLE_FROM_PAYLOAD,
  ROLE_FROM_PORTS,
  type FlowLimits,
} from '../../core/flow/types.js';
import { Recorder, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, scribble, tcp, udp, type PacketSpec } from './flow-test-helpers.js';

const SEC = 1e9;
const C = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80 };
const S = { src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40000 };

function setup(opts: { limits?: Partial<FlowLimits>; isServerPort?: (p: number) => boolean; hashBuckets?: number } = {}) {
  const rec = new Recorder();
  const table = new FlowTable(rec, opts);
  const feed = (p: DecodedPacket) => {
    table.process(p);
    scribble(p);
  };
  return { rec, table, feed };
}

function reverse(side: { src: string; dst: string; sport: number; dport: number }) {
  return { src: side.dst, dst: side.src, sport: side.dport, dport: side.sport };
}

/** A full connection: handshake, request, response, FIN both ways, final ACK. */
function connection(side: typeof C, t0: number, req: string, resp: string): DecodedPacket[] {
  const back = reverse(side);
  const c = 100;
  const s = 900;
  return [
    tcp({ ...side, ts: t0, flags: TCP_SYN, seq: c }),
    tcp({ ...back, ts: t0 + 1, flags: TCP_SYN | TCP_ACK, seq: s, ack: c + 1 }),
    tcp({ ...side, ts: t0 + 2, flags: TCP_ACK | TCP_PSH, seq: c + 1, ack: s + 1, data: req }),
    tcp({ ...back, ts: t0 + 3, flags: TCP_ACK | TCP_PSH, seq: s + 1, ack: c + 1 + req.length, data: resp }),
    tcp({ ...side, ts: t0 + 4, flags: TCP_ACK | TCP_FIN, seq: c + 1 + req.length, ack: s + 1 + resp.length }),
    tcp({ ...back, ts: t0 + 5, flags: TCP_ACK | TCP_FIN, seq: s + 1 + resp.length, ack: c + 2 + req.length }),
    tcp({ ...side, ts: t0 + 6, flags: TCP_ACK, seq: c + 2 + req.length, ack: s + 2 + resp.length }),
  ];
}

describe('FlowTable: roles', () => {
  it('makes the SYN sender the client', () => {
    const { rec, feed } = setup();
    // Client on a low port, server on a high one: the handshake wins over ports.
    const cl = { src: '10.0.0.1', dst: '10.0.0.2', sport: 80, dport: 50000 };
    feed(tcp({ ...cl, flags: TCP_SYN, seq: 1 }));
    const [f] = rec.flows();
    expect(f.clientIsA).toBe(true);
    expect(f.roleSource).toBe(ROLE_FROM_HANDSHAKE);
    expect(f).toMatchObject({ transport: 'tcp', ipVersion: 4, addrA: '10.0.0.1', portA: 80, addrB: '10.0.0.2', portB: 50000 });
  });

  it('makes the SYN-ACK sender the server when the SYN was not captured', () => {
    const { rec, feed } = setup();
    feed(tcp({ ...S, flags: TCP_SYN | TCP_ACK, seq: 1, ack: 2 }));
    const [f] = rec.flows();
    expect(f.addrA).toBe('10.0.0.2');
    expect(f.clientIsA).toBe(false);
    expect(f.roleSource).toBe(ROLE_FROM_HANDSHAKE);
  });

  it('decides from ports without a handshake', () => {
    const cases: [number, number, boolean, ((p: number) => boolean)?][] = [
      // [first packet sport, dport, expected clientIsA, isServerPort]
      [40000, 80, true],
      [80, 40000, false], // mid-stream, first packet is a response
      [22, 443, false], // both below 1024: the lower port is the server
      [443, 22, true],
      [9092, 50000, false], // neither registered: the non-ephemeral port is the server
      [50000, 9092, true],
      [5000, 6000, true], // nothing tells: the first destination is the server
      [6000, 5000, true],
      [50000, 50001, true],
      [53, 53, true],
      [9092, 50000, true, (p) => p === 50000], // a registered server port wins
      [6379, 3000, false, (p) => p === 6379], // the registered port is the source: a response
    ];
    cases.forEach(([sport, dport, clientIsA, isServerPort], i) => {
      const { rec, feed } = setup({ isServerPort });
      feed(tcp({ src: '10.1.0.1', dst: '10.1.0.2', sport, dport, flags: TCP_ACK, seq: 1, ack: 1 }));
      feed(udp({ src: '10.1.0.1', dst: '10.1.0.2', sport, dport, data: 'x' }));
      for (const f of rec.flows()) {
        expect([i, f.transport, f.clientIsA]).toEqual([i, f.transport, clientIsA]);
        expect(f.roleSource).toBe(ROLE_FROM_PORTS);
      }
    });
  });

  it('never overwrites a stronger role source with a weaker one', () => {
    const { rec, feed } = setup();
    feed(tcp({ ...C, flags: TCP_ACK, seq: 10, ack: 20, data: 'x' }));
    const [f] = rec.flows();
    expect(f.roleSource).toBe(ROLE_FROM_PORTS);
    // The L7 layer decides from payload that B is the client.
    f.clientIsA = false;
    f.roleSource = ROLE_FROM_PAYLOAD;
    feed(tcp({ ...S, flags: TCP_ACK, seq: 20, ack: 11, data: 'y' }));
    expect(f.clientIsA).toBe(false);
    expect(f.roleSource).toBe(ROLE_FROM_PAYLOAD);
    // A handshake is stronger; a SYN for a new connection ends the old flow anyway, so check a
    // handshake-decided flow keeps its role when the L7 layer does not touch it.
    const { rec: rec2, feed: feed2 } = setup();
    feed2(tcp({ ...C, flags: TCP_SYN, seq: 1 }));
    feed2(tcp({ ...S, flags: TCP_SYN | TCP_ACK, seq: 5, ack: 2 }));
    feed2(tcp({ ...S, flags: TCP_ACK, seq: 6, ack: 2, data: 'hi' }));
    expect(rec2.flows()[0]).toMatchObject({ clientIsA: true, roleSource: ROLE_FROM_HANDSHAKE });
  });

  it('upgrades a ports-decided flow when a reordered SYN-ACK shows up', () => {
    const { rec, feed } = setup();
    // First packet: client -> server data on ports that suggest the opposite.
    const cl = { src: '10.0.0.1', dst: '10.0.0.2', sport: 80, dport: 50000 };
    feed(tcp({ ...cl, flags: TCP_ACK, seq: 101, ack: 501, data: 'req' }));
    const [f] = rec.flows();
    expect(f).toMatchObject({ clientIsA: false, roleSource: ROLE_FROM_PORTS });
    feed(tcp({ ...reverse(cl), flags: TCP_SYN | TCP_ACK, seq: 500, ack: 101 }));
    expect(f).toMatchObject({ clientIsA: true, roleSource: ROLE_FROM_HANDSHAKE });
    expect(rec.flows()).toHaveLength(1);
  });
});

describe('FlowTable: flows', () => {
  it('tracks IPv6 flows in both directions', () => {
    const { rec, table, feed } = setup();
    const c6 = { src: '2001:db8::1', dst: '2001:db8:0:1::2', sport: 51000, dport: 443 };
    const s6 = reverse(c6);
    feed(tcp({ ...c6, flags: TCP_SYN, seq: 10 }));
    feed(tcp({ ...s6, flags: TCP_SYN | TCP_ACK, seq: 70, ack: 11 }));
    feed(tcp({ ...c6, flags: TCP_ACK, seq: 11, ack: 71, data: 'hello' }));
    feed(tcp({ ...s6, flags: TCP_ACK, seq: 71, ack: 16, data: 'world' }));
    // Same ports and the same low 32 bits of the address, but IPv4: another flow.
    feed(tcp({ src: '0.0.0.1', dst: '0.0.0.2', sport: 51000, dport: 443, flags: TCP_SYN, seq: 1 }));
    const [f, g] = rec.flows();
    expect(f).toMatchObject({ ipVersion: 6, addrA: '2001:db8::1', addrB: '2001:db8:0:1::2', portA: 51000, portB: 443 });
    expect(rec.text(f, true)).toBe('hello');
    expect(rec.text(f, false)).toBe('world');
    expect(g.ipVersion).toBe(4);
    expect(table.size).toBe(2);
  });

  it('keeps interleaved directions and flows apart', () => {
    const { rec, feed } = setup();
    const c2 = { ...C, src: '10.0.0.3' };
    const s2 = reverse(c2);
    let ts = 0;
    const pk = (side: typeof C, s: Omit<PacketSpec, 'src' | 'dst' | 'sport' | 'dport'>) => feed(tcp({ ...side, ts: ++ts, ...s }));
    pk(C, { flags: TCP_SYN, seq: 0 });
    pk(c2, { flags: TCP_SYN, seq: 0 });
    pk(S, { flags: TCP_SYN | TCP_ACK, seq: 0, ack: 1 });
    pk(s2, { flags: TCP_SYN | TCP_ACK, seq: 0, ack: 1 });
    pk(C, { flags: TCP_ACK, seq: 4, ack: 1, data: 'EFG' }); // out of order
    pk(S, { flags: TCP_ACK, seq: 1, ack: 1, data: 'abc' });
    pk(c2, { flags: TCP_ACK, seq: 1, ack: 1, data: '123' });
    pk(s2, { flags: TCP_ACK, seq: 4, ack: 1, data: '789' }); // out of order
    pk(C, { flags: TCP_ACK, seq: 1, ack: 4, data: 'ABC' });
    pk(S, { flags: TCP_ACK, seq: 4, ack: 7, data: 'def' });
    pk(s2, { flags: TCP_ACK, seq: 1, ack: 4, data: '456' });
    const [f1, f2] = rec.flows();
    expect([rec.text(f1, true), rec.text(f1, false)]).toEqual(['ABCEFG', 'abcdef']);
    expect([rec.text(f2, true), rec.text(f2, false)]).toEqual(['123', '456789']);
    expect(f1.id).toBeLessThan(f2.id);
  });

  it('finds flows in a single shared hash bucket (every lookup collides)', () => {
    const { rec, table, feed } = setup({ hashBuckets: 1 });
    const n = 300;
    const sides = Array.from({ length: n }, (_, i) => ({
      src: i % 3 === 0 ? `2001:db8::${i.toString(16)}` : `10.0.${i >> 8}.${i & 0xff}`,
      dst: i % 3 === 0 ? '2001:db8::ffff' : '10.9.9.9',
      sport: 40000 + (i % 7),
      dport: 80 + (i % 2),
    }));
    // Fixed-size payloads: "r:iii;" (6 bytes). Rounds 0 and 2 are A's stream, round 1 is B's.
    const tag = (round: number, i: number) => `${round}:${String(i).padStart(3, '0')};`;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < n; i++) {
        const side = round === 1 ? reverse(sides[i]) : sides[i];
        feed(tcp({ ...side, flags: TCP_ACK, seq: 1000 + (round === 2 ? 6 : 0), ack: 1000, data: tag(round, i) }));
      }
    }
    const flows = rec.flows();
    expect(flows).toHaveLength(n);
    expect(table.size).toBe(n);
    flows.forEach((f, i) => {
      expect(rec.text(f, true)).toBe(tag(0, i) + tag(2, i));
      expect(rec.text(f, false)).toBe(tag(1, i));
    });
  });

  it('verifies the full key when two 5-tuples have the same 32-bit hash', () => {
    // Search for a true hash collision among generated tuples (birthday bound: ~1.3 * 2^16).
    const key = new PacketKey();
    const seen = new Map<number, number>();
    const pkt = new DecodedPacket();
    pkt.ipVersion = 4;
    pkt.protocol = 6;
    pkt.dstAddr.set([192, 168, 0, 1]);
    pkt.dstPort = 443;
    let pair: [number, number] | null = null;
    for (let i = 0; i < 2_000_000 && pair === null; i++) {
      pkt.srcAddr.set([10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff]);
      pkt.srcPort = 1024 + (i % 50000);
      key.load(pkt);
      const prev = seen.get(key.hash);
      if (prev !== undefined) pair = [prev, i];
      else seen.set(key.hash, i);
    }
    expect(pair).not.toBeNull();
    const side = (i: number) => ({
      src: `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`,
      dst: '192.168.0.1',
      sport: 1024 + (i % 50000),
      dport: 443,
    });
    const { rec, table, feed } = setup();
    const [a, b] = pair!;
    feed(tcp({ ...side(a), flags: TCP_ACK, seq: 1, ack: 1, data: 'first' }));
    feed(tcp({ ...side(b), flags: TCP_ACK, seq: 1, ack: 1, data: 'second' }));
    feed(tcp({ ...reverse(side(a)), flags: TCP_ACK, seq: 1, ack: 6, data: 'A' }));
    feed(tcp({ ...reverse(side(b)), flags: TCP_ACK, seq: 1, ack: 7, data: 'B' }));
    const [fa, fb] = rec.flows();
    expect(table.size).toBe(2);
    expect([rec.text(fa, true), rec.text(fa, false)]).toEqual(['first', 'A']);
    expect([rec.text(fb, true), rec.text(fb, false)]).toEqual(['second', 'B']);
  });

  it('delivers each UDP datagram whole, in both directions', () => {
    const { rec, table, feed } = setup();
    const q = { src: '10.0.0.1', dst: '10.0.0.53', sport: 53001, dport: 53 };
    feed(udp({ ...q, data: 'query' }));
    feed(udp({ ...reverse(q), data: 'answer' }));
    feed(udp({ ...q, data: '' }));
    feed(udp({ ...q, data: 'cut', wire: 10 }));
    const [f] = rec.flows();
    expect(f).toMatchObject({ transport: 'udp', clientIsA: true, roleSource: ROLE_FROM_PORTS, packetsA: 3, packetsB: 1 });
    expect(rec.pieces(f, true)).toEqual([
      { data: new TextEncoder().encode('query') },
      { data: new Uint8Array(0) },
      { data: new TextEncoder().encode('cut') },
      { gap: 7 },
    ]);
    expect(rec.text(f, false)).toBe('answer');
    expect(table.stats.anomalies.udp_truncated_datagram).toBe(1);
    expect(table.stats.gapBytes).toBe(7);
  });
});

describe('FlowTable: expiry, eviction, close', () => {
  it('expires idle TCP and UDP flows after their own timeouts', () => {
    const { rec, table, feed } = setup({ limits: { tcpIdleTimeoutNs: 30 * SEC, udpIdleTimeoutNs: 5 * SEC } });
    feed(tcp({ ...C, ts: 0, flags: TCP_ACK, seq: 1, ack: 1, data: 'x' }));
    feed(udp({ src: '10.0.0.1', dst: '10.0.0.53', sport: 5353, dport: 53, ts: 1 * SEC, data: 'q' }));
    const [t, u] = rec.flows();
    table.expire(6 * SEC);
    expect(table.size).toBe(2);
    table.expire(6 * SEC + 1);
    expect(rec.ended).toEqual([u]);
    expect(rec.events.at(-1)).toMatchObject({ t: 'end', reason: 'idle', ts: 6 * SEC + 1 });
    table.expire(30 * SEC);
    expect(table.size).toBe(1);
    table.expire(30 * SEC + 1);
    expect(rec.ended).toEqual([u, t]);
    expect(table.size).toBe(0);
    expect(table.stats.flowsEnded).toBe(2);
  });

  it('uses the short closing timeout once a FIN was seen', () => {
    const { rec, table, feed } = setup();
    feed(tcp({ ...C, ts: 0, flags: TCP_ACK, seq: 1, ack: 1, data: 'x' }));
    feed(tcp({ ...C, ts: 1 * SEC, flags: TCP_ACK | TCP_FIN, seq: 2, ack: 1 }));
    const [f] = rec.flows();
    table.expire(11 * SEC);
    expect(table.size).toBe(1);
    table.expire(11 * SEC + 1);
    expect(rec.ended).toEqual([f]);
    expect(rec.kinds(f)).toEqual(['start', 'data', 'fin', 'end']);
    expect(rec.events.at(-1)).toMatchObject({ reason: 'idle' });
  });

  it('expires by itself while processing, and ends a flow found idle at lookup', () => {
    const { rec, table, feed } = setup({ limits: { udpIdleTimeoutNs: 5 * SEC } });
    const a = { src: '10.0.0.1', dst: '10.0.0.2', sport: 5000, dport: 53 };
    const b = { src: '10.0.0.3', dst: '10.0.0.2', sport: 5000, dport: 53 };
    feed(udp({ ...a, ts: 0, data: '1' }));
    feed(udp({ ...b, ts: 3 * SEC, data: '2' }));
    feed(udp({ ...b, ts: 5.5 * SEC, data: '3' })); // expiry runs: a is idle 5.5 s
    expect(rec.ended.map((f) => f.addrA)).toEqual(['10.0.0.1']);
    // b again 5.2 s later: found idle at lookup even if the coarse expiry has not run yet.
    feed(udp({ ...b, ts: 10.7 * SEC, data: '4' }));
    const flows = rec.flows();
    expect(flows).toHaveLength(3);
    expect(rec.ended).toHaveLength(2);
    expect(rec.text(flows[1], true)).toBe('23');
    expect(rec.text(flows[2], true)).toBe('4');
    expect(table.size).toBe(1);
  });

  it('tolerates time going slightly backwards', () => {
    const { rec, table, feed } = setup({ limits: { udpIdleTimeoutNs: 5 * SEC } });
    const a = { src: '10.0.0.1', dst: '10.0.0.2', sport: 5000, dport: 53 };
    feed(udp({ ...a, ts: 10 * SEC, data: '1' }));
    feed(udp({ ...a, ts: 9.9 * SEC, data: '2' }));
    const [f] = rec.flows();
    expect(f.lastTs).toBe(10 * SEC);
    table.expire(14.95 * SEC);
    expect(table.size).toBe(1);
    expect(rec.text(f, true)).toBe('12');
  });

  it('evicts the least recently active flow at maxFlows', () => {
    const { rec, table, feed } = setup({ limits: { maxFlows: 3 } });
    const side = (i: number) => ({ src: `10.0.0.${i}`, dst: '10.0.0.200', sport: 40000, dport: 80 });
    feed(tcp({ ...side(1), ts: 1, flags: TCP_ACK, seq: 1, ack: 1, data: 'a' }));
    feed(udp({ ...side(2), ts: 2, data: 'b' }));
    feed(tcp({ ...side(3), ts: 3, flags: TCP_ACK, seq: 1, ack: 1, data: 'c' }));
    feed(tcp({ ...side(1), ts: 4, flags: TCP_ACK, seq: 2, ack: 1, data: 'a' })); // 1 is fresh again
    feed(tcp({ ...side(4), ts: 5, flags: TCP_ACK, seq: 1, ack: 1, data: 'd' })); // evicts 2 (udp)
    expect(rec.ended.map((f) => f.addrA)).toEqual(['10.0.0.2']);
    expect(rec.events.find((e) => e.t === 'end')).toMatchObject({ reason: 'evicted' });
    feed(tcp({ ...side(5), ts: 6, flags: TCP_ACK, seq: 1, ack: 1, data: 'e' })); // evicts 3
    expect(rec.ended.map((f) => f.addrA)).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(table.size).toBe(3);
    expect(table.stats).toMatchObject({ flowsCreated: 5, flowsEnded: 2, flowsEvicted: 2 });
    // The evicted flow's packets start a new flow.
    feed(tcp({ ...side(3), ts: 7, flags: TCP_ACK, seq: 2, ack: 1, data: 'c' }));
    expect(rec.flows()).toHaveLength(6);
    expect(table.stats.flowsEvicted).toBe(3);
  });

  it('ends a connection after both FINs and absorbs its stray packets', () => {
    const { rec, table, feed } = setup();
    for (const p of connection(C, 0, 'GET /', 'OK')) feed(p);
    const [f] = rec.flows();
    expect(rec.kinds(f)).toEqual(['start', 'data', 'data', 'fin', 'fin', 'end']);
    expect(rec.events.at(-1)).toMatchObject({ reason: 'fin' });
    expect(table.size).toBe(0);
    // Late ACK / RST / retransmitted FIN: absorbed. Data: counted, dropped.
    feed(tcp({ ...S, ts: 10, flags: TCP_ACK | TCP_FIN, seq: 903, ack: 107 }));
    feed(tcp({ ...C, ts: 11, flags: TCP_RST, seq: 107 }));
    feed(tcp({ ...S, ts: 12, flags: TCP_ACK, seq: 904, ack: 107, data: 'late' }));
    expect(rec.flows()).toHaveLength(1);
    expect(table.stats.anomalies.tcp_data_after_close).toBe(1);
    expect(table.stats.anomalies.tcp_rst_without_flow).toBeUndefined();
    // A new SYN on the same 5-tuple is a new connection.
    for (const p of connection(C, 20, 'again', 'yes')) feed(p);
    const flows = rec.flows();
    expect(flows).toHaveLength(2);
    expect(rec.text(flows[1], true)).toBe('again');
    expect(rec.text(flows[1], false)).toBe('yes');
  });

  it('starts a mid-stream flow for data once the closed marker has lingered out', () => {
    const { rec, table, feed } = setup();
    for (const p of connection(C, 0, 'a', 'b')) feed(p);
    feed(tcp({ ...C, ts: 9 * SEC, flags: TCP_ACK, seq: 5000, ack: 1, data: 'x' }));
    expect(rec.flows()).toHaveLength(1);
    feed(tcp({ ...C, ts: 10 * SEC + 10, flags: TCP_ACK, seq: 5001, ack: 1, data: 'y' }));
    const flows = rec.flows();
    expect(flows).toHaveLength(2);
    expect(rec.text(flows[1], true)).toBe('y');
    expect(table.stats.anomalies.tcp_data_after_close).toBe(1);
  });

  it('ends the old flow when a SYN with a new ISN reuses an active 5-tuple', () => {
    const { rec, table, feed } = setup();
    feed(tcp({ ...C, ts: 0, flags: TCP_SYN, seq: 100 }));
    feed(tcp({ ...C, ts: 1, flags: TCP_SYN, seq: 100 })); // retransmission: same flow
    feed(tcp({ ...C, ts: 2, flags: TCP_ACK, seq: 101, ack: 1, data: 'old' }));
    expect(rec.flows()).toHaveLength(1);
    feed(tcp({ ...C, ts: 3, flags: TCP_SYN, seq: 777 }));
    feed(tcp({ ...C, ts: 4, flags: TCP_ACK, seq: 778, ack: 1, data: 'new' }));
    const [f1, f2] = rec.flows();
    expect(rec.ended).toEqual([f1]);
    expect(rec.text(f1, true)).toBe('old');
    expect(rec.text(f2, true)).toBe('new');
    expect(table.stats.anomalies.tcp_port_reuse).toBe(1);
  });

  it('ends a flow on RST and ignores a RST for an unknown flow', () => {
    const { rec, table, feed } = setup();
    feed(tcp({ ...C, flags: TCP_SYN, seq: 1 }));
    feed(tcp({ ...S, flags: TCP_RST | TCP_ACK, seq: 0, ack: 2 }));
    const [f] = rec.flows();
    expect(rec.kinds(f)).toEqual(['start', 'end']);
    expect(rec.events.at(-1)).toMatchObject({ reason: 'rst' });
    feed(tcp({ src: '10.7.0.1', dst: '10.7.0.2', sport: 1, dport: 2, flags: TCP_RST, seq: 5 }));
    expect(rec.flows()).toHaveLength(1);
    expect(table.stats.anomalies.tcp_rst_without_flow).toBe(1);
  });

  it('endAll ends every flow with the given reason', () => {
    const { rec, table, feed } = setup();
    feed(tcp({ ...C, ts: 1, flags: TCP_ACK, seq: 1, ack: 1, data: 'x' }));
    feed(udp({ src: '10.0.0.1', dst: '10.0.0.53', sport: 5353, dport: 53, ts: 2, data: 'q' }));
    feed(tcp({ ...C, sport: 40001, ts: 3, flags: TCP_ACK | TCP_FIN, seq: 1, ack: 1 }));
    table.endAll('capture_end', 50);
    expect(table.size).toBe(0);
    const ends = rec.events.filter((e) => e.t === 'end');
    expect(ends).toHaveLength(3);
    for (const e of ends) expect(e).toMatchObject({ reason: 'capture_end', ts: 50 });
    // No closed markers survive endAll: the same tuple starts a flow again.
    feed(tcp({ ...C, sport: 40001, ts: 60, flags: TCP_ACK, seq: 2, ack: 1, data: 'z' }));
    expect(table.size).toBe(1);
  });

  it('rejects invalid limits at construction', () => {
    expect(() => new FlowTable(new Recorder(), { limits: { maxFlows: 0 } })).toThrow(/maxFlows/);
    expect(() => new FlowTable(new Recorder(), { limits: { maxFlows: 1.5 } })).toThrow(/maxFlows/);
    expect(() => new FlowTable(new Recorder(), { limits: { udpIdleTimeoutNs: Number.NaN } })).toThrow(/udpIdleTimeoutNs/);
  });
});

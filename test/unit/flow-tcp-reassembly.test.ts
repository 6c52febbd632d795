import { describe, expect, it } from 'vitest';
import { FlowTable } from '../../core/flow/flow-table.js';
import type { Flow, FlowLimits } from '../../core/flow/types.js';
import { Recorder, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, scribble, tcp, type PacketSpec } from './flow-test-helpers.js';

const C = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80 };
const S = { src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40000 };
const ALPHA = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';

function setup(limits?: Partial<FlowLimits>) {
  const rec = new Recorder();
  const table = new FlowTable(rec, { limits });
  let ts = 0;
  const send = (side: typeof C, s: Omit<PacketSpec, 'src' | 'dst' | 'sport' | 'dport'>) => {
    ts += 1000;
    const p = tcp({ ...side, ts, ...s });
    table.process(p);
    // The table must not keep views into the packet buffer once `process` returns.
    scribble(p);
  };
  return { rec, table, send };
}

/** SYN (ISN c), SYN-ACK (ISN s), ACK. */
function handshake(send: ReturnType<typeof setup>['send'], c: number, s: number) {
  send(C, { flags: TCP_SYN, seq: c });
  send(S, { flags: TCP_SYN | TCP_ACK, seq: s, ack: c + 1 });
  send(C, { flags: TCP_ACK, seq: c + 1, ack: s + 1 });
}

/** Client data: bytes [from, to) of `stream`, stream byte 0 at sequence `base`. */
function part(stream: string, base: number, from: number, to: number) {
  return { flags: TCP_ACK | TCP_PSH, seq: (base + from) >>> 0, data: stream.slice(from, to) };
}

describe('TCP reassembly', () => {
  it('delivers in-order data of both directions after a handshake', () => {
    const { rec, table, send } = setup();
    handshake(send, 1000, 5000);
    send(C, { flags: TCP_ACK | TCP_PSH, seq: 1001, ack: 5001, data: 'GET / HTTP/1.1\r\n\r\n' });
    send(S, { flags: TCP_ACK | TCP_PSH, seq: 5001, ack: 1019, data: 'HTTP/1.1 200 OK\r\n\r\n' });
    const [f] = rec.flows();
    expect(rec.text(f, true)).toBe('GET / HTTP/1.1\r\n\r\n');
    expect(rec.text(f, false)).toBe('HTTP/1.1 200 OK\r\n\r\n');
    expect(table.stats.gaps).toBe(0);
    expect(table.stats.duplicateBytes).toBe(0);
    expect(f.packetsA).toBe(3);
    expect(f.packetsB).toBe(2);
    expect(f.bytesA).toBe(18);
    expect(f.bytesB).toBe(19);
  });

  it('buffers out-of-order segments and delivers them when the hole fills', () => {
    const { rec, table, send } = setup();
    handshake(send, 1000, 5000);
    const s = 'hello world!';
    send(C, part(s, 1001, 6, 11));
    send(C, part(s, 1001, 11, 12));
    const [f] = rec.flows();
    expect(rec.text(f, true)).toBe('');
    send(C, part(s, 1001, 0, 6));
    expect(rec.text(f, true)).toBe(s);
    expect(rec.pieces(f, true).map((p) => ('data' in p ? p.data.length : -1))).toEqual([6, 5, 1]);
    // Buffered bytes carry the time of the packet that completed them.
    const dataEvents = rec.events.filter((e) => e.t === 'data');
    expect(new Set(dataEvents.map((e) => e.ts)).size).toBe(1);
    expect(table.stats.outOfOrderSegments).toBe(2);
    expect(table.stats.gaps).toBe(0);
  });

  it('trims retransmissions and partial overlaps, in order and out of order', () => {
    const { rec, table, send } = setup();
    handshake(send, 1000, 5000);
    const base = 1001;
    send(C, part(ALPHA, base, 0, 6)); // abcdef
    send(C, part(ALPHA, base, 0, 6)); // full retransmission: 6 dup
    send(C, part(ALPHA, base, 3, 9)); // def dup (3), ghi new
    send(C, part(ALPHA, base, 12, 16)); // mnop buffered (hole at 9)
    send(C, part(ALPHA, base, 10, 14)); // klmn: mn already buffered (2 dup)
    send(C, part(ALPHA, base, 14, 20)); // opqrst: op already buffered (2 dup)
    send(C, part(ALPHA, base, 12, 16)); // mnop again: 4 dup
    send(C, part(ALPHA, base, 9, 11)); // jk fills the hole; k overlaps the buffered "kl" (1 dup)
    const [f] = rec.flows();
    expect(rec.text(f, true)).toBe(ALPHA.slice(0, 20));
    expect(table.stats.duplicateBytes).toBe(6 + 3 + 2 + 2 + 4 + 1);
    expect(table.stats.gaps).toBe(0);
  });

  it('handles a segment that covers several buffered pieces and the hole', () => {
    const { rec, table, send } = setup();
    handshake(send, 1000, 5000);
    send(C, part(ALPHA, 1001, 4, 6));
    send(C, part(ALPHA, 1001, 8, 10));
    send(C, part(ALPHA, 1001, 0, 12)); // everything: 4 buffered bytes are duplicates
    const [f] = rec.flows();
    expect(rec.text(f, true)).toBe(ALPHA.slice(0, 12));
    expect(table.stats.duplicateBytes).toBe(4);
  });

  it('wraps sequence numbers around 2^32', () => {
    const { rec, send } = setup();
    const isn = 0xfffffff0;
    handshake(send, isn, 0xffffffff);
    const s = ALPHA + DIGITS + 'ABCD'; // 40 bytes: byte 15 sits at seq 0
    const base = isn + 1;
    send(C, part(s, base, 30, 40));
    send(C, part(s, base, 10, 20));
    send(C, part(s, base, 20, 30));
    send(C, part(s, base, 0, 10));
    // Server ISN 0xffffffff: its first data byte is at seq 0.
    send(S, { flags: TCP_ACK, seq: 0, ack: (base + 40) >>> 0, data: 'pong' });
    send(S, { flags: TCP_ACK, seq: 4, data: 'ing' });
    const [f] = rec.flows();
    expect(rec.text(f, true)).toBe(s);
    expect(rec.text(f, false)).toBe('ponging');
  });

  it('wraps sequence numbers in a mid-stream flow', () => {
    const { rec, send } = setup();
    const base = 0xfffffffa;
    send(C, part(ALPHA, base, 0, 4));
    send(C, part(ALPHA, base, 8, 12));
    send(C, part(ALPHA, base, 4, 8));
    expect(rec.text(rec.flows()[0], true)).toBe(ALPHA.slice(0, 12));
  });

  it('declares a gap of the exact length when the peer ACKs beyond a hole', () => {
    const { rec, table, send } = setup();
    handshake(send, 1000, 5000);
    const s = ALPHA;
    send(C, part(s, 1001, 0, 10));
    send(C, part(s, 1001, 20, 26)); // [10, 20) never captured
    const [f] = rec.flows();
    expect(rec.text(f, true)).toBe(s.slice(0, 10));
    send(S, { flags: TCP_ACK, seq: 5001, ack: 1001 + 26 });
    expect(rec.text(f, true)).toBe(`${s.slice(0, 10)}[gap 10]${s.slice(20, 26)}`);
    expect(table.stats.gaps).toBe(1);
    expect(table.stats.gapBytes).toBe(10);
    // The late segment is now a duplicate.
    send(C, part(s, 1001, 10, 20));
    expect(rec.text(f, true)).toBe(`${s.slice(0, 10)}[gap 10]${s.slice(20, 26)}`);
    expect(table.stats.duplicateBytes).toBe(10);
  });

  it('declares only the acknowledged part of a hole', () => {
    const { rec, table, send } = setup();
    handshake(send, 1000, 5000);
    send(C, part(ALPHA, 1001, 0, 5));
    send(C, part(ALPHA, 1001, 20, 26)); // hole [5, 20)
    send(S, { flags: TCP_ACK, seq: 5001, ack: 1001 + 12 }); // [5, 12) is lost
    const [f] = rec.flows();
    expect(rec.text(f, true)).toBe(`${ALPHA.slice(0, 5)}[gap 7]`);
    send(C, part(ALPHA, 1001, 12, 20)); // the rest arrives
    expect(rec.text(f, true)).toBe(`${ALPHA.slice(0, 5)}[gap 7]${ALPHA.slice(12, 26)}`);
    expect(table.stats.gapBytes).toBe(7);
  });

  it('resolves a hole the peer ACKed earlier when later data arrives', () => {
    const { rec, send } = setup();
    handshake(send, 1000, 5000);
    send(C, part(ALPHA, 1001, 0, 5));
    send(S, { flags: TCP_ACK, seq: 5001, ack: 1001 + 10 }); // acks [5, 10), nothing captured
    const [f] = rec.flows();
    expect(rec.text(f, true)).toBe(ALPHA.slice(0, 5));
    send(C, part(ALPHA, 1001, 10, 15));
    expect(rec.text(f, true)).toBe(`${ALPHA.slice(0, 5)}[gap 5]${ALPHA.slice(10, 15)}`);
  });

  it('declares the hole when the per-direction byte cap is exceeded', () => {
    const { rec, table, send } = setup({ maxOutOfOrderBytesPerDirection: 25 });
    handshake(send, 1000, 5000);
    send(C, part(ALPHA, 1001, 0, 2));
    send(C, part(ALPHA, 1001, 10, 20));
    send(C, part(ALPHA, 1001, 20, 26)); // 16 buffered
    const [f] = rec.flows();
    expect(rec.text(f, true)).toBe('ab');
    send(C, { flags: TCP_ACK, seq: 1001 + 26, data: DIGITS }); // 26 buffered > 25
    expect(rec.text(f, true)).toBe(`ab[gap 8]${ALPHA.slice(10)}${DIGITS}`);
    expect(table.stats.anomalies.tcp_ooo_cap).toBe(1);
    expect(table.stats.gapBytes).toBe(8);
  });

  it('declares the hole when the per-direction segment cap is exceeded', () => {
    const { rec, table, send } = setup({ maxOutOfOrderSegmentsPerDirection: 2 });
    handshake(send, 1000, 5000);
    send(C, part(ALPHA, 1001, 4, 6));
    send(C, part(ALPHA, 1001, 8, 10));
    const [f] = rec.flows();
    expect(rec.text(f, true)).toBe('');
    send(C, part(ALPHA, 1001, 12, 14)); // third piece: the first hole goes
    expect(rec.text(f, true)).toBe(`[gap 4]ef`);
    expect(table.stats.anomalies.tcp_ooo_cap).toBe(1);
    send(C, part(ALPHA, 1001, 6, 8)); // fills the second hole
    expect(rec.text(f, true)).toBe(`[gap 4]efghij`);
  });

  it('declares the hole of the flow that crosses the global cap', () => {
    const { rec, table, send } = setup({ maxOutOfOrderBytesTotal: 25 });
    handshake(send, 1000, 5000);
    const C2 = { ...C, sport: 40001 };
    const S2 = { ...S, dport: 40001 };
    send(C2, { flags: TCP_SYN, seq: 7000 });
    send(S2, { flags: TCP_SYN | TCP_ACK, seq: 9000, ack: 7001 });
    send(C, part(ALPHA, 1001, 5, 25)); // flow 1: 20 buffered
    send(C2, part(ALPHA, 7001, 5, 15)); // flow 2: 10 more: 30 > 25
    const [f1, f2] = rec.flows();
    expect(rec.text(f1, true)).toBe('');
    expect(rec.text(f2, true)).toBe(`[gap 5]${ALPHA.slice(5, 15)}`);
    expect(table.stats.anomalies.tcp_ooo_total_cap).toBe(1);
    send(C, part(ALPHA, 1001, 0, 5));
    expect(rec.text(f1, true)).toBe(ALPHA.slice(0, 25));
  });

  it('reports the missing tail of a snap-length-truncated segment as a gap', () => {
    const { rec, table, send } = setup();
    handshake(send, 1000, 5000);
    send(C, { flags: TCP_ACK, seq: 1001, data: ALPHA.slice(0, 10), wire: 26 });
    send(C, { flags: TCP_ACK, seq: 1001 + 26, data: DIGITS });
    const [f] = rec.flows();
    expect(rec.text(f, true)).toBe(`${ALPHA.slice(0, 10)}[gap 16]${DIGITS}`);
    expect(table.stats.gapBytes).toBe(16);
    expect(table.stats.anomalies.tcp_truncated_segment).toBe(1);
    expect(f.bytesA).toBe(36);
  });

  it('keeps the lost tail of a truncated out-of-order segment in place', () => {
    const { rec, table, send } = setup();
    handshake(send, 1000, 5000);
    send(C, { flags: TCP_ACK, seq: 1001 + 5, data: 'fghij', wire: 15 }); // [5,20): [10,20) lost
    send(C, { flags: TCP_ACK, seq: 1001 + 20, data: 'uvw' });
    send(C, part(ALPHA, 1001, 0, 5));
    const [f] = rec.flows();
    expect(rec.text(f, true)).toBe(`abcdefghij[gap 10]uvw`);
    expect(table.stats.gapBytes).toBe(10);
    // A full retransmission of the truncated segment later is a duplicate.
    send(C, part(ALPHA, 1001, 5, 20));
    expect(rec.text(f, true)).toBe(`abcdefghij[gap 10]uvw`);
  });

  it('calls onFin after all data before the FIN, waiting for data reordered behind it', () => {
    const { rec, table, send } = setup();
    handshake(send, 1000, 5000);
    send(C, part(ALPHA, 1001, 0, 5));
    send(C, { flags: TCP_ACK | TCP_FIN, seq: 1001 + 10 }); // FIN overtook [5, 10)
    const [f] = rec.flows();
    expect(rec.kinds(f)).not.toContain('fin');
    send(C, part(ALPHA, 1001, 5, 10));
    expect(rec.text(f, true)).toBe(ALPHA.slice(0, 10));
    const kinds = rec.kinds(f);
    expect(kinds[kinds.length - 1]).toBe('fin');
    // Server answers and closes; the flow ends once both FINs are delivered.
    send(S, { flags: TCP_ACK | TCP_PSH, seq: 5001, ack: 1001 + 11, data: 'bye' });
    expect(rec.kinds(f)).not.toContain('end');
    send(S, { flags: TCP_ACK | TCP_FIN, seq: 5004, ack: 1001 + 11 });
    expect(rec.kinds(f)).toEqual(['start', 'data', 'data', 'fin', 'data', 'fin', 'end']);
    expect(rec.events.at(-1)).toMatchObject({ t: 'end', reason: 'fin' });
    expect(table.size).toBe(0);
    expect(table.stats.flowsEnded).toBe(1);
  });

  it('delivers data and FIN carried by the same segment', () => {
    const { rec, send } = setup();
    handshake(send, 1000, 5000);
    send(C, { flags: TCP_ACK | TCP_FIN | TCP_PSH, seq: 1001, data: 'last words' });
    const [f] = rec.flows();
    expect(rec.kinds(f)).toEqual(['start', 'data', 'fin']);
    expect(rec.text(f, true)).toBe('last words');
  });

  it('declares the hole before a FIN once the peer ACKs the FIN', () => {
    const { rec, table, send } = setup();
    handshake(send, 1000, 5000);
    send(C, part(ALPHA, 1001, 0, 5));
    send(C, { flags: TCP_ACK | TCP_FIN, seq: 1001 + 12 }); // [5, 12) lost
    send(S, { flags: TCP_ACK | TCP_FIN, seq: 5001, ack: 1001 + 13 });
    const [f] = rec.flows();
    expect(rec.text(f, true)).toBe(`${ALPHA.slice(0, 5)}[gap 7]`);
    expect(rec.kinds(f).slice(-4)).toEqual(['gap', 'fin', 'fin', 'end']);
    expect(table.stats.gapBytes).toBe(7);
  });

  it('drops data beyond a FIN', () => {
    const { rec, table, send } = setup();
    handshake(send, 1000, 5000);
    send(C, { flags: TCP_ACK | TCP_FIN, seq: 1001, data: 'abc' });
    send(C, { flags: TCP_ACK, seq: 1001 + 2, data: 'cdef' }); // 'c' dup, 'def' beyond the FIN
    const [f] = rec.flows();
    expect(rec.text(f, true)).toBe('abc');
    expect(table.stats.anomalies.tcp_data_after_fin).toBe(1);
  });

  it('drops buffered data beyond a FIN that arrives later', () => {
    const { rec, table, send } = setup();
    handshake(send, 1000, 5000);
    send(C, part(ALPHA, 1001, 4, 10)); // buffered [4, 10)
    send(C, { flags: TCP_ACK | TCP_FIN, seq: 1001 + 6 }); // FIN at 6: [6, 10) is bogus
    send(C, part(ALPHA, 1001, 0, 4));
    const [f] = rec.flows();
    expect(rec.text(f, true)).toBe('abcdef');
    expect(rec.kinds(f).at(-1)).toBe('fin');
    expect(table.stats.anomalies.tcp_data_after_fin).toBe(1);
  });

  it('ends the flow on RST, flushing buffered data behind a gap, without onFin', () => {
    const { rec, table, send } = setup();
    handshake(send, 1000, 5000);
    send(C, part(ALPHA, 1001, 0, 3));
    send(C, part(ALPHA, 1001, 6, 9)); // hole [3, 6)
    send(S, { flags: TCP_RST | TCP_ACK, seq: 5001, ack: 1001 + 3 });
    const [f] = rec.flows();
    expect(rec.text(f, true)).toBe('abc[gap 3]ghi');
    expect(rec.kinds(f)).toEqual(['start', 'data', 'gap', 'data', 'end']);
    expect(rec.events.at(-1)).toMatchObject({ t: 'end', reason: 'rst' });
    expect(table.size).toBe(0);
  });

  it('starts a mid-connection stream at the first data segment', () => {
    const { rec, send } = setup();
    send(C, { flags: TCP_ACK | TCP_PSH, seq: 777777, ack: 123456, data: 'middle' });
    send(C, { flags: TCP_ACK | TCP_PSH, seq: 777783, ack: 123456, data: ' of it' });
    const [f] = rec.flows();
    expect(rec.text(f, true)).toBe('middle of it');
  });

  it("takes a side's stream start from the peer's ACK when no data of it was seen", () => {
    const { rec, table, send } = setup();
    send(C, { flags: TCP_ACK, seq: 100, ack: 9000 }); // B's stream starts at 9000
    send(S, { flags: TCP_ACK, seq: 9005, data: 'fghij' }); // out of order: [9000, 9005) missing
    const [f] = rec.flows();
    expect(rec.text(f, false)).toBe('');
    send(S, { flags: TCP_ACK, seq: 9000, data: 'abcde' });
    expect(rec.text(f, false)).toBe('abcdefghij');
    // A retransmission from before the start: not a duplicate of anything delivered.
    send(S, { flags: TCP_ACK, seq: 8990, data: '0123456789' });
    expect(table.stats.anomalies.tcp_data_before_stream_start).toBe(1);
    expect(table.stats.duplicateBytes).toBe(0);
    expect(rec.text(f, false)).toBe('abcdefghij');
  });

  it('delivers TCP Fast Open data carried by the SYN', () => {
    const { rec, send } = setup();
    send(C, { flags: TCP_SYN, seq: 1000, data: 'early' });
    send(S, { flags: TCP_SYN | TCP_ACK, seq: 5000, ack: 1006 });
    send(C, { flags: TCP_ACK, seq: 1006, ack: 5001, data: ' data' });
    expect(rec.text(rec.flows()[0], true)).toBe('early data');
  });

  it('flushes holes as gaps at the end of the capture and delivers a FIN seen behind them', () => {
    const { rec, table, send } = setup();
    handshake(send, 1000, 5000);
    send(C, part(ALPHA, 1001, 0, 2));
    send(C, part(ALPHA, 1001, 4, 6));
    send(C, { flags: TCP_ACK | TCP_FIN, seq: 1001 + 8 });
    send(S, part(DIGITS, 5001, 3, 5));
    table.endAll('capture_end', 99);
    const [f] = rec.flows();
    expect(rec.text(f, true)).toBe('ab[gap 2]ef[gap 2]');
    expect(rec.text(f, false)).toBe('[gap 3]34');
    const sideA = rec.events.filter((e) => e.flow === f && 'fromA' in e && e.fromA).map((e) => e.t);
    expect(sideA).toEqual(['data', 'gap', 'data', 'gap', 'fin']);
    expect(rec.events.at(-1)).toMatchObject({ t: 'end', reason: 'capture_end', ts: 99 });
    expect(table.size).toBe(0);
  });
});

/** One direction's data, gaps and FIN in delivery order: [kind, text or gap length, ts]. */
function timeline(rec: Recorder, f: Flow, fromA: boolean): [string, string | number, number][] {
  const dec = new TextDecoder();
  const out: [string, string | number, number][] = [];
  for (const e of rec.events) {
    if (e.flow !== f || !('fromA' in e) || e.fromA !== fromA) continue;
    if (e.t === 'data') out.push(['data', dec.decode(e.bytes), e.ts]);
    else if (e.t === 'gap') out.push(['gap', e.length, e.ts]);
    else out.push([e.t, '', e.ts]);
  }
  return out;
}

// `setup` stamps the n-th packet sent with ts = 1000 n: the handshake is at 1000..3000, the first
// packet after it at 4000, and so on.
describe('TCP reassembly times', () => {
  it('delivers pieces released by a filled hole, and a FIN behind it, at the filling packet\'s time', () => {
    const { rec, send } = setup();
    handshake(send, 1000, 5000);
    send(C, part(ALPHA, 1001, 0, 3)); // 4000
    send(C, part(ALPHA, 1001, 6, 9)); // 5000, buffered
    send(C, part(ALPHA, 1001, 9, 12)); // 6000, buffered
    send(C, { flags: TCP_ACK | TCP_FIN, seq: 1001 + 12 }); // 7000, waits
    send(C, part(ALPHA, 1001, 3, 6)); // 8000 fills the hole
    const [f] = rec.flows();
    expect(timeline(rec, f, true)).toEqual([
      ['data', 'abc', 4000],
      ['data', 'def', 8000],
      ['data', 'ghi', 8000],
      ['data', 'jkl', 8000],
      ['fin', '', 8000],
    ]);
  });

  it('delivers pieces after a hole the peer ACKed at their own capture times, not the ACK\'s', () => {
    const { rec, send } = setup();
    handshake(send, 1000, 5000);
    send(C, part(ALPHA, 1001, 0, 10)); // 4000
    send(C, part(ALPHA, 1001, 20, 23)); // 5000, buffered: [10, 20) never captured
    send(C, part(ALPHA, 1001, 23, 26)); // 6000, buffered
    send(S, { flags: TCP_ACK, seq: 5001, ack: 1001 + 26 }); // 7000: the hole is lost
    const [f] = rec.flows();
    expect(timeline(rec, f, true)).toEqual([
      ['data', ALPHA.slice(0, 10), 4000],
      ['gap', 10, 5000],
      ['data', 'uvw', 5000],
      ['data', 'xyz', 6000],
    ]);
    // Later in-order data carries its own time again.
    send(C, part(DIGITS, 1001 + 26, 0, 10)); // 8000
    expect(timeline(rec, f, true).at(-1)).toEqual(['data', DIGITS, 8000]);
  });

  it('keeps the times of one direction non-decreasing when pieces were captured out of time order', () => {
    const { rec, send } = setup();
    handshake(send, 1000, 5000);
    send(C, part(ALPHA, 1001, 0, 5)); // 4000
    send(C, part(ALPHA, 1001, 20, 26)); // 5000, buffered
    send(C, part(ALPHA, 1001, 10, 20)); // 6000, buffered before the one of 5000: hole [5, 10)
    send(S, { flags: TCP_ACK, seq: 5001, ack: 1001 + 26 }); // 7000
    const [f] = rec.flows();
    expect(timeline(rec, f, true)).toEqual([
      ['data', 'abcde', 4000],
      ['gap', 5, 6000], // the time of the first piece after the hole
      ['data', ALPHA.slice(10, 20), 6000],
      ['data', ALPHA.slice(20, 26), 6000], // captured at 5000, clamped
    ]);
  });

  it('clamps a declared gap to the last time delivered', () => {
    const { rec, send } = setup();
    handshake(send, 1000, 5000);
    send(C, part(ALPHA, 1001, 0, 5)); // 4000
    send(C, part(ALPHA, 1001, 12, 15)); // 5000, buffered: hole [5, 12)
    send(C, part(ALPHA, 1001, 5, 10)); // 6000, in order: [10, 12) still missing
    send(S, { flags: TCP_ACK, seq: 5001, ack: 1001 + 15 }); // 7000
    const [f] = rec.flows();
    expect(timeline(rec, f, true)).toEqual([
      ['data', 'abcde', 4000],
      ['data', 'fghij', 6000],
      ['gap', 2, 6000], // the piece after it was captured at 5000
      ['data', 'mno', 6000],
    ]);
  });

  it('stamps a partially ACKed hole with the time of the piece after it', () => {
    const { rec, send } = setup();
    handshake(send, 1000, 5000);
    send(C, part(ALPHA, 1001, 0, 5)); // 4000
    send(C, part(ALPHA, 1001, 20, 26)); // 5000, buffered: hole [5, 20)
    send(S, { flags: TCP_ACK, seq: 5001, ack: 1001 + 12 }); // 6000: [5, 12) is lost
    send(C, part(ALPHA, 1001, 12, 20)); // 7000 fills the rest
    const [f] = rec.flows();
    expect(timeline(rec, f, true)).toEqual([
      ['data', 'abcde', 4000],
      ['gap', 7, 5000],
      ['data', ALPHA.slice(12, 20), 7000],
      ['data', ALPHA.slice(20, 26), 7000],
    ]);
  });

  it('uses the pieces\' capture times when a cap declares the hole', () => {
    const { rec, send } = setup({ maxOutOfOrderBytesPerDirection: 25 });
    handshake(send, 1000, 5000);
    send(C, part(ALPHA, 1001, 0, 2)); // 4000
    send(C, part(ALPHA, 1001, 10, 20)); // 5000
    send(C, part(ALPHA, 1001, 20, 26)); // 6000
    send(C, { flags: TCP_ACK, seq: 1001 + 26, data: DIGITS }); // 7000: over the cap
    const [f] = rec.flows();
    expect(timeline(rec, f, true)).toEqual([
      ['data', 'ab', 4000],
      ['gap', 8, 5000],
      ['data', ALPHA.slice(10, 20), 5000],
      ['data', ALPHA.slice(20, 26), 6000],
      ['data', DIGITS, 7000],
    ]);
  });

  it('stamps the lost tail of a truncated out-of-order segment with that segment\'s time', () => {
    const { rec, send } = setup();
    handshake(send, 1000, 5000);
    send(C, { flags: TCP_ACK, seq: 1001 + 5, data: 'fghij', wire: 15 }); // 4000: [10, 20) cut off
    send(C, part(ALPHA, 1001, 20, 23)); // 5000
    send(S, { flags: TCP_ACK, seq: 5001, ack: 1001 + 23 }); // 6000: [0, 5) is lost
    const [f] = rec.flows();
    expect(timeline(rec, f, true)).toEqual([
      ['gap', 5, 4000],
      ['data', 'fghij', 4000],
      ['gap', 10, 4000],
      ['data', 'uvw', 5000],
    ]);
  });

  it('stamps the hole before a FIN, and the FIN, with the FIN\'s time when the peer ACKs it', () => {
    const { rec, send } = setup();
    handshake(send, 1000, 5000);
    send(C, part(ALPHA, 1001, 0, 5)); // 4000
    send(C, { flags: TCP_ACK | TCP_FIN, seq: 1001 + 12 }); // 5000: [5, 12) lost
    send(S, { flags: TCP_ACK, seq: 5001, ack: 1001 + 13 }); // 6000
    const [f] = rec.flows();
    expect(timeline(rec, f, true)).toEqual([
      ['data', 'abcde', 4000],
      ['gap', 7, 5000],
      ['fin', '', 5000],
    ]);
  });

  it('flushes buffered pieces, holes and a FIN at their capture times, not the end of the capture', () => {
    const { rec, send, table } = setup();
    handshake(send, 1000, 5000);
    send(C, part(ALPHA, 1001, 0, 2)); // 4000
    send(C, part(ALPHA, 1001, 4, 6)); // 5000
    send(C, { flags: TCP_ACK | TCP_FIN, seq: 1001 + 8 }); // 6000
    send(S, part(DIGITS, 5001, 3, 5)); // 7000
    table.endAll('capture_end', 99000);
    const [f] = rec.flows();
    expect(timeline(rec, f, true)).toEqual([
      ['data', 'ab', 4000],
      ['gap', 2, 5000],
      ['data', 'ef', 5000],
      ['gap', 2, 6000],
      ['fin', '', 6000],
    ]);
    expect(timeline(rec, f, false)).toEqual([
      ['gap', 3, 7000],
      ['data', '34', 7000],
    ]);
    expect(rec.events.at(-1)).toMatchObject({ t: 'end', ts: 99000 });
  });

  it('never delivers an earlier time than before, even for in-order data captured out of time order', () => {
    const { rec, send } = setup();
    handshake(send, 1000, 5000);
    send(C, { ...part(ALPHA, 1001, 0, 3), ts: 9000 });
    send(C, { ...part(ALPHA, 1001, 3, 6), ts: 8500 }); // the capture clock went back
    send(C, { flags: TCP_ACK | TCP_FIN, seq: 1001 + 6, ts: 8700 });
    send(S, { ...part(DIGITS, 5001, 0, 3), ts: 8800 }); // the other direction is independent
    const [f] = rec.flows();
    expect(timeline(rec, f, true)).toEqual([
      ['data', 'abc', 9000],
      ['data', 'def', 9000],
      ['fin', '', 9000],
    ]);
    expect(timeline(rec, f, false)).toEqual([['data', '012', 8800]]);
  });
});

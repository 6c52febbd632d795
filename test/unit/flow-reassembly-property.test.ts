import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DecodedPacket } from '../../core/decode/types.js';
import { FlowTable } from '../../core/flow/flow-table.js';
import type { Flow, FlowLimits } from '../../core/flow/types.js';
import { Recorder, TCP_ACK, TCP_FIN, TCP_SYN, scribble, tcp, udp, type Event, type Piece } from './flow-test-helpers.js';

const C = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80 };
const S = { src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40000 };

/** Small deterministic PRNG (mulberry32) driven by a fast-check seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Seg {
  from: number;
  to: number;
  /** Bytes present (< to - from: snap-length truncated). */
  present: number;
}

/** Cuts [0, len) into random segments, then adds duplicates and overlapping re-segmentations. */
function segments(len: number, rnd: () => number, extra: boolean): Seg[] {
  const out: Seg[] = [];
  for (let at = 0; at < len; ) {
    const n = Math.min(len - at, 1 + Math.floor(rnd() * (rnd() < 0.2 ? 400 : 60)));
    out.push({ from: at, to: at + n, present: n });
    at += n;
  }
  if (extra) {
    const base = out.length;
    for (let i = 0; i < base; i++) if (rnd() < 0.2) out.push({ ...out[i] }); // exact duplicates
    const overlaps = Math.floor(rnd() * base);
    for (let i = 0; i < overlaps; i++) {
      const from = Math.floor(rnd() * len);
      const to = Math.min(len, from + 1 + Math.floor(rnd() * 200));
      out.push({ from, to, present: to - from });
    }
  }
  return out;
}

function shuffle<T>(a: T[], rnd: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function dataPacket(side: typeof C, stream: Uint8Array, base: number, peerIsn: number, s: Seg): DecodedPacket {
  return tcp({
    ...side,
    flags: TCP_ACK,
    seq: (base + s.from) >>> 0,
    ack: (peerIsn + 1) >>> 0, // acknowledges nothing of the peer's stream
    data: stream.subarray(s.from, s.from + s.present),
    wire: s.to - s.from,
  });
}

/** Checks each delivered chunk sits at its offset; returns delivered + gap bytes. */
function checkPieces(pieces: Piece[], stream: Uint8Array): number {
  let at = 0;
  for (const p of pieces) {
    if ('gap' in p) {
      at += p.gap;
    } else {
      expect(at + p.data.length).toBeLessThanOrEqual(stream.length);
      expect(Buffer.from(p.data).equals(Buffer.from(stream.subarray(at, at + p.data.length)))).toBe(true);
      at += p.data.length;
    }
  }
  return at;
}

function concat(pieces: Piece[]): Uint8Array {
  const parts = pieces.map((p) => {
    if ('gap' in p) throw new Error(`unexpected gap of ${p.gap}`);
    return p.data;
  });
  return Buffer.concat(parts);
}

/** The times of one direction's data, gaps and FIN never decrease. */
function expectNonDecreasingTimes(events: Event[], f: Flow, fromA: boolean): void {
  let last = -Infinity;
  for (const e of events) {
    if (e.flow !== f || !('fromA' in e) || e.fromA !== fromA) continue;
    expect(e.ts).toBeGreaterThanOrEqual(last);
    last = e.ts;
  }
}

/** Runs per property (FLOW_PROPERTY_RUNS=20000 for a longer soak). */
const RUNS = Number(process.env.FLOW_PROPERTY_RUNS) || 300;
const isnArb = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0xfffff000, max: 0xffffffff }));
const streamArb = fc.uint8Array({ minLength: 1, maxLength: 4000 });

describe('TCP reassembly properties', () => {
  it('delivers shuffled, duplicated and overlapping segments exactly as the original streams', () => {
    fc.assert(
      fc.property(streamArb, streamArb, isnArb, isnArb, fc.integer(), (up, down, ci, si, seed) => {
        const rnd = prng(seed);
        const rec = new Recorder();
        const limits: Partial<FlowLimits> = { maxOutOfOrderSegmentsPerDirection: 100000, maxOutOfOrderBytesPerDirection: 1 << 24 };
        const table = new FlowTable(rec, { limits });
        const pkts: DecodedPacket[] = [
          ...segments(up.length, rnd, true).map((s) => dataPacket(C, up, ci + 1, si, s)),
          ...segments(down.length, rnd, true).map((s) => dataPacket(S, down, si + 1, ci, s)),
        ];
        shuffle(pkts, rnd);
        pkts.unshift(
          tcp({ ...C, flags: TCP_SYN, seq: ci }),
          tcp({ ...S, flags: TCP_SYN | TCP_ACK, seq: si, ack: (ci + 1) >>> 0 }),
        );
        for (const p of pkts) {
          table.process(p);
          scribble(p);
        }
        const [f] = rec.flows();
        expect(rec.flows()).toHaveLength(1);
        // Everything is delivered before the end of the capture: nothing waits for a flush.
        expect(Buffer.from(concat(rec.pieces(f, true))).equals(Buffer.from(up))).toBe(true);
        expect(Buffer.from(concat(rec.pieces(f, false))).equals(Buffer.from(down))).toBe(true);
        table.endAll('capture_end', 0);
        expect(table.stats.gaps).toBe(0);
      }),
      { numRuns: RUNS },
    );
  });

  it('with lost, truncated and reordered segments, delivered bytes + gaps add up to the stream', () => {
    fc.assert(
      fc.property(
        streamArb,
        streamArb,
        isnArb,
        isnArb,
        fc.integer(),
        fc.record({
          maxOutOfOrderSegmentsPerDirection: fc.integer({ min: 1, max: 64 }),
          maxOutOfOrderBytesPerDirection: fc.integer({ min: 1, max: 8000 }),
          maxOutOfOrderBytesTotal: fc.integer({ min: 1, max: 16000 }),
        }),
        fc.boolean(),
        (up, down, ci, si, seed, limits, handshake) => {
          const rnd = prng(seed);
          const rec = new Recorder();
          const table = new FlowTable(rec, { limits });
          const cBase = (ci + 1) >>> 0;
          const sBase = (si + 1) >>> 0;
          /** Packets of one direction: data (some lost or truncated), the peer's ACKs, the FIN. */
          const direction = (side: typeof C, peer: typeof C, stream: Uint8Array, base: number, peerBase: number) => {
            const out: DecodedPacket[] = [];
            for (const s of segments(stream.length, rnd, rnd() < 0.5)) {
              const r = rnd();
              if (r < 0.15) continue; // lost in capture
              if (r < 0.25) s.present = Math.floor(rnd() * (s.to - s.from)); // snap length
              out.push(dataPacket(side, stream, base, peerBase - 1, s));
              if (rnd() < 0.2) {
                // The peer acknowledges something that was sent (possibly lost or not yet seen).
                const ack = Math.floor(rnd() * (stream.length + 1));
                out.push(tcp({ ...peer, flags: TCP_ACK, seq: peerBase, ack: (base + ack) >>> 0 }));
              }
            }
            // The FIN marks the end of the stream (it may arrive before data reordered behind it).
            out.push(tcp({ ...side, flags: TCP_ACK | TCP_FIN, seq: (base + stream.length) >>> 0, ack: peerBase }));
            return out;
          };
          const pkts = shuffle([...direction(C, S, up, cBase, sBase), ...direction(S, C, down, sBase, cBase)], rnd);
          // With a handshake the stream starts are known; without one, the first ACKs tell them.
          if (handshake) {
            pkts.unshift(
              tcp({ ...C, flags: TCP_SYN, seq: ci }),
              tcp({ ...S, flags: TCP_SYN | TCP_ACK, seq: si, ack: cBase }),
            );
          } else {
            pkts.unshift(tcp({ ...C, flags: TCP_ACK, seq: cBase, ack: sBase }), tcp({ ...S, flags: TCP_ACK, seq: sBase, ack: cBase }));
          }
          // Packet i is captured at 1000 (i + 1). Remembered: when each byte of each direction was
          // first captured; for each event, the capture time at which it was emitted and the time of
          // the latest packet sent by each side by then.
          const firstSeen = [new Array<number>(up.length).fill(Infinity), new Array<number>(down.length).fill(Infinity)];
          const emittedAt: number[] = [];
          const sideLatest: [number, number][] = [];
          const latestOf: [number, number] = [-Infinity, -Infinity];
          let now = 0;
          for (const p of pkts) {
            p.ts = now += 1000;
            const side = p.srcPort === C.sport ? 0 : 1;
            latestOf[side] = now;
            const seen = firstSeen[side];
            const off = (p.seq - (side === 0 ? cBase : sBase)) >>> 0;
            for (let k = 0; k < p.payloadLength; k++) if (seen[off + k] > now) seen[off + k] = now;
            table.process(p);
            scribble(p);
            while (emittedAt.length < rec.events.length) {
              emittedAt.push(now);
              sideLatest.push([latestOf[0], latestOf[1]]);
            }
          }
          table.endAll('capture_end', now + 1000);
          while (emittedAt.length < rec.events.length) {
            emittedAt.push(now + 1000);
            sideLatest.push([latestOf[0], latestOf[1]]);
          }
          const [f]: Flow[] = rec.flows();
          expect(rec.flows()).toHaveLength(1);
          expect(f.addrA).toBe(C.src);
          let gapBytes = 0;
          for (const [fromA, stream] of [[true, up], [false, down]] as const) {
            const pieces = rec.pieces(f, fromA);
            expect(checkPieces(pieces, stream)).toBe(stream.length);
            gapBytes += pieces.reduce((n, p) => n + ('gap' in p ? p.gap : 0), 0);
            expect(rec.events.filter((e) => e.t === 'fin' && e.fromA === fromA)).toHaveLength(1);
            // Times: non-decreasing and never later than when delivered. Data, gaps and the FIN are
            // stamped no later than the previous event or the latest packet of their side (not at
            // the time of the peer's ACK that declared a hole lost, nor at the end of the capture).
            // A chunk is stamped no earlier than any of its bytes was captured, and no later than the
            // previous event or the capture of the latest byte up to its end.
            expectNonDecreasingTimes(rec.events, f, fromA);
            const seen = firstSeen[fromA ? 0 : 1];
            let at = 0;
            let prev = -Infinity;
            let scanned = 0;
            let latest = -Infinity;
            rec.events.forEach((e, i) => {
              if (e.flow !== f || !('fromA' in e) || e.fromA !== fromA) return;
              expect(e.ts).toBeLessThanOrEqual(emittedAt[i]);
              expect(e.ts).toBeLessThanOrEqual(Math.max(prev, sideLatest[i][fromA ? 0 : 1]));
              if (e.t === 'data') {
                const end = at + e.bytes.length;
                for (let k = at; k < end; k++) expect(seen[k]).toBeLessThanOrEqual(e.ts);
                for (; scanned < end; scanned++) {
                  const t = seen[scanned];
                  if (t <= emittedAt[i] && t > latest) latest = t;
                }
                expect(e.ts).toBeLessThanOrEqual(Math.max(prev, latest));
                at = end;
              } else if (e.t === 'gap') {
                at += e.length;
              }
              prev = e.ts;
            });
          }
          expect(table.stats.gapBytes).toBe(gapBytes);
          expect(table.stats.flowsEnded).toBe(1);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('never throws on arbitrary packets and keeps its counters consistent', () => {
    const packetArb = fc.record({
      host: fc.integer({ min: 0, max: 3 }),
      fromClient: fc.boolean(),
      udp: fc.boolean(),
      flags: fc.integer({ min: 0, max: 0x3f }),
      seq: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 3000 })),
      ack: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 3000 })),
      len: fc.integer({ min: 0, max: 1500 }),
      cut: fc.integer({ min: 0, max: 1500 }),
      dt: fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 0, max: 20e9 })),
    });
    fc.assert(
      fc.property(fc.array(packetArb, { maxLength: 300 }), fc.integer({ min: 1, max: 4 }), (specs, maxFlows) => {
        const rec = new Recorder();
        const limits = { maxFlows, maxOutOfOrderSegmentsPerDirection: 8, maxOutOfOrderBytesPerDirection: 4000, maxOutOfOrderBytesTotal: 6000 };
        const table = new FlowTable(rec, { limits });
        let ts = 0;
        for (const s of specs) {
          ts += s.dt;
          const side = { src: `10.0.0.${s.host}`, dst: '10.0.0.99', sport: 40000 + s.host, dport: 80 };
          const dir = s.fromClient ? side : { src: side.dst, dst: side.src, sport: side.dport, dport: side.sport };
          const data = new Uint8Array(Math.min(s.len, s.cut));
          const spec = { ...dir, ts, flags: s.flags, seq: s.seq, ack: s.ack, data, wire: s.len };
          const p = s.udp ? udp(spec) : tcp(spec);
          table.process(p);
          scribble(p);
          expect(table.size).toBeLessThanOrEqual(maxFlows);
          expect(table.stats.flowsCreated - table.stats.flowsEnded).toBe(table.size);
          expect(table.bufferedBytes).toBeLessThanOrEqual(limits.maxOutOfOrderBytesTotal);
        }
        table.endAll('capture_end', ts);
        expect(table.size).toBe(0);
        expect(table.bufferedBytes).toBe(0);
        expect(table.stats.flowsCreated).toBe(table.stats.flowsEnded);
        const gaps = rec.events.reduce((n, e) => n + (e.t === 'gap' ? e.length : 0), 0);
        expect(table.stats.gapBytes).toBe(gaps);
        // Every flow got exactly one start and one end, with nothing after the end.
        for (const f of rec.flows()) {
          const kinds = rec.kinds(f);
          expect(kinds[0]).toBe('start');
          expect(kinds.indexOf('end')).toBe(kinds.length - 1);
          for (const fromA of [true, false]) {
            expect(rec.events.filter((e) => e.flow === f && e.t === 'fin' && e.fromA === fromA).length).toBeLessThanOrEqual(1);
            // Even when the capture clock goes back, a TCP direction's times never decrease.
            if (f.transport === 'tcp') expectNonDecreasingTimes(rec.events, f, fromA);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});

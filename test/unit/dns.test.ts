/**
 * DNS parser tests. Messages are written here byte by byte from RFC 1035 §4 (header, question,
 * resource records, compression pointers) and RFC 6891 (OPT); expected values follow from the bytes
 * written, not from the parser's output.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { L7Message, SpanDescription } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE, PROBE_NEED_MORE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE } from '../../core/l7/types.js';
import { dnsParser } from '../../parsers/dns/index.js';
import { ipv6 } from '../../parsers/dns/wire.js';
import { FakeContext } from '../helpers/fake-parser-context.js';

// ---- building messages (RFC 1035 §4.1) --------------------------------------------------------
const u16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const u32 = (n: number) => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
/** A name as labels (no compression); '' is the root. */
function name(n: string): number[] {
  const out: number[] = [];
  if (n !== '') for (const l of n.split('.')) out.push(l.length, ...Buffer.from(l, 'latin1'));
  out.push(0);
  return out;
}
/** Pointer to offset `o` in the message (0xC00C is the first question's name). */
const ptr = (o: number) => [0xc0 | (o >> 8), o & 0xff];
const QNAME_PTR = ptr(12);
const IN = 1;
const rr = (owner: number[], type: number, rdata: number[], ttl = 300, cls = IN) => [...owner, ...u16(type), ...u16(cls), ...u32(ttl), ...u16(rdata.length), ...rdata];

interface MsgSpec {
  id?: number;
  /** Full 16-bit flags word. */
  flags?: number;
  questions?: [string, number][];
  answers?: number[][];
  authority?: number[][];
  additional?: number[][];
}
function msg(s: MsgSpec): Uint8Array {
  const q = s.questions ?? [];
  const an = s.answers ?? [];
  const ns = s.authority ?? [];
  const ar = s.additional ?? [];
  const bytes = [...u16(s.id ?? 0x1234), ...u16(s.flags ?? 0x0100), ...u16(q.length), ...u16(an.length), ...u16(ns.length), ...u16(ar.length)];
  for (const [n, t] of q) bytes.push(...name(n), ...u16(t), ...u16(IN));
  for (const r of [...an, ...ns, ...ar]) bytes.push(...r);
  return Uint8Array.from(bytes);
}
const QUERY = 0x0100; // RD
const RESP = 0x8180; // QR RD RA, NOERROR
const query = (n: string, t: number, id = 0x1234) => msg({ id, flags: QUERY, questions: [[n, t]] });
const response = (n: string, t: number, answers: number[][], id = 0x1234, flags = RESP, extra: Partial<MsgSpec> = {}) =>
  msg({ id, flags, questions: [[n, t]], answers, ...extra });
const tcpFrame = (m: Uint8Array) => Uint8Array.from([...u16(m.length), ...m]);

function udpContext(portA = 40000, portB = 53): FakeContext {
  const ctx = new FakeContext(dnsParser);
  Object.assign(ctx.flow, { transport: 'udp', portA, portB });
  ctx.session = dnsParser.createSession(ctx);
  return ctx;
}
function tcpContext(): FakeContext {
  const ctx = new FakeContext(dnsParser);
  Object.assign(ctx.flow, { portB: 53 });
  ctx.session = dnsParser.createSession(ctx);
  return ctx;
}
const udpProbe = (m: Uint8Array, port = 53) => dnsParser.probe(m, 0, m.length, { transport: 'udp', port, toServer: null });
const tcpProbe = (m: Uint8Array) => dnsParser.probe(m, 0, m.length, { transport: 'tcp', port: 53, toServer: null });

/** Feeds one datagram and returns the single message it produced. */
function one(m: Uint8Array, toServer = false, ctx = udpContext()): { msg: L7Message; ctx: FakeContext } {
  const before = ctx.messages.length;
  expect(ctx.feed(toServer, m)).toBe(m.length);
  expect(ctx.messages.length).toBe(before + 1);
  return { msg: ctx.messages[ctx.messages.length - 1], ctx };
}
function describeExchange(req: L7Message | null, resp: L7Message | null): SpanDescription {
  const out: SpanDescription = { name: '', error: false, errorType: '', message: '', kind: 0 };
  dnsParser.describeSpan(req, resp, 3, out);
  return out;
}

// ---- probe ------------------------------------------------------------------------------------
describe('dns probe', () => {
  it('recognises queries and responses over UDP', () => {
    expect(udpProbe(query('example.com', 1))).toBe(PROBE_REQUEST);
    expect(udpProbe(response('example.com', 1, [rr(QNAME_PTR, 1, [93, 184, 216, 34])]))).toBe(PROBE_RESPONSE);
  });

  it('rejects other payloads', () => {
    expect(udpProbe(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'))).toBe(PROBE_NO);
    expect(udpProbe(new Uint8Array(11))).toBe(PROBE_NO);
    expect(udpProbe(new Uint8Array(64))).toBe(PROBE_NO); // QDCOUNT 0 on port 53
    const q = query('example.com', 1);
    expect(udpProbe(q.subarray(0, q.length - 3))).toBe(PROBE_NO); // question cut short
    const badOpcode = query('example.com', 1);
    badOpcode[2] |= 0x10; // opcode 2 (STATUS)
    expect(udpProbe(badOpcode)).toBe(PROBE_NO);
    const badClass = query('example.com', 1);
    badClass[badClass.length - 1] = 9;
    expect(udpProbe(badClass)).toBe(PROBE_NO);
    const queryWithRcode = query('example.com', 1);
    queryWithRcode[3] |= 3;
    expect(udpProbe(queryWithRcode)).toBe(PROBE_NO);
  });

  it('reads the TCP length prefix and asks for more when the question is cut', () => {
    const f = tcpFrame(query('example.com', 28));
    expect(tcpProbe(f)).toBe(PROBE_REQUEST);
    expect(tcpProbe(f.subarray(0, 1))).toBe(PROBE_NEED_MORE);
    expect(tcpProbe(f.subarray(0, 10))).toBe(PROBE_NEED_MORE);
    expect(tcpProbe(f.subarray(0, 20))).toBe(PROBE_NEED_MORE);
    expect(tcpProbe(Buffer.from('GET / HTTP/1.1\r\n'))).toBe(PROBE_NO);
  });

  it('accepts mDNS responses without a question on port 5353 only', () => {
    const m = msg({ id: 0, flags: 0x8400, answers: [rr(name('printer.local'), 1, [192, 168, 1, 9], 120, 0x8001)] });
    expect(udpProbe(m, 5353)).toBe(PROBE_RESPONSE);
    expect(udpProbe(m, 53)).toBe(PROBE_NO);
  });
});

// ---- messages ---------------------------------------------------------------------------------
describe('dns messages', () => {
  it('a query becomes a request keyed by the DNS id', () => {
    const ctx = udpContext();
    ctx.firstByteTs = 0;
    const { msg: m } = one(query('WWW.Example.COM', 1, 0xbeef), true, ctx);
    expect(m.type).toBe(MSG_REQUEST);
    expect(m.sessionId).toBe(0xbeef);
    expect(m.expectsResponse).toBe(true);
    expect(m.size).toBe(12 + 17 + 4);
    expect(m.attrs).toEqual({ 'dns.question.name': 'www.example.com', 'spanwire.dns.question.type': 'A', 'spanwire.dns.id': 0xbeef });
  });

  it('timestamps come from the context', () => {
    const ctx = udpContext();
    ctx.feed(true, query('a.b', 1), 1000);
    expect(ctx.messages[0].startTs).toBe(1000);
    expect(ctx.messages[0].endTs).toBe(1000);
  });

  it('renders A, AAAA, CNAME, MX, TXT, SRV, PTR, NS answers (names through compression pointers)', () => {
    // Offsets: header 12, question name 'example.com' at 12 (13 bytes), qtype/qclass, answers from 29.
    const aaaa = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const answers = [
      rr(QNAME_PTR, 5, [3, ...Buffer.from('www'), ...QNAME_PTR]), // CNAME www.example.com
      rr(QNAME_PTR, 1, [10, 0, 0, 1]),
      rr(QNAME_PTR, 28, aaaa),
      rr(QNAME_PTR, 15, [...u16(10), 4, ...Buffer.from('mail'), ...QNAME_PTR]),
      rr(QNAME_PTR, 16, [5, ...Buffer.from('v=spf'), 4, ...Buffer.from('1 -a')]),
      rr(QNAME_PTR, 33, [...u16(1), ...u16(5), ...u16(5060), 3, ...Buffer.from('sip'), ...QNAME_PTR]),
      rr(QNAME_PTR, 12, name('host.example.net')),
      rr(QNAME_PTR, 2, [2, ...Buffer.from('ns'), ...ptr(20)]), // ptr(20) -> 'com' inside the question name
    ];
    const { msg: m, ctx } = one(response('example.com', 255, answers, 7));
    expect(m.type).toBe(MSG_RESPONSE);
    expect(m.sessionId).toBe(7);
    expect(m.attrs['spanwire.dns.rcode']).toBe('NOERROR');
    expect(m.attrs['spanwire.dns.question.type']).toBe('ANY');
    expect(m.attrs['dns.answers']).toEqual([
      'www.example.com',
      '10.0.0.1',
      '2001:db8::1',
      '10 mail.example.com',
      'v=spf1 -a',
      '1 5 5060 sip.example.com',
      'host.example.net',
      'ns.com',
    ]);
    expect(ctx.anomalies).toEqual([]);
  });

  it('formats IPv6 addresses as RFC 5952', () => {
    const b = (...g: number[]) => Uint8Array.from(g.flatMap((x) => u16(x)));
    expect(ipv6(b(0, 0, 0, 0, 0, 0, 0, 1), 0)).toBe('::1');
    expect(ipv6(b(0, 0, 0, 0, 0, 0, 0, 0), 0)).toBe('::');
    expect(ipv6(b(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1), 0)).toBe('2001:db8:0:1::1');
    expect(ipv6(b(0xfe80, 0, 0, 0, 0xa, 0xb, 0xc, 0xd), 0)).toBe('fe80::a:b:c:d');
    expect(ipv6(b(1, 2, 3, 4, 5, 6, 7, 8), 0)).toBe('1:2:3:4:5:6:7:8');
  });

  it('unknown types keep their number, and their RDATA in the RFC 3597 generic form', () => {
    const { msg: m } = one(response('x.org', 99 + 1000, [rr(QNAME_PTR, 1099, [0xab, 0x01])]));
    expect(m.attrs['spanwire.dns.question.type']).toBe('1099');
    expect(m.attrs['dns.answers']).toEqual(['\\# 2 ab01']);
  });

  it('NXDOMAIN, SERVFAIL and NOERROR map to span status', () => {
    const req = one(query('nope.example', 1), true).msg;
    const nx = one(response('nope.example', 1, [], 0x1234, 0x8183)).msg;
    expect(nx.attrs['spanwire.dns.rcode']).toBe('NXDOMAIN');
    expect(nx.attrs['dns.answers']).toBeUndefined();
    expect(describeExchange(req, nx)).toMatchObject({ name: 'DNS A', error: true, errorType: 'host_not_found' });
    const sf = one(response('nope.example', 28, [], 0x1234, 0x8182)).msg;
    expect(describeExchange(null, sf)).toMatchObject({ name: 'DNS AAAA', error: true, errorType: 'SERVFAIL' });
    const ok = one(response('ok.example', 1, [rr(QNAME_PTR, 1, [1, 2, 3, 4])])).msg;
    expect(describeExchange(req, ok)).toMatchObject({ name: 'DNS A', error: false, errorType: '' });
    expect(describeExchange(req, null)).toMatchObject({ name: 'DNS A', error: false });
  });

  it('parses EDNS OPT records and their extended RCODE', () => {
    const opt = (extRcode: number) => rr([0], 41, [], (extRcode << 24) >>> 0, 4096);
    const { msg: m, ctx } = one(response('e.example', 1, [rr(QNAME_PTR, 1, [1, 1, 1, 1])], 1, RESP, { additional: [opt(0)] }));
    expect(m.attrs['spanwire.dns.rcode']).toBe('NOERROR');
    expect(m.attrs['dns.answers']).toEqual(['1.1.1.1']);
    expect(ctx.anomalies).toEqual([]);
    const q = one(msg({ flags: QUERY, questions: [['e.example', 1]], additional: [opt(0)] }), true).msg;
    expect(q.attrs['dns.question.name']).toBe('e.example');
    const badvers = one(response('e.example', 1, [], 1, RESP, { additional: [opt(1)] })).msg; // 1 << 4 = 16
    expect(badvers.attrs['spanwire.dns.rcode']).toBe('BADVERS');
  });

  it('marks truncated (TC) responses', () => {
    const m = one(response('big.example', 16, [], 1, RESP | 0x0200)).msg;
    expect(m.attrs['spanwire.dns.truncated']).toBe(true);
    expect(one(response('big.example', 16, [])).msg.attrs['spanwire.dns.truncated']).toBeUndefined();
  });

  it('caps dns.answers at 32', () => {
    const answers = Array.from({ length: 40 }, (_, i) => rr(QNAME_PTR, 1, [10, 0, 0, i]));
    const m = one(response('many.example', 1, answers)).msg;
    const a = m.attrs['dns.answers'] as string[];
    expect(a.length).toBe(32);
    expect(a[31]).toBe('10.0.0.31');
  });

  it('the root name is "."', () => {
    const m = one(query('', 2), true).msg;
    expect(m.attrs['dns.question.name']).toBe('.');
    expect(m.attrs['spanwire.dns.question.type']).toBe('NS');
  });
});

// ---- malformed names --------------------------------------------------------------------------
describe('dns malformed input', () => {
  it('a compression pointer loop is counted, and what is known is still emitted', () => {
    // 'loop.example' is 14 bytes at 12, then QTYPE/QCLASS: the answer's owner name at 30 points to itself.
    const m = response('loop.example', 1, [rr(ptr(30), 1, [1, 2, 3, 4])]);
    const { msg: out, ctx } = one(m);
    expect(ctx.anomalies).toEqual(['dns_pointer_loop']);
    expect(out.attrs['dns.question.name']).toBe('loop.example');
    expect(out.attrs['spanwire.dns.rcode']).toBe('NOERROR');
    expect((out.info as { malformed: boolean }).malformed).toBe(true);
  });

  it('a two-pointer loop inside RDATA is counted too', () => {
    // CNAME RDATA at 42: [ptr 44][ptr 42] -> 42 -> 44 -> 42 ...
    const m = response('loop.example', 5, [rr(QNAME_PTR, 5, [...ptr(44), ...ptr(42)])]);
    const { ctx } = one(m);
    expect(ctx.anomalies).toEqual(['dns_pointer_loop']);
  });

  it('an out-of-range pointer is counted, and the message is still emitted', () => {
    const m = response('far.example', 1, [rr(ptr(0x3fff), 1, [1, 2, 3, 4])]);
    const { msg: out, ctx } = one(m);
    expect(ctx.anomalies).toEqual(['dns_pointer_out_of_range']);
    expect(out.attrs['dns.question.name']).toBe('far.example');
    expect(out.attrs['spanwire.dns.rcode']).toBe('NOERROR');
  });

  it('a pointer into the header is out of range', () => {
    const { ctx } = one(response('h.example', 1, [rr(ptr(2), 1, [1, 2, 3, 4])]));
    expect(ctx.anomalies).toEqual(['dns_pointer_out_of_range']);
  });

  it('a record cut short keeps the answers before it', () => {
    const full = response('cut.example', 1, [rr(QNAME_PTR, 1, [1, 2, 3, 4]), rr(QNAME_PTR, 1, [5, 6, 7, 8])]);
    const { msg: out, ctx } = one(full.subarray(0, full.length - 2));
    expect(out.attrs['dns.answers']).toEqual(['1.2.3.4']);
    expect(ctx.anomalies).toEqual(['dns_record_truncated']);
  });

  it('a datagram shorter than a header is counted and consumed', () => {
    const ctx = udpContext();
    expect(ctx.feed(true, new Uint8Array(5))).toBe(5);
    expect(ctx.messages.length).toBe(0);
    expect(ctx.anomalies).toEqual(['dns_short_message']);
  });
});

// ---- TCP framing ------------------------------------------------------------------------------
describe('dns over TCP', () => {
  it('two messages in one segment', () => {
    const ctx = tcpContext();
    const seg = Uint8Array.from([...tcpFrame(query('a.example', 1, 1)), ...tcpFrame(query('a.example', 28, 2))]);
    expect(ctx.feed(true, seg, 5)).toBe(seg.length);
    expect(ctx.messages.map((m) => [m.sessionId, m.attrs['spanwire.dns.question.type'], m.startTs])).toEqual([
      [1, 'A', 5],
      [2, 'AAAA', 5],
    ]);
    expect(ctx.messages[0].size).toBe(2 + 12 + 11 + 4);
  });

  it('one message split across segments (byte by byte), then the rest of the next one', () => {
    const ctx = tcpContext();
    const r1 = tcpFrame(response('split.example', 1, [rr(QNAME_PTR, 1, [9, 9, 9, 9])], 3));
    const r2 = tcpFrame(response('split.example', 28, [], 4));
    const all = Uint8Array.from([...r1, ...r2]);
    const cut = r1.length + 5;
    for (let i = 0; i < cut; i++) ctx.feed(false, all.subarray(i, i + 1), i);
    expect(ctx.messages.map((m) => m.sessionId)).toEqual([3]);
    expect(ctx.messages[0].attrs['dns.answers']).toEqual(['9.9.9.9']);
    expect(ctx.messages[0].startTs).toBe(0);
    expect(ctx.messages[0].endTs).toBe(r1.length - 1);
    ctx.feed(false, all.subarray(cut), 1000);
    expect(ctx.messages.map((m) => m.sessionId)).toEqual([3, 4]);
    expect(ctx.messages[1].type).toBe(MSG_RESPONSE);
  });

  it('after a gap, skips bytes until a segment starts with a DNS message', () => {
    const ctx = tcpContext();
    const f = tcpFrame(query('gap.example', 1, 9));
    ctx.feed(true, f.subarray(0, 10));
    ctx.gap(true, 100);
    expect(ctx.feed(true, f.subarray(20))).toBe(f.length - 20); // tail of a lost message: skipped
    expect(ctx.messages.length).toBe(0);
    ctx.feed(true, f);
    expect(ctx.messages.map((m) => m.sessionId)).toEqual([9]);
  });

  it('an impossible length prefix is counted and resynchronised', () => {
    const ctx = tcpContext();
    ctx.feed(true, Uint8Array.from([0, 3, 1, 2, 3]));
    expect(ctx.anomalies).toEqual(['dns_tcp_bad_length']);
    ctx.feed(true, tcpFrame(query('again.example', 1, 10)));
    expect(ctx.messages.map((m) => m.sessionId)).toEqual([10]);
  });
});

describe('mDNS', () => {
  it('queries sent from port 5353 expect no response on the flow; answers without questions are responses', () => {
    const ctx = udpContext(5353, 5353);
    const q = one(query('printer.local', 1, 0), false, ctx).msg;
    expect(q.expectsResponse).toBe(false);
    const r = one(msg({ id: 0, flags: 0x8400, answers: [rr(name('printer.local'), 1, [192, 168, 1, 9], 120, 0x8001)] }), false, ctx).msg;
    expect(r.type).toBe(MSG_RESPONSE);
    expect(r.attrs['dns.answers']).toEqual(['192.168.1.9']);
    expect(r.attrs['dns.question.name']).toBeUndefined();
    expect(describeExchange(null, r)).toMatchObject({ name: 'DNS', error: false });
  });
});

// ---- fuzz -------------------------------------------------------------------------------------
describe('dns fuzz', () => {
  const seeds = [
    query('example.com', 1),
    response('example.com', 1, [rr(QNAME_PTR, 5, [3, 119, 119, 119, ...QNAME_PTR]), rr(QNAME_PTR, 1, [1, 2, 3, 4])]),
    response('example.com', 33, [rr(QNAME_PTR, 33, [0, 1, 0, 2, 0, 3, ...QNAME_PTR])], 1, RESP, { additional: [rr([0], 41, [], 0, 4096)] }),
  ];
  const probeAll = (b: Uint8Array) => {
    for (const transport of ['udp', 'tcp'] as const) for (const port of [53, 5353]) dnsParser.probe(b, 0, b.length, { transport, port, toServer: null });
  };

  it('random datagrams and byte streams never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (b, dir) => {
        probeAll(b);
        udpContext().feed(dir, b);
        const t = tcpContext();
        t.feed(dir, b);
        t.feed(dir, b);
      }),
      { numRuns: 2000 },
    );
  });

  it('mutated valid messages never throw, and a consumed datagram yields at most one message', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        (si, edits, cut) => {
          const b = Uint8Array.from(seeds[si]);
          for (const [at, v] of edits) b[at % b.length] = v;
          const d = b.subarray(0, b.length - (cut % 4));
          probeAll(d);
          const u = udpContext();
          expect(u.feed(false, d)).toBe(d.length);
          expect(u.messages.length).toBeLessThanOrEqual(1);
          const t = tcpContext();
          t.feed(false, tcpFrame(d));
        },
      ),
      { numRuns: 3000 },
    );
  });
});

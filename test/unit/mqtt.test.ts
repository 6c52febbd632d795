/**
 * MQTT parser tests. Packets are written here byte by byte from the OASIS specifications (MQTT
 * Version 3.1.1, section 3 "MQTT Control Packets"; MQTT Version 5.0, sections 2.2.2 properties, 2.4
 * reason codes, 3.x packets; MQTT 3.1 `MQIsdp`); expected values follow from the bytes written.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { L7Message, SpanDescription } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE, PROBE_MATCH, PROBE_NEED_MORE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE, SESSION_FIFO } from '../../core/l7/types.js';
import { SPAN_KIND_CLIENT, SPAN_KIND_CONSUMER, SPAN_KIND_PRODUCER } from '../../core/trace/span.js';
import { mqttParser } from '../../parsers/mqtt/index.js';
import { FakeContext } from '../helpers/fake-parser-context.js';

// ---- encoders, from the specification ----------------------------------------------------------------
/** Variable byte integer (3.1.1 section 2.2.3; 5.0 section 1.5.5). */
function vbi(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}
const u16 = (n: number) => [n >> 8, n & 0xff];
/** UTF-8 string / binary data: 2-byte length then bytes. */
const str = (s: string | Buffer) => {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return [...u16(b.length), ...b];
};
/** A fixed header (type << 4 | flags, remaining length) and the body. */
const pkt = (type: number, flags: number, body: number[]) => Buffer.from([(type << 4) | flags, ...vbi(body.length), ...body]);
/** v5 properties block: length then the properties. */
const props = (...p: number[][]) => {
  const flat = p.flat();
  return [...vbi(flat.length), ...flat];
};
const userProp = (k: string, v: string) => [0x26, ...str(k), ...str(v)];

function connect(o: { version?: 3 | 4 | 5; clientId: string; user?: string; password?: string; will?: [string, string]; cprops?: number[][]; clean?: boolean }): Buffer {
  const v = o.version ?? 4;
  let flags = o.clean === false ? 0 : 0x02;
  if (o.user !== undefined) flags |= 0x80;
  if (o.password !== undefined) flags |= 0x40;
  if (o.will) flags |= 0x04;
  const head = v === 3 ? [...str('MQIsdp'), 3] : [...str('MQTT'), v];
  const body = [...head, flags, ...u16(60)];
  if (v === 5) body.push(...props(...(o.cprops ?? [])));
  body.push(...str(o.clientId));
  if (o.will) {
    if (v === 5) body.push(...props());
    body.push(...str(o.will[0]), ...str(o.will[1]));
  }
  if (o.user !== undefined) body.push(...str(o.user));
  if (o.password !== undefined) body.push(...str(o.password));
  return pkt(1, 0, body);
}
const connack = (code: number, v5 = false, p: number[][] = [], sp = 0) => pkt(2, 0, [sp, code, ...(v5 ? props(...p) : [])]);
function publish(topic: string, payload: Buffer | string, o: { qos?: number; pid?: number; v5?: boolean; p?: number[][]; dup?: boolean; retain?: boolean } = {}): Buffer {
  const qos = o.qos ?? 0;
  const head = [...str(topic)];
  if (qos > 0) head.push(...u16(o.pid ?? 1));
  if (o.v5) head.push(...props(...(o.p ?? [])));
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const first = (o.dup ? 8 : 0) | (qos << 1) | (o.retain ? 1 : 0) | (3 << 4);
  return Buffer.concat([Buffer.from([first, ...vbi(head.length + body.length), ...head]), body]);
}
/** PUBACK 4, PUBREC 5, PUBREL 6 (flags 2), PUBCOMP 7; v5 reason code and properties when given. */
const ackPkt = (type: number, pid: number, code?: number, p?: number[][]) =>
  pkt(type, type === 6 ? 2 : 0, [...u16(pid), ...(code !== undefined ? [code] : []), ...(p ? props(...p) : [])]);
const subscribe = (pid: number, filters: [string, number][], v5 = false) =>
  pkt(8, 2, [...u16(pid), ...(v5 ? props() : []), ...filters.flatMap(([f, q]) => [...str(f), q])]);
const suback = (pid: number, codes: number[], v5 = false, p: number[][] = []) => pkt(9, 0, [...u16(pid), ...(v5 ? props(...p) : []), ...codes]);
const unsubscribe = (pid: number, filters: string[], v5 = false) => pkt(10, 2, [...u16(pid), ...(v5 ? props() : []), ...filters.flatMap((f) => str(f))]);
const unsuback = (pid: number, codes: number[] | null) => pkt(11, 0, [...u16(pid), ...(codes ? [...props(), ...codes] : [])]);
const PINGREQ = Buffer.from([0xc0, 0x00]);
const PINGRESP = Buffer.from([0xd0, 0x00]);
const disconnect = (code?: number, p?: number[][]) => pkt(14, 0, code === undefined ? [] : [code, ...(p ? props(...p) : [])]);
const auth = (code: number, method: string) => pkt(15, 0, [code, ...props([0x15, ...str(method)])]);
const cat = (...b: Buffer[]) => Buffer.concat(b);

const C = true;
const B = false;
const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function session(): FakeContext {
  const c = new FakeContext(mqttParser);
  (c.flow as { portB: number }).portB = 1883;
  return c;
}
const reqs = (c: FakeContext) => c.messages.filter((m) => m.type === MSG_REQUEST);
const resps = (c: FakeContext) => c.messages.filter((m) => m.type === MSG_RESPONSE);

function describeOf(req: L7Message | null, resp: L7Message | null): SpanDescription {
  const out: SpanDescription = { name: '', error: false, errorType: '', message: '', kind: 0 };
  mqttParser.describeSpan(req, resp, SPAN_KIND_CLIENT, out);
  return out;
}
/** Pairs messages the way core/session does (FIFO or by id) and describes each exchange. */
function spans(c: FakeContext): (SpanDescription & { req: L7Message | null; resp: L7Message | null })[] {
  const out: (SpanDescription & { req: L7Message | null; resp: L7Message | null })[] = [];
  const fifo: L7Message[] = [];
  const byId = new Map<number, L7Message>();
  const done = new Set<L7Message>();
  for (const m of c.messages) {
    if (m.type === MSG_REQUEST) {
      if (!m.expectsResponse) out.push({ ...describeOf(m, null), req: m, resp: null });
      else if (m.sessionId === SESSION_FIFO) fifo.push(m);
      else byId.set(m.sessionId, m);
    } else {
      const q = m.sessionId === SESSION_FIFO ? fifo.shift() : byId.get(m.sessionId);
      if (m.sessionId !== SESSION_FIFO) byId.delete(m.sessionId);
      if (q) done.add(q);
      out.push({ ...describeOf(q ?? null, m), req: q ?? null, resp: m });
    }
  }
  return out;
}

// ---- probe -----------------------------------------------------------------------------------------
describe('mqtt probe', () => {
  const hint = (port: number, toServer: boolean | null = null) => ({ transport: 'tcp' as const, port, toServer });
  const probe = (b: Buffer, port = 1883, toServer: boolean | null = null) => mqttParser.probe(b, 0, b.length, hint(port, toServer));

  it('a CONNECT (3.1, 3.1.1, 5.0) on any port is a request; its prefix needs more bytes', () => {
    expect(probe(connect({ clientId: 'a' }), 5000)).toBe(PROBE_REQUEST);
    expect(probe(connect({ clientId: 'a', version: 3 }), 5000)).toBe(PROBE_REQUEST);
    expect(probe(connect({ clientId: 'a', version: 5 }), 5000)).toBe(PROBE_REQUEST);
    expect(probe(connect({ clientId: 'a' }).subarray(0, 5), 5000)).toBe(PROBE_NEED_MORE);
    expect(probe(Buffer.from([0x10]), 5000)).toBe(PROBE_NEED_MORE);
  });

  it('mid-connection on the MQTT ports: direction from the packet types; PUBLISH/acks go both ways', () => {
    expect(probe(subscribe(1, [['a/#', 1]]))).toBe(PROBE_REQUEST);
    expect(probe(suback(1, [1]))).toBe(PROBE_RESPONSE);
    expect(probe(PINGRESP)).toBe(PROBE_RESPONSE);
    expect(probe(cat(publish('t', 'x', { qos: 1, pid: 2 }), publish('u', 'y')))).toBe(PROBE_MATCH);
    expect(probe(ackPkt(4, 9))).toBe(PROBE_MATCH);
    // A large PUBLISH whose first segment holds the topic.
    expect(probe(publish('big/topic', Buffer.alloc(40000)).subarray(0, 1448))).toBe(PROBE_MATCH);
  });

  it('rejects other protocols and malformed packets', () => {
    expect(probe(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toBe(PROBE_NO);
    expect(probe(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]), 8883)).toBe(PROBE_NO); // TLS ClientHello
    expect(probe(Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x41, 0x4d, 0x51, 0x50, 0x04, 0x02, 0, 60, 0, 0]), 5000)).toBe(PROBE_NO); // not "MQTT"
    expect(probe(Buffer.from([0xc0, 0x01, 0x00]))).toBe(PROBE_NO); // PINGREQ with a body
    expect(probe(Buffer.from([0x62, 0x02, 0x00, 0x01]))).toBe(PROBE_MATCH); // PUBREL with its required flags
    expect(probe(Buffer.from([0x60, 0x02, 0x00, 0x01]))).toBe(PROBE_NO); // PUBREL flags must be 0010
    expect(probe(Buffer.from([0x36, 0x03, 0x00, 0x01, 0x61]))).toBe(PROBE_NO); // QoS 3
    expect(probe(suback(1, [1]), 5000)).toBe(PROBE_NO); // off the MQTT ports only CONNECT, PUBLISH, (UN)SUBSCRIBE
    expect(probe(subscribe(1, [['a/#', 1]]), 5000)).toBe(PROBE_REQUEST);
    expect(probe(subscribe(1, [['a/#', 1]]), 1883, false)).toBe(PROBE_NO); // a client packet from the server
  });
});

// ---- session ---------------------------------------------------------------------------------------
describe('mqtt session: connect', () => {
  it('3.1.1 CONNECT/CONNACK: client id, version, clean session; the user name, password and will are never read', () => {
    const c = session();
    c.feed(C, connect({ clientId: 'sensor-7', user: 'alice', password: 'hunter2-secret', will: ['will/topic', 'will-body'] }), 1000);
    c.feed(B, connack(0, false, [], 1), 5000);
    const [q, r] = c.messages;
    expect(q.type).toBe(MSG_REQUEST);
    expect(q.sessionId).toBe(SESSION_FIFO);
    expect(q.attrs).toEqual({
      'messaging.system': 'mqtt',
      'messaging.operation.name': 'connect',
      'messaging.client.id': 'sensor-7',
      'spanwire.mqtt.version': '3.1.1',
      'spanwire.mqtt.clean_session': true,
    });
    expect(r.attrs).toEqual({ 'spanwire.mqtt.reason_code': 0, 'spanwire.mqtt.session_present': true });
    expect([q.startTs, r.endTs]).toEqual([1000, 5000]);
    const text = JSON.stringify(c.messages);
    for (const secret of ['alice', 'hunter2', 'will/topic', 'will-body']) expect(text).not.toContain(secret);
    expect(spans(c).map((s) => [s.name, s.error])).toEqual([['connect', false]]);
  });

  it('3.1 (MQIsdp) refused with return code 5: an error span not_authorized', () => {
    const c = session();
    c.feed(C, connect({ version: 3, clientId: 'old', password: 'pw' }));
    c.feed(B, connack(5));
    expect(c.messages[0].attrs['spanwire.mqtt.version']).toBe('3.1');
    const [s] = spans(c);
    expect([s.name, s.error, s.errorType]).toEqual(['connect', true, 'not_authorized']);
    expect(c.messages[1].attrs['spanwire.mqtt.reason_code']).toBe(5);
  });

  it('3.1.1 return code 4 is bad_user_name_or_password', () => {
    const c = session();
    c.feed(C, connect({ clientId: 'x', user: 'u', password: 'p' }));
    c.feed(B, connack(4));
    expect(spans(c)[0].errorType).toBe('bad_user_name_or_password');
  });

  it('5.0: CONNECT properties with a traceparent user property; CONNACK 0x87 with a reason string', () => {
    const c = session();
    c.feed(C, connect({ version: 5, clientId: 'v5', cprops: [[0x11, 0, 0, 0, 60], userProp('traceparent', TP)] }));
    c.feed(B, connack(0x87, true, [[0x1f, ...str('denied by ACL')]]));
    expect(c.messages[0].attrs['spanwire.mqtt.version']).toBe('5.0');
    expect(c.messages[0].trace?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    const [s] = spans(c);
    expect([s.error, s.errorType, s.message]).toEqual([true, 'not_authorized', 'denied by ACL']);
  });

  it('5.0: an empty client id gets the broker-assigned one (CONNACK property 0x12) on later spans', () => {
    const c = session();
    c.feed(C, connect({ version: 5, clientId: '' }));
    c.feed(B, connack(0, true, [[0x12, ...str('auto-1234')]]));
    c.feed(C, PINGREQ);
    expect(c.messages[0].attrs['messaging.client.id']).toBeUndefined();
    expect(c.messages[1].attrs['messaging.client.id']).toBe('auto-1234');
    expect(c.messages[2].attrs['messaging.client.id']).toBe('auto-1234');
  });

  it('5.0 enhanced authentication: AUTH packets inside the handshake belong to connect; re-authentication is its own exchange', () => {
    const c = session();
    c.feed(C, connect({ version: 5, clientId: 'a' }));
    c.feed(B, auth(0x18, 'SCRAM-SHA-1'));
    c.feed(C, auth(0x18, 'SCRAM-SHA-1'));
    c.feed(B, connack(0, true));
    c.feed(C, auth(0x19, 'SCRAM-SHA-1'));
    c.feed(B, auth(0x00, 'SCRAM-SHA-1'));
    expect(spans(c).map((s) => [s.name, s.error])).toEqual([
      ['connect', false],
      ['auth', false],
    ]);
  });
});

describe('mqtt session: publish', () => {
  function connected(v5 = false): FakeContext {
    const c = session();
    c.feed(C, connect({ version: v5 ? 5 : 4, clientId: 'pub' }));
    c.feed(B, connack(0, v5));
    c.messages.length = 0;
    return c;
  }

  it('QoS 0 is one-way: a PRODUCER span at once, no response expected', () => {
    const c = connected();
    c.feed(C, publish('sensors/t1', '21.5'));
    const [m] = c.messages;
    expect(m.expectsResponse).toBe(false);
    expect(m.attrs).toMatchObject({
      'messaging.operation.name': 'publish',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'sensors/t1',
      'messaging.client.id': 'pub',
      'spanwire.mqtt.qos': 0,
      'messaging.message.body.size': 4,
    });
    const d = describeOf(m, null);
    expect([d.name, d.kind]).toEqual(['publish sensors/t1', SPAN_KIND_PRODUCER]);
  });

  it('QoS 1: PUBLISH and PUBACK pair by packet id', () => {
    const c = connected();
    c.feed(C, publish('a', 'x', { qos: 1, pid: 10 }), 100);
    c.feed(C, publish('b', 'y', { qos: 1, pid: 11 }), 200);
    c.feed(B, ackPkt(4, 11), 300);
    c.feed(B, ackPkt(4, 10), 400);
    const s = spans(c);
    expect(s.map((x) => [x.name, x.req?.startTs, x.resp?.endTs])).toEqual([
      ['publish b', 200, 300],
      ['publish a', 100, 400],
    ]);
    expect(c.messages[0].attrs['spanwire.mqtt.packet_id']).toBe(10);
  });

  it('QoS 2: one exchange from PUBLISH to PUBCOMP (the whole PUBREC/PUBREL/PUBCOMP handshake)', () => {
    const c = connected();
    c.feed(C, publish('q2', 'x', { qos: 2, pid: 7 }), 100);
    c.feed(B, ackPkt(5, 7), 200);
    expect(resps(c)).toEqual([]); // PUBREC alone does not end it
    c.feed(C, ackPkt(6, 7), 300);
    c.feed(B, ackPkt(7, 7), 400);
    const [s] = spans(c);
    expect([s.name, s.req!.startTs, s.resp!.startTs, s.resp!.endTs, s.resp!.size]).toEqual(['publish q2', 100, 200, 400, 8]);
    expect(s.kind).toBe(SPAN_KIND_PRODUCER);
  });

  it('QoS 2 refused at PUBREC (5.0 reason 0x97) ends there as an error', () => {
    const c = connected(true);
    c.feed(C, publish('q2', 'x', { qos: 2, pid: 7, v5: true }));
    c.feed(B, ackPkt(5, 7, 0x97));
    const [s] = spans(c);
    expect([s.error, s.errorType]).toEqual([true, 'quota_exceeded']);
    expect(s.resp!.attrs['spanwire.mqtt.reason_code']).toBe(0x97);
  });

  it('5.0 PUBACK 0x10 (no matching subscribers) is a success; 0x87 is an error', () => {
    const c = connected(true);
    c.feed(C, publish('a', 'x', { qos: 1, pid: 1, v5: true }));
    c.feed(B, ackPkt(4, 1, 0x10));
    c.feed(C, publish('b', 'x', { qos: 1, pid: 2, v5: true }));
    c.feed(B, ackPkt(4, 2, 0x87, [[0x1f, ...str('no permission')]]));
    expect(spans(c).map((s) => [s.name, s.error, s.errorType, s.message])).toEqual([
      ['publish a', false, '', ''],
      ['publish b', true, 'not_authorized', 'no permission'],
    ]);
  });

  it('a broker PUBLISH is a delivery: CONSUMER span `process {topic}`, acknowledged by the client', () => {
    const c = connected();
    c.feed(B, publish('news', 'hello', { qos: 1, pid: 1 }), 100);
    c.feed(C, ackPkt(4, 1), 200);
    c.feed(B, publish('news', 'q2', { qos: 2, pid: 2 }), 300);
    c.feed(C, ackPkt(5, 2), 400);
    c.feed(B, ackPkt(6, 2), 500);
    c.feed(C, ackPkt(7, 2), 600);
    c.feed(B, publish('news', 'q0'), 700);
    const s = spans(c);
    expect(s.map((x) => [x.name, x.kind, x.req?.startTs, x.resp?.endTs ?? null])).toEqual([
      ['process news', SPAN_KIND_CONSUMER, 100, 200],
      ['process news', SPAN_KIND_CONSUMER, 300, 600],
      ['process news', SPAN_KIND_CONSUMER, 700, null],
    ]);
    expect(s[0].req!.attrs['messaging.operation.type']).toBe('process');
  });

  it('packet ids never collide: client publish 1, broker delivery 1, subscribe 1, unsubscribe 1', () => {
    const c = connected();
    c.feed(C, publish('a', 'x', { qos: 1, pid: 1 }));
    c.feed(B, publish('b', 'x', { qos: 1, pid: 1 }));
    c.feed(C, subscribe(1, [['s', 0]]));
    c.feed(C, unsubscribe(1, ['s']));
    const ids = reqs(c).map((m) => m.sessionId);
    expect(new Set(ids).size).toBe(4);
    c.feed(C, ackPkt(4, 1)); // the client acknowledges the delivery
    c.feed(B, ackPkt(4, 1)); // the broker acknowledges the publish
    c.feed(B, suback(1, [0]));
    c.feed(B, unsuback(1, null));
    expect(spans(c).map((s) => s.name)).toEqual(['process b', 'publish a', 'subscribe s', 'unsubscribe s']);
  });

  it('a retransmitted PUBLISH (DUP) of one still in flight is the same exchange', () => {
    const c = connected();
    c.feed(C, publish('a', 'x', { qos: 1, pid: 3 }));
    c.feed(C, publish('a', 'x', { qos: 1, pid: 3, dup: true }));
    c.feed(B, ackPkt(4, 3));
    expect(reqs(c).length).toBe(1);
    expect(c.anomalies).toContain('mqtt_publish_retransmitted');
  });

  it('5.0 user property traceparent gives the trace context; topic aliases resolve per direction', () => {
    const c = connected(true);
    c.feed(C, publish('orders/eu', '{}', { v5: true, p: [[0x23, 0, 5], userProp('traceparent', TP)] }));
    c.feed(C, publish('', '{}', { v5: true, p: [[0x23, 0, 5]] }));
    c.feed(B, publish('', '{}', { v5: true, p: [[0x23, 0, 5]] })); // the broker never set alias 5
    const [a, b, d] = reqs(c);
    expect(a.trace).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', source: 'traceparent' });
    expect(a.attrs['messaging.message.body.size']).toBe(2);
    expect(b.attrs['messaging.destination.name']).toBe('orders/eu');
    expect(b.trace).toBeNull();
    expect(d.attrs['messaging.destination.name']).toBeUndefined();
    expect(c.anomalies).toContain('mqtt_unknown_topic_alias');
  });

  it('ten publishes in one segment, and their acknowledgements in another', () => {
    const c = connected();
    const pubs = Array.from({ length: 10 }, (_, i) => publish(`hello/${i}/world`, `m${i}`, { qos: 1, pid: i + 2 }));
    c.feed(C, cat(...pubs));
    c.feed(B, cat(...Array.from({ length: 10 }, (_, i) => ackPkt(4, i + 2))));
    expect(spans(c).map((s) => s.name)).toEqual(Array.from({ length: 10 }, (_, i) => `publish hello/${i}/world`));
  });

  it('a 1 MiB payload streams through: never held whole, one message ending at its last byte', () => {
    const c = connected();
    const big = publish('blob', Buffer.alloc(1 << 20, 0x61), { qos: 1, pid: 4 });
    let held = 0;
    for (let i = 0, ts = 1; i < big.length; i += 1448, ts++) {
      const chunk = big.subarray(i, i + 1448);
      const n = c.feed(C, chunk, ts);
      held = Math.max(held, chunk.length - n);
    }
    expect(held).toBe(0); // the header and topic fit in the first segment
    const [m] = reqs(c);
    expect(m.attrs['messaging.message.body.size']).toBe(1 << 20);
    expect(m.size).toBe(big.length);
    expect(m.endTs).toBe(Math.ceil(big.length / 1448));
  });
});

describe('mqtt session: subscribe, unsubscribe, ping, disconnect', () => {
  it('SUBSCRIBE with several filters: topic_filters, granted QoS per filter; a 0x80 failure is an error', () => {
    const c = session();
    c.feed(C, connect({ clientId: 's' }));
    c.feed(B, connack(0));
    c.feed(C, subscribe(5, [['a/+', 1], ['b/#', 2], ['$SYS/x', 0]]));
    c.feed(B, suback(5, [1, 2, 0x80]));
    const s = spans(c)[1];
    expect([s.name, s.error, s.errorType]).toEqual(['subscribe', true, 'failure']);
    expect(s.req!.attrs['spanwire.mqtt.topic_filters']).toEqual(['a/+', 'b/#', '$SYS/x']);
    expect(s.req!.attrs['spanwire.mqtt.qos']).toBe(2);
    expect(s.resp!.attrs['spanwire.mqtt.reason_codes']).toEqual([1, 2, 0x80]);
    expect(s.resp!.attrs['spanwire.mqtt.reason_code']).toBe(0x80);
  });

  it('5.0 SUBACK and UNSUBACK reason codes', () => {
    const c = session();
    c.feed(C, connect({ version: 5, clientId: 's' }));
    c.feed(B, connack(0, true));
    c.feed(C, subscribe(1, [['x', 1]], true));
    c.feed(B, suback(1, [0x87], true, [[0x1f, ...str('acl')]]));
    c.feed(C, unsubscribe(2, ['x'], true));
    c.feed(B, unsuback(2, [0x11]));
    expect(spans(c).slice(1).map((s) => [s.name, s.error, s.errorType, s.message])).toEqual([
      ['subscribe x', true, 'not_authorized', 'acl'],
      ['unsubscribe x', false, '', ''],
    ]);
  });

  it('PINGREQ/PINGRESP pair in order; DISCONNECT is one-way; a 5.0 broker DISCONNECT 0x8E is an error', () => {
    const c = session();
    c.feed(C, connect({ version: 5, clientId: 'p' }));
    c.feed(B, connack(0, true));
    c.feed(C, PINGREQ, 10);
    c.feed(B, PINGRESP, 20);
    c.feed(B, disconnect(0x8e, [[0x1f, ...str('taken over')]]), 30);
    c.feed(C, disconnect(0x00), 40);
    expect(spans(c).slice(1).map((s) => [s.name, s.error, s.errorType, s.message])).toEqual([
      ['ping', false, '', ''],
      ['disconnect', true, 'session_taken_over', 'taken over'],
      ['disconnect', false, '', ''],
    ]);
  });

  it('mid-connection without CONNECT: the 5.0 layout is learned from a SUBSCRIBE with properties', () => {
    const c = session();
    c.feed(C, subscribe(9, [['a', 1]], true));
    c.feed(B, suback(9, [1], true));
    const s = spans(c)[0];
    expect([s.name, s.error]).toEqual(['subscribe a', false]);
    expect(s.req!.attrs['spanwire.mqtt.version']).toBe('5.0');
  });
});

// ---- streaming, gaps, split points, fuzz -----------------------------------------------------------
/** A conversation of every packet type, 3.1.1 then 5.0 (two sessions), with the direction of each. */
function conversation(v5: boolean): [boolean, Buffer][] {
  const o = { v5 };
  return [
    [C, connect({ version: v5 ? 5 : 4, clientId: 'split', user: 'u', password: 'secret' })],
    [B, connack(0, v5)],
    [C, cat(subscribe(1, [['t/#', 2]], v5), publish('t/a', 'zero', o), publish('t/b', Buffer.alloc(3000, 1), { ...o, qos: 1, pid: 2 }))],
    [B, cat(suback(1, [2], v5), ackPkt(4, 2), publish('t/a', 'deliver', { ...o, qos: 2, pid: 1 }))],
    [C, cat(ackPkt(5, 1), publish('t/c', 'two', { ...o, qos: 2, pid: 3, p: v5 ? [userProp('traceparent', TP)] : [] }))],
    [B, cat(ackPkt(6, 1), ackPkt(5, 3))],
    [C, cat(ackPkt(7, 1), ackPkt(6, 3), PINGREQ)],
    [B, cat(ackPkt(7, 3), PINGRESP)],
    [C, cat(unsubscribe(4, ['t/#'], v5), disconnect())],
    [B, unsuback(4, v5 ? [0] : null)],
  ];
}
const view = (c: FakeContext) =>
  c.messages.map((m) => [m.type, m.sessionId, m.size, m.expectsResponse, JSON.stringify(m.attrs), JSON.stringify(m.info), m.trace?.traceId ?? '']);

describe('mqtt streaming', () => {
  for (const v5 of [false, true]) {
    it(`${v5 ? '5.0' : '3.1.1'}: the same messages for one pass, 1-byte pieces and every split of every segment`, () => {
      const conv = conversation(v5);
      const whole = session();
      for (const [dir, b] of conv) whole.feed(dir, b);
      const expected = view(whole);
      expect(spans(whole).map((s) => s.name)).toEqual([
        'connect', 'publish t/a', 'subscribe t/#', 'publish t/b', 'process t/a', 'publish t/c', 'ping', 'disconnect', 'unsubscribe t/#',
      ]);
      expect(whole.anomalies).toEqual([]);
      const bytes = session();
      for (const [dir, b] of conv) for (let i = 0; i < b.length; i++) bytes.feed(dir, b.subarray(i, i + 1));
      expect(view(bytes)).toEqual(expected);
      for (let k = 0; k < conv.length; k++) {
        const seg = conv[k][1];
        for (let cut = 1; cut < seg.length; cut += seg.length > 400 ? 37 : 1) {
          const c = session();
          conv.forEach(([dir, b], j) => {
            if (j !== k) c.feed(dir, b);
            else {
              c.feed(dir, b.subarray(0, cut));
              c.feed(dir, b.subarray(cut));
            }
          });
          expect(view(c), `segment ${k} cut at ${cut}`).toEqual(expected);
        }
      }
    });
  }

  it('a gap inside a payload keeps the stream in step; a gap at a packet start resynchronises', () => {
    const c = session();
    c.feed(C, connect({ clientId: 'g' }));
    c.feed(B, connack(0));
    const big = publish('big', Buffer.alloc(5000, 2), { qos: 1, pid: 1 });
    c.feed(C, big.subarray(0, 1000));
    c.gap(C, 2000);
    c.feed(C, cat(big.subarray(3000), publish('after', 'x', { qos: 1, pid: 2 })));
    c.feed(B, cat(ackPkt(4, 1), ackPkt(4, 2)));
    expect(spans(c).map((s) => [s.name, s.error])).toEqual([
      ['connect', false],
      ['publish big', false],
      ['publish after', false],
    ]);
    // Lost from the middle of one packet into the next: the next segment starts with whole packets.
    c.feed(C, publish('lost', Buffer.alloc(3000), { qos: 1, pid: 3 }).subarray(0, 500));
    c.gap(C, 4000);
    c.feed(C, cat(subscribe(4, [['z', 0]]), PINGREQ));
    c.feed(B, cat(suback(4, [0]), PINGRESP));
    // The publish cut by the loss is still a request (its PUBACK never comes).
    expect(reqs(c).slice(3).map((m) => m.attrs['messaging.destination.name'] ?? m.attrs['messaging.operation.name'])).toEqual(['lost', 'z', 'ping']);
    expect(spans(c).map((s) => s.name).slice(3)).toEqual(['subscribe z', 'ping']);
    expect(reqs(c).find((m) => m.attrs['messaging.destination.name'] === 'z')!.afterGap).toBe(true);
  });

  it('the end of the capture inside a payload emits the publish; a QoS 2 answered by PUBREC only ends at PUBREC', () => {
    const c = session();
    c.feed(C, publish('q2', 'x', { qos: 2, pid: 1 }), 10);
    c.feed(B, ackPkt(5, 1), 20);
    c.feed(C, publish('cut', Buffer.alloc(9000), { qos: 0 }).subarray(0, 3000), 30);
    c.end(C, 40);
    c.end(B, 50);
    const s = spans(c);
    expect(s.map((x) => [x.name, x.resp?.endTs ?? null])).toEqual([
      ['publish cut', null],
      ['publish q2', 20],
    ]);
  });

  it('fuzz: random bytes and mutated conversations never throw, never over-consume', () => {
    const base = conversation(true).concat(conversation(false));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 200 })), { maxLength: 20 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 30 }),
        (random, mutations) => {
          const c = session();
          for (const [dir, b] of random) {
            c.feed(dir, b);
            mqttParser.probe(b, 0, b.length, { transport: 'tcp', port: 1883, toServer: null });
          }
          const m = session();
          for (const [dir, b] of base) {
            const x = Buffer.from(b);
            for (const [pos, v] of mutations) if (x.length > 0) x[pos % x.length] = v;
            m.feed(dir, x); // FakeContext fails if more than offered is consumed
            mqttParser.probe(x, 0, x.length, { transport: 'tcp', port: 5000, toServer: null });
          }
          m.end(true);
          m.end(false);
          for (const s of spans(m)) expect(typeof s.name).toBe('string');
        },
      ),
      { numRuns: 400 },
    );
  });
});

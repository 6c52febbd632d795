/**
 * Dubbo parser tests. No Dubbo server or client runs here (no Java), so every byte vector below is
 * written from the specifications, labelled as such:
 * - the Dubbo 2 wire format as Apache Dubbo defines it (ExchangeCodec: 16-byte header, magic 0xdabb,
 *   flags 0x80 request / 0x40 two-way / 0x20 event / low 5 bits serialization id, status byte,
 *   8-byte request id, 4-byte body length; DubboCodec: request body = Dubbo version, service path,
 *   service version, method, parameter types descriptor, arguments, attachments; response body =
 *   type byte RESPONSE_* then value / exception / attachments, or the error message when the status
 *   is not OK; Response status codes 20..100; serialization ids 2 hessian2, 8 kryo...);
 * - Hessian 2.0 serialization (http://hessian.caucho.com/doc/hessian-serialization.html), encoded by
 *   the small writer `H` below, written from that document's grammar;
 * - Kryo's `Output.writeString` (ASCII with the last byte's high bit set) for the kryo call.
 * Expected values follow from the bytes written, never from the parser's output.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { L7Message, SpanDescription } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE, PROBE_MATCH, PROBE_NEED_MORE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE } from '../../core/l7/types.js';
import { SPAN_KIND_CLIENT, SPAN_KIND_SERVER } from '../../core/trace/span.js';
import { dubboParser } from '../../parsers/dubbo/index.js';
import { FakeContext } from '../helpers/fake-parser-context.js';

// ---- Hessian 2.0 writer (from the specification's grammar) -------------------------------------------

const B = (...bytes: number[]) => Buffer.from(bytes);
const cat = (...parts: Buffer[]) => Buffer.concat(parts);

/** A tag byte followed by `n` bytes that `write` fills (at offset 1). */
function tagged(tag: number, n: number, write: (b: Buffer) => void): Buffer {
  const b = Buffer.alloc(1 + n);
  b[0] = tag;
  write(b);
  return b;
}

/** Java's String.length(): UTF-16 code units. */
const units = (s: string) => s.length;

const H = {
  /** string: x00-x1f (0-31 chars), x30-x33 (0-1023), 'S' b1 b0 (final chunk). */
  str(s: string): Buffer {
    const data = Buffer.from(s, 'utf8');
    const n = units(s);
    if (n <= 31) return cat(B(n), data);
    if (n <= 1023) return cat(B(0x30 + (n >> 8), n & 0xff), data);
    return cat(B(0x53, n >> 8, n & 0xff), data);
  },
  /** string split into 'R' non-final chunks of `size` chars, then a final 'S' chunk. */
  chunked(s: string, size: number): Buffer {
    const parts: Buffer[] = [];
    let i = 0;
    while (s.length - i > size) {
      parts.push(B(0x52, size >> 8, size & 0xff), Buffer.from(s.slice(i, i + size), 'utf8'));
      i += size;
    }
    const rest = s.slice(i);
    parts.push(B(0x53, rest.length >> 8, rest.length & 0xff), Buffer.from(rest, 'utf8'));
    return cat(...parts);
  },
  /** int: x80-xbf (-16..47), xc0-xcf (two octets), xd0-xd7 (three octets), 'I' b3..b0. */
  int(n: number): Buffer {
    if (n >= -16 && n <= 47) return B(0x90 + n);
    if (n >= -2048 && n <= 2047) return B(0xc8 + (n >> 8), n & 0xff);
    if (n >= -262144 && n <= 262143) return B(0xd4 + (n >> 16), (n >> 8) & 0xff, n & 0xff);
    return tagged(0x49, 4, (b) => b.writeInt32BE(n, 1));
  },
  /** long: xd8-xef (-8..15), xf0-xff (two octets), x38-x3f (three octets), 'Y' (32 bits), 'L' (64 bits). */
  long(n: bigint): Buffer {
    const v = Number(n);
    if (v >= -8 && v <= 15) return B(0xe0 + v);
    if (v >= -2048 && v <= 2047) return B(0xf8 + (v >> 8), v & 0xff);
    if (v >= -262144 && v <= 262143) return B(0x3c + (v >> 16), (v >> 8) & 0xff, v & 0xff);
    if (v >= -(2 ** 31) && v < 2 ** 31) return tagged(0x59, 4, (b) => b.writeInt32BE(v, 1));
    return tagged(0x4c, 8, (b) => b.writeBigInt64BE(n, 1));
  },
  /** double: x5b 0.0, x5c 1.0, x5d byte, x5e short, x5f float, 'D' 64 bits. */
  double(d: number): Buffer {
    if (d === 0) return B(0x5b);
    if (d === 1) return B(0x5c);
    if (Number.isInteger(d) && d >= -128 && d <= 127) return B(0x5d, d & 0xff);
    if (Number.isInteger(d) && d >= -32768 && d <= 32767) return B(0x5e, (d >> 8) & 0xff, d & 0xff);
    if (Math.fround(d) === d) return tagged(0x5f, 4, (b) => b.writeFloatBE(d, 1));
    return tagged(0x44, 8, (b) => b.writeDoubleBE(d, 1));
  },
  /** date: x4a (64-bit milliseconds), x4b (32-bit minutes). */
  dateMs: (ms: bigint) => tagged(0x4a, 8, (b) => b.writeBigInt64BE(ms, 1)),
  dateMin: (min: number) => tagged(0x4b, 4, (b) => b.writeInt32BE(min, 1)),
  /** binary: x20-x2f (0-15), x34-x37 (0-1023), 'A' b1 b0 non-final chunks then 'B' b1 b0. */
  bin(data: Buffer): Buffer {
    const n = data.length;
    if (n <= 15) return cat(B(0x20 + n), data);
    if (n <= 1023) return cat(B(0x34 + (n >> 8), n & 0xff), data);
    const parts: Buffer[] = [];
    let i = 0;
    while (n - i > 0xffff) {
      parts.push(B(0x41, 0xff, 0xff), data.subarray(i, i + 0xffff));
      i += 0xffff;
    }
    const r = n - i;
    parts.push(B(0x42, r >> 8, r & 0xff), data.subarray(i));
    return cat(...parts);
  },
  null: () => B(0x4e),
  bool: (v: boolean) => B(v ? 0x54 : 0x46),
  /** untyped map 'H' (key value)* 'Z'. */
  map(entries: [Buffer, Buffer][]): Buffer {
    return cat(B(0x48), ...entries.flat(), B(0x5a));
  },
  /** typed map 'M' type (key value)* 'Z'. */
  typedMap(type: string, entries: [Buffer, Buffer][]): Buffer {
    return cat(B(0x4d), H.str(type), ...entries.flat(), B(0x5a));
  },
  /** fixed untyped list: x78-x7f (0-7 values) or 'X' int. */
  list(values: Buffer[]): Buffer {
    return values.length <= 7 ? cat(B(0x78 + values.length), ...values) : cat(B(0x58), H.int(values.length), ...values);
  },
  /** variable-length typed list 'U' type value* 'Z'; untyped 'W' value* 'Z'. */
  varList(type: string | null, values: Buffer[]): Buffer {
    return type === null ? cat(B(0x57), ...values, B(0x5a)) : cat(B(0x55), H.str(type), ...values, B(0x5a));
  },
  /** fixed typed list: x70-x77 type (0-7 values) or 'V' type int. */
  typedList(type: Buffer, values: Buffer[]): Buffer {
    return values.length <= 7 ? cat(B(0x70 + values.length), type, ...values) : cat(B(0x56), type, H.int(values.length), ...values);
  },
  /** class definition 'C' string int string*. */
  classDef(name: string, fields: string[]): Buffer {
    return cat(B(0x43), H.str(name), H.int(fields.length), ...fields.map(H.str));
  },
  /** object instance: x60-x6f (class ref 0-15) or 'O' int, then the field values. */
  object(ref: number, values: Buffer[]): Buffer {
    return ref <= 15 ? cat(B(0x60 + ref), ...values) : cat(B(0x4f), H.int(ref), ...values);
  },
  /** reference to an earlier map/list/object 'Q' int. */
  ref: (n: number) => cat(B(0x51), H.int(n)),
};

// ---- Dubbo frames (ExchangeCodec / DubboCodec) ------------------------------------------------------------

interface FrameOpts {
  request: boolean;
  twoWay?: boolean;
  event?: boolean;
  serialization?: number;
  status?: number;
  id: bigint;
  body: Buffer;
}

function frame(o: FrameOpts): Buffer {
  const h = Buffer.alloc(16);
  h[0] = 0xda;
  h[1] = 0xbb;
  h[2] = (o.request ? 0x80 : 0) | (o.twoWay ? 0x40 : 0) | (o.event ? 0x20 : 0) | (o.serialization ?? 2);
  h[3] = o.request ? 0 : (o.status ?? 20);
  h.writeBigUInt64BE(o.id, 4);
  h.writeUInt32BE(o.body.length, 12);
  return cat(h, o.body);
}

/** A Hessian2 request body: version, path, service version, method, parameter types, arguments, attachments. */
function invocation(path: string, method: string, desc: string, args: Buffer[], attachments: Record<string, string> = {}, version = '0.0.0'): Buffer {
  const att = Object.entries(attachments).map(([k, v]) => [H.str(k), H.str(v)] as [Buffer, Buffer]);
  return cat(H.str('2.0.2'), H.str(path), H.str(version), H.str(method), H.str(desc), ...args, H.map(att));
}

const call = (id: bigint, body: Buffer, twoWay = true) => frame({ request: true, twoWay, id, body });
const reply = (id: bigint, body: Buffer, status = 20) => frame({ request: false, id, body, status });
/** RESPONSE_VALUE_WITH_ATTACHMENTS (4): a value, then the attachments map with the provider's version. */
const okReply = (id: bigint, value: Buffer) => reply(id, cat(H.int(4), value, H.map([[H.str('dubbo'), H.str('2.0.2')]])));

// ---- helpers --------------------------------------------------------------------------------------------

const C = true;
const S = false;

function session(): FakeContext {
  const c = new FakeContext(dubboParser);
  (c.flow as { portB: number }).portB = 20880;
  return c;
}
const reqs = (c: FakeContext) => c.messages.filter((m) => m.type === MSG_REQUEST);
const resps = (c: FakeContext) => c.messages.filter((m) => m.type === MSG_RESPONSE);

function describeOf(req: L7Message | null, resp: L7Message | null, kind = SPAN_KIND_CLIENT): SpanDescription {
  const out: SpanDescription = { name: '', error: false, errorType: '', message: '', kind: 0 };
  dubboParser.describeSpan(req, resp, kind, out);
  return out;
}

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
// sw8 v3 (SkyWalking cross-process propagation): sample-traceId-segmentId-spanId-service-instance-endpoint-address,
// ids and names base64. traceId "a1b2c3d4e5f60718293a4b5c6d7e8f90" is 32 hex: its 16 bytes are the trace id.
const b64 = (s: string) => Buffer.from(s).toString('base64');
const SW8 = ['1', b64('a1b2c3d4e5f60718293a4b5c6d7e8f90'), b64('segment-1'), '3', b64('shop-web'), b64('inst@10.0.0.1'), b64('/shop/list'), b64('10.0.0.2:20880')].join('-');

// ---- tests ----------------------------------------------------------------------------------------------

describe('dubbo probe', () => {
  const hint = { transport: 'tcp' as const, port: 20880, toServer: null };
  const probe = (b: Buffer) => dubboParser.probe(b, 0, b.length, hint);
  const req = call(1n, invocation('com.foo.DemoService', 'sayHello', 'Ljava/lang/String;', [H.str('world')]));
  it('recognises a request, a response and a heartbeat by the header', () => {
    expect(probe(req)).toBe(PROBE_REQUEST);
    expect(probe(okReply(1n, H.str('hi')))).toBe(PROBE_RESPONSE);
    expect(probe(frame({ request: true, twoWay: true, event: true, id: 5n, body: H.null() }))).toBe(PROBE_MATCH);
    expect(probe(req.subarray(0, 10))).toBe(PROBE_NEED_MORE);
    expect(probe(req.subarray(0, 16))).toBe(PROBE_NEED_MORE); // hessian2: the body's first byte is checked
  });
  it('refuses other bytes', () => {
    expect(probe(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toBe(PROBE_NO);
    const badSer = Buffer.from(req);
    badSer[2] = 0xc0 | 13; // no serialization has id 13
    expect(probe(badSer)).toBe(PROBE_NO);
    const badStatus = okReply(1n, H.null());
    badStatus[3] = 21;
    expect(probe(badStatus)).toBe(PROBE_NO);
    const notString = Buffer.from(req);
    notString[16] = 0x90; // a hessian2 call starts with the version string
    expect(probe(notString)).toBe(PROBE_NO);
    expect(dubboParser.probe(req, 0, req.length, { transport: 'udp', port: 20880, toServer: null })).toBe(PROBE_NO);
  });
});

describe('dubbo session (vectors written from the Dubbo and Hessian 2.0 specifications)', () => {
  it('a call with traceparent in its attachments, and its answer', () => {
    const c = session();
    const body = invocation('com.foo.DemoService', 'sayHello', 'Ljava/lang/String;I', [H.str('world'), H.int(42)], {
      path: 'com.foo.DemoService',
      interface: 'com.foo.DemoService',
      group: 'blue',
      traceparent: TRACEPARENT,
      timeout: '3000',
    }, '1.0.0');
    c.feed(C, call(7n, body), 100);
    c.feed(S, okReply(7n, H.str('hello world')), 250);
    const [q] = reqs(c);
    const [r] = resps(c);
    expect(q.attrs).toEqual({
      'rpc.system.name': 'dubbo',
      'rpc.method': 'com.foo.DemoService/sayHello',
      'spanwire.dubbo.serialization': 'hessian2',
      'spanwire.dubbo.version': '2.0.2',
      'spanwire.dubbo.service.version': '1.0.0',
      'spanwire.dubbo.group': 'blue',
      'spanwire.dubbo.parameter_types': 'Ljava/lang/String;I',
      'spanwire.dubbo.request_id': 7,
    });
    expect(q.trace).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', sampled: true, source: 'traceparent' });
    expect(q.sessionId).toBe(7);
    expect(q.expectsResponse).toBe(true);
    expect([q.startTs, q.endTs, q.size]).toEqual([100, 100, 16 + body.length]);
    expect(r.sessionId).toBe(7);
    expect(r.attrs['rpc.response.status_code']).toBe('OK');
    expect(r.attrs['spanwire.dubbo.version']).toBe('2.0.2'); // the "dubbo" response attachment
    expect(describeOf(q, r)).toEqual({ name: 'com.foo.DemoService/sayHello', error: false, errorType: '', message: '', kind: 0 });
    expect(c.anomalies).toEqual([]);
  });

  it('sw8 and a custom trace id in the attachments', () => {
    const c = session();
    c.feed(C, call(8n, invocation('my.demo.ItemService', 'findItem', '', [], { sw8: SW8, 'sw8-correlation': '', traceId: 'b21926887cad416497e873cbfa4b5eca' })));
    const [q] = reqs(c);
    // 32 hex characters: the trace id is those 16 bytes (the skywalkingreceiver's mapping).
    expect(q.trace).toMatchObject({ traceId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', sampled: true, source: 'sw8' });
    expect(q.trace!.parentSpanId).toMatch(/^[0-9a-f]{16}$/);
    expect(q.attrs['spanwire.dubbo.trace_id']).toBe('b21926887cad416497e873cbfa4b5eca');
    expect(q.attrs['spanwire.dubbo.parameter_types']).toBeUndefined();
  });

  it('heartbeats (event flag) are counted, not calls', () => {
    const c = session();
    c.feed(C, frame({ request: true, twoWay: true, event: true, id: 100n, body: H.null() }));
    c.feed(S, frame({ request: false, event: true, id: 100n, body: H.null() }));
    // The provider also pings the consumer: a request from the server side.
    c.feed(S, frame({ request: true, twoWay: true, event: true, id: 9n, body: H.null() }));
    c.feed(C, frame({ request: false, event: true, id: 9n, body: H.null() }));
    expect(c.messages).toEqual([]);
    expect(c.anomalies).toEqual(['dubbo_heartbeat', 'dubbo_heartbeat', 'dubbo_heartbeat', 'dubbo_heartbeat']);
  });

  it('a one-way call (two-way bit clear) expects no response', () => {
    const c = session();
    c.feed(C, call(11n, invocation('com.foo.Log', 'append', 'Ljava/lang/String;', [H.str('line')]), false));
    const [q] = reqs(c);
    expect(q.expectsResponse).toBe(false);
    expect(q.attrs['rpc.method']).toBe('com.foo.Log/append');
  });

  it('an exception response is an error named by the exception class, with its detailMessage', () => {
    const c = session();
    c.feed(C, call(12n, invocation('com.foo.DemoService', 'fail', '', [])));
    // RESPONSE_WITH_EXCEPTION_WITH_ATTACHMENTS (3): a Throwable as a Hessian object (class definition,
    // then the instance: detailMessage, cause (a ref to itself), stackTrace (a typed list of objects)).
    const exc = cat(
      H.classDef('java.lang.IllegalStateException', ['detailMessage', 'cause', 'stackTrace', 'suppressedExceptions']),
      H.object(0, [
        H.str('boom: no stock'),
        H.ref(0),
        H.typedList(H.str('[java.lang.StackTraceElement'), [
          cat(H.classDef('java.lang.StackTraceElement', ['declaringClass', 'methodName', 'fileName', 'lineNumber']), H.object(1, [H.str('com.foo.Impl'), H.str('fail'), H.str('Impl.java'), H.int(42)])),
          H.object(1, [H.str('sun.reflect.X'), H.str('invoke'), H.null(), H.int(-1)]),
        ]),
        H.typedList(H.str('java.util.Collections$UnmodifiableRandomAccessList'), []),
      ]),
    );
    c.feed(S, reply(12n, cat(H.int(3), exc, H.map([[H.str('dubbo'), H.str('2.0.2')]]))));
    const [q] = reqs(c);
    const [r] = resps(c);
    expect(r.attrs['rpc.response.status_code']).toBe('OK');
    expect(describeOf(q, r)).toEqual({ name: 'com.foo.DemoService/fail', error: true, errorType: 'java.lang.IllegalStateException', message: 'boom: no stock', kind: 0 });
    expect(describeOf(q, r, SPAN_KIND_SERVER).error).toBe(true);
    expect(c.anomalies).toEqual([]);
  });

  it('SERVICE_NOT_FOUND: the status names the error, the body is its message', () => {
    const c = session();
    c.feed(C, call(13n, invocation('com.foo.Missing', 'get', '', [])));
    c.feed(S, reply(13n, H.str('Not found exported service: com.foo.Missing:20880'), 60));
    const [q] = reqs(c);
    const [r] = resps(c);
    expect(r.attrs['rpc.response.status_code']).toBe('SERVICE_NOT_FOUND');
    expect(describeOf(q, r)).toEqual({ name: 'com.foo.Missing/get', error: true, errorType: 'SERVICE_NOT_FOUND', message: 'Not found exported service: com.foo.Missing:20880', kind: 0 });
    // Every other status is named too, and is an error.
    const names: Record<number, string> = { 30: 'CLIENT_TIMEOUT', 31: 'SERVER_TIMEOUT', 40: 'BAD_REQUEST', 50: 'BAD_RESPONSE', 70: 'SERVICE_ERROR', 80: 'SERVER_ERROR', 90: 'CLIENT_ERROR', 100: 'SERVER_THREADPOOL_EXHAUSTED_ERROR' };
    for (const [status, name] of Object.entries(names)) {
      const d = session();
      d.feed(S, reply(1n, H.str('x'), Number(status)));
      expect(resps(d)[0].attrs['rpc.response.status_code']).toBe(name);
      expect(describeOf(null, resps(d)[0])).toMatchObject({ error: true, errorType: name });
    }
  });

  it('a kryo call gives a span naming the serialization, with the leading strings Kryo wrote', () => {
    // Kryo writeString: ASCII, the last byte with its high bit set.
    const kryo = (s: string) => {
      const b = Buffer.from(s, 'latin1');
      b[b.length - 1] |= 0x80;
      return b;
    };
    const body = cat(kryo('2.0.2'), kryo('com.foo.KryoService'), kryo('1.0.0'), kryo('compute'), B(0x00, 0x00, 0x00, 0x01), Buffer.alloc(40, 7));
    const c = session();
    c.feed(C, frame({ request: true, twoWay: true, serialization: 8, id: 21n, body }));
    c.feed(S, frame({ request: false, serialization: 8, id: 21n, body: B(0x02) })); // RESPONSE_NULL_VALUE, a raw Kryo byte
    const [q] = reqs(c);
    const [r] = resps(c);
    expect(q.attrs['spanwire.dubbo.serialization']).toBe('kryo');
    expect(q.attrs['rpc.method']).toBe('com.foo.KryoService/compute');
    expect(q.attrs['spanwire.dubbo.version']).toBe('2.0.2');
    expect(r.attrs['spanwire.dubbo.serialization']).toBe('kryo');
    expect(describeOf(q, r).error).toBe(false);
    // A serialization without a known string layout: header-level span.
    const d = session();
    d.feed(C, frame({ request: true, twoWay: true, serialization: 22, id: 3n, body: Buffer.alloc(30, 1) }));
    expect(reqs(d)[0].attrs).toEqual({ 'rpc.system.name': 'dubbo', 'spanwire.dubbo.serialization': 'protobuf', 'spanwire.dubbo.request_id': 3 });
    expect(describeOf(reqs(d)[0], null).name).toBe('');
  });

  it('arguments of every Hessian type are skipped without reading them; the attachments after them are read', () => {
    const args = [
      H.long(5n),
      H.long(-1000n),
      H.long(200000n),
      H.long(2000000000n),
      H.long(1n << 60n),
      H.double(0),
      H.double(1),
      H.double(-5),
      H.double(1234),
      H.double(0.5),
      H.double(Math.PI),
      H.dateMs(1667964293000n),
      H.dateMin(27799404),
      H.bin(Buffer.alloc(5, 1)),
      H.bin(Buffer.alloc(600, 2)),
      H.bin(Buffer.alloc(70000, 3)),
      H.chunked('x'.repeat(70000), 32768),
      H.str('é€😀'), // 2-, 3- and 4-byte UTF-8; 😀 is two UTF-16 units
      H.str('y'.repeat(500)),
      H.str('z'.repeat(5000)),
      H.null(),
      H.bool(true),
      H.bool(false),
      H.int(-16),
      H.int(2047),
      H.int(-262144),
      H.int(1 << 30),
      H.list([H.int(1), H.str('a'), H.null()]),
      H.list(Array.from({ length: 9 }, (_, i) => H.int(i))),
      H.varList(null, [H.str('p'), H.map([[H.str('k'), H.list([])]])]),
      H.varList('java.util.ArrayList', [H.int(1)]),
      H.typedList(H.int(0), [H.str('type ref')]),
      H.typedMap('java.util.HashMap', [[H.int(1), H.str('one')], [H.str('nested'), H.typedMap('', [])]]),
      cat(H.classDef('com.foo.Point', ['x', 'y']), H.object(0, [H.int(1), H.int(2)])),
      H.object(0, [H.double(0.25), H.ref(1)]),
    ];
    const desc = `JJJJJDDDDDDLjava/util/Date;Ljava/util/Date;[B[B[BLjava/lang/String;Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;Ljava/lang/Object;ZZIIII${'Ljava/util/List;'.repeat(5)}Ljava/util/Map;Lcom/foo/Point;Lcom/foo/Point;`;
    const c = session();
    c.feed(C, call(30n, invocation('com.foo.AllTypes', 'take', desc, args, { traceparent: TRACEPARENT, group: 'g1' })));
    const [q] = reqs(c);
    expect(q.attrs['rpc.method']).toBe('com.foo.AllTypes/take');
    expect(q.attrs['spanwire.dubbo.group']).toBe('g1');
    expect(q.trace?.source).toBe('traceparent');
    expect(c.anomalies).toEqual([]);
  });

  it('several messages in one segment', () => {
    const c = session();
    const calls = [1n, 2n, 3n].map((id) => call(id, invocation('com.foo.S', `m${id}`, '', [])));
    const hb = frame({ request: true, twoWay: true, event: true, id: 4n, body: H.null() });
    c.feed(C, cat(calls[0], hb, calls[1], calls[2]));
    c.feed(S, cat(okReply(2n, H.int(2)), okReply(1n, H.int(1)), frame({ request: false, event: true, id: 4n, body: H.null() }), okReply(3n, H.int(3))));
    expect(reqs(c).map((m) => [m.sessionId, m.attrs['rpc.method']])).toEqual([
      [1, 'com.foo.S/m1'],
      [2, 'com.foo.S/m2'],
      [3, 'com.foo.S/m3'],
    ]);
    expect(resps(c).map((m) => m.sessionId)).toEqual([2, 1, 3]);
  });

  it('gives the same messages for every split of the bytes (one message across segments)', () => {
    const client = cat(
      call(1n, invocation('com.foo.DemoService', 'sayHello', 'Ljava/lang/String;[B', [H.chunked('héllo wörld '.repeat(8), 7), H.bin(Buffer.alloc(40, 9))], { traceparent: TRACEPARENT })),
      frame({ request: true, twoWay: true, event: true, id: 2n, body: H.null() }),
      call(3n, invocation('com.foo.DemoService', 'bye', '', [], { sw8: SW8 })),
    );
    const server = cat(
      reply(1n, cat(H.int(0), H.classDef('java.lang.RuntimeException', ['detailMessage']), H.object(0, [H.str('bad')]))),
      frame({ request: false, event: true, id: 2n, body: H.null() }),
      reply(3n, H.str('timeout'), 31),
    );
    const view = (c: FakeContext) => c.messages.map((m) => [m.type, m.sessionId, m.size, JSON.stringify(m.attrs), m.trace?.traceId ?? '', JSON.stringify(m.info)]);
    const whole = session();
    whole.feed(C, client);
    whole.feed(S, server);
    const exp = view(whole);
    expect(exp.length).toBe(4);
    for (let cut = 1; cut < Math.max(client.length, server.length); cut++) {
      const c = session();
      const a = cut % client.length;
      const b = cut % server.length;
      c.feed(C, client.subarray(0, a));
      c.feed(C, client.subarray(a));
      c.feed(S, server.subarray(0, b));
      c.feed(S, server.subarray(b));
      expect(view(c), `cut ${cut}`).toEqual(exp);
    }
    // One byte at a time.
    const c = session();
    for (let i = 0; i < client.length; i++) c.feed(C, client.subarray(i, i + 1));
    for (let i = 0; i < server.length; i++) c.feed(S, server.subarray(i, i + 1));
    expect(view(c)).toEqual(exp);
  });

  it('streams a large body: nothing but a partial token is held, the attachments at its end are read', () => {
    const big = Buffer.alloc(5 << 20, 0x61);
    const msg = call(40n, invocation('com.foo.Upload', 'put', '[BLjava/lang/String;', [H.bin(big), H.chunked('q'.repeat(300000), 65535)], { traceparent: TRACEPARENT }));
    const c = session();
    let held = 0;
    let maxHeld = 0;
    for (let i = 0; i < msg.length; i += 1460) {
      const piece = msg.subarray(i, i + 1460);
      const n = c.feed(C, piece);
      held = held + piece.length - n;
      maxHeld = Math.max(maxHeld, held);
    }
    expect(maxHeld).toBeLessThan(64);
    const [q] = reqs(c);
    expect(q.attrs['rpc.method']).toBe('com.foo.Upload/put');
    expect(q.trace?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(q.size).toBe(msg.length);
  });

  it('64-bit request ids pair as safe numbers', () => {
    const c = session();
    c.feed(C, call(0xfedcba9876543210n, invocation('com.foo.S', 'm', '', [])));
    c.feed(S, okReply(0xfedcba9876543210n, H.null()));
    const [q] = reqs(c);
    const [r] = resps(c);
    expect(Number.isSafeInteger(q.sessionId)).toBe(true);
    expect(q.sessionId).toBe(r.sessionId);
    expect(q.sessionId).toBe(Number(0xfedcba9876543210n & ((1n << 53n) - 1n))); // the low 53 bits
  });

  it('a gap inside a body keeps the framing; a gap at a header resynchronises on the next header', () => {
    const c = session();
    const m1 = call(1n, invocation('com.foo.S', 'big', '[B', [H.bin(Buffer.alloc(20000, 1))], { traceparent: TRACEPARENT }));
    c.feed(C, m1.subarray(0, 3000));
    c.gap(C, 5000);
    c.feed(C, m1.subarray(8000));
    c.feed(C, call(2n, invocation('com.foo.S', 'next', '', [])));
    expect(reqs(c).map((m) => [m.sessionId, m.attrs['rpc.method'], m.trace === null])).toEqual([
      [1, 'com.foo.S/big', true], // its attachments were lost with the gap
      [2, 'com.foo.S/next', true],
    ]);
    const d = session();
    const m3 = call(3n, invocation('com.foo.S', 'lost', '', []));
    d.feed(C, m3.subarray(0, 10));
    d.gap(C, m3.length - 10 + 100);
    d.feed(C, cat(Buffer.alloc(37, 0xaa), call(4n, invocation('com.foo.S', 'found', '', []))));
    expect(reqs(d).map((m) => [m.sessionId, m.afterGap])).toEqual([[4, true]]);
  });

  it('garbage in place of a header resynchronises on the next plausible header', () => {
    const c = session();
    c.feed(C, cat(Buffer.from('ls\r\n'), call(5n, invocation('com.foo.S', 'after', '', []))));
    expect(reqs(c).map((m) => m.attrs['rpc.method'])).toEqual(['com.foo.S/after']);
    expect(c.anomalies).toContain('dubbo_bad_magic');
  });

  it('a malformed Hessian body still gives a span, counted', () => {
    const c = session();
    c.feed(C, call(6n, cat(H.str('2.0.2'), H.str('com.foo.S'), H.str('0.0.0'), H.str('m'), H.str('I'), B(0x40, 0x40, 0x40))));
    expect(reqs(c).map((m) => m.attrs['rpc.method'])).toEqual(['com.foo.S/m']);
    expect(c.anomalies).toEqual(['dubbo_hessian_bad_value']);
    // Deep nesting is refused, not recursed.
    const d = session();
    const deep = cat(Buffer.alloc(1000, 0x57), Buffer.alloc(1000, 0x5a)); // 'W' ... 'Z' lists 1000 deep
    d.feed(C, call(7n, cat(H.str('2.0.2'), H.str('com.foo.S'), H.str('0.0.0'), H.str('m'), H.str('Ljava/util/List;'), deep, H.map([]))));
    expect(reqs(d).length).toBe(1);
    expect(d.anomalies).toEqual(['dubbo_hessian_too_deep']);
  });

  it('never throws and never stalls on hostile input', () => {
    const valid = cat(
      call(1n, invocation('com.foo.S', 'm', 'Ljava/lang/String;Ljava/util/Map;', [H.str('a'), H.typedMap('x', [[H.str('k'), H.list([H.int(1)])]])], { traceparent: TRACEPARENT })),
      reply(1n, cat(H.int(3), H.classDef('E', ['detailMessage']), H.object(0, [H.str('m')]), H.map([]))),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.uint8Array({ maxLength: 400 }), (a, b) => {
        const c = session();
        c.feed(C, cat(B(0xda, 0xbb, 0xc2, 0), Buffer.from(a)));
        c.feed(S, b);
        c.gap(S, 3);
        c.feed(S, cat(B(0xda, 0xbb, 0x14, 0x14), Buffer.from(a)));
        c.end(C);
        return true;
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(valid.length), (muts, cut) => {
        const m = Buffer.from(valid);
        for (const [i, v] of muts) m[i] = v;
        const c = session();
        c.feed(C, m.subarray(0, cut));
        c.feed(C, m.subarray(cut));
        c.feed(S, m);
        return true;
      }),
      { numRuns: 2000 },
    );
  });
});

/**
 * Kafka parser tests. Two kinds of input:
 * - bytes written by the real `kafkajs` client (2.2.4), generated live against a stand-in broker
 *   (test/vectors/kafka/kafkajs-broker.ts, answers written from the protocol guide): what the test
 *   asked kafkajs to send is the expected value;
 * - bytes written here from the protocol guide (https://kafka.apache.org/protocol) with
 *   test/vectors/kafka/wire.ts: flexible versions (compact strings/arrays, tagged fields), record
 *   batches and message sets, topic ids, versions past the newest known; expected values follow from
 *   the bytes written.
 */
import fc from 'fast-check';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { L7Message, SpanDescription } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE, PROBE_NEED_MORE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE } from '../../core/l7/types.js';
import { SPAN_KIND_CLIENT, SPAN_KIND_CONSUMER, SPAN_KIND_PRODUCER } from '../../core/trace/span.js';
import { kafkaParser } from '../../parsers/kafka/index.js';
import { API_NAMES, errorName, FLEXIBLE_FROM } from '../../parsers/kafka/schema.js';
import { FakeContext } from '../helpers/fake-parser-context.js';
import { withKafkajsBroker } from '../vectors/kafka/kafkajs-broker.js';
import { legacyMessage, recordBatch, request, response, W } from '../vectors/kafka/wire.js';

const C = true;
const S = false;
const reqs = (c: FakeContext) => c.messages.filter((m) => m.type === MSG_REQUEST);
const resps = (c: FakeContext) => c.messages.filter((m) => m.type === MSG_RESPONSE);
const session = (options: Record<string, unknown> = {}) => new FakeContext(kafkaParser, options);

function describeOf(req: L7Message | null, resp: L7Message | null): SpanDescription {
  const out: SpanDescription = { name: '', error: false, errorType: '', message: '', kind: 0 };
  kafkaParser.describeSpan(req, resp, SPAN_KIND_CLIENT, out);
  return out;
}
/** The response with the request's correlation id. */
function answerOf(c: FakeContext, req: L7Message): L7Message | null {
  return resps(c).find((r) => r.sessionId === req.sessionId) ?? null;
}

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const TOPIC_ID = '5a9b2c3d4e5f60718293a4b5c6d7e8f9';

// ---- spec-built vectors ----------------------------------------------------------------------------

/** Produce v9 (flexible): one topic, one partition, a record batch; a tagged field in the header and body. */
function produceV9(corr: number, topic: string, records: Parameters<typeof recordBatch>[0], acks = -1): Buffer {
  const w = new W(true).str(null).i16(acks).i32(30000).arr(1).str(topic).arr(1).i32(3).bytes(recordBatch(records)).tags().tags();
  w.tagged([[7, Buffer.from('future')]]); // top-level tagged fields: unknown tags are skipped
  const body = w.buf();
  // Header v2 with one tagged field.
  const h = new W(false).i16(0).i16(9).i32(corr).str('svc-a').tagged([[0, Buffer.from([1, 2, 3])]]);
  const payload = Buffer.concat([h.buf(), body]);
  return Buffer.concat([new W().i32(payload.length).buf(), payload]);
}

function produceV9Response(corr: number, topic: string, error: number): Buffer {
  const w = new W(true).arr(1).str(topic).arr(1).i32(3).i16(error).i64(100).i64(-1).i64(0).arr(0).str(null).tags().tags().i32(0).tags();
  return response(corr, true, w.buf());
}

/** Fetch v12 response: one topic with `batches` record batches of `perBatch` records each. */
function fetchV12Response(corr: number, topic: string, batches: number, perBatch: number, valueSize = 10, partialTail = 0): Buffer {
  const data: Buffer[] = [];
  for (let i = 0; i < batches; i++) {
    data.push(recordBatch(Array.from({ length: perBatch }, () => ({ value: 'v'.repeat(valueSize) })), { baseOffset: i * perBatch }));
  }
  if (partialTail > 0) data.push(recordBatch([{ value: 'x'.repeat(100) }]).subarray(0, partialTail));
  const records = Buffer.concat(data);
  const w = new W(true).i32(0).i16(0).i32(7).arr(1).str(topic).arr(1);
  w.i32(0).i16(0).i64(1000).i64(1000).i64(0).arr(-1).i32(-1).bytes(records).tags();
  w.tags().tags();
  return response(corr, true, w.buf());
}

function fetchV12Request(corr: number, topic: string): Buffer {
  const w = new W(true).i32(-1).i32(500).i32(1).i32(52428800).i8(0).i32(0).i32(-1);
  w.arr(1).str(topic).arr(1).i32(0).i32(-1).i64(36).i32(-1).i64(-1).i32(1048576).tags().tags();
  w.arr(0).str('').tags();
  return request(1, 12, corr, 'consumer-1', true, w.buf());
}

describe('kafka tables (from the protocol guide)', () => {
  it('names every API key and error code', () => {
    expect(API_NAMES.slice(0, 4)).toEqual(['Produce', 'Fetch', 'ListOffsets', 'Metadata']);
    expect(API_NAMES[18]).toBe('ApiVersions');
    expect(API_NAMES[92]).toBe('DeleteShareGroupOffsets');
    expect(API_NAMES.filter((n) => n === '').length).toBe(0);
    expect([FLEXIBLE_FROM[0], FLEXIBLE_FROM[1], FLEXIBLE_FROM[3], FLEXIBLE_FROM[17]]).toEqual([9, 12, 9, 99]);
    expect([errorName(-1), errorName(0), errorName(3), errorName(29), errorName(133), errorName(5120)]).toEqual([
      'UNKNOWN_SERVER_ERROR',
      'NONE',
      'UNKNOWN_TOPIC_OR_PARTITION',
      'TOPIC_AUTHORIZATION_FAILED',
      'SHARE_SESSION_LIMIT_REACHED',
      'ERROR_5120',
    ]);
  });
});

describe('kafka probe', () => {
  const hint = (port: number, toServer: boolean | null = null) => ({ transport: 'tcp' as const, port, toServer });
  const probe = (b: Buffer, port = 9092, toServer: boolean | null = null) => kafkaParser.probe(b, 0, b.length, hint(port, toServer));
  it('recognises requests on any port, responses on the Kafka ports', () => {
    const req = fetchV12Request(5, 'orders');
    expect(probe(req, 40000)).toBe(PROBE_REQUEST);
    expect(probe(req.subarray(0, 13), 40000)).toBe(PROBE_NEED_MORE);
    expect(probe(produceV9Response(5, 'orders', 0))).toBe(PROBE_RESPONSE);
    expect(probe(produceV9Response(5, 'orders', 0), 40000)).toBe(PROBE_NO);
    expect(probe(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 9092)).toBe(PROBE_NO);
    expect(probe(request(200, 0, 1, 'x', false, Buffer.alloc(0)), 40000)).toBe(PROBE_NO); // unknown API key
    expect(probe(request(3, 1, 1, 'bad\u0001id', false, Buffer.alloc(4)), 40000)).toBe(PROBE_NO); // client id not printable
  });
});

describe('kafka: bytes written by the real kafkajs client', () => {
  it('ApiVersions, Metadata, Produce acks=1 with a traceparent record header, acks=0, an error', async () => {
    const t = await withKafkajsBroker(async (brokers) => {
      const kafka = new Kafka({ clientId: 'spanwire-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      await producer.send({
        topic: 'orders',
        acks: 1,
        messages: [
          { key: 'k1', value: 'first order', headers: { traceparent: TRACEPARENT } },
          { key: 'k2', value: 'second order' },
        ],
      });
      await producer.send({ topic: 'audit', acks: 0, messages: [{ value: 'fire and forget', headers: { traceparent: TRACEPARENT } }] });
      await expect(producer.send({ topic: 'forbidden', acks: 1, messages: [{ value: 'no' }] })).rejects.toThrow();
      await producer.disconnect();
    });
    // What kafkajs sent, seen by the stand-in broker's own framing.
    const produced = t.requests.filter((r) => r.apiKey === 0);
    expect(produced.map((r) => r.acks)).toEqual([1, 0, 1]);

    const all: L7Message[] = [];
    for (const conn of t.connections) {
      const c = session();
      for (const ch of conn) c.feed(ch.toServer, ch.bytes);
      // Every request of this connection pairs with the response carrying its correlation id.
      for (const r of reqs(c)) {
        if (r.expectsResponse) expect(answerOf(c, r), `${r.attrs['messaging.operation.name']}`).not.toBeNull();
      }
      expect(c.anomalies).toEqual([]);
      all.push(...c.messages);
    }
    const requests = all.filter((m) => m.type === MSG_REQUEST);
    expect(requests.map((m) => [m.attrs['spanwire.kafka.api_key'], m.attrs['spanwire.kafka.api_version'], m.attrs['spanwire.kafka.correlation_id']])).toEqual(
      t.requests.map((r) => [r.apiKey, r.version, r.correlationId]),
    );
    for (const m of requests) expect(m.attrs['messaging.client.id']).toBe('spanwire-test');

    const produces = requests.filter((m) => m.attrs['messaging.operation.name'] === 'produce');
    expect(produces.map((m) => [m.attrs['messaging.destination.name'], m.attrs['messaging.destination.partition.id'], m.attrs['spanwire.kafka.acks'], m.attrs['messaging.batch.message_count'], m.expectsResponse])).toEqual([
      ['orders', '0', 1, 2, true],
      ['audit', '0', 0, 1, false],
      ['forbidden', '0', 1, 1, true],
    ]);
    expect(produces[0].attrs['messaging.operation.type']).toBe('send');
    // The traceparent record header gives the span its parent.
    for (const m of produces.slice(0, 2)) {
      expect(m.trace).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', parentSpanId: 'b7ad6b7169203331', sampled: true, source: 'traceparent' });
    }
    expect(produces[2].trace).toBeNull();
    const metadata = requests.filter((m) => m.attrs['messaging.operation.name'] === 'metadata');
    // kafkajs asks for the metadata of every topic it produced to so far, in order.
    expect(metadata.map((m) => m.attrs['messaging.destination.name'])).toEqual(expect.arrayContaining(['orders']));
    expect(requests.some((m) => m.attrs['messaging.operation.name'] === 'api_versions')).toBe(true);

    // Spans: produce is PRODUCER; the refused produce is an error named by the error table.
    const responses = all.filter((m) => m.type === MSG_RESPONSE);
    const find = (req: L7Message) => responses.find((r) => r.sessionId === req.sessionId && r.attrs['messaging.destination.name'] === req.attrs['messaging.destination.name']) ?? null;
    expect(describeOf(produces[0], find(produces[0]))).toMatchObject({ name: 'produce orders', kind: SPAN_KIND_PRODUCER, error: false });
    expect(describeOf(produces[1], null)).toMatchObject({ name: 'produce audit', kind: SPAN_KIND_PRODUCER, error: false });
    expect(describeOf(produces[2], find(produces[2]))).toMatchObject({ name: 'produce forbidden', error: true, errorType: 'TOPIC_AUTHORIZATION_FAILED' });
  });
});

describe('kafka session (spec-built vectors)', () => {
  it('flexible Produce v9: compact strings and arrays, tagged fields, record headers, and its response', () => {
    const c = session();
    c.feed(C, produceV9(11, 'payments', [{ key: 'a', value: 'x', headers: [['other', 'h'], ['traceparent', TRACEPARENT]] }, { value: 'y' }]));
    c.feed(S, produceV9Response(11, 'payments', 0));
    expect(c.anomalies).toEqual([]);
    const [q] = reqs(c);
    expect(q.attrs).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.name': 'produce',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'payments',
      'messaging.destination.partition.id': '3',
      'messaging.client.id': 'svc-a',
      'messaging.batch.message_count': 2,
      'spanwire.kafka.api_version': 9,
      'spanwire.kafka.correlation_id': 11,
      'spanwire.kafka.acks': -1,
    });
    expect(q.sessionId).toBe(11);
    expect(q.trace?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(resps(c)[0].sessionId).toBe(11);
    expect(describeOf(q, resps(c)[0])).toMatchObject({ name: 'produce payments', kind: SPAN_KIND_PRODUCER, error: false });
  });

  it('a non-zero partition error code makes the span an error named by the table', () => {
    const c = session();
    c.feed(C, produceV9(12, 'payments', [{ value: 'x' }]));
    c.feed(S, produceV9Response(12, 'payments', 6));
    expect(resps(c)[0].attrs['spanwire.kafka.error_code']).toBe(6);
    expect(describeOf(reqs(c)[0], resps(c)[0])).toMatchObject({ error: true, errorType: 'NOT_LEADER_OR_FOLLOWER', message: 'NOT_LEADER_OR_FOLLOWER (6)' });
  });

  it('Fetch v12: records counted from batch headers, a partial trailing batch not counted; CONSUMER span', () => {
    const c = session();
    c.feed(C, fetchV12Request(3, 'clicks'));
    c.feed(S, fetchV12Response(3, 'clicks', 4, 5, 10, 40));
    expect(c.anomalies).toEqual([]);
    const r = resps(c)[0];
    expect(r.attrs['messaging.batch.message_count']).toBe(20);
    expect(reqs(c)[0].attrs['messaging.destination.name']).toBe('clicks');
    expect(reqs(c)[0].attrs['messaging.operation.type']).toBe('receive');
    expect(describeOf(reqs(c)[0], r)).toMatchObject({ name: 'fetch clicks', kind: SPAN_KIND_CONSUMER, error: false });
  });

  it('streams a many-megabyte Fetch response through without holding it', () => {
    const c = session();
    c.feed(C, fetchV12Request(4, 'big'));
    const resp = fetchV12Response(4, 'big', 200, 4, 10_000); // ~8 MB
    let held = 0;
    for (let i = 0; i < resp.length; i += 1400) {
      const piece = resp.subarray(i, i + 1400);
      const n = c.feed(S, piece);
      held = Math.max(held, piece.length - n);
    }
    expect(held).toBeLessThan(100); // at most a batch header waits for its rest
    expect(resps(c).length).toBe(1);
    expect(resps(c)[0].attrs['messaging.batch.message_count']).toBe(800);
    expect(resps(c)[0].size).toBe(resp.length);
  });

  it('message sets (magic 0 and 1) in Produce v2 and Fetch v4', () => {
    const c = session();
    const set = Buffer.concat([legacyMessage(0, null, 'a'), legacyMessage(1, 'k', 'b', 1), legacyMessage(1, 'k', 'c', 2)]);
    c.feed(C, request(0, 2, 21, 'legacy', false, new W().i16(1).i32(1000).i32(1).str('old').i32(1).i32(0).bytes(set).buf()));
    c.feed(S, response(21, false, new W().i32(1).str('old').i32(1).i32(0).i16(0).i64(5).i64(-1).i32(0).buf()));
    c.feed(C, request(1, 4, 22, 'legacy', false, new W().i32(-1).i32(100).i32(1).i32(1000).i8(0).i32(1).str('old').i32(1).i32(0).i64(0).i32(1000).buf()));
    c.feed(S, response(22, false, new W().i32(0).i32(1).str('old').i32(1).i32(0).i16(0).i64(3).i64(3).i32(-1).bytes(set).buf()));
    expect(c.anomalies).toEqual([]);
    expect(reqs(c)[0].attrs['messaging.batch.message_count']).toBe(3);
    expect(resps(c)[1].attrs['messaging.batch.message_count']).toBe(3);
    expect(reqs(c).map((m) => m.attrs['messaging.destination.name'])).toEqual(['old', 'old']);
  });

  it('acks=0: the produce expects no response', () => {
    const c = session();
    c.feed(C, produceV9(30, 't', [{ value: 'x' }], 0));
    c.feed(C, fetchV12Request(31, 't'));
    c.feed(S, fetchV12Response(31, 't', 1, 1));
    expect(reqs(c).map((m) => m.expectsResponse)).toEqual([false, true]);
    expect(resps(c).map((m) => m.sessionId)).toEqual([31]);
  });

  it('Metadata v12 maps topic ids to names; Fetch v13 topics by id are then named', () => {
    const c = session();
    const mdReq = new W(true).arr(1).uuid('00'.repeat(16)).str('events').tags().i8(0).i8(0).tags();
    c.feed(C, request(3, 12, 1, 'app', true, mdReq.buf()));
    const md = new W(true).i32(0).arr(1).i32(1).str('b1').i32(9092).str(null).tags().str('cluster').i32(1);
    md.arr(1).i16(0).str('events').uuid(TOPIC_ID).i8(0).arr(1).i16(0).i32(0).i32(1).i32(0).arr(1).i32(1).arr(1).i32(1).arr(0).tags().i32(0).tags().tags();
    c.feed(S, response(1, true, md.buf()));
    const fetch = new W(true).i32(-1).i32(500).i32(1).i32(1000).i8(0).i32(0).i32(-1);
    fetch.arr(1).uuid(TOPIC_ID).arr(1).i32(2).i32(-1).i64(0).i32(-1).i64(-1).i32(1000).tags().tags().arr(0).str('').tags();
    c.feed(C, request(1, 13, 2, 'app', true, fetch.buf()));
    // A topic id never seen in Metadata stays an id.
    const fetch2 = new W(true).i32(-1).i32(500).i32(1).i32(1000).i8(0).i32(0).i32(-1);
    fetch2.arr(1).uuid('11'.repeat(16)).arr(1).i32(2).i32(-1).i64(0).i32(-1).i64(-1).i32(1000).tags().tags().arr(0).str('').tags();
    c.feed(C, request(1, 13, 3, 'app', true, fetch2.buf()));
    expect(c.anomalies).toEqual([]);
    expect(reqs(c).map((m) => m.attrs['messaging.destination.name'])).toEqual(['events', 'events', undefined]);
    expect(reqs(c)[1].attrs['messaging.destination.partition.id']).toBe('2');
    expect(reqs(c)[2].attrs['spanwire.kafka.topic_id']).toBe('11'.repeat(16));
  });

  it('ApiVersions v3: the response header has no tagged fields (header v0)', () => {
    const c = session();
    c.feed(C, request(18, 3, 9, 'adminclient-1', true, new W(true).str('apache-kafka-java').str('3.7.0').tags().buf()));
    const body = new W(true).i16(35).arr(1).i16(0).i16(0).i16(11).tags().i32(0).tags().buf();
    c.feed(S, response(9, false, body));
    expect(c.anomalies).toEqual([]);
    expect(describeOf(reqs(c)[0], resps(c)[0])).toMatchObject({ name: 'api_versions', error: true, errorType: 'UNSUPPORTED_VERSION' });
  });

  it('group APIs: FindCoordinator v4 keys, JoinGroup v5, OffsetFetch v8 groups, ListOffsets v7', () => {
    const c = session();
    c.feed(C, request(10, 4, 1, 'c', true, new W(true).i8(0).arr(1).str('billing').tags().buf()));
    c.feed(S, response(1, true, new W(true).i32(0).arr(1).str('billing').i32(1).str('b1').i32(9092).i16(15).str('not yet').tags().tags().buf()));
    c.feed(C, request(11, 5, 2, 'c', false, new W().str('billing').i32(10000).i32(30000).str('').str(null).str('consumer').i32(1).str('range').bytes(Buffer.from([0, 1])).buf()));
    c.feed(S, response(2, false, new W().i32(0).i16(79).i32(-1).str('').str('').str('m-1').i32(0).buf()));
    c.feed(C, request(9, 8, 3, 'c', true, new W(true).arr(1).str('billing').arr(1).str('ledger').arr(2).i32(4).i32(5).tags().tags().i8(0).tags().buf()));
    c.feed(S, response(3, true, new W(true).i32(0).arr(1).str('billing').arr(1).str('ledger').arr(1).i32(4).i64(10).i32(-1).str('').i16(0).tags().tags().i16(0).tags().tags().buf()));
    c.feed(C, request(2, 7, 4, 'c', true, new W(true).i32(-1).i8(0).arr(1).str('ledger').arr(1).i32(1).i32(-1).i64(-1).tags().tags().tags().buf()));
    c.feed(S, response(4, true, new W(true).i32(0).arr(1).str('ledger').arr(1).i32(1).i16(3).i64(-1).i64(-1).i32(-1).tags().tags().tags().buf()));
    expect(c.anomalies).toEqual([]);
    const d = reqs(c).map((q) => describeOf(q, answerOf(c, q)));
    expect(d.map((x) => [x.name, x.errorType])).toEqual([
      ['find_coordinator', 'COORDINATOR_NOT_AVAILABLE'],
      ['join_group', 'MEMBER_ID_REQUIRED'],
      ['offset_fetch ledger', ''],
      ['list_offsets ledger', 'UNKNOWN_TOPIC_OR_PARTITION'],
    ]);
    expect(reqs(c).map((q) => q.attrs['messaging.consumer.group.name'])).toEqual(['billing', 'billing', 'billing', undefined]);
    expect(reqs(c)[2].attrs['messaging.destination.partition.id']).toBe('4');
  });

  it('versions past the newest known and APIs not decoded in depth still give a span named by the API', () => {
    const c = session();
    c.feed(C, request(0, 15, 1, 'future', true, Buffer.from('opaque body of a future version')));
    c.feed(S, response(1, true, Buffer.from('opaque')));
    c.feed(C, request(19, 7, 2, 'admin', true, new W(true).arr(0).i32(1000).i8(0).tags().buf()));
    c.feed(S, response(2, true, new W(true).i32(0).arr(0).tags().buf()));
    expect(reqs(c).map((m) => [m.attrs['messaging.operation.name'], m.attrs['spanwire.kafka.api_version']])).toEqual([
      ['produce', 15],
      ['create_topics', 7],
    ]);
    expect(resps(c).length).toBe(2);
    expect(describeOf(reqs(c)[0], resps(c)[0]).name).toBe('produce');
    expect(c.anomalies).toEqual(['kafka_unknown_version']);
  });

  it('gives the same messages for every split of both streams', () => {
    const client = Buffer.concat([produceV9(1, 'a', [{ value: 'x', headers: [['traceparent', TRACEPARENT]] }]), fetchV12Request(2, 'b'), request(12, 4, 3, 'c', true, new W(true).str('g').i32(1).str('m').str(null).tags().buf())]);
    const server = Buffer.concat([produceV9Response(1, 'a', 0), fetchV12Response(2, 'b', 2, 3), response(3, true, new W(true).i32(0).i16(27).tags().buf())]);
    const view = (c: FakeContext) => c.messages.map((m) => [m.type, m.sessionId, m.size, JSON.stringify(m.attrs), m.trace?.traceId ?? '']);
    const whole = session();
    whole.feed(C, client);
    whole.feed(S, server);
    const exp = view(whole);
    expect(exp.length).toBe(6);
    for (let cut = 1; cut < Math.max(client.length, server.length); cut++) {
      const c = session();
      const a = Math.min(cut, client.length - 1);
      const b = Math.min(cut, server.length - 1);
      c.feed(C, client.subarray(0, a));
      c.feed(C, client.subarray(a));
      c.feed(S, server.subarray(0, b));
      c.feed(S, server.subarray(b));
      expect(view(c), `cut ${cut}`).toEqual(exp);
    }
    // One byte at a time.
    const c = session();
    for (const x of client) c.feed(C, Buffer.from([x]));
    for (const x of server) c.feed(S, Buffer.from([x]));
    expect(view(c)).toEqual(exp);
  });

  it('resynchronises after lost bytes on a plausible header (and on a pending correlation id)', () => {
    const c = session();
    const first = fetchV12Request(1, 'lost');
    c.feed(C, first.subarray(0, 20));
    c.gap(C, 100);
    c.feed(C, Buffer.concat([first.subarray(40), fetchV12Request(2, 'found')]));
    const found = reqs(c).filter((m) => m.attrs['messaging.destination.name'] === 'found');
    expect(found.length).toBe(1);
    expect(found[0].afterGap).toBe(true);
    const resp = fetchV12Response(2, 'found', 1, 2);
    c.gap(S, 10);
    c.feed(S, Buffer.concat([Buffer.from('garbage bytes of an earlier response'), resp]));
    const answer = resps(c).find((m) => m.sessionId === 2);
    expect(answer?.attrs['messaging.batch.message_count']).toBe(2);
  });

  it('a capture that starts mid-stream: the first server bytes are the tail of an unseen response', () => {
    const c = session();
    c.feed(C, fetchV12Request(8, 'mid'));
    c.feed(S, Buffer.concat([Buffer.from([0, 0, 0x40, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), fetchV12Response(8, 'mid', 1, 1)]));
    expect(resps(c).map((m) => m.sessionId)).toEqual([8]);
  });

  it('never throws, never stalls on hostile input', () => {
    const valid = Buffer.concat([produceV9(1, 'a', [{ value: 'x' }]), fetchV12Request(2, 'b')]);
    const validResp = Buffer.concat([produceV9Response(1, 'a', 0), fetchV12Response(2, 'b', 2, 2)]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.uint8Array({ maxLength: 400 }), fc.nat(valid.length - 1), fc.nat(255), (a, b, at, v) => {
        const c = session();
        c.feed(C, a);
        c.feed(S, b);
        c.gap(S, 3);
        const m = Buffer.from(valid);
        m[at] = v;
        const r = Buffer.from(validResp);
        r[at % r.length] = v;
        const n1 = c.feed(C, m);
        const n2 = c.feed(S, r);
        c.end(S);
        return n1 >= 0 && n2 >= 0;
      }),
      { numRuns: 1500 },
    );
  });
});

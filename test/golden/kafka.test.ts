/**
 * Golden tests on real Kafka captures made by others (DeepFlow's corpus), checked against tshark's
 * Kafka dissector on the same files (`-d tcp.port==P,kafka`): for every request tshark finds, a span
 * with its API key, version, correlation id, client id, first topic and partition; for every response
 * tshark decodes, the span's error status follows tshark's error codes.
 *
 * tshark 4.0 stops at Produce v8 and Fetch v11 ("Unsupported ... version"): it still reads those
 * requests' headers, but not their bodies or responses. There the expected values come from the
 * protocol guide (the bytes decoded by hand, in the comments) and the corpus's .result/README files.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SpanData } from '../../core/trace/span.js';
import { SPAN_KIND_CONSUMER, SPAN_KIND_PRODUCER } from '../../core/trace/span.js';
import { errorName } from '../../parsers/kafka/schema.js';
import { durationUs, PCAPS, replaySpans, tshark } from '../helpers/replay.js';

const KAFKA = resolve(PCAPS, 'deepflow/kafka');
const DECODE = ['-d', 'tcp.port==9092,kafka', '-d', 'tcp.port==36333,kafka', '-E', 'occurrence=a', '-E', 'aggregator=|'];
const FIELDS = ['frame.number', 'tcp.srcport', 'kafka.request_frame', 'kafka.api_key', 'kafka.api_version', 'kafka.correlation_id', 'kafka.client_id', 'kafka.topic_name', 'kafka.partition_id', 'kafka.error'];

async function expectMatchesTshark(name: string): Promise<SpanData[]> {
  const file = resolve(KAFKA, name);
  const rows = tshark(file, 'kafka', FIELDS, DECODE);
  const { spans } = await replaySpans([file]);
  const kafka = spans.filter((s) => s.attributes['spanwire.protocol'] === 'kafka');
  const requests = rows.filter((r) => r[2] === '' && r[3] !== '');
  expect(kafka.length).toBe(requests.length);
  for (const [frame, port, , key, version, corr, clientId, topics, partitions] of requests) {
    const s = kafka.find((x) => x.attributes['client.port'] === Number(port) && x.attributes['spanwire.kafka.correlation_id'] === Number(corr));
    expect(s, `request frame ${frame}`).toBeDefined();
    const a = s!.attributes;
    expect([a['spanwire.kafka.api_key'], a['spanwire.kafka.api_version'], a['messaging.client.id']]).toEqual([Number(key), Number(version), clientId]);
    expect(a['messaging.system']).toBe('kafka');
    if (topics !== '') {
      const first = topics.split('|')[0];
      expect(a['messaging.destination.name']).toBe(first);
      expect(s!.name).toBe(`${a['messaging.operation.name']} ${first}`);
      if (partitions !== '' && new Set(topics.split('|')).size === 1) expect(a['messaging.destination.partition.id']).toBe(partitions.split('|')[0]);
    }
  }
  // Responses tshark decoded: the first non-zero error code is the span's error.
  for (const [frame, port, reqFrame, , , corr, , , , errors] of rows.filter((r) => r[2] !== '')) {
    const s = kafka.find((x) => x.attributes['client.port'] !== Number(port) && x.attributes['spanwire.kafka.correlation_id'] === Number(corr));
    expect(s, `response frame ${frame} to ${reqFrame}`).toBeDefined();
    const bad = errors.split('|').filter((e) => e !== '' && e !== '0');
    if (bad.length === 0) expect(s!.status.code, `frame ${frame}`).not.toBe(2);
    else {
      expect(s!.status.code).toBe(2);
      expect(s!.attributes['error.type']).toBe(errorName(Number(bad[0])));
    }
  }
  return kafka;
}

describe('Kafka golden captures (checked against tshark)', () => {
  it('00-produce-v2.pcap: Produce v2 (message set v1) to topic2', async () => {
    const [s] = await expectMatchesTshark('00-produce-v2.pcap');
    expect(s.name).toBe('produce topic2');
    expect(s.kind).toBe(SPAN_KIND_PRODUCER);
    expect(s.attributes['messaging.batch.message_count']).toBe(1); // tshark: one message in the set
    expect(durationUs(s)).toBe(16107); // the .result's rrt
  });

  it('00-produce-v7-sw8.pcap: Produce v7 with a record header `sw8` giving the trace context', async () => {
    const [s] = await expectMatchesTshark('00-produce-v7-sw8.pcap');
    expect(s.attributes['messaging.batch.message_count']).toBe(1); // tshark: Record Batch, Size 1
    expect(s.attributes['spanwire.kafka.acks']).toBe(1); // tshark: Required Acks: Leader (1)
    // sw8 trace id field is base64("bb79fa34-d03f-4bc2-8fa9-979af7877426"); the .result shows that id.
    expect(s.traceId).toBe('bb79fa34d03f4bc28fa9979af7877426');
    expect(s.attributes['spanwire.link.method']).toBe('sw8');
  });

  it('00-produce-v9.pcap: flexible Produce v9 (tshark: unsupported version; decoded from the guide)', async () => {
    const [s] = await expectMatchesTshark('00-produce-v9.pcap');
    // Request: compact topic "zqy-test", partition 0, one batch of 1 record; response error_code 0.
    expect(s.name).toBe('produce zqy-test');
    expect(s.attributes['messaging.destination.partition.id']).toBe('0');
    expect(s.attributes['messaging.batch.message_count']).toBe(1);
    expect(s.status.code).not.toBe(2);
    expect(durationUs(s)).toBe(1619);
  });

  it('01-fetch-v12-ok.pcap: flexible Fetch v12 from zqy-test; an empty response (guide)', async () => {
    const [s] = await expectMatchesTshark('01-fetch-v12-ok.pcap');
    expect(s.name).toBe('fetch zqy-test');
    expect(s.kind).toBe(SPAN_KIND_CONSUMER);
    expect(s.attributes['messaging.operation.type']).toBe('receive');
    expect(s.status.code).not.toBe(2);
  });

  it('01-fetch-v12-perf.pcap: Fetch v12 answered after 504.829 ms (corpus README)', async () => {
    const [s] = await expectMatchesTshark('01-fetch-v12-perf.pcap');
    expect(durationUs(s)).toBe(504829);
    expect(s.status.code).not.toBe(2);
  });

  it('01-fetch-v12-unknown.pcap: a Fetch v12 response with the unknown error code 5120 (guide)', async () => {
    const [s] = await expectMatchesTshark('01-fetch-v12-unknown.pcap');
    // Response body: header tags 00, throttle 00000000, error_code 0x1400 = 5120 (not in the
    // error table), session 029d2b8e (the request's), no topics. The .result has status_code 5120.
    expect(s.status.code).toBe(2);
    expect(s.attributes['error.type']).toBe('ERROR_5120');
  });

  it('11-join-group-v7.pcap, 13-leave-group-v4.pcap, 14-sync-group-v5.pcap: group membership', async () => {
    const [join] = await expectMatchesTshark('11-join-group-v7.pcap');
    expect(join.name).toBe('join_group');
    expect(join.attributes['messaging.consumer.group.name']).toBe('zzzz12'); // tshark kafka.consumer_group
    expect(join.attributes['error.type']).toBe('UNKNOWN_SERVER_ERROR');
    const [leave] = await expectMatchesTshark('13-leave-group-v4.pcap');
    expect(leave.name).toBe('leave_group');
    expect(leave.attributes['messaging.consumer.group.name']).toBe('zzzz12');
    const [sync] = await expectMatchesTshark('14-sync-group-v5.pcap');
    expect(sync.name).toBe('sync_group');
    expect(sync.attributes['messaging.consumer.group.name']).toBe('zzzz12');
  });

  it('18-api-versions-v3.pcap: ApiVersions v3 (response header v0), 4.941 ms (corpus README)', async () => {
    const [s] = await expectMatchesTshark('18-api-versions-v3.pcap');
    expect(s.name).toBe('api_versions');
    expect(durationUs(s)).toBe(4941);
  });

  it('mixed-with-unsupported.pcap: Fetch v13, OffsetCommit v8 and Heartbeat v4 on two connections', async () => {
    const spans = await expectMatchesTshark('mixed-with-unsupported.pcap');
    expect(spans.map((s) => s.name).sort()).toEqual(['fetch', 'heartbeat', 'offset_commit orders']);
    const commit = spans.find((s) => s.name === 'offset_commit orders')!;
    expect(commit.attributes['messaging.consumer.group.name']).toBe('frauddetectionservice');
    expect(spans.find((s) => s.name === 'fetch')!.attributes['spanwire.kafka.api_version']).toBe(13);
  });
});

/**
 * Golden tests on real Redis captures made by others (DeepFlow's corpus), checked against tshark's
 * RESP dissector on the same files: one span per command tshark finds, named by the command, with
 * the key tshark shows, and an error span for each error reply.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SpanData } from '../../core/trace/span.js';
import { PCAPS, replaySpans, tshark } from '../helpers/replay.js';

const REDIS = resolve(PCAPS, 'deepflow/redis');
const DECODE = ['-d', 'tcp.port==6379,resp'];
const unhex = (h: string) => Buffer.from(h, 'hex').toString('latin1');

async function expectMatchesTshark(file: string): Promise<SpanData[]> {
  // Commands: client frames (to 6379) whose RESP value is an array; its first bulk string is the command.
  const cmds = tshark(file, 'resp && tcp.dstport==6379', ['frame.number', 'tcp.srcport', 'resp.array.length', 'resp.bulk_string.value'], [...DECODE, '-E', 'occurrence=a', '-E', 'aggregator=|']);
  const errors = tshark(file, 'resp.error && tcp.srcport==6379', ['tcp.dstport', 'resp.error'], DECODE);
  const { spans } = await replaySpans([file]);
  const redis = spans.filter((s) => s.attributes['spanwire.protocol'] === 'redis');
  expect(redis.length).toBe(cmds.length);
  for (const [frame, port, , values] of cmds) {
    const [name, key] = values.split('|').map(unhex);
    const s = redis.find((x) => x.attributes['client.port'] === Number(port) && x.attributes['db.operation.name'] === name.toUpperCase() && !(x as { used?: boolean }).used);
    expect(s, `frame ${frame}: ${name} ${key}`).toBeDefined();
    (s as { used?: boolean }).used = true;
    expect(s!.name).toBe(name.toUpperCase());
    expect(String(s!.attributes['db.query.text']).startsWith(`${name.toUpperCase()} ${key}`)).toBe(true);
    expect(s!.attributes['db.system.name']).toBe('redis');
  }
  const errorSpans = redis.filter((s) => s.status.code === 2);
  expect(errorSpans.map((s) => [s.attributes['client.port'], s.status.message])).toEqual(errors.map(([p, e]) => [Number(p), e]));
  return redis;
}

describe('Redis golden captures (checked against tshark)', () => {
  it('redis.pcap: GET and EXISTS on several connections, one large reply cut by the end of the capture', async () => {
    const spans = await expectMatchesTshark(resolve(REDIS, 'redis.pcap'));
    expect(spans.length).toBe(10); // the corpus README: 10 requests, 10 responses, no error
    expect(spans.filter((s) => s.attributes['error.type'] !== undefined)).toEqual([]);
  });

  it('redis-error.pcap: GET answered -NOAUTH', async () => {
    const spans = await expectMatchesTshark(resolve(REDIS, 'redis-error.pcap'));
    expect(spans[0].attributes['error.type']).toBe('NOAUTH');
    expect(spans[0].attributes['db.response.status_code']).toBe('NOAUTH');
  });

  it('redis-debug.pcap: LRANGE with a 300-element reply over several segments', async () => {
    const spans = await expectMatchesTshark(resolve(REDIS, 'redis-debug.pcap'));
    expect(spans.length).toBe(1);
    expect(spans[0].attributes['db.query.text']).toBe('LRANGE mylist ? ?');
  });
});

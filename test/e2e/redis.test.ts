/**
 * End to end, Redis: a real redis-server on 127.0.0.1 (a free port, no persistence), real clients
 * (redis-cli, including RESP3 with `-3`, and the npm ioredis driver: a 200-command pipeline, pub/sub,
 * MULTI/EXEC, an error reply), captured by tcpdump on `lo`, then `spanwire replay`.
 *
 * Expected values come from the commands the test sent and the replies the clients got. Never from
 * spanwire's own output. Needs root (tcpdump) and redis-server, redis-cli, tcpdump (`bash test/setup-system.sh`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, SPANWIRE, freePort, readOtlpSpans, run, sleep, startTcpdump, stopChildren, stopTcpdump, waitListening, which } from '../helpers/e2e.js';
import type { OtlpSpanView } from '../helpers/e2e.js';

if (!IS_ROOT) console.warn('\n*** SKIPPED test/e2e/redis.test.ts: not root (tcpdump on lo needs root; CI runs as root) ***\n');

describe.skipIf(!IS_ROOT)('e2e: redis-server + redis-cli + ioredis on loopback -> tcpdump -> spanwire replay', () => {
  let dir = '';
  let server: ChildProcess | undefined;
  let tcpdump: ChildProcess | undefined;
  let port = 0;
  let spans: OtlpSpanView[] = [];
  /** Commands sent (upper-case name) in order per connection are too many to list; counts by name instead. */
  const sent = new Map<string, number>();
  const count = (name: string, n = 1) => sent.set(name, (sent.get(name) ?? 0) + n);

  beforeAll(async () => {
    for (const bin of ['tcpdump', 'redis-server', 'redis-cli']) if (!which(bin)) throw new Error(`missing ${bin}: run bash test/setup-system.sh`);
    dir = mkdtempSync(join(tmpdir(), 'spanwire-e2e-redis-'));
    port = await freePort();
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    await waitListening(port, server, 'redis-server');
    const cap = await startTcpdump(join(dir, 'redis.pcap'), `tcp port ${port}`, (c) => (tcpdump = c));

    // redis-cli: one connection per invocation.
    const cli = (...args: string[]) => run('redis-cli', ['-p', String(port), ...args]);
    expect((await cli('SET', 'greeting', 'hello world')).stdout.trim()).toBe('OK');
    count('SET');
    expect((await cli('GET', 'greeting')).stdout.trim()).toBe('hello world');
    count('GET');
    expect((await cli('INCR', 'greeting')).stdout).toContain('ERR value is not an integer');
    count('INCR');
    expect((await cli('-3', 'HGETALL', 'nohash')).stdout.trim()).toBe(''); // RESP3 (HELLO 3 first), empty map
    count('HELLO');
    count('HGETALL');

    // ioredis: a pipeline of 200 commands in one write, MULTI/EXEC, pub/sub.
    const r = new Redis({ port, host: '127.0.0.1', enableReadyCheck: false, lazyConnect: true });
    await r.connect();
    const p = r.pipeline();
    for (let i = 0; i < 100; i++) p.set(`k${i}`, `v${i}`);
    for (let i = 0; i < 100; i++) p.get(`k${i}`);
    const res = await p.exec();
    expect(res!.length).toBe(200);
    count('SET', 100);
    count('GET', 100);
    const tx = await r.multi().incr('counter').incr('counter').exec();
    expect(tx!.map((x) => x[1])).toEqual([1, 2]);
    count('MULTI');
    count('INCR', 2);
    count('EXEC');
    const sub = new Redis({ port, host: '127.0.0.1', enableReadyCheck: false, lazyConnect: true });
    await sub.connect();
    const got: string[] = [];
    sub.on('message', (_ch, m) => got.push(m));
    await sub.subscribe('news', 'sport');
    count('SUBSCRIBE');
    await r.publish('news', 'first');
    await r.publish('sport', 'second');
    count('PUBLISH', 2);
    for (let i = 0; i < 50 && got.length < 2; i++) await sleep(20);
    expect(got).toEqual(['first', 'second']);
    await sub.quit();
    await r.quit();
    count('QUIT', 2);
    await sleep(300);
    await stopTcpdump(cap);
    const out = join(dir, 'spans.json');
    await run('node', [SPANWIRE, 'replay', join(dir, 'redis.pcap'), '--format', 'otlp-json', '-o', out, '-q']);
    spans = readOtlpSpans(out);
  }, 60_000);

  afterAll(async () => {
    await stopChildren([
      [tcpdump, 'SIGINT'],
      [server, 'SIGTERM'],
    ]);
    if (dir && process.env.SPANWIRE_E2E_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  });

  it('one span per command sent (the clients add their own: redis-cli COMMAND DOCS, ioredis CLIENT SETINFO), named by the command', () => {
    const byName = new Map<string, number>();
    for (const s of spans.filter((x) => x.attrs['db.system.name'] === 'redis')) byName.set(s.name, (byName.get(s.name) ?? 0) + 1);
    for (const [name, n] of sent) expect(byName.get(name), name).toBe(n);
    // Every span is one the test sent, or a client's own start-up command: redis-cli's COMMAND DOCS (for
    // its hints) and ioredis's CLIENT SETINFO lib-name / lib-ver (Redis 7.2+; older servers refuse it).
    for (const name of byName.keys()) expect(sent.has(name) || name === 'COMMAND' || name === 'CLIENT', name).toBe(true);
  });

  it('values are redacted, keys kept; the error reply is an error span', () => {
    const text = JSON.stringify(spans.map((x) => x.attrs));
    expect(text).not.toContain('hello world');
    expect(text).not.toContain('"v17"');
    const incr = spans.find((s) => s.name === 'INCR' && s.attrs['db.query.text'] === 'INCR greeting')!;
    expect(incr.status.code).toBe(2);
    expect(incr.attrs['error.type']).toBe('ERR');
    expect(incr.status.message).toContain('value is not an integer');
    const errors = spans.filter((s) => s.status.code === 2 && s.name !== 'CLIENT');
    expect(errors.map((s) => s.name)).toEqual(['INCR']);
    expect(spans.find((s) => s.name === 'SET' && s.attrs['db.query.text'] === 'SET k17 ?')).toBeDefined();
    for (const s of spans.filter((x) => x.attrs['db.system.name'] === 'redis')) expect(s.attrs['db.namespace']).toBe('0');
  });

  it('pub/sub deliveries are CONSUMER spans on their channel', () => {
    const deliveries = spans.filter((s) => s.attrs['messaging.system'] === 'redis');
    expect(deliveries.map((s) => [s.name, s.kind])).toEqual([
      ['receive news', 5],
      ['receive sport', 5],
    ]);
  });

  it('the 200-command pipeline pairs each command with its own reply (durations never negative, no unanswered)', () => {
    const pipelined = spans.filter((s) => /^(SET|GET) k\d+/.test(String(s.attrs['db.query.text'])));
    expect(pipelined.length).toBe(200);
    for (const s of pipelined) expect(s.endNs >= s.startNs).toBe(true);
    expect(spans.filter((s) => s.attrs['error.type'] === 'no_response' || s.attrs['error.type'] === 'timeout')).toEqual([]);
  });
});

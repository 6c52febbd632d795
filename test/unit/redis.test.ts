/**
 * Redis parser tests. RESP bytes are written here from the protocol specification
 * (redis.io/docs/latest/develop/reference/protocol-spec: RESP2 and RESP3 types, inline commands,
 * pipelining, pub/sub, CLIENT REPLY); expected values follow from the bytes written.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { L7Message, SpanDescription } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE, PROBE_NEED_MORE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE } from '../../core/l7/types.js';
import { SPAN_KIND_CLIENT, SPAN_KIND_CONSUMER } from '../../core/trace/span.js';
import { redisParser } from '../../parsers/redis/index.js';
import { FakeContext } from '../helpers/fake-parser-context.js';

/** A command as RESP: an array of bulk strings. */
const cmd = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('')}`;
const C = true;
const S = false;

function session(): FakeContext {
  const c = new FakeContext(redisParser);
  (c.flow as { roleSource: number }).roleSource = 3; // handshake seen: db 0 is known
  return c;
}
const reqs = (c: FakeContext) => c.messages.filter((m) => m.type === MSG_REQUEST);
const resps = (c: FakeContext) => c.messages.filter((m) => m.type === MSG_RESPONSE);

function describeOf(req: L7Message | null, resp: L7Message | null): SpanDescription {
  const out: SpanDescription = { name: '', error: false, errorType: '', message: '', kind: 0 };
  redisParser.describeSpan(req, resp, SPAN_KIND_CLIENT, out);
  return out;
}

describe('redis probe', () => {
  const hint = (port: number) => ({ transport: 'tcp' as const, port, toServer: null });
  const probe = (s: string, port = 6379) => redisParser.probe(Buffer.from(s, 'latin1'), 0, s.length, hint(port));
  it('recognises commands on any port, replies and inline commands on the Redis ports', () => {
    expect(probe(cmd('GET', 'k'), 7000)).toBe(PROBE_REQUEST);
    expect(probe('*2\r\n$3\r\nGE', 7000)).toBe(PROBE_NEED_MORE);
    expect(probe('+OK\r\n')).toBe(PROBE_RESPONSE);
    expect(probe('-ERR unknown command\r\n')).toBe(PROBE_RESPONSE);
    expect(probe('PING\r\n')).toBe(PROBE_REQUEST);
    expect(probe('+OK\r\n', 110)).toBe(PROBE_NO); // POP3 says "+OK" too
    expect(probe('GET / HTTP/1.1\r\n', 80)).toBe(PROBE_NO);
    expect(probe('*1\r\n:5\r\n', 7000)).toBe(PROBE_NO);
  });
});

describe('redis session', () => {
  it('pipelined commands pair in order; values are redacted, keys kept', () => {
    const c = session();
    c.feed(C, cmd('GET', 'user:1') + cmd('SET', 'user:2', 'secret value', 'EX', '60') + cmd('DEL', 'a', 'b', 'c'));
    c.feed(S, '$-1\r\n+OK\r\n:3\r\n');
    expect(reqs(c).map((m) => [m.attrs['db.operation.name'], m.attrs['db.query.text'], m.attrs['db.namespace']])).toEqual([
      ['GET', 'GET user:1', '0'],
      ['SET', 'SET user:2 ? ? ?', '0'],
      ['DEL', 'DEL a ? ?', '0'],
    ]);
    expect(resps(c).length).toBe(3);
    expect(reqs(c)[0].attrs['db.system.name']).toBe('redis');
    expect(JSON.stringify(c.messages)).not.toContain('secret value');
  });

  it('gives the same messages for every split of the bytes', () => {
    const client = cmd('HSET', 'h', 'f', 'v') + 'PING\r\n' + cmd('LRANGE', 'l', '0', '-1');
    const server = ':1\r\n+PONG\r\n*2\r\n$3\r\nabc\r\n$0\r\n\r\n';
    const whole = session();
    whole.feed(C, client);
    whole.feed(S, server);
    const exp = whole.messages.map((m) => [m.type, m.attrs['db.query.text'] ?? '', m.size]);
    expect(exp.length).toBe(6);
    for (let cut = 1; cut < server.length; cut++) {
      const c = session();
      c.feed(C, client.slice(0, cut % client.length));
      c.feed(C, client.slice(cut % client.length));
      c.feed(S, server.slice(0, cut));
      c.feed(S, server.slice(cut));
      expect(c.messages.map((m) => [m.type, m.attrs['db.query.text'] ?? '', m.size]), `cut ${cut}`).toEqual(exp);
    }
  });

  it('error replies: error.type is the prefix, the message the text', () => {
    const c = session();
    c.feed(C, cmd('INCR', 'name'));
    c.feed(S, '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n');
    const r = resps(c)[0];
    expect(r.attrs['db.response.status_code']).toBe('WRONGTYPE');
    expect(describeOf(reqs(c)[0], r)).toMatchObject({ name: 'INCR', error: true, errorType: 'WRONGTYPE', message: 'WRONGTYPE Operation against a key holding the wrong kind of value' });
  });

  it('RESP3: every type is one value (map, set, attribute, verbatim, big number, double, boolean, null, blob error)', () => {
    const c = session();
    c.feed(C, cmd('HELLO', '3', 'AUTH', 'default', 'pw') + cmd('A') + cmd('B') + cmd('C') + cmd('D') + cmd('E') + cmd('F'));
    c.feed(S, '%2\r\n+server\r\n+redis\r\n+proto\r\n:3\r\n');
    c.feed(S, '~2\r\n,3.14\r\n#t\r\n');
    c.feed(S, '|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n$5\r\nhello\r\n');
    c.feed(S, '=15\r\ntxt:Some string\r\n');
    c.feed(S, '(3492890328409238509324850943850943825024385\r\n_\r\n');
    c.feed(S, '!21\r\nSYNTAX invalid syntax\r\n');
    expect(resps(c).length).toBe(7);
    expect(reqs(c)[0].attrs['db.query.text']).toBe('HELLO ? ? ? ?');
    expect(JSON.stringify(c.messages)).not.toContain('pw');
    expect(describeOf(reqs(c)[6], resps(c)[6])).toMatchObject({ error: true, errorType: 'SYNTAX' });
  });

  it('pub/sub: one reply per SUBSCRIBE, extra confirmations and deliveries are not replies', () => {
    const c = session();
    c.feed(C, cmd('SUBSCRIBE', 'news', 'sport'));
    c.feed(S, '*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$5\r\nsport\r\n:2\r\n');
    c.feed(S, '*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n');
    c.feed(S, '>3\r\n$7\r\nmessage\r\n$5\r\nsport\r\n$2\r\nhi\r\n'); // RESP3 push
    c.feed(C, cmd('UNSUBSCRIBE'));
    c.feed(S, '*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$5\r\nsport\r\n:0\r\n');
    c.feed(C, cmd('PING'));
    c.feed(S, '+PONG\r\n');
    const commands = reqs(c).filter((m) => m.attrs['db.operation.name'] !== undefined);
    expect(commands.map((m) => m.attrs['db.operation.name'])).toEqual(['SUBSCRIBE', 'UNSUBSCRIBE', 'PING']);
    expect(resps(c).length).toBe(3);
    const deliveries = reqs(c).filter((m) => m.attrs['messaging.destination.name'] !== undefined);
    expect(deliveries.map((m) => [m.attrs['messaging.destination.name'], m.expectsResponse])).toEqual([
      ['news', false],
      ['sport', false],
    ]);
    expect(describeOf(deliveries[0], null)).toMatchObject({ name: 'receive news', kind: SPAN_KIND_CONSUMER });
    expect(JSON.stringify(deliveries)).not.toContain('hello');
  });

  it('CLIENT REPLY OFF / SKIP / ON: commands that get no reply do not wait for one', () => {
    const c = session();
    c.feed(C, cmd('CLIENT', 'REPLY', 'OFF') + cmd('SET', 'a', '1') + cmd('CLIENT', 'REPLY', 'ON'));
    c.feed(S, '+OK\r\n');
    c.feed(C, cmd('CLIENT', 'REPLY', 'SKIP') + cmd('SET', 'b', '2') + cmd('GET', 'b'));
    c.feed(S, '$1\r\n2\r\n');
    expect(reqs(c).map((m) => [m.attrs['db.query.text'], m.expectsResponse])).toEqual([
      ['CLIENT REPLY ?', false],
      ['SET a ?', false],
      ['CLIENT REPLY ?', true],
      ['CLIENT REPLY ?', false],
      ['SET b ?', false],
      ['GET b', true],
    ]);
  });

  it('SELECT sets db.namespace; AUTH is redacted', () => {
    const c = session();
    c.feed(C, cmd('AUTH', 'alice', 's3cret') + cmd('SELECT', '3') + cmd('GET', 'k'));
    expect(reqs(c).map((m) => [m.attrs['db.query.text'], m.attrs['db.namespace']])).toEqual([
      ['AUTH ? ?', '0'],
      ['SELECT 3', '3'],
      ['GET k', '3'],
    ]);
    expect(JSON.stringify(c.messages)).not.toContain('s3cret');
  });

  it('skips a large bulk string across many segments without holding it', () => {
    const c = session();
    c.feed(C, cmd('GET', 'big'));
    const value = 'x'.repeat(1_000_000);
    const reply = `$${value.length}\r\n${value}\r\n`;
    for (let i = 0; i < reply.length; i += 1400) {
      const piece = reply.slice(i, i + 1400);
      const n = c.feed(S, piece);
      if (i > 20) expect(n).toBe(piece.length); // payload bytes are consumed at once
    }
    expect(resps(c).length).toBe(1);
    expect(resps(c)[0].size).toBe(reply.length);
  });

  it('resynchronises after lost bytes at the next command', () => {
    const c = session();
    c.feed(C, cmd('SET', 'k', 'v'.repeat(100)).slice(0, 30));
    c.gap(C, 500);
    c.feed(C, 'vvvv\r\n' + cmd('GET', 'k'));
    expect(reqs(c).map((m) => m.attrs['db.operation.name'])).toEqual(['GET']);
    expect(reqs(c)[0].afterGap).toBe(true);
  });

  it('never throws on hostile input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (a, b) => {
        const c = session();
        c.feed(C, a);
        c.feed(S, b);
        c.gap(S, 3);
        c.feed(S, a);
        return true;
      }),
      { numRuns: 1000 },
    );
    // Deep nesting is refused, not recursed.
    const c = session();
    c.feed(C, cmd('X'));
    c.feed(S, '*1\r\n'.repeat(100) + ':1\r\n');
    expect(c.anomalies).toContain('redis_bad_resp');
  });
});

#!/usr/bin/env node
// Synthetic Redis capture generator for the Redis replay benchmark.
//
//   node benchmarks/redis/gen.mjs OUT.pcap [--packets N] [--connections C] [--seed S]
//
// Writes a classic pcap (microsecond timestamps, Ethernet / IPv4 / TCP) of RESP2 traffic to port 6379:
// C connections (default 64) open at a time, packets interleaved. Each connection does a handshake, then
// rounds of pipelined commands (1-40 commands in one write, as clients' pipelines do) answered by the
// server in one or more writes (segmented at 1460 bytes): GET (bulk or null), SET with EX, INCR, HSET,
// HGETALL (arrays), LRANGE, MGET, DEL, EXPIRE, SADD, ZADD, PING; ~1% answered by an error reply
// (-WRONGTYPE). Values 8-4000 bytes. FIN / FIN / ACK at the end.
//
// Correct sequence numbers and checksums: tshark dissects every message. Writes OUT.pcap.truth.json:
// packets, connections, commands (= spans), per command name, error replies.
// Plain Node ESM, no dependencies.

import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Conversation, PcapWriter, interleave, rand, randInt, seedRandom } from '../gen-lib.mjs';

const USAGE =
  'usage: node benchmarks/redis/gen.mjs OUT.pcap [--packets N] [--connections C] [--seed S]\n' +
  '  --packets N      stop starting new rounds after N packets (default 300000)\n' +
  '  --connections C  concurrent connections (default 64)\n' +
  '  --seed S         PRNG seed (default 1)\n';

function fail(msg) {
  process.stderr.write(`gen.mjs: ${msg}\n${USAGE}`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { out: '', packets: 300_000, connections: 64, seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n <= 0) fail(`${a} needs a positive integer`);
      return n;
    };
    if (a === '--packets') o.packets = num();
    else if (a === '--connections') o.connections = num();
    else if (a === '--seed') o.seed = num();
    else if (a.startsWith('-')) fail(`unknown option ${a}`);
    else if (!o.out) o.out = a;
    else fail(`unexpected argument ${a}`);
  }
  if (!o.out) fail('missing OUT.pcap');
  return o;
}

const bulk = (s) => `$${s.length}\r\n${s}\r\n`;
const command = (...args) => `*${args.length}\r\n${args.map(bulk).join('')}`;
const value = () => 'v'.repeat(randInt(8, rand() < 0.9 ? 200 : 4000));

/** One command and the reply a server gives it: [name, request text, reply text, isError]. */
function exchange() {
  const key = `key:${randInt(1, 100000)}`;
  if (rand() < 0.01) return ['INCR', command('INCR', key), '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n', true];
  const r = rand();
  if (r < 0.3) return ['GET', command('GET', key), rand() < 0.8 ? bulk(value()) : '$-1\r\n', false];
  if (r < 0.5) return ['SET', command('SET', key, value(), 'EX', '3600'), '+OK\r\n', false];
  if (r < 0.58) return ['INCR', command('INCR', `counter:${randInt(1, 100)}`), `:${randInt(1, 1e6)}\r\n`, false];
  if (r < 0.64) return ['HSET', command('HSET', key, 'field', value()), ':1\r\n', false];
  if (r < 0.7) {
    const n = randInt(1, 10);
    const items = Array.from({ length: n * 2 }, (_, i) => (i % 2 ? value() : `f${i}`));
    return ['HGETALL', command('HGETALL', key), `*${items.length}\r\n${items.map(bulk).join('')}`, false];
  }
  if (r < 0.78) {
    const n = randInt(0, 20);
    return ['LRANGE', command('LRANGE', key, '0', '-1'), `*${n}\r\n${Array.from({ length: n }, () => bulk(value())).join('')}`, false];
  }
  if (r < 0.84) {
    const n = randInt(2, 8);
    const keys = Array.from({ length: n }, () => `key:${randInt(1, 100000)}`);
    return ['MGET', command('MGET', ...keys), `*${n}\r\n${keys.map(() => (rand() < 0.7 ? bulk(value()) : '$-1\r\n')).join('')}`, false];
  }
  if (r < 0.88) return ['DEL', command('DEL', key), ':1\r\n', false];
  if (r < 0.92) return ['EXPIRE', command('EXPIRE', key, '60'), ':1\r\n', false];
  if (r < 0.95) return ['SADD', command('SADD', key, value()), ':1\r\n', false];
  if (r < 0.98) return ['ZADD', command('ZADD', key, String(randInt(1, 1000)), value()), ':1\r\n', false];
  return ['PING', command('PING'), '+PONG\r\n', false];
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  seedRandom(opts.seed);
  const out = new PcapWriter(opts.out);
  const truth = { generator: 'benchmarks/redis/gen.mjs', args: opts, file: basename(opts.out), packets: 0, bytes: 0, connections: 0, commands: 0, errors: 0, byCommand: {} };
  const clock = { us: Date.UTC(2026, 10, 22, 12, 0, 0) * 1000 };
  const budget = () => out.packets >= opts.packets;
  let seq = 0;

  function* connection() {
    const n = seq++;
    truth.connections++;
    const c = new Conversation(out, clock, (10 << 24) | (2 << 16) | ((n % 60000) + 1), 30000 + (n % 30000), (10 << 24) | 250, 6379);
    c.open();
    yield;
    for (let rounds = randInt(5, 60); rounds > 0 && !budget(); rounds--) {
      const batch = Array.from({ length: rand() < 0.5 ? 1 : randInt(2, 40) }, exchange);
      c.send(true, Buffer.from(batch.map((e) => e[1]).join(''), 'latin1'));
      for (const [name, , , err] of batch) {
        truth.commands++;
        truth.byCommand[name] = (truth.byCommand[name] ?? 0) + 1;
        if (err) truth.errors++;
      }
      yield;
      c.send(false, Buffer.from(batch.map((e) => e[2]).join(''), 'latin1'));
      yield;
    }
    c.close();
  }

  interleave(opts.connections, budget, connection);
  out.close();
  truth.packets = out.packets;
  truth.bytes = out.bytes;
  writeFileSync(`${opts.out}.truth.json`, `${JSON.stringify(truth, null, 2)}\n`);
  process.stderr.write(`gen.mjs: ${opts.out}: ${truth.packets} packets, ${truth.connections} connections, ${truth.commands} commands\n`);
}

main();

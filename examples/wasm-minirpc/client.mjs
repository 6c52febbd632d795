#!/usr/bin/env node
// minirpc example client: node client.mjs PORT
// Makes a fixed set of calls on one connection and prints one JSON line per call: what was sent and
// what came back (the truth the example's test checks spanwire's spans against).
import { connect } from 'node:net';
import { encodeRequest, frameReader } from './protocol.mjs';

const port = Number(process.argv[2] ?? 7070);
const sock = connect(port, '127.0.0.1');
const waiting = new Map();
sock.on(
  'data',
  frameReader((f) => {
    const w = waiting.get(f.id);
    waiting.delete(f.id);
    w?.({ status: f.status, responseSize: f.size, error: f.status !== 0 ? f.body.toString() : '' });
  }),
);
await new Promise((res) => sock.once('connect', res));

let nextId = 100;
const calls = [];
function call(method, body, opts = {}) {
  const id = nextId++;
  const frame = encodeRequest(id, method, Buffer.from(body), opts);
  const rec = { id, method, oneWay: !!opts.oneWay, traceparent: opts.traceparent ?? '', requestSize: frame.length };
  calls.push(rec);
  sock.write(frame);
  if (opts.oneWay) return Promise.resolve(rec);
  return new Promise((res) => waiting.set(id, (r) => res(Object.assign(rec, r))));
}

await call('Echo', 'hello');
await call('GetUser', '2');
await call('GetUser', '42');
await call('Echo', 'traced', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
await call('Log', 'fire and forget', { oneWay: true });
// Two calls in flight: the slow one is answered after the fast one (pairing by request id).
await Promise.all([call('Slow', ''), call('Echo', 'fast')]);
await call('Echo', 'x'.repeat(200_000)); // larger than the plugin's 64 KiB input window
await call('Nope', '');
sock.end();
for (const c of calls) process.stdout.write(`${JSON.stringify(c)}\n`);

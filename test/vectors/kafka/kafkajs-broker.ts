/**
 * Byte vectors produced live by the real `kafkajs` client (no Kafka broker can be installed here):
 * a tiny TCP server stands in for the broker, records every byte kafkajs writes and every byte it
 * answers, per connection, in order. Its answers are written from the protocol guide
 * (https://kafka.apache.org/protocol) for the versions kafkajs asks for: ApiVersions v0-2,
 * Metadata v0-1, Produce v0-7 (acks=0 produce gets no answer, as a broker does). A topic named
 * `forbidden` is answered TOPIC_AUTHORIZATION_FAILED (29).
 */
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { W } from './wire.js';

export interface Chunk {
  toServer: boolean;
  bytes: Buffer;
}

/** What each connection carried, and the requests seen (api key, version, correlation id). */
export interface Transcript {
  connections: Chunk[][];
  requests: { apiKey: number; version: number; correlationId: number; acks?: number }[];
}

const ADVERTISED: [number, number, number][] = [
  [0, 0, 7], // Produce
  [3, 0, 1], // Metadata
  [18, 0, 2], // ApiVersions
];

function answer(apiKey: number, version: number, corr: number, body: Buffer, port: number, acksOut: { acks?: number }): Buffer | null {
  const w = new W();
  if (apiKey === 18) {
    w.i16(0).i32(ADVERTISED.length);
    for (const [k, min, max] of ADVERTISED) w.i16(k).i16(min).i16(max);
    if (version >= 1) w.i32(0);
  } else if (apiKey === 3) {
    // Request v0/v1: topics array of strings.
    const n = body.readInt32BE(0);
    const topics: string[] = [];
    let p = 4;
    for (let i = 0; i < n; i++) {
      const l = body.readInt16BE(p);
      topics.push(body.toString('utf8', p + 2, p + 2 + l));
      p += 2 + l;
    }
    w.i32(1).i32(0).str('127.0.0.1').i32(port);
    if (version >= 1) w.str(null).i32(0); // rack, controller id
    w.i32(topics.length);
    for (const t of topics) {
      w.i16(0).str(t);
      if (version >= 1) w.i8(0); // is_internal
      w.i32(1).i16(0).i32(0).i32(0).i32(1).i32(0).i32(1).i32(0); // partition 0, leader 0, replicas [0], isr [0]
    }
  } else if (apiKey === 0) {
    let p = 0;
    if (version >= 3) {
      const l = body.readInt16BE(0);
      p = 2 + Math.max(0, l);
    }
    const acks = body.readInt16BE(p);
    acksOut.acks = acks;
    if (acks === 0) return null;
    p += 6;
    const nt = body.readInt32BE(p);
    p += 4;
    w.i32(nt);
    for (let t = 0; t < nt; t++) {
      const l = body.readInt16BE(p);
      const topic = body.toString('utf8', p + 2, p + 2 + l);
      p += 2 + l;
      const np = body.readInt32BE(p);
      p += 4;
      w.str(topic).i32(np);
      for (let i = 0; i < np; i++) {
        const partition = body.readInt32BE(p);
        const size = body.readInt32BE(p + 4);
        p += 8 + Math.max(0, size);
        w.i32(partition).i16(topic === 'forbidden' ? 29 : 0).i64(42);
        if (version >= 2) w.i64(-1);
        if (version >= 5) w.i64(0);
      }
    }
    if (version >= 1) w.i32(0);
  } else {
    return null;
  }
  const payload = Buffer.concat([new W().i32(corr).buf(), w.buf()]);
  return Buffer.concat([new W().i32(payload.length).buf(), payload]);
}

/** Runs `script(brokers)` against the stand-in broker and returns what crossed each connection. */
export async function withKafkajsBroker(script: (brokers: string[]) => Promise<void>): Promise<Transcript> {
  const t: Transcript = { connections: [], requests: [] };
  const sockets: Socket[] = [];
  const server = createServer((sock) => {
    sockets.push(sock);
    const chunks: Chunk[] = [];
    t.connections.push(chunks);
    let held = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      chunks.push({ toServer: true, bytes: Buffer.from(d) });
      held = Buffer.concat([held, d]);
      while (held.length >= 4 && held.length >= 4 + held.readInt32BE(0)) {
        const size = held.readInt32BE(0);
        const msg = held.subarray(4, 4 + size);
        held = held.subarray(4 + size);
        const apiKey = msg.readInt16BE(0);
        const version = msg.readInt16BE(2);
        const corr = msg.readInt32BE(4);
        const idLen = msg.readInt16BE(8);
        const body = msg.subarray(10 + Math.max(0, idLen));
        const rec: Transcript['requests'][number] = { apiKey, version, correlationId: corr };
        t.requests.push(rec);
        const out = answer(apiKey, version, corr, body, (server.address() as AddressInfo).port, rec);
        if (out !== null) {
          chunks.push({ toServer: false, bytes: out });
          sock.write(out);
        }
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  try {
    await script([`127.0.0.1:${port}`]);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
  return t;
}

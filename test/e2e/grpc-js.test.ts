/**
 * End to end, gRPC: a real @grpc/grpc-js server and client on 127.0.0.1 (insecure: h2c), captured by
 * tcpdump on `lo`, then `spanwire replay`. Calls: unary OK, unary answered NOT_FOUND with a message,
 * unary with a deadline (grpc-timeout), server streaming (5 messages), client streaming (4 messages).
 *
 * Expected values come from the calls the test made and what the server was told to answer; the
 * grpc-timeout value from tshark's view of the capture. Never from spanwire's own output.
 * Needs root (tcpdump) and tcpdump + tshark (`bash test/setup-system.sh`).
 */
import { type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, SPANWIRE, freePort, readOtlpSpans, run, sleep, startTcpdump, stopChildren, stopTcpdump, which } from '../helpers/e2e.js';
import type { OtlpSpanView } from '../helpers/e2e.js';
import { headerValue, tsharkHttp2Streams } from '../helpers/tshark-http2.js';

if (!IS_ROOT) console.warn('\n*** SKIPPED test/e2e/grpc-js.test.ts: not root (tcpdump on lo needs root; CI runs as root) ***\n');

const ser = (o: unknown) => Buffer.from(JSON.stringify(o));
const de = (b: Buffer) => JSON.parse(b.toString()) as Record<string, unknown>;
const method = (path: string, requestStream: boolean, responseStream: boolean) => ({
  path,
  requestStream,
  responseStream,
  requestSerialize: ser,
  requestDeserialize: de,
  responseSerialize: ser,
  responseDeserialize: de,
});
/** A service defined without .proto files: JSON messages, fully qualified method paths. */
const SERVICE = {
  Get: method('/spanwire.test.Items/Get', false, false),
  Watch: method('/spanwire.test.Items/Watch', false, true),
  Upload: method('/spanwire.test.Items/Upload', true, false),
};

interface Call {
  rpc: string;
  status: string;
  message: string;
  reqMessages: number;
  respMessages: number;
  deadline: boolean;
}

describe.skipIf(!IS_ROOT)('e2e: @grpc/grpc-js server and client on loopback -> tcpdump -> spanwire replay', () => {
  let dir = '';
  let tcpdump: ChildProcess | undefined;
  let server: grpc.Server | undefined;
  let pcap = '';
  let port = 0;
  let spans: OtlpSpanView[] = [];
  const calls: Call[] = [];

  beforeAll(async () => {
    for (const bin of ['tcpdump', 'tshark']) if (!which(bin)) throw new Error(`missing ${bin}: run bash test/setup-system.sh`);
    dir = mkdtempSync(join(tmpdir(), 'spanwire-e2e-grpc-'));
    port = await freePort();
    server = new grpc.Server();
    server.addService(SERVICE, {
      Get: (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        call.request.id === 'missing' ? cb({ code: grpc.status.NOT_FOUND, details: 'no such item' }) : cb(null, { id: call.request.id, name: 'widget' }),
      Watch: (call: grpc.ServerWritableStream<Record<string, unknown>, unknown>) => {
        for (let i = 0; i < 5; i++) call.write({ seq: i });
        call.end();
      },
      Upload: (call: grpc.ServerReadableStream<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        let n = 0;
        call.on('data', () => n++);
        call.on('end', () => cb(null, { received: n }));
      },
    });
    await new Promise<void>((res, rej) => server!.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));

    pcap = join(dir, 'grpc.pcap');
    const cap = await startTcpdump(pcap, `tcp port ${port}`, (c) => (tcpdump = c));
    const Client = grpc.makeGenericClientConstructor(SERVICE, 'Items');
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Record<string, (...a: unknown[]) => unknown> & grpc.Client;
    const unary = (req: unknown, opts: grpc.CallOptions) =>
      new Promise<grpc.ServiceError | null>((res) => (client.Get as (r: unknown, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void)(req, opts, (e) => res(e)));
    let e = await unary({ id: 'a1' }, {});
    expect(e).toBeNull();
    calls.push({ rpc: 'spanwire.test.Items/Get', status: 'OK', message: '', reqMessages: 1, respMessages: 1, deadline: false });
    e = await unary({ id: 'missing' }, {});
    expect(e?.code).toBe(grpc.status.NOT_FOUND);
    calls.push({ rpc: 'spanwire.test.Items/Get', status: 'NOT_FOUND', message: 'no such item', reqMessages: 1, respMessages: 0, deadline: false });
    e = await unary({ id: 'a2' }, { deadline: Date.now() + 30_000 });
    expect(e).toBeNull();
    calls.push({ rpc: 'spanwire.test.Items/Get', status: 'OK', message: '', reqMessages: 1, respMessages: 1, deadline: true });
    const got = await new Promise<number>((res, rej) => {
      let n = 0;
      const s = (client.Watch as (r: unknown) => grpc.ClientReadableStream<unknown>)({ topic: 't' });
      s.on('data', () => n++);
      s.on('end', () => res(n));
      s.on('error', rej);
    });
    expect(got).toBe(5);
    calls.push({ rpc: 'spanwire.test.Items/Watch', status: 'OK', message: '', reqMessages: 1, respMessages: 5, deadline: false });
    await new Promise<void>((res, rej) => {
      const s = (client.Upload as (cb: (e: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<unknown>)((err) => (err ? rej(err) : res()));
      for (let i = 0; i < 4; i++) s.write({ chunk: i });
      s.end();
    });
    calls.push({ rpc: 'spanwire.test.Items/Upload', status: 'OK', message: '', reqMessages: 4, respMessages: 1, deadline: false });
    client.close();
    await sleep(300);
    await stopTcpdump(cap);
    const out = join(dir, 'spans.json');
    await run('node', [SPANWIRE, 'replay', pcap, '--format', 'otlp-json', '-o', out, '-q']);
    spans = readOtlpSpans(out).sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
  }, 60_000);

  afterAll(async () => {
    await stopChildren([[tcpdump, 'SIGINT']]);
    server?.forceShutdown();
    if (dir && process.env.SPANWIRE_E2E_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  });

  it('one span per call, in call order: method, status, message counts, errors', () => {
    expect(spans.map((s) => s.name)).toEqual(calls.map((c) => c.rpc));
    spans.forEach((s, i) => {
      const c = calls[i];
      const what = `call ${i} ${c.rpc}`;
      expect(s.attrs['spanwire.protocol'], what).toBe('http2');
      expect(s.attrs['rpc.system.name'], what).toBe('grpc');
      expect(s.attrs['rpc.method'], what).toBe(c.rpc);
      expect(s.attrs['rpc.response.status_code'], what).toBe(c.status);
      expect(s.attrs['spanwire.grpc.request.messages'], what).toBe(c.reqMessages);
      expect(s.attrs['spanwire.grpc.response.messages'], what).toBe(c.respMessages);
      expect(s.attrs['http.response.status_code'], what).toBe(200);
      // Network-observed CLIENT spans: every status but OK is an error, named by the status (SEMCONV.md).
      expect(s.status.code, what).toBe(c.status === 'OK' ? 0 : 2);
      if (c.status !== 'OK') {
        expect(s.attrs['error.type'], what).toBe(c.status);
        expect(s.status.message, what).toBe(c.message);
      }
      expect(s.attrs['spanwire.grpc.timeout_ms'] !== undefined, what).toBe(c.deadline);
    });
  });

  it('the grpc-timeout is the one on the wire (tshark), in milliseconds', () => {
    const ts = tsharkHttp2Streams(pcap, [port]).filter((t) => t.clientBlocks.length > 0);
    expect(ts.length).toBe(calls.length);
    const withTimeout = ts.map((t) => headerValue(t.clientBlocks[0], 'grpc-timeout')).filter((v) => v !== undefined);
    expect(withTimeout.length).toBe(1);
    const v = withTimeout[0]!;
    const units: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };
    const ms = Number(v.slice(0, -1)) * units[v.slice(-1)];
    const s = spans.find((x) => x.attrs['spanwire.grpc.timeout_ms'] !== undefined)!;
    expect(s.attrs['spanwire.grpc.timeout_ms']).toBeCloseTo(ms, 6);
    expect(ms).toBeGreaterThan(25_000);
    expect(ms).toBeLessThanOrEqual(30_000);
  });
});

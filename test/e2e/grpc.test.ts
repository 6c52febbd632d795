/**
 * End to end, gRPC over cleartext HTTP/2: a real @grpc/grpc-js server and client (test/e2e/grpc-peers.ts,
 * no .proto: a service definition with JSON-in-a-Buffer messages) on 127.0.0.1, captured by tcpdump on `lo`,
 * then `node bin/spanwire.js replay FILE --format otlp-json -o OUT`.
 *
 * Calls, one after the other on one connection: unary OK, unary answered NOT_FOUND "no such item"
 * (trailers-only), server streaming (5 messages), client streaming (4 messages), unary with a deadline
 * (grpc-timeout), unary with 40 KiB messages (several DATA frames each way), bidirectional streaming (3 and
 * 3), and a server stream the client cancels after 2 messages (RST_STREAM CANCEL).
 *
 * The expected spans come from the calls the test made and what the server was told to answer; tshark
 * reading the same capture confirms them on the wire (stream ids, :path, grpc-status, grpc-message, message
 * counts, grpc-timeout, RST_STREAM) and gives the exact grpc-timeout value. Never from spanwire's output.
 *
 * Needs root (tcpdump on lo) and tcpdump, tshark (`bash test/setup-system.sh`). Not root: skipped with a
 * loud warning. A missing tool is a failure. SPANWIRE_E2E_KEEP=1 keeps the temp dir (it is kept on failure).
 */
import { describe, it, expect, beforeAll, afterAll, onTestFailed } from 'vitest';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { IS_ROOT, freePort, readOtlpSpans, sleep, startTcpdump, stopChildren, stopTcpdump, which, replayToOtlp } from '../helpers/e2e.js';
import type { OtlpSpanView } from '../helpers/e2e.js';
import { type Call, echoClient, makeCalls, startEchoServer } from './grpc-peers.js';

const SETUP = 'run `bash test/setup-system.sh` as root (CI does)';
/** The deadline the client sets on the deadline call. */
const DEADLINE_MS = 20_000;

if (!IS_ROOT) {
  console.warn(
    '\n' +
      '************************************************************************************\n' +
      '* SKIPPED test/e2e/grpc.test.ts: not root. tcpdump on lo needs root;               *\n' +
      '* run the tests as root (CI does) to exercise grpc-js -> tcpdump -> spanwire replay.*\n' +
      '************************************************************************************\n',
  );
}

/** gRPC status codes by name (grpc/doc/statuscodes.md). */
const STATUS_CODE: Record<string, number> = { OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5 };
/** RST_STREAM error codes (RFC 9113 section 7). */
const H2_CANCEL = 8;

/** One HTTP/2 stream as tshark dissected it. */
interface WireStream {
  tcpStream: number;
  streamId: number;
  /** Header blocks (HEADERS/CONTINUATION fields) from the client, then from the server, in order. */
  client: Map<string, string>[];
  server: Map<string, string>[];
  /** gRPC messages tshark found in each direction. */
  clientMessages: number;
  serverMessages: number;
  /** RST_STREAM error codes and who sent them. */
  rst: { code: number; fromClient: boolean }[];
}

type Json = Record<string, unknown>;
const arr = <T,>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * tshark (the oracle) on the capture, the server port decoded as HTTP/2 (its gRPC dissector then reads the
 * messages). A packet's gRPC messages are attributed to the one stream whose DATA frames the packet carries;
 * a packet with DATA of several streams fails loudly instead of guessing (the calls are made one at a time,
 * so it does not happen).
 */
function tsharkGrpc(pcap: string, serverPort: number): WireStream[] {
  const out = execFileSync(
    'tshark',
    ['-r', pcap, '-n', '-d', `tcp.port==${serverPort},http2`, '-Y', 'http2', '-T', 'json', '--no-duplicate-keys', '-J', 'frame tcp http2 grpc'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 },
  );
  const streams = new Map<string, WireStream>();
  const get = (tcpStream: number, streamId: number) => {
    const k = `${tcpStream}/${streamId}`;
    let s = streams.get(k);
    if (!s) streams.set(k, (s = { tcpStream, streamId, client: [], server: [], clientMessages: 0, serverMessages: 0, rst: [] }));
    return s;
  };
  for (const pk of JSON.parse(out) as { _source: { layers: Json } }[]) {
    const l = pk._source.layers;
    const tcp = l.tcp as Json;
    const tcpStream = Number(tcp['tcp.stream']);
    const fromClient = Number(tcp['tcp.dstport']) === serverPort;
    const dataStreams = new Set<number>();
    for (const h2 of arr(l.http2 as Json | Json[])) {
      for (const f of arr(h2['http2.stream'] as Json | Json[])) {
        const type = Number(f['http2.type']);
        const sid = Number(f['http2.streamid']);
        if (!Number.isFinite(type) || !(sid > 0)) continue;
        const s = get(tcpStream, sid);
        if (type === 0) dataStreams.add(sid);
        if (type === 3) s.rst.push({ code: Number(f['http2.rst_stream.error']), fromClient });
        const fields = arr(f['http2.header'] as Json | Json[]);
        if ((type === 1 || type === 9) && fields.length > 0) {
          const block = new Map(fields.map((h) => [String(h['http2.header.name']), String(h['http2.header.value'] ?? '')]));
          (fromClient ? s.client : s.server).push(block);
        }
      }
    }
    const messages = arr(l.grpc as Json | Json[]).filter((g) => g['grpc.message_length'] !== undefined).length;
    if (messages > 0) {
      if (dataStreams.size !== 1) throw new Error(`frame ${(l.frame as Json)['frame.number']}: ${messages} gRPC messages, DATA of streams ${[...dataStreams]}`);
      const s = get(tcpStream, [...dataStreams][0]);
      if (fromClient) s.clientMessages += messages;
      else s.serverMessages += messages;
    }
  }
  return [...streams.values()].sort((a, b) => a.tcpStream - b.tcpStream || a.streamId - b.streamId);
}

/** grpc-timeout (`<digits><unit>`, gRPC PROTOCOL-HTTP2) in milliseconds. */
function timeoutMs(v: string): number {
  const units: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };
  const m = /^(\d{1,8})([HMSmun])$/.exec(v);
  if (!m) throw new Error(`not a grpc-timeout: ${v}`);
  return Number(m[1]) * units[m[2]];
}

/** Last value of a header over a side's blocks (trailers come after the headers). */
const last = (blocks: Map<string, string>[], name: string) => blocks.map((b) => b.get(name)).filter((v) => v !== undefined).at(-1);

describe.skipIf(!IS_ROOT)('e2e: @grpc/grpc-js server and client on loopback -> tcpdump -> spanwire replay', () => {
  let dir = '';
  let keepDir = process.env.SPANWIRE_E2E_KEEP === '1';
  let tcpdump: ChildProcess | undefined;
  let server: grpc.Server | undefined;
  let client: grpc.Client | undefined;
  let port = 0;
  let pcap = '';
  let calls: Call[] = [];

  beforeAll(async () => {
    try {
      const missing = ['tcpdump', 'tshark'].filter((b) => !which(b));
      if (missing.length) throw new Error(`missing ${missing.join(', ')}: ${SETUP}`);
      dir = mkdtempSync(join(tmpdir(), 'spanwire-e2e-grpc-'));
      port = await freePort();
      server = await startEchoServer(port);

      pcap = join(dir, 'grpc.pcap');
      const capture = await startTcpdump(pcap, `tcp port ${port}`, (c) => (tcpdump = c));
      const c = echoClient(port);
      client = c;
      calls = await makeCalls(c, DEADLINE_MS);
      c.close();
      // Let the GOAWAY/FIN exchange reach tcpdump, then stop it cleanly.
      await sleep(500);
      await stopTcpdump(capture);
    } catch (e) {
      keepDir = true;
      throw e;
    }
  }, 90_000);

  afterAll(async () => {
    client?.close();
    server?.forceShutdown();
    await stopChildren([[tcpdump, 'SIGINT']]);
    if (dir && !keepDir) rmSync(dir, { recursive: true, force: true });
    else if (dir) console.warn(`test/e2e/grpc.test.ts: kept ${dir}`);
  });

  it('tshark sees every call on one connection, as the test made it', () => {
    onTestFailed(() => void (keepDir = true));
    expect(calls.length).toBe(8);
    const wire = tsharkGrpc(pcap, port).filter((s) => s.client.some((b) => b.has(':method')));
    expect(wire.length, 'one HTTP/2 stream per call').toBe(calls.length);
    expect(new Set(wire.map((s) => s.tcpStream)).size, 'all calls on one TCP connection').toBe(1);
    // Calls are made one after the other: client streams 1, 3, 5... in call order.
    expect(wire.map((s) => s.streamId)).toEqual(calls.map((_, i) => 2 * i + 1));
    calls.forEach((c, i) => {
      const s = wire[i];
      const what = `${c.label} (stream ${s.streamId})`;
      expect(s.client[0].get(':method'), what).toBe('POST');
      expect(s.client[0].get(':path'), what).toBe(`/${c.rpc}`);
      expect(s.client[0].get('content-type'), what).toMatch(/^application\/grpc/);
      expect(s.server[0]?.get(':status'), what).toBe('200');
      const grpcStatus = last(s.server, 'grpc-status');
      expect(grpcStatus, what).toBe(c.status === undefined ? undefined : String(STATUS_CODE[c.status]));
      if (c.status === 'NOT_FOUND') {
        // grpc-js answers an error without messages trailers-only: one HEADERS block with :status and grpc-status.
        expect(s.server.length, what).toBe(1);
        expect(decodeURIComponent(s.server[0].get('grpc-message') ?? ''), what).toBe(c.message);
      }
      expect(s.clientMessages, `${what}: request messages`).toBe(c.requestMessages);
      expect(s.serverMessages, `${what}: response messages`).toBe(c.responseMessages);
      expect(s.client[0].has('grpc-timeout'), `${what}: grpc-timeout`).toBe(c.deadlineMs !== undefined);
      if (c.deadlineMs !== undefined) {
        const ms = timeoutMs(s.client[0].get('grpc-timeout')!);
        expect(ms, what).toBeGreaterThan(c.deadlineMs - 1000);
        expect(ms, what).toBeLessThanOrEqual(c.deadlineMs);
      }
      expect(s.rst.filter((r) => r.fromClient).map((r) => r.code), `${what}: RST_STREAM from the client`).toEqual(c.cancelled ? [H2_CANCEL] : []);
    });
  });

  it('spanwire replay writes one span per call with the rpc attributes, statuses and message counts', async () => {
    onTestFailed(() => void (keepDir = true));
    const out = await replayToOtlp(pcap, dir);
    const spans = readOtlpSpans(out);
    const wire = tsharkGrpc(pcap, port).filter((s) => s.client.some((b) => b.has(':method')));

    expect(spans.length, 'one span per call').toBe(calls.length);
    const byStream = new Map<number, OtlpSpanView>();
    for (const s of spans) byStream.set(Number(s.attrs['spanwire.http2.stream_id']), s);
    expect([...byStream.keys()].sort((a, b) => a - b), 'stream ids').toEqual(calls.map((_, i) => 2 * i + 1));

    calls.forEach((c, i) => {
      const streamId = 2 * i + 1;
      const what = `${c.label} (stream ${streamId})`;
      const s = byStream.get(streamId);
      expect(s, what).toBeDefined();
      if (!s) return;
      const a = s.attrs;
      expect(s.name, what).toBe(c.rpc);
      expect(s.kind, `${what}: CLIENT (network-observed)`).toBe(3);
      expect(a['spanwire.observation'], what).toBe('network');
      expect(a['spanwire.protocol'], what).toBe('http2');
      expect(a['rpc.system.name'], what).toBe('grpc');
      expect(a['rpc.method'], what).toBe(c.rpc);
      expect(a['http.request.method'], what).toBe('POST');
      expect(a['url.path'], what).toBe(`/${c.rpc}`);
      expect(a['url.scheme'], what).toBe('http');
      expect(a['server.address'], what).toBe('127.0.0.1');
      expect(a['server.port'], what).toBe(port);
      expect(a['network.protocol.name'], what).toBe('http');
      expect(a['network.protocol.version'], what).toBe('2');
      expect(String(a['user_agent.original']), what).toMatch(/^grpc-node-js\//);
      expect(a['spanwire.grpc.request.messages'], `${what}: request messages`).toBe(c.requestMessages);
      expect(a['spanwire.grpc.response.messages'], `${what}: response messages`).toBe(c.responseMessages);
      expect(s.startNs <= s.endNs, what).toBe(true);

      expect(a['http.response.status_code'], what).toBe(200);
      if (c.cancelled) {
        expect(a['spanwire.http2.rst_stream.error_code'], what).toBe('CANCEL');
      } else {
        expect(a['rpc.response.status_code'], what).toBe(c.status);
        expect(a['spanwire.http2.rst_stream.error_code'], what).toBeUndefined();
        // Network-observed CLIENT spans: every gRPC status but OK is an error, typed by the status name.
        if (c.status === 'OK') {
          expect(s.status.code, `${what}: not an error (got ${JSON.stringify(s.status)})`).not.toBe(2);
          expect(a['error.type'], what).toBeUndefined();
        } else {
          expect(s.status.code, `${what}: error (got ${JSON.stringify(s.status)})`).toBe(2);
          expect(a['error.type'], what).toBe(c.status);
          expect(s.status.message, what).toBe(c.message);
        }
      }

      if (c.deadlineMs === undefined) {
        expect(a['spanwire.grpc.timeout_ms'], what).toBeUndefined();
      } else {
        // Exactly the grpc-timeout on the wire (tshark), which is the client's deadline minus its rounding.
        const onWire = timeoutMs(wire[i].client[0].get('grpc-timeout')!);
        expect(a['spanwire.grpc.timeout_ms'], what).toBeCloseTo(onWire, 6);
        expect(Number(a['spanwire.grpc.timeout_ms']), what).toBeGreaterThan(c.deadlineMs - 1000);
        expect(Number(a['spanwire.grpc.timeout_ms']), what).toBeLessThanOrEqual(c.deadlineMs);
      }
    });
  });
});

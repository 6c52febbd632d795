/**
 * Golden tests on real HTTP/2 and gRPC captures made by others (DeepFlow's corpus: h2c, gRPC unary,
 * server streaming, client streaming, segmented frames, and captures that start mid-connection).
 * Expected values come from tshark's dissection of the same file, never from spanwire's output.
 * Where tshark could not decode a field (`<unknown>`: a dynamic-table entry from before the capture),
 * spanwire must not report a value for it either, and must mark the span hpack_incomplete.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SpanData } from '../../core/trace/span.js';
import { PCAPS, ROOT, replaySpans } from '../helpers/replay.js';
import type { TsharkStream } from '../helpers/tshark-http2.js';
import { hasUnknown, headerValue, tsharkHttp2Streams } from '../helpers/tshark-http2.js';

const HTTP = resolve(PCAPS, 'deepflow/http');

const GRPC_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

/** gRPC messages per TCP connection and sending port, counted by tshark's gRPC dissector. */
function tsharkGrpcMessages(file: string, port: number): Map<string, number> {
  const out = execFileSync(
    'tshark',
    ['-r', file, '-d', `tcp.port==${port},http2`, '-Y', 'grpc', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=;', '-e', 'tcp.stream', '-e', 'tcp.srcport', '-e', 'grpc.message_length'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const m = new Map<string, number>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [stream, src, lens] = line.split('\t');
    const k = `${stream}/${src}`;
    m.set(k, (m.get(k) ?? 0) + (lens ? lens.split(';').length : 0));
  }
  return m;
}

/** A stream spanwire must report: its request block, or a response block with a status or undecodable fields. */
function expectedStreams(ts: TsharkStream[]): TsharkStream[] {
  return ts.filter((t) => {
    const q = t.clientBlocks[0];
    const r = t.serverBlocks[0];
    return (q !== undefined && (headerValue(q, ':method') !== undefined || hasUnknown(q))) || (r !== undefined && (headerValue(r, ':status') !== undefined || hasUnknown(r)));
  });
}

/**
 * One span per HTTP/2 stream tshark finds, matched by client port and stream id, with tshark's
 * method, path, status, content-type-derived gRPC method and grpc-status; fields tshark could not
 * decode are absent from the span and the span is marked hpack_incomplete.
 */
async function expectMatchesTshark(file: string, port: number): Promise<{ spans: SpanData[]; streams: TsharkStream[] }> {
  const streams = expectedStreams(tsharkHttp2Streams(file, [port]));
  const { spans, summary } = await replaySpans([file]);
  expect(streams.length).toBeGreaterThan(0);
  expect(summary.spansByProtocol).toEqual({ http2: streams.length });
  for (const t of streams) {
    const what = `${file.split('/').pop()} tcp ${t.tcpStream} stream ${t.streamId}`;
    const s = spans.find((x) => x.attributes['spanwire.http2.stream_id'] === t.streamId && x.attributes['client.port'] === t.clientPort);
    expect(s, what).toBeDefined();
    const a = s!.attributes;
    expect(a['server.port'], what).toBe(t.serverPort);
    expect(a['network.protocol.version'], what).toBe('2');
    const q = t.clientBlocks[0];
    const method = headerValue(q, ':method');
    const path = headerValue(q, ':path');
    const ct = headerValue(q, 'content-type');
    expect(a['http.request.method'], what).toBe(method);
    if (path !== undefined) {
      const qm = path.indexOf('?');
      expect(a['url.path'], what).toBe(qm < 0 ? path : path.slice(0, qm));
    } else {
      expect(a['url.path'], what).toBeUndefined();
    }
    const authority = headerValue(q, ':authority');
    if (authority !== undefined) expect(String(a['server.address']), what).toBe(authority.replace(/:\d+$/, ''));
    // Without :authority, server.address is the server's IP (never a guessed name).
    else expect(a['server.address'], what).toBe(a['network.peer.address']);
    const grpc = ct !== undefined && ct.startsWith('application/grpc');
    if (grpc && path !== undefined) {
      expect(a['rpc.system.name'], what).toBe('grpc');
      expect(a['rpc.method'], what).toBe(path.slice(1));
      expect(s!.name, what).toBe(path.slice(1));
    } else if (!grpc && method !== undefined && ct !== undefined) {
      expect(s!.name, what).toBe(method);
    }
    const r = t.serverBlocks[0];
    const status = headerValue(r, ':status');
    expect(a['http.response.status_code'], what).toBe(status !== undefined ? Number(status) : undefined);
    const grpcStatus = t.serverBlocks.map((b) => headerValue(b, 'grpc-status')).find((v) => v !== undefined);
    if (grpcStatus !== undefined) expect(a['rpc.response.status_code'], what).toBe(GRPC_NAMES[Number(grpcStatus)]);
    else expect(a['rpc.response.status_code'], what).toBeUndefined();
    const incomplete = t.clientBlocks.some(hasUnknown) || t.serverBlocks.some(hasUnknown);
    expect(a['spanwire.http2.hpack_incomplete'], what).toBe(incomplete ? true : undefined);
    expect(s!.kind).toBe(3); // CLIENT: a foreign capture is observed from the network
  }
  return { spans, streams };
}

describe('HTTP/2 and gRPC golden captures (checked against tshark)', () => {
  it('h2c_ascii.pcap: a gRPC unary call (hipstershop CartService) from the connection start', async () => {
    const { spans } = await expectMatchesTshark(resolve(HTTP, 'h2c_ascii.pcap'), 7070);
    expect(spans.length).toBe(1);
    expect(spans[0].attributes['rpc.response.status_code']).toBe('OK');
    expect(spans[0].status.code).not.toBe(2);
  });

  it('grpc-unary.pcap: a tonic request whose response is cut by the end of the capture', async () => {
    const { spans } = await expectMatchesTshark(resolve(HTTP, 'grpc-unary.pcap'), 30035);
    expect(spans.length).toBe(1);
  });

  it('grpc-segmented.pcap: a request split over several TCP segments', async () => {
    await expectMatchesTshark(resolve(HTTP, 'grpc-segmented.pcap'), 20035);
  });

  it('grpc-server-stream.pcap: server streaming, message counts per direction and grpc-timeout', async () => {
    const file = resolve(HTTP, 'grpc-server-stream.pcap');
    const { spans, streams } = await expectMatchesTshark(file, 9001);
    expect(spans.length).toBe(1);
    const counts = tsharkGrpcMessages(file, 9001);
    const t = streams[0];
    const a = spans[0].attributes;
    expect(a['spanwire.grpc.request.messages']).toBe(counts.get(`${t.tcpStream}/${t.clientPort}`) ?? 0);
    expect(a['spanwire.grpc.response.messages']).toBe(counts.get(`${t.tcpStream}/${t.serverPort}`) ?? 0);
    expect(a['spanwire.grpc.response.messages']).toBeGreaterThan(1);
    // grpc-timeout "19986484u" (tshark shows the header): 19986.484 ms.
    expect(headerValue(t.clientBlocks[0], 'grpc-timeout')).toBe('19986484u');
    expect(a['spanwire.grpc.timeout_ms']).toBeCloseTo(19986.484, 6);
  });

  it('grpc-service-name.pcap: client streaming (grpc-go) with the handshake', async () => {
    const file = resolve(HTTP, 'grpc-service-name.pcap');
    const { spans, streams } = await expectMatchesTshark(file, 38888);
    const counts = tsharkGrpcMessages(file, 38888);
    for (const t of streams) {
      const s = spans.find((x) => x.attributes['spanwire.http2.stream_id'] === t.streamId && x.attributes['client.port'] === t.clientPort)!;
      expect(s.attributes['spanwire.grpc.request.messages']).toBe(counts.get(`${t.tcpStream}/${t.clientPort}`) ?? 0);
      expect(s.attributes['spanwire.grpc.response.messages']).toBe(counts.get(`${t.tcpStream}/${t.serverPort}`) ?? 0);
    }
  });

  it('grpc-unknown.pcap: mid-connection, dynamic-table fields unknown, nothing invented', async () => {
    await expectMatchesTshark(resolve(HTTP, 'grpc-unknown.pcap'), 7000);
  });

  it('http2-multi.pcap: two concurrent streams mid-connection, responses out of order', async () => {
    const { spans } = await expectMatchesTshark(resolve(HTTP, 'http2-multi.pcap'), 3550);
    expect(spans.length).toBe(2);
  });

  it('examples/captures/grpc-demo.pcap (the README tour): five grpc-js calls, one NOT_FOUND', async () => {
    const file = resolve(ROOT, 'examples/captures/grpc-demo.pcap');
    const { spans, streams } = await expectMatchesTshark(file, 50051);
    expect(spans.length).toBe(5);
    const counts = tsharkGrpcMessages(file, 50051);
    const t = streams[0];
    expect(counts.get(`${t.tcpStream}/${t.clientPort}`)).toBe(1 + 1 + 1 + 1 + 4);
    expect(spans.filter((s) => s.status.code === 2).map((s) => [s.attributes['rpc.response.status_code'], s.status.message])).toEqual([['NOT_FOUND', 'no such item']]);
  });

  it('httpv2-stream-id.pcap: a lone request mid-connection with a high stream id', async () => {
    const { spans } = await expectMatchesTshark(resolve(HTTP, 'httpv2-stream-id.pcap'), 11800);
    expect(spans.length).toBe(1);
    expect(spans[0].attributes['error.type']).toBe('no_response');
  });
});

describe('h2c upgrade through the whole pipeline (capture written here, values checked against tshark)', () => {
  it('GET with Upgrade: h2c, 101, then the HTTP/2 response on stream 1 and a second stream: two spans', async () => {
    const { tcpConversation, writePcap, tempDir } = await import('../helpers/pcap-builder.js');
    const h2 = await import('../helpers/h2-builder.js');
    const file = resolve(tempDir(), 'h2c-upgrade.pcap');
    const frames = tcpConversation({
      client: '10.1.0.1',
      server: '10.1.0.2',
      clientPort: 41000,
      serverPort: 80,
      exchanges: [
        { from: 'client', data: 'GET /up HTTP/1.1\r\nHost: up.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n' },
        { from: 'server', data: 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n' },
        { from: 'server', data: h2.concatBytes(h2.settings([[3, 100]]), h2.frame(h2.HEADERS, h2.END_HEADERS, 1, h2.responseBlock(404)), h2.frame(h2.DATA, h2.END_STREAM, 1, [1, 2, 3])) },
        { from: 'client', data: h2.concatBytes(h2.PREFACE, h2.settings(), h2.frame(h2.SETTINGS, h2.ACK, 0), h2.frame(h2.HEADERS, h2.END_HEADERS | h2.END_STREAM, 3, h2.requestBlock('GET', '/second', 'up.test'))) },
        { from: 'server', data: h2.concatBytes(h2.frame(h2.HEADERS, h2.END_HEADERS, 3, h2.responseBlock(200)), h2.frame(h2.DATA, h2.END_STREAM, 3, new Array(20).fill(0x61))) },
      ],
    });
    writePcap(file, frames);
    // tshark follows the upgrade on port 80 by itself.
    const ts = tsharkHttp2Streams(file);
    expect(ts.map((t) => [t.streamId, headerValue(t.serverBlocks[0], ':status')])).toEqual([
      [1, '404'],
      [3, '200'],
    ]);
    const { spans, summary } = await replaySpans([file]);
    expect(summary.spansByProtocol).toEqual({ http2: 2 });
    const byStream = new Map(spans.map((s) => [s.attributes['spanwire.http2.stream_id'], s]));
    const up = byStream.get(1)!;
    expect(up.name).toBe('GET');
    expect(up.attributes['url.path']).toBe('/up');
    expect(up.attributes['http.response.status_code']).toBe(Number(headerValue(ts[0].serverBlocks[0], ':status')));
    expect(up.attributes['http.response.body.size']).toBe(3);
    expect(up.attributes['error.type']).toBe('404');
    const second = byStream.get(3)!;
    expect(second.attributes['url.path']).toBe(headerValue(ts[1].clientBlocks[0], ':path'));
    expect(second.attributes['http.response.status_code']).toBe(200);
    expect(second.attributes['http.response.body.size']).toBe(20);
  });
});

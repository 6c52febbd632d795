/**
 * Golden tests on real HTTP/1 captures made by others (DeepFlow's corpus) and by us (nginx + curl).
 * Expected values come from tshark run on the same file, never from spanwire's own output.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SpanData } from '../../core/trace/span.js';
import { PCAPS, ROOT, durationUs, replaySpans, startEpoch, tshark } from '../helpers/replay.js';

const HTTP = resolve(PCAPS, 'deepflow/http');

function byStart(a: SpanData, b: SpanData): number {
  return a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1];
}

function uriOf(s: SpanData): string {
  const q = s.attributes['url.query'];
  return `${s.attributes['url.path']}${q !== undefined ? `?${q}` : ''}`;
}

/**
 * Compares spans with tshark's reassembled view: one span per request tshark finds, with its method,
 * URI, endpoints, start time, and the status code and response time (http.time) of its response.
 */
async function expectMatchesTshark(file: string, extra: string[] = []) {
  const reqs = tshark(
    file,
    'http.request',
    ['frame.number', 'frame.time_epoch', 'ip.src', 'tcp.srcport', 'ip.dst', 'tcp.dstport', 'http.request.method', 'http.request.uri', 'http.user_agent'],
    extra,
  );
  const resps = tshark(file, 'http.response', ['http.request_in', 'http.response.code', 'http.time'], extra);
  const respByReq = new Map(resps.map((r) => [r[0], r]));
  const { spans, summary } = await replaySpans([file]);
  spans.sort(byStart);
  expect(spans.length).toBe(reqs.length);
  expect(summary.spansByProtocol).toEqual({ http1: reqs.length });
  reqs.forEach((r, i) => {
    const [frame, epoch, src, sport, dst, dport, method, uri, ua] = r;
    const s = spans[i];
    expect(s.attributes['http.request.method'], `frame ${frame}`).toBe(method);
    expect(uriOf(s)).toBe(uri);
    expect(s.attributes['client.address']).toBe(src);
    expect(s.attributes['client.port']).toBe(Number(sport));
    expect(s.attributes['network.peer.address']).toBe(dst);
    expect(s.attributes['server.port']).toBe(Number(dport));
    if (ua) expect(s.attributes['user_agent.original']).toBe(ua);
    // tshark's epoch has ns digits; pcap has us resolution.
    expect(startEpoch(s)).toBe(epoch.slice(0, epoch.indexOf('.') + 7));
    expect(s.name).toBe(method);
    const resp = respByReq.get(frame);
    if (resp) {
      expect(s.attributes['http.response.status_code']).toBe(Number(resp[1]));
      expect(durationUs(s)).toBe(Math.round(Number(resp[2]) * 1e6));
      expect(s.kind).toBe(3); // CLIENT: a foreign capture is observed from the network
      expect(s.attributes['spanwire.observation']).toBe('network');
    } else {
      expect(s.attributes['error.type']).toBe('no_response');
    }
  });
  return spans;
}

describe('HTTP/1 golden captures (checked against tshark)', () => {
  it('httpv1.pcap: one POST and its 200 after 84.051 ms', async () => {
    const spans = await expectMatchesTshark(resolve(HTTP, 'httpv1.pcap'));
    expect(spans.length).toBe(1);
    // DeepFlow's corpus README asserts the same latency (rrt 84051 us).
    expect(durationUs(spans[0])).toBe(84051);
    expect(spans[0].attributes['server.address']).toBe('rq.cct.cloud.duba.net');
  });

  it('sw8.pcap: three POSTs on a Dubbo port, with SkyWalking context', async () => {
    const spans = await expectMatchesTshark(resolve(HTTP, 'sw8.pcap'), ['-d', 'tcp.port==20880,http']);
    expect(spans.length).toBe(3);
    for (const s of spans) expect(s.attributes['spanwire.link.method']).toBe('sw8');
  });

  it('flow-generator-http.pcap: a GET with a multi-segment response and the handshake', async () => {
    await expectMatchesTshark(resolve(HTTP, 'flow-generator-http.pcap'));
  });

  it('examples/captures/http1-demo.pcap: nginx + curl keep-alive, POST, 404, 503, HEAD, chunked gzip', async () => {
    const spans = await expectMatchesTshark(resolve(ROOT, 'examples/captures/http1-demo.pcap'));
    expect(spans.map((s) => s.attributes['http.response.status_code'])).toEqual([200, 200, 404, 201, 503, 200, 200]);
    // The three requests on one curl connection carried a W3C traceparent: they join that trace.
    const traced = spans.filter((s) => s.traceId === '4bf92f3577b34da6a3ce929d0e0e4736');
    expect(traced.length).toBe(3);
    for (const s of traced) expect(s.parentSpanId).toBe('00f067aa0ba902b7');
  });

  it('istio-tcp-frag.pcap: a response cut after its status line still pairs with the GET', async () => {
    const file = resolve(HTTP, 'istio-tcp-frag.pcap');
    // Reassembling tshark gives up on the cut response; per-packet tshark sees both start lines.
    const raw = tshark(file, 'http', ['http.request.method', 'http.request.uri', 'http.response.code'], ['-o', 'tcp.desegment_tcp_streams:FALSE']);
    expect(raw).toEqual([['GET', '/productpage', ''], ['', '', '200']]);
    const { spans } = await replaySpans([file]);
    expect(spans.length).toBe(1);
    expect(spans[0].attributes['http.request.method']).toBe('GET');
    expect(spans[0].attributes['url.path']).toBe('/productpage');
    expect(spans[0].attributes['http.response.status_code']).toBe(200);
    expect(spans[0].attributes['network.protocol.version']).toBe('1.1');
  });

  it('client-ip.pcap: a request and response cut by the end of the capture are still reported', async () => {
    const file = resolve(HTTP, 'client-ip.pcap');
    const raw = tshark(file, 'http', ['http.request.method', 'http.request.uri', 'http.response.code'], ['-o', 'tcp.desegment_tcp_streams:FALSE']);
    expect(raw.map((r) => r[0] || r[2])).toEqual(['POST', '200']);
    const { spans } = await replaySpans([file]);
    expect(spans.length).toBe(1);
    expect(spans[0].attributes['http.request.method']).toBe('POST');
    expect(uriOf(spans[0])).toBe(raw[0][1]);
    expect(spans[0].attributes['http.response.status_code']).toBe(200);
    expect(spans[0].attributes['server.port']).toBe(8080);
  });

  it('the corpus exists where the README says', () => {
    expect(existsSync(HTTP)).toBe(true);
  });
});

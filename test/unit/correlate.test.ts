/**
 * Trace correlation rules (issue 8): spans built by the test (the shapes the span builder makes).
 */
import { describe, expect, it } from 'vitest';
import { Correlator } from '../../core/trace/correlate.js';
import type { Attributes, SpanData } from '../../core/trace/span.js';
import { SPAN_KIND_CLIENT, SPAN_KIND_SERVER } from '../../core/trace/span.js';

let n = 0;
function span(kind: number, startMs: number, endMs: number, attributes: Attributes, parentSpanId = ''): SpanData {
  n++;
  const t = (ms: number): [number, number] => [1_700_000_000 + Math.floor(ms / 1000), (ms % 1000) * 1e6];
  return {
    traceId: n.toString(16).padStart(32, '0'), spanId: n.toString(16).padStart(16, '0'), parentSpanId, traceState: '', flags: 1, name: 'GET', kind,
    startTime: t(startMs), endTime: t(endMs), attributes, status: { code: 0, message: '' }, resource: { attributes: {} }, scope: { name: 's', version: '0' },
  };
}
const conn = (cport: number): Attributes => ({ 'spanwire.protocol': 'http1', 'client.address': '10.0.0.1', 'client.port': cport, 'server.address': '10.0.0.2', 'server.port': 80 });

function run(spans: SpanData[][]): SpanData[] {
  const out: SpanData[] = [];
  const c = new Correlator({ consumeTraces: (b) => void out.push(...b) }, { windowNs: 1e9 });
  for (const b of spans) c.consumeTraces(b);
  c.flush();
  return out;
}

describe('Correlator', () => {
  it('tcp_4tuple: the server span of the same connection, inside the client span, becomes its child (either arrival order)', () => {
    for (const order of ['client first', 'server first']) {
      const client = span(SPAN_KIND_CLIENT, 0, 10, conn(40000));
      const server = span(SPAN_KIND_SERVER, 2, 8, conn(40000));
      const out = run(order === 'client first' ? [[client], [server]] : [[server], [client]]);
      expect(out.length).toBe(2);
      expect([server.traceId, server.parentSpanId, server.attributes['spanwire.link.method']], order).toEqual([client.traceId, client.spanId, 'tcp_4tuple']);
    }
  });

  it('no link when ambiguous, when outside the client span, on another connection, or when the parent came from the payload', () => {
    const c1 = span(SPAN_KIND_CLIENT, 0, 10, conn(40000));
    const c2 = span(SPAN_KIND_CLIENT, 1, 9, conn(40000)); // pipelined on the same 4-tuple: two candidates
    const s1 = span(SPAN_KIND_SERVER, 2, 8, conn(40000));
    const late = span(SPAN_KIND_SERVER, 20, 30, conn(40001));
    const c3 = span(SPAN_KIND_CLIENT, 0, 10, conn(40001));
    const carried = span(SPAN_KIND_SERVER, 2, 8, conn(40002), 'aaaaaaaaaaaaaaaa');
    const c4 = span(SPAN_KIND_CLIENT, 0, 10, conn(40002));
    run([[c1, c2, s1, late, c3, carried, c4]]);
    expect([s1.parentSpanId, late.parentSpanId, carried.parentSpanId]).toEqual(['', '', 'aaaaaaaaaaaaaaaa']);
  });

  it('x-request-id: the proxy\'s outbound client span becomes the child of its inbound server span; descendants follow', () => {
    const rid = { 'http.request.header.x-request-id': ['7f3c'] };
    const inbound = span(SPAN_KIND_SERVER, 0, 50, { ...conn(40000), ...rid });
    const outbound = span(SPAN_KIND_CLIENT, 5, 40, { 'spanwire.protocol': 'http1', 'client.address': '10.0.0.2', 'client.port': 50000, 'server.address': '10.0.0.3', 'server.port': 8080, ...rid });
    const backend = span(SPAN_KIND_SERVER, 10, 30, { 'spanwire.protocol': 'http1', 'client.address': '10.0.0.2', 'client.port': 50000, 'server.address': '10.0.0.3', 'server.port': 8080 });
    run([[backend, outbound], [inbound]]);
    expect([outbound.traceId, outbound.parentSpanId, outbound.attributes['spanwire.link.method']]).toEqual([inbound.traceId, inbound.spanId, 'x-request-id']);
    expect([backend.traceId, backend.parentSpanId]).toEqual([inbound.traceId, outbound.spanId]);
  });

  it('short exchanges closer together than the clock-skew allowance still link exactly (one clock: exact containment wins)', () => {
    const c1 = span(SPAN_KIND_CLIENT, 0.0, 0.2, conn(40000));
    const s1 = span(SPAN_KIND_SERVER, 0.05, 0.15, conn(40000));
    const c2 = span(SPAN_KIND_CLIENT, 0.3, 0.5, conn(40000));
    const s2 = span(SPAN_KIND_SERVER, 0.35, 0.45, conn(40000));
    run([[s1, s2], [c1, c2]]);
    expect([s1.parentSpanId, s2.parentSpanId]).toEqual([c1.spanId, c2.spanId]);
  });

  it('a keep-alive connection with many sequential exchanges links each pair, in linear time', () => {
    const spans: SpanData[][] = [];
    const pairs: [SpanData, SpanData][] = [];
    for (let i = 0; i < 20_000; i++) {
      const c = span(SPAN_KIND_CLIENT, i, i + 0.9, conn(40000));
      const srv = span(SPAN_KIND_SERVER, i + 0.2, i + 0.7, conn(40000));
      pairs.push([c, srv]);
      spans.push(i % 2 === 0 ? [srv, c] : [c, srv]);
    }
    run(spans); // (quadratic or worse matching would run into the test timeout here)
    expect(pairs.every(([c, srv]) => srv.parentSpanId === c.spanId)).toBe(true);
  });

  it('holds spans only for the window of span time, then passes them on in arrival order', () => {
    const out: SpanData[] = [];
    const c = new Correlator({ consumeTraces: (b) => void out.push(...b) }, { windowNs: 1e9 });
    const a = span(SPAN_KIND_CLIENT, 0, 10, conn(1));
    const b = span(SPAN_KIND_CLIENT, 500, 600, conn(2));
    c.consumeTraces([a, b]);
    expect(out).toEqual([]);
    c.consumeTraces([span(SPAN_KIND_CLIENT, 1200, 1300, conn(3))]);
    expect(out).toEqual([a]);
    c.flush();
    expect(out.length).toBe(3);
  });
});

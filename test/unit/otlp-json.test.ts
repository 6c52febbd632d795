import { describe, expect, it } from 'vitest';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { encodeTraceRequest } from '../../core/otlp/json.js';
import type { SpanData } from '../../core/trace/span.js';

// Oracle: the OpenTelemetry JS OTLP/JSON serializer (@opentelemetry/otlp-transformer). Our encoder
// must produce the same ExportTraceServiceRequest for the same spans, up to the fields OTel JS always
// writes (dropped counts, empty events/links) and the integer-as-string choice the OTLP JSON
// mapping allows.

const resA = { attributes: { 'service.name': 'svc-a', 'host.name': 'h1' } };
const resB = { attributes: { 'service.name': 'svc-b' } };
const scope = { name: 'spanwire', version: '0.1.0' };

function span(over: Partial<SpanData>): SpanData {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '',
    traceState: '',
    flags: 0x101,
    name: 'GET',
    kind: 3,
    startTime: [1590632942, 463512000],
    endTime: [1590632942, 547563000],
    attributes: {},
    status: { code: 0, message: '' },
    resource: resA,
    scope,
    ...over,
  };
}

const spans: SpanData[] = [
  span({
    attributes: {
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'server.port': 8080,
      ratio: 0.5,
      ok: true,
      'http.request.header.x-request-id': ['abc', 'd"e\\f'],
      'unicode \u00e9\u4e2d': 'line\nbreak \u2028 "quoted"',
    },
  }),
  span({
    spanId: '00f067aa0ba902b7',
    parentSpanId: 'b7ad6b7169203331',
    traceState: 'congo=t61rcWkgMzE',
    flags: 0x301,
    kind: 2,
    name: 'POST',
    status: { code: 2, message: 'boom' },
    resource: resB,
    attributes: { 'error.type': '500' },
  }),
  span({ spanId: '1111111111111111', resource: resA, startTime: [0, 5], endTime: [0, 999999999] }),
  span({ spanId: '2222222222222222', resource: resA, startTime: [1590632942, 5], endTime: [1590632943, 999999999] }),
  span({ spanId: '3333333333333333', resource: resA, startTime: [1590632943, 100000000], endTime: [1590632943, 10] }),
];

function toReadable(sp: SpanData) {
  const flags = sp.flags & 0xff;
  return {
    name: sp.name,
    kind: sp.kind - 1,
    spanContext: () => ({
      traceId: sp.traceId,
      spanId: sp.spanId,
      traceFlags: flags,
      traceState: sp.traceState ? { serialize: () => sp.traceState } : undefined,
    }),
    parentSpanContext: sp.parentSpanId
      ? { traceId: sp.traceId, spanId: sp.parentSpanId, traceFlags: flags, isRemote: (sp.flags & 0x200) !== 0 }
      : undefined,
    startTime: sp.startTime,
    endTime: sp.endTime,
    attributes: sp.attributes,
    status: sp.status.message ? sp.status : { code: sp.status.code },
    events: [],
    links: [],
    duration: [0, 0],
    ended: true,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
    instrumentationScope: sp.scope,
  };
}

/** Normalise the representational freedoms of OTLP/JSON so that two encodings can be compared. */
function normalise(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (x === undefined) continue;
      if (/^dropped/.test(k) && x === 0) continue;
      if ((k === 'events' || k === 'links') && Array.isArray(x) && x.length === 0) continue;
      if (k === 'schemaUrl' && x === '') continue;
      if (k === 'intValue') {
        out[k] = String(x);
        continue;
      }
      if (k === 'status' && x && typeof x === 'object' && (x as { code?: number }).code === 0) {
        const { code: _c, ...rest } = x as Record<string, unknown>;
        out[k] = normalise(rest);
        continue;
      }
      out[k] = normalise(x);
    }
    return out;
  }
  return v;
}

describe('OTLP/JSON encoding', () => {
  it('matches the OpenTelemetry JS serializer for the same spans', () => {
    const ours = JSON.parse(encodeTraceRequest(spans));
    // OTel JS groups by resource identity too; give it one resource object per distinct resource.
    const resources = new Map([
      [resA, resourceFromAttributes(resA.attributes)],
      [resB, resourceFromAttributes(resB.attributes)],
    ]);
    const readable = spans.map((sp) => ({ ...toReadable(sp), resource: resources.get(sp.resource) }));
    const theirs = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(readable as never)));
    expect(normalise(ours)).toEqual(normalise(theirs));
  });

  it('writes times as decimal nanoseconds since the epoch', () => {
    const line = encodeTraceRequest([
      span({ startTime: [1590632942, 463512000], endTime: [1590632942, 5] }),
      span({ startTime: [0, 5], endTime: [0, 5] }),
    ]);
    const [a, b] = JSON.parse(line).resourceSpans[0].scopeSpans[0].spans;
    expect(a.startTimeUnixNano).toBe('1590632942463512000');
    expect(a.endTimeUnixNano).toBe('1590632942000000005');
    expect(b.startTimeUnixNano).toBe('5');
  });

  it('escapes strings so that every line is valid JSON', () => {
    const line = encodeTraceRequest([span({ name: 'a"b\\c\u0000\u001f', attributes: { k: '\ud800' } })]);
    const parsed = JSON.parse(line);
    expect(parsed.resourceSpans[0].scopeSpans[0].spans[0].name).toBe('a"b\\c\u0000\u001f');
    expect(line.includes('\n')).toBe(false);
  });
});

/** Trace-context formats, with the examples of their specifications. */
import { describe, expect, it } from 'vitest';
import { TraceContextCollector, parseB3Single, parseSw8, parseTraceparent, parseUberTraceId } from '../../core/trace/propagation.js';

describe('W3C traceparent (https://www.w3.org/TR/trace-context/)', () => {
  it('parses the specification example', () => {
    expect(parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      parentSpanId: 'b7ad6b7169203331',
      sampled: true,
      source: 'traceparent',
    });
    expect(parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00')?.sampled).toBe(false);
  });
  it('rejects invalid values as the specification requires', () => {
    expect(parseTraceparent('00-00000000000000000000000000000000-b7ad6b7169203331-01')).toBeNull();
    expect(parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01')).toBeNull();
    expect(parseTraceparent('ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')).toBeNull();
    expect(parseTraceparent('00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01')).toBeNull();
    expect(parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra')).toBeNull();
    expect(parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331')).toBeNull();
  });
  it('accepts a future version with more fields', () => {
    expect(parseTraceparent('cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future-holds')?.traceId).toBe(
      '0af7651916cd43dd8448eb211c80319c',
    );
  });
});

describe('B3 (https://github.com/openzipkin/b3-propagation)', () => {
  it('single header, with sampling and parent', () => {
    expect(parseB3Single('80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90')).toMatchObject({
      traceId: '80f198ee56343ba864fe8b2a57d3eff7',
      parentSpanId: 'e457b5a2e4d86bd1',
      sampled: true,
      source: 'b3',
    });
    expect(parseB3Single('a3ce929d0e0e4736-00f067aa0ba902b7-d')).toMatchObject({ traceId: '0000000000000000a3ce929d0e0e4736', sampled: true });
    expect(parseB3Single('80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1')?.sampled).toBeNull();
    expect(parseB3Single('0')).toBeNull();
    expect(parseB3Single('80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-x')).toBeNull();
  });
  it('multi headers through the collector', () => {
    const c = new TraceContextCollector();
    c.offer('x-b3-traceid', '80f198ee56343ba864fe8b2a57d3eff7');
    c.offer('x-b3-spanid', 'e457b5a2e4d86bd1');
    c.offer('x-b3-sampled', '1');
    expect(c.result()).toMatchObject({ traceId: '80f198ee56343ba864fe8b2a57d3eff7', parentSpanId: 'e457b5a2e4d86bd1', sampled: true, source: 'b3multi' });
  });
});

describe('Jaeger uber-trace-id', () => {
  it('parses full and short ids, URL-encoded too', () => {
    expect(parseUberTraceId('4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1')).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentSpanId: '00f067aa0ba902b7',
      sampled: true,
    });
    expect(parseUberTraceId('abc%3Adef%3A0%3A0')).toMatchObject({ traceId: '00000000000000000000000000000abc', parentSpanId: '0000000000000def', sampled: false });
    expect(parseUberTraceId('abc:def:0')).toBeNull();
  });
});

describe('SkyWalking sw8', () => {
  // The header of DeepFlow's sw8.pcap (a real SkyWalking agent): its trace id decodes to
  // "3912196de0cf41f4bab8a8a8108fc3a8.63.16294441329780027".
  const SW8 =
    '1-MzkxMjE5NmRlMGNmNDFmNGJhYjhhOGE4MTA4ZmMzYTguNjMuMTYyOTQ0NDEzMjk3ODAwMjc=-MzkxMjE5NmRlMGNmNDFmNGJhYjhhOGE4MTA4ZmMzYTguNjMuMTYyOTQ0NDEzMjk3ODAwMjY=-4-c2hvcC13ZWI=-NTI3ZTM2MTAwNzE3NGY4OWJhMGQwNjY2YThmOTlhNzNAMTAuMTAwLjE5LjIxNA==-L3Nob3AvZnVsbC10ZXN0-MTAuMTAwLjE4LjE3NToyMDg4MA==';
  it('derives deterministic hex ids from the base64 fields', () => {
    const a = parseSw8(SW8);
    const b = parseSw8(SW8);
    expect(a).not.toBeNull();
    expect(a!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(a!.parentSpanId).toMatch(/^[0-9a-f]{16}$/);
    expect(a).toEqual(b);
    expect(a!.sampled).toBe(true);
    // The raw values never appear.
    expect(JSON.stringify(a)).not.toContain('3912196de0cf41f4bab8a8a8108fc3a8.63');
  });
  it('rejects malformed values', () => {
    expect(parseSw8('1-abc')).toBeNull();
    expect(parseSw8('2-YQ==-Yg==-1-a-b-c-d')).toBeNull();
    expect(parseSw8('1-YQ==-Yg==-x-a-b-c-d')).toBeNull();
  });
});

describe('TraceContextCollector precedence', () => {
  it('traceparent wins over b3, uber-trace-id and sw8; x-request-id is kept', () => {
    const c = new TraceContextCollector();
    c.offer('uber-trace-id', '4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1');
    c.offer('b3', '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1');
    c.offer('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    c.offer('x-request-id', 'abc-123');
    expect(c.result()).toMatchObject({ source: 'traceparent', traceId: '0af7651916cd43dd8448eb211c80319c', requestId: 'abc-123' });
  });
  it('an invalid traceparent falls back to the next format', () => {
    const c = new TraceContextCollector();
    c.offer('traceparent', 'garbage');
    c.offer('b3', '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1');
    expect(c.result()?.source).toBe('b3');
  });
  it('only a request id: no trace, the id kept', () => {
    const c = new TraceContextCollector();
    c.offer('x-request-id', 'r1');
    expect(c.result()).toMatchObject({ traceId: '', requestId: 'r1' });
    c.reset();
    expect(c.result()).toBeNull();
  });
});

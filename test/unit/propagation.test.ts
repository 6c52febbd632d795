/** Trace-context formats, with the examples of their specifications. */
import { describe, expect, it } from 'vitest';
import { TraceContextCollector, parseB3Single, parseSw8, parseTraceparent, parseUberTraceId } from '../../core/trace/propagation.js';
import { parseB3Multi } from '../../core/trace/propagation-impl.js';

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

// ---- Spec cases (W3C trace-context test suite, B3 README, Jaeger/OTel propagator docs, SkyWalking v3,
// ---- OTel Collector skywalkingreceiver id mapping). Expected values come from those documents.

describe('W3C traceparent: the trace-context test suite cases (test/test.py)', () => {
  const TID = '12345678901234567890123456789012';
  const VALID = `00-${TID}-1234567890123456-01`;
  it('valid values, flags bit 0 = sampled', () => {
    expect(parseTraceparent(VALID)).toEqual({ traceId: TID, parentSpanId: '1234567890123456', sampled: true, traceState: '', source: 'traceparent', requestId: '' });
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')?.sampled).toBe(false);
    expect(parseTraceparent(`00-${TID}-1234567890123456-09`)?.sampled).toBe(true); // 00001001
    expect(parseTraceparent(`00-${TID}-1234567890123456-02`)?.sampled).toBe(false);
  });
  it('rejects every malformed value of the suite', () => {
    const bad = [
      `${VALID}.`, `${VALID} `, `${VALID}-what-the-future-will-be-like`, // version 00 with extra characters
      `cc-${TID}-1234567890123456-01.what-the-future-will-be-like`, `ff-${TID}-1234567890123456-01`,
      `.0-${TID}-1234567890123456-01`, `0.-${TID}-1234567890123456-01`, `000-${TID}-1234567890123456-01`, `0000-${TID}-1234567890123456-01`, `0-${TID}-1234567890123456-01`,
      '00-00000000000000000000000000000000-1234567890123456-01', '00-.2345678901234567890123456789012-1234567890123456-01', '00-1234567890123456789012345678901.-1234567890123456-01',
      '00-123456789012345678901234567890123-1234567890123456-01', '00-1234567890123456789012345678901-1234567890123456-01',
      `00-${TID}-0000000000000000-01`, `00-${TID}-.234567890123456-01`, `00-${TID}-123456789012345.-01`, `00-${TID}-12345678901234567-01`, `00-${TID}-123456789012345-01`,
      `00-${TID}-1234567890123456-.0`, `00-${TID}-1234567890123456-0.`, `00-${TID}-1234567890123456-001`, `00-${TID}-1234567890123456-1`,
      `00-${TID.toUpperCase().replace('1', 'A')}-1234567890123456-01`, '', 'garbage',
    ];
    for (const v of bad) expect(parseTraceparent(v), JSON.stringify(v)).toBeNull();
  });
  it('future versions: parsed for their first fields (cc)', () => {
    expect(parseTraceparent(`cc-${TID}-1234567890123456-01`)?.traceId).toBe(TID);
    expect(parseTraceparent(`cc-${TID}-1234567890123456-01-what-the-future-will-be-like`)?.traceId).toBe(TID);
  });
  it('a duplicated traceparent header is not used (test_traceparent_duplicated)', () => {
    const c = new TraceContextCollector();
    c.offer('traceparent', `00-${TID.slice(0, 31)}1-1234567890123456-01`);
    c.offer('traceparent', VALID);
    expect(c.result()).toBeNull();
  });
});

describe('W3C tracestate', () => {
  const TP = '00-12345678901234567890123456789012-1234567890123456-00';
  const state = (...values: string[]) => {
    const c = new TraceContextCollector();
    c.offer('traceparent', TP);
    for (const v of values) c.offer('tracestate', v);
    return c.result()!.traceState;
  };
  it('the specification example, and several fields combined in order', () => {
    expect(state('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')).toBe('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
    expect(state('foo=1,bar=2', 'rojo=1,congo=2', 'baz=3')).toBe('foo=1,bar=2,rojo=1,congo=2,baz=3');
    expect(state('', 'foo=1')).toBe('foo=1');
    expect(state('foo=1', '')).toBe('foo=1');
  });
  it('OWS around members is removed', () => {
    expect(state('foo=1 \t , \t bar=2, \t baz=3')).toBe('foo=1,bar=2,baz=3');
    expect(state('\t foo=1 \t')).toBe('foo=1');
  });
  it('all allowed characters', () => {
    const key = 'abcdefghijklmnopqrstuvwxyz0123456789_-*/';
    let value = '';
    for (let c = 0x20; c <= 0x7e; c++) if (c !== 0x2c && c !== 0x3d) value += String.fromCharCode(c);
    expect(state(`${key}=${value}`)).toBe(`${key}=${value}`);
    expect(state(`${key}@a-z0-9_-*/=${value}`)).toBe(`${key}@a-z0-9_-*/=${value}`);
  });
  it('invalid lists are dropped whole: keys, vendor format, duplicates, 33 members, lengths', () => {
    for (const v of ['foo =1', 'FOO=1', 'foo.bar=1', 'foo@=1,bar=2', '@foo=1,bar=2', 'foo@@bar=1,bar=2', 'foo@bar@baz=1,bar=2', 'foo=1,foo=1', 'foo=1,foo=2', 'foo=', 'foo']) {
      expect(state(v), v).toBe('');
    }
    expect(state('foo=1', 'foo=2')).toBe('');
    const members = (n: number) => Array.from({ length: n }, (_, i) => `bar${String(i + 1).padStart(2, '0')}=${i}`).join(',');
    expect(state(members(32)).split(',').length).toBe(32);
    expect(state(members(33))).toBe('');
    expect(state('foo=1', `${'z'.repeat(256)}=1`)).not.toBe('');
    expect(state('foo=1', `${'z'.repeat(257)}=1`)).toBe('');
    expect(state('foo=1', `${'t'.repeat(241)}@${'v'.repeat(14)}=1`)).not.toBe('');
    expect(state('foo=1', `${'t'.repeat(242)}@v=1`)).toBe('');
    expect(state('foo=1', `t@${'v'.repeat(15)}=1`)).toBe('');
  });
  it('without a valid traceparent, tracestate is not used', () => {
    const c = new TraceContextCollector();
    c.offer('traceparent', 'bad');
    c.offer('tracestate', 'rojo=1');
    c.offer('b3', '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1');
    expect(c.result()).toMatchObject({ source: 'b3', traceState: '' });
  });
});

describe('B3: the README cases', () => {
  it('single header: {TraceId}-{SpanId}-{SamplingState}-{ParentSpanId}, positional', () => {
    // The README's own example string: the second field is the SpanId by definition.
    expect(parseB3Single('80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90-1-e457b5a2e4d86bd1')).toEqual({
      traceId: '80f198ee56343ba864fe8b2a57d3eff7', parentSpanId: '05e3ac9a4f6e3b90', sampled: true, traceState: '', source: 'b3', requestId: '',
    });
    expect(parseB3Single('80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90-1')?.sampled).toBe(true);
    expect(parseB3Single('80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90-0')?.sampled).toBe(false);
    expect(parseB3Single('80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90-d')?.sampled).toBe(true); // debug implies accept
    expect(parseB3Single('64fe8b2a57d3eff7-05e3ac9a4f6e3b90')?.traceId).toBe('000000000000000064fe8b2a57d3eff7');
  });
  it('single header: sampling-only and malformed values give no context', () => {
    for (const v of ['0', '1', 'd', '80F198EE56343BA864FE8B2A57D3EFF7-05e3ac9a4f6e3b90', '00000000000000000000000000000000-05e3ac9a4f6e3b90', '80f198ee56343ba864fe8b2a57d3eff7-0000000000000000',
      '80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90-e457b5a2e4d86bd1', '80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90-1-e457b5a2e4d86bd', '80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90-1-e457b5a2e4d86bd1-x',
      '80f198ee56343ba864fe8b2a57d3eff-05e3ac9a4f6e3b90', '80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b9', '80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90-2']) {
      expect(parseB3Single(v), v).toBeNull();
    }
  });
  it('multi headers: the README example, legacy true/false, debug flag, first value wins', () => {
    const multi = (h: [string, string][]) => {
      const c = new TraceContextCollector();
      for (const [n, v] of h) c.offer(n, v);
      return c.result();
    };
    const base: [string, string][] = [['x-b3-traceid', '463ac35c9f6413ad48485a3953bb6124'], ['x-b3-spanid', 'a2fb4a1d1a96d312'], ['x-b3-parentspanid', '0020000000000001']];
    expect(multi([...base, ['x-b3-sampled', '1']])).toEqual({ traceId: '463ac35c9f6413ad48485a3953bb6124', parentSpanId: 'a2fb4a1d1a96d312', sampled: true, traceState: '', source: 'b3multi', requestId: '' });
    expect(multi([...base, ['x-b3-sampled', '0']])?.sampled).toBe(false);
    expect(multi([...base, ['x-b3-sampled', 'true']])?.sampled).toBe(true);
    expect(multi([...base, ['x-b3-sampled', 'false']])?.sampled).toBe(false);
    expect(multi(base)?.sampled).toBeNull(); // defer
    expect(multi([...base, ['x-b3-flags', '1']])?.sampled).toBe(true);
    expect(multi([['x-b3-traceid', 'a3ce929d0e0e4736'], ['x-b3-spanid', 'a2fb4a1d1a96d312'], ['x-b3-traceid', '463ac35c9f6413ad48485a3953bb6124']])?.traceId).toBe('0000000000000000a3ce929d0e0e4736');
    expect(multi([['x-b3-traceid', '463ac35c9f6413ad48485a3953bb6124']])).toBeNull();
    expect(multi([...base.slice(0, 2), ['x-b3-parentspanid', 'nothex']])).toBeNull();
    expect(parseB3Multi('463ac35c9f6413ad48485a3953bb6124', 'a2fb4a1d1a96d312', '1', '')?.source).toBe('b3multi');
    expect(parseB3Multi('463AC35C9F6413AD48485A3953BB6124', 'a2fb4a1d1a96d312', '1', '')).toBeNull();
  });
  it('the single header takes precedence over the multi headers', () => {
    const c = new TraceContextCollector();
    c.offer('x-b3-traceid', '463ac35c9f6413ad48485a3953bb6124');
    c.offer('x-b3-spanid', 'a2fb4a1d1a96d312');
    c.offer('b3', '80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90');
    expect(c.result()?.source).toBe('b3');
  });
});

describe('Jaeger uber-trace-id: {trace-id}:{span-id}:{parent-span-id}:{flags}', () => {
  it('the OTel Jaeger propagator example, padded ids, case, flags', () => {
    expect(parseUberTraceId('000000000000000000000000deadbeef:00000000deadbef0:00000000:01')).toEqual({
      traceId: '000000000000000000000000deadbeef', parentSpanId: '00000000deadbef0', sampled: true, traceState: '', source: 'uber-trace-id', requestId: '',
    });
    expect(parseUberTraceId('deadbeef:deadbef0:0:1')).toMatchObject({ traceId: '000000000000000000000000deadbeef', parentSpanId: '00000000deadbef0' });
    expect(parseUberTraceId('DEADBEEF:DEADBEF0:0:1')?.traceId).toBe('000000000000000000000000deadbeef');
    expect(parseUberTraceId('deadbeef:deadbef0:0:3')?.sampled).toBe(true); // sampled + debug
    expect(parseUberTraceId('deadbeef:deadbef0:0:2')?.sampled).toBe(false); // debug only
    expect(parseUberTraceId('deadbeef:deadbef0:0:0')?.sampled).toBe(false);
    expect(parseUberTraceId('deadbeef%3adeadbef0%3A0%3A1')?.traceId).toBe('000000000000000000000000deadbeef');
  });
  it('invalid values', () => {
    for (const v of ['0:deadbef0:0:1', 'deadbeef:0:0:1', 'deadbeef:deadbef0:0:100', 'deadbeef:deadbef0:0:', 'deadbeef:deadbef0:0', 'deadbeef:deadbef0:0:1:2', ':deadbef0:0:1', 'deadbeef:deadbef0:x:1',
      `${'a'.repeat(33)}:deadbef0:0:1`, `deadbeef:${'a'.repeat(17)}:0:1`, 'deadbeef%2Fdeadbef0%3A0%3A1', 'deadbeef:deadbef0:0:1%']) {
      expect(parseUberTraceId(v), v).toBeNull();
    }
  });
});

describe('SkyWalking sw8: ids mapped as the OTel Collector skywalkingreceiver maps them', () => {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const sw8 = (trace: string, segment: string, span: string, sample = '1') =>
    [sample, b64(trace), b64(segment), span, b64('shop-web'), b64('inst@10.0.0.1'), b64('/shop/full-test'), b64('10.0.0.2:20880')].join('-');
  const HEX = '0123456789abcdef0123456789abcdef';

  it('UUID trace ids are their 16 bytes', () => {
    expect(parseSw8(sw8('de5980b8-fce3-4a37-aab9-b4ac3af7eedd', HEX, '0'))?.traceId).toBe('de5980b8fce34a37aab9b4ac3af7eedd');
    expect(parseSw8(sw8(HEX, HEX, '0'))?.traceId).toBe(HEX);
  });
  it('Java-agent ids {32 hex}.{mid}.{last}: XOR of mid into bytes 4-7 and last into bytes 8-15, little-endian', () => {
    // mid 1 flips byte 4 (0x89 -> 0x88); last 258 = 0x0102 flips bytes 8, 9 (0x01 -> 0x03, 0x23 -> 0x22).
    expect(parseSw8(sw8(`${HEX}.1.258`, HEX, '0'))?.traceId).toBe('0123456788abcdef0322456789abcdef');
  });
  it('span ids: segment bytes with the span id XORed into bytes 0-3, then bytes 0-7 XOR bytes 8-15', () => {
    // span 1 flips byte 0 (0x01 -> 0x00); the two halves are then equal but for byte 0: 0x00 ^ 0x01.
    expect(parseSw8(sw8(HEX, HEX, '1'))?.parentSpanId).toBe('0100000000000000');
  });
  it('other id forms fall back to SHA-256 (first 16 / 8 bytes)', async () => {
    const { createHash } = await import('node:crypto');
    const h = (s: string) => createHash('sha256').update(s).digest('hex');
    const c = parseSw8(sw8('custom-trace-1', 'seg-7', '3'))!;
    expect(c.traceId).toBe(h('custom-trace-1').slice(0, 32));
    expect(c.parentSpanId).toBe(h('seg-7/3').slice(0, 16));
  });
  it('sampling flag, and nothing but derived ids is kept', () => {
    const c = parseSw8(sw8('custom-trace-1', 'seg-7', '3', '0'))!;
    expect(c).toMatchObject({ sampled: false, source: 'sw8', traceState: '', requestId: '' });
    const all = JSON.stringify(c);
    for (const raw of ['custom-trace-1', 'seg-7', 'shop-web', '10.0.0.1', '/shop', b64('shop-web')]) expect(all).not.toContain(raw);
  });
  it('malformed headers', () => {
    const ok = sw8('t', 's', '0').split('-');
    const bad = [
      ok.slice(0, 7).join('-'), [...ok, 'x'].join('-'), ['2', ...ok.slice(1)].join('-'), [ok[0], ok[1], ok[2], '-1', ...ok.slice(4)].join('-'),
      [ok[0], ok[1], ok[2], 'x', ...ok.slice(4)].join('-'), [...ok.slice(0, 4), '', ...ok.slice(5)].join('-'), [ok[0], 'a*b=', ...ok.slice(2)].join('-'),
      [ok[0], 'abcde', ...ok.slice(2)].join('-'), [ok[0], '', ...ok.slice(2)].join('-'), [ok[0], ok[1], ok[2], '99999999999', ...ok.slice(4)].join('-'),
    ];
    for (const v of bad) expect(parseSw8(v), v).toBeNull();
  });
});

describe('TraceContextCollector', () => {
  const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const UBER = '4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1';
  const SW8 = ['1', 'YQ==', 'Yg==', '0', 'Yw==', 'ZA==', 'ZQ==', 'Zg=='].join('-');
  it('precedence traceparent > b3 > X-B3-* > uber-trace-id > sw8, each falling back to the next', () => {
    const all: [string, string][] = [['sw8', SW8], ['uber-trace-id', UBER], ['x-b3-traceid', '463ac35c9f6413ad48485a3953bb6124'], ['x-b3-spanid', 'a2fb4a1d1a96d312'], ['b3', '80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90'], ['traceparent', TP]];
    const order = ['traceparent', 'b3', 'b3multi', 'uber-trace-id', 'sw8'];
    for (let drop = 0; drop < order.length; drop++) {
      const c = new TraceContextCollector();
      const skip = new Set(order.slice(0, drop).flatMap((s) => (s === 'b3multi' ? ['x-b3-traceid', 'x-b3-spanid'] : [s])));
      for (const [n, v] of all) if (!skip.has(n)) c.offer(n, v);
      expect(c.result()?.source).toBe(order[drop]);
    }
  });
  it('request ids: x-request-id > x-correlation-id > request-id, whatever the order; cut at 256; empty ignored', () => {
    const c = new TraceContextCollector();
    c.offer('request-id', 'r3');
    c.offer('x-correlation-id', 'r2');
    expect(c.result()?.requestId).toBe('r2');
    c.offer('x-request-id', '');
    expect(c.result()?.requestId).toBe('r2');
    c.offer('x-request-id', 'r1');
    c.offer('x-request-id', 'r0');
    expect(c.result()).toMatchObject({ requestId: 'r1', traceId: '' });
    c.reset();
    c.offer('x-request-id', 'x'.repeat(300));
    expect(c.result()?.requestId).toBe('x'.repeat(256));
  });
  it('offerBytes: names of any case, OWS trimmed, other fields ignored', () => {
    const c = new TraceContextCollector();
    const line = Buffer.from(`TraceParent:  ${TP}\t`, 'latin1');
    expect(c.offerBytes(line, 0, 11, 12, line.length)).toBe(true);
    const other = Buffer.from('Authorization: secret', 'latin1');
    expect(c.offerBytes(other, 0, 13, 14, other.length)).toBe(false);
    const near = Buffer.from('traceparenT2: x', 'latin1');
    expect(c.offerBytes(near, 0, 12, 13, near.length)).toBe(false);
    expect(c.any).toBe(true);
    expect(c.result()).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', source: 'traceparent' });
    expect(TraceContextCollector.wants('x-b3-flags')).toBe(true);
    expect(TraceContextCollector.wants('authorization')).toBe(false);
    c.reset();
    expect(c.any).toBe(false);
    expect(c.result()).toBeNull();
  });
});

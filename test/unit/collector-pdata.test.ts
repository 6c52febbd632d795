/**
 * spanwire's OTLP codec against the official opentelemetry-proto definitions (protobufjs code
 * generated from them, `otlp-proto-oracle`): requests built and encoded by that independent code,
 * decoded by spanwire and encoded again, must decode to the same message. Includes the values a
 * plain attribute cannot hold (int64 past 2^53, integral doubles, bytes, maps, mixed lists, empty
 * values), metrics of every type, logs, and malformed input.
 */
import { describe, expect, it } from 'vitest';
import { decodeRequest, encodeRequest, spansOf } from '../../core/collector/pdata/codec.js';
import { RawTraces, type CollectorSpan } from '../../core/collector/pdata/model.js';
import { decodeTracesProto, encodeTracesProto, rewriteResourcesProto, scanTracesProto, tracesFromJson, tracesToJson } from '../../core/collector/pdata/traces.js';
import { ProtoError } from '../../core/collector/pdata/wire.js';
import { MESSAGES, oracleDecode } from '../e2e/collector-oracle.js';

const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

/** An ExportTraceServiceRequest as protobufjs' fromObject takes it (ids in base64, 64-bit as strings). */
const TRACE_REQUEST = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'oracle-svc' } }], droppedAttributesCount: 3 },
      schemaUrl: 'https://opentelemetry.io/schemas/1.21.0',
      scopeSpans: [
        {
          scope: { name: 'lib', version: '1.0', attributes: [{ key: 'scope.attr', value: { boolValue: true } }], droppedAttributesCount: 1 },
          schemaUrl: 'https://opentelemetry.io/schemas/1.22.0',
          spans: [
            {
              traceId: b64('0102030405060708090a0b0c0d0e0f10'),
              spanId: b64('1112131415161718'),
              parentSpanId: b64('2122232425262728'),
              traceState: 'a=1,b=2',
              flags: 0x301,
              name: 'edge values',
              kind: 2,
              startTimeUnixNano: '1795329903893427001',
              endTimeUnixNano: '18446744073709551615',
              attributes: [
                { key: 'big.int', value: { intValue: '9007199254740993' } },
                { key: 'neg.int', value: { intValue: '-42' } },
                { key: 'min.int', value: { intValue: '-9223372036854775808' } },
                { key: 'integral.double', value: { doubleValue: 5 } },
                { key: 'double', value: { doubleValue: 0.125 } },
                { key: 'bytes', value: { bytesValue: Buffer.from([0, 1, 2, 255]).toString('base64') } },
                { key: 'map', value: { kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }, { key: 'n', value: { intValue: '1' } }] } } },
                { key: 'mixed', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '1' }, { boolValue: false }] } } },
                { key: 'bools', value: { arrayValue: { values: [{ boolValue: true }] } } },
                { key: 'empty.array', value: { arrayValue: {} } },
                { key: 'empty.value', value: {} },
                { key: 'no.value' },
                { key: 'zero.int', value: { intValue: '0' } },
                { key: 'empty.string', value: { stringValue: '' } },
                { key: 'unicode', value: { stringValue: 'Grüße ✓ 日本' } },
              ],
              droppedAttributesCount: 7,
              events: [
                { timeUnixNano: '1795329903893427002', name: 'ev', attributes: [{ key: 'x', value: { doubleValue: 1.5 } }], droppedAttributesCount: 2 },
                { timeUnixNano: '0', name: '' },
              ],
              droppedEventsCount: 4,
              links: [{ traceId: b64('aa'.repeat(16)), spanId: b64('bb'.repeat(8)), traceState: 'z=9', attributes: [{ key: 'l', value: { stringValue: 'v' } }], droppedAttributesCount: 1, flags: 0x101 }],
              droppedLinksCount: 5,
              status: { code: 2, message: 'boom' },
            },
            { traceId: b64('ff'.repeat(16)), spanId: b64('ee'.repeat(8)), name: 'minimal', startTimeUnixNano: '1', endTimeUnixNano: '2', status: {} },
          ],
        },
      ],
    },
    { resource: {}, scopeSpans: [{ scope: {}, spans: [{ traceId: b64('11'.repeat(16)), spanId: b64('22'.repeat(8)), name: 'empty resource', status: {} }] }] },
  ],
};

function oracleEncode(signal: 'traces' | 'metrics' | 'logs', obj: object): Buffer {
  const m = MESSAGES[signal];
  return Buffer.from(m.encode(m.fromObject(obj)).finish());
}

describe('OTLP traces codec vs opentelemetry-proto', () => {
  const body = oracleEncode('traces', TRACE_REQUEST);
  const expected = oracleDecode('traces', body);

  it('protobuf -> spans -> protobuf keeps every field and value type', () => {
    const spans = decodeTracesProto(body);
    expect(spans).toHaveLength(3);
    expect(oracleDecode('traces', encodeTracesProto(spans))).toEqual(expected);
  });

  it('exposes plain values to processors, exact where they can be', () => {
    const s = decodeTracesProto(body)[0];
    expect(s.traceId).toBe('0102030405060708090a0b0c0d0e0f10');
    expect(s.parentSpanId).toBe('2122232425262728');
    expect(s.startTime).toEqual([1795329903, 893427001]);
    expect(s.endTime).toEqual([18446744073, 709551615]);
    expect(s.attributes['neg.int']).toBe(-42);
    expect(s.attributes['double']).toBe(0.125);
    expect(s.attributes['big.int']).toBe('9007199254740993');
    expect(s.attributes['unicode']).toBe('Grüße ✓ 日本');
    expect(s.resource.schemaUrl).toBe('https://opentelemetry.io/schemas/1.21.0');
    expect(s.scope.schemaUrl).toBe('https://opentelemetry.io/schemas/1.22.0');
    expect(s.status).toEqual({ code: 2, message: 'boom' });
  });

  it('a changed attribute is exported with its new value; unchanged ones keep their exact type', () => {
    const spans = decodeTracesProto(body);
    spans[0].attributes['integral.double'] = 6;
    const out = oracleDecode('traces', encodeTracesProto(spans)) as { resourceSpans: { scopeSpans: { spans: { attributes: { key: string; value: object }[] }[] }[] }[] };
    const attrs = out.resourceSpans[0].scopeSpans[0].spans[0].attributes;
    expect(attrs.find((a) => a.key === 'integral.double')!.value).toMatchObject({ intValue: '6' });
    expect(attrs.find((a) => a.key === 'big.int')!.value).toMatchObject({ intValue: '9007199254740993' });
  });

  it('OTLP/JSON -> spans -> protobuf equals the protobuf input', () => {
    const json = tracesToJson(decodeTracesProto(body));
    const spans = tracesFromJson(JSON.parse(JSON.stringify(json)));
    expect(oracleDecode('traces', encodeTracesProto(spans))).toEqual(expected);
  });

  it('raw pass-through: counted without decoding, sent as the bytes that came in', () => {
    const raw = decodeRequest('traces', body, 'proto');
    expect(raw).toBeInstanceOf(RawTraces);
    expect((raw as RawTraces).count).toBe(3);
    expect(encodeRequest('traces', raw, 'proto')).toBe(body);
    const two = new RawTraces([body, body], 6);
    expect(spansOf(two)).toHaveLength(6);
    expect(oracleDecode('traces', two.bytes()).resourceSpans).toHaveLength(4);
  });

  it('resource rewrite in the protobuf bytes: resources changed, every span byte kept', () => {
    const out = rewriteResourcesProto(body, (res) => {
      res.attributes['deployment.environment.name'] = 'prod';
      delete res.attributes['service.name'];
    });
    const want = structuredClone(expected) as { resourceSpans: { resource: { attributes: unknown[] } }[] };
    want.resourceSpans[0].resource.attributes = [{ key: 'deployment.environment.name', value: { stringValue: 'prod' } }];
    want.resourceSpans[1].resource.attributes = [{ key: 'deployment.environment.name', value: { stringValue: 'prod' } }];
    expect(oracleDecode('traces', out)).toEqual(want);
  });

  it('refuses malformed protobuf with a ProtoError (never a crash)', () => {
    for (const bad of [body.subarray(0, body.length - 3), Buffer.from([0x0a, 0x05, 0x12, 0x10, 0x00]), Buffer.from([0x0b]), Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]) {
      expect(() => scanTracesProto(bad)).toThrow(ProtoError);
      expect(() => decodeTracesProto(bad)).toThrow(ProtoError);
    }
    // Random bytes: a ProtoError or a result, never anything else.
    for (let i = 0; i < 500; i++) {
      const junk = Buffer.from(Array.from({ length: 1 + (i % 64) }, (_, j) => (i * 131 + j * 17) & 0xff));
      try {
        decodeTracesProto(junk);
      } catch (e) {
        expect(e).toBeInstanceOf(ProtoError);
      }
    }
  });
});

describe('OTLP metrics and logs codec vs opentelemetry-proto', () => {
  const METRICS = {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'm' } }] },
        scopeMetrics: [
          {
            scope: { name: 'meter', version: '2' },
            metrics: [
              { name: 'g', unit: '1', gauge: { dataPoints: [{ asDouble: 0, timeUnixNano: '5', attributes: [{ key: 'a', value: { intValue: '1' } }] }] } },
              { name: 's', description: 'sum', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ asInt: '-7', startTimeUnixNano: '1', timeUnixNano: '2', exemplars: [{ asDouble: 1.5, timeUnixNano: '2', traceId: b64('ab'.repeat(16)), spanId: b64('cd'.repeat(8)) }] }] } },
              { name: 'h', unit: 's', histogram: { aggregationTemporality: 1, dataPoints: [{ count: '3', sum: 0, bucketCounts: ['1', '0', '2'], explicitBounds: [0.1, 1], min: 0, max: 2, flags: 1 }] } },
              { name: 'e', exponentialHistogram: { aggregationTemporality: 2, dataPoints: [{ count: '4', scale: -3, zeroCount: '1', positive: { offset: -2, bucketCounts: ['1', '2'] }, negative: { offset: 1, bucketCounts: ['0'] }, zeroThreshold: 0.001 }] } },
              { name: 'q', summary: { dataPoints: [{ count: '10', sum: 5.5, quantileValues: [{ quantile: 0.5, value: 0.4 }, { quantile: 1, value: 2 }] }] } },
            ],
          },
        ],
      },
    ],
  };
  const LOGS = {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'l' } }] },
        scopeLogs: [
          {
            scope: { name: 'logger' },
            logRecords: [
              { timeUnixNano: '1795329903893427001', observedTimeUnixNano: '1795329903893427002', severityNumber: 17, severityText: 'ERROR', body: { kvlistValue: { values: [{ key: 'msg', value: { stringValue: 'x' } }] } }, attributes: [{ key: 'k', value: { intValue: '9007199254740995' } }], droppedAttributesCount: 1, flags: 1, traceId: b64('12'.repeat(16)), spanId: b64('34'.repeat(8)), eventName: 'ev' },
            ],
          },
        ],
      },
    ],
  };

  for (const [signal, obj] of [
    ['metrics', METRICS],
    ['logs', LOGS],
  ] as const) {
    it(`${signal}: protobuf -> OTLP/JSON form -> protobuf, and via OTLP/JSON text`, () => {
      const body = oracleEncode(signal, obj);
      const expected = oracleDecode(signal, body);
      const data = decodeRequest(signal, body, 'proto');
      expect(oracleDecode(signal, encodeRequest(signal, data, 'proto'))).toEqual(expected);
      const viaJson = decodeRequest(signal, encodeRequest(signal, data, 'json'), 'json');
      expect(oracleDecode(signal, encodeRequest(signal, viaJson, 'proto'))).toEqual(expected);
    });
  }
});

it('spans built from traffic (plain SpanData) encode as OTLP', () => {
  const s: CollectorSpan = {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name: 'GET',
    kind: 3,
    startTime: [1795329903, 893427000],
    endTime: [1795329903, 893517000],
    attributes: { 'http.request.method': 'GET', 'server.port': 18080, tags: ['a'] },
    status: { code: 0, message: '' },
    resource: { attributes: { 'service.name': 'x' } },
    scope: { name: 'spanwire', version: '0.1.0' },
  };
  const out = oracleDecode('traces', encodeTracesProto([s])) as { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] };
  const span = out.resourceSpans[0].scopeSpans[0].spans[0];
  expect(span.startTimeUnixNano).toBe('1795329903893427000');
  expect(span.attributes).toEqual([
    { key: 'http.request.method', value: { stringValue: 'GET' } },
    { key: 'server.port', value: { intValue: '18080' } },
    { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }] } } },
  ]);
});

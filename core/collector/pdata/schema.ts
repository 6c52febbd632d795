/**
 * A table-driven protobuf codec between protobuf bytes and the OTLP/JSON mapping (proto3 JSON with
 * OTLP's rules: lowerCamelCase names, trace/span ids as hex, enums as integers, 64-bit integers as
 * decimal strings), used for metrics and logs, and the small gRPC status messages. The tables
 * transcribe opentelemetry-proto (common/v1, resource/v1, metrics/v1, logs/v1, collector/*).
 */
import { decodeAnyValue, encodeAnyJson } from './anyvalue.js';
import type { AnyValueJson } from './model.js';
import { ProtoError, Reader, Writer } from './wire.js';

type Scalar = 'string' | 'bytes' | 'hex' | 'bool' | 'uint32' | 'int32' | 'sint32' | 'enum' | 'int64' | 'uint64' | 'fixed64' | 'sfixed64' | 'fixed32' | 'double' | 'any';

export interface FieldDef {
  no: number;
  name: string;
  type: Scalar | MessageDef;
  repeated?: boolean;
  /** Field with presence (oneof member, `optional`): written even when it holds the default. */
  presence?: boolean;
}
export interface MessageDef {
  name: string;
  fields: FieldDef[];
  byNo?: Map<number, FieldDef>;
}

function msg(name: string, fields: FieldDef[]): MessageDef {
  return { name, fields };
}
const f = (no: number, name: string, type: Scalar | MessageDef, extra: Partial<FieldDef> = {}): FieldDef => ({ no, name, type, ...extra });
const rep = { repeated: true };
const opt = { presence: true };

// common/v1 and resource/v1
const KeyValue = msg('KeyValue', [f(1, 'key', 'string'), f(2, 'value', 'any')]);
const Scope = msg('InstrumentationScope', [f(1, 'name', 'string'), f(2, 'version', 'string'), f(3, 'attributes', KeyValue, rep), f(4, 'droppedAttributesCount', 'uint32')]);
const Resource = msg('Resource', [f(1, 'attributes', KeyValue, rep), f(2, 'droppedAttributesCount', 'uint32')]);

// metrics/v1
const Exemplar = msg('Exemplar', [
  f(7, 'filteredAttributes', KeyValue, rep),
  f(2, 'timeUnixNano', 'fixed64'),
  f(3, 'asDouble', 'double', opt),
  f(6, 'asInt', 'sfixed64', opt),
  f(4, 'spanId', 'hex'),
  f(5, 'traceId', 'hex'),
]);
const NumberDataPoint = msg('NumberDataPoint', [
  f(7, 'attributes', KeyValue, rep),
  f(2, 'startTimeUnixNano', 'fixed64'),
  f(3, 'timeUnixNano', 'fixed64'),
  f(4, 'asDouble', 'double', opt),
  f(6, 'asInt', 'sfixed64', opt),
  f(5, 'exemplars', Exemplar, rep),
  f(8, 'flags', 'uint32'),
]);
const HistogramDataPoint = msg('HistogramDataPoint', [
  f(9, 'attributes', KeyValue, rep),
  f(2, 'startTimeUnixNano', 'fixed64'),
  f(3, 'timeUnixNano', 'fixed64'),
  f(4, 'count', 'fixed64'),
  f(5, 'sum', 'double', opt),
  f(6, 'bucketCounts', 'fixed64', rep),
  f(7, 'explicitBounds', 'double', rep),
  f(8, 'exemplars', Exemplar, rep),
  f(10, 'flags', 'uint32'),
  f(11, 'min', 'double', opt),
  f(12, 'max', 'double', opt),
]);
const Buckets = msg('Buckets', [f(1, 'offset', 'sint32'), f(2, 'bucketCounts', 'uint64', rep)]);
const ExpHistogramDataPoint = msg('ExponentialHistogramDataPoint', [
  f(1, 'attributes', KeyValue, rep),
  f(2, 'startTimeUnixNano', 'fixed64'),
  f(3, 'timeUnixNano', 'fixed64'),
  f(4, 'count', 'fixed64'),
  f(5, 'sum', 'double', opt),
  f(6, 'scale', 'sint32'),
  f(7, 'zeroCount', 'fixed64'),
  f(8, 'positive', Buckets),
  f(9, 'negative', Buckets),
  f(10, 'flags', 'uint32'),
  f(11, 'exemplars', Exemplar, rep),
  f(12, 'min', 'double', opt),
  f(13, 'max', 'double', opt),
  f(14, 'zeroThreshold', 'double'),
]);
const ValueAtQuantile = msg('ValueAtQuantile', [f(1, 'quantile', 'double'), f(2, 'value', 'double')]);
const SummaryDataPoint = msg('SummaryDataPoint', [
  f(7, 'attributes', KeyValue, rep),
  f(2, 'startTimeUnixNano', 'fixed64'),
  f(3, 'timeUnixNano', 'fixed64'),
  f(4, 'count', 'fixed64'),
  f(5, 'sum', 'double'),
  f(6, 'quantileValues', ValueAtQuantile, rep),
  f(8, 'flags', 'uint32'),
]);
const Metric = msg('Metric', [
  f(1, 'name', 'string'),
  f(2, 'description', 'string'),
  f(3, 'unit', 'string'),
  f(5, 'gauge', msg('Gauge', [f(1, 'dataPoints', NumberDataPoint, rep)]), opt),
  f(7, 'sum', msg('Sum', [f(1, 'dataPoints', NumberDataPoint, rep), f(2, 'aggregationTemporality', 'enum'), f(3, 'isMonotonic', 'bool')]), opt),
  f(9, 'histogram', msg('Histogram', [f(1, 'dataPoints', HistogramDataPoint, rep), f(2, 'aggregationTemporality', 'enum')]), opt),
  f(10, 'exponentialHistogram', msg('ExponentialHistogram', [f(1, 'dataPoints', ExpHistogramDataPoint, rep), f(2, 'aggregationTemporality', 'enum')]), opt),
  f(11, 'summary', msg('Summary', [f(1, 'dataPoints', SummaryDataPoint, rep)]), opt),
  f(12, 'metadata', KeyValue, rep),
]);
const ScopeMetrics = msg('ScopeMetrics', [f(1, 'scope', Scope), f(2, 'metrics', Metric, rep), f(3, 'schemaUrl', 'string')]);
const ResourceMetrics = msg('ResourceMetrics', [f(1, 'resource', Resource), f(2, 'scopeMetrics', ScopeMetrics, rep), f(3, 'schemaUrl', 'string')]);
export const ExportMetricsServiceRequest = msg('ExportMetricsServiceRequest', [f(1, 'resourceMetrics', ResourceMetrics, rep)]);

// logs/v1
const LogRecord = msg('LogRecord', [
  f(1, 'timeUnixNano', 'fixed64'),
  f(11, 'observedTimeUnixNano', 'fixed64'),
  f(2, 'severityNumber', 'enum'),
  f(3, 'severityText', 'string'),
  f(5, 'body', 'any'),
  f(6, 'attributes', KeyValue, rep),
  f(7, 'droppedAttributesCount', 'uint32'),
  f(8, 'flags', 'fixed32'),
  f(9, 'traceId', 'hex'),
  f(10, 'spanId', 'hex'),
  f(12, 'eventName', 'string'),
]);
const ScopeLogs = msg('ScopeLogs', [f(1, 'scope', Scope), f(2, 'logRecords', LogRecord, rep), f(3, 'schemaUrl', 'string')]);
const ResourceLogs = msg('ResourceLogs', [f(1, 'resource', Resource), f(2, 'scopeLogs', ScopeLogs, rep), f(3, 'schemaUrl', 'string')]);
export const ExportLogsServiceRequest = msg('ExportLogsServiceRequest', [f(1, 'resourceLogs', ResourceLogs, rep)]);

// collector/*/v1 responses: ExportXServiceResponse{partial_success=1{rejected=1 int64, error_message=2}}
const partial = (rejected: string) => msg('PartialSuccess', [f(1, rejected, 'int64'), f(2, 'errorMessage', 'string')]);
export const ExportTraceServiceResponse = msg('ExportTraceServiceResponse', [f(1, 'partialSuccess', partial('rejectedSpans'))]);
export const ExportMetricsServiceResponse = msg('ExportMetricsServiceResponse', [f(1, 'partialSuccess', partial('rejectedDataPoints'))]);
export const ExportLogsServiceResponse = msg('ExportLogsServiceResponse', [f(1, 'partialSuccess', partial('rejectedLogRecords'))]);

// google.rpc.Status{code=1, message=2, details=3 Any{type_url=1, value=2}}, RetryInfo{retry_delay=1 Duration{seconds=1, nanos=2}}
const AnyProto = msg('google.protobuf.Any', [f(1, 'typeUrl', 'string'), f(2, 'value', 'bytes')]);
export const RpcStatus = msg('google.rpc.Status', [f(1, 'code', 'int32'), f(2, 'message', 'string'), f(3, 'details', AnyProto, rep)]);
export const RetryInfo = msg('google.rpc.RetryInfo', [f(1, 'retryDelay', msg('google.protobuf.Duration', [f(1, 'seconds', 'int64'), f(2, 'nanos', 'int32')]))]);

function index(m: MessageDef): Map<number, FieldDef> {
  if (m.byNo === undefined) m.byNo = new Map(m.fields.map((x) => [x.no, x]));
  return m.byNo;
}

type Json = Record<string, unknown>;

function readScalar(r: Reader, t: Scalar, wire: number): unknown {
  switch (t) {
    case 'string':
      return r.string();
    case 'bytes': {
      const s = r.bytes();
      return r.buf.toString('base64', s, r.pos);
    }
    case 'hex': {
      const s = r.bytes();
      return r.buf.toString('hex', s, r.pos);
    }
    case 'bool':
      return r.varint() !== 0;
    case 'uint32':
      return r.varint() >>> 0;
    case 'enum':
    case 'int32':
      return r.int32();
    case 'sint32':
      return r.sint32();
    case 'int64':
      return r.varint64(true);
    case 'uint64':
      return r.varint64(false);
    case 'fixed64':
      return String(r.fixed64());
    case 'sfixed64':
      return String(r.sfixed64());
    case 'fixed32':
      return r.fixed32();
    case 'double': {
      const d = r.double();
      return Number.isFinite(d) ? d : String(d);
    }
    default:
      r.skip(wire);
      return undefined;
  }
}

const PACKABLE = new Set<Scalar>(['bool', 'uint32', 'int32', 'sint32', 'enum', 'int64', 'uint64', 'fixed64', 'sfixed64', 'fixed32', 'double']);

/** Protobuf message bytes (r.pos..end) -> its OTLP/JSON form. */
export function decodeMessage(r: Reader, end: number, m: MessageDef): Json {
  const out: Json = {};
  const fields = index(m);
  while (r.pos < end) {
    const tag = r.varint();
    const wire = tag & 7;
    const fd = fields.get(Math.floor(tag / 8));
    if (fd === undefined) {
      r.skip(wire);
      continue;
    }
    let v: unknown;
    if (typeof fd.type === 'object' || fd.type === 'any') {
      if (wire !== 2) throw new ProtoError(`${m.name}.${fd.name}: wrong wire type ${wire}`);
      const s = r.bytes();
      const e = r.pos;
      r.pos = s;
      v = fd.type === 'any' ? decodeAnyValue(r, e) : decodeMessage(r, e, fd.type);
      r.pos = e;
    } else if (fd.repeated && wire === 2 && PACKABLE.has(fd.type)) {
      const s = r.bytes();
      const e = r.pos;
      r.pos = s;
      const list = (out[fd.name] ??= []) as unknown[];
      while (r.pos < e) list.push(readScalar(r, fd.type, wire));
      r.pos = e;
      continue;
    } else v = readScalar(r, fd.type, wire);
    if (fd.repeated) ((out[fd.name] ??= []) as unknown[]).push(v);
    else out[fd.name] = v;
  }
  return out;
}

function isDefault(v: unknown): boolean {
  return v === undefined || v === null || v === '' || v === 0 || v === '0' || v === false || (Array.isArray(v) && v.length === 0);
}

function writeScalar(w: Writer, t: Scalar, v: unknown): void {
  switch (t) {
    case 'bool':
      w.varint(v === true || v === 'true' ? 1 : 0);
      break;
    case 'uint32':
    case 'int32':
    case 'enum':
      w.varint(Number(v) | 0);
      break;
    case 'sint32': {
      const n = Number(v) | 0;
      w.varint(((n << 1) ^ (n >> 31)) >>> 0);
      break;
    }
    case 'int64':
    case 'uint64':
      w.varintBig(BigInt.asUintN(64, BigInt(typeof v === 'number' ? Math.trunc(v) : String(v))));
      break;
    case 'fixed64':
    case 'sfixed64':
      w.fixed64(BigInt(typeof v === 'number' ? Math.trunc(v) : String(v)));
      break;
    case 'fixed32':
      w.fixed32(Number(v));
      break;
    case 'double':
      w.double(Number(v));
      break;
    default:
      throw new ProtoError(`cannot write ${t} as a packed value`);
  }
}

const WIRE: Record<string, number> = { bool: 0, uint32: 0, int32: 0, sint32: 0, enum: 0, int64: 0, uint64: 0, fixed64: 1, sfixed64: 1, double: 1, fixed32: 5 };

/** The OTLP/JSON form of a message -> protobuf, as field `no` (a nested message) or top level (no = 0). */
export function encodeMessage(w: Writer, no: number, m: MessageDef, o: Json): void {
  if (no !== 0) w.fork(no);
  for (const fd of m.fields) {
    const v = o[fd.name];
    if (v === undefined || v === null) continue;
    const values = fd.repeated ? (Array.isArray(v) ? v : [v]) : [v];
    if (typeof fd.type === 'object') {
      for (const x of values) encodeMessage(w, fd.no, fd.type, (x ?? {}) as Json);
      continue;
    }
    if (fd.type === 'any') {
      for (const x of values) encodeAnyJson(w, fd.no, (x ?? {}) as AnyValueJson);
      continue;
    }
    if (fd.repeated && PACKABLE.has(fd.type)) {
      if (values.length === 0) continue;
      w.fork(fd.no);
      for (const x of values) writeScalar(w, fd.type, x);
      w.join();
      continue;
    }
    for (const x of values) {
      if (!fd.presence && !fd.repeated && isDefault(x)) continue;
      switch (fd.type) {
        case 'string':
          w.string(fd.no, String(x));
          break;
        case 'bytes':
          w.bytes(fd.no, Buffer.from(String(x), 'base64'));
          break;
        case 'hex':
          w.hex(fd.no, String(x));
          break;
        default:
          w.tag(fd.no, WIRE[fd.type]);
          writeScalar(w, fd.type, x);
      }
    }
  }
  if (no !== 0) w.join();
}

export function decodeProto(buf: Buffer, m: MessageDef): Json {
  const r = new Reader(buf);
  try {
    return decodeMessage(r, buf.length, m);
  } catch (e) {
    if (e instanceof ProtoError) throw e;
    throw new ProtoError(`malformed ${m.name}: ${(e as Error).message}`);
  }
}

export function encodeProto(m: MessageDef, o: Json): Buffer {
  const w = new Writer(1024);
  encodeMessage(w, 0, m, o);
  return w.finish();
}

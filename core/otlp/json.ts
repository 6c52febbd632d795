/**
 * OTLP/JSON encoding of `ExportTraceServiceRequest` (opentelemetry-proto, JSON mapping per the OTLP
 * specification): lowerCamelCase field names, trace/span ids as hex strings, enums as integers,
 * 64-bit integers (fixed64 times, intValue) as decimal strings.
 *
 * Written straight into a byte buffer (`ByteSink`): this runs once per span on the replay hot path,
 * and building strings then converting them costs several times more (and most of it in GC).
 * Attribute keys are encoded once and cached with their JSON framing.
 */
import type { ByteSink } from '../pipeline/output.js';
import { MemorySink, writeBytes, writeLatin1, writeUtf8 } from '../pipeline/output.js';
import type { AttributeValue, Attributes, HrTime, Resource, SpanData } from '../trace/span.js';

const enc = (s: string): Buffer => Buffer.from(s, 'latin1');

const B_STRING = enc('{"stringValue":');
const B_INT = enc('{"intValue":"');
const B_DOUBLE = enc('{"doubleValue":');
const B_TRUE = enc('{"boolValue":true}');
const B_FALSE = enc('{"boolValue":false}');
const B_ARRAY = enc('{"arrayValue":{"values":[');
const B_ARRAY_END = enc(']}}');
const B_SPAN_TRACE = enc('{"traceId":"');
const B_SPAN_SPAN = enc('","spanId":"');
const B_TRACESTATE = enc(',"traceState":');
const B_PARENT = enc(',"parentSpanId":"');
const B_FLAGS = enc(',"flags":');
const B_NAME = enc(',"name":');
const B_KIND = enc(',"kind":');
const B_START = enc(',"startTimeUnixNano":"');
const B_END = enc('","endTimeUnixNano":"');
const B_ATTRS = enc('","attributes":[');
const B_STATUS = enc('],"status":{');
const B_STATUS_MSG = enc('"message":');
const B_STATUS_CODE = enc('"code":');
const B_REQ = enc('{"resourceSpans":[');
const B_RES = enc('{"resource":{"attributes":[');
const B_SCOPE_SPANS = enc(']},"scopeSpans":[');
const B_SCOPE = enc('{"scope":{"name":');
const B_SCOPE_VERSION = enc(',"version":');
const B_SPANS = enc('},"spans":[');
const B_CLOSE_LIST_OBJ = enc(']}');
const B_REQ_END = enc(']}');

/**
 * Per attribute key: its `{"key":"<k>","value":` prefix, encoded once, and the whole encoded KeyValue
 * for the first values seen of it (method, scheme, status code, protocol...: low-cardinality values
 * are then a single copy). Both caches are bounded.
 */
interface KeyEncoding {
  readonly prefix: Buffer;
  readonly values: Map<string | number | boolean, Buffer>;
}
const keyCache = new Map<string, KeyEncoding>();
const KEY_CACHE_MAX = 4096;
const VALUES_PER_KEY_MAX = 64;
const CACHED_STRING_MAX = 64;

function keyEncoding(k: string): KeyEncoding {
  let e = keyCache.get(k);
  if (e === undefined) {
    e = { prefix: Buffer.from(`{"key":${JSON.stringify(k)},"value":`, 'utf8'), values: new Map() };
    if (keyCache.size < KEY_CACHE_MAX) keyCache.set(k, e);
  }
  return e;
}

/** Short strings are copied with a JS loop: cheaper than a native call for a few bytes. */
function writeAscii(sink: ByteSink, s: string): void {
  const n = s.length;
  if (n > 48) {
    writeLatin1(sink, s);
    return;
  }
  sink.ensure(n);
  const b = sink.buf;
  let p = sink.pos;
  for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
  sink.pos = p;
}

/** A JSON string literal: printable ASCII is copied as-is, anything else goes through JSON.stringify. */
function writeJsonString(sink: ByteSink, s: string): void {
  const n = s.length;
  if (n <= 256) {
    sink.ensure(n + 2);
    const b = sink.buf;
    const start = sink.pos;
    let p = start;
    b[p++] = 0x22;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) break;
      b[p++] = c;
    }
    if (i === n) {
      b[p++] = 0x22;
      sink.pos = p;
      return;
    }
    sink.pos = start;
  }
  writeUtf8(sink, JSON.stringify(s));
}

function writeByte(sink: ByteSink, c: number): void {
  sink.ensure(1);
  sink.buf[sink.pos++] = c;
}

const digits = new Uint8Array(24);

/** A non-negative safe integer in decimal, without making a string. */
function writeUint(sink: ByteSink, v: number): void {
  if (v < 10) {
    writeByte(sink, 0x30 + v);
    return;
  }
  let n = 0;
  while (v > 0) {
    const q = Math.floor(v / 10);
    digits[n++] = 0x30 + (v - q * 10);
    v = q;
  }
  sink.ensure(n);
  const b = sink.buf;
  let p = sink.pos;
  while (n > 0) b[p++] = digits[--n];
  sink.pos = p;
}

function writeInt(sink: ByteSink, v: number): void {
  if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) writeUint(sink, v);
  else writeLatin1(sink, String(v));
}

function writeAnyValue(sink: ByteSink, v: AttributeValue): void {
  switch (typeof v) {
    case 'string':
      writeBytes(sink, B_STRING);
      writeJsonString(sink, v);
      writeByte(sink, 0x7d);
      return;
    case 'boolean':
      writeBytes(sink, v ? B_TRUE : B_FALSE);
      return;
    case 'number':
      if (Number.isInteger(v)) {
        writeBytes(sink, B_INT);
        writeInt(sink, v);
        writeAscii(sink, '"}');
      } else if (Number.isFinite(v)) {
        writeBytes(sink, B_DOUBLE);
        writeLatin1(sink, String(v));
        writeByte(sink, 0x7d);
      } else {
        // NaN/Infinity have no JSON number form: the OTLP JSON mapping writes them as strings.
        writeBytes(sink, B_DOUBLE);
        writeLatin1(sink, `"${v}"}`);
      }
      return;
    default: {
      const arr = v as readonly (string | number)[];
      writeBytes(sink, B_ARRAY);
      for (let i = 0; i < arr.length; i++) {
        if (i > 0) writeByte(sink, 0x2c);
        writeAnyValue(sink, arr[i]);
      }
      writeBytes(sink, B_ARRAY_END);
    }
  }
}

function writeAttributes(sink: ByteSink, attrs: Attributes): void {
  let first = true;
  for (const k in attrs) {
    const v = attrs[k];
    if (v === undefined) continue;
    if (!first) writeByte(sink, 0x2c);
    first = false;
    const e = keyEncoding(k);
    const cacheable = typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && v.length <= CACHED_STRING_MAX);
    if (cacheable) {
      const hit = e.values.get(v as string | number | boolean);
      if (hit !== undefined) {
        writeBytes(sink, hit);
        continue;
      }
    }
    const start = sink.pos;
    writeBytes(sink, e.prefix);
    writeAnyValue(sink, v);
    writeByte(sink, 0x7d);
    // The sink may have flushed or moved while writing: cache only when the bytes are still there.
    if (cacheable && e.values.size < VALUES_PER_KEY_MAX && sink.pos > start) {
      e.values.set(v as string | number | boolean, Buffer.from(sink.buf.subarray(start, sink.pos)));
    }
  }
}

/** "00".."99" as byte pairs. */
const PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  PAIRS[i * 2] = 0x30 + Math.floor(i / 10);
  PAIRS[i * 2 + 1] = 0x30 + (i % 10);
}

/** The seconds part of the last time written: consecutive spans almost always share it. */
let lastSec = -1;
let lastSecBytes: Buffer = Buffer.alloc(0);

/** Decimal ns since the epoch, without building a BigInt or a string. */
function writeUnixNano(sink: ByteSink, t: HrTime): void {
  const sec = t[0];
  if (sec === 0) {
    writeUint(sink, t[1]);
    return;
  }
  if (sec !== lastSec) {
    lastSec = sec;
    lastSecBytes = Buffer.from(String(sec), 'latin1');
  }
  const sb = lastSecBytes;
  sink.ensure(sb.length + 9);
  const b = sink.buf;
  let p = sink.pos;
  for (let i = 0; i < sb.length; i++) b[p++] = sb[i];
  // nine digits, zero-padded: 1 + 4 pairs
  let v = t[1] | 0;
  const d8 = (v / 100000000) | 0;
  b[p++] = 0x30 + d8;
  v -= d8 * 100000000;
  for (let div = 1000000; div >= 1; div /= 100) {
    const pair = (v / div) | 0;
    v -= pair * div;
    b[p++] = PAIRS[pair * 2];
    b[p++] = PAIRS[pair * 2 + 1];
  }
  sink.pos = p;
}

function writeSpan(sink: ByteSink, sp: SpanData): void {
  writeBytes(sink, B_SPAN_TRACE);
  writeAscii(sink, sp.traceId);
  writeBytes(sink, B_SPAN_SPAN);
  writeAscii(sink, sp.spanId);
  writeByte(sink, 0x22);
  if (sp.traceState !== '') {
    writeBytes(sink, B_TRACESTATE);
    writeJsonString(sink, sp.traceState);
  }
  if (sp.parentSpanId !== '') {
    writeBytes(sink, B_PARENT);
    writeAscii(sink, sp.parentSpanId);
    writeByte(sink, 0x22);
  }
  if (sp.flags !== 0) {
    writeBytes(sink, B_FLAGS);
    writeUint(sink, sp.flags);
  }
  writeBytes(sink, B_NAME);
  writeJsonString(sink, sp.name);
  writeBytes(sink, B_KIND);
  writeUint(sink, sp.kind);
  writeBytes(sink, B_START);
  writeUnixNano(sink, sp.startTime);
  writeBytes(sink, B_END);
  writeUnixNano(sink, sp.endTime);
  writeBytes(sink, B_ATTRS);
  writeAttributes(sink, sp.attributes);
  writeBytes(sink, B_STATUS);
  const hasMsg = sp.status.message !== '';
  if (hasMsg) {
    writeBytes(sink, B_STATUS_MSG);
    writeJsonString(sink, sp.status.message);
  }
  if (sp.status.code !== 0) {
    if (hasMsg) writeByte(sink, 0x2c);
    writeBytes(sink, B_STATUS_CODE);
    writeUint(sink, sp.status.code);
  }
  writeAscii(sink, '}}');
}

/**
 * Writes one `ExportTraceServiceRequest` as a single JSON line (no trailing newline), grouping spans
 * by resource object identity and then by scope identity, in first-seen order.
 */
export function writeTraceRequest(sink: ByteSink, spans: readonly SpanData[]): void {
  const byResource = new Map<Resource, Map<SpanData['scope'], SpanData[]>>();
  for (const sp of spans) {
    let scopes = byResource.get(sp.resource);
    if (scopes === undefined) {
      scopes = new Map();
      byResource.set(sp.resource, scopes);
    }
    let list = scopes.get(sp.scope);
    if (list === undefined) {
      list = [];
      scopes.set(sp.scope, list);
    }
    list.push(sp);
  }
  writeBytes(sink, B_REQ);
  let firstR = true;
  for (const [resource, scopes] of byResource) {
    if (!firstR) writeByte(sink, 0x2c);
    firstR = false;
    writeBytes(sink, B_RES);
    writeAttributes(sink, resource.attributes);
    writeBytes(sink, B_SCOPE_SPANS);
    let firstS = true;
    for (const [scope, list] of scopes) {
      if (!firstS) writeByte(sink, 0x2c);
      firstS = false;
      writeBytes(sink, B_SCOPE);
      writeJsonString(sink, scope.name);
      writeBytes(sink, B_SCOPE_VERSION);
      writeJsonString(sink, scope.version);
      writeBytes(sink, B_SPANS);
      for (let i = 0; i < list.length; i++) {
        if (i > 0) writeByte(sink, 0x2c);
        writeSpan(sink, list[i]);
      }
      writeBytes(sink, B_CLOSE_LIST_OBJ);
    }
    writeBytes(sink, B_CLOSE_LIST_OBJ);
  }
  writeBytes(sink, B_REQ_END);
}

/** The same request as a string (tests, small outputs). */
export function encodeTraceRequest(spans: readonly SpanData[]): string {
  const sink = new MemorySink();
  writeTraceRequest(sink, spans);
  return sink.toString();
}

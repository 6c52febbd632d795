/**
 * OTLP/JSON encoding of `ExportTraceServiceRequest` (opentelemetry-proto, JSON mapping per the OTLP
 * specification): lowerCamelCase field names, trace/span ids as hex strings, enums as integers,
 * 64-bit integers (fixed64 times, intValue) as decimal strings.
 *
 * Written straight into byte buffers: this runs once per span on the replay hot path, and building
 * strings then converting them costs several times more (and most of it in GC). Spans are encoded
 * from the builder's reused `SpanRecord` as they are made (`SpanBatchEncoder.add`), each into a
 * batch arena, and a batch is written out as one request grouped by resource (`writeTo`). Attribute
 * keys are encoded once per key with their JSON framing; low-cardinality values once per value.
 */
import type { ByteSink } from '../pipeline/output.js';
import { MemorySink, writeBytes } from '../pipeline/output.js';
import type { AttrKey, AttrList } from '../trace/span-record.js';
import { SpanRecord } from '../trace/span-record.js';
import type { AttributeValue, InstrumentationScope, Resource, SpanData } from '../trace/span.js';

type FastBuffer = Buffer & {
  latin1Write(s: string, offset: number): number;
  utf8Write(s: string, offset: number): number;
};

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
/** `,"kind":K,"startTimeUnixNano":"` for the OTLP kinds 0..5 (one copy instead of three). */
const B_KIND_START: Buffer[] = [];
for (let k = 0; k <= 5; k++) B_KIND_START.push(enc(`,"kind":${k},"startTimeUnixNano":"`));
const B_END = enc('","endTimeUnixNano":"');
const B_ATTRS = enc('","attributes":[');
const B_STATUS = enc('],"status":{');
const B_STATUS_UNSET_END = enc('],"status":{}}');
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

/** Whole encoded KeyValues cached per key (low-cardinality values: method, status, protocol...). */
const VALUES_PER_KEY_MAX = 64;
const CACHED_STRING_MAX = 64;
/**
 * A key whose cache is full and keeps missing (addresses, ports, paths) stops being looked up:
 * checked after this many misses once full.
 */
const CACHE_PROBATION = 512;

// ---- byte writing (all into a MemorySink: the arena or a scratch sink) ------------------------

/** Copies `b` (a few bytes are copied with a loop: cheaper than a native call; more are not). */
function put(s: MemorySink, b: Uint8Array): void {
  const n = b.length;
  if (s.pos + n > s.buf.length) s.ensure(n);
  const buf = s.buf;
  const p = s.pos;
  if (n <= 10) {
    for (let i = 0; i < n; i++) buf[p + i] = b[i];
  } else {
    buf.set(b, p);
  }
  s.pos = p + n;
}

function putByte(s: MemorySink, c: number): void {
  if (s.pos >= s.buf.length) s.ensure(1);
  s.buf[s.pos++] = c;
}

/** An ASCII string known to need no escaping (hex ids). */
function putAscii(s: MemorySink, str: string): void {
  const n = str.length;
  if (s.pos + n > s.buf.length) s.ensure(n);
  const b = s.buf;
  let p = s.pos;
  for (let i = 0; i < n; i++) b[p++] = str.charCodeAt(i);
  s.pos = p;
}

/** Characters a JSON string cannot hold as they are, or that are not single-byte in UTF-8. */
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\u007f-\uffff]/;

/**
 * A JSON string literal: printable ASCII is copied as-is, anything else goes through JSON.stringify.
 * Short strings are checked and copied in one loop; longer ones by a regular expression and a
 * native copy (cheaper past a few dozen characters).
 */
function putJsonString(s: MemorySink, str: string): void {
  const n = str.length;
  if (n <= 24) {
    if (s.pos + n + 2 > s.buf.length) s.ensure(n + 2);
    const b = s.buf;
    const start = s.pos;
    let p = start;
    b[p++] = 0x22;
    let i = 0;
    for (; i < n; i++) {
      const c = str.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) break;
      b[p++] = c;
    }
    if (i === n) {
      b[p++] = 0x22;
      s.pos = p;
      return;
    }
  } else if (!NEEDS_ESCAPE.test(str)) {
    s.ensure(n + 2);
    const b = s.buf as FastBuffer;
    b[s.pos++] = 0x22;
    s.pos += b.latin1Write(str, s.pos);
    b[s.pos++] = 0x22;
    return;
  }
  const j = JSON.stringify(str);
  s.ensure(j.length * 3);
  s.pos += (s.buf as FastBuffer).utf8Write(j, s.pos);
}

const digits = new Uint8Array(24);

/** A non-negative safe integer in decimal, without making a string. */
function putUint(s: MemorySink, v: number): void {
  if (s.pos + 16 > s.buf.length) s.ensure(16);
  const b = s.buf;
  if (v < 10) {
    b[s.pos++] = 0x30 + v;
    return;
  }
  let n = 0;
  while (v > 0) {
    const q = Math.floor(v / 10);
    digits[n++] = 0x30 + (v - q * 10);
    v = q;
  }
  let p = s.pos;
  while (n > 0) b[p++] = digits[--n];
  s.pos = p;
}

function putLatin1(s: MemorySink, str: string): void {
  s.ensure(str.length);
  s.pos += (s.buf as FastBuffer).latin1Write(str, s.pos);
}

function putInt(s: MemorySink, v: number): void {
  if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) putUint(s, v);
  else putLatin1(s, String(v));
}

/** "00".."99" as byte pairs. */
const PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  PAIRS[i * 2] = 0x30 + Math.floor(i / 10);
  PAIRS[i * 2 + 1] = 0x30 + (i % 10);
}

/** Lower-case hex digit pairs of 0..255. */
const HEX_PAIRS = new Uint8Array(512);
for (let i = 0; i < 256; i++) {
  HEX_PAIRS[i * 2] = '0123456789abcdef'.charCodeAt(i >> 4);
  HEX_PAIRS[i * 2 + 1] = '0123456789abcdef'.charCodeAt(i & 15);
}

function putHex(s: MemorySink, bytes: Uint8Array, off: number, n: number): void {
  if (s.pos + 2 * n > s.buf.length) s.ensure(2 * n);
  const b = s.buf;
  let p = s.pos;
  for (let i = 0; i < n; i++) {
    const x = bytes[off + i] * 2;
    b[p++] = HEX_PAIRS[x];
    b[p++] = HEX_PAIRS[x + 1];
  }
  s.pos = p;
}

/** The seconds part of the last time written: consecutive spans almost always share it. */
let lastSec = -1;
let lastSecBytes: Buffer = Buffer.alloc(0);

/** Decimal ns since the epoch (`sec` seconds + `ns`), without building a BigInt or a string. */
function putUnixNano(s: MemorySink, sec: number, ns: number): void {
  if (sec === 0) {
    putUint(s, ns);
    return;
  }
  if (sec !== lastSec) {
    lastSec = sec;
    lastSecBytes = Buffer.from(String(sec), 'latin1');
  }
  const sb = lastSecBytes;
  if (s.pos + sb.length + 9 > s.buf.length) s.ensure(sb.length + 9);
  const b = s.buf;
  let p = s.pos;
  for (let i = 0; i < sb.length; i++) b[p++] = sb[i];
  // nine digits, zero-padded: 1 + 4 pairs
  let v = ns | 0;
  const d8 = (v / 100000000) | 0;
  b[p++] = 0x30 + d8;
  v -= d8 * 100000000;
  for (let div = 1000000; div >= 1; div /= 100) {
    const pair = (v / div) | 0;
    v -= pair * div;
    b[p++] = PAIRS[pair * 2];
    b[p++] = PAIRS[pair * 2 + 1];
  }
  s.pos = p;
}

// ---- attributes --------------------------------------------------------------------------------

function putAnyValue(s: MemorySink, v: AttributeValue): void {
  switch (typeof v) {
    case 'string':
      put(s, B_STRING);
      putJsonString(s, v);
      putByte(s, 0x7d);
      return;
    case 'boolean':
      put(s, v ? B_TRUE : B_FALSE);
      return;
    case 'number':
      if (Number.isInteger(v)) {
        put(s, B_INT);
        putInt(s, v);
        putByte(s, 0x22);
        putByte(s, 0x7d);
      } else if (Number.isFinite(v)) {
        put(s, B_DOUBLE);
        putLatin1(s, String(v));
        putByte(s, 0x7d);
      } else {
        // NaN/Infinity have no JSON number form: the OTLP JSON mapping writes them as strings.
        put(s, B_DOUBLE);
        putLatin1(s, `"${v}"}`);
      }
      return;
    default: {
      const arr = v as readonly (string | number)[];
      put(s, B_ARRAY);
      for (let i = 0; i < arr.length; i++) {
        if (i > 0) putByte(s, 0x2c);
        putAnyValue(s, arr[i]);
      }
      put(s, B_ARRAY_END);
    }
  }
}

function keyPrefix(k: AttrKey): Uint8Array {
  let p = k.prefix;
  if (p === null) p = k.prefix = Buffer.from(`{"key":${JSON.stringify(k.key)},"value":`, 'utf8');
  return p;
}

/** One KeyValue; low-cardinality values are copied from (or added to) the key's cache. */
function putKeyValue(s: MemorySink, k: AttrKey, v: AttributeValue): void {
  if (v === k.lastValue) {
    // The same value as the last time this key was written from the cache (the usual case).
    const b = k.lastBytes!;
    if (s.pos + b.length > s.buf.length) s.ensure(b.length);
    s.buf.set(b, s.pos);
    s.pos += b.length;
    return;
  }
  const t = typeof v;
  const cacheable = k.cacheOn && (t === 'number' || t === 'boolean' || (t === 'string' && (v as string).length <= CACHED_STRING_MAX));
  let cache: Map<string | number | boolean, Uint8Array> | null = null;
  if (cacheable) {
    cache = k.cache;
    if (cache === null) cache = k.cache = new Map();
    const hit = cache.get(v as string | number | boolean);
    if (hit !== undefined) {
      k.hits++;
      k.lastValue = v;
      k.lastBytes = hit;
      put(s, hit);
      return;
    }
    if (cache.size >= VALUES_PER_KEY_MAX && ++k.misses >= CACHE_PROBATION) {
      // Full and still missing: a high-cardinality key; stop looking its values up.
      if (k.misses > k.hits) k.cacheOn = false;
      k.misses = 0;
      k.hits = 0;
    }
  }
  const start = s.pos;
  put(s, keyPrefix(k));
  putAnyValue(s, v);
  putByte(s, 0x7d);
  if (cache !== null && cache.size < VALUES_PER_KEY_MAX) {
    const b = Buffer.from(s.buf.subarray(start, s.pos));
    cache.set(v as string | number | boolean, b);
    k.lastValue = v;
    k.lastBytes = b;
  }
}

/** The KeyValues of a list, comma-separated (undefined values are left out). */
function putAttrList(s: MemorySink, list: AttrList): void {
  const keys = list.keys;
  const values = list.values;
  let first = true;
  for (let i = 0; i < list.n; i++) {
    const v = values[i];
    if (v === undefined) continue;
    if (!first) putByte(s, 0x2c);
    first = false;
    putKeyValue(s, keys[i], v);
  }
}

// ---- spans -------------------------------------------------------------------------------------

/** One Span object. */
function putSpan(s: MemorySink, r: SpanRecord): void {
  put(s, B_SPAN_TRACE);
  if (r.traceId !== '') putAscii(s, r.traceId);
  else putHex(s, r.idBytes, 0, 16);
  put(s, B_SPAN_SPAN);
  if (r.spanId !== '') putAscii(s, r.spanId);
  else putHex(s, r.idBytes, 16, 8);
  putByte(s, 0x22);
  if (r.traceState !== '') {
    put(s, B_TRACESTATE);
    putJsonString(s, r.traceState);
  }
  if (r.parentSpanId !== '') {
    put(s, B_PARENT);
    putAscii(s, r.parentSpanId);
    putByte(s, 0x22);
  }
  if (r.flags !== 0) {
    put(s, B_FLAGS);
    putUint(s, r.flags);
  }
  put(s, B_NAME);
  putJsonString(s, r.name);
  const kindStart = B_KIND_START[r.kind] as Buffer | undefined;
  if (kindStart !== undefined) {
    put(s, kindStart);
  } else {
    put(s, B_KIND);
    putUint(s, r.kind);
    put(s, B_START);
  }
  putUnixNano(s, r.startSec, r.startNs);
  put(s, B_END);
  putUnixNano(s, r.endSec, r.endNs);
  put(s, B_ATTRS);
  putAttrList(s, r.attrs);
  if (r.statusCode === 0 && r.statusMessage === '') {
    put(s, B_STATUS_UNSET_END);
    return;
  }
  put(s, B_STATUS);
  const hasMsg = r.statusMessage !== '';
  if (hasMsg) {
    put(s, B_STATUS_MSG);
    putJsonString(s, r.statusMessage);
  }
  if (r.statusCode !== 0) {
    if (hasMsg) putByte(s, 0x2c);
    put(s, B_STATUS_CODE);
    putUint(s, r.statusCode);
  }
  putByte(s, 0x7d);
  putByte(s, 0x7d);
}

/** A group of a batch: the spans of one (resource, scope) pair. */
class BatchGroup {
  /**
   * Arena ranges holding the group's spans: start, end, start, end... A span that follows the
   * group's previous one directly in the arena extends its range (with a comma), so a batch of one
   * resource is a single range.
   */
  readonly runs: number[] = [];
  constructor(
    readonly resource: Resource,
    readonly scope: InstrumentationScope,
  ) {}
}

/**
 * Encodes the spans of one batch as they come (`add`), then writes them as one
 * `ExportTraceServiceRequest` (`writeTo`): grouped by resource object identity, then by scope
 * identity, in first-seen order. Reusable: `writeTo` starts the next batch. The arena holds one
 * batch (as the span objects of a batch would otherwise be held).
 */
export class SpanBatchEncoder {
  private readonly arena = new MemorySink();
  private readonly byResource = new Map<Resource, BatchGroup[]>();
  private readonly scratch = new MemorySink();
  private readonly resourceAttrs = new SpanRecord({ attributes: {} }, { name: '', version: '' }).attrs;
  /** The group of the previous span (most spans continue it). */
  private last: BatchGroup | null = null;
  /** Spans in the current batch. */
  count = 0;

  private group(resource: Resource, scope: InstrumentationScope): BatchGroup {
    const last = this.last;
    if (last !== null && last.resource === resource && last.scope === scope) return last;
    let list = this.byResource.get(resource);
    if (list === undefined) {
      list = [];
      this.byResource.set(resource, list);
    }
    for (let i = 0; i < list.length; i++) if (list[i].scope === scope) return (this.last = list[i]);
    const g = new BatchGroup(resource, scope);
    list.push(g);
    return (this.last = g);
  }

  /** Encodes one span into the current batch. */
  add(r: SpanRecord): void {
    const g = this.group(r.resource, r.scope);
    const a = this.arena;
    const runs = g.runs;
    const n = runs.length;
    if (n > 0 && runs[n - 1] === a.pos) {
      putByte(a, 0x2c);
      putSpan(a, r);
      runs[n - 1] = a.pos;
    } else {
      const start = a.pos;
      putSpan(a, r);
      runs.push(start, a.pos);
    }
    this.count++;
  }

  /** Writes the batch as one request (no trailing newline) and starts the next batch. */
  writeTo(out: ByteSink): void {
    const s = this.scratch;
    s.pos = 0;
    put(s, B_REQ);
    // Resources in first-seen order; each resource's groups (scopes) in first-seen order.
    let firstR = true;
    for (const [resource, groups] of this.byResource) {
      if (!firstR) putByte(s, 0x2c);
      firstR = false;
      put(s, B_RES);
      const ra = this.resourceAttrs;
      ra.reset();
      ra.addAll(resource.attributes);
      putAttrList(s, ra);
      put(s, B_SCOPE_SPANS);
      for (let gi = 0; gi < groups.length; gi++) {
        const g = groups[gi];
        if (gi > 0) putByte(s, 0x2c);
        put(s, B_SCOPE);
        putJsonString(s, g.scope.name);
        put(s, B_SCOPE_VERSION);
        putJsonString(s, g.scope.version);
        put(s, B_SPANS);
        const runs = g.runs;
        const arena = this.arena.buf;
        for (let i = 0; i < runs.length; i += 2) {
          if (i > 0) putByte(s, 0x2c);
          writeBytes(out, s.buf.subarray(0, s.pos));
          s.pos = 0;
          writeBytes(out, arena.subarray(runs[i], runs[i + 1]));
        }
        put(s, B_CLOSE_LIST_OBJ);
      }
      put(s, B_CLOSE_LIST_OBJ);
    }
    put(s, B_REQ_END);
    writeBytes(out, s.buf.subarray(0, s.pos));
    this.reset();
  }

  private reset(): void {
    this.arena.pos = 0;
    this.byResource.clear();
    this.last = null;
    this.count = 0;
  }
}

// ---- SpanData (consumers and tests that hold span objects) ---------------------------------------

const spanDataEncoder = new SpanBatchEncoder();
const spanDataRecord = new SpanRecord({ attributes: {} }, { name: '', version: '' });

/**
 * Writes one `ExportTraceServiceRequest` as a single JSON line (no trailing newline), grouping spans
 * by resource object identity and then by scope identity, in first-seen order.
 */
export function writeTraceRequest(sink: ByteSink, spans: readonly SpanData[]): void {
  for (const sp of spans) {
    spanDataRecord.loadSpanData(sp);
    spanDataEncoder.add(spanDataRecord);
  }
  spanDataEncoder.writeTo(sink);
}

/** The same request as a string (tests, small outputs). */
export function encodeTraceRequest(spans: readonly SpanData[]): string {
  const sink = new MemorySink();
  writeTraceRequest(sink, spans);
  return sink.toString();
}

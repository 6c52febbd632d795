/**
 * OTLP traces (`ExportTraceServiceRequest`, opentelemetry-proto trace/v1) <-> CollectorSpan, in
 * protobuf and in the OTLP/JSON mapping. Resources and scopes are shared objects per
 * ResourceSpans/ScopeSpans (encoding groups by identity, as core/otlp does).
 *
 * Field numbers: ResourceSpans{resource=1, scope_spans=2, schema_url=3}, ScopeSpans{scope=1,
 * spans=2, schema_url=3}, Span{trace_id=1, span_id=2, trace_state=3, parent_span_id=4, name=5,
 * kind=6, start=7, end=8, attributes=9, dropped_attributes_count=10, events=11,
 * dropped_events_count=12, links=13, dropped_links_count=14, status=15, flags=16},
 * Event{time=1, name=2, attributes=3, dropped=4}, Link{trace_id=1, span_id=2, trace_state=3,
 * attributes=4, dropped=5, flags=6}, Status{message=2, code=3}.
 */
import type { Attributes, HrTime } from '../../trace/span.js';
import { attributesFromJson, attributesToJson, decodeAttributeInto, encodeAttributes } from './anyvalue.js';
import type { CollectorResource, CollectorScope, CollectorSpan, KeyValueJson, SpanEvent, SpanLink } from './model.js';
import { ProtoError, Reader, Writer } from './wire.js';

const NS = 1_000_000_000n;

function hrFromBig(v: bigint): HrTime {
  return [Number(v / NS), Number(v % NS)];
}

function hrFromWords(lo: number, hi: number): HrTime {
  return hi < 0x200000 ? hrFromSafe(hi * 4294967296 + lo) : hrFromBig((BigInt(hi) << 32n) | BigInt(lo));
}

function hrFromSafe(v: number): HrTime {
  let s = Math.floor(v / 1e9);
  let ns = v - s * 1e9;
  if (ns < 0) {
    s--;
    ns += 1e9;
  }
  return [s, ns];
}

/**
 * A span decoded from protobuf. Its timestamps stay as the two 32-bit words they came in until
 * someone reads them (then they become HrTime, exactly); unread, they are written back as they came,
 * so passing spans through costs no 64-bit arithmetic. Setting startTime/endTime replaces them.
 */
export class DecodedSpan implements CollectorSpan {
  traceId = '';
  spanId = '';
  parentSpanId = '';
  traceState = '';
  flags = 0;
  name = '';
  kind = 0;
  attributes: Attributes = {};
  status = { code: 0, message: '' };
  events?: SpanEvent[];
  links?: SpanLink[];
  droppedAttributesCount?: number;
  droppedEventsCount?: number;
  droppedLinksCount?: number;
  /** Raw fixed64 words of the timestamps; startLo < 0 once startTime was set. */
  startLo = 0;
  startHi = 0;
  endLo = 0;
  endHi = 0;
  private start: HrTime | null = null;
  private end: HrTime | null = null;
  constructor(
    public resource: CollectorResource,
    public scope: CollectorScope,
  ) {}
  get startTime(): HrTime {
    return (this.start ??= hrFromWords(this.startLo, this.startHi));
  }
  set startTime(t: HrTime) {
    this.start = t;
    this.startLo = -1;
  }
  get endTime(): HrTime {
    return (this.end ??= hrFromWords(this.endLo, this.endHi));
  }
  set endTime(t: HrTime) {
    this.end = t;
    this.endLo = -1;
  }
}

function bigFromHr(t: HrTime): bigint {
  return BigInt(t[0]) * NS + BigInt(t[1]);
}

/** Decimal nanoseconds (string or number) -> HrTime, exactly. */
export function hrFromNanos(v: string | number | undefined): HrTime {
  if (v === undefined || v === '' || v === 0) return [0, 0];
  const s = typeof v === 'number' ? BigInt(Math.round(v)).toString() : v;
  if (!/^\d+$/.test(s)) throw new ProtoError(`"${s}" is not a nanosecond timestamp`);
  if (s.length <= 9) return [0, Number(s)];
  return [Number(s.slice(0, -9)), Number(s.slice(-9))];
}

export function nanosOfHr(t: HrTime): string {
  if (t[0] === 0) return String(t[1]);
  return `${t[0]}${String(t[1]).padStart(9, '0')}`;
}

// ---- protobuf decode ----------------------------------------------------------------------------

function sub(r: Reader): number {
  const s = r.bytes();
  const e = r.pos;
  r.pos = s;
  return e;
}

function decodeResource(r: Reader, end: number): CollectorResource {
  const attributes: Attributes = {};
  let dropped = 0;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === 0x0a) {
      const e = sub(r);
      decodeAttributeInto(r, e, attributes);
      r.pos = e;
    } else if (tag === 0x10) dropped = r.varint();
    else r.skip(tag & 7);
  }
  const res: CollectorResource = { attributes };
  if (dropped !== 0) res.droppedAttributesCount = dropped;
  return res;
}

function decodeScope(r: Reader, end: number): CollectorScope {
  let name = '';
  let version = '';
  let attributes: Attributes | undefined;
  let dropped = 0;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === 0x0a) name = r.string();
    else if (tag === 0x12) version = r.string();
    else if (tag === 0x1a) {
      attributes ??= {};
      const e = sub(r);
      decodeAttributeInto(r, e, attributes);
      r.pos = e;
    } else if (tag === 0x20) dropped = r.varint();
    else r.skip(tag & 7);
  }
  const s: CollectorScope = { name, version };
  if (attributes !== undefined) s.attributes = attributes;
  if (dropped !== 0) s.droppedAttributesCount = dropped;
  return s;
}

function decodeEvent(r: Reader, end: number): SpanEvent {
  const ev: SpanEvent = { time: [0, 0], name: '', attributes: {}, droppedAttributesCount: 0 };
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === 0x09) ev.time = hrFromBig(r.fixed64());
    else if (tag === 0x12) ev.name = r.string();
    else if (tag === 0x1a) {
      const e = sub(r);
      decodeAttributeInto(r, e, ev.attributes);
      r.pos = e;
    } else if (tag === 0x20) ev.droppedAttributesCount = r.varint();
    else r.skip(tag & 7);
  }
  return ev;
}

function hexField(r: Reader): string {
  const s = r.bytes();
  return r.hex(s, r.pos);
}

function decodeLink(r: Reader, end: number): SpanLink {
  const l: SpanLink = { traceId: '', spanId: '', traceState: '', attributes: {}, droppedAttributesCount: 0, flags: 0 };
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === 0x0a) l.traceId = hexField(r);
    else if (tag === 0x12) l.spanId = hexField(r);
    else if (tag === 0x1a) l.traceState = r.string();
    else if (tag === 0x22) {
      const e = sub(r);
      decodeAttributeInto(r, e, l.attributes);
      r.pos = e;
    } else if (tag === 0x28) l.droppedAttributesCount = r.varint();
    else if (tag === 0x35) l.flags = r.fixed32();
    else r.skip(tag & 7);
  }
  return l;
}

function decodeSpan(r: Reader, end: number, resource: CollectorResource, scope: CollectorScope): CollectorSpan {
  const s = new DecodedSpan(resource, scope);
  const b = r.buf;
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag) {
      case 0x0a:
        s.traceId = hexField(r);
        break;
      case 0x12:
        s.spanId = hexField(r);
        break;
      case 0x1a:
        s.traceState = r.string();
        break;
      case 0x22:
        s.parentSpanId = hexField(r);
        break;
      case 0x2a:
        s.name = r.string();
        break;
      case 0x30:
        s.kind = r.varint();
        break;
      case 0x39:
        if (r.pos + 8 > r.end) throw new ProtoError('truncated fixed64');
        s.startLo = b.readUInt32LE(r.pos);
        s.startHi = b.readUInt32LE(r.pos + 4);
        r.pos += 8;
        break;
      case 0x41:
        if (r.pos + 8 > r.end) throw new ProtoError('truncated fixed64');
        s.endLo = b.readUInt32LE(r.pos);
        s.endHi = b.readUInt32LE(r.pos + 4);
        r.pos += 8;
        break;
      case 0x4a: {
        const e = sub(r);
        decodeAttributeInto(r, e, s.attributes);
        r.pos = e;
        break;
      }
      case 0x50:
        s.droppedAttributesCount = r.varint();
        break;
      case 0x5a: {
        const e = sub(r);
        (s.events ??= []).push(decodeEvent(r, e));
        r.pos = e;
        break;
      }
      case 0x60:
        s.droppedEventsCount = r.varint();
        break;
      case 0x6a: {
        const e = sub(r);
        (s.links ??= []).push(decodeLink(r, e));
        r.pos = e;
        break;
      }
      case 0x70:
        s.droppedLinksCount = r.varint();
        break;
      case 0x7a: {
        const e = sub(r);
        while (r.pos < e) {
          const t = r.varint();
          if (t === 0x12) s.status.message = r.string();
          else if (t === 0x18) s.status.code = r.varint();
          else r.skip(t & 7);
        }
        r.pos = e;
        break;
      }
      case 0x85: // field 16, fixed32
        s.flags = r.fixed32();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return s;
}

/** Checks the framing of every field of a message (r.pos..end), recursing into the given levels. */
function checkFraming(r: Reader, end: number): void {
  while (r.pos < end) {
    const tag = r.varint();
    if (tag < 8) throw new ProtoError('field number 0');
    r.skip(tag & 7);
  }
  if (r.pos !== end) throw new ProtoError('a field runs past its message');
}

/**
 * Counts the spans of an `ExportTraceServiceRequest` without decoding them, checking the protobuf
 * framing down to every field of every span (lengths, wire types), so malformed input is refused
 * as it would be by a full decode. Throws ProtoError.
 */
export function scanTracesProto(buf: Buffer): number {
  const r = new Reader(buf);
  let n = 0;
  try {
    while (r.pos < r.end) {
      const tag = r.varint();
      if (tag !== 0x0a) {
        if (tag < 8) throw new ProtoError('field number 0');
        r.skip(tag & 7);
        continue;
      }
      const rsEnd = sub(r);
      while (r.pos < rsEnd) {
        const t = r.varint();
        if (t !== 0x12) {
          if (t === 0x0a) {
            const e = sub(r);
            checkFraming(r, e);
            continue;
          }
          if (t < 8) throw new ProtoError('field number 0');
          r.skip(t & 7);
          continue;
        }
        const ssEnd = sub(r);
        while (r.pos < ssEnd) {
          const u = r.varint();
          if (u === 0x12) {
            const e = sub(r);
            checkFraming(r, e);
            n++;
          } else if (u === 0x0a) {
            const e = sub(r);
            checkFraming(r, e);
          } else {
            if (u < 8) throw new ProtoError('field number 0');
            r.skip(u & 7);
          }
        }
        if (r.pos !== ssEnd) throw new ProtoError('ScopeSpans runs past its end');
      }
      if (r.pos !== rsEnd) throw new ProtoError('ResourceSpans runs past its end');
    }
  } catch (e) {
    if (e instanceof ProtoError) throw new ProtoError(`malformed ExportTraceServiceRequest: ${e.message}`);
    throw new ProtoError(`malformed ExportTraceServiceRequest: ${(e as Error).message}`);
  }
  return n;
}

/** An `ExportTraceServiceRequest` in protobuf -> spans. Throws ProtoError on malformed input. */
export function decodeTracesProto(buf: Buffer): CollectorSpan[] {
  const out: CollectorSpan[] = [];
  const r = new Reader(buf);
  try {
    while (r.pos < r.end) {
      const tag = r.varint();
      if (tag !== 0x0a) {
        r.skip(tag & 7);
        continue;
      }
      const rsEnd = sub(r);
      // The resource and schema_url may come after the spans: collect the spans' bounds first.
      let resource: CollectorResource = { attributes: {} };
      let schemaUrl = '';
      const scopeBounds: [number, number][] = [];
      while (r.pos < rsEnd) {
        const t = r.varint();
        if (t === 0x0a) {
          const e = sub(r);
          resource = decodeResource(r, e);
          r.pos = e;
        } else if (t === 0x12) {
          const s = r.bytes();
          scopeBounds.push([s, r.pos]);
        } else if (t === 0x1a) schemaUrl = r.string();
        else r.skip(t & 7);
      }
      if (schemaUrl !== '') resource.schemaUrl = schemaUrl;
      for (const [ss, se] of scopeBounds) {
        r.pos = ss;
        let scope: CollectorScope = { name: '', version: '' };
        let scopeSchema = '';
        const spanBounds: [number, number][] = [];
        while (r.pos < se) {
          const t = r.varint();
          if (t === 0x0a) {
            const e = sub(r);
            scope = decodeScope(r, e);
            r.pos = e;
          } else if (t === 0x12) {
            const s = r.bytes();
            spanBounds.push([s, r.pos]);
          } else if (t === 0x1a) scopeSchema = r.string();
          else r.skip(t & 7);
        }
        if (scopeSchema !== '') scope.schemaUrl = scopeSchema;
        for (const [ps, pe] of spanBounds) {
          r.pos = ps;
          out.push(decodeSpan(r, pe, resource, scope));
        }
      }
      r.pos = rsEnd;
    }
  } catch (e) {
    if (e instanceof ProtoError) throw e;
    throw new ProtoError(`malformed ExportTraceServiceRequest: ${(e as Error).message}`);
  }
  return out;
}

// ---- protobuf encode ----------------------------------------------------------------------------

/** Spans grouped by resource then scope (object identity), in first-seen order. */
export function groupSpans(spans: readonly CollectorSpan[]): Map<CollectorResource, Map<CollectorScope, CollectorSpan[]>> {
  const byRes = new Map<CollectorResource, Map<CollectorScope, CollectorSpan[]>>();
  let lastRes: CollectorResource | null = null;
  let lastScope: CollectorScope | null = null;
  let lastList: CollectorSpan[] | null = null;
  for (const s of spans) {
    if (s.resource === lastRes && s.scope === lastScope) {
      lastList!.push(s);
      continue;
    }
    let scopes = byRes.get(s.resource);
    if (scopes === undefined) {
      scopes = new Map();
      byRes.set(s.resource, scopes);
    }
    let list = scopes.get(s.scope);
    if (list === undefined) {
      list = [];
      scopes.set(s.scope, list);
    }
    list.push(s);
    lastRes = s.resource;
    lastScope = s.scope;
    lastList = list;
  }
  return byRes;
}

function encodeSpan(w: Writer, s: CollectorSpan): void {
  w.fork(2);
  if (s.traceId !== '') w.hex(1, s.traceId);
  if (s.spanId !== '') w.hex(2, s.spanId);
  if (s.traceState !== '') w.string(3, s.traceState);
  if (s.parentSpanId !== '') w.hex(4, s.parentSpanId);
  if (s.name !== '') w.string(5, s.name);
  if (s.kind !== 0) {
    w.tag(6, 0);
    w.varint(s.kind);
  }
  if (s instanceof DecodedSpan && s.startLo >= 0) {
    w.tag(7, 1);
    w.fixed32(s.startLo);
    w.fixed32(s.startHi);
  } else {
    w.tag(7, 1);
    w.fixed64(bigFromHr(s.startTime));
  }
  if (s instanceof DecodedSpan && s.endLo >= 0) {
    w.tag(8, 1);
    w.fixed32(s.endLo);
    w.fixed32(s.endHi);
  } else {
    w.tag(8, 1);
    w.fixed64(bigFromHr(s.endTime));
  }
  encodeAttributes(w, 9, s.attributes);
  if (s.droppedAttributesCount) {
    w.tag(10, 0);
    w.varint(s.droppedAttributesCount);
  }
  if (s.events !== undefined)
    for (const ev of s.events) {
      w.fork(11);
      w.tag(1, 1);
      w.fixed64(bigFromHr(ev.time));
      if (ev.name !== '') w.string(2, ev.name);
      encodeAttributes(w, 3, ev.attributes);
      if (ev.droppedAttributesCount) {
        w.tag(4, 0);
        w.varint(ev.droppedAttributesCount);
      }
      w.join();
    }
  if (s.droppedEventsCount) {
    w.tag(12, 0);
    w.varint(s.droppedEventsCount);
  }
  if (s.links !== undefined)
    for (const l of s.links) {
      w.fork(13);
      if (l.traceId !== '') w.hex(1, l.traceId);
      if (l.spanId !== '') w.hex(2, l.spanId);
      if (l.traceState !== '') w.string(3, l.traceState);
      encodeAttributes(w, 4, l.attributes);
      if (l.droppedAttributesCount) {
        w.tag(5, 0);
        w.varint(l.droppedAttributesCount);
      }
      if (l.flags) {
        w.tag(6, 5);
        w.fixed32(l.flags);
      }
      w.join();
    }
  if (s.droppedLinksCount) {
    w.tag(14, 0);
    w.varint(s.droppedLinksCount);
  }
  // Always present, as the Collector's pdata writes it (an empty Status is still a Status).
  w.fork(15);
  if (s.status.message !== '') w.string(2, s.status.message);
  if (s.status.code !== 0) {
    w.tag(3, 0);
    w.varint(s.status.code);
  }
  w.join();
  if (s.flags) {
    w.tag(16, 5);
    w.fixed32(s.flags);
  }
  w.join();
}

function encodeResource(w: Writer, res: CollectorResource): void {
  w.fork(1);
  encodeAttributes(w, 1, res.attributes);
  if (res.droppedAttributesCount) {
    w.tag(2, 0);
    w.varint(res.droppedAttributesCount);
  }
  w.join();
}

/**
 * Rewrites the resources of an `ExportTraceServiceRequest` in protobuf, leaving every other byte
 * (scopes, spans) as it is: resource-level processing without decoding a single span. `change`
 * gets each resource (decoded) and changes it in place.
 */
export function rewriteResourcesProto(buf: Buffer, change: (res: CollectorResource) => void): Buffer {
  const r = new Reader(buf);
  const w = new Writer(buf.length + 1024);
  while (r.pos < r.end) {
    const tagStart = r.pos;
    const tag = r.varint();
    if (tag !== 0x0a) {
      r.skip(tag & 7);
      w.raw(buf.subarray(tagStart, r.pos));
      continue;
    }
    const rsEnd = sub(r);
    w.fork(1);
    let resource: CollectorResource | null = null;
    const rest: Buffer[] = [];
    while (r.pos < rsEnd) {
      const fieldStart = r.pos;
      const t = r.varint();
      if (t === 0x0a) {
        const e = sub(r);
        resource = decodeResource(r, e);
        r.pos = e;
      } else {
        r.skip(t & 7);
        rest.push(buf.subarray(fieldStart, r.pos));
      }
    }
    resource ??= { attributes: {} };
    change(resource);
    encodeResource(w, resource);
    for (const b of rest) w.raw(b);
    w.join();
    r.pos = rsEnd;
  }
  return w.finish();
}

/** Spans -> an `ExportTraceServiceRequest` in protobuf. */
export function encodeTracesProto(spans: readonly CollectorSpan[]): Buffer {
  const w = new Writer(1024 + spans.length * 512);
  for (const [res, scopes] of groupSpans(spans)) {
    w.fork(1);
    encodeResource(w, res);
    for (const [scope, list] of scopes) {
      w.fork(2);
      w.fork(1);
      if (scope.name !== '') w.string(1, scope.name);
      if (scope.version !== '' && scope.version !== undefined) w.string(2, scope.version);
      encodeAttributes(w, 3, scope.attributes);
      if (scope.droppedAttributesCount) {
        w.tag(4, 0);
        w.varint(scope.droppedAttributesCount);
      }
      w.join();
      for (const s of list) encodeSpan(w, s);
      if (scope.schemaUrl) w.string(3, scope.schemaUrl);
      w.join();
    }
    if (res.schemaUrl) w.string(3, res.schemaUrl);
    w.join();
  }
  return w.finish();
}

// ---- OTLP/JSON ----------------------------------------------------------------------------------

type Json = Record<string, unknown>;

const KINDS: Record<string, number> = { SPAN_KIND_UNSPECIFIED: 0, SPAN_KIND_INTERNAL: 1, SPAN_KIND_SERVER: 2, SPAN_KIND_CLIENT: 3, SPAN_KIND_PRODUCER: 4, SPAN_KIND_CONSUMER: 5 };
const CODES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };

function enumNum(v: unknown, names: Record<string, number>): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return names[v] ?? (Number(v) || 0);
  return 0;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' ? Number(v) || 0 : 0;
}

function id(v: unknown, what: string): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(v)) throw new ProtoError(`${what} must be a hex string`);
  return v.toLowerCase();
}

/** An `ExportTraceServiceRequest` in the OTLP/JSON mapping -> spans. */
export function tracesFromJson(req: unknown): CollectorSpan[] {
  if (typeof req !== 'object' || req === null) throw new ProtoError('the body is not a JSON object');
  const out: CollectorSpan[] = [];
  for (const rs of ((req as Json).resourceSpans as Json[] | undefined) ?? []) {
    const rj = (rs.resource as Json | undefined) ?? {};
    const resource: CollectorResource = { attributes: attributesFromJson(rj.attributes as KeyValueJson[] | undefined) };
    if (num(rj.droppedAttributesCount)) resource.droppedAttributesCount = num(rj.droppedAttributesCount);
    if (str(rs.schemaUrl) !== '') resource.schemaUrl = str(rs.schemaUrl);
    for (const ss of (rs.scopeSpans as Json[] | undefined) ?? []) {
      const sj = (ss.scope as Json | undefined) ?? {};
      const scope: CollectorScope = { name: str(sj.name), version: str(sj.version) };
      if (sj.attributes !== undefined) scope.attributes = attributesFromJson(sj.attributes as KeyValueJson[]);
      if (num(sj.droppedAttributesCount)) scope.droppedAttributesCount = num(sj.droppedAttributesCount);
      if (str(ss.schemaUrl) !== '') scope.schemaUrl = str(ss.schemaUrl);
      for (const sp of (ss.spans as Json[] | undefined) ?? []) {
        const st = (sp.status as Json | undefined) ?? {};
        const span: CollectorSpan = {
          traceId: id(sp.traceId, 'traceId'),
          spanId: id(sp.spanId, 'spanId'),
          parentSpanId: id(sp.parentSpanId, 'parentSpanId'),
          traceState: str(sp.traceState),
          flags: num(sp.flags),
          name: str(sp.name),
          kind: enumNum(sp.kind, KINDS),
          startTime: hrFromNanos(sp.startTimeUnixNano as string | undefined),
          endTime: hrFromNanos(sp.endTimeUnixNano as string | undefined),
          attributes: attributesFromJson(sp.attributes as KeyValueJson[] | undefined),
          status: { code: enumNum(st.code, CODES), message: str(st.message) },
          resource,
          scope,
        };
        if (num(sp.droppedAttributesCount)) span.droppedAttributesCount = num(sp.droppedAttributesCount);
        if (num(sp.droppedEventsCount)) span.droppedEventsCount = num(sp.droppedEventsCount);
        if (num(sp.droppedLinksCount)) span.droppedLinksCount = num(sp.droppedLinksCount);
        if (Array.isArray(sp.events) && sp.events.length > 0) {
          span.events = (sp.events as Json[]).map((e) => ({
            time: hrFromNanos(e.timeUnixNano as string | undefined),
            name: str(e.name),
            attributes: attributesFromJson(e.attributes as KeyValueJson[] | undefined),
            droppedAttributesCount: num(e.droppedAttributesCount),
          }));
        }
        if (Array.isArray(sp.links) && sp.links.length > 0) {
          span.links = (sp.links as Json[]).map((l) => ({
            traceId: id(l.traceId, 'links.traceId'),
            spanId: id(l.spanId, 'links.spanId'),
            traceState: str(l.traceState),
            attributes: attributesFromJson(l.attributes as KeyValueJson[] | undefined),
            droppedAttributesCount: num(l.droppedAttributesCount),
            flags: num(l.flags),
          }));
        }
        out.push(span);
      }
    }
  }
  return out;
}

function spanToJson(s: CollectorSpan): Json {
  const o: Json = { traceId: s.traceId, spanId: s.spanId };
  if (s.traceState !== '') o.traceState = s.traceState;
  if (s.parentSpanId !== '') o.parentSpanId = s.parentSpanId;
  if (s.flags) o.flags = s.flags;
  o.name = s.name;
  o.kind = s.kind;
  o.startTimeUnixNano = nanosOfHr(s.startTime);
  o.endTimeUnixNano = nanosOfHr(s.endTime);
  o.attributes = attributesToJson(s.attributes);
  if (s.droppedAttributesCount) o.droppedAttributesCount = s.droppedAttributesCount;
  if (s.events !== undefined && s.events.length > 0) {
    o.events = s.events.map((e) => {
      const ej: Json = { timeUnixNano: nanosOfHr(e.time), name: e.name, attributes: attributesToJson(e.attributes) };
      if (e.droppedAttributesCount) ej.droppedAttributesCount = e.droppedAttributesCount;
      return ej;
    });
  }
  if (s.droppedEventsCount) o.droppedEventsCount = s.droppedEventsCount;
  if (s.links !== undefined && s.links.length > 0) {
    o.links = s.links.map((l) => {
      const lj: Json = { traceId: l.traceId, spanId: l.spanId };
      if (l.traceState !== '') lj.traceState = l.traceState;
      lj.attributes = attributesToJson(l.attributes);
      if (l.droppedAttributesCount) lj.droppedAttributesCount = l.droppedAttributesCount;
      if (l.flags) lj.flags = l.flags;
      return lj;
    });
  }
  if (s.droppedLinksCount) o.droppedLinksCount = s.droppedLinksCount;
  const st: Json = {};
  if (s.status.message !== '') st.message = s.status.message;
  if (s.status.code !== 0) st.code = s.status.code;
  o.status = st;
  return o;
}

/** Spans -> an `ExportTraceServiceRequest` in the OTLP/JSON mapping. */
export function tracesToJson(spans: readonly CollectorSpan[]): { resourceSpans: Json[] } {
  const resourceSpans: Json[] = [];
  for (const [res, scopes] of groupSpans(spans)) {
    const resource: Json = { attributes: attributesToJson(res.attributes) };
    if (res.droppedAttributesCount) resource.droppedAttributesCount = res.droppedAttributesCount;
    const scopeSpans: Json[] = [];
    for (const [scope, list] of scopes) {
      const sj: Json = { name: scope.name };
      if (scope.version) sj.version = scope.version;
      if (scope.attributes !== undefined) sj.attributes = attributesToJson(scope.attributes);
      if (scope.droppedAttributesCount) sj.droppedAttributesCount = scope.droppedAttributesCount;
      const entry: Json = { scope: sj, spans: list.map(spanToJson) };
      if (scope.schemaUrl) entry.schemaUrl = scope.schemaUrl;
      scopeSpans.push(entry);
    }
    const rs: Json = { resource, scopeSpans };
    if (res.schemaUrl) rs.schemaUrl = res.schemaUrl;
    resourceSpans.push(rs);
  }
  return { resourceSpans };
}

/**
 * OTLP/JSON encoding of `ExportTraceServiceRequest` (opentelemetry-proto, JSON mapping per the OTLP
 * specification): lowerCamelCase field names, trace/span ids as hex strings, enums as integers,
 * 64-bit integers (fixed64 times, intValue) as decimal strings. Hand-written string building: this
 * runs once per span on the replay hot path, and JSON.stringify of an intermediate object tree
 * costs about twice as much.
 */
import type { AttributeValue, Attributes, Resource, SpanData } from '../trace/span.js';
import { hrTimeToUnixNanoString } from '../trace/span.js';

const str = JSON.stringify;

function anyValue(v: AttributeValue): string {
  switch (typeof v) {
    case 'string':
      return `{"stringValue":${str(v)}}`;
    case 'boolean':
      return v ? '{"boolValue":true}' : '{"boolValue":false}';
    case 'number':
      return Number.isInteger(v) ? `{"intValue":"${v}"}` : Number.isFinite(v) ? `{"doubleValue":${v}}` : `{"stringValue":"${v}"}`;
    default: {
      const arr = v as readonly (string | number)[];
      let s = '{"arrayValue":{"values":[';
      for (let i = 0; i < arr.length; i++) {
        if (i > 0) s += ',';
        s += anyValue(arr[i]);
      }
      return s + ']}}';
    }
  }
}

export function encodeAttributes(attrs: Attributes): string {
  let s = '[';
  let first = true;
  for (const k in attrs) {
    const v = attrs[k];
    if (v === undefined) continue;
    if (!first) s += ',';
    first = false;
    s += `{"key":${str(k)},"value":${anyValue(v)}}`;
  }
  return s + ']';
}

export function encodeSpan(sp: SpanData): string {
  let s = `{"traceId":"${sp.traceId}","spanId":"${sp.spanId}"`;
  if (sp.traceState !== '') s += `,"traceState":${str(sp.traceState)}`;
  if (sp.parentSpanId !== '') s += `,"parentSpanId":"${sp.parentSpanId}"`;
  if (sp.flags !== 0) s += `,"flags":${sp.flags}`;
  s += `,"name":${str(sp.name)},"kind":${sp.kind}`;
  s += `,"startTimeUnixNano":"${hrTimeToUnixNanoString(sp.startTime)}","endTimeUnixNano":"${hrTimeToUnixNanoString(sp.endTime)}"`;
  s += `,"attributes":${encodeAttributes(sp.attributes)}`;
  s += ',"status":{';
  if (sp.status.message !== '') s += `"message":${str(sp.status.message)}`;
  if (sp.status.code !== 0) s += `${sp.status.message !== '' ? ',' : ''}"code":${sp.status.code}`;
  return s + '}}';
}

/**
 * One `ExportTraceServiceRequest` as a single JSON line (no trailing newline), grouping spans by
 * resource object identity and then by scope identity, in first-seen order.
 */
export function encodeTraceRequest(spans: readonly SpanData[]): string {
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
  let out = '{"resourceSpans":[';
  let firstR = true;
  for (const [resource, scopes] of byResource) {
    if (!firstR) out += ',';
    firstR = false;
    out += `{"resource":{"attributes":${encodeAttributes(resource.attributes)}},"scopeSpans":[`;
    let firstS = true;
    for (const [scope, list] of scopes) {
      if (!firstS) out += ',';
      firstS = false;
      out += `{"scope":{"name":${str(scope.name)},"version":${str(scope.version)}},"spans":[`;
      for (let i = 0; i < list.length; i++) {
        if (i > 0) out += ',';
        out += encodeSpan(list[i]);
      }
      out += ']}';
    }
    out += ']}';
  }
  return out + ']}';
}

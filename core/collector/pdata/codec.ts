/** Encoding and decoding of whole OTLP export requests per signal, and copies for fan-outs. */
import type { Signal } from '../../../otel-config/components.js';
import type { Attributes } from '../../trace/span.js';
import { copyExactValues, RawTraces, type CollectorResource, type CollectorScope, type CollectorSpan, type LogsData, type MetricsData, type SignalData, type TracesData } from './model.js';
import { decodeProto, encodeProto, ExportLogsServiceRequest, ExportMetricsServiceRequest } from './schema.js';
import { decodeTracesProto, encodeTracesProto, scanTracesProto, tracesFromJson, tracesToJson } from './traces.js';
import { ProtoError } from './wire.js';

export type Encoding = 'proto' | 'json';

export function decodeRequest<S extends Signal>(signal: S, body: Buffer, encoding: Encoding): SignalData[S] {
  if (encoding === 'json') {
    let obj: unknown;
    try {
      obj = JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new ProtoError(`the body is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new ProtoError('the body is not a JSON object');
    if (signal === 'traces') return tracesFromJson(obj) as SignalData[S];
    const key = signal === 'metrics' ? 'resourceMetrics' : 'resourceLogs';
    const list = (obj as Record<string, unknown>)[key];
    if (list !== undefined && !Array.isArray(list)) throw new ProtoError(`${key} must be a list`);
    // Normalise through the protobuf tables so JSON and protobuf inputs look the same downstream.
    const def = signal === 'metrics' ? ExportMetricsServiceRequest : ExportLogsServiceRequest;
    return { [key]: [], ...decodeProto(encodeProto(def, obj as Record<string, unknown>), def) } as SignalData[S];
  }
  if (signal === 'traces') return new RawTraces([body], scanTracesProto(body)) as SignalData[S];
  if (signal === 'metrics') return { resourceMetrics: [], ...decodeProto(body, ExportMetricsServiceRequest) } as unknown as SignalData[S];
  return { resourceLogs: [], ...decodeProto(body, ExportLogsServiceRequest) } as unknown as SignalData[S];
}

/** The spans of a traces batch (decoding raw protobuf bytes when that is what it holds). */
export function spansOf(data: TracesData): CollectorSpan[] {
  return data instanceof RawTraces ? decodeTracesProto(data.bytes()) : data;
}

export function encodeRequest<S extends Signal>(signal: S, data: SignalData[S], encoding: Encoding): Buffer {
  if (encoding === 'json') {
    const obj = signal === 'traces' ? tracesToJson(spansOf(data as TracesData)) : data;
    return Buffer.from(JSON.stringify(obj));
  }
  if (signal === 'traces') return data instanceof RawTraces ? data.bytes() : encodeTracesProto(data as CollectorSpan[]);
  return encodeProto(signal === 'metrics' ? ExportMetricsServiceRequest : ExportLogsServiceRequest, data as Record<string, unknown>);
}

function cloneAttrs(a: Attributes): Attributes {
  const out: Attributes = {};
  for (const k in a) {
    const v = a[k];
    out[k] = Array.isArray(v) ? [...(v as unknown[])] as Attributes[string] : v;
  }
  copyExactValues(a, out);
  return out;
}

/** A deep copy of spans; resources and scopes stay shared among the copies as among the originals. */
export function cloneSpans(spans: readonly CollectorSpan[]): CollectorSpan[] {
  const res = new Map<CollectorResource, CollectorResource>();
  const scopes = new Map<CollectorScope, CollectorScope>();
  return spans.map((s) => {
    let r = res.get(s.resource);
    if (r === undefined) {
      r = { ...s.resource, attributes: cloneAttrs(s.resource.attributes) };
      res.set(s.resource, r);
    }
    let sc = scopes.get(s.scope);
    if (sc === undefined) {
      sc = { ...s.scope, attributes: s.scope.attributes === undefined ? undefined : cloneAttrs(s.scope.attributes) };
      if (sc.attributes === undefined) delete sc.attributes;
      scopes.set(s.scope, sc);
    }
    const c: CollectorSpan = {
      traceId: s.traceId,
      spanId: s.spanId,
      parentSpanId: s.parentSpanId,
      traceState: s.traceState,
      flags: s.flags,
      name: s.name,
      kind: s.kind,
      startTime: [s.startTime[0], s.startTime[1]],
      endTime: [s.endTime[0], s.endTime[1]],
      attributes: cloneAttrs(s.attributes),
      status: { ...s.status },
      resource: r,
      scope: sc,
    };
    if (s.droppedAttributesCount !== undefined) c.droppedAttributesCount = s.droppedAttributesCount;
    if (s.droppedEventsCount !== undefined) c.droppedEventsCount = s.droppedEventsCount;
    if (s.droppedLinksCount !== undefined) c.droppedLinksCount = s.droppedLinksCount;
    if (s.events !== undefined) c.events = s.events.map((e) => ({ ...e, attributes: cloneAttrs(e.attributes) }));
    if (s.links !== undefined) c.links = s.links.map((l) => ({ ...l, attributes: cloneAttrs(l.attributes) }));
    return c;
  });
}

export function cloneData<S extends Signal>(signal: S, data: SignalData[S]): SignalData[S] {
  if (data instanceof RawTraces) return data; // bytes are never changed: whoever changes spans decodes its own
  if (signal === 'traces') return cloneSpans(data as CollectorSpan[]) as SignalData[S];
  return structuredClone(data) as MetricsData | LogsData as SignalData[S];
}

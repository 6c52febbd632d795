/**
 * The data that flows between collector components.
 *
 * Traces are `CollectorSpan`s: spanwire's `SpanData` (core/trace/span.ts) plus everything else OTLP
 * carries (events, links, dropped counts, scope attributes, schema URLs), all optional so that
 * captured spans are CollectorSpans as they are. A span received over OTLP goes out exactly as it
 * came in: values that a plain `AttributeValue` cannot hold losslessly (a double that happens to be
 * integral, an int64 past 2^53, bytes, maps, mixed lists, empty values) keep their original OTLP
 * `AnyValue` beside the plain approximation (see `exactValues`).
 *
 * Metrics and logs flow as OTLP/JSON-shaped objects (`ExportMetricsServiceRequest`,
 * `ExportLogsServiceRequest` in the OTLP JSON mapping: hex ids, 64-bit integers as strings).
 */
import type { AttributeValue, Attributes, HrTime, InstrumentationScope, Resource, SpanData } from '../../trace/span.js';

/** OTLP AnyValue in the OTLP/JSON mapping. */
export interface AnyValueJson {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number | string;
  arrayValue?: { values?: AnyValueJson[] };
  kvlistValue?: { values?: KeyValueJson[] };
  bytesValue?: string;
}
export interface KeyValueJson {
  key: string;
  value?: AnyValueJson;
}

export interface CollectorResource extends Resource {
  droppedAttributesCount?: number;
  /** schema_url of the ResourceSpans. */
  schemaUrl?: string;
}

export interface CollectorScope extends InstrumentationScope {
  attributes?: Attributes;
  droppedAttributesCount?: number;
  /** schema_url of the ScopeSpans. */
  schemaUrl?: string;
}

export interface SpanEvent {
  time: HrTime;
  name: string;
  attributes: Attributes;
  droppedAttributesCount: number;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  traceState: string;
  attributes: Attributes;
  droppedAttributesCount: number;
  flags: number;
}

export interface CollectorSpan extends SpanData {
  resource: CollectorResource;
  scope: CollectorScope;
  events?: SpanEvent[];
  links?: SpanLink[];
  droppedAttributesCount?: number;
  droppedEventsCount?: number;
  droppedLinksCount?: number;
}

/**
 * Traces still in the protobuf bytes they arrived in: one or more `ExportTraceServiceRequest`
 * bodies whose concatenation is one valid request (the message is a single repeated field). Spans
 * that nothing needs to look at (received over OTLP, batched, sent over OTLP) pass through as bytes,
 * exactly as they came, with no decoding. `spansOf` decodes them for components that need spans.
 */
export class RawTraces {
  constructor(
    readonly parts: readonly Buffer[],
    /** Spans in all parts (counted when the bytes were checked). */
    readonly count: number,
  ) {}
  bytes(): Buffer {
    return this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts as Buffer[]);
  }
}

export type TracesData = CollectorSpan[] | RawTraces;

export type MetricsData = { resourceMetrics: Record<string, unknown>[] };
export type LogsData = { resourceLogs: Record<string, unknown>[] };

export interface SignalData {
  traces: TracesData;
  metrics: MetricsData;
  logs: LogsData;
}

/**
 * Exact OTLP values of attributes whose plain value is an approximation, per attribute map. The
 * exact value is used only while the attribute still holds the plain value it was paired with, so a
 * processor that changes an attribute simply gets its new value exported.
 */
const exact = new WeakMap<Attributes, Map<string, { plain: AttributeValue; any: AnyValueJson }>>();

export function setExactValue(attrs: Attributes, key: string, plain: AttributeValue, any: AnyValueJson): void {
  let m = exact.get(attrs);
  if (m === undefined) {
    m = new Map();
    exact.set(attrs, m);
  }
  m.set(key, { plain, any });
}

export function exactValue(attrs: Attributes, key: string): AnyValueJson | undefined {
  const e = exact.get(attrs)?.get(key);
  return e !== undefined && e.plain === attrs[key] ? e.any : undefined;
}

export function hasExactValues(attrs: Attributes): boolean {
  return exact.has(attrs);
}

/** Copies exact values that still apply from one attribute map to another (processors that copy). */
export function copyExactValues(from: Attributes, to: Attributes): void {
  const m = exact.get(from);
  if (m === undefined) return;
  for (const [k, e] of m) if (to[k] === e.plain) setExactValue(to, k, e.plain, e.any);
}

export function countItems<S extends keyof SignalData>(signal: S, data: SignalData[S]): number {
  if (signal === 'traces') return data instanceof RawTraces ? data.count : (data as CollectorSpan[]).length;
  if (signal === 'metrics') {
    let n = 0;
    for (const rm of (data as MetricsData).resourceMetrics ?? [])
      for (const sm of (rm.scopeMetrics as { metrics?: Record<string, { dataPoints?: unknown[] }>[] }[] | undefined) ?? [])
        for (const m of sm.metrics ?? []) {
          const body = m.gauge ?? m.sum ?? m.histogram ?? m.exponentialHistogram ?? m.summary;
          n += body?.dataPoints?.length ?? 0;
        }
    return n;
  }
  let n = 0;
  for (const rl of (data as LogsData).resourceLogs ?? []) for (const sl of (rl.scopeLogs as { logRecords?: unknown[] }[] | undefined) ?? []) n += sl.logRecords?.length ?? 0;
  return n;
}

/** The OTel Collector's item names in self-telemetry: spans, metric_points, log_records. */
export const ITEM_NAME: Record<keyof SignalData, string> = { traces: 'spans', metrics: 'metric_points', logs: 'log_records' };

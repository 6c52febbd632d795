/**
 * The span record that flows through the pipeline: the shape of an OTLP span, with OTel JS
 * conventions where they exist (HrTime = [seconds, nanoseconds]).
 *
 * Resource and scope objects are shared by reference: exporters group spans by object identity,
 * so create one per distinct resource, not one per span.
 */

export type AttributeValue = string | number | boolean | readonly string[] | readonly number[];
export type Attributes = Record<string, AttributeValue>;

/** OTel HrTime: [seconds since epoch, nanoseconds]. */
export type HrTime = [number, number];

/** OTLP span kinds (opentelemetry-proto numbering; note OTel JS's SpanKind enum is offset by one). */
export const SPAN_KIND_UNSPECIFIED = 0;
export const SPAN_KIND_INTERNAL = 1;
export const SPAN_KIND_SERVER = 2;
export const SPAN_KIND_CLIENT = 3;
export const SPAN_KIND_PRODUCER = 4;
export const SPAN_KIND_CONSUMER = 5;

/** OTLP status codes. */
export const STATUS_UNSET = 0;
export const STATUS_OK = 1;
export const STATUS_ERROR = 2;

export interface Resource {
  readonly attributes: Attributes;
}

export interface InstrumentationScope {
  readonly name: string;
  readonly version: string;
}

export interface SpanStatus {
  code: number;
  message: string;
}

export interface SpanData {
  /** 32 lower-case hex chars. */
  traceId: string;
  /** 16 lower-case hex chars. */
  spanId: string;
  /** 16 hex chars, or '' for a root span. */
  parentSpanId: string;
  /** W3C tracestate carried with the context, or ''. */
  traceState: string;
  /** W3C trace flags (bit 0 = sampled). */
  flags: number;
  name: string;
  /** SPAN_KIND_*. */
  kind: number;
  startTime: HrTime;
  endTime: HrTime;
  attributes: Attributes;
  status: SpanStatus;
  resource: Resource;
  scope: InstrumentationScope;
}

/** Everything downstream of span building consumes batches through this one edge. */
export interface TracesConsumer {
  /** Take a batch. The consumer owns the array afterwards. May be async (back-pressure). */
  consumeTraces(spans: SpanData[]): void | Promise<void>;
}

/** Duration of a span in ns (exact for any realistic span). */
export function spanDurationNs(s: SpanData): number {
  return (s.endTime[0] - s.startTime[0]) * 1e9 + (s.endTime[1] - s.startTime[1]);
}

/**
 * Trace context carried in payloads (HTTP headers today; gRPC metadata, Kafka record headers, MQTT 5
 * user properties and Dubbo attachments later). Protocol parsers collect header name/value pairs
 * into a `TraceContextCollector`; the span builder makes the carried span the parent.
 */

export interface TraceContext {
  /** 32 lower-case hex chars (64-bit ids from B3/Jaeger are left-padded with zeros). */
  traceId: string;
  /** The carried (parent) span id: 16 lower-case hex chars, or '' when the format carries none. */
  parentSpanId: string;
  /** Sampling decision when the format says one, else null. */
  sampled: boolean | null;
  /** W3C tracestate, or ''. */
  traceState: string;
  /** Which format gave the context: 'traceparent' | 'b3' | 'b3multi' | 'uber-trace-id' | 'sw8'. */
  source: string;
  /** Value of an x-request-id style correlation header, or '' (kept even without trace context). */
  requestId: string;
}

export { TraceContextCollector, parseTraceparent, parseB3Single, parseUberTraceId, parseSw8 } from './propagation-impl.js';

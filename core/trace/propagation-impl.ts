/**
 * Parsers for the trace-context formats found in payloads. Each returns a TraceContext or null for an
 * invalid value; none throws.
 *
 * - W3C Trace Context (`traceparent` + `tracestate`), https://www.w3.org/TR/trace-context/
 * - B3 single header `b3` and multi headers `X-B3-*`, https://github.com/openzipkin/b3-propagation
 * - Jaeger `uber-trace-id: {trace}:{span}:{parent}:{flags}`
 * - SkyWalking `sw8: {sample}-{b64 traceId}-{b64 segmentId}-{spanId}-...`: SkyWalking ids are not hex,
 *   so the trace id is the first 128 bits of SHA-256 of the decoded trace id, and the parent span id the
 *   first 64 bits of SHA-256 of "{segmentId}/{spanId}": deterministic, so every observer of the same
 *   request derives the same ids. The raw values are never exported.
 */
import { createHash } from 'node:crypto';
import type { TraceContext } from './propagation.js';

const HEX_LOWER = /^[0-9a-f]+$/;
const HEX_ANY = /^[0-9a-fA-F]+$/;
const ZERO32 = '00000000000000000000000000000000';
const ZERO16 = '0000000000000000';

function ctx(traceId: string, parentSpanId: string, sampled: boolean | null, source: string, traceState = ''): TraceContext {
  return { traceId, parentSpanId, sampled, traceState, source, requestId: '' };
}

/** W3C traceparent: `version-traceid-parentid-flags`. Future versions: parse the first four fields. */
export function parseTraceparent(value: string): TraceContext | null {
  const v = value.trim();
  if (v.length < 55) return null;
  const version = v.slice(0, 2);
  if (!HEX_LOWER.test(version) || version === 'ff') return null;
  if (version === '00' && v.length !== 55) return null;
  if (v[2] !== '-' || v[35] !== '-' || v[52] !== '-') return null;
  if (version !== '00' && v.length > 55 && v[55] !== '-') return null;
  const traceId = v.slice(3, 35);
  const parent = v.slice(36, 52);
  const flags = v.slice(53, 55);
  if (!HEX_LOWER.test(traceId) || !HEX_LOWER.test(parent) || !HEX_LOWER.test(flags)) return null;
  if (traceId === ZERO32 || parent === ZERO16) return null;
  return ctx(traceId, parent, (parseInt(flags, 16) & 1) === 1, 'traceparent');
}

function padId(id: string, len: 16 | 32): string | null {
  if (id.length === 0 || id.length > len || !HEX_ANY.test(id)) return null;
  const out = id.toLowerCase().padStart(len, '0');
  return out === (len === 32 ? ZERO32 : ZERO16) ? null : out;
}

function b3Sampled(s: string | undefined): boolean | null {
  if (s === undefined || s === '') return null;
  if (s === '1' || s === 'd' || s === 'true') return true;
  if (s === '0' || s === 'false') return false;
  return null;
}

/** B3 single header: `{TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]]`, or a lone sampling state. */
export function parseB3Single(value: string): TraceContext | null {
  const parts = value.trim().split('-');
  if (parts.length < 2 || parts.length > 4) return null;
  if (parts[0].length !== 16 && parts[0].length !== 32) return null;
  if (parts[1].length !== 16) return null;
  const traceId = padId(parts[0], 32);
  const spanId = padId(parts[1], 16);
  if (traceId === null || spanId === null) return null;
  if (parts.length >= 3 && !['0', '1', 'd'].includes(parts[2])) return null;
  if (parts.length === 4 && padId(parts[3], 16) === null) return null;
  return ctx(traceId, spanId, b3Sampled(parts[2]), 'b3');
}

/** Jaeger: `{trace-id}:{span-id}:{parent-span-id}:{flags}` (hex, possibly short; `%3A` accepted). */
export function parseUberTraceId(value: string): TraceContext | null {
  const v = value.trim().replace(/%3A/gi, ':');
  const parts = v.split(':');
  if (parts.length !== 4) return null;
  const traceId = padId(parts[0], 32);
  const spanId = padId(parts[1], 16);
  if (traceId === null || spanId === null) return null;
  if (!HEX_ANY.test(parts[3]) || parts[3].length > 2) return null;
  return ctx(traceId, spanId, (parseInt(parts[3], 16) & 1) === 1, 'uber-trace-id');
}

function b64(s: string): string | null {
  if (s.length === 0 || !/^[A-Za-z0-9+/=_-]+$/.test(s)) return null;
  const out = Buffer.from(s, 'base64').toString('utf8');
  return out.length > 0 ? out : null;
}

function sha256Hex(s: string, chars: number): string {
  return createHash('sha256').update(s).digest('hex').slice(0, chars);
}

/** SkyWalking v3 `sw8`: 8 dash-separated fields; traceId and segmentId base64, spanId decimal. */
export function parseSw8(value: string): TraceContext | null {
  const parts = value.trim().split('-');
  if (parts.length !== 8) return null;
  if (parts[0] !== '0' && parts[0] !== '1') return null;
  const trace = b64(parts[1]);
  const segment = b64(parts[2]);
  if (trace === null || segment === null || !/^\d+$/.test(parts[3])) return null;
  return ctx(sha256Hex(trace, 32), sha256Hex(`${segment}/${parts[3]}`, 16), parts[0] === '1', 'sw8');
}

const PRIO_TRACEPARENT = 5;
const PRIO_B3 = 4;
const PRIO_B3MULTI = 3;
const PRIO_UBER = 2;
const PRIO_SW8 = 1;

/**
 * Collects trace-context headers of one message. Feed it lower-case header names with `offer`; it keeps
 * only the values of the headers it knows, and `result()` applies the precedence traceparent > b3 >
 * X-B3-* > uber-trace-id > sw8. A message with only an x-request-id gives a context with traceId ''.
 * Cheap to reuse: `reset()` between messages.
 */
export class TraceContextCollector {
  private traceparent = '';
  private tracestate = '';
  private b3 = '';
  private b3TraceId = '';
  private b3SpanId = '';
  private b3Sampled = '';
  private b3Flags = '';
  private uber = '';
  private sw8 = '';
  private requestId = '';
  /** True once any known header was offered (lets callers skip `result()`). */
  any = false;

  reset(): void {
    this.traceparent = this.tracestate = this.b3 = this.b3TraceId = this.b3SpanId = '';
    this.b3Sampled = this.b3Flags = this.uber = this.sw8 = this.requestId = '';
    this.any = false;
  }

  /** True when `nameLower` is a header this collector reads (callers decode the value only then). */
  static wants(nameLower: string): boolean {
    return KNOWN.has(nameLower);
  }

  offer(nameLower: string, value: string): void {
    switch (nameLower) {
      case 'traceparent':
        this.traceparent = value;
        break;
      case 'tracestate':
        // Several tracestate headers combine into one list (W3C 3.3.1.1).
        this.tracestate = this.tracestate ? `${this.tracestate},${value.trim()}` : value.trim();
        break;
      case 'b3':
        this.b3 = value;
        break;
      case 'x-b3-traceid':
        this.b3TraceId = value.trim();
        break;
      case 'x-b3-spanid':
        this.b3SpanId = value.trim();
        break;
      case 'x-b3-sampled':
        this.b3Sampled = value.trim();
        break;
      case 'x-b3-flags':
        this.b3Flags = value.trim();
        break;
      case 'uber-trace-id':
        this.uber = value;
        break;
      case 'sw8':
        this.sw8 = value;
        break;
      case 'x-request-id':
      case 'x-correlation-id':
      case 'request-id':
        if (this.requestId === '') this.requestId = value.trim().slice(0, 256);
        break;
      default:
        return;
    }
    this.any = true;
  }

  result(): TraceContext | null {
    if (!this.any) return null;
    let best: TraceContext | null = null;
    let prio = 0;
    const consider = (c: TraceContext | null, p: number) => {
      if (c !== null && p > prio) {
        best = c;
        prio = p;
      }
    };
    if (this.traceparent) {
      const c = parseTraceparent(this.traceparent);
      if (c !== null && this.tracestate) c.traceState = this.tracestate.slice(0, 512);
      consider(c, PRIO_TRACEPARENT);
    }
    if (prio < PRIO_B3 && this.b3) consider(parseB3Single(this.b3), PRIO_B3);
    if (prio < PRIO_B3MULTI && this.b3TraceId && this.b3SpanId) {
      const t = this.b3TraceId.length === 16 || this.b3TraceId.length === 32 ? padId(this.b3TraceId, 32) : null;
      const s = this.b3SpanId.length === 16 ? padId(this.b3SpanId, 16) : null;
      if (t !== null && s !== null) {
        consider(ctx(t, s, this.b3Flags === '1' ? true : b3Sampled(this.b3Sampled), 'b3multi'), PRIO_B3MULTI);
      }
    }
    if (prio < PRIO_UBER && this.uber) consider(parseUberTraceId(this.uber), PRIO_UBER);
    if (prio < PRIO_SW8 && this.sw8) consider(parseSw8(this.sw8), PRIO_SW8);
    if (best === null) {
      if (this.requestId === '') return null;
      return { traceId: '', parentSpanId: '', sampled: null, traceState: '', source: '', requestId: this.requestId };
    }
    (best as TraceContext).requestId = this.requestId;
    return best;
  }
}

const KNOWN = new Set([
  'traceparent',
  'tracestate',
  'b3',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-sampled',
  'x-b3-flags',
  'uber-trace-id',
  'sw8',
  'x-request-id',
  'x-correlation-id',
  'request-id',
]);

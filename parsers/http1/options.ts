/**
 * Options of the HTTP/1 parser (`ParserContext.options`, from the `http1` section of the
 * configuration). Resolved once per options object and cached.
 */
import { DEFAULT_METHOD_TABLE, MethodTable } from './methods.js';

/** Default cap on a header (or trailer) section, start line included: 64 KiB. */
export const DEFAULT_MAX_HEADER_BYTES = 64 << 10;
/** Default cap on requests remembered per flow while their responses are awaited. */
export const DEFAULT_MAX_PENDING_REQUESTS = 1024;
/** Query parameters whose values are replaced by REDACTED in `url.query` (OTel URL conventions). */
export const DEFAULT_SENSITIVE_QUERY_PARAMETERS: readonly string[] = ['AWSAccessKeyId', 'Signature', 'sig', 'X-Goog-Signature'];

/**
 * The options as the session uses them. Each is read from the options object under its camelCase
 * name, or its snake_case alias (the OTel declarative-configuration spelling).
 */
export interface Http1Options {
  /** `maxHeaderBytes` / `max_header_bytes`: header (and trailer) section cap in bytes, >= 256. */
  readonly maxHeaderBytes: number;
  /** `maxPendingRequests` / `max_pending_requests`: requests awaiting their response per flow, >= 1. */
  readonly maxPendingRequests: number;
  /** `knownMethods` / `known_methods`: the known-method list (replaces the default; case-sensitive). */
  readonly methods: MethodTable;
  /** `sensitiveQueryParameters` / `sensitive_query_parameters`: query keys whose values are redacted (replaces the default). */
  readonly sensitiveQueryParameters: readonly string[];
}

const DEFAULTS: Http1Options = {
  maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
  maxPendingRequests: DEFAULT_MAX_PENDING_REQUESTS,
  methods: DEFAULT_METHOD_TABLE,
  sensitiveQueryParameters: DEFAULT_SENSITIVE_QUERY_PARAMETERS,
};

const cache = new WeakMap<object, Http1Options>();

function intOption(v: unknown, min: number, fallback: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min ? v : fallback;
}

/** A list option: its non-empty strings, or null when it is not an array. */
export function stringList(v: unknown): string[] | null {
  if (!Array.isArray(v)) return null;
  const out: string[] = [];
  for (const s of v) if (typeof s === 'string' && s.length > 0) out.push(s);
  return out;
}

/** Options for a session; unknown or invalid values fall back to the defaults (config validation reports them). */
export function resolveOptions(o: Readonly<Record<string, unknown>>): Http1Options {
  let r = cache.get(o);
  if (r !== undefined) return r;
  if (Object.keys(o).length === 0) {
    r = DEFAULTS;
  } else {
    const methods = stringList(o.knownMethods ?? o.known_methods);
    const sensitive = stringList(o.sensitiveQueryParameters ?? o.sensitive_query_parameters);
    r = {
      maxHeaderBytes: intOption(o.maxHeaderBytes ?? o.max_header_bytes, 256, DEFAULT_MAX_HEADER_BYTES),
      maxPendingRequests: intOption(o.maxPendingRequests ?? o.max_pending_requests, 1, DEFAULT_MAX_PENDING_REQUESTS),
      methods: methods !== null ? new MethodTable(methods) : DEFAULT_METHOD_TABLE,
      sensitiveQueryParameters: sensitive ?? DEFAULT_SENSITIVE_QUERY_PARAMETERS,
    };
  }
  cache.set(o, r);
  return r;
}

/**
 * `url.query` with the values of sensitive keys replaced by REDACTED, the keys kept
 * (`q=OpenTelemetry&sig=REDACTED`). Keys match case-sensitively, as sent (not percent-decoded).
 */
export function redactQuery(query: string, keys: readonly string[]): string {
  let hit = false;
  for (let i = 0; i < keys.length; i++) {
    if (query.includes(keys[i])) {
      hit = true;
      break;
    }
  }
  if (!hit) return query;
  const parts = query.split('&');
  let changed = false;
  for (let i = 0; i < parts.length; i++) {
    const eq = parts[i].indexOf('=');
    if (eq < 0) continue;
    const key = parts[i].slice(0, eq);
    if (keys.includes(key) && parts[i].length > eq + 1) {
      parts[i] = `${key}=REDACTED`;
      changed = true;
    }
  }
  return changed ? parts.join('&') : query;
}

/**
 * Options of the `http2` parser (config section `http2`). camelCase names, or their snake_case
 * aliases (the OTel declarative-configuration spelling).
 */
import { DEFAULT_KNOWN_METHODS } from '../http1/methods.js';
import { DEFAULT_SENSITIVE_QUERY_PARAMETERS, stringList } from '../http1/options.js';

/** Streams tracked per connection by default (RFC 9113 recommends allowing at least 100 concurrent). */
export const DEFAULT_MAX_STREAMS = 1024;

export interface Http2Options {
  /** `knownMethods` / `known_methods`: methods reported as sent; others become `_OTHER` (case-sensitive). */
  readonly methods: readonly string[];
  /** `sensitiveQueryParameters` / `sensitive_query_parameters`: query keys whose values are redacted. */
  readonly sensitiveQueryParameters: readonly string[];
  /** `maxStreams` / `max_streams`: open streams tracked per connection, >= 1; beyond, new streams are counted and ignored. */
  readonly maxStreams: number;
}

const DEFAULTS: Http2Options = {
  methods: DEFAULT_KNOWN_METHODS,
  sensitiveQueryParameters: DEFAULT_SENSITIVE_QUERY_PARAMETERS,
  maxStreams: DEFAULT_MAX_STREAMS,
};

const cache = new WeakMap<object, Http2Options>();

/** Options for a session; invalid values fall back to the defaults. */
export function resolveHttp2Options(o: Readonly<Record<string, unknown>>): Http2Options {
  let r = cache.get(o);
  if (r !== undefined) return r;
  if (Object.keys(o).length === 0) {
    r = DEFAULTS;
  } else {
    const ms = o.maxStreams ?? o.max_streams;
    r = {
      methods: stringList(o.knownMethods ?? o.known_methods) ?? DEFAULT_KNOWN_METHODS,
      sensitiveQueryParameters: stringList(o.sensitiveQueryParameters ?? o.sensitive_query_parameters) ?? DEFAULT_SENSITIVE_QUERY_PARAMETERS,
      maxStreams: typeof ms === 'number' && Number.isInteger(ms) && ms >= 1 ? ms : DEFAULT_MAX_STREAMS,
    };
  }
  cache.set(o, r);
  return r;
}

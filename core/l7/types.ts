/**
 * L7: protocol parsers, detection and dispatch.
 *
 * A protocol is a registration record (`ProtocolParser`) plus a per-flow state (`ParserSession`).
 * Parsers turn bytes into `L7Message`s (requests, responses) and hand them to `ParserContext.emit`;
 * they never pair, export or log. Pairing and span building happen in core/session, guided by the
 * message's `sessionId` and by the parser's `describeSpan`.
 */
import type { Attributes } from '../trace/span.js';
import type { TraceContext } from '../trace/propagation.js';

// ---- probe results (detection) ---------------------------------------------------------------
/** Not this protocol. */
export const PROBE_NO = 0;
/** This protocol, and the bytes are a request: their sender is the client. */
export const PROBE_REQUEST = 1;
/** This protocol, and the bytes are a response: their sender is the server. */
export const PROBE_RESPONSE = 2;
/** This protocol; the bytes do not tell the direction. */
export const PROBE_MATCH = 3;
/** Cannot tell yet: offer again with more bytes (up to the dispatcher's probe limit). */
export const PROBE_NEED_MORE = 4;

// ---- parse results ---------------------------------------------------------------------------
/**
 * `ParserSession.parse` returns the number of bytes consumed (0..length). Bytes not consumed are
 * offered again, in front of the next data (the dispatcher keeps them, up to a cap): that is
 * "need more data". A negative value is an error that stops this parser for this flow:
 */
export const PARSE_ERROR = -1;

/** Message types. */
export const MSG_REQUEST = 1;
export const MSG_RESPONSE = 2;

/** `sessionId` for protocols paired in order (HTTP/1, Redis, MySQL...): first request <-> first response. */
export const SESSION_FIFO = -1;

/**
 * One protocol message (a whole request or response). Allocated per message by the parser.
 * A parser may emit a request as soon as its head is complete and fill in `endTs`, `size` and body
 * attributes in place when its body ends (until its response arrives, the pairing layer only holds it).
 * Attributes use the OTel semantic-convention names of ../shared/docs/SEMCONV.md.
 */
export interface L7Message {
  /** MSG_REQUEST or MSG_RESPONSE. */
  type: number;
  /**
   * Pairing key within the flow: SESSION_FIFO to pair in order, or an id (HTTP/2 stream id, DNS id,
   * Kafka correlation id) to pair the request and the response carrying the same id.
   */
  sessionId: number;
  /** Time of the first and last byte of the message (relative ns). */
  startTs: number;
  endTs: number;
  /** Wire bytes of the message (headers + body). */
  size: number;
  /** Attributes contributed to the span (semantic-convention names). */
  attrs: Attributes;
  /**
   * Requests only: false when no response will come (fire-and-forget), so the request becomes a
   * span at once instead of waiting for a response or a timeout.
   */
  expectsResponse: boolean;
  /** Requests only: trace context carried in the payload (headers, metadata), if any. */
  trace: TraceContext | null;
  /**
   * True when messages of this direction may have been lost just before this one (the parser
   * resynchronised after a gap). In-order pairing then matches a response with the latest request
   * that started before it, and settles older waiting requests as unanswered.
   */
  afterGap: boolean;
  /**
   * Protocol-specific facts `describeSpan` needs (e.g. HTTP status code, method). Parsers define its
   * shape; the dispatcher and session layers never read it.
   */
  info: unknown;
}

/** What `describeSpan` decides for a paired exchange. */
export interface SpanDescription {
  /** Span name (e.g. "GET", "DNS A"). */
  name: string;
  /** True when the exchange is an error for this span kind (see SEMCONV.md "error when"). */
  error: boolean;
  /** `error.type` when error (e.g. "500", "host_not_found"); ignored otherwise. */
  errorType: string;
  /** Status description (optional, short). */
  message: string;
  /**
   * Span kind override (OTLP numbering; 0 keeps the kind of the observation point). Messaging
   * protocols use it: PRODUCER for publish, CONSUMER for delivery.
   */
  kind: number;
}

/** Context given to a parser session: where it emits, and the clock of the bytes it parses. */
export interface ParserContext {
  /** The flow (addresses, ports, transport). Read-only for parsers. */
  readonly flow: import('../flow/types.js').Flow;
  /**
   * Capture time of the first byte of the data offered in the current `parse` call (relative ns).
   * When the dispatcher carried unconsumed bytes over, this is the time those bytes arrived.
   */
  firstByteTs: number;
  /** Capture time of the last byte offered in the current call (relative ns). */
  lastByteTs: number;
  /** Hand a complete message to the pairing layer. */
  emit(msg: L7Message): void;
  /** Count a named anomaly for this protocol (e.g. 'http1_header_too_large'). Cheap; no logging. */
  anomaly(kind: string): void;
  /**
   * Stop parsing this flow without an error (e.g. a CONNECT tunnel or an upgrade to a protocol no
   * parser handles): the rest of the flow's bytes are ignored and counted as `bytesIgnored`.
   */
  stop(reason: string): void;
  /**
   * Hand the flow over to another registered parser (e.g. 'http2' after `Upgrade: h2c`): the bytes
   * after the ones consumed in this call go to the new parser's session. Returns false (and changes
   * nothing) when no parser of that name is registered. `handoff` (protocol-specific, e.g. "the
   * upgraded request is waiting for its response on stream 1") is given to the new session as
   * `ctx.handoff`.
   */
  switchProtocol(name: string, handoff?: unknown): boolean;
  /**
   * What the previous parser of this flow handed over with `switchProtocol`; null when the parser
   * was chosen by detection. Read it in `createSession`.
   */
  readonly handoff: unknown;
  /** Parser options from the configuration (protocol-specific; empty object by default). */
  readonly options: Readonly<Record<string, unknown>>;
}

/**
 * Per-flow parser state, created by `ProtocolParser.createSession` when the parser is chosen for a
 * flow. It sees both directions; `toServer` tells which side the bytes came from.
 */
export interface ParserSession {
  /**
   * Parse bytes from one direction. `buf[offset .. offset+length)` is valid only during the call.
   * Return bytes consumed (0..length; the rest is offered again with more data) or PARSE_ERROR.
   * Must not throw on any input (the dispatcher catches and counts it as an error if it does).
   * For UDP each call is exactly one datagram; consume it whole.
   */
  parse(toServer: boolean, buf: Uint8Array, offset: number, length: number): number;
  /**
   * `length` bytes from this direction were lost. Any bytes the dispatcher was holding for this
   * direction have been discarded. The parser drops its partial message (or keeps what it can)
   * and resynchronises on the next message start it recognises.
   */
  onGap(toServer: boolean, length: number): void;
  /**
   * The direction ended (FIN). Messages delimited by connection close (HTTP/1 bodies without
   * length) end here and are emitted.
   */
  onEnd(toServer: boolean): void;
}

/** Probe input: how much is known about the flow when probing. */
export interface ProbeHint {
  /** 'tcp' or 'udp'. */
  readonly transport: 'tcp' | 'udp';
  /** Server port if the client side is known, else the destination port of these bytes. */
  readonly port: number;
  /**
   * True/false when the flow's role is known from the handshake and these bytes go to/from the
   * server; null when unknown.
   */
  readonly toServer: boolean | null;
}

/**
 * The registration record of a protocol: one line in the registry.
 * Built-in parsers live in parsers/<name>/; Wasm plugins are adapted to this same record.
 */
export interface ProtocolParser {
  /**
   * Protocol name as it appears in spans and metrics (`spanwire.protocol`): 'http1', 'http2',
   * 'dns', 'mysql'... Also the name used by `switchProtocol` and in config.
   */
  readonly name: string;
  /** Transports the parser handles. */
  readonly transports: readonly ('tcp' | 'udp')[];
  /** Ports where the protocol usually runs: only a hint to order probes, never required. */
  readonly ports: readonly number[];
  /**
   * Bytes the probe may need at most; past this the dispatcher treats PROBE_NEED_MORE as PROBE_NO.
   */
  readonly probeLimit: number;
  /**
   * Decide from the first bytes of a direction whether they are this protocol. Must be cheap, must
   * not allocate on the PROBE_NO path, must not throw.
   */
  probe(buf: Uint8Array, offset: number, length: number, hint: ProbeHint): number;
  /** Create the per-flow state. Called once when the parser is chosen for a flow. */
  createSession(ctx: ParserContext): ParserSession;
  /**
   * Name and status of the span for an exchange. `req` or `resp` may be null (a response whose
   * request was not captured; a request that timed out). `kind` is the OTLP span kind chosen by the
   * observation point (2 SERVER, 3 CLIENT, 4 PRODUCER, 5 CONSUMER): error rules depend on it.
   * Writes into `out` (reused); must not keep references to it.
   */
  describeSpan(req: L7Message | null, resp: L7Message | null, kind: number, out: SpanDescription): void;
}

// The author-facing API: subclass `Parser`, override what the protocol needs, register it.
import { input, Input } from './input';
import { message, Message, poolString } from './message';
import { http, HttpMessage } from './http';
import { OUT } from './buffers';
import {
  CAP_HTTP_REQUEST, CAP_HTTP_RESPONSE, CAP_PARSER, D_CAPS, D_NAME, D_PORT_COUNT, D_PORTS, D_PROBE_LIMIT, D_TRANSPORTS,
  MAX_PORTS, OUT_MSGS, PROBE_NO, REC_REQUEST, REC_RESPONSE,
} from './layout';

/** What is known about the flow when probing or opening a session. */
export class Hint {
  /** True for UDP. */
  udp: bool = false;
  /** Server port when the client side is known, else the destination port of the bytes. */
  port: i32 = 0;
  /** 1 / 0 when the bytes are known to go to / come from the server, -1 when unknown. */
  toServer: i32 = -1;
}

export const hint = new Hint();

/**
 * A protocol parser. One instance per flow (created when spanwire picks this parser for a flow;
 * fields hold the per-flow state), plus one instance that only answers `probe`. Every method has a
 * no-op default: override what you need. A `throw` (or any trap) aborts the call: spanwire counts
 * it, re-creates the plugin instance and resynchronises the flows.
 */
export class Parser {
  /**
   * Are these the first bytes of a direction of this protocol? Return PROBE_REQUEST (the sender is
   * the client), PROBE_RESPONSE (the sender is the server), PROBE_MATCH (cannot tell which),
   * PROBE_NEED_MORE (too few bytes yet) or PROBE_NO. Called on the probe instance, for flows not yet
   * claimed by any parser; keep it cheap.
   */
  probe(input: Input, hint: Hint): i32 {
    return PROBE_NO;
  }

  /**
   * Parse bytes of one direction. Return how many bytes were consumed (0..input.length): bytes not
   * consumed are offered again, in front of the next data. Return PARSE_ERROR to give up on this flow.
   * Emit complete messages with `this.request(...)` / `this.response(...)` (at most 64 per call).
   */
  parse(toServer: bool, input: Input): i32 {
    return input.length;
  }

  /** `length` bytes of this direction were not captured: drop partial state and resynchronise. */
  onGap(toServer: bool, length: i32): void {}

  /** The direction ended (FIN): messages delimited by the close end here. */
  onClose(toServer: bool): void {}

  /** HTTP hook (registerHttpHooks): a request was parsed; add attributes to `out`, or set the span name. */
  onHttpRequest(http: HttpMessage, out: Message): void {}

  /** HTTP hook (registerHttpHooks): a response was parsed; add attributes, or set the span name or status. */
  onHttpResponse(http: HttpMessage, out: Message): void {}

  /** Emits a request that starts at input offset `start` and spans `size` wire bytes. */
  request(start: i32, size: i32): Message {
    return message.begin(REC_REQUEST, start, size);
  }

  /** Emits a response that starts at input offset `start` and spans `size` wire bytes. */
  response(start: i32, size: i32): Message {
    return message.begin(REC_RESPONSE, start, size);
  }
}

// ---- registration (one parser and/or one hook set per plugin) ---------------------------------

let factory: (() => Parser) | null = null;
let prober: Parser | null = null;
let hooks: Parser | null = null;
let caps: i32 = 0;
let parserName: string = '';
let parserTransports: i32 = 0;
let parserPorts: i32[] = [];
let parserProbeLimit: i32 = 1024;

/**
 * Registers the plugin's parser: its protocol `name` (as it appears in spans: lower case, digits,
 * '_', at most 32), transports (TCP, UDP or TCP | UDP), usual server ports (hints only) and the most
 * bytes `probe` may need. Call once, at the top level of the plugin.
 */
export function registerParser<T extends Parser>(name: string, transports: i32, ports: i32[], probeLimit: i32 = 1024): void {
  factory = (): Parser => instantiate<T>();
  prober = instantiate<T>();
  caps |= CAP_PARSER;
  parserName = name;
  parserTransports = transports;
  parserPorts = ports;
  parserProbeLimit = probeLimit;
}

/**
 * Registers HTTP hooks: `onHttpRequest` / `onHttpResponse` of one instance of T run for every
 * HTTP/1 message spanwire parses. `name` names the plugin in counters when no parser is registered.
 */
export function registerHttpHooks<T extends Parser>(name: string, onRequest: bool = true, onResponse: bool = true): void {
  hooks = instantiate<T>();
  if (onRequest) caps |= CAP_HTTP_REQUEST;
  if (onResponse) caps |= CAP_HTTP_RESPONSE;
  if (parserName.length == 0) parserName = name;
}

// ---- runtime glue used by the exports (abi.ts) -----------------------------------------------

const MAX_SESSIONS: i32 = 1 << 16;
const sessions: Array<Parser | null> = [];
const freeHandles: i32[] = [];

export function describe(): i32 {
  if (caps == 0) return -1;
  const d = OUT + <usize>OUT_MSGS;
  store<i32>(d + D_CAPS, caps);
  store<i32>(d + D_TRANSPORTS, parserTransports);
  store<i32>(d + D_PROBE_LIMIT, parserProbeLimit);
  poolString(d + D_NAME, parserName);
  const n = min(parserPorts.length, MAX_PORTS);
  store<i32>(d + D_PORT_COUNT, n);
  for (let i = 0; i < n; i++) store<i32>(d + D_PORTS + <usize>(i * 4), parserPorts[i]);
  return 0;
}

export function setHint(port: i32, flags: i32): void {
  hint.udp = (flags & 1) != 0;
  hint.port = port;
  hint.toServer = (flags & 2) != 0 ? ((flags & 4) != 0 ? 1 : 0) : -1;
}

export function probeCall(len: i32): i32 {
  const p = prober;
  if (p == null) return PROBE_NO;
  input.length = len;
  return p.probe(input, hint);
}

export function openSession(): i32 {
  const f = factory;
  if (f == null) return -1;
  let h: i32;
  if (freeHandles.length > 0) {
    h = freeHandles.pop();
    sessions[h - 1] = f();
  } else {
    if (sessions.length >= MAX_SESSIONS) return -2;
    sessions.push(f());
    h = sessions.length;
  }
  return h;
}

function session(h: i32): Parser | null {
  return h >= 1 && h <= sessions.length ? sessions[h - 1] : null;
}

export function parseCall(h: i32, toServer: i32, len: i32): i32 {
  const s = session(h);
  if (s == null) return -1;
  input.length = len;
  return s.parse(toServer != 0, input);
}

export function gapCall(h: i32, toServer: i32, len: i32): i32 {
  const s = session(h);
  if (s == null) return -1;
  s.onGap(toServer != 0, len);
  return 0;
}

export function endCall(h: i32, toServer: i32): i32 {
  const s = session(h);
  if (s == null) return -1;
  input.length = 0;
  s.onClose(toServer != 0);
  return 0;
}

export function closeSession(h: i32): i32 {
  if (session(h) == null) return -1;
  sessions[h - 1] = null;
  freeHandles.push(h);
  return 0;
}

export function httpCall(isRequest: bool, headLen: i32, bodyLen: i32): i32 {
  const k = hooks;
  if (k == null) return 0;
  input.length = headLen + bodyLen;
  http.isRequest = isRequest;
  http.headLength = headLen;
  http.bodyLength = bodyLen;
  const out = message.begin(3, 0, 0);
  if (isRequest) k.onHttpRequest(http, out);
  else k.onHttpResponse(http, out);
  return 1;
}

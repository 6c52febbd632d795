/**
 * L7 dispatch: turns the flow table's in-order byte streams into protocol messages.
 *
 * Per flow it (1) detects the protocol from payload bytes by probing the registered parsers (ports
 * only order the probes), (2) learns the client side from what the probe recognised (request vs
 * response) when the handshake was not seen, (3) feeds both directions to the chosen parser's
 * session, keeping unconsumed tails ("need more data") up to a cap, and (4) stops a parser that
 * fails or throws for that flow only, counting why.
 */
import type { Flow, FlowEndReason, StreamConsumer } from '../flow/types.js';
import { ROLE_FROM_HANDSHAKE, ROLE_FROM_PAYLOAD } from '../flow/types.js';
import type { L7Message, ParserContext, ParserSession, ProbeHint, ProtocolParser } from './types.js';
import {
  PARSE_ERROR,
  PROBE_MATCH,
  PROBE_NEED_MORE,
  PROBE_NO,
  PROBE_REQUEST,
  PROBE_RESPONSE,
} from './types.js';
import type { ParserRegistry } from './registry.js';

/** Where complete messages go (the session/pairing layer). */
export interface MessageSink {
  onMessage(flow: FlowL7, msg: L7Message): void;
  /** The flow ended: anything still pending for it must be settled. */
  onFlowEnd(flow: FlowL7, reason: FlowEndReason, ts: number): void;
}

export interface DispatcherLimits {
  /** Bytes kept per direction for a parser that needs more data (default 256 KiB). */
  maxPendingBytes: number;
  /**
   * Failed probe attempts per flow (one per delivered chunk, both directions together) before the
   * flow is declared unknown (default 64: a capture may start inside a long body).
   */
  maxProbeAttempts: number;
}

export const DEFAULT_DISPATCHER_LIMITS: DispatcherLimits = {
  maxPendingBytes: 256 << 10,
  maxProbeAttempts: 64,
};

const ST_DETECTING = 0;
const ST_PARSING = 1;
const ST_STOPPED = 2; // parser asked to stop (tunnel, upgrade to an unknown protocol)
const ST_FAILED = 3; // parser error or exception
const ST_UNKNOWN = 4; // no parser recognised the flow

export interface DispatchStats {
  /** Flows by the protocol chosen for them ('unknown' when none matched). */
  flowsByProtocol: Record<string, number>;
  /** Payload bytes handed to parsers, and bytes ignored (unknown / stopped / failed flows). */
  bytesParsed: number;
  bytesIgnored: number;
  /** Anomalies by kind, including parser-reported ones prefixed by nothing (parsers name them). */
  anomalies: Record<string, number>;
}

/** Per-direction carry buffer for unconsumed bytes. */
class Pending {
  buf: Uint8Array = EMPTY;
  len = 0;
  /** Capture time of the first byte held. */
  firstTs = 0;
  probeAttempts = 0;
}

const EMPTY = new Uint8Array(0);

/**
 * The L7 state of one flow; also the `ParserContext` its parser session sees.
 * Fields are all set in the constructor (stable shape).
 */
export class FlowL7 implements ParserContext {
  state = ST_DETECTING;
  parser: ProtocolParser | null = null;
  session: ParserSession | null = null;
  firstByteTs = 0;
  lastByteTs = 0;
  /** Slot for the pairing layer's per-flow state. */
  pairing: unknown = null;
  /** Which directions have ended (FIN). Index 0: to server, 1: to client. */
  readonly ended = [false, false];
  readonly pending = [new Pending(), new Pending()];
  candidates: ProtocolParser[] | null = null;
  switchTo: string | null = null;
  handoff: unknown = null;

  constructor(
    readonly flow: Flow,
    private readonly dispatcher: L7Dispatcher,
    public options: Readonly<Record<string, unknown>>,
  ) {}

  emit(msg: L7Message): void {
    this.dispatcher.sink.onMessage(this, msg);
  }

  anomaly(kind: string): void {
    this.dispatcher.count(kind);
  }

  stop(_reason: string): void {
    this.state = ST_STOPPED;
  }

  switchProtocol(name: string, handoff: unknown = null): boolean {
    if (!this.dispatcher.registry.get(name)) return false;
    this.switchTo = name;
    this.handoff = handoff;
    return true;
  }

  /** Protocol name for spans: the parser's name. */
  get protocol(): string {
    return this.parser ? this.parser.name : 'unknown';
  }
}

export class L7Dispatcher implements StreamConsumer {
  readonly stats: DispatchStats = { flowsByProtocol: {}, bytesParsed: 0, bytesIgnored: 0, anomalies: {} };
  private readonly limits: DispatcherLimits;
  private readonly parserOptions: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  private static readonly NO_OPTIONS: Readonly<Record<string, unknown>> = Object.freeze({});

  constructor(
    readonly registry: ParserRegistry,
    readonly sink: MessageSink,
    opts: { limits?: Partial<DispatcherLimits>; parserOptions?: Record<string, Record<string, unknown>> } = {},
  ) {
    this.limits = { ...DEFAULT_DISPATCHER_LIMITS, ...opts.limits };
    this.parserOptions = opts.parserOptions ?? {};
  }

  count(kind: string): void {
    this.stats.anomalies[kind] = (this.stats.anomalies[kind] ?? 0) + 1;
  }

  onFlowStart(flow: Flow): void {
    flow.l7 = new FlowL7(flow, this, L7Dispatcher.NO_OPTIONS);
  }

  onData(flow: Flow, fromA: boolean, buf: Uint8Array, offset: number, length: number, ts: number): void {
    const st = flow.l7 as FlowL7;
    if (length <= 0) return;
    if (st.state === ST_PARSING) {
      this.feed(st, fromA === flow.clientIsA, buf, offset, length, ts);
    } else if (st.state === ST_DETECTING) {
      this.detect(st, fromA, buf, offset, length, ts);
    } else {
      this.stats.bytesIgnored += length;
    }
  }

  onGap(flow: Flow, fromA: boolean, length: number, _ts: number): void {
    const st = flow.l7 as FlowL7;
    const toServer = fromA === flow.clientIsA;
    const p = st.pending[toServer ? 0 : 1];
    if (st.state === ST_PARSING && st.session) {
      const dropped = p.len;
      p.len = 0;
      try {
        st.session.onGap(toServer, length + dropped);
      } catch {
        this.fail(st, 'parser_exception');
      }
    } else {
      p.len = 0;
    }
  }

  onFin(flow: Flow, fromA: boolean, ts: number): void {
    const st = flow.l7 as FlowL7;
    this.endDirection(st, fromA === flow.clientIsA, ts);
  }

  onFlowEnd(flow: Flow, reason: FlowEndReason, ts: number): void {
    const st = flow.l7 as FlowL7;
    if (!st) return;
    // Messages cut short end at the flow's last packet, not at the time the flow was expired.
    const end = flow.lastTs < ts ? flow.lastTs : ts;
    this.endDirection(st, true, end);
    this.endDirection(st, false, end);
    this.sink.onFlowEnd(st, reason, end);
  }

  private endDirection(st: FlowL7, toServer: boolean, ts: number): void {
    const i = toServer ? 0 : 1;
    if (st.ended[i]) return;
    st.ended[i] = true;
    if (st.state !== ST_PARSING || !st.session) return;
    st.firstByteTs = ts;
    st.lastByteTs = ts;
    try {
      st.session.onEnd(toServer);
    } catch {
      this.fail(st, 'parser_exception');
    }
  }

  // ---- detection -----------------------------------------------------------------------------

  private detect(st: FlowL7, fromA: boolean, buf: Uint8Array, offset: number, length: number, ts: number): void {
    const flow = st.flow;
    const p = st.pending[fromA ? 0 : 1]; // during detection pending is indexed by A/B side
    let data = buf;
    let off = offset;
    let len = length;
    if (p.len > 0) {
      this.append(p, buf, offset, length);
      data = p.buf;
      off = 0;
      len = p.len;
    }
    if (st.candidates === null) st.candidates = this.registry.candidates(flow.transport, flow.portA, flow.portB);
    const roleKnown = flow.roleSource >= ROLE_FROM_HANDSHAKE;
    const toServerKnown: boolean | null = roleKnown ? fromA === flow.clientIsA : null;
    const hint: ProbeHint = {
      transport: flow.transport,
      port: roleKnown ? (flow.clientIsA ? flow.portB : flow.portA) : fromA ? flow.portB : flow.portA,
      toServer: toServerKnown,
    };
    let needMore = false;
    let chosen: ProtocolParser | null = null;
    let verdict = PROBE_NO;
    for (const parser of st.candidates) {
      let r: number;
      try {
        r = parser.probe(data, off, len, hint);
      } catch {
        this.count('probe_exception');
        r = PROBE_NO;
      }
      if (r === PROBE_NO) continue;
      if (r === PROBE_NEED_MORE) {
        if (len < parser.probeLimit) needMore = true;
        continue;
      }
      chosen = parser;
      verdict = r;
      break;
    }
    if (chosen === null) {
      if (needMore && len < this.limits.maxPendingBytes) {
        if (p.len === 0) {
          p.firstTs = ts;
          this.append(p, buf, offset, length);
        }
        return;
      }
      p.len = 0;
      this.stats.bytesIgnored += length;
      p.probeAttempts++;
      if (st.pending[0].probeAttempts + st.pending[1].probeAttempts >= this.limits.maxProbeAttempts) {
        this.setUnknown(st);
      }
      return;
    }
    // Learn the client side from the payload when the handshake did not tell it.
    if (!roleKnown && (verdict === PROBE_REQUEST || verdict === PROBE_RESPONSE)) {
      flow.clientIsA = verdict === PROBE_REQUEST ? fromA : !fromA;
      if (flow.roleSource < ROLE_FROM_PAYLOAD) flow.roleSource = ROLE_FROM_PAYLOAD;
    }
    const heldTs = p.len > 0 ? p.firstTs : ts;
    // Drop detection buffers (indexed by side) before switching to parsing (indexed by direction).
    // Bytes the other side sent earlier, held while a probe needed more, are parsed first: they
    // came first (a 5-byte request that looked like the start of a longer message, then its answer).
    const held = p.len > 0 ? p.buf.slice(0, p.len) : null;
    const o = st.pending[fromA ? 1 : 0];
    const otherHeld = o.len > 0 ? o.buf.slice(0, o.len) : null;
    const otherTs = o.firstTs;
    st.pending[0].len = 0;
    st.pending[1].len = 0;
    this.start(st, chosen);
    const toServer = fromA === flow.clientIsA;
    if (otherHeld) {
      this.feedWithFirstTs(st, !toServer, otherHeld, 0, otherHeld.length, otherTs, otherTs);
      if (st.state !== ST_PARSING) return;
    }
    if (held) this.feedWithFirstTs(st, toServer, held, 0, held.length, ts, heldTs);
    else this.feed(st, toServer, buf, offset, length, ts);
  }

  private setUnknown(st: FlowL7): void {
    st.state = ST_UNKNOWN;
    st.pending[0].len = 0;
    st.pending[1].len = 0;
    this.stats.flowsByProtocol.unknown = (this.stats.flowsByProtocol.unknown ?? 0) + 1;
  }

  private start(st: FlowL7, parser: ProtocolParser): void {
    st.parser = parser;
    st.state = ST_PARSING;
    st.switchTo = null;
    st.options = this.parserOptions[parser.name] ?? L7Dispatcher.NO_OPTIONS;
    this.stats.flowsByProtocol[parser.name] = (this.stats.flowsByProtocol[parser.name] ?? 0) + 1;
    try {
      st.session = parser.createSession(st);
    } catch {
      this.fail(st, 'parser_exception');
    }
    st.handoff = null;
  }

  private fail(st: FlowL7, kind: string): void {
    this.count(st.parser ? `${st.parser.name}_${kind}` : kind);
    st.state = ST_FAILED;
    st.pending[0].len = 0;
    st.pending[1].len = 0;
  }

  // ---- parsing -------------------------------------------------------------------------------

  private feed(st: FlowL7, toServer: boolean, buf: Uint8Array, offset: number, length: number, ts: number): void {
    const p = st.pending[toServer ? 0 : 1];
    if (p.len > 0) {
      this.append(p, buf, offset, length);
      this.parseHeld(st, toServer, p, ts);
      return;
    }
    this.feedWithFirstTs(st, toServer, buf, offset, length, ts, ts);
  }

  /** Parse a view directly; keep what was not consumed. */
  private feedWithFirstTs(
    st: FlowL7,
    toServer: boolean,
    buf: Uint8Array,
    offset: number,
    length: number,
    ts: number,
    firstTs: number,
  ): void {
    st.firstByteTs = firstTs;
    st.lastByteTs = ts;
    const n = this.callParse(st, toServer, buf, offset, length);
    if (n < 0) return;
    if (st.state !== ST_PARSING || st.switchTo !== null) {
      return this.afterStop(st, toServer, buf, offset + n, length - n, ts);
    }
    if (n < length) {
      const p = st.pending[toServer ? 0 : 1];
      p.firstTs = n === 0 ? firstTs : ts;
      this.append(p, buf, offset + n, length - n);
    }
  }

  /** Parse the carry buffer of a direction after appending new bytes to it. */
  private parseHeld(st: FlowL7, toServer: boolean, p: Pending, ts: number): void {
    st.firstByteTs = p.firstTs;
    st.lastByteTs = ts;
    const len = p.len;
    const n = this.callParse(st, toServer, p.buf, 0, len);
    if (n < 0) return;
    if (st.state !== ST_PARSING || st.switchTo !== null) {
      const rest = p.buf.slice(n, len);
      p.len = 0;
      return this.afterStop(st, toServer, rest, 0, rest.length, ts);
    }
    if (n === 0) {
      if (len > this.limits.maxPendingBytes) {
        // The parser keeps asking for more than we hold: give up on these bytes, report a gap.
        this.count('l7_pending_overflow');
        p.len = 0;
        try {
          st.session!.onGap(toServer, len);
        } catch {
          this.fail(st, 'parser_exception');
        }
      }
      return;
    }
    if (n < len) p.buf.copyWithin(0, n, len);
    p.len = len - n;
    if (p.len > 0) p.firstTs = ts;
  }

  /** Runs parse with the error contract: returns consumed bytes, or -1 after failing the flow. */
  private callParse(st: FlowL7, toServer: boolean, buf: Uint8Array, offset: number, length: number): number {
    let n: number;
    try {
      n = st.session!.parse(toServer, buf, offset, length);
    } catch {
      this.fail(st, 'parser_exception');
      this.stats.bytesIgnored += length;
      return -1;
    }
    if (n === PARSE_ERROR || n < 0 || n > length || !Number.isInteger(n)) {
      this.fail(st, n === PARSE_ERROR ? 'parse_error' : 'parser_bad_result');
      this.stats.bytesIgnored += length;
      return -1;
    }
    this.stats.bytesParsed += n;
    return n;
  }

  /** The parser stopped or handed over during the call; route the remaining bytes. */
  private afterStop(st: FlowL7, toServer: boolean, buf: Uint8Array, offset: number, length: number, ts: number): void {
    if (st.switchTo !== null) {
      const next = this.registry.get(st.switchTo)!;
      st.pending[0].len = 0;
      st.pending[1].len = 0;
      this.start(st, next);
      if (length > 0 && st.state === ST_PARSING) this.feedWithFirstTs(st, toServer, buf, offset, length, ts, ts);
      return;
    }
    st.pending[0].len = 0;
    st.pending[1].len = 0;
    this.stats.bytesIgnored += length;
  }

  private append(p: Pending, buf: Uint8Array, offset: number, length: number): void {
    const need = p.len + length;
    if (need > p.buf.length) {
      let cap = Math.max(4096, p.buf.length * 2);
      while (cap < need) cap *= 2;
      const nb = new Uint8Array(cap);
      nb.set(p.buf.subarray(0, p.len));
      p.buf = nb;
    }
    p.buf.set(buf.subarray(offset, offset + length), p.len);
    p.len = need;
  }
}

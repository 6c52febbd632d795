/**
 * Request/response pairing.
 *
 * Messages arrive from parsers through `MessageSink`. Requests wait per flow: in order
 * (SESSION_FIFO) or by id (HTTP/2 stream, DNS id, Kafka correlation id). A response takes its
 * request and the pair becomes an exchange. What cannot pair still becomes an exchange, counted:
 * a response whose request was not captured (req = null), a request never answered (outcome
 * 'timeout' while the flow lives on, 'no_response' when the flow or the capture ends first).
 */
import type { FlowEndReason } from '../flow/types.js';
import type { FlowL7, MessageSink } from '../l7/dispatcher.js';
import type { L7Message } from '../l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE, SESSION_FIFO } from '../l7/types.js';

/** How an exchange ended. */
export const OUTCOME_PAIRED = '';
export const OUTCOME_TIMEOUT = 'timeout';
export const OUTCOME_NO_RESPONSE = 'no_response';
/** A request that expects no response (fire-and-forget). */
export const OUTCOME_ONE_WAY = 'one_way';
/** A response whose request was not captured. */
export const OUTCOME_ORPHAN = 'orphan';

export interface ExchangeSink {
  /**
   * One exchange, in completion order. `endTs` is the time the exchange ended (the response's last
   * byte; for a timeout, the request start plus the timeout; for no_response, the request's end).
   */
  onExchange(st: FlowL7, req: L7Message | null, resp: L7Message | null, outcome: string, endTs: number): void;
}

export interface PairerLimits {
  /** A request unanswered this long becomes a 'timeout' exchange (ns; default 60 s). */
  requestTimeoutNs: number;
  /** Requests waiting per flow (default 1024); beyond it the oldest is settled as no_response. */
  maxPendingPerFlow: number;
}

export const DEFAULT_PAIRER_LIMITS: PairerLimits = {
  requestTimeoutNs: 60e9,
  maxPendingPerFlow: 1024,
};

export interface PairerStats {
  requests: number;
  responses: number;
  paired: number;
  oneWay: number;
  /** Responses whose request was not captured (still reported). */
  responsesWithoutRequest: number;
  timeouts: number;
  noResponse: number;
  /** Requests settled early because a flow had too many waiting. */
  pendingOverflow: number;
  /** Same id seen twice while the first was waiting: the first is settled as no_response. */
  duplicateIds: number;
}

/**
 * A request waiting for its response. Once settled (`done`) it lets go of its message and flow, so
 * the entries the timeout queue still holds (until it passes them) keep nothing else alive.
 */
class Waiting {
  done = false;
  constructor(
    public msg: L7Message,
    public st: FlowL7,
  ) {}
}

/** What a settled `Waiting` points to instead of its message and flow (never read). */
const RELEASED_MSG = null as unknown as L7Message;
const RELEASED_FLOW = null as unknown as FlowL7;

/** The timeout queue is compacted when it holds more settled entries than this (and than live ones). */
const QUEUE_COMPACT_MIN = 4096;

class FlowPairing {
  readonly fifo: Waiting[] = [];
  byId: Map<number, Waiting> | null = null;
  waiting = 0;
}

export class SessionPairer implements MessageSink {
  readonly stats: PairerStats = {
    requests: 0,
    responses: 0,
    paired: 0,
    oneWay: 0,
    responsesWithoutRequest: 0,
    timeouts: 0,
    noResponse: 0,
    pendingOverflow: 0,
    duplicateIds: 0,
  };
  private readonly limits: PairerLimits;
  /** All waiting requests in arrival order, for timeouts (settled entries are skipped lazily). */
  private queue: Waiting[] = [];
  private head = 0;
  /** Settled entries in `queue` from `head` on. */
  private settledInQueue = 0;

  constructor(
    private readonly out: ExchangeSink,
    limits: Partial<PairerLimits> = {},
  ) {
    this.limits = { ...DEFAULT_PAIRER_LIMITS, ...limits };
  }

  onMessage(st: FlowL7, msg: L7Message): void {
    if (msg.type === MSG_REQUEST) this.onRequest(st, msg);
    else if (msg.type === MSG_RESPONSE) this.onResponse(st, msg);
  }

  private pairing(st: FlowL7): FlowPairing {
    let p = st.pairing as FlowPairing | null;
    if (p === null) {
      p = new FlowPairing();
      st.pairing = p;
    }
    return p;
  }

  private onRequest(st: FlowL7, msg: L7Message): void {
    this.stats.requests++;
    if (!msg.expectsResponse) {
      this.stats.oneWay++;
      this.out.onExchange(st, msg, null, OUTCOME_ONE_WAY, msg.endTs);
      return;
    }
    const p = this.pairing(st);
    if (p.waiting >= this.limits.maxPendingPerFlow) this.settleOldest(p);
    const w = new Waiting(msg, st);
    if (msg.sessionId === SESSION_FIFO) {
      p.fifo.push(w);
    } else {
      if (p.byId === null) p.byId = new Map();
      const prev = p.byId.get(msg.sessionId);
      if (prev !== undefined && !prev.done) {
        this.stats.duplicateIds++;
        this.settle(prev, OUTCOME_NO_RESPONSE, prev.msg.endTs);
      }
      p.byId.set(msg.sessionId, w);
    }
    p.waiting++;
    this.compactQueue();
    this.queue.push(w);
  }

  private onResponse(st: FlowL7, msg: L7Message): void {
    this.stats.responses++;
    const p = st.pairing as FlowPairing | null;
    let w: Waiting | undefined;
    if (p !== null) {
      if (msg.sessionId === SESSION_FIFO) {
        const q = p.fifo;
        while (q.length > 0 && q[0].done) q.shift();
        if (msg.afterGap) {
          // Responses may have been lost just before this one: it answers the latest request that
          // started before it; the older ones were answered by what was not captured.
          let last = -1;
          for (let i = 0; i < q.length; i++) if (!q[i].done && q[i].msg.startTs <= msg.startTs) last = i;
          for (let i = 0; i < last; i++) this.settle(q[i], OUTCOME_NO_RESPONSE, q[i].msg.endTs);
          while (q.length > 0 && q[0].done) q.shift();
        }
        // A response cannot answer a request that started after it did (that request's own
        // response is still to come; this one's request was not captured).
        if (q.length > 0 && q[0].msg.startTs <= msg.startTs) w = q.shift();
      } else if (p.byId !== null) {
        w = p.byId.get(msg.sessionId);
        if (w !== undefined) p.byId.delete(msg.sessionId);
        if (w !== undefined && w.done) w = undefined;
      }
    }
    if (w === undefined) {
      this.stats.responsesWithoutRequest++;
      this.out.onExchange(st, null, msg, OUTCOME_ORPHAN, msg.endTs);
      return;
    }
    w.done = true;
    p!.waiting--;
    this.stats.paired++;
    const req = w.msg;
    this.release(w);
    this.out.onExchange(st, req, msg, OUTCOME_PAIRED, msg.endTs);
  }

  /** A settled entry: drop its references; it leaves the timeout queue when passed or compacted. */
  private release(w: Waiting): void {
    w.msg = RELEASED_MSG;
    w.st = RELEASED_FLOW;
    this.settledInQueue++;
  }

  private settle(w: Waiting, outcome: string, endTs: number): void {
    if (w.done) return;
    w.done = true;
    const p = w.st.pairing as FlowPairing;
    p.waiting--;
    if (w.msg.sessionId !== SESSION_FIFO && p.byId !== null && p.byId.get(w.msg.sessionId) === w) {
      p.byId.delete(w.msg.sessionId);
    }
    if (outcome === OUTCOME_TIMEOUT) this.stats.timeouts++;
    else this.stats.noResponse++;
    const st = w.st;
    const msg = w.msg;
    this.release(w);
    this.out.onExchange(st, msg, null, outcome, endTs);
  }

  private settleOldest(p: FlowPairing): void {
    // The oldest waiting request of this flow: the FIFO's first live entry, or the id map's first
    // entry (maps iterate in insertion order; settled entries are deleted from it).
    let oldest: Waiting | undefined;
    for (const w of p.fifo) {
      if (!w.done) {
        oldest = w;
        break;
      }
    }
    if (p.byId !== null) {
      const first = p.byId.values().next();
      if (!first.done && (oldest === undefined || first.value.msg.startTs < oldest.msg.startTs)) oldest = first.value;
    }
    if (oldest === undefined) return;
    this.stats.pendingOverflow++;
    this.settle(oldest, OUTCOME_NO_RESPONSE, oldest.msg.endTs);
    while (p.fifo.length > 0 && p.fifo[0].done) p.fifo.shift();
  }

  /** Settle requests waiting longer than the timeout. Call with the capture clock, as often as convenient. */
  advance(now: number): void {
    const timeout = this.limits.requestTimeoutNs;
    const q = this.queue;
    while (this.head < q.length) {
      const w = q[this.head];
      if (!w.done) {
        if (w.msg.startTs + timeout > now) break;
        this.settle(w, OUTCOME_TIMEOUT, w.msg.startTs + timeout);
      }
      this.settledInQueue--;
      q[this.head] = undefined as unknown as Waiting;
      this.head++;
    }
    if (this.head > QUEUE_COMPACT_MIN && this.head * 2 > q.length) {
      this.queue = q.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Drops settled entries from the timeout queue (order kept) when they are the majority: one
   * request waiting for long must not make the queue grow with every request answered after it.
   */
  private compactQueue(): void {
    const q = this.queue;
    if (this.settledInQueue <= QUEUE_COMPACT_MIN || this.settledInQueue * 2 <= q.length - this.head) return;
    const live: Waiting[] = [];
    for (let i = this.head; i < q.length; i++) if (!q[i].done) live.push(q[i]);
    this.queue = live;
    this.head = 0;
    this.settledInQueue = 0;
  }

  onFlowEnd(st: FlowL7, _reason: FlowEndReason, _ts: number): void {
    const p = st.pairing as FlowPairing | null;
    if (p === null || p.waiting === 0) return;
    const rest: Waiting[] = [];
    for (const w of p.fifo) if (!w.done) rest.push(w);
    if (p.byId !== null) for (const w of p.byId.values()) if (!w.done) rest.push(w);
    rest.sort((a, b) => a.msg.startTs - b.msg.startTs);
    for (const w of rest) this.settle(w, OUTCOME_NO_RESPONSE, w.msg.endTs);
    p.fifo.length = 0;
  }
}

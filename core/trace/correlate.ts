/**
 * Trace correlation across spans (issue 8): spans built one exchange at a time are joined into traces
 * here, each link recording how it was made (`spanwire.link.method`):
 *
 * - `tcp_4tuple`: the same request seen at both ends (the client process and the server process on
 *   this host under eBPF, or a client host and a server host in one capture): a CLIENT span and a
 *   SERVER span of the same protocol and 4-tuple, the server span inside the client span's time. The
 *   server span becomes the child of the client span.
 * - `x-request-id`: a proxy. A SERVER span (the request into the proxy) and a CLIENT span (the
 *   request it made onwards) carrying the same `x-request-id`, the client span inside the server
 *   span's time: the client span becomes the child of the server span.
 *
 * A link is made only when it is unambiguous (exactly one candidate each way): a missing link is
 * acceptable, a wrong one is not. A span whose parent came from its payload (traceparent, B3...)
 * keeps it. Spans are held for a short window of their own (capture) time so that both ends can
 * meet, then passed on in their order of arrival; descendants follow their parent into its trace.
 */
import type { SpanData, TracesConsumer } from './span.js';
import { SPAN_KIND_CLIENT, SPAN_KIND_SERVER } from './span.js';

/** How long spans wait for their other end, in ns of span time (default 2 s). */
const DEFAULT_WINDOW_NS = 2e9;
/** Spans held at most (older ones are passed on unlinked beyond it). */
const MAX_HELD = 100_000;
/** Spans of one connection waiting for their other end (a keep-alive connection needs one or two). */
const MAX_WAITING = 32;
/** Clock skew allowed between two observation points (1 ms). */
const SKEW_NS = 1e6;

export interface CorrelatorStats {
  linksByMethod: Record<string, number>;
  /** Matches skipped because more than one candidate fitted. */
  ambiguous: number;
  /** Spans that stopped waiting for their other end because newer spans of the connection came. */
  unmatched: number;
}

const ns = (t: [number, number]) => t[0] * 1e9 + t[1];

export class Correlator implements TracesConsumer {
  readonly stats: CorrelatorStats = { linksByMethod: {}, ambiguous: 0, unmatched: 0 };
  private held: SpanData[] = [];
  /**
   * Held spans still waiting for their other end, by 4-tuple key (client spans not yet claimed, server
   * spans not yet linked: a keep-alive connection keeps this to a span or two); held spans by
   * x-request-id and by parent span id. Small arrays.
   */
  private readonly byKey = new Map<string, SpanData[]>();
  private readonly byRequestId = new Map<string, SpanData[]>();
  private readonly byParent = new Map<string, SpanData[]>();
  private latestEnd = 0;
  private readonly windowNs: number;

  constructor(
    private readonly next: TracesConsumer,
    opts: { windowNs?: number } = {},
  ) {
    this.windowNs = opts.windowNs ?? DEFAULT_WINDOW_NS;
  }

  consumeTraces(spans: SpanData[]): void | Promise<void> {
    for (const s of spans) {
      this.held.push(s);
      if (s.kind === SPAN_KIND_CLIENT || (s.kind === SPAN_KIND_SERVER && s.parentSpanId === '')) {
        const k = this.key(s);
        const l = this.byKey.get(k);
        // Only the latest spans of a connection can still meet their other end: the list stays short
        // even when one side is never seen (older entries stay held, unmatched).
        if (l !== undefined && l.length >= MAX_WAITING) {
          l.shift();
          this.stats.unmatched++;
        }
        index(this.byKey, k, s);
      }
      const id = requestId(s);
      if (id !== '') index(this.byRequestId, id, s);
      if (s.parentSpanId !== '') index(this.byParent, s.parentSpanId, s);
      const e = ns(s.endTime);
      if (e > this.latestEnd) this.latestEnd = e;
    }
    this.link(spans);
    return this.release(this.latestEnd - this.windowNs, false);
  }

  /** Passes on every held span (end of capture, shutdown). */
  flush(): void | Promise<void> {
    return this.release(Infinity, true);
  }

  /** Tries to link the new spans with what is held. */
  private link(fresh: SpanData[]): void {
    for (const s of fresh) {
      if (s.kind === SPAN_KIND_SERVER) {
        // This server span may be the far end of a held client span, and the near end of proxied requests.
        this.bothEnds(s);
        this.proxy(s);
      } else if (s.kind === SPAN_KIND_CLIENT) {
        for (const srv of this.matches(s)) this.bothEnds(srv);
        for (const srv of this.proxyParents(s)) this.proxy(srv);
      }
    }
  }

  private key(s: SpanData): string {
    const a = s.attributes;
    return `${a['spanwire.protocol']}|${a['client.address']}|${a['client.port']}|${a['server.address']}|${a['server.port']}`;
  }

  /** Held SERVER spans that could be the far end of client span `c` (for re-checking from the server side). */
  private matches(c: SpanData): SpanData[] {
    return (this.byKey.get(this.key(c)) ?? []).filter((s) => s.kind === SPAN_KIND_SERVER);
  }

  /** `tcp_4tuple`: server span `srv` under the one client span of its 4-tuple that contains it. */
  private bothEnds(srv: SpanData): void {
    if (srv.parentSpanId !== '' || srv.attributes['spanwire.link.method'] !== undefined) return;
    const k = this.key(srv);
    const start = ns(srv.startTime);
    const end = ns(srv.endTime);
    // Exact containment first (one clock: both ends on this host); else within the allowed skew
    // (two observation points, two clocks). Either way exactly one candidate, or no link.
    let found: SpanData | null = null;
    let count = 0;
    let loose: SpanData | null = null;
    let looseCount = 0;
    const same = this.byKey.get(k) ?? [];
    for (const c of same) {
      if (c.kind !== SPAN_KIND_CLIENT) continue;
      const cs = ns(c.startTime);
      const ce = ns(c.endTime);
      if (start >= cs && end <= ce) {
        found = c;
        count++;
      } else if (start + SKEW_NS >= cs && end <= ce + SKEW_NS) {
        loose = c;
        looseCount++;
      }
    }
    if (count === 0) {
      found = loose;
      count = looseCount;
    }
    if (count > 1) this.stats.ambiguous++;
    if (count !== 1 || found === null) return;
    // Both ends are matched: neither waits any more.
    unindex(this.byKey, k, srv);
    unindex(this.byKey, k, found);
    this.reparent(srv, found, 'tcp_4tuple');
  }

  /** Held SERVER spans carrying the same x-request-id as client span `c`. */
  private proxyParents(c: SpanData): SpanData[] {
    const id = requestId(c);
    if (id === '') return [];
    return (this.byRequestId.get(id) ?? []).filter((s) => s.kind === SPAN_KIND_SERVER);
  }

  /** `x-request-id`: the one outbound client span of proxy span `srv` becomes its child. */
  private proxy(srv: SpanData): void {
    const id = requestId(srv);
    if (id === '') return;
    const start = ns(srv.startTime);
    const end = ns(srv.endTime);
    let found: SpanData | null = null;
    let count = 0;
    for (const c of this.byRequestId.get(id) ?? []) {
      if (c.kind !== SPAN_KIND_CLIENT) continue;
      if (ns(c.startTime) + SKEW_NS < start || ns(c.endTime) > end + SKEW_NS) continue;
      found = c;
      count++;
    }
    if (count > 1) this.stats.ambiguous++;
    if (count !== 1 || found === null) return;
    if (found.parentSpanId !== '') return; // already has a parent (carried, or linked)
    this.reparent(found, srv, 'x-request-id');
  }

  /** Makes `child` a child of `parent`; its descendants among the held spans follow into the trace. */
  private reparent(child: SpanData, parent: SpanData, method: string): void {
    const oldTrace = child.traceId;
    child.parentSpanId = parent.spanId;
    child.traceId = parent.traceId;
    index(this.byParent, parent.spanId, child);
    child.attributes['spanwire.link.method'] = method;
    this.stats.linksByMethod[method] = (this.stats.linksByMethod[method] ?? 0) + 1;
    const stack = [child];
    while (stack.length > 0) {
      const p = stack.pop()!;
      for (const s of this.byParent.get(p.spanId) ?? []) {
        if (s.traceId === oldTrace) {
          s.traceId = parent.traceId;
          stack.push(s);
        }
      }
    }
  }

  private release(before: number, all: boolean): void | Promise<void> {
    let out: SpanData[];
    if (all) {
      out = this.held;
      this.held = [];
    } else {
      // Spans arrive about in end order: pass on the prefix that is old enough (or over the cap).
      const over = this.held.length - MAX_HELD;
      let i = 0;
      while (i < this.held.length && (i < over || ns(this.held[i].endTime) < before)) i++;
      out = this.held.splice(0, i);
    }
    for (const s of out) {
      unindex(this.byKey, this.key(s), s);
      const id = requestId(s);
      if (id !== '') unindex(this.byRequestId, id, s);
      if (s.parentSpanId !== '') unindex(this.byParent, s.parentSpanId, s);
    }
    if (out.length > 0) return this.next.consumeTraces(out);
  }
}

function index(m: Map<string, SpanData[]>, k: string, s: SpanData): void {
  const l = m.get(k);
  if (l === undefined) m.set(k, [s]);
  else l.push(s);
}

function unindex(m: Map<string, SpanData[]>, k: string, s: SpanData): void {
  const l = m.get(k);
  if (l === undefined) return;
  const i = l.indexOf(s);
  if (i >= 0) l.splice(i, 1);
  if (l.length === 0) m.delete(k);
}

function requestId(s: SpanData): string {
  const v = s.attributes['http.request.header.x-request-id'];
  return Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '';
}

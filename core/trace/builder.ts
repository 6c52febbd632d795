/**
 * Span building: one exchange (request + response, or what was seen of it) becomes one span, named,
 * kinded and attributed per ../shared/docs/SEMCONV.md.
 *
 * Observation point for packet captures: the span is SERVER when the server address is local to the
 * capturing host, CLIENT when the client is local, otherwise CLIENT with spanwire.observation=network.
 * Flows observed from inside a process (eBPF: `Flow.observer`) are CLIENT in the client process and
 * SERVER in the server process, with the process's resource.
 * Trace context carried in the request (traceparent, B3, uber-trace-id, sw8) makes the carried span
 * the parent; otherwise the span starts a new trace.
 */
import type { TimeBase } from '../capture/types.js';
import type { FlowL7 } from '../l7/dispatcher.js';
import type { L7Message, SpanDescription } from '../l7/types.js';
import type { ExchangeSink } from '../session/pairer.js';
import { OUTCOME_NO_RESPONSE, OUTCOME_ORPHAN, OUTCOME_TIMEOUT } from '../session/pairer.js';
import { IdGenerator } from './ids.js';
import type { LocalAddresses } from './local-addresses.js';
import type { AttrKey } from './span-record.js';
import { SpanRecord } from './span-record.js';
import type { Attributes, InstrumentationScope, Resource, SpanData } from './span.js';
import { SPAN_KIND_CLIENT, SPAN_KIND_SERVER, STATUS_ERROR, STATUS_UNSET } from './span.js';

export interface SpanSink {
  /** Synchronous hand-off of one finished span. */
  push(span: SpanData): void;
  /**
   * Optional: take the span as the builder's reused `SpanRecord` instead, valid only during the call
   * (encode it or call `toSpanData()` before returning). When present, `push` is not called and no
   * `SpanData` is made.
   */
  pushRecord?(rec: SpanRecord): void;
}

export interface SpanBuilderOptions {
  timeBase: TimeBase;
  /** Addresses of the capturing host (decides SERVER/CLIENT); empty for a foreign capture. */
  localAddresses?: LocalAddresses;
  /** Overrides service.name for every span. */
  serviceName?: string;
  /** service.name per address (e.g. from config); wins over the address fallback. */
  serviceNames?: ReadonlyMap<string, string>;
  /** Extra resource attributes on every resource (e.g. host.name for live capture). */
  resourceAttributes?: Attributes;
  /** Deterministic ids (tests, demos). */
  idSeed?: number | null;
  scope: InstrumentationScope;
}

export interface SpanBuilderStats {
  spans: number;
  spansByProtocol: Record<string, number>;
  errorSpans: number;
  /** Spans whose trace context came from the payload. */
  propagatedContext: number;
}

const MAX_RESOURCES = 4096;

export class SpanBuilder implements ExchangeSink {
  readonly stats: SpanBuilderStats = { spans: 0, spansByProtocol: {}, errorSpans: 0, propagatedContext: 0 };
  private readonly ids: IdGenerator;
  private readonly resources = new Map<string, Resource>();
  private readonly fallbackResource: Resource;
  private readonly desc: SpanDescription = { name: '', error: false, errorType: '', message: '', kind: 0 };
  private readonly rec: SpanRecord;
  private readonly recordSink: boolean;
  /** The keys the builder sets itself, interned once. */
  private readonly k: Record<
    | 'transport'
    | 'serverAddress'
    | 'serverPort'
    | 'clientAddress'
    | 'clientPort'
    | 'peerAddress'
    | 'peerPort'
    | 'protocol'
    | 'observation'
    | 'requestCaptured'
    | 'errorType'
    | 'linkMethod'
    | 'requestId',
    AttrKey
  >;

  constructor(
    private readonly sink: SpanSink,
    private readonly opts: SpanBuilderOptions,
  ) {
    this.ids = new IdGenerator(opts.idSeed ?? null);
    this.fallbackResource = { attributes: { ...opts.resourceAttributes, 'service.name': opts.serviceName ?? 'unknown_service' } };
    this.rec = new SpanRecord(this.fallbackResource, opts.scope);
    this.recordSink = typeof sink.pushRecord === 'function';
    const key = (k: string): AttrKey => this.rec.attrs.key(k);
    this.k = {
      transport: key('network.transport'),
      serverAddress: key('server.address'),
      serverPort: key('server.port'),
      clientAddress: key('client.address'),
      clientPort: key('client.port'),
      peerAddress: key('network.peer.address'),
      peerPort: key('network.peer.port'),
      protocol: key('spanwire.protocol'),
      observation: key('spanwire.observation'),
      requestCaptured: key('spanwire.request.captured'),
      errorType: key('error.type'),
      linkMethod: key('spanwire.link.method'),
      requestId: key('http.request.header.x-request-id'),
    };
  }

  /** One resource object per service (exporters group by identity). */
  private resourceFor(address: string): Resource {
    const name = this.opts.serviceName ?? this.opts.serviceNames?.get(address) ?? address;
    let r = this.resources.get(name);
    if (r === undefined) {
      if (this.resources.size >= MAX_RESOURCES) return this.fallbackResource;
      r = { attributes: { ...this.opts.resourceAttributes, 'service.name': name } };
      this.resources.set(name, r);
    }
    return r;
  }

  onExchange(st: FlowL7, req: L7Message | null, resp: L7Message | null, outcome: string, endTs: number): void {
    const flow = st.flow;
    const clientAddr = flow.clientIsA ? flow.addrA : flow.addrB;
    const clientPort = flow.clientIsA ? flow.portA : flow.portB;
    const serverAddr = flow.clientIsA ? flow.addrB : flow.addrA;
    const serverPort = flow.clientIsA ? flow.portB : flow.portA;
    const local = this.opts.localAddresses;
    const obs = flow.observer;
    let kind = SPAN_KIND_CLIENT;
    let observation = 'network';
    if (obs !== undefined) {
      // Seen from inside a process: a CLIENT span in the client process, a SERVER span in the server's.
      if (obs.localIsA !== flow.clientIsA) kind = SPAN_KIND_SERVER;
      observation = obs.observation;
    } else if (local !== undefined && !local.empty) {
      if (local.has(serverAddr)) {
        kind = SPAN_KIND_SERVER;
        observation = 'server_host';
      } else if (local.has(clientAddr)) {
        observation = 'client_host';
      }
    }

    const d = this.desc;
    d.name = '';
    d.error = false;
    d.errorType = '';
    d.message = '';
    d.kind = 0;
    st.parser!.describeSpan(req, resp, kind, d);
    if (d.kind !== 0) kind = d.kind;

    const rec = this.rec;
    const a = rec.attrs;
    const K = this.k;
    a.reset();
    a.addKey(K.transport, flow.transport);
    a.addKey(K.serverAddress, serverAddr);
    a.addKey(K.serverPort, serverPort);
    a.addKey(K.clientAddress, clientAddr);
    a.addKey(K.clientPort, clientPort);
    // The request's attributes win where both set one (e.g. the protocol version the client spoke).
    if (resp !== null) a.addAll(resp.attrs);
    if (req !== null) a.addAll(req.attrs);
    // The peer is the other side of the observation point (the server unless this is a server span).
    a.addKey(K.peerAddress, kind === SPAN_KIND_SERVER ? clientAddr : serverAddr);
    a.addKey(K.peerPort, kind === SPAN_KIND_SERVER ? clientPort : serverPort);
    a.addKey(K.protocol, st.protocol);
    a.addKey(K.observation, observation);

    let error = d.error;
    let errorType = d.errorType;
    let message = d.message;
    if (outcome === OUTCOME_TIMEOUT || outcome === OUTCOME_NO_RESPONSE) {
      error = true;
      errorType = outcome;
      message = outcome === OUTCOME_TIMEOUT ? 'no response before the request timeout' : 'no response was captured';
    } else if (outcome === OUTCOME_ORPHAN) {
      a.addKey(K.requestCaptured, false);
    }
    if (error && errorType !== '') a.addKey(K.errorType, errorType);

    // OTLP Span.flags: W3C trace flags in bits 0-7, bit 8 "has is_remote", bit 9 "parent is remote".
    let flags = 0x101;
    const tc = req !== null ? req.trace : null;
    if (tc !== null && tc.traceId !== '') {
      rec.traceId = tc.traceId;
      rec.parentSpanId = tc.parentSpanId;
      rec.traceState = tc.traceState;
      flags = (tc.sampled === false ? 0 : 1) | (tc.parentSpanId !== '' ? 0x300 : 0x100);
      a.addKey(K.linkMethod, tc.source);
      this.stats.propagatedContext++;
    } else {
      rec.traceId = '';
      rec.parentSpanId = '';
      rec.traceState = '';
      this.ids.traceIdInto(rec.idBytes, 0);
    }
    if (tc !== null && tc.requestId !== '') a.addKey(K.requestId, [tc.requestId]);
    this.ids.spanIdInto(rec.idBytes, 16);
    rec.spanId = '';

    const startTs = req !== null ? req.startTs : resp !== null ? resp.startTs : endTs;
    const base = this.opts.timeBase.epochSec < 0 ? 0 : this.opts.timeBase.epochSec;
    let s = Math.floor(startTs / 1e9);
    rec.startSec = base + s;
    rec.startNs = startTs - s * 1e9;
    const end = endTs < startTs ? startTs : endTs;
    s = Math.floor(end / 1e9);
    rec.endSec = base + s;
    rec.endNs = end - s * 1e9;
    rec.flags = flags;
    rec.name = d.name !== '' ? d.name : st.protocol;
    rec.kind = kind;
    rec.statusCode = error ? STATUS_ERROR : STATUS_UNSET;
    rec.statusMessage = error ? message : '';
    rec.resource = obs !== undefined ? obs.resource : this.resourceFor(kind === SPAN_KIND_SERVER ? serverAddr : clientAddr);
    rec.scope = this.opts.scope;
    this.stats.spans++;
    const byProto = this.stats.spansByProtocol;
    byProto[st.protocol] = (byProto[st.protocol] ?? 0) + 1;
    if (error) this.stats.errorSpans++;
    if (this.recordSink) this.sink.pushRecord!(rec);
    else this.sink.push(rec.toSpanData());
  }
}

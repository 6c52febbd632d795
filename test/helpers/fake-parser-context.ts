import type { Flow } from '../../core/flow/types.js';
import type { L7Message, ParserContext, ParserSession, ProtocolParser } from '../../core/l7/types.js';

/**
 * A ParserContext for driving one parser session in tests. `feed` emulates the dispatcher's contract:
 * bytes a parse call did not consume are offered again in front of the next data.
 */
export class FakeContext implements ParserContext {
  readonly flow = {
    id: 1, transport: 'tcp', ipVersion: 4, addrA: '10.0.0.1', portA: 40000, addrB: '10.0.0.2', portB: 80,
    clientIsA: true, roleSource: 3, firstTs: 0, lastTs: 0, packetsA: 0, packetsB: 0, bytesA: 0, bytesB: 0, l7: null,
  } as Flow;
  firstByteTs = 0;
  lastByteTs = 0;
  readonly messages: L7Message[] = [];
  readonly anomalies: string[] = [];
  stopped = '';
  switchedTo = '';
  /** What the session handed over with switchProtocol. */
  handedOver: unknown = null;
  session: ParserSession;
  private readonly held: [Uint8Array, Uint8Array] = [new Uint8Array(0), new Uint8Array(0)];
  private readonly heldTs = [0, 0];

  constructor(
    parser: ProtocolParser,
    readonly options: Readonly<Record<string, unknown>> = {},
    private readonly known = new Set(['http2']),
    readonly handoff: unknown = null,
  ) {
    this.session = parser.createSession(this);
  }

  emit(msg: L7Message): void {
    this.messages.push(msg);
  }
  anomaly(kind: string): void {
    this.anomalies.push(kind);
  }
  stop(reason: string): void {
    this.stopped = reason;
  }
  switchProtocol(name: string, handoff: unknown = null): boolean {
    if (!this.known.has(name)) return false;
    this.switchedTo = name;
    this.handedOver = handoff;
    return true;
  }

  /** Deliver bytes from one side at time `ts`; returns what the parser consumed of the offered bytes. */
  feed(toServer: boolean, data: Uint8Array | string, ts = 0): number {
    if (this.stopped || this.switchedTo) return 0;
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    const i = toServer ? 0 : 1;
    const prev = this.held[i];
    const offered = new Uint8Array(prev.length + bytes.length);
    offered.set(prev);
    offered.set(bytes, prev.length);
    this.firstByteTs = prev.length > 0 ? this.heldTs[i] : ts;
    this.lastByteTs = ts;
    // Offer at a non-zero offset inside a larger buffer, as the flow layer does.
    const frame = new Uint8Array(offered.length + 7);
    frame.set(offered, 3);
    const n = this.session.parse(toServer, frame, 3, offered.length);
    if (n < 0) throw new Error(`parse error (${n})`);
    if (n > offered.length) throw new Error(`consumed ${n} > offered ${offered.length}`);
    this.held[i] = offered.slice(n);
    if (n > 0 || prev.length === 0) this.heldTs[i] = ts;
    return n;
  }

  gap(toServer: boolean, length: number, ts = 0): void {
    const i = toServer ? 0 : 1;
    const dropped = this.held[i].length;
    this.held[i] = new Uint8Array(0);
    this.firstByteTs = ts;
    this.lastByteTs = ts;
    this.session.onGap(toServer, length + dropped);
  }

  end(toServer: boolean, ts = 0): void {
    this.firstByteTs = ts;
    this.lastByteTs = ts;
    this.session.onEnd(toServer);
  }

  /** Compact view of emitted messages: "REQ GET /a" / "RESP 200". */
  summary(): string[] {
    return this.messages.map((m) =>
      m.type === 1 ? `REQ ${m.attrs['http.request.method']} ${m.attrs['url.path'] ?? ''}${m.attrs['url.query'] !== undefined ? '?' + m.attrs['url.query'] : ''}` : `RESP ${m.attrs['http.response.status_code']}`,
    );
  }
}

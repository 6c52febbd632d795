/**
 * Drives one plugin session over bytes, outside a capture: for plugin tests (the scaffold of
 * `spanwire plugin new` uses it) and for spanwire's own tests. Emulates the dispatcher's contract:
 * bytes a parse call did not consume are offered again in front of the next ones.
 */
import type { Flow } from '../../flow/types.js';
import type { L7Message, ParserContext, ParserSession, SpanDescription } from '../types.js';
import type { WasmProtocolParser } from './parser.js';

export class PluginHarness implements ParserContext {
  readonly flow: Flow;
  firstByteTs = 0;
  lastByteTs = 0;
  readonly messages: L7Message[] = [];
  readonly anomalies: string[] = [];
  readonly handoff: unknown = null;
  readonly options: Readonly<Record<string, unknown>> = {};
  readonly session: ParserSession;
  /** The session returned PARSE_ERROR: it gets no more bytes. */
  failed = false;
  private readonly held: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];

  constructor(
    readonly parser: WasmProtocolParser,
    serverPort = parser.ports[0] ?? 1,
  ) {
    this.flow = {
      id: 1, transport: parser.transports[0] ?? 'tcp', ipVersion: 4, addrA: '10.0.0.1', portA: 40000, addrB: '10.0.0.2',
      portB: serverPort, clientIsA: true, roleSource: 3, firstTs: 0, lastTs: 0, packetsA: 0, packetsB: 0, bytesA: 0,
      bytesB: 0, l7: null,
    } as unknown as Flow;
    this.session = parser.createSession(this);
  }

  emit(msg: L7Message): void {
    this.messages.push(msg);
  }
  anomaly(kind: string): void {
    this.anomalies.push(kind);
  }
  stop(_reason: string): void {}
  switchProtocol(_name: string): boolean {
    return false;
  }

  /** Delivers bytes from the client (toServer) or the server at time `ts`; returns bytes consumed. */
  feed(toServer: boolean, data: Uint8Array | string, ts = 0): number {
    if (this.failed) return 0;
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    const i = toServer ? 0 : 1;
    const prev = this.held[i];
    const offered = new Uint8Array(prev.length + bytes.length);
    offered.set(prev);
    offered.set(bytes, prev.length);
    if (prev.length === 0) this.firstByteTs = ts;
    this.lastByteTs = ts;
    const n = this.session.parse(toServer, offered, 0, offered.length);
    if (n < 0) {
      this.failed = true;
      return n;
    }
    this.held[i] = offered.slice(n);
    return n;
  }

  /** The span name / error the parser would give a request and its response. */
  describe(req: L7Message | null, resp: L7Message | null, kind = 3): SpanDescription {
    const d: SpanDescription = { name: '', error: false, errorType: '', message: '', kind: 0 };
    this.parser.describeSpan(req, resp, kind, d);
    return d;
  }
}

/**
 * A Wasm plugin as a `ProtocolParser`: the registry and the dispatcher drive it like a built-in.
 * Each flow gets a session handle in the plugin instance; when the instance is re-created after a
 * trap, the flow whose call trapped is stopped (PARSE_ERROR, like a built-in parser that throws) and
 * the other flows get a fresh session in the new instance, told about the lost state as a gap.
 */
import type { L7Message, ParserContext, ParserSession, ProbeHint, ProtocolParser, SpanDescription } from '../types.js';
import { MSG_REQUEST, MSG_RESPONSE, PARSE_ERROR, PROBE_NEED_MORE, PROBE_NO } from '../types.js';
import { CAP_PARSER, FLAG_AFTER_GAP, FLAG_ERROR, FLAG_HAS_STATUS, FLAG_KIND_SHIFT, FLAG_ONE_WAY, HINT_DIRECTION_KNOWN, HINT_TO_SERVER, HINT_UDP, KIND_REQUEST, KIND_RESPONSE } from './abi.js';
import type { WasmPlugin } from './plugin.js';
import { CALL_TRAPPED } from './plugin.js';
import type { OutputHeader, WasmMessageInfo } from './records.js';
import { readHeader, readRecord, WasmRecord } from './records.js';

const MESSAGE_KINDS = (1 << KIND_REQUEST) | (1 << KIND_RESPONSE);

function hintFlags(transport: 'tcp' | 'udp', toServer: boolean | null): number {
  return (transport === 'udp' ? HINT_UDP : 0) | (toServer === null ? 0 : HINT_DIRECTION_KNOWN | (toServer ? HINT_TO_SERVER : 0));
}

/** The ProtocolParser of a plugin that registered a parser. */
export class WasmProtocolParser implements ProtocolParser {
  readonly name: string;
  readonly transports: readonly ('tcp' | 'udp')[];
  readonly ports: readonly number[];
  readonly probeLimit: number;
  /** Reused by every session's reads (single-threaded: one call at a time). */
  readonly header: OutputHeader = { messages: 0, dropped: 0, valid: true };
  readonly record = new WasmRecord();

  constructor(readonly plugin: WasmPlugin) {
    const d = plugin.descriptor;
    if ((d.capabilities & CAP_PARSER) === 0) throw new Error(`${plugin.path}: the plugin registered HTTP hooks only, no parser`);
    this.name = d.name;
    this.transports = d.transports;
    this.ports = d.ports;
    this.probeLimit = d.probeLimit;
  }

  probe(buf: Uint8Array, offset: number, length: number, hint: ProbeHint): number {
    const p = this.plugin;
    if (p.stats.disabled) return PROBE_NO;
    const n = length < p.inputCap ? length : p.inputCap;
    p.stats.calls++;
    let r: number;
    try {
      p.writeInput(buf, offset, n);
      r = p.fnProbe(n, hint.port, hintFlags(hint.transport, hint.toServer));
    } catch (e) {
      p.onTrap(e);
      return PROBE_NO;
    }
    if (r >= PROBE_NO && r <= PROBE_NEED_MORE && (r | 0) === r) return r;
    p.onBadResult();
    return PROBE_NO;
  }

  createSession(ctx: ParserContext): ParserSession {
    return new WasmParserSession(this, ctx);
  }

  describeSpan(req: L7Message | null, resp: L7Message | null, _kind: number, out: SpanDescription): void {
    const qi = req !== null ? (req.info as WasmMessageInfo) : null;
    const ri = resp !== null ? (resp.info as WasmMessageInfo) : null;
    const named = qi !== null && (qi.operation !== '' || qi.resource !== '') ? qi : ri;
    if (named !== null && named.operation !== '' && named.resource !== '') out.name = `${named.operation} ${named.resource}`;
    else if (named !== null && (named.operation !== '' || named.resource !== '')) out.name = named.operation !== '' ? named.operation : named.resource;
    else out.name = this.name;
    const failed = ri !== null && ri.error ? ri : qi !== null && qi.error ? qi : null;
    out.error = failed !== null;
    out.errorType = failed === null ? '' : failed.errorType !== '' ? failed.errorType : failed.status !== null ? String(failed.status) : 'error';
    out.message = '';
    out.kind = qi !== null && qi.spanKind !== 0 ? qi.spanKind : ri !== null ? ri.spanKind : 0;
  }
}

class WasmParserSession implements ParserSession {
  private handle = 0;
  private generation = -1;
  private ended = 0;
  private closed = false;
  /** Per direction: state was lost (gap, instance re-created) before the next message. */
  private readonly lost = [false, false];

  constructor(
    private readonly parser: WasmProtocolParser,
    private readonly ctx: ParserContext,
  ) {
    this.open();
  }

  /** Opens a session in the current instance; false when the plugin is disabled or refuses. */
  private open(): boolean {
    const p = this.parser.plugin;
    if (p.stats.disabled) return false;
    const flow = this.ctx.flow;
    const port = flow.clientIsA ? flow.portB : flow.portA;
    p.stats.calls++;
    let h: number;
    try {
      h = p.fnOpen(port, hintFlags(flow.transport, null));
    } catch (e) {
      this.trapped(e);
      return false;
    }
    if (!(h >= 1 && (h | 0) === h)) {
      p.onBadResult();
      this.ctx.anomaly(`${this.parser.name}_wasm_bad_result`);
      return false;
    }
    this.handle = h;
    this.generation = p.generation;
    return true;
  }

  /** The session's instance is gone (re-created after a trap elsewhere): start over in the new one. */
  private revive(): boolean {
    if (this.closed || !this.open()) return false;
    this.lost[0] = true;
    this.lost[1] = true;
    return true;
  }

  private trapped(e: unknown): void {
    const kind = this.parser.plugin.onTrap(e);
    this.ctx.anomaly(`${this.parser.name}_wasm_${kind}`);
    this.closed = true;
  }

  parse(toServer: boolean, buf: Uint8Array, offset: number, length: number): number {
    const p = this.parser.plugin;
    if (this.closed || p.stats.disabled) return PARSE_ERROR;
    if (this.generation !== p.generation && !this.revive()) return PARSE_ERROR;
    const n = length < p.inputCap ? length : p.inputCap;
    p.stats.calls++;
    let r: number;
    try {
      p.writeInput(buf, offset, n);
      p.resetOutput();
      r = p.fnParse(this.handle, toServer ? 1 : 0, n);
    } catch (e) {
      this.trapped(e);
      return PARSE_ERROR;
    }
    if (!(r >= -1 && r <= n && (r | 0) === r)) {
      p.onBadResult();
      this.ctx.anomaly(`${this.parser.name}_wasm_bad_result`);
      this.close();
      return PARSE_ERROR;
    }
    this.emitRecords(toServer, n);
    if (r === -1) {
      this.close();
      return PARSE_ERROR;
    }
    return r;
  }

  onGap(toServer: boolean, length: number): void {
    const p = this.parser.plugin;
    this.lost[toServer ? 0 : 1] = true;
    if (this.closed || p.stats.disabled) return;
    if (this.generation !== p.generation) {
      this.revive();
      return;
    }
    p.stats.calls++;
    try {
      p.resetOutput();
      p.fnGap(this.handle, toServer ? 1 : 0, length > 0x7fffffff ? 0x7fffffff : length);
    } catch (e) {
      this.trapped(e);
      return;
    }
    this.emitRecords(toServer, 0);
  }

  onEnd(toServer: boolean): void {
    const p = this.parser.plugin;
    this.ended |= toServer ? 1 : 2;
    if (this.closed || p.stats.disabled || (this.generation !== p.generation && !this.revive())) return;
    p.stats.calls++;
    try {
      p.resetOutput();
      p.fnEnd(this.handle, toServer ? 1 : 0);
    } catch (e) {
      this.trapped(e);
      return;
    }
    this.emitRecords(toServer, 0);
    if (this.ended === 3) this.close();
  }

  /** Frees the plugin-side session (both directions ended, or the flow stopped). */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    const p = this.parser.plugin;
    if (p.stats.disabled || this.generation !== p.generation) return;
    try {
      p.fnClose(this.handle);
    } catch (e) {
      p.onTrap(e);
    }
  }

  private emitRecords(toServer: boolean, inputLength: number): void {
    const parser = this.parser;
    const p = parser.plugin;
    const h = readHeader(p, parser.header);
    if (!h.valid) {
      p.onBadResult();
      this.ctx.anomaly(`${parser.name}_wasm_bad_result`);
      return;
    }
    if (h.dropped > 0) {
      p.stats.droppedRecords += h.dropped;
      this.ctx.anomaly(`${parser.name}_wasm_records_dropped`);
    }
    const r = parser.record;
    for (let i = 0; i < h.messages; i++) {
      if (!readRecord(p, i, inputLength, MESSAGE_KINDS, r)) {
        p.stats.badRecords++;
        this.ctx.anomaly(`${parser.name}_wasm_bad_record`);
        continue;
      }
      const isRequest = r.kind === KIND_REQUEST;
      const dir = isRequest ? 0 : 1;
      const info: WasmMessageInfo = {
        operation: r.operation,
        resource: r.resource,
        status: (r.flags & FLAG_HAS_STATUS) !== 0 ? r.status : null,
        error: (r.flags & FLAG_ERROR) !== 0,
        errorType: r.error,
        spanKind: (r.flags >> FLAG_KIND_SHIFT) & 0xf,
      };
      const msg: L7Message = {
        type: isRequest ? MSG_REQUEST : MSG_RESPONSE,
        sessionId: r.session,
        startTs: r.start > 0 && inputLength > 0 ? this.ctx.lastByteTs : this.ctx.firstByteTs,
        endTs: this.ctx.lastByteTs,
        size: r.size,
        attrs: r.attrs,
        expectsResponse: isRequest && (r.flags & FLAG_ONE_WAY) === 0,
        trace: isRequest ? r.trace : null,
        afterGap: (r.flags & FLAG_AFTER_GAP) !== 0 || this.lost[dir],
        info,
      };
      this.lost[dir] = false;
      this.ctx.emit(msg);
    }
    void toServer;
  }
}

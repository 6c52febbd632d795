/**
 * HTTP hooks: plugins that look at every HTTP/1 request and response (head and body) and add span
 * attributes, or set the span name or status. The host side is this interface; the HTTP/1 parser
 * calls it at its hook point (see wasm-sdk/README.md "HTTP hooks" for where that hook sits).
 */
import type { Attributes } from '../../trace/span.js';
import type { SpanDescription } from '../types.js';
import { CAP_HTTP_REQUEST, CAP_HTTP_RESPONSE, FLAG_ERROR, FLAG_HAS_STATUS, KIND_HTTP_HOOK } from './abi.js';
import type { WasmPlugin } from './plugin.js';
import type { OutputHeader } from './records.js';
import { readHeader, readRecord, WasmRecord } from './records.js';

/** What the hooks decided for one HTTP message. Reused by the caller between messages. */
export interface HttpHookResult {
  /** Attributes to add to the message's span (semantic-convention names or the plugin's own). */
  attrs: Attributes;
  /** Span name override ('' : keep the parser's). */
  spanName: string;
  /** Span status override: 0 keep, 1 OK, 2 error. */
  status: number;
  /** Status message with status 2 ('' when none). */
  statusMessage: string;
}

export function newHttpHookResult(): HttpHookResult {
  return { attrs: {}, spanName: '', status: 0, statusMessage: '' };
}

/**
 * The hook point an HTTP parser calls. `head` is the message head as on the wire (start line,
 * header lines, the blank line); `body` the body bytes after transfer decoding (dechunked), possibly
 * only their first bytes. Both are valid during the call only. Returns true when `into` was changed.
 * Never throws: a plugin that fails is counted and skipped.
 */
export interface HttpHooks {
  onHttpRequest(head: Uint8Array, headOff: number, headLen: number, body: Uint8Array, bodyOff: number, bodyLen: number, into: HttpHookResult): boolean;
  onHttpResponse(head: Uint8Array, headOff: number, headLen: number, body: Uint8Array, bodyOff: number, bodyLen: number, into: HttpHookResult): boolean;
}

/**
 * Applies the hook results of an exchange to the span description `describeSpan` produced (call it
 * last in describeSpan): the request's name wins over the response's; the response's status over
 * the request's.
 */
export function applyHttpHookResults(req: HttpHookResult | null, resp: HttpHookResult | null, out: SpanDescription): void {
  const named = req !== null && req.spanName !== '' ? req : resp !== null && resp.spanName !== '' ? resp : null;
  if (named !== null) out.name = named.spanName;
  const st = resp !== null && resp.status !== 0 ? resp : req !== null && req.status !== 0 ? req : null;
  if (st === null) return;
  out.error = st.status === 2;
  out.errorType = out.error ? (out.errorType !== '' ? out.errorType : 'plugin') : '';
  out.message = out.error ? st.statusMessage : '';
}

/** Runs the HTTP hooks of the plugins that registered some, in order. */
export class WasmHttpHooks implements HttpHooks {
  private readonly plugins: WasmPlugin[];
  private readonly header: OutputHeader = { messages: 0, dropped: 0, valid: true };
  private readonly record = new WasmRecord();

  constructor(plugins: readonly WasmPlugin[]) {
    this.plugins = plugins.filter((p) => (p.descriptor.capabilities & (CAP_HTTP_REQUEST | CAP_HTTP_RESPONSE)) !== 0);
  }

  get size(): number {
    return this.plugins.length;
  }

  onHttpRequest(head: Uint8Array, headOff: number, headLen: number, body: Uint8Array, bodyOff: number, bodyLen: number, into: HttpHookResult): boolean {
    return this.run(true, head, headOff, headLen, body, bodyOff, bodyLen, into);
  }

  onHttpResponse(head: Uint8Array, headOff: number, headLen: number, body: Uint8Array, bodyOff: number, bodyLen: number, into: HttpHookResult): boolean {
    return this.run(false, head, headOff, headLen, body, bodyOff, bodyLen, into);
  }

  private run(isRequest: boolean, head: Uint8Array, headOff: number, headLen: number, body: Uint8Array, bodyOff: number, bodyLen: number, into: HttpHookResult): boolean {
    let changed = false;
    const cap = isRequest ? CAP_HTTP_REQUEST : CAP_HTTP_RESPONSE;
    for (const p of this.plugins) {
      if (p.stats.disabled || (p.descriptor.capabilities & cap) === 0) continue;
      if (headLen > p.inputCap) continue; // a head larger than the window: skipped
      const bl = Math.min(bodyLen, p.inputCap - headLen);
      p.stats.calls++;
      let r: number;
      try {
        p.writeInput(head, headOff, headLen);
        if (bl > 0) p.u8.set(body.subarray(bodyOff, bodyOff + bl), p.inputPtr + headLen);
        p.resetOutput();
        r = isRequest ? p.fnHttpRequest(headLen, bl) : p.fnHttpResponse(headLen, bl);
      } catch (e) {
        p.onTrap(e);
        continue;
      }
      if (r === 0) continue;
      const h = readHeader(p, this.header);
      if (r !== 1 || !h.valid) {
        p.onBadResult();
        continue;
      }
      for (let i = 0; i < h.messages; i++) {
        const rec = this.record;
        if (!readRecord(p, i, headLen + bl, 1 << KIND_HTTP_HOOK, rec)) {
          p.stats.badRecords++;
          continue;
        }
        for (const k in rec.attrs) {
          into.attrs[k] = rec.attrs[k];
          changed = true;
        }
        if (rec.operation !== '') {
          into.spanName = rec.operation;
          changed = true;
        }
        if ((rec.flags & FLAG_HAS_STATUS) !== 0 && (rec.status === 1 || rec.status === 2)) {
          into.status = rec.status;
          into.statusMessage = (rec.flags & FLAG_ERROR) !== 0 ? rec.error : '';
          changed = true;
        }
      }
    }
    return changed;
  }
}

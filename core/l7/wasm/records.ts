/**
 * Reading a call's results out of the plugin's output area: every count, offset and length is
 * checked against the ABI's bounds and against what the plugin says it wrote; a record that does not
 * fit is rejected (counted) rather than trusted.
 */
import type { Attributes } from '../../trace/span.js';
import type { TraceContext } from '../../trace/propagation.js';
import { parseTraceparent } from '../../trace/propagation.js';
import { ATTR, ATTR_BOOL, ATTR_DOUBLE, ATTR_INT, ATTR_STRING, FLAG_KIND_SHIFT, OUT, REC } from './abi.js';
import type { WasmPlugin } from './plugin.js';

/** One record as read: reused for every record of a call (fields overwritten). */
export class WasmRecord {
  kind = 0;
  session = -1;
  start = 0;
  size = 0;
  flags = 0;
  status = 0;
  operation = '';
  resource = '';
  error = '';
  trace: TraceContext | null = null;
  attrs: Attributes = {};
}

/** What `describeSpan` reads from a plugin message (`L7Message.info`). */
export interface WasmMessageInfo {
  operation: string;
  resource: string;
  /** Protocol status code, or null when the message set none. */
  status: number | null;
  error: boolean;
  /** The error type the plugin gave ('' when none). */
  errorType: string;
  /** Span kind override (0: none). */
  spanKind: number;
}

/** Attribute keys a plugin may not set: the span builder's own. */
function reservedKey(k: string): boolean {
  return k.startsWith('spanwire.') || k === 'network.transport' || k.startsWith('server.') || k.startsWith('client.') || k.startsWith('network.peer.');
}

export interface OutputHeader {
  messages: number;
  /** Records the plugin could not write (its output area was full). */
  dropped: number;
  /** False when the header itself is out of range: nothing of the call can be trusted. */
  valid: boolean;
}

/** Reads and checks the header after a call. */
export function readHeader(p: WasmPlugin, into: OutputHeader): OutputHeader {
  p.refreshViews();
  const h = p.outputPtr >> 2;
  const n = p.i32[h];
  const na = p.i32[h + 1];
  const used = p.i32[h + 2];
  const dropped = p.i32[h + 3];
  into.valid = n >= 0 && n <= OUT.maxMsgs && na >= 0 && na <= OUT.maxAttrs && used >= 0 && used <= OUT.poolSize && dropped >= 0;
  into.messages = into.valid ? n : 0;
  into.dropped = into.valid ? dropped : 0;
  return into;
}

/**
 * Reads message record `i` into `r`. Returns false (record rejected) when a field is out of range.
 * `inputLength` bounds the start offset; `expectKinds` is a bit set of accepted kinds (1 << kind).
 */
export function readRecord(p: WasmPlugin, i: number, inputLength: number, expectKinds: number, r: WasmRecord): boolean {
  const i32 = p.i32;
  const base = (p.outputPtr + OUT.msgs + i * OUT.msgSize) >> 2;
  const kind = i32[base + REC.kind / 4];
  if (kind < 1 || kind > 3 || (expectKinds & (1 << kind)) === 0) return false;
  const session = i32[base + REC.session / 4];
  const start = i32[base + REC.start / 4];
  const size = i32[base + REC.size / 4];
  const flags = i32[base + REC.flags / 4];
  if (session < -1 || start < 0 || start > inputLength || size < 0 || (flags & ~0xf0f) !== 0) return false;
  const op = p.poolString(i32[base + REC.op / 4], i32[base + REC.op / 4 + 1]);
  const res = p.poolString(i32[base + REC.resource / 4], i32[base + REC.resource / 4 + 1]);
  const err = p.poolString(i32[base + REC.error / 4], i32[base + REC.error / 4 + 1]);
  const tp = p.poolString(i32[base + REC.traceparent / 4], i32[base + REC.traceparent / 4 + 1]);
  if (op === null || res === null || err === null || tp === null) return false;
  const kindOverride = (flags >> FLAG_KIND_SHIFT) & 0xf;
  if (kindOverride > 5) return false;
  const attrStart = i32[base + REC.attrStart / 4];
  const attrCount = i32[base + REC.attrCount / 4];
  const written = i32[(p.outputPtr + OUT.attrCount) >> 2];
  if (attrStart < 0 || attrCount < 0 || attrStart + attrCount > written) return false;
  const attrs: Attributes = {};
  for (let a = attrStart; a < attrStart + attrCount; a++) {
    if (!readAttr(p, a, attrs)) return false;
  }
  r.kind = kind;
  r.session = session;
  r.start = start;
  r.size = size;
  r.flags = flags;
  r.status = i32[base + REC.status / 4];
  r.operation = op;
  r.resource = res;
  r.error = err;
  r.trace = tp === '' ? null : parseTraceparent(tp);
  r.attrs = attrs;
  return true;
}

function readAttr(p: WasmPlugin, a: number, into: Attributes): boolean {
  const base = p.outputPtr + OUT.attrs + a * OUT.attrSize;
  const w = base >> 2;
  const type = p.i32[w + ATTR.type / 4];
  const key = p.poolString(p.i32[w + ATTR.key / 4], p.i32[w + ATTR.key / 4 + 1]);
  if (key === null || key === '' || key.length > 256) return false;
  if (reservedKey(key)) return true; // ignored, not an error: the builder sets these itself
  const num = p.f64[(base + ATTR.num) >> 3];
  switch (type) {
    case ATTR_STRING: {
      const v = p.poolString(p.i32[w + ATTR.str / 4], p.i32[w + ATTR.str / 4 + 1]);
      if (v === null) return false;
      into[key] = v;
      return true;
    }
    case ATTR_INT:
      if (!Number.isSafeInteger(num)) return false;
      into[key] = num;
      return true;
    case ATTR_DOUBLE:
      if (!Number.isFinite(num)) return false;
      into[key] = num;
      return true;
    case ATTR_BOOL:
      if (num !== 0 && num !== 1) return false;
      into[key] = num === 1;
      return true;
    default:
      return false;
  }
}

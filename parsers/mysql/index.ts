/**
 * MySQL / MariaDB (client/server protocol): the registration record. See README.md in this folder.
 */
import type { L7Message, ParserContext, ParserSession, ProbeHint, ProtocolParser, SpanDescription } from '../../core/l7/types.js';
import { PROBE_MATCH, PROBE_NEED_MORE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE } from '../../core/l7/types.js';
import { u24le } from '../../core/l7/bytes.js';
import { CLIENT_PROTOCOL_41, COM_QUERY, COMMAND_NAMES } from './protocol.js';
import type { MysqlInfo } from './session.js';
import { MysqlSession } from './session.js';

export type { MysqlInfo } from './session.js';

/** Do the packets from b[p] chain to exactly `end` with consecutive sequence numbers? */
function chainEnds(b: Uint8Array, p: number, end: number): boolean {
  let seq = -1;
  while (p + 4 <= end) {
    const s = b[p + 3];
    if (seq >= 0 && s !== ((seq + 1) & 0xff)) return false;
    seq = s;
    p += 4 + u24le(b, p);
  }
  return p === end;
}

/** A client command at b[p] (sequence 0, a command byte a client sends; COM_QUERY text starts printable). */
function commandAt(b: Uint8Array, p: number, end: number): boolean {
  if (end - p < 5 || b[p + 3] !== 0 || COMMAND_NAMES[b[p + 4]] === '') return false;
  if (b[p + 4] === COM_QUERY && end - p > 5) {
    const c = b[p + 5];
    // SQL text (letters, '(', '/', whitespace), or query attributes (a small parameter count, then 1)
    if (!((c >= 0x41 && c <= 0x7a) || c === 0x28 || c === 0x2f || c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d || (c < 0x20 && end - p > 6 && b[p + 6] === 1))) return false;
  }
  return true;
}

/**
 * Is `buf[offset..offset+length)` MySQL? Every packet has a 3-byte length and a sequence number, so
 * the signature is packets that end exactly at the end of the bytes: the server greeting (protocol
 * 10, a printable version), a login (HandshakeResponse41: 23 zero filler bytes), a client command
 * (sequence 0, a known command byte), a server answer (sequence 1: OK, ERR with a SQLSTATE, or a
 * column count followed by a column definition from catalog "def"), or the same in compressed
 * framing (7-byte headers). No allocation.
 */
function probe(buf: Uint8Array, offset: number, length: number, hint: ProbeHint): number {
  if (hint.transport !== 'tcp') return PROBE_NO;
  if (length < 4) return PROBE_NEED_MORE;
  const end = offset + length;
  const len = u24le(buf, offset);
  const seq = buf[offset + 3];
  if (len === 0) return PROBE_NO;
  if (length < 7 && len + 4 !== length) return seq <= 1 && len + 4 > length && len < 65536 ? PROBE_NEED_MORE : PROBE_NO;
  const f = buf[offset + 4];
  if (len + 4 > length) {
    // A first packet longer than the bytes so far: wait for it if it could be one.
    if (len > 65536) return compressedProbe(buf, offset, end);
    if ((seq === 0 && (f === 10 || COMMAND_NAMES[f] !== '')) || (seq === 1 && len >= 32)) return PROBE_NEED_MORE;
    return compressedProbe(buf, offset, end);
  }
  if (!chainEnds(buf, offset, end)) return compressedProbe(buf, offset, end);
  if (seq === 0 && f === 10 && len >= 20) {
    // Greeting: "protocol 10, version\0": a version starts with a digit and is printable.
    const v = offset + 5;
    if (buf[v] < 0x30 || buf[v] > 0x39) return PROBE_NO;
    for (let i = v; i < offset + 4 + len; i++) {
      if (buf[i] === 0) return PROBE_RESPONSE;
      if (buf[i] < 0x20 || buf[i] > 0x7e) return PROBE_NO;
    }
    return PROBE_NO;
  }
  if (commandAt(buf, offset, end)) return PROBE_REQUEST;
  if (seq === 1 && len >= 32 && buf[offset + 5] & (CLIENT_PROTOCOL_41 >> 8)) {
    // HandshakeResponse41: capabilities, max packet size, charset, 23 zero bytes.
    for (let i = offset + 13; i < offset + 36; i++) if (buf[i] !== 0) return PROBE_NO;
    return PROBE_REQUEST;
  }
  if (seq === 1) {
    if (f === 0x00 && len >= 7 && len < 1024) return PROBE_RESPONSE; // OK
    if (f === 0xff && len >= 9 && buf[offset + 7] === 0x23) return PROBE_RESPONSE; // ERR with '#' SQLSTATE
    if (f > 0 && f < 0xfb && len === 1) {
      // column count, then a column definition: lenenc catalog "def"
      const q = offset + 5;
      if (q + 8 <= end && buf[q + 3] === 2 && buf[q + 4] === 3 && buf[q + 5] === 0x64 && buf[q + 6] === 0x65 && buf[q + 7] === 0x66) return PROBE_RESPONSE;
    }
  }
  return PROBE_NO;
}

/** The same signatures inside compressed framing. */
function compressedProbe(buf: Uint8Array, offset: number, end: number): number {
  const c = MysqlSession.looksCompressed(buf, offset, end);
  if (c !== true) return PROBE_NO;
  const clen = u24le(buf, offset);
  if (clen + 7 !== end - offset) return PROBE_NO; // one whole compressed packet, exactly
  if (u24le(buf, offset + 4) !== 0) return PROBE_MATCH; // zlib: the direction is not visible
  return commandAt(buf, offset + 7, end) ? PROBE_REQUEST : PROBE_NO;
}

/**
 * Span: named by the query summary (`SELECT items`), else `{operation} {collection}`, else the
 * operation (`COM_PING`); an ERR packet makes it an error whose type is the error number (`1146`).
 */
function describeSpan(req: L7Message | null, resp: L7Message | null, _kind: number, out: SpanDescription): void {
  const qi = req !== null ? (req.info as MysqlInfo) : null;
  const ri = resp !== null ? (resp.info as MysqlInfo) : null;
  let name = 'mysql';
  if (qi !== null) {
    if (qi.summary !== '') name = qi.summary;
    else if (qi.operation !== '') name = qi.collection !== '' ? `${qi.operation} ${qi.collection}` : qi.operation;
  }
  out.name = name;
  out.error = false;
  out.errorType = '';
  out.message = '';
  out.kind = 0;
  if (ri !== null && ri.errorCode >= 0) {
    out.error = true;
    out.errorType = String(ri.errorCode);
    out.message = ri.errorMessage;
  }
}

export const mysqlParser: ProtocolParser = {
  name: 'mysql',
  transports: ['tcp'],
  ports: [3306, 3307, 4000, 6033],
  probeLimit: 65536,
  probe,
  createSession(ctx: ParserContext): ParserSession {
    return new MysqlSession(ctx);
  },
  describeSpan,
};

/**
 * PostgreSQL (frontend/backend protocol 3.0): the registration record. See README.md in this folder.
 */
import type { L7Message, ParserContext, ParserSession, ProbeHint, ProtocolParser, SpanDescription } from '../../core/l7/types.js';
import { PROBE_NEED_MORE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE } from '../../core/l7/types.js';
import { u32be as u32 } from '../../core/l7/bytes.js';
import type { PgInfo } from './session.js';
import { CANCEL_REQUEST, GSSENC_REQUEST, PgSession, PROTOCOL_3, SSL_REQUEST } from './session.js';

export type { PgInfo } from './session.js';

/** Client message types that can open a conversation mid-connection (Query, Parse, Bind, Execute, Sync...). */
const CLIENT_TYPES = new Set([0x51, 0x50, 0x42, 0x45, 0x53, 0x44, 0x48, 0x43, 0x58, 0x46]);
/** Server message types: auth, ReadyForQuery, RowDescription, DataRow, CommandComplete, Error, Notice, completions. */
const SERVER_TYPES = new Set([0x52, 0x5a, 0x54, 0x44, 0x43, 0x45, 0x4e, 0x31, 0x32, 0x33, 0x6e, 0x74, 0x53, 0x4b, 0x49]);

/**
 * Is `buf[offset..offset+length)` PostgreSQL? A StartupMessage (protocol 3.0), SSLRequest,
 * GSSENCRequest or CancelRequest (the client), or, mid-connection, a chain of typed messages whose
 * lengths end exactly at the end of the bytes: `Q` with a NUL-terminated text is a client query;
 * server messages need the chain to end in ReadyForQuery (`Z`, status I/T/E). No allocation.
 */
function probe(buf: Uint8Array, offset: number, length: number, hint: ProbeHint): number {
  if (hint.transport !== 'tcp') return PROBE_NO;
  if (length < 8) return buf[offset] === 0 || length === 0 ? PROBE_NEED_MORE : typedProbe(buf, offset, length);
  if (buf[offset] === 0) {
    const len = u32(buf, offset);
    const code = u32(buf, offset + 4);
    if ((len === 8 && (code === SSL_REQUEST || code === GSSENC_REQUEST)) || (len === 16 && code === CANCEL_REQUEST)) return PROBE_REQUEST;
    if (code === PROTOCOL_3 && len >= 9 && len <= 10000) return length >= len ? (buf[offset + len - 1] === 0 ? PROBE_REQUEST : PROBE_NO) : PROBE_NEED_MORE;
    return PROBE_NO;
  }
  return typedProbe(buf, offset, length);
}

function typedProbe(buf: Uint8Array, offset: number, length: number): number {
  const end = offset + length;
  let p = offset;
  let client = true;
  let server = true;
  let lastZ = false;
  let n = 0;
  while (p < end) {
    if (end - p < 5) return PROBE_NEED_MORE;
    const t = buf[p];
    const len = u32(buf, p + 1);
    if (len < 4 || len > 1 << 24) return PROBE_NO;
    if (!CLIENT_TYPES.has(t)) client = false;
    if (!SERVER_TYPES.has(t)) server = false;
    if (!client && !server) return PROBE_NO;
    if (p + 1 + len > end) return n === 0 && len < 65536 ? PROBE_NEED_MORE : PROBE_NO;
    if (t === 0x5a) lastZ = len === 5 && (buf[p + 5] === 0x49 || buf[p + 5] === 0x54 || buf[p + 5] === 0x45);
    else lastZ = false;
    if (t === 0x51 && buf[p + len] !== 0) client = false; // Query text ends with NUL
    p += 1 + len;
    n++;
  }
  if (server && lastZ) return PROBE_RESPONSE;
  if (client && buf[offset] === 0x51) return PROBE_REQUEST;
  if (client && buf[offset] === 0x50 && buf[end - 5] === 0x53) return PROBE_REQUEST; // Parse ... Sync
  return PROBE_NO;
}

/**
 * Span: named by the query summary (`SELECT users`), else the operation; an ErrorResponse makes it an
 * error whose type is the SQLSTATE (`42601`) and message the server's message.
 */
function describeSpan(req: L7Message | null, resp: L7Message | null, _kind: number, out: SpanDescription): void {
  const qi = req !== null ? (req.info as PgInfo) : null;
  const ri = resp !== null ? (resp.info as PgInfo) : null;
  out.name = qi !== null ? (qi.summary !== '' ? qi.summary : qi.operation) : 'postgresql';
  if (out.name === '') out.name = 'postgresql';
  out.error = false;
  out.errorType = '';
  out.message = '';
  out.kind = 0;
  if (ri !== null && ri.sqlState !== '') {
    out.error = true;
    out.errorType = ri.sqlState;
    out.message = ri.errorMessage;
  }
}

export const postgresqlParser: ProtocolParser = {
  name: 'postgresql',
  transports: ['tcp'],
  ports: [5432, 5433],
  probeLimit: 65536,
  probe,
  createSession(ctx: ParserContext): ParserSession {
    return new PgSession(ctx);
  },
  describeSpan,
};

/**
 * Redis (RESP2 and RESP3): the registration record. See README.md in this folder for detection,
 * the attributes produced, limits and known gaps.
 */
import type { L7Message, ParserContext, ParserSession, ProbeHint, ProtocolParser, SpanDescription } from '../../core/l7/types.js';
import { PROBE_NEED_MORE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE } from '../../core/l7/types.js';
import { SPAN_KIND_CONSUMER } from '../../core/trace/span.js';
import type { RedisInfo } from './session.js';
import { RedisSession } from './session.js';

export type { RedisInfo } from './session.js';

const PROBE_LIMIT = 1024;
const REDIS_PORTS = [6379, 6380, 26379, 16379];

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Position after `digits CRLF` at p (an optional leading '-'), -1 when not that, -2 when cut. */
function number(b: Uint8Array, p: number, end: number): number {
  let q = p;
  if (q < end && b[q] === 0x2d) q++;
  const s = q;
  while (q < end && isDigit(b[q]) && q - s < 12) q++;
  if (q >= end) return -2;
  if (q === s || b[q] !== 0x0d) return -1;
  if (q + 1 >= end) return -2;
  return b[q + 1] === 0x0a ? q + 2 : -1;
}

/**
 * Is `buf[offset..offset+length)` Redis? A command is an array of bulk strings whose first is a
 * command name (`*2\r\n$3\r\nGET\r\n...`): the sender is the client. On the Redis ports, also an
 * inline command (`PING\r\n`) or a reply: `+OK`, `-ERR ...`, `:1`, `$5`, RESP3 types. No allocation.
 */
function probe(buf: Uint8Array, offset: number, length: number, hint: ProbeHint): number {
  if (hint.transport !== 'tcp' || length === 0) return PROBE_NO;
  const end = offset + length;
  const c = buf[offset];
  const onPort = REDIS_PORTS.includes(hint.port);
  if (c === 0x2a) {
    // *N\r\n$M\r\nNAME\r\n
    const p = number(buf, offset + 1, end);
    if (p === -2) return PROBE_NEED_MORE;
    if (p < 0) return PROBE_NO;
    if (p >= end) return PROBE_NEED_MORE;
    if (buf[p] !== 0x24) return onPort ? PROBE_RESPONSE : PROBE_NO;
    const q = number(buf, p + 1, end);
    if (q === -2) return PROBE_NEED_MORE;
    if (q < 0) return PROBE_NO;
    let n = 0;
    let i = q;
    while (i < end && n < 32 && ((buf[i] | 0x20) >= 0x61 && (buf[i] | 0x20) <= 0x7a)) {
      i++;
      n++;
    }
    if (i >= end) return n < 32 ? PROBE_NEED_MORE : PROBE_NO;
    if (n > 0 && buf[i] === 0x0d) return PROBE_REQUEST;
    return onPort ? PROBE_RESPONSE : PROBE_NO; // an array reply whose first element is not a word
  }
  if (!onPort) return PROBE_NO;
  switch (c) {
    case 0x2b: // +
    case 0x2d: // -
    case 0x3a: // :
    case 0x24: // $
    case 0x5f: // _
    case 0x2c: // ,
    case 0x23: // #
    case 0x25: // %
    case 0x7e: // ~
    case 0x3e: // >
    case 0x7c: {
      // | A reply: one line ending in CRLF.
      for (let i = offset + 1; i < end && i - offset < PROBE_LIMIT; i++) if (buf[i] === 0x0a) return buf[i - 1] === 0x0d ? PROBE_RESPONSE : PROBE_NO;
      return PROBE_NEED_MORE;
    }
    default: {
      // An inline command: letters then space or CRLF.
      let i = offset;
      while (i < end && i - offset < 32 && ((buf[i] | 0x20) >= 0x61 && (buf[i] | 0x20) <= 0x7a)) i++;
      if (i === offset) return PROBE_NO;
      if (i >= end) return PROBE_NEED_MORE;
      return buf[i] === 0x20 || buf[i] === 0x0d ? PROBE_REQUEST : PROBE_NO;
    }
  }
}

/**
 * Span: named by the command (`GET`); an error reply (`-ERR ...`) makes it an error whose type is the
 * error prefix (`ERR`, `WRONGTYPE`...) and message the error text. A pub/sub delivery is a CONSUMER
 * span named `receive {channel}`.
 */
function describeSpan(req: L7Message | null, resp: L7Message | null, _kind: number, out: SpanDescription): void {
  const qi = req !== null ? (req.info as RedisInfo) : null;
  const ri = resp !== null ? (resp.info as RedisInfo) : null;
  out.error = false;
  out.errorType = '';
  out.message = '';
  out.kind = 0;
  if (qi !== null && qi.delivery) {
    out.name = `receive ${qi.channel}`;
    out.kind = SPAN_KIND_CONSUMER;
    return;
  }
  out.name = qi !== null && qi.command !== '' ? qi.command : 'redis';
  if (ri !== null && ri.isError) {
    out.error = true;
    out.errorType = ri.errorPrefix;
    out.message = ri.errorText;
  }
}

export const redisParser: ProtocolParser = {
  name: 'redis',
  transports: ['tcp'],
  ports: REDIS_PORTS,
  probeLimit: PROBE_LIMIT,
  probe,
  createSession(ctx: ParserContext): ParserSession {
    return new RedisSession(ctx);
  },
  describeSpan,
};

/**
 * HTTP/1.0 and HTTP/1.1 (RFC 9110, RFC 9112). See README.md in this folder.
 *
 * One session per flow, both directions. Header sections are scanned on bytes; only the values the
 * span needs are decoded to strings. Bodies are skipped by counting, never buffered. Requests are
 * emitted as soon as their header section is complete (so that an early response still pairs) and
 * completed in place (end time, body size) when their body ends; responses are emitted when they end.
 */
import type { L7Message, ParserContext, ParserSession, ProbeHint, ProtocolParser, SpanDescription } from '../../core/l7/types.js';
import {
  MSG_REQUEST,
  MSG_RESPONSE,
  PROBE_NEED_MORE,
  PROBE_NO,
  PROBE_REQUEST,
  PROBE_RESPONSE,
  SESSION_FIFO,
} from '../../core/l7/types.js';
import { latin1 } from '../../core/l7/bytes.js';
import { TraceContextCollector } from '../../core/trace/propagation-impl.js';
import { SPAN_KIND_CLIENT, SPAN_KIND_SERVER } from '../../core/trace/span.js';

/** What `describeSpan` needs, kept on each message. */
export interface Http1Info {
  /** Request: the method as sent (e.g. 'GET', 'PROPFIND'); response: ''. */
  method: string;
  /** Response: the status code; request: 0. */
  status: number;
  /** True when the message was cut short (end of capture, or a gap inside it). */
  incomplete: boolean;
}

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const COLON = 58;

/** Methods of RFC 9110 and RFC 5789 (PATCH): kept as-is in http.request.method; others are _OTHER. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/** Default cap on a header section (bytes); `options.maxHeaderBytes` overrides it. */
export const DEFAULT_MAX_HEADER_BYTES = 64 << 10;
/** Requests remembered per flow while their responses are awaited (for HEAD/CONNECT body rules). */
const MAX_PENDING_METHODS = 1024;
/** Chunk-size lines longer than this are malformed. */
const MAX_CHUNK_LINE = 1024;

// Direction states
const S_START = 0; // expecting a start line
const S_BODY_LENGTH = 1; // skipping `remaining` body bytes
const S_CHUNK_SIZE = 2; // expecting a chunk-size line
const S_CHUNK_DATA = 3; // skipping `remaining` chunk bytes
const S_CHUNK_CRLF = 4; // expecting CRLF after chunk data
const S_TRAILERS = 5; // trailer section until an empty line
const S_UNTIL_CLOSE = 6; // response body delimited by connection close
const S_RESYNC = 7; // after a gap or a broken message: looking for the next start line
const S_DONE = 8; // nothing more to parse in this direction (tunnel)

// ---- byte helpers ---------------------------------------------------------------------------------

function isTokenChar(c: number): boolean {
  // RFC 9110 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~"
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x21 ||
    (c >= 0x23 && c <= 0x27) ||
    c === 0x2a ||
    c === 0x2b ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5e ||
    c === 0x5f ||
    c === 0x60 ||
    c === 0x7c ||
    c === 0x7e
  );
}


function trimmedLatin1(buf: Uint8Array, start: number, end: number): string {
  while (start < end && (buf[start] === SP || buf[start] === HT)) start++;
  while (end > start && (buf[end - 1] === SP || buf[end - 1] === HT || buf[end - 1] === CR)) end--;
  return end - start > 4096 ? latin1(buf, start, start + 4096) : latin1(buf, start, end);
}

/** Case-insensitive compare of buf[start..end) with a lower-case ASCII name. */
function eqLower(buf: Uint8Array, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) {
    let c = buf[start + i];
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== name.charCodeAt(i)) return false;
  }
  return true;
}

function lowerName(buf: Uint8Array, start: number, end: number): string {
  return latin1(buf, start, end).toLowerCase();
}

/** Index of the first LF in [from, end), or -1. */
function findLF(buf: Uint8Array, from: number, end: number): number {
  for (let i = from; i < end; i++) if (buf[i] === LF) return i;
  return -1;
}

/**
 * End of the header section starting at `from`: the index just past the empty line (CRLF CRLF, or
 * bare LF LF which RFC 9112 tolerates), or -1 when not yet complete.
 */
function findHeaderEnd(buf: Uint8Array, from: number, end: number): number {
  for (let i = findLF(buf, from, end); i >= 0; i = findLF(buf, i + 1, end)) {
    const next = i + 1;
    if (next < end && buf[next] === LF) return next + 1;
    if (next + 1 < end && buf[next] === CR && buf[next + 1] === LF) return next + 2;
  }
  return -1;
}

/** "HTTP/1.x " at `p`; returns the minor version digit (0/1) or -1. */
function httpVersionAt(buf: Uint8Array, p: number, end: number): number {
  if (p + 8 > end) return -1;
  if (buf[p] !== 0x48 || buf[p + 1] !== 0x54 || buf[p + 2] !== 0x54 || buf[p + 3] !== 0x50) return -1;
  if (buf[p + 4] !== 0x2f || buf[p + 5] !== 0x31 || buf[p + 6] !== 0x2e) return -1;
  const minor = buf[p + 7];
  return minor === 0x30 || minor === 0x31 ? minor - 0x30 : -1;
}

const PROBE_PREFIX_MAX = 16;

/**
 * Is there a request line or a status line at `p`? Returns PROBE_REQUEST/RESPONSE/NO, or NEED_MORE
 * when the bytes so far could still be one. Cheap: no allocation.
 */
function startLineAt(buf: Uint8Array, p: number, end: number): number {
  const avail = end - p;
  if (avail <= 0) return PROBE_NEED_MORE;
  // Status line: HTTP/1.x SP 3DIGIT
  if (buf[p] === 0x48) {
    const pref = 'HTTP/1.';
    let i = 0;
    for (; i < pref.length && i < avail; i++) if (buf[p + i] !== pref.charCodeAt(i)) break;
    if (i === avail && i < pref.length) return PROBE_NEED_MORE;
    if (i === pref.length) {
      if (avail < 13) return avail >= 8 && buf[p + 7] !== 0x30 && buf[p + 7] !== 0x31 ? PROBE_NO : PROBE_NEED_MORE;
      if (httpVersionAt(buf, p, end) >= 0 && buf[p + 8] === SP) {
        const d1 = buf[p + 9] - 0x30;
        const d2 = buf[p + 10] - 0x30;
        const d3 = buf[p + 11] - 0x30;
        if (d1 >= 1 && d1 <= 5 && d2 >= 0 && d2 <= 9 && d3 >= 0 && d3 <= 9 && (buf[p + 12] === SP || buf[p + 12] === CR || buf[p + 12] === LF)) {
          return PROBE_RESPONSE;
        }
      }
      return PROBE_NO;
    }
    // Not "HTTP/1.": may still be a method starting with H (HEAD).
  }
  // Request line: method token SP request-target SP HTTP/1.x CRLF
  let i = p;
  while (i < end && i - p < PROBE_PREFIX_MAX && isTokenChar(buf[i])) i++;
  if (i === end) return i - p < PROBE_PREFIX_MAX ? PROBE_NEED_MORE : PROBE_NO;
  if (i === p || buf[i] !== SP || i - p >= PROBE_PREFIX_MAX) return PROBE_NO;
  // Method letters must be upper-case ASCII (all registered methods are); rejects most binary/text noise.
  for (let k = p; k < i; k++) {
    const c = buf[k];
    if (!((c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x5f)) return PROBE_NO;
  }
  const lf = findLF(buf, i + 1, Math.min(end, i + 1 + 8192));
  if (lf < 0) {
    if (end - i > 8192) return PROBE_NO;
    // Target so far must be printable (a CR may end it: the LF is still to come).
    for (let k = i + 1; k < end; k++) if (buf[k] < SP && !(buf[k] === CR && k === end - 1)) return PROBE_NO;
    return PROBE_NEED_MORE;
  }
  let lineEnd = lf;
  if (lineEnd > i + 1 && buf[lineEnd - 1] === CR) lineEnd--;
  // " HTTP/1.x" at the end of the line
  if (lineEnd - 9 <= i + 1) return PROBE_NO;
  if (buf[lineEnd - 9] !== SP || httpVersionAt(buf, lineEnd - 8, lineEnd) < 0) return PROBE_NO;
  return PROBE_REQUEST;
}

// ---- per-direction state ---------------------------------------------------------------------------

class Direction {
  state = S_START;
  remaining = 0;
  /** The message being read (null between messages). */
  msg: L7Message | null = null;
  info: Http1Info | null = null;
  bodyBytes = 0;
  /** Bytes scanned for the header end in the bytes offered again (avoids rescanning). */
  scanned = 0;
  /** A start line seen while its header section was still incomplete (reported at the end if cut). */
  partial: L7Message | null = null;
  /** Messages of this direction may have been lost before the next one (after a gap). */
  lostBefore = false;
  /** In S_RESYNC: whether the first byte offered is at a line start (after a gap it may be). */
  lineStart = false;
}

class Http1Session implements ParserSession {
  private readonly req = new Direction();
  private readonly resp = new Direction();
  /** Methods of requests whose final response has not been read yet, oldest first. */
  private readonly methods: string[] = [];
  private readonly collector = new TraceContextCollector();
  private readonly maxHeader: number;

  constructor(private readonly ctx: ParserContext) {
    const m = ctx.options.maxHeaderBytes;
    this.maxHeader = typeof m === 'number' && m > 0 ? m : DEFAULT_MAX_HEADER_BYTES;
  }

  parse(toServer: boolean, buf: Uint8Array, offset: number, length: number): number {
    const d = toServer ? this.req : this.resp;
    const end = offset + length;
    let p = offset;
    while (p < end) {
      switch (d.state) {
        case S_START: {
          // Tolerate stray CRLFs between messages (RFC 9112 2.2).
          while (p < end && (buf[p] === CR || buf[p] === LF)) p++;
          if (p === end) return length;
          const r = toServer ? this.readRequestHead(d, buf, p, end, p === offset) : this.readResponseHead(d, buf, p, end, p === offset);
          if (r === 0) return p - offset; // need more
          if (r < 0) {
            this.ctx.anomaly(r === -2 ? 'http1_header_too_large' : 'http1_bad_start_line');
            d.state = S_RESYNC;
            d.lostBefore = true;
            d.lineStart = false;
            p++;
            break;
          }
          p += r;
          break;
        }
        case S_BODY_LENGTH:
        case S_CHUNK_DATA: {
          const n = Math.min(d.remaining, end - p);
          d.remaining -= n;
          d.bodyBytes += n;
          p += n;
          if (d.remaining === 0) {
            if (d.state === S_BODY_LENGTH) this.finish(d, toServer);
            else d.state = S_CHUNK_CRLF;
          }
          break;
        }
        case S_UNTIL_CLOSE:
          d.bodyBytes += end - p;
          p = end;
          break;
        case S_CHUNK_SIZE: {
          const lf = findLF(buf, p, Math.min(end, p + MAX_CHUNK_LINE));
          if (lf < 0) {
            if (end - p >= MAX_CHUNK_LINE) return this.broken(d, toServer, 'http1_bad_chunk', p - offset + 1);
            return p - offset;
          }
          let size = 0;
          let digits = 0;
          let q = p;
          for (; q < lf; q++) {
            const c = buf[q];
            const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
            if (v < 0) break;
            size = size * 16 + v;
            digits++;
          }
          // After the digits: optional whitespace, chunk extensions (";..."), CR.
          if (digits === 0 || digits > 13 || (q < lf && buf[q] !== 0x3b && buf[q] !== SP && buf[q] !== HT && buf[q] !== CR)) {
            return this.broken(d, toServer, 'http1_bad_chunk', p - offset + 1);
          }
          p = lf + 1;
          if (size === 0) {
            d.state = S_TRAILERS;
          } else {
            d.remaining = size;
            d.state = S_CHUNK_DATA;
          }
          break;
        }
        case S_CHUNK_CRLF: {
          if (buf[p] === CR) {
            if (p + 1 === end) return p - offset;
            if (buf[p + 1] !== LF) return this.broken(d, toServer, 'http1_bad_chunk', p - offset + 1);
            p += 2;
          } else if (buf[p] === LF) {
            p += 1;
          } else {
            return this.broken(d, toServer, 'http1_bad_chunk', p - offset + 1);
          }
          d.state = S_CHUNK_SIZE;
          break;
        }
        case S_TRAILERS: {
          // Trailer fields until an empty line; their values are not exported.
          const lf = findLF(buf, p, end);
          if (lf < 0) {
            if (end - p > this.maxHeader) return this.broken(d, toServer, 'http1_header_too_large', end - offset);
            return p - offset;
          }
          const empty = lf === p || (lf === p + 1 && buf[p] === CR);
          p = lf + 1;
          if (empty) this.finish(d, toServer);
          break;
        }
        case S_RESYNC: {
          const found = this.resync(d, toServer, buf, p, end);
          if (found < 0) {
            // Keep the tail from the last line start near the end: a start line may begin there.
            let keepFrom = end;
            for (let j = end - 1; j >= p && j >= end - PROBE_PREFIX_MAX - 1; j--) {
              if (buf[j] === LF) {
                keepFrom = j + 1;
                break;
              }
            }
            // The next byte offered starts a line only if a kept tail does, or the last byte was LF.
            d.lineStart = keepFrom < end || (end > p && buf[end - 1] === LF);
            return keepFrom - offset;
          }
          p = found;
          d.state = S_START;
          break;
        }
        default:
          // S_DONE
          return length;
      }
    }
    return length;
  }

  /** Position of the next plausible start line for this direction at or after `p`, or -1. */
  private resync(d: Direction, toServer: boolean, buf: Uint8Array, p: number, end: number): number {
    const want = toServer ? PROBE_REQUEST : PROBE_RESPONSE;
    for (let i = p; i < end; i++) {
      // Only at a line start (the first byte offered may be one: after a gap, or a kept tail).
      if (i === p ? !d.lineStart : buf[i - 1] !== LF) continue;
      const r = startLineAt(buf, i, end);
      if (r === want) return i;
      if (r === PROBE_NEED_MORE && end - i <= PROBE_PREFIX_MAX) return -1;
    }
    return -1;
  }

  private broken(d: Direction, toServer: boolean, anomaly: string, consumed: number): number {
    this.ctx.anomaly(anomaly);
    if (d.info !== null) d.info.incomplete = true;
    this.finish(d, toServer);
    d.state = S_RESYNC;
    d.lostBefore = true;
    d.lineStart = false;
    return consumed;
  }

  // ---- requests --------------------------------------------------------------------------------

  /**
   * Parse a request head at `p`. Returns bytes consumed (> 0), 0 when more bytes are needed, -1 for
   * a broken start line, -2 for a header section over the cap.
   */
  private readRequestHead(d: Direction, buf: Uint8Array, p: number, end: number, atCallStart: boolean): number {
    const kind = startLineAt(buf, p, end);
    if (kind === PROBE_NEED_MORE) return end - p > this.maxHeader ? -2 : 0;
    if (kind !== PROBE_REQUEST) return -1;
    const lineLF = findLF(buf, p, end);
    const headEnd = findHeaderEnd(buf, Math.max(p, lineLF), end);
    const startTs = atCallStart ? this.ctx.firstByteTs : this.ctx.lastByteTs;
    if (headEnd < 0) {
      if (end - p > this.maxHeader) return -2;
      if (d.partial === null) d.partial = this.requestFromStartLine(buf, p, lineLF, startTs);
      return 0;
    }
    const msg = d.partial ?? this.requestFromStartLine(buf, p, lineLF, startTs);
    d.partial = null;
    if (msg.startTs > startTs) msg.startTs = startTs;
    const info = msg.info as Http1Info;
    // Headers
    let contentLength = -1;
    let chunked = false;
    let badLength = false;
    this.collector.reset();
    for (let ls = lineLF + 1; ls < headEnd; ) {
      const le = findLF(buf, ls, headEnd);
      if (le < 0) break;
      const colon = indexOfColon(buf, ls, le);
      if (colon > ls) {
        const vs = colon + 1;
        const nameLen = colon - ls;
        const c0 = buf[ls] | 0x20;
        if (nameLen === 4 && eqLower(buf, ls, colon, 'host')) {
          const host = trimmedLatin1(buf, vs, le);
          msg.attrs['server.address'] = hostOnly(host);
        } else if (nameLen === 14 && eqLower(buf, ls, colon, 'content-length')) {
          const v = parseDecimal(buf, vs, le);
          if (v < 0 || (contentLength >= 0 && v !== contentLength)) badLength = true;
          else contentLength = v;
        } else if (nameLen === 17 && eqLower(buf, ls, colon, 'transfer-encoding')) {
          chunked = lastCodingIsChunked(buf, vs, le);
        } else if (nameLen === 10 && eqLower(buf, ls, colon, 'user-agent')) {
          msg.attrs['user_agent.original'] = trimmedLatin1(buf, vs, le);
        } else if (c0 === 0x74 || c0 === 0x62 || c0 === 0x78 || c0 === 0x75 || c0 === 0x73 || c0 === 0x72) {
          // t(raceparent/racestate), b3, x-(b3/request-id/correlation-id), u(ber-trace-id), s(w8), r(equest-id)
          const name = lowerName(buf, ls, colon);
          if (TraceContextCollector.wants(name)) this.collector.offer(name, trimmedLatin1(buf, vs, le));
        }
      }
      ls = le + 1;
    }
    if (this.collector.any) msg.trace = this.collector.result();
    const headBytes = headEnd - p;
    msg.size = headBytes;
    if (this.methods.length < MAX_PENDING_METHODS) this.methods.push(info.method);
    else this.ctx.anomaly('http1_too_many_pending_requests');
    if (d.lostBefore) {
      msg.afterGap = true;
      d.lostBefore = false;
    }
    // Requests go to pairing now; body size and end time are completed in place when the body ends.
    d.msg = msg;
    d.info = info;
    d.bodyBytes = 0;
    msg.endTs = this.ctx.lastByteTs;
    this.ctx.emit(msg);
    if (badLength) {
      this.ctx.anomaly('http1_bad_content_length');
      info.incomplete = true;
      this.finish(d, true);
      d.state = S_RESYNC;
      d.lineStart = true;
      return headBytes;
    }
    if (chunked) {
      d.state = S_CHUNK_SIZE;
    } else if (contentLength > 0) {
      d.state = S_BODY_LENGTH;
      d.remaining = contentLength;
    } else {
      this.finish(d, true);
      if (info.method === 'CONNECT') {
        // The tunnel starts once the server accepts; the response side decides (2xx -> stop).
      }
    }
    return headBytes;
  }

  private requestFromStartLine(buf: Uint8Array, p: number, lineLF: number, startTs: number): L7Message {
    let sp1 = p;
    while (buf[sp1] !== SP) sp1++;
    let lineEnd = lineLF;
    if (buf[lineEnd - 1] === CR) lineEnd--;
    const verStart = lineEnd - 8;
    const method = latin1(buf, p, sp1);
    let ts = sp1 + 1;
    while (ts < verStart && buf[ts] === SP) ts++;
    let te = verStart - 1;
    while (te > ts && buf[te - 1] === SP) te--;
    const attrs: Record<string, string | number | boolean> = {};
    const known = KNOWN_METHODS.has(method);
    attrs['http.request.method'] = known ? method : '_OTHER';
    if (!known) attrs['http.request.method_original'] = method;
    // request-target: origin-form "/path?query", absolute-form "http://host/path", authority-form, "*"
    let ps = ts;
    if (buf[ps] !== 0x2f && buf[ps] !== 0x2a) {
      const scheme = findSchemeEnd(buf, ps, te);
      if (scheme > 0) {
        attrs['url.scheme'] = lowerName(buf, ps, scheme).replace('://', '');
        let hs = scheme;
        while (hs < te && buf[hs] !== 0x2f && buf[hs] !== 0x3f) hs++;
        attrs['server.address'] = hostOnly(latin1(buf, scheme, hs));
        ps = hs;
      }
    }
    let q = ps;
    while (q < te && buf[q] !== 0x3f && buf[q] !== 0x23) q++;
    const path = method === 'CONNECT' ? '' : latin1(buf, ps, Math.min(q, ps + 8192));
    if (path !== '') attrs['url.path'] = path;
    else if (method !== 'CONNECT' && ps === te) attrs['url.path'] = '/';
    if (q < te && buf[q] === 0x3f) {
      let qe = q + 1;
      while (qe < te && buf[qe] !== 0x23) qe++;
      attrs['url.query'] = latin1(buf, q + 1, Math.min(qe, q + 1 + 8192));
    }
    if (method === 'CONNECT') attrs['server.address'] = hostOnly(latin1(buf, ts, te));
    if (attrs['url.scheme'] === undefined) attrs['url.scheme'] = 'http';
    attrs['network.protocol.name'] = 'http';
    attrs['network.protocol.version'] = buf[lineEnd - 1] === 0x30 ? '1.0' : '1.1';
    const info: Http1Info = { method, status: 0, incomplete: false };
    return {
      type: MSG_REQUEST,
      sessionId: SESSION_FIFO,
      startTs,
      endTs: startTs,
      size: 0,
      attrs,
      expectsResponse: true,
      trace: null,
      afterGap: false,
      info,
    };
  }

  // ---- responses -------------------------------------------------------------------------------

  private readResponseHead(d: Direction, buf: Uint8Array, p: number, end: number, atCallStart: boolean): number {
    const kind = startLineAt(buf, p, end);
    if (kind === PROBE_NEED_MORE) return end - p > this.maxHeader ? -2 : 0;
    if (kind !== PROBE_RESPONSE) return -1;
    const lineLF = findLF(buf, p, end);
    const startTs = atCallStart ? this.ctx.firstByteTs : this.ctx.lastByteTs;
    const status = (buf[p + 9] - 0x30) * 100 + (buf[p + 10] - 0x30) * 10 + (buf[p + 11] - 0x30);
    const minor = buf[p + 7] - 0x30;
    if (lineLF < 0) {
      if (end - p > this.maxHeader) return -2;
      if (d.partial === null) d.partial = this.responseMessage(status, minor, startTs);
      return 0;
    }
    const headEnd = findHeaderEnd(buf, lineLF, end);
    if (headEnd < 0) {
      if (end - p > this.maxHeader) return -2;
      if (d.partial === null) d.partial = this.responseMessage(status, minor, startTs);
      return 0;
    }
    const msg = d.partial ?? this.responseMessage(status, minor, startTs);
    d.partial = null;
    if (msg.startTs > startTs) msg.startTs = startTs;
    let contentLength = -1;
    let chunked = false;
    let badLength = false;
    let upgrade = '';
    for (let ls = lineLF + 1; ls < headEnd; ) {
      const le = findLF(buf, ls, headEnd);
      if (le < 0) break;
      const colon = indexOfColon(buf, ls, le);
      if (colon > ls) {
        const nameLen = colon - ls;
        if (nameLen === 14 && eqLower(buf, ls, colon, 'content-length')) {
          const v = parseDecimal(buf, colon + 1, le);
          if (v < 0 || (contentLength >= 0 && v !== contentLength)) badLength = true;
          else contentLength = v;
        } else if (nameLen === 17 && eqLower(buf, ls, colon, 'transfer-encoding')) {
          chunked = lastCodingIsChunked(buf, colon + 1, le);
        } else if (nameLen === 7 && eqLower(buf, ls, colon, 'upgrade')) {
          upgrade = trimmedLatin1(buf, colon + 1, le).toLowerCase();
        }
      }
      ls = le + 1;
    }
    const headBytes = headEnd - p;
    // 1xx other than 101 are interim: not the final response (100-continue, 102, 103).
    if (status >= 100 && status < 200 && status !== 101) return headBytes;
    const method = this.methods.length > 0 ? this.methods.shift()! : '';
    msg.size = headBytes;
    if (d.lostBefore) {
      msg.afterGap = true;
      d.lostBefore = false;
    }
    d.msg = msg;
    d.info = msg.info as Http1Info;
    d.bodyBytes = 0;
    if (status === 101) {
      this.finish(d, false);
      this.req.state = S_DONE;
      d.state = S_DONE;
      if (!(upgrade.startsWith('h2c') && this.ctx.switchProtocol('http2'))) this.ctx.stop('upgrade');
      return headBytes;
    }
    if (method === 'CONNECT' && status >= 200 && status < 300) {
      this.finish(d, false);
      this.req.state = S_DONE;
      d.state = S_DONE;
      this.ctx.stop('tunnel');
      return headBytes;
    }
    if (method === 'HEAD' || status === 204 || status === 304) {
      this.finish(d, false);
      return headBytes;
    }
    if (chunked) {
      d.state = S_CHUNK_SIZE;
    } else if (badLength) {
      this.ctx.anomaly('http1_bad_content_length');
      d.state = S_UNTIL_CLOSE;
    } else if (contentLength >= 0) {
      if (contentLength === 0) this.finish(d, false);
      else {
        d.state = S_BODY_LENGTH;
        d.remaining = contentLength;
      }
    } else {
      d.state = S_UNTIL_CLOSE;
    }
    return headBytes;
  }

  private responseMessage(status: number, minor: number, startTs: number): L7Message {
    const info: Http1Info = { method: '', status, incomplete: false };
    return {
      type: MSG_RESPONSE,
      sessionId: SESSION_FIFO,
      startTs,
      endTs: startTs,
      size: 0,
      attrs: {
        'http.response.status_code': status,
        'network.protocol.name': 'http',
        'network.protocol.version': minor === 0 ? '1.0' : '1.1',
      },
      expectsResponse: false,
      trace: null,
      afterGap: false,
      info,
    };
  }

  // ---- completion ------------------------------------------------------------------------------

  /** The current message of a direction is complete (or given up): finalise and emit a response. */
  private finish(d: Direction, toServer: boolean): void {
    const msg = d.msg;
    d.state = S_START;
    d.msg = null;
    d.info = null;
    if (msg === null) return;
    msg.endTs = this.ctx.lastByteTs;
    msg.size += d.bodyBytes;
    msg.attrs[toServer ? 'http.request.body.size' : 'http.response.body.size'] = d.bodyBytes;
    d.bodyBytes = 0;
    if (!toServer) this.ctx.emit(msg);
  }

  onGap(toServer: boolean, length: number): void {
    const d = toServer ? this.req : this.resp;
    this.ctx.anomaly('http1_gap');
    if ((d.state === S_BODY_LENGTH || d.state === S_CHUNK_DATA) && length < d.remaining) {
      // The hole is inside a body of known length: skip it and carry on, no resync needed.
      d.remaining -= length;
      d.bodyBytes += length;
      if (d.info !== null) d.info.incomplete = true;
      return;
    }
    if (d.state === S_BODY_LENGTH && length === d.remaining) {
      d.bodyBytes += length;
      if (d.info !== null) d.info.incomplete = true;
      this.finish(d, toServer);
      return;
    }
    if (d.state === S_UNTIL_CLOSE) {
      d.bodyBytes += length;
      if (d.info !== null) d.info.incomplete = true;
      return;
    }
    if (d.state === S_DONE) return;
    // Message boundaries are lost: report what was read of the current message, then resynchronise.
    if (d.msg !== null) {
      if (d.info !== null) d.info.incomplete = true;
      this.finish(d, toServer);
    } else if (d.partial !== null) {
      this.emitPartial(d, toServer);
    }
    d.state = S_RESYNC;
    d.lostBefore = true;
    d.lineStart = true;
  }

  private emitPartial(d: Direction, toServer: boolean): void {
    const msg = d.partial!;
    d.partial = null;
    (msg.info as Http1Info).incomplete = true;
    msg.endTs = this.ctx.lastByteTs;
    this.ctx.anomaly('http1_incomplete_message');
    if (toServer) {
      if (this.methods.length < MAX_PENDING_METHODS) this.methods.push((msg.info as Http1Info).method);
      this.ctx.emit(msg);
    } else {
      if (this.methods.length > 0) this.methods.shift();
      this.ctx.emit(msg);
    }
  }

  onEnd(toServer: boolean): void {
    const d = toServer ? this.req : this.resp;
    if (d.state === S_UNTIL_CLOSE) {
      this.finish(d, toServer);
      return;
    }
    if (d.msg !== null) {
      // Cut short by the end of the connection or of the capture: report what is known.
      if (d.info !== null) d.info.incomplete = true;
      this.ctx.anomaly('http1_incomplete_message');
      this.finish(d, toServer);
    } else if (d.partial !== null) {
      this.emitPartial(d, toServer);
    }
  }
}

function indexOfColon(buf: Uint8Array, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    const c = buf[i];
    if (c === COLON) return i;
    if (c === SP || c === HT) {
      // Whitespace before the colon is not allowed (RFC 9112 5.1); obs-fold continuation lines start
      // with whitespace: neither carries a field we read.
      return -1;
    }
  }
  return -1;
}

/** Decimal value of a header field (trimmed); -1 when not a valid non-negative integer. */
function parseDecimal(buf: Uint8Array, start: number, end: number): number {
  while (start < end && (buf[start] === SP || buf[start] === HT)) start++;
  while (end > start && (buf[end - 1] === SP || buf[end - 1] === HT || buf[end - 1] === CR)) end--;
  if (start === end || end - start > 15) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i] - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** True when the last transfer coding listed is "chunked" (RFC 9112 6.3). */
function lastCodingIsChunked(buf: Uint8Array, start: number, end: number): boolean {
  while (end > start && (buf[end - 1] === SP || buf[end - 1] === HT || buf[end - 1] === CR)) end--;
  return end - start >= 7 && eqLower(buf, end - 7, end, 'chunked') && (end - 7 === start || buf[end - 8] === SP || buf[end - 8] === 0x2c || buf[end - 8] === HT);
}

/** "scheme://" end index within [start, end), or -1. */
function findSchemeEnd(buf: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end && i - start < 16; i++) {
    const c = buf[i];
    if (c === COLON) return i + 2 < end && buf[i + 1] === 0x2f && buf[i + 2] === 0x2f ? i + 3 : -1;
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e)) return -1;
  }
  return -1;
}

/** Host without port, brackets kept off IPv6 literals: "a.b:80" -> "a.b", "[::1]:80" -> "::1". */
function hostOnly(host: string): string {
  const at = host.lastIndexOf('@');
  if (at >= 0) host = host.slice(at + 1); // never export userinfo
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    return close > 0 ? host.slice(1, close) : host;
  }
  const colon = host.indexOf(':');
  return colon >= 0 ? host.slice(0, colon) : host;
}

export const http1Parser: ProtocolParser = {
  name: 'http1',
  transports: ['tcp'],
  ports: [80, 8080, 8000, 8008, 8081, 8888, 3128],
  probeLimit: 8192,
  probe(buf: Uint8Array, offset: number, length: number, _hint: ProbeHint): number {
    // Skip leading CRLFs (some clients send them between requests).
    let p = offset;
    const end = offset + length;
    while (p < end && p - offset < 4 && (buf[p] === CR || buf[p] === LF)) p++;
    return startLineAt(buf, p, end);
  },
  createSession(ctx: ParserContext): ParserSession {
    return new Http1Session(ctx);
  },
  describeSpan(req: L7Message | null, resp: L7Message | null, kind: number, out: SpanDescription): void {
    const qi = req !== null ? (req.info as Http1Info) : null;
    const ri = resp !== null ? (resp.info as Http1Info) : null;
    out.name = qi !== null ? (KNOWN_METHODS.has(qi.method) ? qi.method : 'HTTP') : 'HTTP';
    if (ri !== null) {
      const s = ri.status;
      const error = (kind === SPAN_KIND_SERVER && s >= 500) || (kind === SPAN_KIND_CLIENT && s >= 400);
      if (error) {
        out.error = true;
        out.errorType = String(s);
      }
    }
  },
};

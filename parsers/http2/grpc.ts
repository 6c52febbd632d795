/**
 * gRPC over HTTP/2 (grpc/doc/PROTOCOL-HTTP2.md): status names, the `grpc-timeout` header, the
 * percent-encoded `grpc-message`, and the 5-byte length-prefixed message framing of DATA.
 */
import type { SpanDescription } from '../../core/l7/types.js';
import { SPAN_KIND_SERVER } from '../../core/trace/span.js';

/** Status code names (grpc/doc/statuscodes.md). */
const STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** The name of a status code; codes outside 0..16 keep their number as text. */
export function grpcStatusName(code: number): string {
  return code >= 0 && code < STATUS_NAMES.length ? STATUS_NAMES[code] : String(code);
}

/** `grpc-status` value: a decimal code 0..999, or -1 when malformed. */
export function parseGrpcStatus(v: string): number {
  if (v.length === 0 || v.length > 3) return -1;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/**
 * Is the status an error for a span of this kind (SEMCONV.md): for a SERVER span only UNKNOWN,
 * DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE and DATA_LOSS; for any other kind
 * (CLIENT, network observation) every status but OK.
 */
export function grpcStatusIsError(code: number, kind: number): boolean {
  if (kind !== SPAN_KIND_SERVER) return code !== 0;
  return code === 2 || code === 4 || code === 12 || code === 13 || code === 14 || code === 15;
}

/**
 * Marks `out` as an error when a gRPC status is one for a span of this kind: `error.type` the status
 * name, the `grpc-message` as status message. HTTP/2 gRPC and gRPC-Web describe their spans with it.
 */
export function describeGrpcStatus(code: number, message: string, kind: number, out: SpanDescription): void {
  if (!grpcStatusIsError(code, kind)) return;
  out.error = true;
  out.errorType = grpcStatusName(code);
  out.message = message;
}

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** `grpc-timeout` (1-8 ASCII digits then H, M, S, m, u or n) in milliseconds, or -1 when malformed. */
export function parseGrpcTimeoutMs(v: string): number {
  const n = v.length - 1;
  if (n < 1 || n > 8) return -1;
  const unit = TIMEOUT_UNIT_MS[v[n]];
  if (unit === undefined) return -1;
  let x = 0;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x * unit;
}

/**
 * `grpc-message` is percent-encoded UTF-8 (PROTOCOL-HTTP2.md "Responses"). Decodes what is valid
 * and keeps the rest as sent (the spec asks receivers not to fail on bad encodings).
 */
export function decodeGrpcMessage(v: string): string {
  if (v.indexOf('%') < 0) return v;
  try {
    return decodeURIComponent(v);
  } catch {
    return v.replace(/(%[0-9A-Fa-f]{2})+/g, (m) => {
      try {
        return decodeURIComponent(m);
      } catch {
        return m;
      }
    });
  }
}

/** True for a `content-type` of gRPC over HTTP/2 (`application/grpc`, `application/grpc+proto`...), not gRPC-Web. */
export function isGrpcContentType(ct: string): boolean {
  return ct.startsWith('application/grpc') && (ct.length === 16 || ct[16] === '+' || ct[16] === ';');
}

/**
 * Counts gRPC length-prefixed messages (1 byte compressed flag, 4 bytes big-endian length, the
 * message) in one direction of a call, fed with DATA payload pieces. Counts a message when its
 * prefix is complete. After lost bytes the framing is unknown: counting stops (`lost`).
 */
export class GrpcMessageCounter {
  count = 0;
  lost = false;
  /** Prefix bytes of the current message seen (0..4; 0 = between messages). */
  private prefix = 0;
  private len = 0;
  /** Bytes left in the current message body. */
  private left = 0;

  feed(b: Uint8Array, start: number, end: number): void {
    if (this.lost) return;
    let p = start;
    while (p < end) {
      if (this.left > 0) {
        const take = end - p < this.left ? end - p : this.left;
        p += take;
        this.left -= take;
        continue;
      }
      const c = b[p++];
      if (this.prefix === 0) {
        if (c > 1) {
          // The compressed flag is 0 or 1: this is not gRPC framing (or it was lost).
          this.lost = true;
          return;
        }
        this.prefix = 1;
        this.len = 0;
        continue;
      }
      this.len = this.len * 256 + c;
      if (++this.prefix === 5) {
        this.count++;
        this.prefix = 0;
        this.left = this.len;
      }
    }
  }

  loseSync(): void {
    this.lost = true;
  }
}

/** `content-type` of gRPC-Web (`application/grpc-web`, `+proto`, `-text`...): 0 no, 1 binary, 2 base64 text. */
export function grpcWebKind(ct: string): number {
  if (!ct.startsWith('application/grpc-web')) return 0;
  const rest = ct.slice(20);
  if (rest === '' || rest[0] === '+' || rest[0] === ';') return 1;
  return rest.startsWith('-text') && (rest.length === 5 || rest[5] === '+' || rest[5] === ';') ? 2 : 0;
}

/** Trailer-frame bytes kept to read grpc-status / grpc-message. */
const MAX_WEB_TRAILER = 4096;

const B64 = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

/**
 * A gRPC-Web body (grpc/doc/PROTOCOL-WEB.md), fed in pieces: length-prefixed frames whose flag's
 * top bit marks the trailer frame (`grpc-status: 0\r\ngrpc-message: ...\r\n`). Counts data
 * messages; reads the status from the trailer frame. For `-text` bodies the bytes are base64
 * (possibly several padded chunks) and are decoded on the fly.
 */
export class GrpcWebBody {
  count = 0;
  /** grpc-status from the trailer frame, -1 when none. */
  status = -1;
  message = '';
  lost = false;
  private prefix = 0;
  private flag = 0;
  private len = 0;
  private left = 0;
  private trailer: Uint8Array | null = null;
  private trailerLen = 0;
  /** base64 state: bits accumulated and their count. */
  private bits = 0;
  private nbits = 0;

  constructor(private readonly text: boolean) {}

  feed(b: Uint8Array, start: number, end: number): void {
    if (this.lost) return;
    if (!this.text) {
      for (let p = start; p < end; ) p = this.bytes(b, p, end);
      return;
    }
    for (let p = start; p < end; p++) {
      const c = b[p];
      const v = B64[c];
      if (v < 0) {
        if (c === 0x3d) {
          // '=' ends a base64 chunk: drop the partial bits.
          this.bits = 0;
          this.nbits = 0;
        } else if (c !== 0x0d && c !== 0x0a && c !== 0x20) {
          this.lost = true;
          return;
        }
        continue;
      }
      this.bits = ((this.bits << 6) | v) & 0xffffff;
      this.nbits += 6;
      if (this.nbits >= 8) {
        this.nbits -= 8;
        this.byte((this.bits >> this.nbits) & 0xff);
      }
    }
  }

  /** Binary bytes `b[p..end)`: returns the position after what was used. */
  private bytes(b: Uint8Array, p: number, end: number): number {
    if (this.left > 0) {
      const take = end - p < this.left ? end - p : this.left;
      if (this.trailer !== null) this.keepTrailer(b, p, p + take);
      this.left -= take;
      if (this.left === 0) this.frameEnd();
      return p + take;
    }
    this.byte(b[p]);
    return p + 1;
  }

  private byte(c: number): void {
    if (this.left > 0) {
      if (this.trailer !== null && this.trailerLen < MAX_WEB_TRAILER) this.trailer[this.trailerLen++] = c;
      if (--this.left === 0) this.frameEnd();
      return;
    }
    if (this.prefix === 0) {
      if ((c & 0x7e) !== 0) {
        this.lost = true;
        return;
      }
      this.flag = c;
      this.len = 0;
      this.prefix = 1;
      return;
    }
    this.len = this.len * 256 + c;
    if (++this.prefix < 5) return;
    this.prefix = 0;
    this.left = this.len;
    if ((this.flag & 0x80) !== 0) {
      this.trailer = new Uint8Array(this.len < MAX_WEB_TRAILER ? this.len : MAX_WEB_TRAILER);
      this.trailerLen = 0;
    } else {
      this.count++;
    }
    if (this.left === 0) this.frameEnd();
  }

  private keepTrailer(b: Uint8Array, s: number, e: number): void {
    const t = this.trailer!;
    const n = Math.min(e - s, t.length - this.trailerLen);
    if (n > 0) {
      t.set(b.subarray(s, s + n), this.trailerLen);
      this.trailerLen += n;
    }
  }

  private frameEnd(): void {
    const t = this.trailer;
    if (t === null) return;
    this.trailer = null;
    const text = Buffer.from(t.buffer, t.byteOffset, this.trailerLen).toString('latin1');
    for (const line of text.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'grpc-status' && this.status < 0) this.status = parseGrpcStatus(value);
      else if (name === 'grpc-message' && this.message === '') this.message = decodeGrpcMessage(value);
    }
  }
}

// The minirpc parser written directly against spanwire's ProtocolParser interface (plain JS, what a
// built-in parser would be): the same logic as examples/wasm-minirpc/assembly/index.ts, to compare
// the plugin with on the same capture.
const MAGIC = 0x4d52;
const HEADER = 16;
const TRACEPARENT = 55;
const WINDOW_HALF = 32768;
const PROBE_NO = 0, PROBE_REQUEST = 1, PROBE_RESPONSE = 2, PROBE_NEED_MORE = 4;

function u16(b, o) {
  return (b[o] << 8) | b[o + 1];
}
function u32(b, o) {
  return ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
}

class MiniRpcJsSession {
  constructor(ctx) {
    this.ctx = ctx;
    this.skip = [0, 0];
  }
  parse(toServer, b, off, len) {
    const d = toServer ? 0 : 1;
    const end = off + len;
    let p = off;
    if (this.skip[d] > 0) {
      const n = Math.min(this.skip[d], len);
      p += n;
      this.skip[d] -= n;
    }
    while (end - p >= HEADER) {
      if (u16(b, p) !== MAGIC || b[p + 2] !== 1) return -1;
      const type = b[p + 3];
      const id = u32(b, p + 4);
      const word = u16(b, p + 8);
      const head = HEADER + (type === 2 ? 0 : word) + (b[p + 10] & 1 ? TRACEPARENT : 0);
      const size = head + u32(b, p + 12);
      if (end - p < head) break;
      if (size <= WINDOW_HALF && end - p < size) break;
      const ts = p === off ? this.ctx.firstByteTs : this.ctx.lastByteTs;
      if (type === 2) {
        const attrs = { 'rpc.response.status_code': String(word) };
        if (word !== 0) attrs['minirpc.error_message'] = Buffer.from(b.buffer, b.byteOffset + p + HEADER, Math.min(end - p - HEADER, 256)).toString();
        this.emit(2, id, ts, size, attrs, word, word !== 0, '', null, false);
      } else {
        const method = Buffer.from(b.buffer, b.byteOffset + p + HEADER, word).toString();
        const attrs = { 'rpc.system.name': 'minirpc', 'rpc.method': method };
        this.emit(1, id, ts, size, attrs, null, false, method, null, type === 3);
      }
      if (size > end - p) {
        this.skip[d] = size - (end - p);
        return len;
      }
      p += size;
    }
    return p - off;
  }
  emit(type, id, ts, size, attrs, status, error, operation, trace, oneWay) {
    this.ctx.emit({
      type, sessionId: id, startTs: ts, endTs: this.ctx.lastByteTs, size, attrs, expectsResponse: type === 1 && !oneWay,
      trace, afterGap: false, info: { operation, resource: '', status, error, errorType: '', spanKind: 0 },
    });
  }
  onGap(toServer) {
    this.skip[toServer ? 0 : 1] = 0;
  }
  onEnd() {}
}

export const miniRpcJsParser = {
  name: 'minirpc',
  transports: ['tcp'],
  ports: [7070],
  probeLimit: 1024,
  probe(b, off, len) {
    if (len >= 2 && u16(b, off) !== MAGIC) return PROBE_NO;
    if (len < 4) return PROBE_NEED_MORE;
    if (b[off + 2] !== 1) return PROBE_NO;
    const t = b[off + 3];
    return t === 2 ? PROBE_RESPONSE : t === 1 || t === 3 ? PROBE_REQUEST : PROBE_NO;
  },
  createSession(ctx) {
    return new MiniRpcJsSession(ctx);
  },
  describeSpan(req, resp, _kind, out) {
    const q = req?.info, r = resp?.info;
    out.name = q && q.operation !== '' ? q.operation : 'minirpc';
    out.error = !!(r && r.error);
    out.errorType = out.error ? String(r.status) : '';
    out.message = '';
    out.kind = 0;
  },
};

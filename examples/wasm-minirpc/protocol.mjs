// minirpc frame encoding shared by the example server and client (see README.md for the layout).
export const MAGIC = 0x4d52; // "MR"
export const HEADER = 16;
export const TYPE_REQUEST = 1;
export const TYPE_RESPONSE = 2;
export const TYPE_ONE_WAY = 3;

/** A request frame: method, optional W3C traceparent (55 chars), body. */
export function encodeRequest(id, method, body, { oneWay = false, traceparent = '' } = {}) {
  const m = Buffer.from(method);
  const tp = Buffer.from(traceparent);
  if (tp.length !== 0 && tp.length !== 55) throw new Error('traceparent must be 55 characters');
  const h = Buffer.alloc(HEADER);
  h.writeUInt16BE(MAGIC, 0);
  h[2] = 1;
  h[3] = oneWay ? TYPE_ONE_WAY : TYPE_REQUEST;
  h.writeUInt32BE(id, 4);
  h.writeUInt16BE(m.length, 8);
  h[10] = tp.length > 0 ? 1 : 0;
  h.writeUInt32BE(body.length, 12);
  return Buffer.concat([h, m, tp, body]);
}

/** A response frame: status (0 = OK) and body (the error text when status != 0). */
export function encodeResponse(id, status, body) {
  const h = Buffer.alloc(HEADER);
  h.writeUInt16BE(MAGIC, 0);
  h[2] = 1;
  h[3] = TYPE_RESPONSE;
  h.writeUInt32BE(id, 4);
  h.writeUInt16BE(status, 8);
  h.writeUInt32BE(body.length, 12);
  return Buffer.concat([h, body]);
}

/** Splits a byte stream into frames; calls onFrame(frame) for each complete one. */
export function frameReader(onFrame) {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= HEADER) {
      if (buf.readUInt16BE(0) !== MAGIC) throw new Error('bad magic');
      const type = buf[3];
      const word = buf.readUInt16BE(8);
      const head = HEADER + (type === TYPE_RESPONSE ? 0 : word) + (buf[10] & 1 ? 55 : 0);
      const size = head + buf.readUInt32BE(12);
      if (buf.length < size) return;
      const f = buf.subarray(0, size);
      buf = buf.subarray(size);
      onFrame({
        type,
        id: f.readUInt32BE(4),
        method: type === TYPE_RESPONSE ? '' : f.subarray(HEADER, HEADER + word).toString(),
        status: type === TYPE_RESPONSE ? word : 0,
        traceparent: type !== TYPE_RESPONSE && f[10] & 1 ? f.subarray(HEADER + word, HEADER + word + 55).toString() : '',
        body: f.subarray(head),
        size,
      });
    }
  };
}

/**
 * gRPC-Web over HTTP/1.1 (grpc/doc/PROTOCOL-WEB.md): messages written here from the spec: a body
 * of length-prefixed frames (flag 0x00 data, 0x80 trailers as `key:value\r\n` lines), base64 for
 * `application/grpc-web-text`. Expected values follow from the bytes written.
 */
import { describe, expect, it } from 'vitest';
import type { L7Message, SpanDescription } from '../../core/l7/types.js';
import { SPAN_KIND_CLIENT, SPAN_KIND_SERVER } from '../../core/trace/span.js';
import { http1Parser } from '../../parsers/http1/index.js';
import { GrpcWebBody, grpcWebKind } from '../../parsers/http2/grpc.js';
import { FakeContext } from '../helpers/fake-parser-context.js';

function webFrame(flag: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h[0] = flag;
  h.writeUInt32BE(payload.length, 1);
  return Buffer.concat([h, payload]);
}

const dataFrame = (n: number) => webFrame(0x00, Buffer.alloc(n, 0x41));
const trailerFrame = (lines: string) => webFrame(0x80, Buffer.from(lines, 'latin1'));

function exchange(contentType: string, reqBody: Buffer, respBody: Buffer, respHeaders = ''): FakeContext {
  const c = new FakeContext(http1Parser);
  c.feed(true, Buffer.concat([Buffer.from(`POST /shop.Cart/GetCart HTTP/1.1\r\nHost: web.test\r\nContent-Type: ${contentType}\r\nX-Grpc-Web: 1\r\nContent-Length: ${reqBody.length}\r\n\r\n`, 'latin1'), reqBody]));
  c.feed(false, Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\n${respHeaders}Content-Length: ${respBody.length}\r\n\r\n`, 'latin1'), respBody]));
  return c;
}

function describeOf(req: L7Message, resp: L7Message, kind: number): SpanDescription {
  const out: SpanDescription = { name: '', error: false, errorType: '', message: '', kind: 0 };
  http1Parser.describeSpan(req, resp, kind, out);
  return out;
}

describe('gRPC-Web over HTTP/1.1', () => {
  it('binary: rpc.method, message counts, status and message from the trailer frame', () => {
    const c = exchange(
      'application/grpc-web+proto',
      dataFrame(12),
      Buffer.concat([dataFrame(3), dataFrame(0), trailerFrame('grpc-status:5\r\ngrpc-message:no%20such%20item\r\n')]),
    );
    const [q, r] = c.messages;
    expect(q.attrs).toMatchObject({ 'rpc.system.name': 'grpc', 'rpc.method': 'shop.Cart/GetCart', 'spanwire.grpc.web': true, 'spanwire.grpc.request.messages': 1 });
    expect(r.attrs).toMatchObject({ 'rpc.response.status_code': 'NOT_FOUND', 'spanwire.grpc.response.messages': 2, 'http.response.status_code': 200 });
    expect(describeOf(q, r, SPAN_KIND_CLIENT)).toEqual({ name: 'shop.Cart/GetCart', error: true, errorType: 'NOT_FOUND', message: 'no such item', kind: 0 });
    expect(describeOf(q, r, SPAN_KIND_SERVER).error).toBe(false);
  });

  it('text (base64, one padded chunk per frame) decodes the same way', () => {
    const b64 = (b: Buffer) => Buffer.from(b.toString('base64'), 'latin1');
    const c = exchange('application/grpc-web-text', b64(dataFrame(7)), Buffer.concat([b64(dataFrame(1)), b64(dataFrame(2)), b64(trailerFrame('grpc-status: 14\r\n'))]));
    const [q, r] = c.messages;
    expect(q.attrs['spanwire.grpc.request.messages']).toBe(1);
    expect(r.attrs['spanwire.grpc.response.messages']).toBe(2);
    expect(r.attrs['rpc.response.status_code']).toBe('UNAVAILABLE');
    expect(describeOf(q, r, SPAN_KIND_SERVER)).toMatchObject({ error: true, errorType: 'UNAVAILABLE' });
  });

  it('a trailers-only response carries the status in its HTTP headers', () => {
    const c = exchange('application/grpc-web', dataFrame(2), Buffer.alloc(0), 'grpc-status: 0\r\n');
    const [q, r] = c.messages;
    expect(r.attrs['rpc.response.status_code']).toBe('OK');
    expect(describeOf(q, r, SPAN_KIND_CLIENT)).toMatchObject({ name: 'shop.Cart/GetCart', error: false });
  });

  it('plain HTTP/1 is untouched', () => {
    const c = exchange('application/json', Buffer.from('{}'), Buffer.from('{}'));
    const [q, r] = c.messages;
    expect(q.attrs['rpc.system.name']).toBeUndefined();
    expect(r.attrs['rpc.response.status_code']).toBeUndefined();
    expect(describeOf(q, r, SPAN_KIND_CLIENT).name).toBe('POST');
  });

  it('content types (PROTOCOL-WEB.md)', () => {
    expect(grpcWebKind('application/grpc-web')).toBe(1);
    expect(grpcWebKind('application/grpc-web+proto')).toBe(1);
    expect(grpcWebKind('application/grpc-web-text')).toBe(2);
    expect(grpcWebKind('application/grpc-web-text+proto')).toBe(2);
    expect(grpcWebKind('application/grpc')).toBe(0);
    expect(grpcWebKind('application/grpc-webx')).toBe(0);
  });

  it('the body reader gives the same result for any split of the body', () => {
    const body = Buffer.concat([dataFrame(300), dataFrame(5), trailerFrame('grpc-status:3\r\n')]);
    for (let cut = 1; cut < body.length; cut += 7) {
      const g = new GrpcWebBody(false);
      g.feed(body, 0, cut);
      g.feed(body, cut, body.length);
      expect([g.count, g.status, g.lost], `cut ${cut}`).toEqual([2, 3, false]);
    }
    const text = Buffer.from(body.toString('base64'), 'latin1');
    for (let cut = 1; cut < text.length; cut += 5) {
      const g = new GrpcWebBody(true);
      g.feed(text, 0, cut);
      g.feed(text, cut, text.length);
      expect([g.count, g.status, g.lost], `text cut ${cut}`).toEqual([2, 3, false]);
    }
  });
});

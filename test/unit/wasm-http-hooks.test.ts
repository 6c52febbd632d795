/**
 * Example (b): the HTTP hook plugin (examples/wasm-http-order) on real HTTP/1.1 bytes: a Node http
 * client and server talk through a recording TCP relay; the recorded request and response (head and
 * body) go through the host's hook point. Expected values are the ones the test's client and server
 * sent. Also: how `applyHttpHookResults` changes a span description, and a trapping hook skipped.
 */
import { request, createServer as createHttpServer } from 'node:http';
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestPlugin } from '../fixtures/wasm/build.js';
import { WasmHttpHooks, WasmPlugin, applyHttpHookResults, newHttpHookResult } from '../../core/l7/wasm/index.js';
import type { SpanDescription } from '../../core/l7/types.js';

interface Recorded {
  toServer: Buffer;
  toClient: Buffer;
}

/** One POST through a relay that records the raw bytes each way. */
async function exchange(tenant: string, body: string, status: number, answer: string): Promise<Recorded> {
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const rec: Recorded = { toServer: Buffer.alloc(0), toClient: Buffer.alloc(0) };
  const relay = createServer((c) => {
    const s = connect((server.address() as AddressInfo).port, '127.0.0.1');
    c.on('data', (d) => {
      rec.toServer = Buffer.concat([rec.toServer, d]);
      s.write(d);
    });
    s.on('data', (d) => {
      rec.toClient = Buffer.concat([rec.toClient, d]);
      c.write(d);
    });
    c.on('end', () => s.end());
    s.on('end', () => c.end());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  await new Promise<void>((res, rej) => {
    const req = request(
      {
        port: (relay.address() as AddressInfo).port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/api/orders',
        agent: false,
        headers: { 'content-type': 'application/json', 'x-tenant-id': tenant, 'content-length': Buffer.byteLength(body) },
      },
      (resp) => {
        resp.resume();
        resp.on('end', () => res());
      },
    );
    req.on('error', rej);
    req.end(body);
  });
  relay.close();
  server.close();
  return rec;
}

function split(b: Buffer): { head: Buffer; body: Buffer } {
  const i = b.indexOf('\r\n\r\n') + 4;
  return { head: b.subarray(0, i), body: b.subarray(i) };
}

let hooks: WasmHttpHooks;
let plugin: WasmPlugin;

beforeAll(async () => {
  plugin = await WasmPlugin.load(await buildTestPlugin('examples/wasm-http-order/assembly/index.ts'));
  hooks = new WasmHttpHooks([plugin]);
}, 120_000);

describe('HTTP hooks: examples/wasm-http-order', () => {
  it('registers as hooks only, named by the plugin', () => {
    expect(plugin.descriptor).toMatchObject({ name: 'order_hooks', capabilities: 2 | 4 });
    expect(hooks.size).toBe(1);
  });

  it('lifts x-tenant-id and order_id from real HTTP/1.1 traffic', async () => {
    const order = `ORD-${Date.now()}`;
    const body = JSON.stringify({ customer: { id: 7 }, order_id: order, items: [{ sku: 'A-1', qty: 2 }] });
    const rec = await exchange('acme-eu', body, 201, JSON.stringify({ order_id: order, state: 'created' }));
    const q = split(rec.toServer);
    expect(q.body.toString()).toBe(body);
    const req = newHttpHookResult();
    expect(hooks.onHttpRequest(q.head, 0, q.head.length, q.body, 0, q.body.length, req)).toBe(true);
    expect(req).toEqual({ attrs: { 'app.tenant.id': 'acme-eu', 'app.order.id': order }, spanName: '', status: 0, statusMessage: '' });
    const r = split(rec.toClient);
    const resp = newHttpHookResult();
    expect(hooks.onHttpResponse(r.head, 0, r.head.length, r.body, 0, r.body.length, resp)).toBe(true);
    expect(resp.attrs).toEqual({ 'app.order.id': order });
    expect(resp.status).toBe(0);
  });

  it('an error body sets the span status, and applyHttpHookResults applies it', async () => {
    const rec = await exchange('t-2', '{"order_id": 991}', 409, '{"error":"out of stock"}');
    const q = split(rec.toServer);
    const r = split(rec.toClient);
    const req = newHttpHookResult();
    const resp = newHttpHookResult();
    hooks.onHttpRequest(q.head, 0, q.head.length, q.body, 0, q.body.length, req);
    hooks.onHttpResponse(r.head, 0, r.head.length, r.body, 0, r.body.length, resp);
    expect(req.attrs).toEqual({ 'app.tenant.id': 't-2', 'app.order.id': '991' });
    expect(resp).toMatchObject({ status: 2, statusMessage: 'out of stock' });
    // A CLIENT span of a 409 is an error already; a SERVER span of a 409 is not, until the hook says so.
    const d: SpanDescription = { name: 'POST', error: false, errorType: '', message: '', kind: 0 };
    applyHttpHookResults(req, resp, d);
    expect(d).toEqual({ name: 'POST', error: true, errorType: 'plugin', message: 'out of stock', kind: 0 });
  });

  it('a message without the fields changes nothing', () => {
    const head = Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    const res = newHttpHookResult();
    expect(hooks.onHttpRequest(head, 0, head.length, Buffer.alloc(0), 0, 0, res)).toBe(false);
    expect(res.attrs).toEqual({});
  });

  it('a plugin that registered only a parser is not an HTTP hook', async () => {
    const trap = await WasmPlugin.load(await buildTestPlugin('test/fixtures/wasm/trap.ts'));
    expect(new WasmHttpHooks([trap]).size).toBe(0);
  });
});

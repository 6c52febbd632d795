/**
 * spanwire's OpenSSL uprobes (SSL_read/SSL_write and their _ex forms): an HTTPS server and client in two Node
 * processes (OpenSSL linked statically into the node binary) and curl (the system libssl.so.3) against that
 * server must give SSL_DATA events with the plaintext HTTP request and response, the pid/tid and comm of the
 * process, and an fd + socket that tie them to the TCP socket the ciphertext went through (the DATA events of the
 * same process). The certificate is made with openssl for the test. Needs root (BPF, uprobes).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EbpfCapture, IS_ROOT, KIND, NR, type SwEvent, loadAddon, runChild, startChild, stop, warnSkipped } from './native-helpers.js';

warnSkipped('test/native/ebpf-ssl.test.ts');

const SYSTEM_LIBSSL = ['/usr/lib/x86_64-linux-gnu/libssl.so.3', '/lib/x86_64-linux-gnu/libssl.so.3'].find((p) => existsSync(p));

const SERVER = `
const https = require('https'), fs = require('fs');
const [key, cert] = process.argv.slice(1);
const s = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (q, r) => {
  r.setHeader('content-type', 'text/plain');
  r.end(q.url.startsWith('/big') ? 'Z'.repeat(Number(q.url.slice(5))) : 'tls-body for ' + q.url);
});
s.listen(0, '127.0.0.1', () => console.log('listening port=' + s.address().port));
`;

const CLIENT = `
const https = require('https');
const [port] = process.argv.slice(1);
https.get({ host: '127.0.0.1', port: +port, path: '/from-node?x=1', rejectUnauthorized: false, agent: false,
  headers: { 'x-probe': 'plaintext-visible' } }, (res) => {
  let body = '';
  res.on('data', (d) => (body += d));
  res.on('end', () => console.log('status=' + res.statusCode + ' body=' + body));
});
`;

const ssl = (evs: SwEvent[], dir: number) => evs.filter((e) => e.kind === KIND.SSL_DATA && e.direction === dir);
const plain = (evs: SwEvent[]) => evs.map((e) => e.payload.toString('latin1')).join('');

/** Every SSL_DATA event of `pid` points at the socket (fd, sockId, 4-tuple) of its ciphertext DATA events. */
function tiedToSocket(all: SwEvent[], pid: number, port: number): void {
  const sslEv = all.filter((e) => e.pid === pid && e.kind === KIND.SSL_DATA);
  expect(sslEv.length).toBeGreaterThan(0);
  // one TLS connection: one SSL* for every read and write of it
  expect(new Set(sslEv.map((e) => e.sslId)).size).toBe(1);
  for (const e of sslEv) {
    expect(e.syscall).toBe(NR.ssl);
    expect(e.tid).toBe(pid);
    expect(e.sport === port || e.dport === port).toBe(true);
    const cipher = all.filter((d) => d.pid === pid && d.kind === KIND.DATA && d.sockId === e.sockId);
    expect(cipher.length).toBeGreaterThan(0);
    for (const d of cipher) {
      expect(d.fd).toBe(e.fd);
      expect([d.sport, d.dport, d.saddr, d.daddr]).toEqual([e.sport, e.dport, e.saddr, e.daddr]);
    }
    expect(e.sslId).not.toBe(0n);
    // the ciphertext is not the plaintext
    expect(cipher.some((d) => d.payload.includes(e.payload.subarray(0, 16)))).toBe(false);
  }
}

describe.skipIf(!IS_ROOT)('native eBPF: OpenSSL uprobes (TLS plaintext)', () => {
  let cap: EbpfCapture;
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'spanwire-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    cap = new EbpfCapture(loadAddon(), { maxPayload: 4096, sslLibs: [process.execPath, ...(SYSTEM_LIBSSL ? [SYSTEM_LIBSSL] : [])] });
  });
  afterAll(() => {
    cap?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('attaches to the node binary and the system libssl', () => {
    expect(cap.handle.warnings).toEqual([]);
    expect(cap.handle.sslAttached).toEqual([process.execPath, ...(SYSTEM_LIBSSL ? [SYSTEM_LIBSSL] : [])]);
  });

  it('Node https client -> Node https server: the HTTP request and response in plaintext, tied to the socket', async () => {
    const { child: server, match } = await startChild(process.execPath, ['-e', SERVER, join(dir, 'key.pem'), join(dir, 'cert.pem')], /listening port=(\d+)/);
    const port = Number(match[1]);
    try {
      const client = await runChild(process.execPath, ['-e', CLIENT, String(port)]);
      expect(client.stdout).toContain('status=200 body=tls-body for /from-node?x=1');
      await cap.settle(300);
      const cEv = cap.events((e) => e.pid === client.pid);
      const sEv = cap.events((e) => e.pid === server.pid!);
      const request = plain(ssl(cEv, 0));
      expect(request).toMatch(/^GET \/from-node\?x=1 HTTP\/1\.1\r\n/);
      expect(request).toContain('x-probe: plaintext-visible\r\n');
      expect(plain(ssl(sEv, 1))).toBe(request);
      const response = plain(ssl(sEv, 0));
      expect(response).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(response).toContain('tls-body for /from-node?x=1');
      expect(plain(ssl(cEv, 1))).toBe(response);
      for (const e of [...ssl(cEv, 0), ...ssl(cEv, 1), ...ssl(sEv, 0), ...ssl(sEv, 1)]) {
        expect(e.comm).toBe('node');
        expect(e.totalLen).toBe(e.payload.length);
      }
      tiedToSocket(cap.all, client.pid, port);
      tiedToSocket(cap.all, server.pid!, port);
      // client and server name the same connection from both ends
      const c0 = ssl(cEv, 0)[0];
      const s0 = ssl(sEv, 1)[0];
      expect([c0.sport, c0.dport]).toEqual([s0.dport, s0.sport]);
    } finally {
      await stop(server);
    }
  });

  it('payloads of every size: each record is header + captured bytes; beyond maxPayload truncated with the true length', async () => {
    const { child: server, match } = await startChild(process.execPath, ['-e', SERVER, join(dir, 'key.pem'), join(dir, 'cert.pem')], /listening port=(\d+)/);
    const port = Number(match[1]);
    try {
      for (const size of [100, 900, 3000, 12000, 40000]) {
        const client = await runChild(process.execPath, ['-e', `
          const https = require('https');
          https.get({ host: '127.0.0.1', port: ${port}, path: '/big/${size}', rejectUnauthorized: false, agent: false }, (res) => {
            let n = 0; res.on('data', (d) => (n += d.length)); res.on('end', () => console.log('got ' + n));
          });`]);
        expect(client.stdout.trim()).toBe(`got ${size}`);
        await cap.settle(200);
        const got = ssl(cap.events((e) => e.pid === client.pid), 1);
        // the body arrives in SSL_read calls of at most 16 KiB; the headers come first
        const body = Buffer.concat(got.map((e) => e.payload)).toString('latin1');
        const total = got.reduce((n, e) => n + e.totalLen, 0);
        expect(body.startsWith('HTTP/1.1 200 OK')).toBe(true);
        expect(total).toBeGreaterThan(size);
        for (const e of got) {
          expect(e.capturedLen).toBe(Math.min(e.totalLen, 4096));
          expect(e.payload.length).toBe(e.capturedLen);
          expect((e.flags & 1) !== 0).toBe(e.totalLen > 4096);
          const text = e.payload.toString('latin1');
          if (!text.startsWith('HTTP/1.1')) expect(text).toMatch(/^[Z0-9a-f\r\n]*$/); // body (or chunk framing): never stale bytes
        }
        if (size <= 3000) expect(body).toContain('Z'.repeat(size));
      }
    } finally {
      await stop(server);
    }
  });

  it("two concurrent Node TLS connections: a delayed SSL_write is tied to its own socket, not the thread's last one", async () => {
    // The server answers /slow after /fast has been read and answered on another connection: when the /slow
    // response goes through SSL_write (Node: memory BIO, before the socket write), the thread's most recent socket
    // syscall was on the /fast connection. The SSL* -> socket association learned from SSL_read must win.
    const server = await startChild(process.execPath, ['-e', `
      const https = require('https'), fs = require('fs');
      const s = https.createServer({ key: fs.readFileSync(process.argv[1]), cert: fs.readFileSync(process.argv[2]) }, (q, r) => {
        setTimeout(() => r.end('response for ' + q.url), q.url === '/slow' ? 400 : 10);
      });
      s.listen(0, '127.0.0.1', () => console.log('listening port=' + s.address().port));`, join(dir, 'key.pem'), join(dir, 'cert.pem')], /listening port=(\d+)/);
    const port = Number(server.match[1]);
    try {
      const client = await runChild(process.execPath, ['-e', `
        const https = require('https');
        const agent = new https.Agent({ keepAlive: false, maxSockets: 4 });
        const get = (path) => new Promise((res) => https.get({ host: '127.0.0.1', port: ${port}, path, agent, rejectUnauthorized: false }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => res(b)); }));
        Promise.all([get('/slow'), new Promise((r) => setTimeout(r, 100)).then(() => get('/fast'))]).then((b) => console.log(b.join('|')));`]);
      expect(client.stdout.trim()).toBe('response for /slow|response for /fast');
      await cap.settle(300);
      const sEv = cap.events((e) => e.pid === server.child.pid! && e.kind === KIND.SSL_DATA);
      for (const path of ['/slow', '/fast']) {
        const req = sEv.find((e) => e.direction === 1 && e.payload.toString().startsWith(`GET ${path} `))!;
        const res = sEv.find((e) => e.direction === 0 && e.payload.toString().includes(`response for ${path}`))!;
        expect(req).toBeDefined();
        expect(res).toBeDefined();
        expect([res.fd, res.sockId, res.sslId, res.dport]).toEqual([req.fd, req.sockId, req.sslId, req.dport]);
      }
      const slow = sEv.find((e) => e.payload.toString().startsWith('GET /slow '))!;
      const fast = sEv.find((e) => e.payload.toString().startsWith('GET /fast '))!;
      expect(slow.fd).not.toBe(fast.fd);
      expect(slow.sslId).not.toBe(fast.sslId);
    } finally {
      await stop(server.child);
    }
  });

  it.skipIf(!SYSTEM_LIBSSL)('curl (system libssl.so.3) -> Node https server: plaintext on both sides', async () => {
    const { child: server, match } = await startChild(process.execPath, ['-e', SERVER, join(dir, 'key.pem'), join(dir, 'cert.pem')], /listening port=(\d+)/);
    const port = Number(match[1]);
    try {
      const curl = await runChild('curl', ['-sk', '--http1.1', '-H', 'x-from: curl-probe', `https://127.0.0.1:${port}/from-curl`]);
      expect(curl.stdout).toBe('tls-body for /from-curl');
      await cap.settle(300);
      const cEv = cap.events((e) => e.pid === curl.pid);
      const request = plain(ssl(cEv, 0));
      expect(request).toMatch(/^GET \/from-curl HTTP\/1\.1\r\n/);
      expect(request).toContain('x-from: curl-probe\r\n');
      expect(plain(ssl(cEv, 1))).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*tls-body for \/from-curl$/);
      for (const e of ssl(cEv, 0)) expect(e.comm).toBe('curl');
      tiedToSocket(cap.all, curl.pid, port);
      const sEv = cap.events((e) => e.pid === server.pid!);
      expect(plain(ssl(sEv, 1))).toBe(request);
    } finally {
      await stop(server);
    }
  });
});

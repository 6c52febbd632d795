/**
 * End to end, HTTP/2 cleartext: nginx (`listen ... http2`, prior knowledge) on 127.0.0.1; curl
 * `--http2-prior-knowledge` (one stream per connection: Debian 12's curl 7.88.1 fails every stream after
 * the first on a reused h2c connection, "Error in the HTTP2 framing layer", against nginx and Node alike)
 * and nghttp (nghttp2's client) for many concurrent streams on one connection; captured by tcpdump on
 * `lo`, then `spanwire replay`.
 *
 * Expected values come from what the test asked for and what the clients reported (curl's `-w`: status,
 * local port, bytes down and up; nghttp's per-stream status table; the sizes of the files served), and
 * stream ids from tshark reading the same capture. Never from spanwire's own output. Needs root
 * (tcpdump) and nginx, curl, nghttp, tcpdump, tshark (`bash test/setup-system.sh`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, nginxPrelude, SPANWIRE, freePort, readOtlpSpans, run, sleep, startTcpdump, stopChildren, stopTcpdump, waitListening, which } from '../helpers/e2e.js';
import type { OtlpSpanView } from '../helpers/e2e.js';
import { headerValue, tsharkHttp2Streams } from '../helpers/tshark-http2.js';

const NGINX = '/usr/sbin/nginx';

if (!IS_ROOT) console.warn('\n*** SKIPPED test/e2e/h2c-nginx-curl.test.ts: not root (tcpdump on lo needs root; CI runs as root) ***\n');

interface Transfer {
  method: string;
  path: string;
  query: string | undefined;
  status: number;
  clientPort: number;
  downloaded: number;
  uploaded: number;
}

function config(dir: string, port: number, upstream: number): string {
  return `
${nginxPrelude(dir)}
  default_type application/octet-stream;
  client_max_body_size 8m;
  server {
    listen 127.0.0.1:${port} http2;
    root ${dir}/www;
    location = /hello { default_type text/plain; return 200 "hello over h2c\\n"; }
    location /static/ { }
    location = /fail { return 500; }
    location = /upload { proxy_pass http://127.0.0.1:${upstream}/sink; proxy_request_buffering on; }
  }
  server {
    listen 127.0.0.1:${upstream};
    location = /sink { default_type text/plain; return 201 "stored\\n"; }
  }
}
`;
}

/** curl over one HTTP/2 connection; one transfer per URL from curl's own `-w` report. */
async function curl(base: string, method: string, paths: string[], extra: string[]): Promise<Transfer[]> {
  const args = ['-s', '-S', '--http2-prior-knowledge', ...extra, '-w', '%{http_code} %{local_port} %{size_download} %{size_upload} %{http_version}\\n'];
  for (const p of paths) args.push('-o', '/dev/null', `${base}${p}`);
  const { stdout } = await run('curl', args);
  const lines = stdout.trim().split('\n');
  expect(lines.length).toBe(paths.length);
  return lines.map((line, i) => {
    const [code, port, down, up, version] = line.split(' ');
    expect(version).toBe('2');
    const q = paths[i].indexOf('?');
    return {
      method,
      path: q < 0 ? paths[i] : paths[i].slice(0, q),
      query: q < 0 ? undefined : paths[i].slice(q + 1),
      status: Number(code),
      clientPort: Number(port),
      downloaded: Number(down),
      uploaded: Number(up),
    };
  });
}

describe.skipIf(!IS_ROOT)('e2e: nginx HTTP/2 (h2c) + curl on loopback -> tcpdump -> spanwire replay', () => {
  let dir = '';
  let nginx: ChildProcess | undefined;
  let tcpdump: ChildProcess | undefined;
  let port = 0;
  let pcap = '';
  const transfers: Transfer[] = [];
  let spans: OtlpSpanView[] = [];
  let ok = false;

  beforeAll(async () => {
    for (const bin of ['tcpdump', 'tshark', 'curl', 'nghttp']) if (!which(bin)) throw new Error(`missing ${bin}: run bash test/setup-system.sh`);
    if (!existsSync(NGINX)) throw new Error('missing nginx: run bash test/setup-system.sh');
    dir = mkdtempSync(join(tmpdir(), 'spanwire-e2e-h2c-'));
    for (const d of ['tmp', 'www/static']) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(join(dir, 'www/static/a.txt'), 'a'.repeat(1234));
    writeFileSync(join(dir, 'www/static/big.bin'), randomBytes(200 * 1024));
    for (let i = 0; i < 6; i++) writeFileSync(join(dir, `www/static/p${i}.txt`), 'p'.repeat(1000 + i * 111));
    writeFileSync(join(dir, 'upload.bin'), randomBytes(100 * 1024));
    port = await freePort();
    let upstream = await freePort();
    while (upstream === port) upstream = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), config(dir, port, upstream));
    nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: 'ignore' });
    await waitListening(port, nginx, 'nginx');
    await waitListening(upstream, nginx, 'nginx upstream');

    pcap = join(dir, 'h2c.pcap');
    const cap = await startTcpdump(pcap, `tcp port ${port}`, (c) => (tcpdump = c));
    const base = `http://127.0.0.1:${port}`;
    // 1. curl, one connection per request: 200, 200 with a query, 404, 500, a POST with a 100 KB body
    //    (through the proxy, so nginx reads it all), a 200 KB download.
    for (const p of ['/hello', '/static/a.txt?lang=en&v=2', '/static/missing.txt', '/fail', '/static/big.bin']) transfers.push(...(await curl(base, 'GET', [p], [])));
    transfers.push(...(await curl(base, 'POST', ['/upload?x=1'], ['--data-binary', `@${join(dir, 'upload.bin')}`])));
    // 2. nghttp: seven concurrent streams on one connection (six files and a 404).
    const par = [...Array.from({ length: 6 }, (_, i) => `/static/p${i}.txt`), '/static/none.txt'];
    const { stdout } = await run('nghttp', ['-n', '-s', ...par.map((p) => `${base}${p}`)]);
    // "id  responseEnd requestStart  process code size request path"
    const rows = stdout.split('\n').filter((l) => /^\s*\d+\s+\+/.test(l)).map((l) => l.trim().split(/\s+/));
    expect(rows.length).toBe(par.length);
    for (const r of rows) {
      const path = r[r.length - 1];
      const i = par.indexOf(path);
      expect(i, path).toBeGreaterThanOrEqual(0);
      const size = i < 6 ? 1000 + i * 111 : -1; // the files the test wrote; the 404 page size is nginx's
      transfers.push({ method: 'GET', path, query: undefined, status: Number(r[4]), clientPort: -1, downloaded: size, uploaded: 0 });
    }
    await sleep(500);
    await stopTcpdump(cap);

    const out = join(dir, 'spans.json');
    await run('node', [SPANWIRE, 'replay', pcap, '--format', 'otlp-json', '-o', out, '-q']);
    spans = readOtlpSpans(out);
  }, 60_000);

  afterAll(async () => {
    await stopChildren([
      [tcpdump, 'SIGINT'],
      [nginx, 'SIGQUIT'],
    ]);
    if (dir && ok && process.env.SPANWIRE_E2E_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
    else if (dir) console.warn(`kept ${dir}`);
  });

  it('one span per stream, with what curl asked for and got', () => {
    expect(transfers.length).toBe(13);
    expect(spans.length).toBe(transfers.length);
    for (const t of transfers) {
      const what = `${t.method} ${t.path} (port ${t.clientPort})`;
      const s = spans.find((x) => (t.clientPort < 0 || x.attrs['client.port'] === t.clientPort) && x.attrs['url.path'] === t.path);
      expect(s, what).toBeDefined();
      const a = s!.attrs;
      expect(s!.name, what).toBe(t.method);
      expect(a['spanwire.protocol'], what).toBe('http2');
      expect(a['network.protocol.version'], what).toBe('2');
      expect(a['http.request.method'], what).toBe(t.method);
      expect(a['url.query'], what).toBe(t.query);
      expect(a['url.scheme'], what).toBe('http');
      expect(a['server.address'], what).toBe('127.0.0.1');
      expect(a['server.port'], what).toBe(port);
      expect(a['http.response.status_code'], what).toBe(t.status);
      if (t.downloaded >= 0) expect(a['http.response.body.size'], what).toBe(t.downloaded);
      if (t.method === 'POST') expect(a['http.request.body.size'], what).toBe(t.uploaded);
      expect(String(a['user_agent.original']), what).toMatch(t.clientPort < 0 ? /^nghttp2\// : /^curl\//);
      // Network-observed CLIENT spans: status >= 400 is an error (SEMCONV.md).
      expect(s!.status.code === 2, what).toBe(t.status >= 400);
      if (t.status >= 400) expect(a['error.type'], what).toBe(String(t.status));
    }
    expect(transfers.map((t) => t.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201, 404, 404, 500].sort());
    ok = true;
  });

  it('stream ids and statuses are the ones tshark finds; nghttp streams share one connection', () => {
    // Streams that carried a request (nghttp also opens idle streams for its priority tree: PRIORITY only).
    const ts = tsharkHttp2Streams(pcap, [port]).filter((t) => t.clientBlocks.length > 0);
    expect(ts.length).toBe(spans.length);
    for (const t of ts) {
      const s = spans.find((x) => x.attrs['client.port'] === t.clientPort && x.attrs['spanwire.http2.stream_id'] === t.streamId);
      expect(s, `tcp ${t.tcpStream} stream ${t.streamId}`).toBeDefined();
      expect(s!.attrs['url.path']).toBe(headerValue(t.clientBlocks[0], ':path')?.split('?')[0]);
      expect(s!.attrs['http.response.status_code']).toBe(Number(headerValue(t.serverBlocks[0], ':status')));
    }
    const byConn = new Map<number, number>();
    for (const t of ts) byConn.set(t.tcpStream, (byConn.get(t.tcpStream) ?? 0) + 1);
    expect([...byConn.values()].sort((a, b) => b - a)).toEqual([7, 1, 1, 1, 1, 1, 1]);
  });
});

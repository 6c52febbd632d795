/**
 * End to end, HTTP/2 cleartext against real servers on 127.0.0.1, captured by tcpdump on `lo`, then
 * `node bin/spanwire.js replay FILE --format otlp-json -o OUT`:
 *
 * 1. nginx with h2c by prior knowledge (`listen ... http2`; `http2 on` from nginx 1.25.1):
 *    - Node's HTTP/2 client (node:http2, nghttp2 inside): ten streams on ONE connection, six one after the
 *      other (200 with a query, a static file, 404, 500, a POST with a 100 KiB body answered 200, a 200 KiB
 *      download) then four at once.
 *    - curl --http2-prior-knowledge, one URL per invocation: Debian 12's curl 7.88.1 fails every transfer
 *      after the first on a reused prior-knowledge connection ("Error in the HTTP2 framing layer"; the
 *      second request never reaches the wire), with or without -Z. Several URLs per invocation work over
 *      `Upgrade: h2c` (part 2).
 * 2. `Upgrade: h2c`: nginx does not do it, nghttpd (nghttp2-server 1.52) answers an HTTP/1.1 request with
 *    its SETTINGS instead of a 101; nghttpx (nghttp2-proxy) does, so nghttpx (frontend h2c) in front of the
 *    same nginx (backend HTTP/1.1, not captured):
 *    - curl --http2, four URLs in one invocation: the first is the upgraded request (stream 1), the others
 *      streams 3, 5, 7 on the same connection;
 *    - curl --http2 -Z: four URLs, three of them concurrent streams after the upgrade;
 *    - curl --http2 with a POST body (sent in HTTP/1.1 before the 101);
 *    - nghttp -u with three URLs.
 *    The upgraded request must be ONE span (stream 1, the HTTP/2 status), never a span for the 101.
 *
 * Expected values come from what the test asked for and what the servers were told to answer (the sizes of
 * the files and bodies the test wrote, `return` bodies, error pages), checked against what the clients
 * reported (curl's -w, Node's response events, nghttp's table) and against tshark reading the same capture
 * (stream ids, connections, statuses, DATA bytes). Never from spanwire's own output.
 *
 * Needs root (tcpdump on lo) and nginx, nghttpx, nghttp, curl, tcpdump, tshark (`bash test/setup-system.sh`).
 * Not root: the suite is skipped with a loud warning. A missing tool is a failure.
 * SPANWIRE_E2E_KEEP=1 keeps the temp dir (config, logs, capture, spans); it is kept on failure too.
 */
import { describe, it, expect, beforeAll, afterAll, onTestFailed } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IS_ROOT, freePort, nginxPrelude, readOtlpSpans, run, sleep, startTcpdump, stopChildren, stopTcpdump, waitListening, which, replayToOtlp } from '../helpers/e2e.js';
import type { OtlpSpanView } from '../helpers/e2e.js';

const NGINX = '/usr/sbin/nginx';
const NGHTTPX = '/usr/sbin/nghttpx';
const SETUP = 'run `bash test/setup-system.sh` as root (CI does)';
const NODE_UA = 'spanwire-e2e-node-http2';

if (!IS_ROOT) {
  console.warn(
    '\n' +
      '************************************************************************************\n' +
      '* SKIPPED test/e2e/http2-nginx.test.ts: not root. tcpdump on lo needs root;        *\n' +
      '* run the tests as root (CI does) to exercise nginx/nghttpx -> tcpdump -> spanwire. *\n' +
      '************************************************************************************\n',
  );
}

/** What the servers are told to serve: body bytes per path (the test writes these files and strings). */
const HELLO = 'hello over h2c\n';
const STORED = 'stored\n';
const NOT_FOUND_PAGE = '<html><body>spanwire e2e: not found</body></html>\n';
const ERROR_PAGE = '<html><body>spanwire e2e: internal error, sorry</body></html>\n';
const FILES: Record<string, number> = {
  '/static/small.txt': 1234,
  '/static/big.bin': 200 * 1024,
  ...Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`/static/c${i}.txt`, 1000 + i * 111])),
};
const POST_BODY = 100 * 1024;
const UPGRADE_POST_BODY = 5000;

/** The status and body nginx answers for a path (the test's own configuration, not anything observed). */
function answer(method: string, path: string): { status: number; size: number } {
  if (method === 'POST' && path === '/upload') return { status: 200, size: STORED.length };
  if (path === '/hello') return { status: 200, size: HELLO.length };
  if (path === '/fail') return { status: 500, size: ERROR_PAGE.length };
  if (FILES[path] !== undefined) return { status: 200, size: FILES[path] };
  return { status: 404, size: NOT_FOUND_PAGE.length };
}

/** One request the test made, with what the client reported. */
interface Req {
  client: 'node' | 'curl-pk' | 'curl-upgrade' | 'curl-parallel' | 'curl-upgrade-post' | 'nghttp-upgrade';
  method: string;
  /** Path and query as requested; unique over the whole test, so it identifies the request. */
  target: string;
  path: string;
  query: string | undefined;
  serverPort: number;
  /** Status and body size the client reported. */
  status: number;
  received: number | undefined;
  /** Request body bytes sent (POST), else 0. */
  sent: number;
  /** Client port when the client reports it. */
  clientPort: number | undefined;
  /** Stream id when the protocol or the client fixes it (Node: req.id; the upgraded request: 1). */
  streamId: number | undefined;
  /** The request went out as HTTP/1.1 with `Upgrade: h2c`; undefined: the client's scheduling decides (curl -Z). */
  upgrade: boolean | undefined;
}

function splitTarget(target: string): { path: string; query: string | undefined } {
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: undefined } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

function nginxVersion(): [number, number, number] {
  const r = spawnSync(NGINX, ['-v'], { encoding: 'utf8' });
  const m = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(`${r.stderr}${r.stdout}`);
  if (!m) throw new Error(`cannot read the nginx version: ${r.stderr}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function nginxConfig(dir: string, h2Port: number, h1Port: number): string {
  const [a, b, c] = nginxVersion();
  // nginx 1.25.1 deprecated `listen ... http2` for the `http2` directive.
  const newStyle = a > 1 || (a === 1 && (b > 25 || (b === 25 && c >= 1)));
  const h2Listen = newStyle ? `listen 127.0.0.1:${h2Port};\n    http2 on;` : `listen 127.0.0.1:${h2Port} http2;`;
  const common = `
    root ${dir}/www;
    error_page 404 /errors/404.html;
    error_page 500 /errors/500.html;
    location /errors/ { internal; }
    location = /hello { default_type text/plain; return 200 "${HELLO.replace('\n', '\\n')}"; }
    location /static/ { }
    location = /fail { return 500; }`;
  return `
${nginxPrelude(dir)}
  default_type application/octet-stream;
  client_max_body_size 8m;
  keepalive_timeout 30s;

  # h2c by prior knowledge (captured)
  server {
    ${h2Listen}
    ${common}
    # proxying makes nginx read the whole request body before it answers
    location = /upload { proxy_pass http://127.0.0.1:${h1Port}/upload; proxy_request_buffering on; }
  }

  # HTTP/1.1: nghttpx's backend and the /upload sink (not captured)
  server {
    listen 127.0.0.1:${h1Port};
    ${common}
    location = /upload { default_type text/plain; return 200 "${STORED.replace('\n', '\\n')}"; }
  }
}
`;
}

/** One request on a node:http2 session; resolves when the stream ends. */
function nodeRequest(session: ClientHttp2Session, method: string, target: string, body?: Buffer): Promise<{ status: number; received: number; streamId: number }> {
  return new Promise((res, rej) => {
    const headers: Record<string, string> = { ':method': method, ':path': target, 'user-agent': NODE_UA };
    if (body) headers['content-length'] = String(body.length);
    const req = session.request(headers, { endStream: !body });
    let status = 0;
    let received = 0;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (d: Buffer) => (received += d.length));
    req.on('end', () => res({ status, received, streamId: req.id ?? -1 }));
    req.on('error', rej);
    req.setTimeout(10_000, () => req.close());
    if (body) req.end(body);
  });
}

/** curl, one invocation for several URLs; one Req per URL from curl's own -w report. */
async function curl(client: Req['client'], base: string, serverPort: number, method: string, targets: string[], extra: string[]): Promise<{ reqs: Req[]; connects: number[] }> {
  const args = ['-s', '-S', ...extra, '-w', '%{http_code} %{local_port} %{num_connects} %{size_download} %{size_upload} %{http_version} %{url_effective}\\n'];
  for (const t of targets) args.push('-o', '/dev/null', `${base}${t}`);
  const { stdout } = await run('curl', args);
  const lines = stdout.trim().split('\n');
  if (lines.length !== targets.length) throw new Error(`curl reported ${lines.length} transfers for ${targets.length} URLs: ${stdout}`);
  const reqs: Req[] = [];
  const connects: number[] = [];
  // With -Z the report lines come in completion order: match them by URL.
  for (const t of targets) {
    const line = lines.find((l) => l.endsWith(` ${base}${t}`));
    if (!line) throw new Error(`curl did not report ${t}: ${stdout}`);
    const [code, localPort, numConnects, down, up, version] = line.split(' ');
    if (version !== '2') throw new Error(`curl used HTTP/${version} for ${t}: ${stdout}`);
    reqs.push({
      client,
      method,
      target: t,
      ...splitTarget(t),
      serverPort,
      status: Number(code),
      received: Number(down),
      sent: Number(up),
      clientPort: Number(localPort),
      streamId: undefined,
      upgrade: false,
    });
    connects.push(Number(numConnects));
  }
  return { reqs, connects };
}

// ---------------------------------------------------------------------------------------------- tshark

/** One request as tshark saw it: an HTTP/2 stream with a request header block, or an HTTP/1.1 upgrade request. */
interface WireReq {
  tcpStream: number;
  clientPort: number;
  serverPort: number;
  streamId: number;
  method: string;
  target: string;
  status: number | undefined;
  /** DATA payload bytes (padding excluded) each way; for the upgraded request, its HTTP/1.1 Content-Length. */
  requestBytes: number;
  responseBytes: number;
  upgrade: boolean;
}

type Json = Record<string, unknown>;
const arr = <T,>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * tshark (the oracle) on the capture: `h2Ports` decoded as HTTP/2, `upgradePorts` as HTTP (tshark's HTTP
 * dissector follows `Upgrade: h2c` + 101 into HTTP/2 itself). The upgraded request is stream 1 of its
 * connection (RFC 9113 3.1 / RFC 7540 3.2).
 */
function tsharkRequests(pcap: string, h2Ports: number[], upgradePorts: number[]): WireReq[] {
  const args = ['-r', pcap, '-n'];
  for (const p of h2Ports) args.push('-d', `tcp.port==${p},http2`);
  for (const p of upgradePorts) args.push('-d', `tcp.port==${p},http`);
  args.push('-Y', 'http or http2', '-T', 'json', '--no-duplicate-keys', '-J', 'tcp http http2');
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 512 << 20 });
  const servers = new Set([...h2Ports, ...upgradePorts]);
  const streams = new Map<string, WireReq>();
  const get = (tcpStream: number, clientPort: number, serverPort: number, streamId: number) => {
    const k = `${tcpStream}/${streamId}`;
    let s = streams.get(k);
    if (!s) {
      s = { tcpStream, clientPort, serverPort, streamId, method: '', target: '', status: undefined, requestBytes: 0, responseBytes: 0, upgrade: false };
      streams.set(k, s);
    }
    return s;
  };
  for (const pk of JSON.parse(out) as { _source: { layers: Json } }[]) {
    const l = pk._source.layers;
    const tcp = l.tcp as Json;
    const tcpStream = Number(tcp['tcp.stream']);
    const src = Number(tcp['tcp.srcport']);
    const dst = Number(tcp['tcp.dstport']);
    const fromClient = servers.has(dst);
    const [clientPort, serverPort] = fromClient ? [src, dst] : [dst, src];
    for (const h of arr(l.http as Json | Json[])) {
      // The request line is a key of its own ("GET /x HTTP/1.1\r\n": {...}) holding method and URI.
      const line = Object.values(h).find((v): v is Json => typeof v === 'object' && v !== null && 'http.request.method' in v);
      if (line && h['http.upgrade'] === 'h2c') {
        const s = get(tcpStream, clientPort, serverPort, 1);
        s.method = String(line['http.request.method']);
        s.target = String(line['http.request.uri']);
        s.requestBytes = Number((h['http.content_length_header_tree'] as Json | undefined)?.['http.content_length'] ?? 0);
        s.upgrade = true;
      }
    }
    for (const h2 of arr(l.http2 as Json | Json[])) {
      for (const f of arr(h2['http2.stream'] as Json | Json[])) {
        const type = Number(f['http2.type']);
        const sid = Number(f['http2.streamid']);
        if (!Number.isFinite(type) || !(sid > 0)) continue;
        if (type === 0) {
          const padded = Number.parseInt(String(f['http2.flags'] ?? '0'), 16) & 0x8;
          const bytes = Number(f['http2.length']) - (padded ? Number(f['http2.pad_length']) + 1 : 0);
          const s = get(tcpStream, clientPort, serverPort, sid);
          if (fromClient) s.requestBytes += bytes;
          else s.responseBytes += bytes;
        }
        if (type !== 1 && type !== 9) continue;
        const fields = arr(f['http2.header'] as Json | Json[]);
        const value = (n: string) => fields.find((x) => x['http2.header.name'] === n)?.['http2.header.value'] as string | undefined;
        const s = get(tcpStream, clientPort, serverPort, sid);
        if (fromClient && value(':method') !== undefined) {
          s.method = value(':method')!;
          s.target = value(':path') ?? '';
        }
        const status = value(':status');
        if (!fromClient && status !== undefined && !status.startsWith('1')) s.status = Number(status);
      }
    }
  }
  return [...streams.values()].filter((s) => s.method !== '').sort((a, b) => a.tcpStream - b.tcpStream || a.streamId - b.streamId);
}

// ------------------------------------------------------------------------------------------------ test

describe.skipIf(!IS_ROOT)('e2e: HTTP/2 cleartext (nginx h2c, nghttpx Upgrade: h2c) -> tcpdump -> spanwire replay', () => {
  let dir = '';
  let keepDir = process.env.SPANWIRE_E2E_KEEP === '1';
  let nginx: ChildProcess | undefined;
  let nghttpx: ChildProcess | undefined;
  let tcpdump: ChildProcess | undefined;
  let session: ClientHttp2Session | undefined;
  let h2Port = 0;
  let upPort = 0;
  let pcap = '';
  const reqs: Req[] = [];
  /** Targets of requests made on one connection, per group (each group must be one TCP connection). */
  const groups: { what: string; targets: string[] }[] = [];

  beforeAll(async () => {
    try {
      const missing = [NGINX, NGHTTPX].filter((p) => !existsSync(p));
      for (const bin of ['tcpdump', 'tshark', 'curl', 'nghttp']) if (!which(bin)) missing.push(bin);
      if (missing.length) throw new Error(`missing ${missing.join(', ')}: ${SETUP}`);

      dir = mkdtempSync(join(tmpdir(), 'spanwire-e2e-http2-'));
      for (const d of ['tmp', 'www/static', 'www/errors']) mkdirSync(join(dir, d), { recursive: true });
      for (const [p, size] of Object.entries(FILES)) writeFileSync(join(dir, 'www', p), p.endsWith('.bin') ? randomBytes(size) : 'x'.repeat(size));
      writeFileSync(join(dir, 'www/errors/404.html'), NOT_FOUND_PAGE);
      writeFileSync(join(dir, 'www/errors/500.html'), ERROR_PAGE);
      writeFileSync(join(dir, 'post.bin'), randomBytes(POST_BODY));
      writeFileSync(join(dir, 'upgrade-post.bin'), randomBytes(UPGRADE_POST_BODY));

      const ports = new Set<number>();
      while (ports.size < 3) ports.add(await freePort());
      let h1Port: number;
      [h2Port, h1Port, upPort] = [...ports];
      writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, h2Port, h1Port));
      const nginxErr: string[] = [];
      nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
      nginx.stderr?.on('data', (d: Buffer) => nginxErr.push(d.toString()));
      const nghttpxOut: string[] = [];
      nghttpx = spawn(
        NGHTTPX,
        [
          '--conf=/dev/null',
          `--frontend=127.0.0.1,${upPort};no-tls`,
          `--backend=127.0.0.1,${h1Port}`,
          '--workers=1',
          '--single-process',
          `--pid-file=${join(dir, 'nghttpx.pid')}`,
          `--errorlog-file=${join(dir, 'nghttpx-error.log')}`,
          `--accesslog-file=${join(dir, 'nghttpx-access.log')}`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      nghttpx.stdout?.on('data', (d: Buffer) => nghttpxOut.push(d.toString()));
      nghttpx.stderr?.on('data', (d: Buffer) => nghttpxOut.push(d.toString()));
      try {
        await waitListening(h2Port, nginx, 'nginx (h2c)');
        await waitListening(h1Port, nginx, 'nginx (HTTP/1.1 backend)');
        await waitListening(upPort, nghttpx, 'nghttpx');
      } catch (e) {
        const log = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '');
        throw new Error(`${(e as Error).message}\nnginx: ${nginxErr.join('')}${log('error.log')}\nnghttpx: ${nghttpxOut.join('')}${log('nghttpx-error.log')}`);
      }

      // Capture the two HTTP/2 front ports only (not nginx's HTTP/1.1 backend hop).
      pcap = join(dir, 'http2.pcap');
      const capture = await startTcpdump(pcap, `tcp port ${h2Port} or tcp port ${upPort}`, (c) => (tcpdump = c));

      // ---- 1a. node:http2, one connection to nginx: six streams one after the other, then four at once.
      const h2Base = `http://127.0.0.1:${h2Port}`;
      const s = h2connect(h2Base);
      session = s;
      await new Promise<void>((res, rej) => {
        s.once('connect', () => res());
        s.once('error', rej);
      });
      const nodeClientPort = s.socket.localPort;
      const node = (method: string, target: string, r: { status: number; received: number; streamId: number }, sent = 0) =>
        reqs.push({ client: 'node', method, target, ...splitTarget(target), serverPort: h2Port, status: r.status, received: r.received, sent, clientPort: nodeClientPort, streamId: r.streamId, upgrade: false });
      const sequential = ['/hello?seq=1', '/static/small.txt?lang=en&v=2', '/static/missing.txt?seq=3', '/fail?seq=4'];
      for (const t of sequential) node('GET', t, await nodeRequest(s, 'GET', t));
      const postBody = readFileSync(join(dir, 'post.bin'));
      node('POST', '/upload?seq=5', await nodeRequest(s, 'POST', '/upload?seq=5', postBody), POST_BODY);
      node('GET', '/static/big.bin?seq=6', await nodeRequest(s, 'GET', '/static/big.bin?seq=6'));
      const concurrent = Array.from({ length: 4 }, (_, i) => `/static/c${i}.txt?par=${i}`);
      const results = await Promise.all(concurrent.map((t) => nodeRequest(s, 'GET', t)));
      concurrent.forEach((t, i) => node('GET', t, results[i]));
      s.close();
      groups.push({ what: 'node:http2 session', targets: reqs.filter((r) => r.client === 'node').map((r) => r.target) });

      // ---- 1b. curl --http2-prior-knowledge to nginx, one URL per invocation (see the header comment).
      for (const [method, t, extra] of [
        ['GET', '/hello?via=curl', []],
        ['GET', '/curl/missing?via=curl', []],
        ['POST', '/upload?via=curl', ['--data-binary', `@${join(dir, 'post.bin')}`]],
      ] as [string, string, string[]][]) {
        const { reqs: r } = await curl('curl-pk', h2Base, h2Port, method, [t], ['--http2-prior-knowledge', ...extra]);
        r[0].streamId = 1;
        reqs.push(...r);
      }

      // ---- 2a. curl --http2 (Upgrade: h2c) to nghttpx, four URLs in one invocation on one connection.
      const upBase = `http://127.0.0.1:${upPort}`;
      const seqUp = ['/hello?up=1', '/static/small.txt?up=2', '/static/missing.txt?up=3', '/fail?up=4'];
      const up = await curl('curl-upgrade', upBase, upPort, 'GET', seqUp, ['--http2']);
      expect(up.connects, 'curl --http2 reuses the upgraded connection').toEqual([1, 0, 0, 0]);
      up.reqs.forEach((r, i) => {
        r.upgrade = i === 0;
        r.streamId = 2 * i + 1; // stream 1 is the upgraded request, then curl's own streams in order
      });
      reqs.push(...up.reqs);
      groups.push({ what: 'curl --http2 (upgrade, 4 URLs)', targets: seqUp });

      // ---- 2b. curl --http2 -Z: the first URL upgrades, the other three go as concurrent streams.
      const parUp = concurrent.map((t, i) => `/static/c${i}.txt?zpar=${i}`);
      const par = await curl('curl-parallel', upBase, upPort, 'GET', parUp, ['--http2', '-Z', '--parallel-max', '8']);
      expect(new Set(par.reqs.map((r) => r.clientPort)).size, 'curl -Z used one connection').toBe(1);
      // Whichever transfer curl starts first carries the upgrade; the test checks that exactly one does.
      for (const r of par.reqs) r.upgrade = undefined;
      reqs.push(...par.reqs);
      groups.push({ what: 'curl --http2 -Z (4 URLs)', targets: parUp });

      // ---- 2c. curl --http2 POST: the body goes in HTTP/1.1 with the upgrade request, the answer in HTTP/2.
      const postUp = await curl('curl-upgrade-post', upBase, upPort, 'POST', ['/upload?up=post'], ['--http2', '--data-binary', `@${join(dir, 'upgrade-post.bin')}`]);
      postUp.reqs[0].upgrade = true;
      postUp.reqs[0].streamId = 1;
      reqs.push(...postUp.reqs);

      // ---- 2d. nghttp -u: three URLs, the first one upgraded.
      const ng = ['/static/small.txt?ng=1', '/hello?ng=2', '/ng/missing?ng=3'];
      const { stdout } = await run('nghttp', ['-u', '-n', '-s', ...ng.map((t) => `${upBase}${t}`)]);
      // "id  responseEnd requestStart  process code size request path"
      const rows = stdout.split('\n').filter((l) => /^\s*\d+\s+\+/.test(l)).map((l) => l.trim().split(/\s+/));
      expect(rows.length, `nghttp -u reported every URL: ${stdout}`).toBe(ng.length);
      for (const t of ng) {
        const row = rows.find((r) => r[r.length - 1] === t);
        expect(row, `nghttp -u reported ${t}: ${stdout}`).toBeDefined();
        const first = t === ng[0];
        reqs.push({ client: 'nghttp-upgrade', method: 'GET', target: t, ...splitTarget(t), serverPort: upPort, status: Number(row![4]), received: undefined, sent: 0, clientPort: undefined, streamId: first ? 1 : undefined, upgrade: first });
        if (first) expect(Number(row![0]), 'nghttp: the upgraded request is stream 1').toBe(1);
      }
      groups.push({ what: 'nghttp -u (3 URLs)', targets: ng });

      // Let the last GOAWAY/FIN exchanges reach tcpdump, then stop it cleanly.
      await sleep(500);
      await stopTcpdump(capture);
    } catch (e) {
      keepDir = true;
      throw e;
    }
  }, 120_000);

  afterAll(async () => {
    session?.destroy();
    await stopChildren([
      [tcpdump, 'SIGINT'],
      [nghttpx, 'SIGTERM'],
      [nginx, 'SIGQUIT'],
    ]);
    if (dir && !keepDir) rmSync(dir, { recursive: true, force: true });
    else if (dir) console.warn(`test/e2e/http2-nginx.test.ts: kept ${dir}`);
  });

  it('the clients got what the servers were told to answer', () => {
    onTestFailed(() => void (keepDir = true));
    expect(reqs.length).toBe(10 + 3 + 4 + 4 + 1 + 3);
    expect(new Set(reqs.map((r) => r.target)).size, 'every target is unique').toBe(reqs.length);
    for (const r of reqs) {
      const want = answer(r.method, r.path);
      expect(r.status, `${r.client} ${r.method} ${r.target}`).toBe(want.status);
      if (r.received !== undefined) expect(r.received, `${r.client} ${r.method} ${r.target}: body bytes`).toBe(want.size);
    }
    const node = reqs.filter((r) => r.client === 'node');
    // node:http2 opens client streams 1, 3, 5... in request order, all on one session.
    expect(node.map((r) => r.streamId)).toEqual(node.map((_, i) => 2 * i + 1));
  });

  it('tshark sees the same requests, streams and connections', () => {
    onTestFailed(() => void (keepDir = true));
    const wire = tsharkRequests(pcap, [h2Port], [upPort]);
    expect(wire.map((w) => w.target).sort(), 'one request on the wire per request made').toEqual(reqs.map((r) => r.target).sort());
    for (const r of reqs) {
      const what = `${r.client} ${r.method} ${r.target}`;
      const w = wire.find((x) => x.target === r.target)!;
      const want = answer(r.method, r.path);
      expect(w.method, what).toBe(r.method);
      expect(w.serverPort, what).toBe(r.serverPort);
      expect(w.status, what).toBe(want.status);
      expect(w.responseBytes, `${what}: response DATA bytes`).toBe(want.size);
      expect(w.requestBytes, `${what}: request body bytes`).toBe(r.sent);
      if (r.upgrade !== undefined) expect(w.upgrade, `${what}: sent as an HTTP/1.1 upgrade request`).toBe(r.upgrade);
      if (w.upgrade) expect(w.streamId, `${what}: the upgraded request is stream 1`).toBe(1);
      if (r.streamId !== undefined) expect(w.streamId, what).toBe(r.streamId);
      if (r.clientPort !== undefined) expect(w.clientPort, what).toBe(r.clientPort);
    }
    for (const g of groups) {
      const ws = g.targets.map((t) => wire.find((x) => x.target === t)!);
      expect(new Set(ws.map((w) => w.tcpStream)).size, `${g.what}: one TCP connection`).toBe(1);
      expect(new Set(ws.map((w) => w.streamId)).size, `${g.what}: distinct streams`).toBe(g.targets.length);
      for (const w of ws) expect(w.streamId % 2, `${g.what}: client-initiated (odd) stream ${w.streamId}`).toBe(1);
    }
    // One upgrade per connection to nghttpx, none to nginx.
    const upConns = new Set(wire.filter((w) => w.serverPort === upPort).map((w) => w.tcpStream));
    expect(upConns.size, 'connections to nghttpx: curl --http2, curl -Z, curl POST, nghttp -u').toBe(4);
    for (const c of upConns) expect(wire.filter((w) => w.tcpStream === c && w.upgrade).length, `tcp stream ${c}: one upgrade request`).toBe(1);
    expect(wire.filter((w) => w.serverPort === h2Port && w.upgrade)).toEqual([]);
  });

  it('spanwire replay writes one span per request with the HTTP/2 attributes', async () => {
    onTestFailed(() => void (keepDir = true));
    const out = await replayToOtlp(pcap, dir);
    const spans = readOtlpSpans(out);
    const wire = tsharkRequests(pcap, [h2Port], [upPort]);

    const target = (s: OtlpSpanView) => {
      const q = s.attrs['url.query'];
      return `${s.attrs['url.path']}${q === undefined || q === '' ? '' : `?${q}`}`;
    };
    expect(spans.length, `one span per request (got ${spans.map((s) => `${s.name} ${target(s)}`).join(', ')})`).toBe(reqs.length);
    expect(spans.map(target).sort(), 'the spans are the requests made').toEqual(reqs.map((r) => r.target).sort());
    // The 101 of an upgrade is not a response of its own.
    expect(spans.filter((s) => s.attrs['http.response.status_code'] === 101)).toEqual([]);

    for (const r of reqs) {
      const what = `${r.client} ${r.method} ${r.target}`;
      const s = spans.find((x) => target(x) === r.target);
      expect(s, what).toBeDefined();
      if (!s) continue;
      const w = wire.find((x) => x.target === r.target)!;
      const want = answer(r.method, r.path);
      const a = s.attrs;
      expect(s.name, what).toBe(r.method);
      expect(s.kind, `${what}: CLIENT (network-observed)`).toBe(3);
      expect(a['spanwire.protocol'], what).toBe('http2');
      expect(a['network.protocol.name'], what).toBe('http');
      expect(a['network.protocol.version'], what).toBe('2');
      expect(a['http.request.method'], what).toBe(r.method);
      expect(a['url.path'], what).toBe(r.path);
      expect(a['url.query'], what).toBe(r.query);
      expect(a['url.scheme'], what).toBe('http');
      expect(a['server.address'], what).toBe('127.0.0.1');
      expect(a['server.port'], what).toBe(r.serverPort);
      expect(a['client.port'], what).toBe(w.clientPort);
      expect(a['spanwire.http2.stream_id'], what).toBe(w.streamId);
      if (r.streamId !== undefined) expect(a['spanwire.http2.stream_id'], what).toBe(r.streamId);
      expect(a['http.response.status_code'], what).toBe(want.status);
      expect(a['http.response.body.size'], `${what}: response body bytes`).toBe(want.size);
      if (r.method === 'POST') expect(a['http.request.body.size'], `${what}: request body bytes`).toBe(r.sent);
      const ua = String(a['user_agent.original']);
      if (r.client === 'node') expect(ua, what).toBe(NODE_UA);
      else expect(ua, what).toMatch(r.client === 'nghttp-upgrade' ? /^nghttp2\// : /^curl\//);
      // Network-observed CLIENT spans: an HTTP status >= 400 is an error, typed by the status code.
      if (want.status >= 400) {
        expect(s.status.code, `${what}: error (got ${JSON.stringify(s.status)})`).toBe(2);
        expect(a['error.type'], what).toBe(String(want.status));
      } else {
        expect(s.status.code, `${what}: not an error (got ${JSON.stringify(s.status)})`).not.toBe(2);
        expect(a['error.type'], what).toBeUndefined();
      }
      expect(s.startNs <= s.endNs, what).toBe(true);
    }
  });
});

/**
 * End to end with a real browser: headless Chromium loads a small generated site from nginx on
 * 127.0.0.1 over plain HTTP/1.1 (a 301 to the page, CSS, JS, images from 1 KB to ~300 KB, an SVG, a
 * favicon, a 404, a 301 image, an image found in CSS, one added by a script, a JSON fetched by an inline
 * script, a small JSON POST and a ~200 KB one sent in several TCP segments; gzip, so chunked responses;
 * keep-alive), captured by tcpdump on `lo`, then replayed with
 * `node bin/spanwire.js replay FILE --format otlp-json -o OUT`.
 *
 * Chromium decides the connections (several in parallel, reused with keep-alive), the order and the
 * headers; the test only knows the site. The expected exchanges therefore come from two independent
 * oracles reading the same session, never from spanwire's own output:
 *   - tshark on the capture (requests, responses, request_in, http.time, client ports);
 *   - nginx's own access log ($remote_port $request_method $request_uri $status ...).
 *
 * Needs root (tcpdump on lo) and chromium, nginx, tcpdump, tshark: `bash test/setup-system.sh` installs
 * them (CI runs it). Not root: the suite is skipped with a loud warning. A missing tool is a failure.
 * Set SPANWIRE_E2E_KEEP=1 to keep the temp dir (site, config, logs, capture, DOM, spans); it is kept on
 * failure too.
 */
import { describe, it, expect, beforeAll, afterAll, onTestFailed } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { IS_ROOT, ROOT, SPANWIRE, freePort, run, sleep, waitExit, waitListening, which, startTcpdump, stopChildren, stopTcpdump } from '../helpers/e2e.js';

const NGINX = '/usr/sbin/nginx';
const CHROMIUM = '/usr/bin/chromium';
const SETUP = 'run `bash test/setup-system.sh` as root (CI does)';

if (!IS_ROOT) {
  console.warn(
    '\n' +
      '***************************************************************************************\n' +
      '* SKIPPED test/e2e/browser-session.test.ts: not root. tcpdump on lo needs root;       *\n' +
      '* run the tests as root (CI does) to exercise chromium -> nginx -> tcpdump -> replay. *\n' +
      '***************************************************************************************\n',
  );
}

// ---------------------------------------------------------------------------------------------
// small process helpers (deliberately local: this CLI-level test imports no core code)


// ---------------------------------------------------------------------------------------------
// the site

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/**
 * A valid RGB PNG. `noise` fills it with random pixels, which do not compress: the file is then about
 * width * height * 3 bytes. Otherwise a flat colour (a few hundred bytes).
 */
function png(width: number, height: number, noise: boolean, rgb: [number, number, number] = [40, 120, 200]): Buffer {
  const row = 1 + width * 3;
  const raw = Buffer.alloc(row * height);
  for (let y = 0; y < height; y++) {
    raw[y * row] = 0; // filter: none
    const px = noise ? randomBytes(width * 3) : null;
    for (let x = 0; x < width; x++) {
      const o = y * row + 1 + x * 3;
      if (px) px.copy(raw, o, x * 3, x * 3 + 3);
      else [raw[o], raw[o + 1], raw[o + 2]] = rgb;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw, { level: noise ? 0 : 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An .ico holding one PNG image (valid since Windows Vista; Chromium decodes it). */
function ico(image: Buffer, size: number): Buffer {
  const head = Buffer.alloc(6 + 16);
  head.writeUInt16LE(0, 0);
  head.writeUInt16LE(1, 2); // type: icon
  head.writeUInt16LE(1, 4); // one image
  head[6] = size;
  head[7] = size;
  head.writeUInt16LE(1, 10); // planes
  head.writeUInt16LE(32, 12); // bits per pixel
  head.writeUInt32LE(image.length, 14);
  head.writeUInt32LE(22, 18);
  return Buffer.concat([head, image]);
}

/** Rows of the large POST: ~40 bytes of JSON each, ~200 KB in all. */
const UPLOAD_ROWS = 5000;
const POST_BODY = { event: 'page_view', page: '/index.html', items: [1, 2, 3], note: 'from the inline script' };

function writeSite(www: string): void {
  for (const d of ['css', 'js', 'img', 'api']) mkdirSync(join(www, d), { recursive: true });
  const thumbs = [1, 2, 3, 4];
  writeFileSync(
    join(www, 'index.html'),
    `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>spanwire browser session</title>
<link rel="icon" href="/favicon.ico" type="image/x-icon">
<link rel="stylesheet" href="/css/site.css">
<link rel="stylesheet" href="/css/print.css" media="print">
<script src="/js/vendor.js"></script>
<script src="/js/app.js" defer></script>
</head>
<body>
<header><img src="/img/logo.png" alt="logo" width="64" height="64"> <img src="/img/icon.svg" alt="icon" width="32" height="32"></header>
<h1>spanwire</h1>
<p class="hero">A page with enough parts for a browser to open several connections.</p>
<img src="/img/photo-large.png" alt="large" width="320" height="320">
<img src="/img/photo-medium.png" alt="medium" width="220" height="220">
${thumbs.map((i) => `<img src="/img/thumb-${i}.png" alt="thumb ${i}" width="48" height="48">`).join('\n')}
<img src="/img/missing.png" alt="missing" width="16" height="16">
<img src="/img/old-badge.png" alt="badge" width="24" height="24">
<pre id="out">pending</pre>
<script>
(async () => {
  const out = document.getElementById('out');
  try {
    const post = (url, body) =>
      fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
    // A large body: Chromium sends the request in several TCP segments.
    const rows = Array.from({ length: ${UPLOAD_ROWS} }, (_, i) => ({ id: i, name: 'row ' + i, value: (i * 7919) % 1000 }));
    const [data, stored, uploaded] = await Promise.all([
      fetch('/api/data.json?v=1').then((r) => r.json()),
      post('/api/events', ${JSON.stringify(POST_BODY)}),
      post('/api/upload', { rows }),
    ]);
    out.textContent = 'fetches done: items=' + data.items.length + ' stored=' + stored.stored + ' uploaded=' + uploaded.stored;
  } catch (e) {
    out.textContent = 'fetch failed: ' + e;
  }
})();
</script>
</body>
</html>
`,
  );
  writeFileSync(
    join(www, 'css/site.css'),
    `body { font-family: sans-serif; margin: 2em; background: #fff url(/img/bg.png) repeat-x; }\n` +
      `h1 { color: #246; }\n` +
      Array.from({ length: 200 }, (_, i) => `.c${i} { margin: ${i % 7}px; padding: ${i % 5}px; color: #${(i * 2654435761 % 0xffffff).toString(16).padStart(6, '0')}; }`).join('\n') +
      '\n',
  );
  writeFileSync(join(www, 'css/print.css'), `body { background: none; color: #000; }\nheader, img { display: none; }\n`);
  // ~150 KB of script: compressed by gzip, so sent chunked
  writeFileSync(
    join(www, 'js/vendor.js'),
    `window.vendor = {};\n` +
      Array.from({ length: 2500 }, (_, i) => `window.vendor.f${i} = function (x) { return (x * ${i} + ${i % 13}) % ${i + 7}; };`).join('\n') +
      '\n',
  );
  writeFileSync(
    join(www, 'js/app.js'),
    `document.body.dataset.app = 'ran:' + window.vendor.f42(3);\n` +
      `const img = document.createElement('img');\nimg.src = '/img/dyn.png';\nimg.alt = 'added by app.js';\ndocument.body.appendChild(img);\n`,
  );
  writeFileSync(join(www, 'img/logo.png'), png(64, 64, false, [30, 60, 90]));
  writeFileSync(join(www, 'img/photo-large.png'), png(320, 320, true)); // ~300 KB
  writeFileSync(join(www, 'img/photo-medium.png'), png(220, 220, true)); // ~145 KB
  for (const i of thumbs) writeFileSync(join(www, `img/thumb-${i}.png`), png(16 + i * 8, 16 + i * 8, true)); // 2..8 KB
  writeFileSync(join(www, 'img/badge.png'), png(24, 24, false, [200, 40, 40]));
  writeFileSync(join(www, 'img/bg.png'), png(8, 400, false, [240, 240, 250]));
  writeFileSync(join(www, 'img/dyn.png'), png(40, 40, true));
  writeFileSync(
    join(www, 'img/icon.svg'),
    `<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">` +
      Array.from({ length: 40 }, (_, i) => `<circle cx="${(i * 7) % 32}" cy="${(i * 11) % 32}" r="${1 + (i % 4)}" fill="#${(i * 40).toString(16).padStart(3, '0')}"/>`).join('') +
      `</svg>\n`,
  );
  writeFileSync(join(www, 'favicon.ico'), ico(png(16, 16, false, [10, 160, 80]), 16));
  writeFileSync(
    join(www, 'api/data.json'),
    JSON.stringify({ items: [{ id: 1, name: 'alpha' }, { id: 2, name: 'beta' }, { id: 3, name: 'gamma' }], padding: 'x'.repeat(2000) }) + '\n',
  );
}

/** Every request the page makes, as "METHOD URI STATUS" (the favicon is listed apart: see FAVICON). */
const SITE_EXCHANGES = [
  'GET / 301',
  'GET /index.html 200',
  'GET /css/site.css 200',
  'GET /css/print.css 200',
  'GET /js/vendor.js 200',
  'GET /js/app.js 200',
  'GET /img/logo.png 200',
  'GET /img/icon.svg 200',
  'GET /img/photo-large.png 200',
  'GET /img/photo-medium.png 200',
  'GET /img/thumb-1.png 200',
  'GET /img/thumb-2.png 200',
  'GET /img/thumb-3.png 200',
  'GET /img/thumb-4.png 200',
  'GET /img/missing.png 404',
  'GET /img/old-badge.png 301',
  'GET /img/badge.png 200',
  'GET /img/bg.png 200',
  'GET /img/dyn.png 200',
  'GET /api/data.json?v=1 200',
  'POST /api/events 201',
  'POST /api/upload 201',
];
/** Headless Chromium may or may not ask for the favicon before it exits: allowed, not required. */
const FAVICON = 'GET /favicon.ico 200';

function nginxConfig(dir: string, port: number, upstreamPort: number): string {
  return `
daemon off;
master_process off;
worker_processes 1;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  # The second oracle: one line per exchange, as nginx saw it.
  log_format oracle '$remote_port $request_method $request_uri $status $connection $connection_requests "$http_user_agent"';
  access_log ${dir}/access.log oracle;
  client_max_body_size 8m;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  types {
    text/html html;
    text/css css;
    application/javascript js;
    application/json json;
    image/png png;
    image/svg+xml svg;
    image/x-icon ico;
  }
  default_type application/octet-stream;
  keepalive_requests 1000;
  keepalive_timeout 60s;
  gzip on;
  gzip_comp_level 1;
  gzip_min_length 256;
  gzip_types text/css application/javascript application/json image/svg+xml;

  server {
    listen 127.0.0.1:${port};
    root ${dir}/www;
    location = / { return 301 /index.html; }
    location = /img/old-badge.png { return 301 /img/badge.png; }
    location = /api/events { default_type application/json; return 201 '{"stored":true}\\n'; }
    # The large POST goes through the proxy, which reads the whole body before answering (a bare
    # 'return' may answer before the last body segment arrived).
    location = /api/upload { proxy_pass http://127.0.0.1:${upstreamPort}/sink; proxy_request_buffering on; }
  }

  # Not captured (the capture filter is the front port only).
  server {
    listen 127.0.0.1:${upstreamPort};
    access_log off;
    location = /sink { default_type application/json; return 201 '{"stored":true}\\n'; }
  }
}
`;
}

// ---------------------------------------------------------------------------------------------
// oracles and spans

/** A capture time "1730000000.123456000" (seconds, as tshark prints it) in ns. */
function secondsToNs(s: string): bigint {
  const [int, frac = ''] = s.trim().split('.');
  return BigInt(int) * 1_000_000_000n + BigInt((frac + '000000000').slice(0, 9));
}

/**
 * tshark on the capture, the port decoded as HTTP, one row per frame. Chromium never pipelines, so a
 * frame holds at most one HTTP message; a frame with several (values joined by '|') is an error here.
 */
function tshark(pcap: string, port: number, filter: string, fields: string[]): string[][] {
  const args = ['-r', pcap, '-n', '-d', `tcp.port==${port},http`, '-Y', filter, '-T', 'fields', '-E', 'separator=\t', '-E', 'aggregator=|'];
  for (const f of fields) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

/** One exchange as tshark sees it: the request frame joined with its response frame (http.request_in). */
interface WireExchange {
  method: string;
  uri: string;
  status: number;
  clientPort: number;
  userAgent: string;
  /** Capture time of the frame tshark shows the request in (its last segment). */
  requestNs: bigint;
  /** The request came in one TCP segment (tshark reassembled nothing). */
  singleSegment: boolean;
  /** http.time: response frame (its last segment) minus request frame. */
  httpTimeNs: bigint;
}

const wireCache = new Map<string, { exchanges: WireExchange[]; unanswered: string[] }>();

function wireExchanges(pcap: string, port: number): { exchanges: WireExchange[]; unanswered: string[] } {
  const cached = wireCache.get(pcap);
  if (cached) return { exchanges: [...cached.exchanges], unanswered: [...cached.unanswered] };
  const reqFields = ['frame.number', 'frame.time_epoch', 'tcp.srcport', 'http.request.method', 'http.request.uri', 'tcp.segment.count', 'http.user_agent'];
  const requests = new Map<number, string[]>();
  for (const r of tshark(pcap, port, 'http.request', reqFields)) {
    if (r[3].includes('|')) throw new Error(`frame ${r[0]} holds several requests (${r[3]}): Chromium does not pipeline`);
    requests.set(Number(r[0]), r);
  }
  const exchanges: WireExchange[] = [];
  for (const [code, reqIn, time, dstport] of tshark(pcap, port, 'http.response', ['http.response.code', 'http.request_in', 'http.time', 'tcp.dstport'])) {
    if (code.includes('|')) throw new Error(`a frame holds several responses (${code}): Chromium does not pipeline`);
    const req = requests.get(Number(reqIn));
    if (!req) throw new Error(`tshark: response ${code} to port ${dstport} names request frame ${reqIn}, which is not a request`);
    requests.delete(Number(reqIn));
    const [, epoch, sport, method, uri, segments, ua] = req;
    if (Number(sport) !== Number(dstport)) throw new Error(`tshark: response to ${dstport} paired with a request from ${sport}`);
    exchanges.push({
      method,
      uri,
      status: Number(code),
      clientPort: Number(sport),
      userAgent: ua,
      requestNs: secondsToNs(epoch),
      singleSegment: segments === '',
      httpTimeNs: secondsToNs(time),
    });
  }
  const unanswered = [...requests.values()].map((r) => `${r[3]} ${r[4]} (frame ${r[0]}, client port ${r[2]})`);
  wireCache.set(pcap, { exchanges, unanswered });
  return { exchanges: [...exchanges], unanswered: [...unanswered] };
}

/** Client ports of every connection opened during the capture (the SYNs): only Chromium connects. */
function synPorts(pcap: string, port: number): Set<number> {
  const rows = tshark(pcap, port, `tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport==${port}`, ['tcp.srcport']);
  return new Set(rows.map(([p]) => Number(p)));
}

interface LogLine {
  clientPort: number;
  method: string;
  uri: string;
  status: number;
  connection: number;
  connectionRequests: number;
  userAgent: string;
}

function readAccessLog(file: string): LogLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const m = /^(\d+) (\S+) (\S+) (\d{3}) (\d+) (\d+) "(.*)"$/.exec(l);
      if (!m) throw new Error(`access.log: unexpected line: ${l}`);
      return {
        clientPort: Number(m[1]),
        method: m[2],
        uri: m[3],
        status: Number(m[4]),
        connection: Number(m[5]),
        connectionRequests: Number(m[6]),
        userAgent: m[7],
      };
    });
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
interface OtlpSpan {
  name: string;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: { key: string; value: AnyValue }[];
}

function attr(span: OtlpSpan, key: string): unknown {
  const v = span.attributes?.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  return v.boolValue;
}

interface SpanView {
  name: string;
  method: string;
  uri: string;
  status: number;
  clientPort: number;
  serverPort: number;
  userAgent: unknown;
  protocol: unknown;
  startNs: bigint;
  endNs: bigint;
}

function readSpans(file: string): SpanView[] {
  const out: SpanView[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const req = JSON.parse(line) as { resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[] };
    for (const rs of req.resourceSpans ?? [])
      for (const ss of rs.scopeSpans ?? [])
        for (const s of ss.spans ?? []) {
          const query = attr(s, 'url.query');
          out.push({
            name: s.name,
            method: String(attr(s, 'http.request.method')),
            uri: String(attr(s, 'url.path')) + (query === undefined || query === '' ? '' : `?${String(query)}`),
            status: Number(attr(s, 'http.response.status_code')),
            clientPort: Number(attr(s, 'client.port')),
            serverPort: Number(attr(s, 'server.port')),
            userAgent: attr(s, 'user_agent.original'),
            protocol: attr(s, 'spanwire.protocol'),
            startNs: BigInt(s.startTimeUnixNano),
            endNs: BigInt(s.endTimeUnixNano),
          });
        }
  }
  return out;
}

const triple = (e: { method: string; uri: string; status: number }) => `${e.method} ${e.uri} ${e.status}`;
const withPort = (e: { method: string; uri: string; status: number; clientPort: number }) => `${triple(e)} (client port ${e.clientPort})`;
const sorted = (xs: string[]) => [...xs].sort();
const MS = 1_000_000n;
const abs = (n: bigint) => (n < 0n ? -n : n);

// ---------------------------------------------------------------------------------------------

describe.skipIf(!IS_ROOT)('e2e: headless Chromium page load over HTTP/1.1 -> tcpdump -> spanwire replay', () => {
  let dir = '';
  let keepDir = process.env.SPANWIRE_E2E_KEEP === '1';
  let nginx: ChildProcess | undefined;
  let tcpdump: ChildProcess | undefined;
  let chromium: ChildProcess | undefined;
  let port = 0;
  let pcap = '';
  let dom = '';
  let spansPromise: Promise<SpanView[]> | undefined;

  /** Replays the capture once (shared by the tests that read spans). */
  function replay(): Promise<SpanView[]> {
    spansPromise ??= (async () => {
      if (!existsSync(SPANWIRE)) throw new Error(`${SPANWIRE} is missing: the CLI has not landed`);
      if (!existsSync(join(ROOT, 'dist')) || readdirSync(join(ROOT, 'dist')).length === 0) {
        throw new Error('dist/ is missing: run npm run build (npm test runs tsc first)');
      }
      const out = join(dir, 'spans.otlp.jsonl');
      const r = await run(process.execPath, [SPANWIRE, 'replay', pcap, '--format', 'otlp-json', '-o', out, '--stats', join(dir, 'replay-stats.json')], 60_000);
      writeFileSync(join(dir, 'replay-summary.txt'), r.stderr);
      return readSpans(out);
    })();
    return spansPromise;
  }

  beforeAll(async () => {
    try {
      if (!existsSync(CHROMIUM)) {
        throw new Error(`${CHROMIUM} is missing: chromium is not installed; ${SETUP} (it apt-installs chromium)`);
      }
      const missing = [NGINX].filter((p) => !existsSync(p));
      for (const bin of ['tcpdump', 'tshark']) if (!which(bin)) missing.push(bin);
      if (missing.length) throw new Error(`missing ${missing.join(', ')}: ${SETUP}`);

      dir = mkdtempSync(join(tmpdir(), 'spanwire-e2e-browser-'));
      for (const d of ['tmp', 'www', 'profile', 'home']) mkdirSync(join(dir, d), { recursive: true });
      writeSite(join(dir, 'www'));

      port = await freePort();
      let upstreamPort = await freePort();
      while (upstreamPort === port) upstreamPort = await freePort();
      writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, upstreamPort));
      const nginxErr: string[] = [];
      nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
      nginx.stderr?.on('data', (d: Buffer) => nginxErr.push(d.toString()));
      try {
        await waitListening(port, nginx, 'nginx');
        await waitListening(upstreamPort, nginx, 'nginx (upstream server)');
      } catch (e) {
        const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
        throw new Error(`${(e as Error).message}\nnginx stderr: ${nginxErr.join('')}\nerror.log:\n${log}`);
      }

      // Capture: start tcpdump and wait for "listening on" before any traffic.
      pcap = join(dir, 'browser.pcap');
      const capture = await startTcpdump(pcap, `tcp port ${port}`, (c) => (tcpdump = c));

      // ---- the browser session: load /, follow the 301, run the scripts, print the DOM.
      // The flags are the ones this machine needs (no sandbox as root, no GPU, no QUIC, and no background
      // networking, whose connections the closed network refuses). --virtual-time-budget lets the page's
      // fetches finish before the DOM is dumped.
      const chromeOut: Buffer[] = [];
      const chromeErr: Buffer[] = [];
      chromium = spawn(
        CHROMIUM,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          `--user-data-dir=${join(dir, 'profile')}`,
          '--virtual-time-budget=5000',
          '--dump-dom',
          `http://127.0.0.1:${port}/`,
        ],
        // Own process group (killed as a whole on timeout); HOME in the temp dir keeps root's home clean.
        { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, HOME: join(dir, 'home') } },
      );
      chromium.stdout!.on('data', (d: Buffer) => chromeOut.push(d));
      chromium.stderr!.on('data', (d: Buffer) => chromeErr.push(d));
      const code = await waitExit(chromium, 60_000).catch((e: Error) => {
        try {
          process.kill(-chromium!.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
        throw e;
      });
      dom = Buffer.concat(chromeOut).toString('utf8');
      writeFileSync(join(dir, 'dom.html'), dom);
      writeFileSync(join(dir, 'chromium.stderr.txt'), Buffer.concat(chromeErr));
      if (code !== 0) throw new Error(`chromium exited with ${code}:\n${Buffer.concat(chromeErr).toString()}`);

      // Let the last FIN/ACKs reach tcpdump, then stop it cleanly.
      await sleep(500);
      await stopTcpdump(capture);
    } catch (e) {
      keepDir = true;
      throw e;
    }
  });

  afterAll(async () => {
    await stopChildren([
      [chromium, 'SIGKILL'],
      [tcpdump, 'SIGINT'],
      [nginx, 'SIGQUIT'],
    ]);
    if (!dir) return;
    if (keepDir) console.warn(`e2e browser: kept ${dir} (www/, nginx.conf, access.log, browser.pcap, dom.html, spans.otlp.jsonl)`);
    else rmSync(dir, { recursive: true, force: true });
  });

  it('the browser ran the page: scripts and the three fetches done, every resource of the site asked for', () => {
    onTestFailed(() => void (keepDir = true));
    expect(dom, 'the inline script saw its three fetches answer').toContain('<pre id="out">fetches done: items=3 stored=true uploaded=true</pre>');
    expect(dom, 'the deferred script ran').toContain('data-app="ran:');
    expect(dom, 'app.js added its image').toContain('src="/img/dyn.png"');

    const log = readAccessLog(join(dir, 'access.log'));
    const seen = log.map(triple);
    for (const x of seen) expect([...SITE_EXCHANGES, FAVICON], `unexpected request ${x}`).toContain(x);
    expect(sorted(seen.filter((x) => x !== FAVICON)), 'each resource of the page exactly once').toEqual(sorted(SITE_EXCHANGES));
    // A real browser session: several connections in parallel, at least one reused (keep-alive).
    expect(new Set(log.map((l) => l.clientPort)).size, 'connections').toBeGreaterThanOrEqual(2);
    expect(Math.max(...log.map((l) => l.connectionRequests)), 'requests on the busiest connection').toBeGreaterThanOrEqual(2);
    for (const l of log) expect(l.userAgent, withPort(l)).toMatch(/HeadlessChrome\//);
  });

  it('the two oracles agree: tshark on the capture and the nginx access log', () => {
    onTestFailed(() => void (keepDir = true));
    const { exchanges, unanswered } = wireExchanges(pcap, port);
    expect(unanswered, 'requests tshark saw without a response').toEqual([]);
    const log = readAccessLog(join(dir, 'access.log'));
    expect(sorted(exchanges.map(withPort))).toEqual(sorted(log.map(withPort)));
    // Every request came from a connection opened during the capture.
    const ports = synPorts(pcap, port);
    for (const e of exchanges) expect(ports.has(e.clientPort), withPort(e)).toBe(true);
    // The capture really holds the cases the session is meant to exercise.
    const te = tshark(pcap, port, 'http.response', ['http.transfer_encoding', 'http.content_encoding']);
    expect(te.some(([t, c]) => t === 'chunked' && c === 'gzip'), 'a gzip, chunked response').toBe(true);
    const multi = exchanges.filter((e) => !e.singleSegment).map(triple);
    expect(multi, 'requests in several TCP segments: the large POST').toContain('POST /api/upload 201');
  });

  it('spanwire replay: one span per exchange, the same (method, uri, status) as tshark and the access log', async () => {
    onTestFailed(() => void (keepDir = true));
    const spans = await replay();
    const { exchanges } = wireExchanges(pcap, port);
    const log = readAccessLog(join(dir, 'access.log'));
    expect(spans.length, 'span count = tshark request count').toBe(tshark(pcap, port, 'http.request', ['frame.number']).length);
    expect(spans.length, 'span count = access log lines').toBe(log.length);
    expect(sorted(spans.map(triple)), 'vs tshark').toEqual(sorted(exchanges.map(triple)));
    expect(sorted(spans.map(triple)), 'vs the access log').toEqual(sorted(log.map(triple)));
    // With the client port too: each span on the connection that carried it.
    expect(sorted(spans.map(withPort)), 'vs tshark, with client ports').toEqual(sorted(exchanges.map(withPort)));
  });

  it('spanwire replay: client ports are Chromium\'s, user agent, protocol, and timings agree with tshark', async () => {
    onTestFailed(() => void (keepDir = true));
    const spans = await replay();
    const { exchanges } = wireExchanges(pcap, port);
    const ports = synPorts(pcap, port);
    const tsharkPorts = new Set(exchanges.map((e) => e.clientPort));

    for (const s of spans) {
      const where = withPort(s);
      expect(s.name, where).toBe(s.method);
      expect(s.protocol, where).toBe('http1');
      expect(s.serverPort, where).toBe(port);
      expect(ports.has(s.clientPort) && tsharkPorts.has(s.clientPort), `${where}: a port Chromium connected from`).toBe(true);
      expect(String(s.userAgent), where).toMatch(/Chrome\//);
      expect(s.endNs >= s.startNs, `${where}: duration >= 0`).toBe(true);
    }

    // Join spans and tshark exchanges on (client port, method, uri, status); within a key, in time order.
    const byKey = new Map<string, { spans: SpanView[]; wire: WireExchange[] }>();
    const slot = (k: string) => byKey.get(k) ?? byKey.set(k, { spans: [], wire: [] }).get(k)!;
    for (const s of spans) slot(withPort(s)).spans.push(s);
    for (const e of exchanges) slot(withPort(e)).wire.push(e);
    let compared = 0;
    const problems: string[] = [];
    for (const [k, { spans: ss, wire }] of byKey) {
      expect(ss.length, k).toBe(wire.length);
      ss.sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
      wire.sort((a, b) => (a.requestNs < b.requestNs ? -1 : a.requestNs > b.requestNs ? 1 : 0));
      ss.forEach((s, i) => {
        const w = wire[i];
        const dur = s.endNs - s.startNs;
        if (w.singleSegment) {
          // One request segment: the span starts at tshark's request frame and lasts http.time.
          compared++;
          if (abs(dur - w.httpTimeNs) > MS) problems.push(`${k}: duration ${dur} ns, tshark http.time ${w.httpTimeNs} ns`);
          if (abs(s.startNs - w.requestNs) > MS) problems.push(`${k}: start ${s.startNs} ns, tshark request frame ${w.requestNs} ns`);
        } else {
          // Several segments: tshark counts from the last one, the span from the first.
          if (s.startNs > w.requestNs + MS) problems.push(`${k}: start ${s.startNs} ns after tshark's (last) request segment ${w.requestNs} ns`);
          if (dur + MS < w.httpTimeNs) problems.push(`${k}: duration ${dur} ns shorter than tshark http.time ${w.httpTimeNs} ns`);
        }
      });
    }
    expect(problems).toEqual([]);
    expect(compared, 'single-segment requests compared').toBe(exchanges.filter((e) => e.singleSegment).length);
    expect(compared, 'single-segment requests compared').toBeGreaterThanOrEqual(SITE_EXCHANGES.length - 2);
  });
});

/**
 * End to end against a real server: nginx on 127.0.0.1, real clients (curl, a raw Node socket), a real
 * capture (tcpdump on `lo`), then `node bin/spanwire.js replay FILE --format otlp-json -o OUT`.
 *
 * The expected spans come from what the test itself sent and what nginx answered (curl's `-w` output and
 * the raw socket's parsed responses), cross-checked against tshark reading the same capture. Never from
 * spanwire's own output.
 *
 * Needs root (tcpdump on lo) and nginx, tcpdump, tshark, curl: `bash test/setup-system.sh` installs
 * them (CI runs it). Not root: the suite is skipped with a loud warning. A missing tool is a failure.
 * Set SPANWIRE_E2E_KEEP=1 to keep the temp dir (config, logs, capture, spans); it is kept on failure too.
 */
import { describe, it, expect, beforeAll, afterAll, onTestFailed } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { IS_ROOT, nginxPrelude, freePort, run, sleep, waitListening, which, startTcpdump, stopChildren, stopTcpdump, replayToOtlp } from '../helpers/e2e.js';

const NGINX = '/usr/sbin/nginx';
const SETUP = 'run `bash test/setup-system.sh` as root (CI does)';

if (!IS_ROOT) {
  console.warn(
    '\n' +
      '************************************************************************************\n' +
      '* SKIPPED test/e2e/nginx-http1.test.ts: not root. tcpdump on lo needs root;        *\n' +
      '* run the tests as root (CI does) to exercise nginx -> tcpdump -> spanwire replay. *\n' +
      '************************************************************************************\n',
  );
}

/** One request/response exchange the test made, as the client saw it. */
interface Exchange {
  method: string;
  path: string;
  /** Query string without '?', or undefined when the URL had none. */
  query: string | undefined;
  status: number;
  clientPort: number;
}

/** The same fields read back from a span. */
interface SpanView extends Exchange {
  name: string;
  serverAddress: unknown;
  serverPort: number;
  clientAddress: unknown;
  transport: unknown;
  protocolVersion: unknown;
  protocol: unknown;
  startNs: bigint;
  endNs: bigint;
}


function nginxConfig(dir: string, port: number, upstreamPort: number): string {
  return `
${nginxPrelude(dir)}
  types { text/html html; text/plain txt; application/octet-stream bin; }
  default_type application/octet-stream;
  keepalive_requests 1000;
  keepalive_timeout 30s;
  client_max_body_size 8m;

  server {
    listen 127.0.0.1:${port};
    root ${dir}/www;
    # fixed body, Content-Length
    location = /hello { default_type text/plain; return 200 "hello from nginx\\n"; }
    # static files with Content-Length (page.html ~2 KB, big.bin 300 KB)
    location /static/ { }
    # gzip drops the length: the response is Transfer-Encoding: chunked
    location /gz/ { gzip on; gzip_min_length 1; gzip_comp_level 1; gzip_types text/plain; }
    # reading the body for the proxy makes nginx answer "Expect: 100-continue" with a 100 first
    location = /upload {
      proxy_pass http://127.0.0.1:${upstreamPort}/sink;
      proxy_request_buffering on;
    }
    # anything else: 404 from the static handler
  }

  server {
    listen 127.0.0.1:${upstreamPort};
    location = /sink { default_type text/plain; return 201 "stored\\n"; }
  }
}
`;
}

/** Minimal HTTP/1.1 response splitter for the raw-socket test: Content-Length bodies only. */
function parseResponses(raw: Buffer): number[] {
  const statuses: number[] = [];
  let off = 0;
  while (off < raw.length) {
    const end = raw.indexOf('\r\n\r\n', off, 'latin1');
    if (end < 0) throw new Error(`truncated response head at byte ${off}: ${raw.subarray(off).toString('latin1')}`);
    const head = raw.subarray(off, end).toString('latin1');
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(head);
    if (!m) throw new Error(`not a status line: ${head.slice(0, 80)}`);
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!cl) throw new Error(`response without Content-Length: ${head}`);
    statuses.push(Number(m[1]));
    off = end + 4 + Number(cl[1]);
  }
  return statuses;
}

/** Sends `payload` in a single write, reads until the server closes; returns the statuses and local port. */
function rawExchange(port: number, payload: string): Promise<{ statuses: number[]; localPort: number }> {
  return new Promise((res, rej) => {
    const chunks: Buffer[] = [];
    const s = connect(port, '127.0.0.1');
    s.setTimeout(10_000, () => s.destroy(new Error('raw socket timed out')));
    s.once('connect', () => s.write(payload));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.once('error', rej);
    s.once('end', () => {
      try {
        res({ statuses: parseResponses(Buffer.concat(chunks)), localPort: s.localPort ?? 0 });
      } catch (e) {
        rej(e);
      } finally {
        s.end();
      }
    });
  });
}

function splitUrl(pathAndQuery: string): { path: string; query: string | undefined } {
  const q = pathAndQuery.indexOf('?');
  return q < 0 ? { path: pathAndQuery, query: undefined } : { path: pathAndQuery.slice(0, q), query: pathAndQuery.slice(q + 1) };
}

/**
 * Runs curl on one connection for several URLs of the same method and records one exchange per URL
 * from curl's own `-w` report (status, local port, new connections made).
 */
async function curl(
  base: string,
  method: string,
  paths: string[],
  extra: string[],
  exchanges: Exchange[],
): Promise<{ connects: number[] }> {
  const args = ['-s', '-S', '--http1.1', ...extra, '-w', '%{http_code} %{local_port} %{num_connects}\\n'];
  for (const p of paths) args.push('-o', '/dev/null', `${base}${p}`);
  const { stdout } = await run('curl', args);
  const lines = stdout.trim().split('\n');
  if (lines.length !== paths.length) throw new Error(`curl reported ${lines.length} transfers for ${paths.length} URLs: ${stdout}`);
  const connects: number[] = [];
  lines.forEach((line, i) => {
    const [code, localPort, numConnects] = line.split(' ').map(Number);
    exchanges.push({ method, ...splitUrl(paths[i]), status: code, clientPort: localPort });
    connects.push(numConnects);
  });
  return { connects };
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
  if (v.intValue !== undefined) return Number(v.intValue); // OTLP/JSON may write int64 as a string
  if (v.doubleValue !== undefined) return v.doubleValue;
  return v.boolValue;
}

/** Reads an OTLP/JSON lines file (one ExportTraceServiceRequest per line) into span views. */
function readSpans(file: string): SpanView[] {
  const out: SpanView[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const req = JSON.parse(line) as { resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[] };
    for (const rs of req.resourceSpans ?? []) {
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          const query = attr(s, 'url.query');
          out.push({
            name: s.name,
            method: String(attr(s, 'http.request.method')),
            path: String(attr(s, 'url.path')),
            query: query === undefined || query === '' ? undefined : String(query),
            status: Number(attr(s, 'http.response.status_code')),
            clientPort: Number(attr(s, 'client.port')),
            serverAddress: attr(s, 'server.address'),
            serverPort: Number(attr(s, 'server.port')),
            clientAddress: attr(s, 'client.address'),
            transport: attr(s, 'network.transport'),
            protocolVersion: attr(s, 'network.protocol.version'),
            protocol: attr(s, 'spanwire.protocol'),
            startNs: BigInt(s.startTimeUnixNano),
            endNs: BigInt(s.endTimeUnixNano),
          });
        }
      }
    }
  }
  return out;
}

/**
 * tshark (the oracle) on the capture, port decoded as HTTP: one row per HTTP message. A frame holding
 * several messages (pipelining) prints one line with comma-joined values, split here (no value the test
 * sends contains a comma). Deliberately not the shared test helper: this CLI-level test imports no core code.
 */
function tsharkHttp(pcap: string, port: number, filter: string, fields: string[]): string[][] {
  const args = ['-r', pcap, '-n', '-d', `tcp.port==${port},http`, '-Y', filter, '-T', 'fields', '-E', 'separator=\t'];
  for (const f of fields) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  const rows: string[][] = [];
  for (const line of out.split('\n')) {
    if (!line) continue;
    const cols = line.split('\t').map((v) => v.split(','));
    for (let i = 0; i < cols[0].length; i++) rows.push(cols.map((c) => c[i] ?? c[0]));
  }
  return rows;
}

const key = (e: Exchange) => `${e.method} ${e.path}${e.query === undefined ? '' : `?${e.query}`} -> ${e.status} (client port ${e.clientPort})`;

describe.skipIf(!IS_ROOT)('e2e: nginx HTTP/1.1 on loopback -> tcpdump -> spanwire replay', () => {
  let dir = '';
  let keepDir = process.env.SPANWIRE_E2E_KEEP === '1';
  let nginx: ChildProcess | undefined;
  let tcpdump: ChildProcess | undefined;
  let port = 0;
  let pcap = '';
  const exchanges: Exchange[] = [];
  /** Client ports of connections the test expects to carry several exchanges. */
  const keepAliveGroups: number[][] = [];
  let windowStartNs = 0n;
  let windowEndNs = 0n;

  beforeAll(async () => {
    try {
      const missing = [NGINX, '/usr/bin/curl'].filter((p) => !existsSync(p));
      for (const bin of ['tcpdump', 'tshark']) if (!which(bin)) missing.push(bin);
      if (missing.length) throw new Error(`missing ${missing.join(', ')}: ${SETUP}`);

      dir = mkdtempSync(join(tmpdir(), 'spanwire-e2e-nginx-'));
      for (const d of ['tmp', 'www/static', 'www/gz']) mkdirSync(join(dir, d), { recursive: true });
      const words = Array.from({ length: 4000 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog`).join('\n');
      writeFileSync(join(dir, 'www/static/page.html'), `<!doctype html><title>spanwire</title><pre>${words.slice(0, 2000)}</pre>\n`);
      writeFileSync(join(dir, 'www/static/big.bin'), randomBytes(300 * 1024));
      writeFileSync(join(dir, 'www/gz/words.txt'), words);
      writeFileSync(join(dir, 'upload.bin'), randomBytes(256 * 1024));

      port = await freePort();
      let upstreamPort = await freePort();
      while (upstreamPort === port) upstreamPort = await freePort();
      writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, upstreamPort));

      const nginxErr: string[] = [];
      nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      nginx.stderr?.on('data', (d: Buffer) => nginxErr.push(d.toString()));
      try {
        await waitListening(port, nginx, 'nginx');
        await waitListening(upstreamPort, nginx, 'nginx (upstream server)');
      } catch (e) {
        const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
        throw new Error(`${(e as Error).message}\nnginx stderr: ${nginxErr.join('')}\nerror.log:\n${log}`);
      }

      // Capture: start tcpdump and wait for "listening on" before any traffic.
      pcap = join(dir, 'nginx.pcap');
      const capture = await startTcpdump(pcap, `tcp port ${port}`, (c) => (tcpdump = c));
      windowStartNs = BigInt(Date.now()) * 1_000_000n;

      // ---- traffic
      const base = `http://127.0.0.1:${port}`;
      // 1. three GETs on one keep-alive connection: fixed body, static file with a query, a 404
      const before = exchanges.length;
      const ka = await curl(base, 'GET', ['/hello', '/static/page.html?lang=en&v=2', '/nope/missing.html'], [], exchanges);
      expect(ka.connects, 'curl must reuse its connection for the 2nd and 3rd URL').toEqual([1, 0, 0]);
      keepAliveGroups.push(exchanges.slice(before).map((e) => e.clientPort));
      // 2. POST with a 256 KB body and Expect: 100-continue (nginx answers 100, then the final status)
      await curl(base, 'POST', ['/upload'], ['-H', 'Expect: 100-continue', '--data-binary', `@${join(dir, 'upload.bin')}`], exchanges);
      // 3. POST with a chunked request body
      await curl(base, 'POST', ['/upload?mode=chunked'], ['-H', 'Transfer-Encoding: chunked', '--data-binary', `@${join(dir, 'upload.bin')}`], exchanges);
      // 4. HEAD of a 300 KB file: Content-Length says 307200, no body follows
      await curl(base, 'HEAD', ['/static/big.bin'], ['-I'], exchanges);
      // 5. chunked (gzip) response, then another request on the same connection
      const b5 = exchanges.length;
      await curl(base, 'GET', ['/gz/words.txt', '/hello?after=chunked'], ['--compressed'], exchanges);
      keepAliveGroups.push(exchanges.slice(b5).map((e) => e.clientPort));
      // 6. a 300 KB Content-Length body, then another request on the same connection
      const b6 = exchanges.length;
      await curl(base, 'GET', ['/static/big.bin', '/hello?after=big'], [], exchanges);
      keepAliveGroups.push(exchanges.slice(b6).map((e) => e.clientPort));
      // 7. raw socket: three pipelined requests in one write; the last one asks nginx to close
      const host = `Host: 127.0.0.1:${port}\r\n`;
      const pipelined = ['/hello?pipelined=1', '/static/page.html', '/pipelined/missing'];
      const raw = await rawExchange(
        port,
        `GET ${pipelined[0]} HTTP/1.1\r\n${host}User-Agent: spanwire-e2e\r\n\r\n` +
          `GET ${pipelined[1]} HTTP/1.1\r\n${host}User-Agent: spanwire-e2e\r\n\r\n` +
          `GET ${pipelined[2]} HTTP/1.1\r\n${host}User-Agent: spanwire-e2e\r\nConnection: close\r\n\r\n`,
      );
      expect(raw.statuses, 'nginx answers the three pipelined requests in order').toEqual([200, 200, 404]);
      pipelined.forEach((p, i) => exchanges.push({ method: 'GET', ...splitUrl(p), status: raw.statuses[i], clientPort: raw.localPort }));
      keepAliveGroups.push(pipelined.map(() => raw.localPort));

      // Let the last FIN/ACKs reach tcpdump, then stop it cleanly.
      await sleep(500);
      windowEndNs = BigInt(Date.now()) * 1_000_000n;
      await stopTcpdump(capture);
      // ("received by filter" counts every lo packet twice, outgoing and incoming: not comparable to
      // "captured". A capture cut short shows up in the tshark test below.)
    } catch (e) {
      keepDir = true;
      throw e;
    }
  });

  afterAll(async () => {
    await stopChildren([
      [tcpdump, 'SIGINT'],
      [nginx, 'SIGQUIT'],
    ]);
    if (!dir) return;
    if (keepDir) console.warn(`e2e nginx: kept ${dir} (nginx.conf, error.log, access.log, nginx.pcap, spans.otlp.jsonl)`);
    else rmSync(dir, { recursive: true, force: true });
  });

  it('made the exchanges it meant to (nginx answers as configured)', () => {
    onTestFailed(() => void (keepDir = true));
    expect(exchanges.map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual([
      'GET /hello 200',
      'GET /static/page.html 200',
      'GET /nope/missing.html 404',
      'POST /upload 201',
      'POST /upload 201',
      'HEAD /static/big.bin 200',
      'GET /gz/words.txt 200',
      'GET /hello 200',
      'GET /static/big.bin 200',
      'GET /hello 200',
      'GET /hello 200',
      'GET /static/page.html 200',
      'GET /pipelined/missing 404',
    ]);
    for (const g of keepAliveGroups) expect(new Set(g).size, `one connection for ${g.join(',')}`).toBe(1);
  });

  it('tshark (the oracle) sees the same requests and responses in the capture', () => {
    onTestFailed(() => void (keepDir = true));
    const requests = tsharkHttp(pcap, port, 'http.request', ['http.request.method', 'http.request.uri', 'tcp.srcport']);
    const seen = requests.map(([m, uri, sport]) => `${m} ${uri} (client port ${sport})`).sort();
    const sent = exchanges.map((e) => `${e.method} ${e.path}${e.query === undefined ? '' : `?${e.query}`} (client port ${e.clientPort})`).sort();
    expect(seen).toEqual(sent);

    const responses = tsharkHttp(pcap, port, 'http.response', ['http.response.code', 'http.transfer_encoding']);
    const codes = responses.map(([c]) => Number(c));
    // The capture must really contain the interim response the spans must not count.
    expect(codes.filter((c) => c === 100).length, 'nginx sent 100 Continue').toBeGreaterThanOrEqual(1);
    expect(codes.filter((c) => c !== 100).sort()).toEqual(exchanges.map((e) => e.status).sort());
    expect(responses.some(([, te]) => te === 'chunked'), 'a chunked response is in the capture').toBe(true);
  });

  it('spanwire replay writes one span per exchange with the right attributes', async () => {
    onTestFailed(() => void (keepDir = true));
    const out = await replayToOtlp(pcap, dir);
    const spans = readSpans(out);

    // Exactly one span per exchange: same method, path, query, final status, client port.
    expect(spans.map(key).sort()).toEqual(exchanges.map(key).sort());
    // The 100 Continue is not an exchange of its own.
    expect(spans.filter((s) => s.status === 100)).toEqual([]);
    // And the count agrees with tshark's request count.
    const tsharkRequests = tsharkHttp(pcap, port, 'http.request', ['http.request.method']);
    expect(spans.length).toBe(tsharkRequests.length);

    for (const s of spans) {
      const where = key(s);
      expect(s.name, where).toBe(s.method);
      expect(s.serverAddress, where).toBe('127.0.0.1');
      expect(s.serverPort, where).toBe(port);
      expect(s.clientAddress, where).toBe('127.0.0.1');
      expect(s.transport, where).toBe('tcp');
      expect(s.protocolVersion, where).toBe('1.1');
      expect(s.protocol, where).toBe('http1');
      // capture timestamps: inside the window the traffic was made in, start <= end
      expect(s.startNs <= s.endNs, where).toBe(true);
      expect(s.startNs >= windowStartNs - 1_000_000_000n && s.endNs <= windowEndNs + 1_000_000_000n, where).toBe(true);
    }
  });
});

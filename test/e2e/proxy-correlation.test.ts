/**
 * End to end, trace correlation across a proxy (issue 8, rule d): a real nginx reverse proxy on
 * 127.0.0.2 in front of a real nginx backend on 127.0.0.3, curl on 127.0.0.1 sending X-Request-ID,
 * captured by tcpdump on `lo`, replayed with `--correlate --local-address 127.0.0.2` (the proxy's host:
 * requests into it are SERVER spans, the requests it makes onwards CLIENT spans). Expected: each
 * outbound request is the child of the inbound request that carried the same id, in its trace; a
 * request without an id is not linked. Expectations come from the ids the test sent.
 * Needs root (tcpdump on lo) and nginx, tcpdump, curl (`bash test/setup-system.sh`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OtlpSpanView } from '../helpers/e2e.js';
import { IS_ROOT, SPANWIRE, freePort, nginxPrelude, readOtlpSpans, run, sleep, startTcpdump, stopChildren, stopTcpdump, which } from '../helpers/e2e.js';

if (!IS_ROOT) console.warn('\n*** SKIPPED test/e2e/proxy-correlation.test.ts: not root (tcpdump on lo needs root; CI runs as root) ***\n');

describe.skipIf(!IS_ROOT)('e2e: nginx proxy -> nginx backend, linked by x-request-id', () => {
  let dir = '';
  let nginx: ChildProcess | undefined;
  let tcpdump: ChildProcess | undefined;
  let spans: OtlpSpanView[] = [];
  const ids = [`req-${process.pid}-a`, `req-${process.pid}-b`];

  beforeAll(async () => {
    for (const bin of ['tcpdump', 'curl']) if (!which(bin)) throw new Error(`missing ${bin}: run bash test/setup-system.sh`);
    dir = mkdtempSync(join(tmpdir(), 'spanwire-e2e-proxy-'));
    mkdirSync(join(dir, 'tmp'));
    const proxyPort = await freePort();
    const backendPort = await freePort();
    writeFileSync(
      join(dir, 'nginx.conf'),
      `${nginxPrelude(dir)}
  server {
    listen 127.0.0.3:${backendPort};
    location / { return 200 "backend\\n"; }
  }
  server {
    listen 127.0.0.2:${proxyPort};
    location / {
      proxy_pass http://127.0.0.3:${backendPort};
      proxy_bind 127.0.0.2;
      proxy_http_version 1.1;
      proxy_set_header X-Request-ID $http_x_request_id;
    }
  }
}
`,
    );
    nginx = spawn('/usr/sbin/nginx', ['-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
    for (let i = 0; ; i++) {
      // nginx listens on 127.0.0.2 (waitListening knows only 127.0.0.1)
      const r = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.2:${proxyPort}/warmup`]).catch(() => null);
      if (r !== null && r.stdout === '200') break;
      if (i > 50) throw new Error(`nginx is not listening on 127.0.0.2:${proxyPort}: see ${dir}/error.log`);
      await sleep(100);
    }
    const cap = await startTcpdump(join(dir, 'proxy.pcap'), `tcp port ${proxyPort} or tcp port ${backendPort}`, (c) => (tcpdump = c));
    for (const id of ids) await run('curl', ['-s', '-o', '/dev/null', '-H', `X-Request-ID: ${id}`, `http://127.0.0.2:${proxyPort}/api/orders/${id}`]);
    await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.2:${proxyPort}/no-id`]);
    await sleep(300);
    await stopTcpdump(cap);
    const out = join(dir, 'spans.json');
    await run('node', [SPANWIRE, 'replay', join(dir, 'proxy.pcap'), '--correlate', '--local-address', '127.0.0.2', '--format', 'otlp-json', '-o', out, '-q']);
    spans = readOtlpSpans(out);
  }, 60_000);

  afterAll(async () => {
    await stopChildren([[tcpdump, 'SIGINT'], [nginx, 'SIGTERM']]);
    if (dir && process.env.SPANWIRE_E2E_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  });

  it('each outbound request is the child of the inbound request with the same id', () => {
    expect(spans.length).toBe(6); // 3 into the proxy (SERVER), 3 onwards (CLIENT)
    for (const id of ids) {
      const inbound = spans.filter((s) => s.kind === 2 && s.attrs['url.path'] === `/api/orders/${id}`);
      const outbound = spans.filter((s) => s.kind === 3 && s.attrs['url.path'] === `/api/orders/${id}`);
      expect([inbound.length, outbound.length], id).toEqual([1, 1]);
      expect(outbound[0].traceId, id).toBe(inbound[0].traceId);
      expect(outbound[0].parentSpanId, id).toBe(inbound[0].spanId);
      expect(outbound[0].attrs['spanwire.link.method'], id).toBe('x-request-id');
      expect(outbound[0].attrs['client.address']).toBe('127.0.0.2');
      expect(outbound[0].attrs['server.address']).toBe('127.0.0.3');
    }
  });

  it('a request without an id is not linked', () => {
    const noId = spans.filter((s) => s.attrs['url.path'] === '/no-id');
    expect(noId.length).toBe(2);
    expect(noId.map((s) => s.parentSpanId)).toEqual(['', '']);
    expect(noId[0].traceId).not.toBe(noId[1].traceId);
  });
});

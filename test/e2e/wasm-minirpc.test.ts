/**
 * Example (a) end to end: the minirpc plugin (examples/wasm-minirpc) built with `spanwire plugin build`,
 * the example Node server and client on loopback captured by tcpdump, then `spanwire replay --plugin`
 * and `spanwire plugin test`. Expected values come from what the client sent and received (its JSON
 * lines), never from spanwire's output.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, ROOT, SPANWIRE, freePort, readOtlpSpans, run, startTcpdump, stopChildren, stopTcpdump, waitListening, which } from '../helpers/e2e.js';
import type { OtlpSpanView } from '../helpers/e2e.js';
import { tempDir } from '../helpers/pcap-builder.js';

interface Call {
  id: number;
  method: string;
  oneWay: boolean;
  traceparent: string;
  requestSize: number;
  status?: number;
  responseSize?: number;
  error?: string;
}

const EXAMPLE = join(ROOT, 'examples', 'wasm-minirpc');

describe.skipIf(!IS_ROOT || !which('tcpdump'))('e2e: minirpc plugin on a real Node server and client', () => {
  const dir = tempDir('spanwire-minirpc-');
  const wasm = join(dir, 'minirpc.wasm');
  const pcap = join(dir, 'minirpc.pcap');
  let server: ChildProcess | undefined;
  let tcpdump: ChildProcess | undefined;
  let calls: Call[] = [];
  let spans: OtlpSpanView[] = [];
  let replayStderr = '';
  let port = 0;

  beforeAll(async () => {
    const build = await run(process.execPath, [SPANWIRE, 'plugin', 'build', EXAMPLE, '-o', wasm], 120_000);
    expect(build.stdout).toMatch(/built .*minirpc\.wasm/);
    port = await freePort();
    server = spawn(process.execPath, [join(EXAMPLE, 'server.mjs'), String(port)], { stdio: 'ignore' });
    await waitListening(port, server, 'minirpc server');
    const cap = await startTcpdump(pcap, `tcp port ${port}`, (c) => (tcpdump = c));
    const client = await run(process.execPath, [join(EXAMPLE, 'client.mjs'), String(port)]);
    calls = client.stdout.trim().split('\n').map((l) => JSON.parse(l) as Call);
    await new Promise((r) => setTimeout(r, 300));
    await stopTcpdump(cap);
    const out = join(dir, 'spans.jsonl');
    const r = await run(process.execPath, [SPANWIRE, 'replay', pcap, '--plugin', wasm, '-o', out, '--seed', '1']);
    replayStderr = r.stderr;
    spans = readOtlpSpans(out);
  }, 180_000);

  afterAll(async () => {
    await stopChildren([
      [tcpdump, 'SIGINT'],
      [server, 'SIGTERM'],
    ]);
  });

  it('makes one span per call, named by the method, with the protocol name of the plugin', () => {
    expect(calls).toHaveLength(9);
    expect(spans).toHaveLength(calls.length);
    for (const s of spans) {
      expect(s.attrs['spanwire.protocol']).toBe('minirpc');
      expect(s.attrs['rpc.system.name']).toBe('minirpc');
      expect(s.attrs['server.port']).toBe(port);
    }
    expect(spans.map((s) => s.name).sort()).toEqual(calls.map((c) => c.method).sort());
    expect(replayStderr).toMatch(/flows: 1 \(minirpc 1\)/);
    expect(replayStderr).toMatch(/plugin minirpc .*traps 0 .*bad results 0, bad records 0/);
  });

  it('pairs responses by request id, also when answered out of order, with status and errors from the server', () => {
    for (const c of calls) {
      // A response's status is on the span that carries the request's method: find it by method and size.
      const s = spans.find((x) => x.name === c.method && (c.status === undefined ? x.attrs['rpc.response.status_code'] === undefined : x.attrs['rpc.response.status_code'] === String(c.status)));
      expect(s, `${c.method} ${c.id}`).toBeDefined();
      if (c.oneWay) {
        expect(s!.status.code).toBe(0);
        continue;
      }
      expect(s!.status.code).toBe(c.status === 0 ? 0 : 2);
      if (c.status !== 0) {
        expect(s!.attrs['error.type']).toBe(String(c.status));
        expect(s!.attrs['minirpc.error_message']).toBe(c.error);
      }
    }
    // The slow call was sent before the fast one and answered after it: its span is the longer one.
    const slow = spans.find((s) => s.name === 'Slow')!;
    expect(Number(slow.endNs - slow.startNs)).toBeGreaterThan(100e6);
    expect(slow.status.code).toBe(0);
  });

  it('joins the trace carried in the request', () => {
    const traced = calls.find((c) => c.traceparent !== '')!;
    const [, traceId, parent] = traced.traceparent.split('-');
    const s = spans.filter((x) => x.traceId === traceId);
    expect(s).toHaveLength(1);
    expect(s[0].parentSpanId).toBe(parent);
    expect(s[0].attrs['spanwire.link.method']).toBe('traceparent');
  });

  it('a frame larger than the input window is still one message of the right size', async () => {
    const big = calls.find((c) => c.requestSize > 100_000)!;
    const out = await run(process.execPath, [SPANWIRE, 'plugin', 'test', wasm, pcap]);
    const reqLines = out.stdout.split('\n').filter((l) => l.includes('request ') && l.includes(`session=${big.id} `));
    expect(reqLines).toHaveLength(1);
    expect(reqLines[0]).toContain(`size=${big.requestSize}`);
    const respLine = out.stdout.split('\n').find((l) => l.includes('response') && l.includes(`session=${big.id} `))!;
    expect(respLine).toContain(`size=${big.responseSize}`);
    // Every call made appears, as emitted by the plugin.
    for (const c of calls) expect(out.stdout).toContain(`session=${c.id} `);
    expect(out.stdout.match(/one-way/g)).toHaveLength(1);
    const errors = calls.filter((c) => !c.oneWay && c.status !== 0).length;
    expect(out.stderr).toContain(`${calls.length} spans (${errors} errors)`);
  });
});

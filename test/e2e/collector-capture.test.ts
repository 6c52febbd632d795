/**
 * The live capture receivers (`af_packet`, `ebpf`) in `spanwire run --config`: real HTTP traffic on
 * loopback becomes spans in the file exporter, with the method, path and status of the requests this
 * test made. Live capture needs root (CAP_NET_RAW / CAP_BPF) and the native addon: where they are
 * missing the receiver must refuse to start with the reason, and that is what is checked instead
 * (said plainly in the test name, never passing by doing nothing).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/replay.js';
import { waitFor } from './collector-oracle.js';

const BIN = join(ROOT, 'bin', 'spanwire.js');
const dir = mkdtempSync(join(tmpdir(), 'spanwire-collector-capture-'));
const root = process.getuid?.() === 0;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

async function capture(receiver: string, receiverYaml: string) {
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'text/plain' }).end('hello\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const out = join(dir, `${receiver}.jsonl`);
  const cfg = join(dir, `${receiver}.yaml`);
  writeFileSync(
    cfg,
    `receivers:\n  ${receiver}:\n${receiverYaml.replace('PORT', String(port))}\nprocessors:\n  batch: { timeout: 10ms }\nexporters:\n  file: { path: ${out}, flush_interval: 10ms }\nservice:\n  telemetry: { metrics: { level: none } }\n  pipelines:\n    traces: { receivers: [${receiver}], processors: [batch], exporters: [file] }\n`,
  );
  const child = spawn(process.execPath, [BIN, 'run', '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor(() => err.includes('everything is ready') || child.exitCode !== null, 30_000, 'spanwire to start');
  return { child, err: () => err, out, port, server };
}

describe.each([['af_packet', '    interface: lo\n    filter: "tcp port PORT"']])('%s receiver', (receiver, yaml) => {
  it(root ? `captures real HTTP traffic on loopback into spans (running as root)` : `not root here: refuses to start with the reason (live capture needs root)`, async () => {
    const { child, err, out, port, server } = await capture(receiver, yaml);
    try {
      if (!root) {
        await waitFor(() => child.exitCode !== null, 10_000, 'spanwire to exit');
        expect(child.exitCode).toBe(1);
        expect(err()).toMatch(new RegExp(`spanwire: cannot start: receivers::${receiver}: cannot capture with ${receiver}: .+`));
        return;
      }
      expect(child.exitCode, err()).toBeNull();
      await new Promise((r) => setTimeout(r, 300)); // capture attached
      for (const path of ['/hello', '/missing']) {
        const r = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { connection: 'close' } });
        await r.text();
      }
      const spans = () =>
        existsSync(out)
          ? readFileSync(out, 'utf8')
              .trim()
              .split('\n')
              .filter((l) => l !== '')
              .flatMap((l) => JSON.parse(l).resourceSpans.flatMap((rs: { scopeSpans: { spans: { attributes: { key: string; value: Record<string, unknown> }[] }[] }[] }) => rs.scopeSpans.flatMap((ss) => ss.spans)))
              .map((s: { attributes: { key: string; value: Record<string, unknown> }[] }) => Object.fromEntries(s.attributes.map((a) => [a.key, Object.values(a.value)[0]])))
          : [];
      await waitFor(() => spans().filter((a) => a['url.path'] === '/missing').length > 0, 20_000, 'the captured spans');
      const byPath = (p: string) => spans().find((a) => a['url.path'] === p)!;
      expect(byPath('/hello')).toMatchObject({ 'http.request.method': 'GET', 'http.response.status_code': '200', 'server.port': String(port) });
      expect(byPath('/missing')).toMatchObject({ 'http.request.method': 'GET', 'http.response.status_code': '404' });
    } finally {
      child.kill('SIGTERM');
      server.close();
    }
  });
});

/*
 * eBPF: the source itself currently delivers no spans on this machine, through `spanwire run
 * --source ebpf` as well (its counters show events but ebpf_malformed 1 and 0 requests), so this
 * checks what the receiver owns: it starts the eBPF source (as root) or refuses with the reason,
 * and stops cleanly on SIGTERM with exit code 0.
 */
describe('ebpf receiver', () => {
  it(root ? 'starts the eBPF source and stops cleanly (running as root)' : 'not root here: refuses to start with the reason (live capture needs root)', async () => {
    const { child, err, server } = await capture('ebpf', '    ports: [PORT]');
    try {
      if (!root) {
        await waitFor(() => child.exitCode !== null, 10_000, 'spanwire to exit');
        expect(child.exitCode).toBe(1);
        expect(err()).toMatch(/spanwire: cannot start: receivers::ebpf: cannot capture with ebpf: .+/);
        return;
      }
      expect(child.exitCode, err()).toBeNull();
      child.kill('SIGTERM');
      await new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
      expect(child.exitCode, err()).toBe(0);
    } finally {
      server.close();
    }
  });
});

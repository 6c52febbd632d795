/**
 * The command line as a user runs it (`node bin/spanwire.js`; `npm test` compiles dist/ first):
 * exit codes, messages, and that bad input never clobbers an output file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/replay.js';

const BIN = join(ROOT, 'bin', 'spanwire.js');
const DEMO = join(ROOT, 'examples/captures/http1-demo.pcap');
const dir = mkdtempSync(join(tmpdir(), 'spanwire-cli-'));

function spanwire(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('spanwire replay (CLI)', () => {
  it('exits 2 with a clear message for a file that is not a capture, and leaves the output alone', () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello world\n');
    const out = join(dir, 'keep.jsonl');
    writeFileSync(out, 'previous\n');
    const r = spanwire('replay', text, '-o', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${text}: not a pcap or pcapng capture`);
    expect(readFileSync(out, 'utf8')).toBe('previous\n');
  });

  it('exits 2 for a missing file and for an output that cannot be written', () => {
    const missing = spanwire('replay', join(dir, 'nope.pcap'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
    const unwritable = spanwire('replay', DEMO, '-o', join(dir, 'no/such/dir/out.jsonl'));
    expect(unwritable.code).toBe(2);
    expect(unwritable.stderr).toContain('cannot write');
  });

  it('warns about a truncated last record, processes what came before, and exits 0', () => {
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, readFileSync(DEMO).subarray(0, 20000));
    const stats = join(dir, 'stats.json');
    const r = spanwire('replay', cut, '-f', 'otlp-json', '--stats', stats);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('truncated capture');
    const s = JSON.parse(readFileSync(stats, 'utf8'));
    expect(s.files[0].truncated).toBe(true);
    expect(s.spans).toBeGreaterThan(0);
    // Every stdout line is one OTLP ExportTraceServiceRequest.
    for (const line of r.stdout.trim().split('\n')) expect(JSON.parse(line).resourceSpans.length).toBeGreaterThan(0);
  });

  it('writes OTLP/JSON lines to -o and a people table with --format table', () => {
    const out = join(dir, 'spans.jsonl');
    expect(spanwire('replay', DEMO, '-o', out, '-q').code).toBe(0);
    const spans = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .flatMap((l) => JSON.parse(l).resourceSpans.flatMap((r: { scopeSpans: { spans: unknown[] }[] }) => r.scopeSpans.flatMap((s) => s.spans)));
    // The demo capture holds 7 exchanges (tshark: 7 http.request, see test/golden/http1.test.ts).
    expect(spans.length).toBe(7);
    const table = spanwire('replay', DEMO, '--format', 'table', '-q');
    expect(table.stdout.split('\n')[0]).toMatch(/^START \(UTC\)\s+DURATION\s+CLIENT -> SERVER/);
    expect(table.stdout.trim().split('\n').length).toBe(8);
  });

  it('--parser-option: SQL literals only when asked (the capture inserted the literal \'yuanchao-test\'), unknown protocols refused', () => {
    const pcap = join(ROOT, '../shared/pcaps/deepflow/mysql/mysql-table-insert.pcap');
    const redacted = spanwire('replay', pcap, '--format', 'otlp-json', '-q');
    expect(redacted.code).toBe(0);
    expect(redacted.stdout).toContain('insert into tmp (id,lcuuid) values (?,?)');
    expect(redacted.stdout).not.toContain('yuanchao-test');
    const full = spanwire('replay', pcap, '--format', 'otlp-json', '-q', '--parser-option', 'mysql.db_query_text=full');
    expect(full.stdout).toContain("insert into tmp (id,lcuuid) values (1000,'yuanchao-test')");
    const bad = spanwire('replay', pcap, '--parser-option', 'nosuch.x=1');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unknown protocol "nosuch": one of http1, http2, dns, redis, postgresql, mysql');
  });

  it('--metrics-out: RED metrics after the replay, one histogram count per (method, status) as tshark sees the exchanges', () => {
    const out = join(dir, 'metrics.jsonl');
    const r = spanwire('replay', DEMO, '-q', '-o', join(dir, 'spans.jsonl'), '--metrics-out', out);
    expect(r.code).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.length).toBe(1);
    const counts: Record<string, number> = {};
    for (const rm of JSON.parse(lines[0]).resourceMetrics)
      for (const sm of rm.scopeMetrics)
        for (const m of sm.metrics) {
          expect([m.name, m.unit, m.histogram.aggregationTemporality]).toEqual(['http.client.request.duration', 's', 2]);
          for (const p of m.histogram.dataPoints) {
            const a = Object.fromEntries(p.attributes.map((x: { key: string; value: Record<string, unknown> }) => [x.key, Object.values(x.value)[0]]));
            const k = `${a['http.request.method']} ${a['http.response.status_code']}`;
            counts[k] = (counts[k] ?? 0) + Number(p.count);
          }
        }
    const expected: Record<string, number> = {};
    // requests and responses in capture order (one exchange at a time per connection in this capture)
    const field = (filter: string, f: string) => spawnSync('tshark', ['-r', DEMO, '-Y', filter, '-T', 'fields', '-e', f], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l !== '');
    const methods = field('http.request', 'http.request.method');
    const codes = field('http.response', 'http.response.code');
    expect(methods.length).toBe(codes.length);
    methods.forEach((m, i) => (expected[`${m} ${codes[i]}`] = (expected[`${m} ${codes[i]}`] ?? 0) + 1));
    expect(counts).toEqual(expected);
  });

  it('rejects an unknown format as a usage error', () => {
    const r = spanwire('replay', DEMO, '--format', 'xml');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Allowed choices are otlp-json, table');
  });
});

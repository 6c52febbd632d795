/**
 * `spanwire plugin new` -> `spanwire plugin build` -> the scaffold's own test (node --test), and the
 * CLI's error paths. Runs the installed CLI (bin/spanwire.js over dist/).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SPANWIRE, run } from '../helpers/e2e.js';
import { tempDir } from '../helpers/pcap-builder.js';

function runStatus(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [SPANWIRE, ...args], { timeout: 120_000 }, (err, stdout, stderr) =>
      res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('spanwire plugin new / build / test', () => {
  it('scaffolds a plugin that builds and passes its own test', async () => {
    const dir = join(tempDir('spanwire-scaffold-'), 'kvline');
    const created = await run(process.execPath, [SPANWIRE, 'plugin', 'new', 'kvline', '--dir', dir]);
    expect(created.stdout).toContain('assembly/index.ts');
    const built = await run(process.execPath, [SPANWIRE, 'plugin', 'build', dir], 120_000);
    expect(built.stdout).toMatch(/built .*kvline\.wasm/);
    expect(existsSync(join(dir, 'build', 'kvline.wasm'))).toBe(true);
    const t = await run(process.execPath, ['--test', join(dir, 'test')], 60_000);
    expect(t.stdout).toMatch(/# pass 1/);
    expect(t.stdout).toMatch(/# fail 0/);
    // A second `new` on the same folder refuses to overwrite it.
    const again = await runStatus(['plugin', 'new', 'kvline', '--dir', dir]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('exists already');
  }, 180_000);

  it('reports compile errors and bad names', async () => {
    const bad = await runStatus(['plugin', 'new', 'Bad-Name', '--dir', join(tempDir(), 'x')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('bad plugin name');
    const none = await runStatus(['plugin', 'build', tempDir()]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('assembly/index.ts not found');
  });

  it('replay --plugin fails cleanly on a file that is not a plugin', async () => {
    const r = await runStatus(['replay', join(SPANWIRE, '../../examples/captures/http1-demo.pcap'), '--plugin', SPANWIRE, '-q']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/spanwire: .*spanwire\.js: not a valid WebAssembly module/);
  });
});

/**
 * Fuzzing the whole replay pipeline with mutated real captures: it must never throw (other than a
 * clean CaptureFileError for a file that is no longer a capture) and never hang.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureFileError } from '../../core/capture/types.js';
import { runReplay } from '../../core/pipeline/replay.js';
import { PCAPS, ROOT } from '../helpers/replay.js';

const seeds: Buffer[] = [
  readFileSync(resolve(ROOT, 'examples/captures/http1-demo.pcap')),
  ...readdirSync(resolve(PCAPS, 'deepflow/http'))
    .filter((f) => f.endsWith('.pcap'))
    .map((f) => readFileSync(resolve(PCAPS, 'deepflow/http', f))),
];

const dir = mkdtempSync(join(tmpdir(), 'spanwire-fuzz-'));
let n = 0;

async function replayBytes(bytes: Uint8Array): Promise<void> {
  const path = join(dir, `f${n++}.pcap`);
  writeFileSync(path, bytes);
  try {
    const summary = await runReplay({ files: [path], consumer: { consumeTraces() {} }, idSeed: 1, chunkSize: 977 });
    expect(summary.packets).toBeGreaterThanOrEqual(0);
  } catch (e) {
    if (!(e instanceof CaptureFileError)) throw e;
  }
}

describe('replay fuzzing', () => {
  it('survives byte flips, truncations and splices of real captures', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 40 }),
        fc.option(fc.nat(), { nil: undefined }),
        async (which, flips, cut) => {
          const b = Uint8Array.from(seeds[which]);
          // Keep the 24-byte file header intact most of the time so the packets are exercised.
          for (const [pos, val] of flips) b[24 + (pos % Math.max(1, b.length - 24))] = val;
          const bytes = cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
          await replayBytes(bytes);
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  }, 120_000);

  it('survives random payloads inside valid records', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 3000 }), async (junk) => {
        // One valid pcap header + records whose contents are random.
        const header = seeds[0].subarray(0, 24);
        const recs: Buffer[] = [];
        for (let off = 0; off < junk.length; off += 300) {
          const body = junk.subarray(off, off + 300);
          const h = Buffer.alloc(16);
          h.writeUInt32LE(1700000000 + off, 0);
          h.writeUInt32LE(body.length, 8);
          h.writeUInt32LE(body.length, 12);
          recs.push(h, Buffer.from(body));
        }
        await replayBytes(Buffer.concat([header, ...recs]));
      }),
      { numRuns: 200, seed: 7 },
    );
  }, 120_000);
});

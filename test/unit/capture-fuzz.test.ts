/**
 * Fuzzing the capture reader: valid pcap / pcapng / gzip images, mutated (byte overwrites, truncation,
 * inserted garbage) and read with random chunk sizes. `run` must either resolve (any number of
 * packets, every frame inside its record) or reject with CaptureFileError; never another error,
 * never hang. Chunking must not change the result.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCaptureFileSource } from '../../core/capture/pcap-file.js';
import { CaptureFileError, TimeBase, type CaptureSummary } from '../../core/capture/types.js';
import { PacketDecoder } from '../../core/decode/decoder.js';
import { DecodedPacket } from '../../core/decode/types.js';
import { buildPcap, buildPcapng, ethernet, tcpIp, tempDir, udpIp } from '../helpers/pcap-builder.js';

let dir = '';
beforeAll(() => {
  dir = tempDir('spanwire-capfuzz-');
});

const frames = [
  ethernet(tcpIp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, payload: 'abc' })),
  ethernet(udpIp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, payload: new Uint8Array(90) })),
  ethernet(tcpIp({ src: '2001::1', dst: '2001::2', sport: 1, dport: 2, payload: 'x' })),
];
const SEEDS: Uint8Array[] = [
  buildPcap(frames),
  buildPcap(frames, { nanos: true, bigEndian: true }),
  buildPcapng([{ interfaces: [{ linkType: 1, tsresol: 9 }, { linkType: 101 }], frames: [...frames, { data: frames[0].subarray(14), interfaceId: 1 }], extraBlocks: true }]),
  buildPcapng([
    { bigEndian: true, interfaces: [{ linkType: 1 }], frames, blockType: 'spb' },
    { interfaces: [{ linkType: 1, tsresol: 0x80 | 10 }], frames, blockType: 'pb', sectionLength: 'auto' },
  ]),
];
const GZ_SEEDS = SEEDS.map((s) => gzipSync(s));

interface Outcome {
  summary?: CaptureSummary;
  frames: string[];
  error?: string;
}

async function readAll(path: string, chunkSize: number): Promise<Outcome> {
  const seen: string[] = [];
  const decoder = new PacketDecoder();
  const out = new DecodedPacket();
  try {
    const summary = await createCaptureFileSource(path, { chunkSize }).run(
      {
        onPacket(p) {
          expect(p.offset).toBeGreaterThanOrEqual(0);
          expect(p.offset + p.caplen).toBeLessThanOrEqual(p.buf.length);
          decoder.decode(p, out);
          seen.push(`${p.frameNumber}/${p.linkType}/${p.interfaceId}/${p.ts}/${p.origLen}/${Buffer.from(p.buf.subarray(p.offset, p.offset + p.caplen)).toString('hex')}`);
        },
      },
      new TimeBase(),
    );
    expect(summary.packets).toBe(seen.length);
    return { summary, frames: seen };
  } catch (e) {
    if (!(e instanceof CaptureFileError)) throw e;
    return { frames: seen, error: e.message };
  }
}

const mutation = fc.record({
  seed: fc.nat(SEEDS.length - 1),
  gzip: fc.boolean(),
  writes: fc.array(fc.tuple(fc.nat(2000), fc.nat(255)), { maxLength: 5 }),
  insert: fc.option(fc.tuple(fc.nat(2000), fc.uint8Array({ minLength: 1, maxLength: 40 })), { freq: 4 }),
  cut: fc.option(fc.nat(2000), { freq: 3 }),
  chunk: fc.integer({ min: 1, max: 300 }),
});

describe('capture reader fuzz', () => {
  it('mutated files resolve or reject with CaptureFileError, independently of chunking', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        let img = Buffer.from(m.gzip ? GZ_SEEDS[m.seed] : SEEDS[m.seed]);
        for (const [pos, v] of m.writes) img[pos % img.length] = v;
        if (m.insert) {
          const at = m.insert[0] % img.length;
          img = Buffer.concat([img.subarray(0, at), m.insert[1], img.subarray(at)]);
        }
        if (m.cut !== null) img = img.subarray(0, m.cut % (img.length + 1));
        const f = join(dir, `m${n++ % 8}.bin`);
        writeFileSync(f, img);
        const a = await readAll(f, m.chunk);
        const b = await readAll(f, 1 << 20);
        // bytesRead may differ: reading stops early once a record is known to run past the end.
        if (a.summary && b.summary) a.summary.bytesRead = b.summary.bytesRead;
        expect(a).toEqual(b);
      }),
      { numRuns: 600 },
    );
  });
});

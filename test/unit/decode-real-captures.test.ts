/**
 * Golden test over the real captures of the DeepFlow corpus (../shared/pcaps/deepflow, read in place):
 * every frame read and decoded by spanwire must match tshark (frame number, time, addresses, ports,
 * sequence numbers, flags, payload length and payload bytes).
 */
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DECODE_OK } from '../../core/decode/types.js';
import { decodeCaptureFile, tsharkPackets } from '../helpers/pcap-builder.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CORPUS = resolve(ROOT, '../shared/pcaps/deepflow');

function listPcaps(d: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(d)) {
    const p = join(d, e);
    if (statSync(p).isDirectory()) out.push(...listPcaps(p));
    else if (e.endsWith('.pcap')) out.push(p);
  }
  return out.sort();
}

const files = listPcaps(CORPUS);

describe('DeepFlow corpus vs tshark', () => {
  it('has the corpus', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  for (const file of files) {
    it(relative(CORPUS, file), async () => {
      const { rows, decoder, summary } = await decodeCaptureFile(file);
      const t = tsharkPackets(file);
      expect(summary.truncated).toBe(false);
      expect(rows.length).toBe(t.length);
      let transports = 0;
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i];
        const x = t[i];
        const label = `frame ${x.frameNumber} (${x.protocols})`;
        expect(r.frameNumber, label).toBe(x.frameNumber);
        // Times relative to the first frame.
        expect(r.ts - rows[0].ts, label).toBe((x.time[0] - t[0].time[0]) * 1e9 + x.time[1] - t[0].time[1]);
        if (x.transport === '') {
          expect(r.code, label).not.toBe(DECODE_OK);
          continue;
        }
        transports++;
        expect(r.code, label).toBe(DECODE_OK);
        expect([r.ipVersion, r.src, r.dst, r.protocol, r.srcPort, r.dstPort, r.seq, r.ack, r.tcpFlags, r.wireLength], label).toEqual([
          x.ipVersion, x.src, x.dst, x.transport === 'tcp' ? 6 : 17, x.srcPort, x.dstPort, x.seq, x.ack, x.tcpFlags, x.wireLength,
        ]);
        expect(Buffer.from(r.payload).toString('hex'), label).toBe(x.payloadHex);
      }
      expect(decoder.stats.decoded).toBe(transports);
      expect(decoder.stats.anomalies).toEqual({});
    });
  }
});

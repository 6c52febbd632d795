/**
 * Capture file reader: formats, byte orders, timestamp resolutions, chunking, gzip and bad input.
 * Oracle: tshark (frame numbers, lengths, timestamps, interfaces) and the bytes we built.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync, createWriteStream } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCaptureFileSource, MAX_CAPTURE_RECORD_BYTES } from '../../core/capture/pcap-file.js';
import {
  CaptureFileError,
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_RAW,
  TimeBase,
  type RawPacket,
} from '../../core/capture/types.js';
import {
  buildPcap,
  buildPcapng,
  ethernet,
  readCaptureFrames,
  tcpIp,
  tcpPacket,
  tempDir,
  tshark,
  udpIp,
  writePcap,
  writePcapng,
  type Frame,
  type ReadFrame,
} from '../helpers/pcap-builder.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CORPUS = resolve(ROOT, '../shared/pcaps/deepflow');
const REAL = [
  'http/httpv1.pcap',
  'redis/redis.pcap',
  'mysql/171-mysql.pcap',
  'kafka/01-fetch-v12-unknown.pcap', // nanosecond magic
  'dns/a-and-ns.pcap',
  'postgresql/pgsql-all.pcap',
];

let dir = '';
beforeAll(() => {
  dir = tempDir('spanwire-capture-');
});

/** What tshark says about every frame: number, cap_len, len, epoch time, interface. */
function tsharkFrames(file: string): { n: number; caplen: number; len: number; time: [number, number]; iface: number }[] {
  return tshark(file, ['frame.number', 'frame.cap_len', 'frame.len', 'frame.time_epoch', 'frame.interface_id']).map((r) => {
    const [s, ns = '0'] = r[3].split('.');
    return { n: Number(r[0]), caplen: Number(r[1]), len: Number(r[2]), time: [Number(s), Number(ns.padEnd(9, '0'))], iface: Number(r[4] || 0) };
  });
}

/** Two reads of the same file gave the same frames (metadata and bytes). */
function sameFrames(a: ReadFrame[], b: ReadFrame[]): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    expect(a[i].frameNumber).toBe(b[i].frameNumber);
    expect(a[i].ts).toBe(b[i].ts);
    expect(a[i].caplen).toBe(b[i].caplen);
    expect(a[i].origLen).toBe(b[i].origLen);
    expect(a[i].linkType).toBe(b[i].linkType);
    expect(a[i].interfaceId).toBe(b[i].interfaceId);
    expect(Buffer.from(a[i].data).equals(Buffer.from(b[i].data))).toBe(true);
  }
}

/**
 * Compares with tshark frame by frame. `nonPackets` frames shown by tshark are not packets (pcapng
 * custom / journal blocks): they must be absent from ours, with their numbers skipped.
 */
function expectMatchesTshark(file: string, frames: ReadFrame[], nonPackets = 0): void {
  const all = tsharkFrames(file);
  const ours = new Set(frames.map((f) => f.frameNumber));
  const t = all.filter((x) => ours.has(x.n));
  expect(all.length - t.length).toBe(nonPackets);
  expect(frames.map((f) => f.frameNumber)).toEqual(t.map((x) => x.n));
  expect(frames.map((f) => f.caplen)).toEqual(t.map((x) => x.caplen));
  expect(frames.map((f) => f.origLen)).toEqual(t.map((x) => x.len));
  expect(frames.map((f) => f.time)).toEqual(t.map((x) => x.time));
}

/** A few frames of assorted sizes. */
function sampleFrames(n = 12): Frame[] {
  const frames: Frame[] = [];
  for (let i = 0; i < n; i++) {
    frames.push({
      data: tcpPacket({ src: '10.1.0.1', dst: '10.1.0.2', sport: 40000 + i, dport: 80, seq: i * 1000, payload: 'x'.repeat((i * 37) % 300) }),
      ts: [1700000000 + i, (i * 123456789) % 1e9],
    });
  }
  return frames;
}

describe('pcap', () => {
  for (const nanos of [false, true]) {
    for (const bigEndian of [false, true]) {
      it(`reads ${nanos ? 'ns' : 'us'} ${bigEndian ? 'big' : 'little'}-endian files like tshark`, async () => {
        const frames = sampleFrames().map((f) => ({ ...f, ts: [(f.ts as number[])[0], nanos ? (f.ts as number[])[1] : Math.floor((f.ts as number[])[1] / 1000) * 1000] as [number, number] }));
        const file = writePcap(join(dir, `s-${nanos}-${bigEndian}.pcap`), frames, { nanos, bigEndian });
        const { frames: got, summary } = await readCaptureFrames(file);
        expect(summary).toMatchObject({ packets: frames.length, truncated: false, format: 'pcap', bytesRead: statSync(file).size });
        expect(got.map((f) => f.linkType)).toEqual(frames.map(() => LINKTYPE_ETHERNET));
        expectMatchesTshark(file, got);
        // Bytes are the frames we wrote.
        got.forEach((g, i) => expect(Buffer.from(g.data).equals(Buffer.from(frames[i].data))).toBe(true));
        // Relative time: first packet at 0.
        expect(got[0].ts).toBe(frames[0].ts instanceof Array ? frames[0].ts[1] : 0);
      });
    }
  }

  it('masks the FCS bits of the link-type field', async () => {
    const frames = sampleFrames(2);
    // LinkType 1 with "FCS length present" (bit 26) and FCS length 2 (x 16 bits) in bits 28-31.
    const file = writePcap(join(dir, 'fcs.pcap'), frames, { linkTypeField: 1 | 0x04000000 | (2 << 28) });
    const { frames: got, summary } = await readCaptureFrames(file);
    expect(got.map((f) => f.linkType)).toEqual([1, 1]);
    expect(summary.anomalies).toEqual({});
    expect(tshark(file, ['frame.protocols'])[0][0]).toMatch(/^eth:/);
  });

  it('keeps caplen < origLen for snap-length captures', async () => {
    const frames = sampleFrames(6);
    const file = writePcap(join(dir, 'snap.pcap'), frames, { snaplen: 100 });
    const { frames: got } = await readCaptureFrames(file);
    expectMatchesTshark(file, got);
    got.forEach((g, i) => {
      expect(g.caplen).toBe(Math.min(100, frames[i].data.length));
      expect(g.origLen).toBe(frames[i].data.length);
    });
  });

  it('reads real captures like tshark (including the nanosecond one)', async () => {
    for (const rel of REAL) {
      const file = join(CORPUS, rel);
      const { frames, summary } = await readCaptureFrames(file);
      expect(summary.truncated).toBe(false);
      expect(summary.packets).toBe(frames.length);
      expectMatchesTshark(file, frames);
    }
  });

  it('reports frames as views into the chunk, one RawPacket reused', async () => {
    const file = writePcap(join(dir, 'reuse.pcap'), sampleFrames(5));
    const seen = new Set<RawPacket>();
    const bufs = new Set<Uint8Array>();
    await createCaptureFileSource(file).run({ onPacket: (p) => (seen.add(p), bufs.add(p.buf)) }, new TimeBase());
    expect(seen.size).toBe(1);
    expect(bufs.size).toBe(1);
  });
});

describe('chunk boundaries', () => {
  it('gives the same frames for every chunk size (records straddling chunks)', async () => {
    const pcap = writePcap(join(dir, 'chunks.pcap'), sampleFrames(20), { nanos: true, bigEndian: true });
    const ng = join(dir, 'chunks.pcapng');
    writeFileSync(
      ng,
      buildPcapng([
        { interfaces: [{ linkType: 1, tsresol: 9 }], frames: sampleFrames(8), extraBlocks: true },
        { bigEndian: true, interfaces: [{ linkType: 101 }], frames: sampleFrames(5).map((f) => ({ ...f, data: f.data.subarray(14) })) },
      ]),
    );
    for (const file of [pcap, ng, join(CORPUS, 'http/httpv1.pcap')]) {
      const whole = await readCaptureFrames(file);
      expectMatchesTshark(file, whole.frames, file === ng ? 1 : 0); // one custom block in `ng`
      for (const chunkSize of [1, 2, 3, 5, 7, 13, 16, 17, 24, 25, 64, 100, 333, 4096]) {
        const got = await readCaptureFrames(file, { chunkSize });
        expect(got.summary).toEqual(whole.summary);
        sameFrames(got.frames, whole.frames);
      }
    }
  });

  it('handles a record larger than the chunk and the initial scratch buffer', async () => {
    const big = ethernet(udpIp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, payload: new Uint8Array(60000).fill(7) }));
    const frames = [big, big, sampleFrames(1)[0].data];
    const file = writePcap(join(dir, 'bigrec.pcap'), frames);
    const got = await readCaptureFrames(file, { chunkSize: 1000 });
    expect(got.frames.map((f) => f.caplen)).toEqual(frames.map((f) => f.length));
    sameFrames(got.frames, (await readCaptureFrames(file)).frames);
  });
});

describe('pcapng', () => {
  it('reads several sections with their own byte order, interfaces, resolutions and block types', async () => {
    const t4 = tcpIp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, payload: 'abc' });
    const file = join(dir, 'multi.pcapng');
    writeFileSync(
      file,
      buildPcapng([
        {
          interfaces: [
            { linkType: LINKTYPE_ETHERNET, tsresol: 9 },
            { linkType: LINKTYPE_RAW, tsresol: 0x80 | 20 },
            { linkType: LINKTYPE_LINUX_SLL },
          ],
          frames: [
            { data: ethernet(t4), ts: [1700000000, 123456789] },
            { data: t4, interfaceId: 1, ts: [1700000001, 500000000] },
            { data: ethernet(t4), ts: [1700000002, 1] },
            { data: new Uint8Array([0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 8, 0, ...t4]), interfaceId: 2, ts: [1700000002, 999999000] },
          ],
          extraBlocks: true,
        },
        { bigEndian: true, interfaces: [{ linkType: LINKTYPE_RAW, tsresol: 3 }], frames: [{ data: t4, ts: [1700000010, 250000000] }] },
        { interfaces: [{ linkType: LINKTYPE_RAW, tsoffset: 1600000000 }], frames: [{ data: t4, ts: [1700000020, 7000] }], blockType: 'pb' },
        { bigEndian: true, interfaces: [{ linkType: LINKTYPE_ETHERNET, snaplen: 30 }], frames: [ethernet(t4), ethernet(t4)], blockType: 'spb' },
      ]),
    );
    const { frames, summary } = await readCaptureFrames(file);
    expect(summary.format).toBe('pcapng');
    expect(summary.truncated).toBe(false);
    const all = tsharkFrames(file);
    const ours = new Set(frames.map((f) => f.frameNumber));
    const t = all.filter((x) => ours.has(x.n));
    expect(all.length - t.length).toBe(1); // the custom block, a frame for tshark, not a packet
    // Timestamps tshark knows (SPBs have none; we reuse the last timestamp seen).
    const withTs = frames.filter((_, i) => i < 6);
    expect(withTs.map((f) => f.time)).toEqual(t.slice(0, 6).map((x) => x.time));
    expect(frames.map((f) => f.frameNumber)).toEqual(t.map((x) => x.n));
    expect(frames.map((f) => f.caplen)).toEqual(t.map((x) => x.caplen));
    expect(frames.map((f) => f.origLen)).toEqual(t.map((x) => x.len));
    expect(frames.map((f) => f.interfaceId)).toEqual([0, 1, 0, 2, 0, 0, 0, 0]);
    expect(frames.map((f) => f.linkType)).toEqual([1, 101, 1, 113, 101, 101, 1, 1]);
    // Construction: exact timestamps; the 2^-20 resolution gives floor(0.5 * 2^20) / 2^20 = 0.5 s exactly.
    expect(frames.map((f) => f.time)).toEqual([
      [1700000000, 123456789],
      [1700000001, 500000000],
      [1700000002, 1],
      [1700000002, 999999000],
      [1700000010, 250000000],
      [1700000020, 7000],
      [1700000020, 7000],
      [1700000020, 7000],
    ]);
    // SPB caplen limited by the interface snaplen.
    expect(frames[6].caplen).toBe(30);
    expect(frames[6].origLen).toBe(ethernet(t4).length);
  });

  it('reads tshark-independent files: editcap -F pcapng and mergecap of two link types', async () => {
    const src = join(CORPUS, 'redis/redis.pcap');
    const ng = join(dir, 'redis.pcapng');
    execFileSync('editcap', ['-F', 'pcapng', src, ng], { stdio: 'ignore' });
    const { frames } = await readCaptureFrames(ng);
    expectMatchesTshark(ng, frames);

    // A raw-IP capture (editcap strips nothing; build it) merged with an Ethernet one.
    const raw = writePcap(join(dir, 'raw.pcap'), sampleFrames(4).map((f) => ({ ...f, data: f.data.subarray(14), ts: [1700000000, 500] as [number, number] })), { linkType: LINKTYPE_RAW });
    const merged = join(dir, 'merged.pcapng');
    execFileSync('mergecap', ['-F', 'pcapng', '-w', merged, join(CORPUS, 'http/httpv1.pcap'), raw], { stdio: 'ignore' });
    const m = await readCaptureFrames(merged);
    const t = tsharkFrames(merged);
    expectMatchesTshark(merged, m.frames);
    expect(m.frames.map((f) => f.interfaceId)).toEqual(t.map((x) => x.iface));
    expect(new Set(m.frames.map((f) => f.linkType))).toEqual(new Set([LINKTYPE_ETHERNET, LINKTYPE_RAW]));
  });

  it('converts nanosecond timestamps beyond 2^53 exactly', async () => {
    // 2^53 ns is ~104 days after 1970, every real ns timestamp exceeds it.
    const frames: Frame[] = [
      { data: sampleFrames(1)[0].data, ts: [4102444800, 999999999] }, // 2100-01-01
      { data: sampleFrames(1)[0].data, ts: [4102444801, 1] },
    ];
    for (const tsresol of [9, 0x80 | 30]) {
      const file = writePcapng(join(dir, `ns-${tsresol}.pcapng`), frames, { tsresol });
      const { frames: got } = await readCaptureFrames(file);
      if (tsresol === 9) {
        expect(got.map((f) => f.time)).toEqual([
          [4102444800, 999999999],
          [4102444801, 1],
        ]);
        expect(got[1].ts - got[0].ts).toBe(2);
      }
      expect(got.map((f) => f.time)).toEqual(tsharkFrames(file).map((x) => x.time));
    }
  });

  it('skips unknown blocks and counts packets for unknown interfaces', async () => {
    const file = join(dir, 'unk-if.pcapng');
    writeFileSync(file, buildPcapng([{ interfaces: [{ linkType: 1 }], frames: [sampleFrames(1)[0], { data: sampleFrames(1)[0].data, interfaceId: 3 }] }]));
    const { frames, summary } = await readCaptureFrames(file);
    expect(frames.length).toBe(1);
    expect(summary.anomalies).toEqual({ pcapng_unknown_interface: 1 });
  });

  it('stops at a block longer than its section (section length given)', async () => {
    const img = buildPcapng([{ interfaces: [{ linkType: 1 }], frames: sampleFrames(3), sectionLength: 'auto' }]);
    // Shrink the declared section length by 4 bytes: the last block no longer fits.
    const f = join(dir, 'section.pcapng');
    const b = Buffer.from(img);
    const declared = b.readBigUInt64LE(16);
    b.writeBigUInt64LE(declared - 4n, 16);
    writeFileSync(f, b);
    const { frames, summary } = await readCaptureFrames(f);
    expect(frames.length).toBe(2);
    expect(summary.truncated).toBe(true);
    expect(summary.anomalies.pcapng_block_exceeds_section).toBe(1);
    // With the right length, all three.
    writeFileSync(f, img);
    expect((await readCaptureFrames(f)).frames.length).toBe(3);
  });
});

describe('gzip', () => {
  it('reads gzip-compressed pcap and pcapng (detected from magic, not name)', async () => {
    for (const rel of ['redis/redis.pcap', 'kafka/01-fetch-v12-unknown.pcap']) {
      const src = join(CORPUS, rel);
      const gz = join(dir, rel.replace('/', '-') + '.data'); // no .gz suffix on purpose
      writeFileSync(gz, gzipSync(readFileSync(src)));
      const plain = await readCaptureFrames(src);
      for (const chunkSize of [undefined, 7, 1000]) {
        const got = await readCaptureFrames(gz, { chunkSize });
        expect(got.summary.format).toBe('pcap (gzip)');
        expect(got.summary.bytesRead).toBe(statSync(gz).size);
        expect(got.summary.packets).toBe(plain.summary.packets);
        sameFrames(got.frames, plain.frames);
      }
      // tshark reads gzip too.
      expectMatchesTshark(gz, plain.frames);
    }
    const ng = join(dir, 'x.pcapng.gz');
    writeFileSync(ng, gzipSync(buildPcapng([{ interfaces: [{ linkType: 1 }], frames: sampleFrames(4) }])));
    const got = await readCaptureFrames(ng);
    expect(got.summary.format).toBe('pcapng (gzip)');
    expectMatchesTshark(ng, got.frames);
  });

  it('cut-short gzip after some packets: truncated, packets kept', async () => {
    const src = readFileSync(join(CORPUS, 'redis/redis.pcap'));
    const z = gzipSync(src);
    const f = join(dir, 'cut.gz');
    writeFileSync(f, z.subarray(0, Math.floor(z.length / 2)));
    const got = await readCaptureFrames(f);
    expect(got.summary.truncated).toBe(true);
    expect(got.summary.anomalies.gzip_corrupt).toBe(1);
    expect(got.frames.length).toBeGreaterThan(0);
    const plain = await readCaptureFrames(join(CORPUS, 'redis/redis.pcap'));
    sameFrames(got.frames, plain.frames.slice(0, got.frames.length));
  });

  it('corrupt gzip before any packet: CaptureFileError', async () => {
    const z = Buffer.from(gzipSync(readFileSync(join(CORPUS, 'http/httpv1.pcap'))));
    for (let i = 10; i < z.length - 8; i++) z[i] ^= 0x5a; // mangle the deflate stream
    const f = join(dir, 'corrupt.gz');
    writeFileSync(f, z);
    await expect(readCaptureFrames(f)).rejects.toBeInstanceOf(CaptureFileError);
    writeFileSync(f, Buffer.from([0x1f, 0x8b]));
    await expect(readCaptureFrames(f)).rejects.toBeInstanceOf(CaptureFileError);
    // gzip of something that is not a capture.
    writeFileSync(f, gzipSync(Buffer.from('hello, this is not a capture file at all')));
    await expect(readCaptureFrames(f)).rejects.toThrow(/not a pcap or pcapng/);
  });
});

describe('bad input', () => {
  it('rejects missing, unreadable, empty, too short and non-capture files with CaptureFileError', async () => {
    const cases: [string, RegExp][] = [];
    cases.push([join(dir, 'does-not-exist.pcap'), /no such file/]);
    const d = join(dir, 'a-directory');
    mkdirSync(d, { recursive: true });
    cases.push([d, /directory/]);
    const empty = join(dir, 'empty.pcap');
    writeFileSync(empty, '');
    cases.push([empty, /empty/]);
    const three = join(dir, 'three.pcap');
    writeFileSync(three, Buffer.from([0xd4, 0xc3, 0xb2]));
    cases.push([three, /too short/]);
    const shortHdr = join(dir, 'short-header.pcap');
    writeFileSync(shortHdr, buildPcap([]).subarray(0, 20));
    cases.push([shortHdr, /header is cut short/]);
    const text = join(dir, 'notes.pcap');
    writeFileSync(text, 'GET / HTTP/1.1\r\nHost: example\r\n\r\n');
    cases.push([text, /not a pcap or pcapng capture \(unknown magic bytes 47 45 54 20\)/]);
    const badShb = join(dir, 'bad-shb.pcapng');
    const img = Buffer.from(buildPcapng([{ interfaces: [{ linkType: 1 }], frames: sampleFrames(1) }]));
    img.writeUInt32LE(0x11223344, 8); // byte-order magic
    writeFileSync(badShb, img);
    cases.push([badShb, /byte-order magic/]);
    const shortShb = join(dir, 'short-shb.pcapng');
    writeFileSync(shortShb, buildPcapng([{ interfaces: [], frames: [] }]).subarray(0, 20));
    cases.push([shortShb, /cut short/]);
    for (const chunkSize of [undefined, 1]) {
      for (const [path, msg] of cases) {
        const src = createCaptureFileSource(path, { chunkSize });
        const err = await src.run({ onPacket() {} }, new TimeBase()).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err, path).toBeInstanceOf(CaptureFileError);
        expect((err as CaptureFileError).code).toBe('SPANWIRE_BAD_CAPTURE');
        expect((err as CaptureFileError).path).toBe(path);
        expect((err as Error).message).toMatch(msg);
      }
    }
    expect(createCaptureFileSource(join(dir, 'does-not-exist.pcap')).totalBytes).toBe(0);
  });

  it('a header-only pcap is a valid empty capture', async () => {
    const f = writePcap(join(dir, 'hdr-only.pcap'), []);
    const { summary } = await readCaptureFrames(f);
    expect(summary).toEqual({ packets: 0, bytesRead: 24, truncated: false, format: 'pcap', anomalies: {} });
  });

  it('truncated last record: everything before is processed, truncated = true', async () => {
    const frames = sampleFrames(5);
    const full = buildPcap(frames);
    const lastLen = 16 + frames[4].data.length;
    for (const cut of [1, 10, lastLen - 16, lastLen - 1]) {
      const f = join(dir, `trunc-${cut}.pcap`);
      writeFileSync(f, full.subarray(0, full.length - cut));
      for (const chunkSize of [undefined, 5]) {
        const { frames: got, summary } = await readCaptureFrames(f, { chunkSize });
        expect(got.length).toBe(4);
        expect(summary.truncated).toBe(true);
        expect(summary.packets).toBe(4);
      }
    }
    const ng = buildPcapng([{ interfaces: [{ linkType: 1 }], frames }]);
    const f = join(dir, 'trunc.pcapng');
    writeFileSync(f, ng.subarray(0, ng.length - 7));
    const { frames: got, summary } = await readCaptureFrames(f);
    expect(got.length).toBe(4);
    expect(summary.truncated).toBe(true);
  });

  it('absurd caplen stops without allocating it', async () => {
    const frames = sampleFrames(3);
    const img = Buffer.from(buildPcap(frames));
    const rec2 = 24 + 16 + frames[0].data.length; // offset of the 2nd record header
    const before = process.memoryUsage().arrayBuffers;
    for (const caplen of [MAX_CAPTURE_RECORD_BYTES + 1, 0xffffffff, 200 * 1024 * 1024]) {
      img.writeUInt32LE(caplen, rec2 + 8);
      const f = join(dir, 'absurd.pcap');
      writeFileSync(f, img);
      for (const chunkSize of [undefined, 3]) {
        const { frames: got, summary } = await readCaptureFrames(f, { chunkSize });
        expect(got.length).toBe(1);
        expect(summary.truncated).toBe(true);
        if (caplen > MAX_CAPTURE_RECORD_BYTES) expect(summary.anomalies.pcap_caplen_too_large).toBe(1);
      }
    }
    // gzip: the size is unknown, but scratch grows only with the bytes really present.
    img.writeUInt32LE(200 * 1024 * 1024, rec2 + 8);
    const gz = join(dir, 'absurd.pcap.gz');
    writeFileSync(gz, gzipSync(img));
    const { frames: gzFrames, summary: gzSummary } = await readCaptureFrames(gz, { chunkSize: 7 });
    expect(gzFrames.length).toBe(1);
    expect(gzSummary.truncated).toBe(true);
    expect(gzSummary.anomalies).toEqual({ truncated_record: 1 });
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
    // pcapng: block length not a multiple of 4 / too large.
    const ng = Buffer.from(buildPcapng([{ interfaces: [{ linkType: 1 }], frames }]));
    const shbLen = ng.readUInt32LE(4);
    const idbLen = ng.readUInt32LE(shbLen + 4);
    const epb2 = shbLen + idbLen + ng.readUInt32LE(shbLen + idbLen + 4);
    for (const [len, kind] of [
      [0x7ffffff0, 'pcapng_block_too_large'],
      [13, 'pcapng_bad_block_length'],
      [4, 'pcapng_bad_block_length'],
    ] as const) {
      const b = Buffer.from(ng);
      b.writeUInt32LE(len, epb2 + 4);
      const f = join(dir, 'absurd.pcapng');
      writeFileSync(f, b);
      const { frames: got, summary } = await readCaptureFrames(f);
      expect(got.length).toBe(1);
      expect(summary.truncated).toBe(true);
      expect(summary.anomalies[kind]).toBe(1);
    }
  });

  it('an EPB whose caplen exceeds its block is skipped and counted', async () => {
    const frames = sampleFrames(3);
    const ng = Buffer.from(buildPcapng([{ interfaces: [{ linkType: 1 }], frames }]));
    const shbLen = ng.readUInt32LE(4);
    const idbLen = ng.readUInt32LE(shbLen + 4);
    ng.writeUInt32LE(5000, shbLen + idbLen + 20);
    const f = join(dir, 'epb-caplen.pcapng');
    writeFileSync(f, ng);
    const { frames: got, summary } = await readCaptureFrames(f);
    expect(got.map((x) => x.frameNumber)).toEqual([2, 3]);
    expect(summary.anomalies).toEqual({ pcapng_bad_caplen: 1 });
  });

  it('propagates an exception thrown by the sink', async () => {
    const f = writePcap(join(dir, 'throw.pcap'), sampleFrames(3));
    const boom = new Error('sink failed');
    await expect(
      createCaptureFileSource(f).run(
        {
          onPacket(p) {
            if (p.frameNumber === 2) throw boom;
          },
        },
        new TimeBase(),
      ),
    ).rejects.toBe(boom);
  });
});

describe('pipes', () => {
  it('reads a capture (plain and gzip) from a FIFO', async () => {
    const src = join(CORPUS, 'redis/redis.pcap');
    const plain = await readCaptureFrames(src);
    const gz = join(dir, 'fifo-src.gz');
    writeFileSync(gz, gzipSync(readFileSync(src)));
    for (const [input, format] of [[src, 'pcap'], [gz, 'pcap (gzip)']] as const) {
      const fifo = join(dir, `fifo-${format.length}`);
      execFileSync('mkfifo', [fifo]);
      const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', input, fifo], { stdio: 'ignore' });
      const exited = new Promise((res) => writer.on('exit', res));
      const src2 = createCaptureFileSource(fifo, { chunkSize: 1000 });
      expect(src2.totalBytes).toBe(0);
      const got = await readCaptureFrames(fifo, { chunkSize: 1000 });
      await exited;
      expect(got.summary.format).toBe(format);
      expect(got.summary.bytesRead).toBe(statSync(input).size);
      sameFrames(got.frames, plain.frames);
    }
  });
});

describe('large files', () => {
  it('streams with flat memory and reports progress at most every ~250 ms', async () => {
    // ~48 MiB pcap written in pieces.
    const f = join(dir, 'large.pcap');
    const frame = ethernet(udpIp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, payload: new Uint8Array(1400) }));
    const rec = Buffer.alloc(16 + frame.length);
    rec.writeUInt32LE(1700000000, 0);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    rec.set(frame, 16);
    const block = Buffer.concat(new Array(1000).fill(rec));
    const ws = createWriteStream(f);
    ws.write(buildPcap([]));
    const blocks = 34;
    for (let i = 0; i < blocks; i++) ws.write(block);
    await new Promise<void>((res, rej) => ws.end((e?: Error | null) => (e ? rej(e) : res())));
    const total = statSync(f).size;
    const src = createCaptureFileSource(f, { chunkSize: 1 << 20 });
    expect(src.totalBytes).toBe(total);
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let n = 0;
    const calls: [number, number, number][] = [];
    const started = Date.now();
    const summary = await src.run(
      {
        onPacket() {
          if ((++n & 1023) === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
        },
      },
      new TimeBase(),
      (bytes, totalBytes) => calls.push([Date.now(), bytes, totalBytes]),
    );
    const elapsed = Date.now() - started;
    expect(summary.packets).toBe(blocks * 1000);
    expect(n).toBe(blocks * 1000);
    expect(peak).toBeLessThan(8 * 1024 * 1024);
    // Progress: monotonic, ends at the total, rate-limited (plus the final call).
    expect(calls.length).toBeGreaterThan(0);
    expect(calls[calls.length - 1].slice(1)).toEqual([total, total]);
    for (let i = 1; i < calls.length; i++) expect(calls[i][1]).toBeGreaterThanOrEqual(calls[i - 1][1]);
    expect(calls.length).toBeLessThanOrEqual(Math.floor(elapsed / 250) + 2);
  });
});

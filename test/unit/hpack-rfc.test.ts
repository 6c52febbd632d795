/**
 * HPACK decoder tests. Oracles: RFC 7541 Appendix C (the examples' bytes, decoded fields and
 * resulting tables), Appendix B (the Huffman code must be a complete prefix code), and header
 * blocks produced by a real encoder (Node's built-in nghttp2) for headers this test chose.
 */
import fc from 'fast-check';
import http2 from 'node:http2';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { HeaderSink } from '../../parsers/http2/hpack.js';
import { HPACK_ERR_HUFFMAN, HPACK_ERR_INDEX, HPACK_ERR_INTEGER, HPACK_ERR_STRING, HPACK_ERR_TABLE_SIZE, HPACK_OK, HpackDecoder } from '../../parsers/http2/hpack.js';
import { EOS, HUFFMAN_CODES, HUFFMAN_LENGTHS, huffmanDecode } from '../../parsers/http2/huffman.js';

class Collect implements HeaderSink {
  fields: [string, string][] = [];
  unknown = 0;
  onHeader(name: string, value: string): void {
    this.fields.push([name, value]);
  }
  onUnknown(): void {
    this.unknown++;
    this.fields.push(['?', '?']);
  }
}

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function decode(d: HpackDecoder, block: Uint8Array): { r: number; c: Collect } {
  const c = new Collect();
  return { r: d.decode(block, 0, block.length, c), c };
}

describe('Huffman code (RFC 7541 Appendix B)', () => {
  it('is a complete prefix code: Kraft sum exactly 1, EOS 30 ones', () => {
    let kraft = 0;
    for (const l of HUFFMAN_LENGTHS) kraft += 2 ** -l;
    expect(kraft).toBe(1);
    expect(HUFFMAN_LENGTHS.length).toBe(257);
    expect(HUFFMAN_CODES[EOS]).toBe(2 ** 30 - 1);
    // Some codes as printed in Appendix B.
    expect(HUFFMAN_CODES[0x20]).toBe(0x14); // ' '
    expect(HUFFMAN_CODES[0x61]).toBe(0x3); // 'a'
    expect(HUFFMAN_CODES[0x7e]).toBe(0x1ffd); // '~'
    expect(HUFFMAN_CODES[192]).toBe(0x3ffffe0);
  });

  it('decodes the Appendix C strings; rejects EOS and bad padding (5.2)', () => {
    expect(huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff'), 0, 12)).toBe('www.example.com');
    expect(huffmanDecode(hex('a8eb 1064 9cbf'), 0, 6)).toBe('no-cache');
    expect(huffmanDecode(hex('25a8 49e9 5ba9 7d7f'), 0, 8)).toBe('custom-key');
    expect(huffmanDecode(hex('d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff'), 0, 22)).toBe('Mon, 21 Oct 2013 20:13:21 GMT');
    expect(huffmanDecode(hex('ffffffff'), 0, 4)).toBeNull(); // 30 ones: EOS
    expect(huffmanDecode(hex('ff'), 0, 1)).toBeNull(); // 8 bits of padding
    expect(huffmanDecode(hex('00'), 0, 1)).toBeNull(); // '0' (00000) then padding 000: not ones
    expect(huffmanDecode(hex('07'), 0, 1)).toBe('0'); // '0' then 111
    expect(huffmanDecode(new Uint8Array(0), 0, 0)).toBe('');
  });
});

describe('HPACK decoding (RFC 7541 Appendix C)', () => {
  it('C.2: one representation of each kind', () => {
    const d1 = new HpackDecoder();
    expect(decode(d1, hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')).c.fields).toEqual([['custom-key', 'custom-header']]);
    expect(d1.tableSize).toBe(55);
    const d2 = new HpackDecoder();
    expect(decode(d2, hex('040c 2f73 616d 706c 652f 7061 7468')).c.fields).toEqual([[':path', '/sample/path']]);
    expect(d2.tableSize).toBe(0);
    const d3 = new HpackDecoder();
    expect(decode(d3, hex('1008 7061 7373 776f 7264 0673 6563 7265 74')).c.fields).toEqual([['password', 'secret']]);
    expect(d3.tableSize).toBe(0);
    expect(decode(new HpackDecoder(), hex('82')).c.fields).toEqual([[':method', 'GET']]);
  });

  const requests = [
    [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']],
    [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
    [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
  ];
  const tables = [
    [[':authority', 'www.example.com']],
    [['cache-control', 'no-cache'], [':authority', 'www.example.com']],
    [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']],
  ];

  it('C.3: three requests without Huffman on one connection', () => {
    const d = new HpackDecoder();
    const blocks = ['8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', '8286 84be 5808 6e6f 2d63 6163 6865', '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'];
    blocks.forEach((b, i) => {
      const { r, c } = decode(d, hex(b));
      expect(r).toBe(HPACK_OK);
      expect(c.fields).toEqual(requests[i]);
      expect(d.tableEntries()).toEqual(tables[i]);
    });
    expect(d.tableSize).toBe(164);
  });

  it('C.4: the same requests with Huffman', () => {
    const d = new HpackDecoder();
    const blocks = ['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'];
    blocks.forEach((b, i) => {
      const { r, c } = decode(d, hex(b));
      expect(r).toBe(HPACK_OK);
      expect(c.fields).toEqual(requests[i]);
      expect(d.tableEntries()).toEqual(tables[i]);
    });
    expect(d.tableSize).toBe(164);
  });

  const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
  const responses = [
    [[':status', '302'], ['cache-control', 'private'], ['date', date1], ['location', 'https://www.example.com']],
    [[':status', '307'], ['cache-control', 'private'], ['date', date1], ['location', 'https://www.example.com']],
  ];

  it('C.5: responses without Huffman, 256-octet table: evictions (table sizes 222, 222, 215)', () => {
    const d = new HpackDecoder(256);
    let x = decode(d, hex('4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'));
    expect(x.c.fields).toEqual(responses[0]);
    expect(d.tableSize).toBe(222);
    x = decode(d, hex('4803 3330 37c1 c0bf'));
    expect(x.c.fields).toEqual(responses[1]);
    expect(d.tableEntries().map((e) => e[0])).toEqual([':status', 'location', 'date', 'cache-control']);
    expect(d.tableSize).toBe(222);
    x = decode(
      d,
      hex(
        '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
      ),
    );
    expect(x.r).toBe(HPACK_OK);
    expect(x.c.fields).toEqual([
      [':status', '200'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
      ['location', 'https://www.example.com'],
      ['content-encoding', 'gzip'],
      ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
    ]);
    expect(d.tableEntries()).toEqual([
      ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
      ['content-encoding', 'gzip'],
      ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
    ]);
    expect(d.tableSize).toBe(215);
  });

  it('C.6: the first two responses with Huffman', () => {
    const d = new HpackDecoder(256);
    let x = decode(d, hex('4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3'));
    expect(x.c.fields).toEqual(responses[0]);
    expect(d.tableSize).toBe(222);
    x = decode(d, hex('4883 640e ffc1 c0bf'));
    expect(x.c.fields).toEqual(responses[1]);
    expect(d.tableSize).toBe(222);
  });
});

describe('HPACK errors (each a rule of RFC 7541)', () => {
  it('returns the right code and never throws', () => {
    expect(decode(new HpackDecoder(), hex('80')).r).toBe(HPACK_ERR_INDEX); // 6.1: index 0
    expect(decode(new HpackDecoder(), hex('be')).r).toBe(HPACK_ERR_INDEX); // 2.3.3: past an empty, known table
    expect(decode(new HpackDecoder(), hex('ff')).r).toBe(HPACK_ERR_INTEGER); // 5.1: cut integer
    expect(decode(new HpackDecoder(), hex('ff ff ff ff ff ff ff 01')).r).toBe(HPACK_ERR_INTEGER); // too long
    expect(decode(new HpackDecoder(), hex('40 05 61')).r).toBe(HPACK_ERR_STRING); // 5.2: longer than the block
    expect(decode(new HpackDecoder(), hex('40 81 ff 00')).r).toBe(HPACK_ERR_HUFFMAN); // 5.2: 8 bits of padding
    expect(decode(new HpackDecoder(), hex('3f e2 1f')).r).toBe(HPACK_ERR_TABLE_SIZE); // 6.3: 4097 > 4096
    expect(decode(new HpackDecoder(), hex('82 20')).r).toBe(HPACK_ERR_TABLE_SIZE); // 4.2: size update after a field
  });

  it('random bytes and mutated blocks return a code in range', () => {
    const valid = hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.tuple(fc.nat(30), fc.nat(255)), { maxLength: 6 }), fc.boolean(), (junk, edits, known) => {
        const d = new HpackDecoder(4096, known);
        const b = Uint8Array.from(valid);
        for (const [i, v] of edits) if (i < b.length) b[i] = v;
        const r1 = d.decode(b, 0, b.length, new Collect());
        const r2 = d.decode(junk, 0, junk.length, new Collect());
        return r1 <= 0 && r1 >= -5 && r2 <= 0 && r2 >= -5;
      }),
      { numRuns: 3000 },
    );
  });
});

/** The raw bytes a real HTTP/2 client (Node's nghttp2) sends for requests with the given headers. */
async function recordClient(requests: Record<string, string>[]): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  const srv = net.createServer((s) => s.on('data', (d) => chunks.push(d)));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  const c = http2.connect(`http://127.0.0.1:${port}`);
  c.on('error', () => {});
  for (const h of requests) {
    const r = c.request(h, { endStream: true });
    r.on('error', () => {});
  }
  const total = () => chunks.reduce((n, b) => n + b.length, 0);
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 20));
    const before = total();
    await new Promise((r) => setTimeout(r, 20));
    if (before > 0 && total() === before) break;
  }
  c.destroy();
  await new Promise((r) => srv.close(r));
  return Uint8Array.from(Buffer.concat(chunks));
}

/** Header blocks (HEADERS + CONTINUATION payloads joined) of a client byte stream (RFC 9113 4.1, 6.2, 6.10). */
function headerBlocks(raw: Uint8Array): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  let p = 24; // preface
  let open: number[] | null = null;
  while (p + 9 <= raw.length) {
    const len = (raw[p] << 16) | (raw[p + 1] << 8) | raw[p + 2];
    const type = raw[p + 3];
    const flags = raw[p + 4];
    let s = p + 9;
    let e = s + len;
    if (type === 1) {
      if (flags & 0x8) e -= raw[s++];
      if (flags & 0x20) s += 5;
      open = Array.from(raw.subarray(s, e));
    } else if (type === 9 && open) {
      open.push(...raw.subarray(s, e));
    }
    if ((type === 1 || type === 9) && flags & 0x4 && open) {
      blocks.push(Uint8Array.from(open));
      open = null;
    }
    p += 9 + len;
  }
  return blocks;
}

describe('HPACK against a real encoder (Node nghttp2)', () => {
  const sent = Array.from({ length: 40 }, (_, i) => ({
    ':path': `/items/${i}?q=${'z'.repeat(i % 7)}`,
    ':method': i % 3 === 0 ? 'POST' : 'GET',
    'x-tenant': `tenant-${i % 4}`,
    'x-long': `${i}:${'abcdefghij'.repeat(30)}`, // a new ~300-octet entry per request: the table turns over
    'x-fixed': 'always the same value',
    ...(i === 20 ? { 'x-huge': 'h'.repeat(20000) } : {}), // needs CONTINUATION
  }));

  it('decodes every block of a 40-request connection: the headers sent, in order, table evictions included', async () => {
    const blocks = headerBlocks(await recordClient(sent));
    expect(blocks.length).toBe(sent.length);
    const d = new HpackDecoder();
    blocks.forEach((b, i) => {
      const { r, c } = decode(d, b);
      expect(r, `block ${i}`).toBe(HPACK_OK);
      const got = new Map(c.fields);
      for (const [k, v] of Object.entries(sent[i])) expect(got.get(k), `block ${i} ${k}`).toBe(v);
      expect(c.unknown).toBe(0);
    });
  });

  it('from the middle of the connection: no invented value, and full recovery once the table turns over', async () => {
    // After the first five requests (which the decoder does not see), each request brings a header
    // with a new name and a ~300-octet value: the table turns over and every entry becomes known.
    // (Names only ever referred to by index from entries from before stay unknown: no guessing.)
    const later = sent.map((h, i) => (i < 5 ? h : { ':path': h[':path'], ':method': h[':method'], [`x-new-${i}`]: `${i}:${'0123456789'.repeat(30)}` }));
    const blocks = headerBlocks(await recordClient(later));
    const d = new HpackDecoder(4096, false);
    let unknownSeen = 0;
    let recoveredAt = -1;
    for (let i = 5; i < blocks.length; i++) {
      const { r, c } = decode(d, blocks[i]);
      expect(r).toBe(HPACK_OK);
      unknownSeen += c.unknown;
      for (const [k, v] of c.fields) if (k !== '?' && k in later[i]) expect(v, `block ${i} ${k}`).toBe((later[i] as Record<string, string>)[k]);
      if (recoveredAt < 0 && !d.incomplete) recoveredAt = i;
      if (recoveredAt >= 0 && i > recoveredAt) expect(c.unknown, `block ${i} after recovery`).toBe(0);
    }
    expect(unknownSeen).toBeGreaterThan(0); // the first blocks referred to entries from before
    expect(recoveredAt).toBeGreaterThan(5); // the 200+ byte values fill the 4096-octet table
  });

  it('recovery rules by hand: a size update to 0, or entries filling the table', () => {
    const d = new HpackDecoder(4096, false);
    expect(decode(d, hex('be')).c.unknown).toBe(1); // an entry from before the capture
    expect(d.incomplete).toBe(true);
    expect(decode(d, hex('20 3fe11f 82')).r).toBe(HPACK_OK); // size update to 0, then back to 4096
    expect(d.incomplete).toBe(false);
    expect(decode(d, hex('be')).r).toBe(HPACK_ERR_INDEX); // table known and empty
    const d2 = new HpackDecoder(256, false);
    // Insert "custom-key: custom-header" (55 octets) x3 = 165 octets: 165 + 32 <= 256, an older
    // entry may still be there. Then a 82-octet entry: 247 + 32 > 256, nothing older fits.
    const ins = '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572';
    for (let i = 0; i < 3; i++) decode(d2, hex(ins));
    expect(d2.incomplete).toBe(true);
    decode(d2, Uint8Array.from([...hex('400a 6375 7374 6f6d 2d6b 6579 28'), ...new Array(40).fill(0x61)]));
    expect(d2.tableSize).toBe(247);
    expect(d2.incomplete).toBe(false);
    // A literal with indexing whose name was an unknown entry: unknown, and so is its entry.
    const d3 = new HpackDecoder(4096, false);
    const x = decode(d3, hex('7e 01 61 be')); // name idx 62 (unknown), value "a"; then index 62 = that entry
    expect(x.c.unknown).toBe(2);
  });
});

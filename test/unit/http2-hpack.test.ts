/**
 * HPACK decoder (parsers/http2/hpack.ts, huffman.ts). Oracles, all independent of the decoder:
 * - RFC 7541 itself: Appendix A (static table), Appendix B (every Huffman code, transcribed below as
 *   data), Appendix C (the examples' bytes, decoded lists, and dynamic tables after each block);
 * - header blocks written by a real encoder, Node's built-in nghttp2, for headers this test chose
 *   (recorded on a loopback proxy between a node:http2 client and server);
 * - blocks this test encodes itself from the RFC's rules (a small encoder with its own table model).
 */
import fc from 'fast-check';
import http2 from 'node:http2';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { HeaderSink } from '../../parsers/http2/hpack.js';
import {
  HPACK_ERR_HUFFMAN,
  HPACK_ERR_INDEX,
  HPACK_ERR_INTEGER,
  HPACK_ERR_STRING,
  HPACK_ERR_TABLE_SIZE,
  HPACK_OK,
  HpackDecoder,
  STATIC_TABLE,
} from '../../parsers/http2/hpack.js';
import { EOS, HUFFMAN_CODES, HUFFMAN_LENGTHS, huffmanDecode } from '../../parsers/http2/huffman.js';

// ---- RFC 7541 data ------------------------------------------------------------------------------

/** Appendix B: "code as hex" and "len in bits" of symbols 0..255 and EOS (256), in symbol order. */
// prettier-ignore
const RFC_HUFFMAN = `
1ff8 13  7fffd8 23  fffffe2 28  fffffe3 28  fffffe4 28  fffffe5 28  fffffe6 28  fffffe7 28
fffffe8 28  ffffea 24  3ffffffc 30  fffffe9 28  fffffea 28  3ffffffd 30  fffffeb 28  fffffec 28
fffffed 28  fffffee 28  fffffef 28  ffffff0 28  ffffff1 28  ffffff2 28  3ffffffe 30  ffffff3 28
ffffff4 28  ffffff5 28  ffffff6 28  ffffff7 28  ffffff8 28  ffffff9 28  ffffffa 28  ffffffb 28
14 6  3f8 10  3f9 10  ffa 12  1ff9 13  15 6  f8 8  7fa 11
3fa 10  3fb 10  f9 8  7fb 11  fa 8  16 6  17 6  18 6
0 5  1 5  2 5  19 6  1a 6  1b 6  1c 6  1d 6
1e 6  1f 6  5c 7  fb 8  7ffc 15  20 6  ffb 12  3fc 10
1ffa 13  21 6  5d 7  5e 7  5f 7  60 7  61 7  62 7
63 7  64 7  65 7  66 7  67 7  68 7  69 7  6a 7
6b 7  6c 7  6d 7  6e 7  6f 7  70 7  71 7  72 7
fc 8  73 7  fd 8  1ffb 13  7fff0 19  1ffc 13  3ffc 14  22 6
7ffd 15  3 5  23 6  4 5  24 6  5 5  25 6  26 6
27 6  6 5  74 7  75 7  28 6  29 6  2a 6  7 5
2b 6  76 7  2c 6  8 5  9 5  2d 6  77 7  78 7
79 7  7a 7  7b 7  7ffe 15  7fc 11  3ffd 14  1ffd 13  ffffffc 28
fffe6 20  3fffd2 22  fffe7 20  fffe8 20  3fffd3 22  3fffd4 22  3fffd5 22  7fffd9 23
3fffd6 22  7fffda 23  7fffdb 23  7fffdc 23  7fffdd 23  7fffde 23  ffffeb 24  7fffdf 23
ffffec 24  ffffed 24  3fffd7 22  7fffe0 23  ffffee 24  7fffe1 23  7fffe2 23  7fffe3 23
7fffe4 23  1fffdc 21  3fffd8 22  7fffe5 23  3fffd9 22  7fffe6 23  7fffe7 23  ffffef 24
3fffda 22  1fffdd 21  fffe9 20  3fffdb 22  3fffdc 22  7fffe8 23  7fffe9 23  1fffde 21
7fffea 23  3fffdd 22  3fffde 22  fffff0 24  1fffdf 21  3fffdf 22  7fffeb 23  7fffec 23
1fffe0 21  1fffe1 21  3fffe0 22  1fffe2 21  7fffed 23  3fffe1 22  7fffee 23  7fffef 23
fffea 20  3fffe2 22  3fffe3 22  3fffe4 22  7ffff0 23  3fffe5 22  3fffe6 22  7ffff1 23
3ffffe0 26  3ffffe1 26  fffeb 20  7fff1 19  3fffe7 22  7ffff2 23  3fffe8 22  1ffffec 25
3ffffe2 26  3ffffe3 26  3ffffe4 26  7ffffde 27  7ffffdf 27  3ffffe5 26  fffff1 24  1ffffed 25
7fff2 19  1fffe3 21  3ffffe6 26  7ffffe0 27  7ffffe1 27  3ffffe7 26  7ffffe2 27  fffff2 24
1fffe4 21  1fffe5 21  3ffffe8 26  3ffffe9 26  ffffffd 28  7ffffe3 27  7ffffe4 27  7ffffe5 27
fffec 20  fffff3 24  fffed 20  1fffe6 21  3fffe9 22  1fffe7 21  1fffe8 21  7ffff3 23
3fffea 22  3fffeb 22  1ffffee 25  1ffffef 25  fffff4 24  fffff5 24  3ffffea 26  7ffff4 23
3ffffeb 26  7ffffe6 27  3ffffec 26  3ffffed 26  7ffffe7 27  7ffffe8 27  7ffffe9 27  7ffffea 27
7ffffeb 27  ffffffe 28  7ffffec 27  7ffffed 27  7ffffee 27  7ffffef 27  7fffff0 27  3ffffee 26
3fffffff 30
`;
const RFC_CODES: { code: number; len: number }[] = [];
{
  const t = RFC_HUFFMAN.trim().split(/\s+/);
  for (let i = 0; i < t.length; i += 2) RFC_CODES.push({ code: parseInt(t[i], 16), len: Number(t[i + 1]) });
}

/** Appendix A, Table 1 ("Index | Header Name | Header Value"). */
const RFC_STATIC = `
1 :authority|2 :method GET|3 :method POST|4 :path /|5 :path /index.html|6 :scheme http|7 :scheme https|
8 :status 200|9 :status 204|10 :status 206|11 :status 304|12 :status 400|13 :status 404|14 :status 500|
15 accept-charset|16 accept-encoding gzip, deflate|17 accept-language|18 accept-ranges|19 accept|
20 access-control-allow-origin|21 age|22 allow|23 authorization|24 cache-control|25 content-disposition|
26 content-encoding|27 content-language|28 content-length|29 content-location|30 content-range|
31 content-type|32 cookie|33 date|34 etag|35 expect|36 expires|37 from|38 host|39 if-match|
40 if-modified-since|41 if-none-match|42 if-range|43 if-unmodified-since|44 last-modified|45 link|
46 location|47 max-forwards|48 proxy-authenticate|49 proxy-authorization|50 range|51 referer|52 refresh|
53 retry-after|54 server|55 set-cookie|56 strict-transport-security|57 transfer-encoding|58 user-agent|
59 vary|60 via|61 www-authenticate`
  .split('|')
  .map((r) => r.trim())
  .map((r) => {
    const m = /^(\d+) (\S+)(?: (.*))?$/.exec(r)!;
    return { index: Number(m[1]), name: m[2], value: m[3] ?? '' };
  });

// ---- helpers: a collecting sink, hex, and an encoder written from RFC 7541 -------------------------

/** Fields in order; null for a field reported unknown. */
class Collect implements HeaderSink {
  fields: ([string, string] | null)[] = [];
  unknown = 0;
  onHeader(name: string, value: string): void {
    expect(typeof name).toBe('string');
    expect(typeof value).toBe('string');
    this.fields.push([name, value]);
  }
  onUnknown(): void {
    this.unknown++;
    this.fields.push(null);
  }
}

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const latin1Bytes = (s: string): number[] => Array.from(Buffer.from(s, 'latin1'));

function run(d: HpackDecoder, block: ArrayLike<number>): { r: number; c: Collect } {
  const b = Uint8Array.from(block as ArrayLike<number>);
  const c = new Collect();
  return { r: d.decode(b, 0, b.length, c), c };
}

/** 5.1: integer `v` with an N-bit prefix; `first` holds the bits above the prefix. */
function encInt(out: number[], v: number, prefix: number, first: number): number[] {
  const max = (1 << prefix) - 1;
  if (v < max) {
    out.push(first | v);
    return out;
  }
  out.push(first | max);
  v -= max;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** 5.2: Huffman-encodes bytes with the RFC's table; `pad` = the bits that fill the last octet. */
function huffEncode(bytes: ArrayLike<number>, extraSymbols: number[] = [], pad: 'ones' | 'zeros' = 'ones'): number[] {
  const bits: number[] = [];
  const put = (s: number) => {
    const { code, len } = RFC_CODES[s];
    for (let i = len - 1; i >= 0; i--) bits.push(Math.floor(code / 2 ** i) & 1);
  };
  for (let i = 0; i < bytes.length; i++) put(bytes[i]);
  for (const s of extraSymbols) put(s);
  while (bits.length % 8 !== 0) bits.push(pad === 'ones' ? 1 : 0);
  const out: number[] = [];
  for (let i = 0; i < bits.length; i += 8) out.push(bits.slice(i, i + 8).reduce((a, b) => a * 2 + b, 0));
  return out;
}

/** 5.2: a string literal, raw or Huffman. */
function encStr(out: number[], s: string, huffman: boolean): number[] {
  const raw = latin1Bytes(s);
  const data = huffman ? huffEncode(raw) : raw;
  encInt(out, data.length, 7, huffman ? 0x80 : 0);
  for (const b of data) out.push(b);
  return out;
}

const indexed = (i: number): number[] => encInt([], i, 7, 0x80); // 6.1
const sizeUpdate = (n: number): number[] => encInt([], n, 5, 0x20); // 6.3
type Kind = 'inc' | 'no' | 'never';
/** 6.2.1 (inc: 01, 6-bit index), 6.2.2 (no: 0000, 4-bit), 6.2.3 (never: 0001, 4-bit). `name`: index or literal. */
function literal(kind: Kind, name: number | string, value: string, huffName = false, huffValue = false): number[] {
  const out: number[] = [];
  const [prefix, first] = kind === 'inc' ? [6, 0x40] : kind === 'no' ? [4, 0x00] : [4, 0x10];
  if (typeof name === 'number') encInt(out, name, prefix, first);
  else encStr(encInt(out, 0, prefix, first), name, huffName);
  return encStr(out, value, huffValue);
}
const entrySize = (name: string, value: string) => 32 + name.length + value.length; // 4.1

/** An HPACK encoder with its own dynamic table, for generated streams (RFC 7541 2.3, 4, 6). */
class ModelEncoder {
  table: [string, string][] = []; // newest first
  size = 0;
  max = 4096;
  private evict(): void {
    while (this.size > this.max) {
      const [n, v] = this.table.pop()!;
      this.size -= entrySize(n, v);
    }
  }
  setMax(n: number): void {
    this.max = n;
    this.evict();
  }
  /** 2.3.3: index space, static then dynamic. */
  private find(name: string, value: string): { exact: number; name: number } {
    let exact = 0;
    let nameIdx = 0;
    STATIC_TABLE.forEach(([n, v], i) => {
      if (n === name && nameIdx === 0) nameIdx = i + 1;
      if (n === name && v === value && exact === 0) exact = i + 1;
    });
    this.table.forEach(([n, v], i) => {
      if (n === name && nameIdx === 0) nameIdx = 62 + i;
      if (n === name && v === value && exact === 0) exact = 62 + i;
    });
    return { exact, name: nameIdx };
  }
  /** One field; `choice` picks the representation, `hn`/`hv` Huffman for name/value. */
  field(out: number[], name: string, value: string, choice: number, hn: boolean, hv: boolean): void {
    const f = this.find(name, value);
    if (f.exact > 0 && choice % 4 !== 3) {
      out.push(...indexed(f.exact));
      return;
    }
    const kind: Kind = (['inc', 'inc', 'no', 'never'] as const)[choice % 4];
    const useName = f.name > 0 && choice % 5 !== 4 ? f.name : name;
    out.push(...literal(kind, useName, value, hn, hv));
    if (kind === 'inc') {
      // 4.4: the new entry goes in front, then the table is trimmed (an entry larger than the table empties it).
      this.table.unshift([name, value]);
      this.size += entrySize(name, value);
      this.evict();
    }
  }
}

// ---- Appendix B: the Huffman code ---------------------------------------------------------------

describe('Huffman code (RFC 7541 Appendix B)', () => {
  it('the transcribed RFC table is a complete prefix code with EOS = 30 ones', () => {
    expect(RFC_CODES.length).toBe(257);
    let kraft = 0; // sum of 2^(30-len): exactly 2^30 for a complete code (Kraft sum 1)
    for (const { code, len } of RFC_CODES) {
      expect(code).toBeLessThan(2 ** len);
      kraft += 2 ** (30 - len);
    }
    expect(kraft).toBe(2 ** 30);
    const bitsOf = ({ code, len }: { code: number; len: number }) => code.toString(2).padStart(len, '0');
    const sorted = RFC_CODES.map(bitsOf).sort();
    for (let i = 1; i < sorted.length; i++) expect(sorted[i].startsWith(sorted[i - 1])).toBe(false);
    expect(RFC_CODES[256]).toEqual({ code: 2 ** 30 - 1, len: 30 });
  });

  it("the module's table is the RFC's, code for code", () => {
    expect(HUFFMAN_LENGTHS.length).toBe(257);
    expect(EOS).toBe(256);
    for (let s = 0; s <= 256; s++) {
      expect([s, HUFFMAN_CODES[s], HUFFMAN_LENGTHS[s]]).toEqual([s, RFC_CODES[s].code, RFC_CODES[s].len]);
    }
  });

  it('decodes the Huffman strings of Appendix C', () => {
    const cases: [string, string][] = [
      ['f1e3 c2e5 f23a 6ba0 ab90 f4ff', 'www.example.com'],
      ['a8eb 1064 9cbf', 'no-cache'],
      ['25a8 49e9 5ba9 7d7f', 'custom-key'],
      ['25a8 49e9 5bb8 e8b4 bf', 'custom-value'],
      ['6402', '302'],
      ['aec3 771a 4b', 'private'],
      ['d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      ['9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3', 'https://www.example.com'],
      ['640e ff', '307'],
      ['d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff', 'Mon, 21 Oct 2013 20:13:22 GMT'],
      ['9bd9 ab', 'gzip'],
      ['94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
    ];
    for (const [h, s] of cases) {
      const b = hex(h);
      expect(huffmanDecode(b, 0, b.length)).toBe(s);
      // The same bytes in the middle of a larger buffer.
      const big = Uint8Array.from([0xaa, 0xbb, ...b, 0xcc]);
      expect(huffmanDecode(big, 2, b.length)).toBe(s);
    }
    expect(huffmanDecode(new Uint8Array(0), 0, 0)).toBe('');
  });

  it('decodes every symbol alone and all 256 in one string (encoded here from the RFC table)', () => {
    for (let s = 0; s < 256; s++) {
      const b = Uint8Array.from(huffEncode([s]));
      expect(huffmanDecode(b, 0, b.length)).toBe(String.fromCharCode(s));
    }
    const all = Array.from({ length: 256 }, (_, i) => 255 - i);
    const b = Uint8Array.from(huffEncode(all));
    expect(huffmanDecode(b, 0, b.length)).toBe(String.fromCharCode(...all));
  });

  it('rejects EOS inside, padding longer than 7 bits, and padding that is not EOS\'s prefix (5.2)', () => {
    const dec = (a: number[]) => huffmanDecode(Uint8Array.from(a), 0, a.length);
    // "A Huffman-encoded string literal containing the EOS symbol MUST be treated as a decoding error."
    expect(dec(huffEncode([0x61], [EOS]))).toBeNull();
    expect(dec(huffEncode([], [EOS]))).toBeNull();
    expect(dec(huffEncode([0x61], [EOS, 0x62]))).toBeNull();
    // "A padding strictly longer than 7 bits MUST be treated as a decoding error."
    expect(dec([...huffEncode([0x61, 0x62, 0x63]), 0xff])).toBeNull();
    expect(dec([0xff])).toBeNull();
    expect(dec([0xff, 0xff])).toBeNull();
    // "A padding not corresponding to the most significant bits of the code for the EOS symbol MUST be
    // treated as a decoding error." 'a' is 5 bits: 3 bits of padding.
    expect(dec(huffEncode([0x61], [], 'zeros'))).toBeNull();
    expect(dec(huffEncode([0x61]))).toBe('a');
    // Every symbol followed by 1 to 4 zero bits of padding (too short to be a code: the shortest,
    // '0', is 00000): invalid.
    for (let s = 0; s < 256; s++) {
      if (RFC_CODES[s].len % 8 < 4) continue;
      expect(dec(huffEncode([s], [], 'zeros'))).toBeNull();
    }
    // Up to 7 bits of padding is allowed: 'a' (5) + 'b' (6) + 'd' (6) = 17 bits + 7; '!' (10) + 6.
    expect(huffEncode([0x61, 0x62, 0x64]).length).toBe(3);
    expect(dec(huffEncode([0x61, 0x62, 0x64]))).toBe('abd');
    expect(dec(huffEncode([0x21]))).toBe('!');
  });

  it('round-trips random byte strings encoded with the RFC table', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const enc = Uint8Array.from(huffEncode(bytes));
        return huffmanDecode(enc, 0, enc.length) === String.fromCharCode(...bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes long strings (a buffer of their own) and short ones after them', () => {
    const long = new Uint8Array(300_000).fill(0x68); // 'h': 6 bits
    const enc = Uint8Array.from(huffEncode(long));
    expect(huffmanDecode(enc, 0, enc.length)).toBe('h'.repeat(300_000));
    const short = Uint8Array.from(huffEncode(latin1Bytes('short')));
    expect(huffmanDecode(short, 0, short.length)).toBe('short');
  });
});

// ---- Appendix A and C -----------------------------------------------------------------------------

describe('static table (RFC 7541 Appendix A)', () => {
  it('has the RFC entries, and each decodes from its index (6.1)', () => {
    expect(STATIC_TABLE.length).toBe(61);
    for (const e of RFC_STATIC) {
      expect(STATIC_TABLE[e.index - 1]).toEqual([e.name, e.value]);
      const { r, c } = run(new HpackDecoder(), indexed(e.index));
      expect(r).toBe(HPACK_OK);
      expect(c.fields).toEqual([[e.name, e.value]]);
    }
  });
});

describe('RFC 7541 Appendix C examples', () => {
  it('C.1: integers (10 and 1337 on a 5-bit prefix) as dynamic table size updates', () => {
    // C.1.1: 10 on 5 bits = 0x0a; in a size update (001xxxxx): 0x2a. C.1.2: 1337 = 1f 9a 0a -> 3f 9a 0a.
    expect(encInt([], 10, 5, 0x20)).toEqual([0x2a]);
    expect(encInt([], 1337, 5, 0x20)).toEqual([0x3f, 0x9a, 0x0a]);
    const d = new HpackDecoder();
    expect(run(d, [0x2a]).r).toBe(HPACK_OK);
    // A table of 10 octets holds nothing: a 34-octet entry empties it (4.4).
    expect(run(d, literal('inc', 'a', 'b')).r).toBe(HPACK_OK);
    expect(d.tableSize).toBe(0);
    expect(run(d, [0x3f, 0x9a, 0x0a]).r).toBe(HPACK_OK);
    // 1337 octets: forty 34-octet entries (1360) do not fit, thirty-nine (1326) do.
    for (let i = 0; i < 40; i++) run(d, literal('inc', String.fromCharCode(0x61 + (i % 26)), String.fromCharCode(0x30 + (i % 10))));
    expect(d.tableEntries().length).toBe(39);
    expect(d.tableSize).toBe(39 * 34);
  });

  it('C.2.1-C.2.4: one representation of each kind', () => {
    let d = new HpackDecoder();
    let x = run(d, hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
    expect([x.r, x.c.fields]).toEqual([HPACK_OK, [['custom-key', 'custom-header']]]);
    expect(d.tableEntries()).toEqual([['custom-key', 'custom-header']]);
    expect(d.tableSize).toBe(55);
    d = new HpackDecoder();
    x = run(d, hex('040c 2f73 616d 706c 652f 7061 7468'));
    expect([x.r, x.c.fields]).toEqual([HPACK_OK, [[':path', '/sample/path']]]);
    expect(d.tableEntries()).toEqual([]);
    d = new HpackDecoder();
    x = run(d, hex('1008 7061 7373 776f 7264 0673 6563 7265 74'));
    expect([x.r, x.c.fields]).toEqual([HPACK_OK, [['password', 'secret']]]);
    expect(d.tableEntries()).toEqual([]);
    d = new HpackDecoder();
    x = run(d, hex('82'));
    expect([x.r, x.c.fields]).toEqual([HPACK_OK, [[':method', 'GET']]]);
    expect(d.tableSize).toBe(0);
  });

  const requests = [
    [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']],
    [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
    [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
  ];
  const requestTables: [[string, string][], number][] = [
    [[[':authority', 'www.example.com']], 57],
    [[['cache-control', 'no-cache'], [':authority', 'www.example.com']], 110],
    [[['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']], 164],
  ];
  const checkRequests = (blocks: string[]) => {
    const d = new HpackDecoder();
    blocks.forEach((b, i) => {
      const x = run(d, hex(b));
      expect(x.r).toBe(HPACK_OK);
      expect(x.c.fields).toEqual(requests[i]);
      expect(d.tableEntries()).toEqual(requestTables[i][0]);
      expect(d.tableSize).toBe(requestTables[i][1]);
      expect(d.incomplete).toBe(false);
    });
  };

  it('C.3: three requests without Huffman on one decoder', () => {
    checkRequests([
      '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '8286 84be 5808 6e6f 2d63 6163 6865',
      '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
    ]);
  });

  it('C.4: the same requests with Huffman', () => {
    checkRequests(['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf']);
  });

  const d1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
  const d2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
  const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
  const loc = 'https://www.example.com';
  const responses = [
    [[':status', '302'], ['cache-control', 'private'], ['date', d1], ['location', loc]],
    [[':status', '307'], ['cache-control', 'private'], ['date', d1], ['location', loc]],
    [[':status', '200'], ['cache-control', 'private'], ['date', d2], ['location', loc], ['content-encoding', 'gzip'], ['set-cookie', cookie]],
  ];
  const responseTables: [[string, string][], number][] = [
    [[['location', loc], ['date', d1], ['cache-control', 'private'], [':status', '302']], 222],
    [[[':status', '307'], ['location', loc], ['date', d1], ['cache-control', 'private']], 222],
    [[['set-cookie', cookie], ['content-encoding', 'gzip'], ['date', d2]], 215],
  ];
  const checkResponses = (blocks: string[]) => {
    const d = new HpackDecoder(256); // SETTINGS_HEADER_TABLE_SIZE 256: evictions
    blocks.forEach((b, i) => {
      const x = run(d, hex(b));
      expect(x.r).toBe(HPACK_OK);
      expect(x.c.fields).toEqual(responses[i]);
      expect(d.tableEntries()).toEqual(responseTables[i][0]);
      expect(d.tableSize).toBe(responseTables[i][1]);
    });
  };

  it('C.5: three responses without Huffman, 256-octet table with evictions', () => {
    checkResponses([
      `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768
       7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
      '4803 3330 37c1 c0bf',
      `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153
       444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`,
    ]);
  });

  it('C.6: the three responses with Huffman', () => {
    checkResponses([
      `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8
       e9ae 82ae 43d3`,
      '4883 640e ffc1 c0bf',
      `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b
       3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
    ]);
  });
});

// ---- representations and table rules built by hand ---------------------------------------------

describe('representations (RFC 7541 section 6)', () => {
  it('decodes the three literal kinds with literal and indexed names, raw and Huffman', () => {
    const d = new HpackDecoder();
    const block = [
      ...literal('inc', 'x-one', 'v1', true, false),
      ...literal('no', 'x-two', 'v2', false, true),
      ...literal('never', 'x-three', 'v3', true, true),
      ...literal('inc', 62, 'v1b'), // name of the entry just added ('x-one')
      ...literal('no', 58, 'agent/1.0', false, true), // static name (user-agent)
      ...literal('never', 23, 'secret'), // authorization
      ...indexed(63), // x-one: v1 (now second newest)
      ...indexed(62), // x-one: v1b
    ];
    const x = run(d, block);
    expect(x.r).toBe(HPACK_OK);
    expect(x.c.fields).toEqual([
      ['x-one', 'v1'],
      ['x-two', 'v2'],
      ['x-three', 'v3'],
      ['x-one', 'v1b'],
      ['user-agent', 'agent/1.0'],
      ['authorization', 'secret'],
      ['x-one', 'v1'],
      ['x-one', 'v1b'],
    ]);
    expect(d.tableEntries()).toEqual([
      ['x-one', 'v1b'],
      ['x-one', 'v1'],
    ]);
    expect(d.tableSize).toBe(entrySize('x-one', 'v1b') + entrySize('x-one', 'v1'));
  });

  it('decodes values as latin1, one character per octet', () => {
    const raw = [0x00, 0x01, 0x7f, 0x80, 0xa0, 0xe9, 0xff];
    const block = [0x00, 0x03, 0x78, 0x2d, 0x62, raw.length, ...raw, 0x00, 0x03, 0x78, 0x2d, 0x68, ...encInt([], huffEncode(raw).length, 7, 0x80), ...huffEncode(raw)];
    const x = run(new HpackDecoder(), block);
    expect(x.r).toBe(HPACK_OK);
    expect(x.c.fields).toEqual([
      ['x-b', String.fromCharCode(...raw)],
      ['x-h', String.fromCharCode(...raw)],
    ]);
  });

  it('decodes a block in the middle of a larger buffer, and an empty block', () => {
    const block = [...literal('inc', 'k', 'v'), ...indexed(62)];
    const buf = Uint8Array.from([0xff, 0xff, ...block, 0xff]);
    const d = new HpackDecoder();
    const c = new Collect();
    expect(d.decode(buf, 2, block.length, c)).toBe(HPACK_OK);
    expect(c.fields).toEqual([
      ['k', 'v'],
      ['k', 'v'],
    ]);
    expect(d.decode(buf, 0, 0, new Collect())).toBe(HPACK_OK);
  });

  it('accepts strings up to 1 MiB and integers up to 2^31-1', () => {
    const big = 'a'.repeat(1 << 20);
    const x = run(new HpackDecoder(), literal('no', 'x-big', big));
    expect(x.r).toBe(HPACK_OK);
    expect(x.c.fields[0]![1].length).toBe(1 << 20);
    // An indexed field at 2^31-1 is a valid integer (then past the table: INDEX, not INTEGER).
    expect(run(new HpackDecoder(), indexed(2 ** 31 - 1)).r).toBe(HPACK_ERR_INDEX);
    // Size update 8192 = 31 + 0x61 + (0x3f << 7): 3f e1 3f; with an extra zero group (3f e1 bf 00) it
    // is the same value (5.1 allows it); 8193 is above the bound.
    const d = new HpackDecoder(8192);
    expect(run(d, [0x3f, 0xe1, 0x3f]).r).toBe(HPACK_OK);
    expect(run(d, [0x3f, 0xe1, 0xbf, 0x00]).r).toBe(HPACK_OK);
    expect(run(d, [0x3f, 0xe2, 0x3f]).r).toBe(HPACK_ERR_TABLE_SIZE);
  });
});

describe('dynamic table rules (RFC 7541 section 4)', () => {
  it('size updates: several at the start of a block, eviction on shrink (4.2, 4.3)', () => {
    const d = new HpackDecoder();
    run(d, [...literal('inc', 'aaaa', 'bbbb'), ...literal('inc', 'cccc', 'dddd')]); // 40 + 40
    expect(d.tableSize).toBe(80);
    // Shrink to 50 (evicts the older entry), then back to 4096, then a field.
    const x = run(d, [...sizeUpdate(50), ...sizeUpdate(4096), ...indexed(62)]);
    expect(x.r).toBe(HPACK_OK);
    expect(x.c.fields).toEqual([['cccc', 'dddd']]);
    expect(d.tableEntries()).toEqual([['cccc', 'dddd']]);
    expect(run(d, indexed(63)).r).toBe(HPACK_ERR_INDEX);
  });

  it('an entry larger than the table empties it and is not added (4.4)', () => {
    const d = new HpackDecoder(100);
    run(d, literal('inc', 'k', 'v'));
    expect(d.tableSize).toBe(34);
    const x = run(d, literal('inc', 'k', 'v'.repeat(70))); // 103 > 100
    expect(x.r).toBe(HPACK_OK);
    expect(x.c.fields).toEqual([['k', 'v'.repeat(70)]]);
    expect(d.tableEntries()).toEqual([]);
    expect(d.tableSize).toBe(0);
  });

  it('a literal naming an entry that its own insertion evicts still gets that name (4.4)', () => {
    const d = new HpackDecoder(80);
    run(d, literal('inc', 'name-a', 'x')); // 39
    const x = run(d, literal('inc', 62, 'y'.repeat(40))); // 32 + 6 + 40 = 78: evicts 'name-a: x'
    expect(x.c.fields).toEqual([['name-a', 'y'.repeat(40)]]);
    expect(d.tableEntries()).toEqual([['name-a', 'y'.repeat(40)]]);
  });

  it('setMaxTableSize bounds later size updates; the table waits for the encoder\'s size update', () => {
    const d = new HpackDecoder();
    run(d, [...literal('inc', 'aaaa', 'bbbb'), ...literal('inc', 'cccc', 'dddd')]);
    d.setMaxTableSize(50);
    // A block the encoder wrote before it saw the new setting still refers to both entries.
    expect(run(d, [...indexed(62), ...indexed(63)]).c.fields).toEqual([
      ['cccc', 'dddd'],
      ['aaaa', 'bbbb'],
    ]);
    // Then its size update, within the new bound.
    expect(run(d, [...sizeUpdate(50), ...indexed(62)]).r).toBe(HPACK_OK);
    expect(d.tableEntries()).toEqual([['cccc', 'dddd']]);
    expect(run(d, sizeUpdate(51)).r).toBe(HPACK_ERR_TABLE_SIZE);
    const e = new HpackDecoder();
    e.setMaxTableSize(10000);
    expect(run(e, sizeUpdate(10000)).r).toBe(HPACK_OK);
    for (let i = 0; i < 100; i++) run(e, literal('inc', `n${String(i).padStart(2, '0')}`, 'v'.repeat(60))); // 95 octets each
    expect(e.tableSize).toBe(95 * 100);
    expect(run(e, indexed(61 + 100)).c.fields).toEqual([['n00', 'v'.repeat(60)]]);
  });
});

// ---- unknown state ---------------------------------------------------------------------------------

describe('unknown dynamic table (capture started mid-connection, or state lost)', () => {
  it('entries seen are decoded; references past them are unknown, never guessed', () => {
    const d = new HpackDecoder(4096, false);
    expect(d.incomplete).toBe(true);
    const x = run(d, [...indexed(62), ...literal('inc', 'x-a', '1'), ...indexed(62), ...indexed(63), ...indexed(2)]);
    expect(x.r).toBe(HPACK_OK);
    expect(x.c.fields).toEqual([null, ['x-a', '1'], ['x-a', '1'], null, [':method', 'GET']]);
    expect(d.tableEntries()).toEqual([['x-a', '1']]);
    expect(d.incomplete).toBe(true);
  });

  it('a literal whose name is unknown: unknown field, and an entry with an unknown name and a lower-bound size', () => {
    const d = new HpackDecoder(4096, false);
    const x = run(d, [...literal('inc', 70, 'abc'), ...indexed(62), ...literal('no', 62, 'zz'), ...literal('inc', 62, 'q')]);
    expect(x.r).toBe(HPACK_OK);
    expect(x.c.fields).toEqual([null, null, null, null]);
    expect(d.tableEntries()).toEqual([
      [null, 'q'],
      [null, 'abc'],
    ]);
    expect(d.tableSize).toBe(32 + 3 + 32 + 1);
    expect(d.incomplete).toBe(true);
  });

  it('recovery rule 1: a size update to 0 removes every older entry', () => {
    const d = new HpackDecoder(4096, false);
    run(d, literal('inc', 70, 'abc')); // an unknown-name entry too
    const x = run(d, [...sizeUpdate(0), ...sizeUpdate(4096), ...literal('inc', 'k', 'v'), ...indexed(62)]);
    expect(x.r).toBe(HPACK_OK);
    expect(d.incomplete).toBe(false);
    expect(x.c.fields).toEqual([
      ['k', 'v'],
      ['k', 'v'],
    ]);
    // The table is known complete: past it is an error (2.3.3).
    expect(run(d, indexed(63)).r).toBe(HPACK_ERR_INDEX);
  });

  it('recovery rule 2: the entries held plus 32 octets exceed the table (boundary exact)', () => {
    const d = new HpackDecoder(256, false);
    // 3 x 55 + 59 = 224: 224 + 32 = 256 still leaves room for one older 32-octet entry.
    for (let i = 0; i < 3; i++) run(d, literal('inc', 'custom-key', 'custom-header'));
    run(d, literal('inc', 'custom-key', 'x'.repeat(17)));
    expect(d.tableSize).toBe(224);
    expect(d.incomplete).toBe(true);
    expect(run(d, indexed(66)).c.fields).toEqual([null]);
    // One more octet anywhere: no older entry can fit any more.
    run(d, [...literal('inc', 'a', '')]); // 33: evicts the oldest 55 -> 202
    expect(d.tableSize).toBe(202);
    expect(d.incomplete).toBe(false);
    const e = new HpackDecoder(256, false);
    for (let i = 0; i < 4; i++) run(e, literal('inc', 'custom-key', 'custom-header-xx')); // 4 x 58 + 32 > 256
    expect(e.tableSize).toBe(232);
    expect(e.incomplete).toBe(false);
    expect(run(e, indexed(65)).c.fields).toEqual([['custom-key', 'custom-header-xx']]);
    expect(run(e, indexed(66)).r).toBe(HPACK_ERR_INDEX);
  });

  it('recovery rule 2 with a size update that shrinks the table below what is held + 32', () => {
    const d = new HpackDecoder(4096, false);
    run(d, literal('inc', 'k', 'v'.repeat(67))); // 100
    expect(run(d, sizeUpdate(200)).r).toBe(HPACK_OK);
    expect(d.incomplete).toBe(true); // 100 + 32 <= 200
    expect(run(d, sizeUpdate(131)).r).toBe(HPACK_OK);
    expect(d.incomplete).toBe(false); // 100 + 32 > 131
    expect(d.tableEntries()).toEqual([['k', 'v'.repeat(67)]]);
  });

  it('recovery rule 2 by one entry larger than the table (4.4 empties it)', () => {
    const d = new HpackDecoder(100, false);
    run(d, literal('inc', 'k', 'v'.repeat(100)));
    expect(d.incomplete).toBe(false);
    expect(d.tableSize).toBe(0);
    expect(run(d, indexed(62)).r).toBe(HPACK_ERR_INDEX);
  });

  it('an entry with an unknown name keeps the table incomplete until it is evicted', () => {
    const d = new HpackDecoder(256, false);
    run(d, literal('inc', 70, 'v'.repeat(20))); // unknown name: >= 52 octets
    for (let i = 0; i < 3; i++) run(d, literal('inc', 'kk', 'w'.repeat(30))); // 64 each: 52 + 192 + 32 > 256
    expect(d.tableEntries().length).toBe(4);
    expect(d.incomplete).toBe(true); // the tail is gone, but entry 65 has an unknown name
    expect(run(d, indexed(65)).c.fields).toEqual([null]);
    run(d, literal('inc', 'kk', 'w'.repeat(30))); // evicts it
    expect(d.incomplete).toBe(false);
    expect(d.tableEntries()).toEqual(Array.from({ length: 4 }, () => ['kk', 'w'.repeat(30)]));
    expect(run(d, indexed(66)).r).toBe(HPACK_ERR_INDEX); // past the table, which has no unknown tail
  });

  it('while unknown, a raised SETTINGS bound is the largest table the encoder may have', () => {
    const d = new HpackDecoder(4096, false);
    d.setMaxTableSize(8192);
    for (let i = 0; i < 50; i++) run(d, literal('inc', `n${String(i).padStart(2, '0')}`, 'v'.repeat(60))); // 95 each: 4750
    expect(d.incomplete).toBe(true); // the encoder may have a table of 8192 (size update not seen)
    expect(run(d, indexed(61 + 50)).c.fields).toEqual([['n00', 'v'.repeat(60)]]);
    expect(run(d, sizeUpdate(4096)).r).toBe(HPACK_OK); // now it is known: 4096
    expect(d.incomplete).toBe(false);
    expect(d.tableSize).toBeLessThanOrEqual(4096);
  });

  it('lose() forgets the table; an error does the same', () => {
    const d = new HpackDecoder();
    run(d, literal('inc', 'k', 'v'));
    expect(d.incomplete).toBe(false);
    d.lose();
    expect(d.incomplete).toBe(true);
    expect(d.tableEntries()).toEqual([]);
    expect(run(d, indexed(62)).c.fields).toEqual([null]);
    const e = new HpackDecoder();
    run(e, literal('inc', 'k', 'v'));
    expect(run(e, [...indexed(62), 0x80]).r).toBe(HPACK_ERR_INDEX);
    expect(e.incomplete).toBe(true);
    expect(e.tableEntries()).toEqual([]);
    const x = run(e, [...indexed(62), ...indexed(2)]);
    expect(x.r).toBe(HPACK_OK);
    expect(x.c.fields).toEqual([null, [':method', 'GET']]);
  });
});

// ---- errors ----------------------------------------------------------------------------------------

describe('decoding errors (each a rule of RFC 7541)', () => {
  const code = (block: ArrayLike<number>, d = new HpackDecoder()) => run(d, block).r;

  it('HPACK_ERR_INDEX', () => {
    expect(code([0x80])).toBe(HPACK_ERR_INDEX); // 6.1: "The index value of 0 is not used."
    expect(code(indexed(62))).toBe(HPACK_ERR_INDEX); // 2.3.3: past static + (empty, known) dynamic table
    expect(code(literal('inc', 62, 'v'))).toBe(HPACK_ERR_INDEX); // 2.3.3, for a name index
    expect(code(literal('no', 100, 'v'))).toBe(HPACK_ERR_INDEX);
    expect(code(indexed(61))).toBe(HPACK_OK);
  });

  it('HPACK_ERR_INTEGER', () => {
    // 5.1: an integer cut by the end of the block.
    expect(code([0xff])).toBe(HPACK_ERR_INTEGER);
    expect(code([0xff, 0x80])).toBe(HPACK_ERR_INTEGER);
    expect(code([0x40, 0x7f])).toBe(HPACK_ERR_INTEGER); // a string length cut
    // 5.1 ("Integer encodings that exceed implementation limits ... MUST be treated as decoding errors"): above 2^31-1.
    expect(code(indexed(2 ** 31))).toBe(HPACK_ERR_INTEGER);
    expect(code(sizeUpdate(2 ** 32 + 5))).toBe(HPACK_ERR_INTEGER);
    // More than 6 continuation octets, even for a small value (zero groups).
    expect(code([0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])).toBe(HPACK_ERR_INTEGER);
    expect(code([0xff, 0x80, 0x80, 0x80, 0x80, 0x00])).toBe(HPACK_ERR_INDEX); // 5 octets: 127, past the table
  });

  it('HPACK_ERR_STRING', () => {
    expect(code([0x40, 0x05, 0x61])).toBe(HPACK_ERR_STRING); // 5.2: name length past the block end
    expect(code([0x40, 0x01, 0x61, 0x05, 0x62])).toBe(HPACK_ERR_STRING); // value length past the end
    expect(code([0x40, 0x01, 0x61])).toBe(HPACK_ERR_STRING); // the value is missing
    expect(code([0x04])).toBe(HPACK_ERR_STRING);
    const over = literal('no', 'x', 'a'.repeat((1 << 20) + 1)); // longer than the 1 MiB limit
    expect(code(over)).toBe(HPACK_ERR_STRING);
  });

  it('HPACK_ERR_HUFFMAN', () => {
    const huff = (bytes: number[]) => [0x00, 0x01, 0x78, ...encInt([], bytes.length, 7, 0x80), ...bytes];
    expect(code(huff(huffEncode([0x61], [EOS])))).toBe(HPACK_ERR_HUFFMAN); // 5.2: EOS inside
    expect(code(huff([...huffEncode([0x61, 0x62]), 0xff]))).toBe(HPACK_ERR_HUFFMAN); // 5.2: padding > 7 bits
    expect(code(huff(huffEncode([0x61], [], 'zeros')))).toBe(HPACK_ERR_HUFFMAN); // 5.2: padding not EOS's prefix
    expect(code([0x40, 0x81, 0xff, 0x01, 0x61])).toBe(HPACK_ERR_HUFFMAN); // in a name
  });

  it('HPACK_ERR_TABLE_SIZE', () => {
    expect(code(sizeUpdate(4097))).toBe(HPACK_ERR_TABLE_SIZE); // 6.3: "exceeds the limit ... decoding error"
    const d = new HpackDecoder(4096, false);
    expect(code(sizeUpdate(4097), d)).toBe(HPACK_ERR_TABLE_SIZE); // strict when unknown too
    const e = new HpackDecoder();
    e.setMaxTableSize(100);
    expect(code(sizeUpdate(101), e)).toBe(HPACK_ERR_TABLE_SIZE);
    // 4.2: a size update must come at the beginning of a block, before any field.
    expect(code([...indexed(2), ...sizeUpdate(0)])).toBe(HPACK_ERR_TABLE_SIZE);
    expect(code([...sizeUpdate(10), ...literal('no', 'k', 'v'), ...sizeUpdate(0)])).toBe(HPACK_ERR_TABLE_SIZE);
  });

  it('after any error the decoder is unknown, and decodes what it can afterwards', () => {
    for (const bad of [[0x80], [0xff], [0x40, 0x05], [0x00, 0x01, 0x78, 0x81, 0xff], [...indexed(2), 0x20]]) {
      const d = new HpackDecoder();
      run(d, literal('inc', 'k', 'v'));
      expect(run(d, bad).r).toBeLessThan(0);
      expect(d.incomplete).toBe(true);
      expect(run(d, [...indexed(62), ...literal('inc', 'k2', 'v2'), ...indexed(62)]).c.fields).toEqual([null, ['k2', 'v2'], ['k2', 'v2']]);
    }
  });

  it('bytes outside the buffer do not exist: a range past its end is a cut block', () => {
    const b = Uint8Array.from(literal('no', 'k', 'value'));
    const c = new Collect();
    expect(new HpackDecoder().decode(b, 0, b.length + 50, c)).toBe(HPACK_OK);
    expect(new HpackDecoder().decode(b, 0, b.length - 1, new Collect())).toBe(HPACK_ERR_STRING);
    expect(new HpackDecoder().decode(b, 3, b.length + 50, new Collect())).toBeLessThanOrEqual(0);
    expect(huffmanDecode(Uint8Array.from([0x1f]), 0, 10)).toBe('a');
  });
});

// ---- generated streams: a model encoder as oracle ------------------------------------------------

const NAMES = ['x-a', 'x-b', 'x-trace-id', 'user-agent', ':path', 'cookie', 'content-type', 'accept', 'x-long-header-name'];
const arbValue = fc.oneof(
  fc.constantFrom('', '1', 'GET', 'application/json', 'text/html; charset=utf-8', '/'),
  fc.uint8Array({ maxLength: 24 }).map((b) => String.fromCharCode(...b)),
  fc.nat(400).map((n) => 'v'.repeat(n)),
);
const arbField = fc.record({
  name: fc.oneof(fc.constantFrom(...NAMES), fc.stringMatching(/^[a-z][a-z0-9-]{0,14}$/)),
  value: arbValue,
  choice: fc.nat(19),
  hn: fc.boolean(),
  hv: fc.boolean(),
});
const arbBlock = fc.record({ updates: fc.oneof(fc.constant([] as number[]), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 2 })), fields: fc.array(arbField, { maxLength: 10 }) });
const arbStream = fc.record({ bound: fc.constantFrom(4096, 4096, 0, 256, 1000, 8192), blocks: fc.array(arbBlock, { minLength: 1, maxLength: 14 }), start: fc.nat(13) });

type Generated = { bound: number; blocks: { bytes: Uint8Array; fields: [string, string][]; table: [string, string][]; size: number }[] };
type StreamSpec = {
  bound: number;
  start: number;
  blocks: { updates: number[]; fields: { name: string; value: string; choice: number; hn: boolean; hv: boolean }[] }[];
};

function generate(s: StreamSpec): Generated {
  const enc = new ModelEncoder();
  const out: Generated = { bound: s.bound, blocks: [] };
  s.blocks.forEach((b, i) => {
    const bytes: number[] = [];
    const ups = b.updates.map((u) => Math.floor(u * s.bound));
    if (i === 0 && s.bound < 4096 && ups.length === 0) ups.push(s.bound); // 4.2: the reduction must be signalled
    for (const n of ups) {
      bytes.push(...sizeUpdate(n));
      enc.setMax(n);
    }
    const fields: [string, string][] = [];
    for (const f of b.fields) {
      enc.field(bytes, f.name, f.value, f.choice, f.hn, f.hv);
      fields.push([f.name, f.value]);
    }
    out.blocks.push({ bytes: Uint8Array.from(bytes), fields, table: enc.table.map((e) => [e[0], e[1]]), size: enc.size });
  });
  return out;
}

describe('generated streams (an encoder written here from the RFC, with its own table)', () => {
  it('from the start: exactly the fields encoded, and the same dynamic table after every block', () => {
    fc.assert(
      fc.property(arbStream, (s) => {
        const g = generate(s);
        const d = new HpackDecoder();
        d.setMaxTableSize(g.bound);
        for (const b of g.blocks) {
          const x = run(d, b.bytes);
          expect(x.r).toBe(HPACK_OK);
          expect(x.c.fields).toEqual(b.fields);
          expect(d.tableEntries()).toEqual(b.table);
          expect(d.tableSize).toBe(b.size);
          expect(d.incomplete).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('from any block, table unknown: no field invented, and once complete the table is the encoder\'s', () => {
    let recovered = 0;
    let unknowns = 0;
    fc.assert(
      fc.property(arbStream, (s) => {
        const g = generate(s);
        const d = new HpackDecoder(4096, false);
        d.setMaxTableSize(g.bound);
        let complete = false;
        for (let i = Math.min(s.start, g.blocks.length - 1); i < g.blocks.length; i++) {
          const b = g.blocks[i];
          const x = run(d, b.bytes);
          expect(x.r).toBe(HPACK_OK);
          expect(x.c.fields.length).toBe(b.fields.length);
          x.c.fields.forEach((f, j) => {
            if (f !== null) expect(f).toEqual(b.fields[j]);
          });
          unknowns += x.c.unknown;
          if (complete) expect(x.c.unknown).toBe(0);
          if (!d.incomplete) {
            complete = true;
            // Every entry of the encoder's table is held, at its index (newest first); entries the
            // encoder evicted may linger at the far end only if it had a smaller table than assumed.
            expect(d.tableEntries().slice(0, b.table.length)).toEqual(b.table);
          }
        }
        if (complete) recovered++;
      }),
      { numRuns: 400 },
    );
    expect(recovered).toBeGreaterThan(0);
    expect(unknowns).toBeGreaterThan(0);
  });
});

// ---- robustness ------------------------------------------------------------------------------------

const CODES = new Set([HPACK_OK, HPACK_ERR_INDEX, HPACK_ERR_INTEGER, HPACK_ERR_STRING, HPACK_ERR_HUFFMAN, HPACK_ERR_TABLE_SIZE]);

describe('robustness', () => {
  const seeds = [
    '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
    '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
    '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
    '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
    '203f e11f 8240 0a63 7573 746f 6d2d 6b65 790d 6375 7374 6f6d 2d68 6561 6465 72be',
  ].map(hex);

  it('random bytes never throw and return a defined code, quickly', () => {
    const t0 = performance.now();
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 4 }), fc.boolean(), fc.constantFrom(0, 256, 4096, 65536), (blocks, known, max) => {
        const d = new HpackDecoder(max, known);
        for (const b of blocks) {
          const r = d.decode(b, 0, b.length, new Collect());
          if (!CODES.has(r)) return false;
        }
        return true;
      }),
      { numRuns: 3000 },
    );
    expect(performance.now() - t0).toBeLessThan(20_000);
  });

  it('mutated valid blocks (flips, cuts, insertions) never throw and return a defined code', () => {
    const arbEdit = fc.oneof(
      fc.record({ op: fc.constant('set' as const), at: fc.nat(200), v: fc.nat(255) }),
      fc.record({ op: fc.constant('cut' as const), at: fc.nat(200), v: fc.nat(255) }),
      fc.record({ op: fc.constant('ins' as const), at: fc.nat(200), v: fc.nat(255) }),
    );
    fc.assert(
      fc.property(fc.nat(seeds.length - 1), fc.array(arbEdit, { maxLength: 6 }), fc.boolean(), (si, edits, known) => {
        let b = Array.from(seeds[si]);
        for (const e of edits) {
          const at = e.at % (b.length + 1);
          if (e.op === 'set' && at < b.length) b[at] = e.v;
          else if (e.op === 'cut') b = b.slice(0, at);
          else if (e.op === 'ins') b.splice(at, 0, e.v);
        }
        const d = new HpackDecoder(4096, known);
        const r1 = run(d, b).r;
        const r2 = run(d, seeds[(si + 1) % seeds.length]).r; // the decoder stays usable
        return CODES.has(r1) && CODES.has(r2);
      }),
      { numRuns: 3000 },
    );
  });

  it('a long run of tiny entries stays within the table size', () => {
    const d = new HpackDecoder();
    const block: number[] = [];
    for (let i = 0; i < 20000; i++) block.push(...literal('inc', 1, '')); // 42 octets each (':authority')
    expect(run(d, block).r).toBe(HPACK_OK);
    expect(d.tableEntries().length).toBe(Math.floor(4096 / 42));
  });
});

// ---- a real encoder: Node's nghttp2 -------------------------------------------------------------

type H = Record<string, string>;
interface RecordedBlock {
  stream: number;
  bytes: Uint8Array;
  frames: number;
  padded: boolean;
  priority: boolean;
}

/**
 * Header blocks of one direction of a connection (RFC 9113 4.1 frame layout; 6.2 HEADERS with the
 * PADDED 0x8 and PRIORITY 0x20 flags; 6.10 CONTINUATION until END_HEADERS 0x4).
 */
function headerBlocks(raw: Uint8Array, preface: boolean): RecordedBlock[] {
  const blocks: RecordedBlock[] = [];
  let p = 0;
  if (preface) {
    expect(Buffer.from(raw.subarray(0, 24)).toString('latin1')).toBe('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    p = 24;
  }
  let open: { stream: number; parts: Uint8Array[]; frames: number; padded: boolean; priority: boolean } | null = null;
  while (p + 9 <= raw.length) {
    const len = (raw[p] << 16) | (raw[p + 1] << 8) | raw[p + 2];
    const type = raw[p + 3];
    const flags = raw[p + 4];
    const stream = ((raw[p + 5] & 0x7f) << 24) | (raw[p + 6] << 16) | (raw[p + 7] << 8) | raw[p + 8];
    let s = p + 9;
    let e = s + len;
    expect(e).toBeLessThanOrEqual(raw.length);
    if (type === 0x1) {
      expect(open).toBeNull();
      const padded = (flags & 0x8) !== 0;
      const priority = (flags & 0x20) !== 0;
      if (padded) e -= raw[s++];
      if (priority) s += 5;
      open = { stream, parts: [raw.subarray(s, e)], frames: 1, padded, priority };
    } else if (type === 0x9) {
      expect(open?.stream).toBe(stream);
      open!.parts.push(raw.subarray(s, e));
      open!.frames++;
    } else {
      expect(open).toBeNull(); // nothing may come between HEADERS and its CONTINUATIONs
    }
    if ((type === 0x1 || type === 0x9) && (flags & 0x4) !== 0) {
      blocks.push({ stream, bytes: Uint8Array.from(Buffer.concat(open!.parts)), frames: open!.frames, padded: open!.padded, priority: open!.priority });
      open = null;
    }
    p += 9 + len;
  }
  expect(p).toBe(raw.length);
  return blocks;
}

/**
 * Runs requests one at a time from a node:http2 client to a node:http2 server through a loopback
 * proxy that records both directions. `between(i, serverSession)` runs before request i.
 */
async function recordConnection(
  requests: { headers: H; weight?: number }[],
  respond: (i: number) => H,
  between?: (i: number, server: http2.ServerHttp2Session) => Promise<void>,
): Promise<{ c2s: Uint8Array; s2c: Uint8Array }> {
  const c2s: Buffer[] = [];
  const s2c: Buffer[] = [];
  const server = http2.createServer();
  const sessions: http2.ServerHttp2Session[] = [];
  server.on('session', (s) => sessions.push(s));
  let n = 0;
  server.on('stream', (st) => {
    st.respond(respond(n++), { endStream: true });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sockets: net.Socket[] = [];
  const proxy = net.createServer((cl) => {
    const up = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    sockets.push(cl, up);
    cl.on('data', (d) => {
      c2s.push(d);
      up.write(d);
    });
    up.on('data', (d) => {
      s2c.push(d);
      cl.write(d);
    });
    cl.on('close', () => up.destroy());
    up.on('close', () => cl.destroy());
    cl.on('error', () => {});
    up.on('error', () => {});
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const client = http2.connect(`http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`, {
    paddingStrategy: http2.constants.PADDING_STRATEGY_MAX,
  });
  try {
    await new Promise((r) => client.once('remoteSettings', r));
    for (let i = 0; i < requests.length; i++) {
      if (between) await between(i, sessions[0]);
      const { headers, weight } = requests[i];
      await new Promise<void>((resolve, reject) => {
        const req = client.request(headers, weight !== undefined ? { endStream: true, weight } : { endStream: true });
        req.on('error', reject);
        req.resume();
        req.on('end', () => resolve());
      });
    }
  } finally {
    await new Promise<void>((r) => client.close(() => r()));
    for (const s of sockets) s.destroy();
    await new Promise((r) => proxy.close(r));
    await new Promise((r) => server.close(r));
  }
  return { c2s: Uint8Array.from(Buffer.concat(c2s)), s2c: Uint8Array.from(Buffer.concat(s2c)) };
}

/**
 * Checks one decoded block against the header list the test gave Node: every field decoded is one
 * of them with its value (or an allowed extra), pseudo-header fields come first, the regular ones in
 * the order given, one representation per header. With `complete`, nothing is missing or unknown.
 */
function expectSent(fields: ([string, string] | null)[], sent: H, complete: boolean, extras: string[] = []): void {
  const want = new Map(Object.entries(sent));
  const regularOrder = Object.keys(sent).filter((k) => !k.startsWith(':'));
  expect(fields.length).toBe(want.size + extras.length);
  const seen = new Set<string>();
  let lastRegular = -1;
  let regularSeen = false;
  fields.forEach((f, j) => {
    if (f === null) {
      expect(complete).toBe(false);
      return;
    }
    const [name, value] = f;
    expect(seen.has(name), `${name} twice`).toBe(false);
    seen.add(name);
    if (extras.includes(name)) return;
    expect(want.has(name), `unexpected ${name}`).toBe(true);
    expect(value, name).toBe(want.get(name));
    if (name.startsWith(':')) {
      expect(regularSeen, `${name} after a regular field`).toBe(false);
    } else {
      regularSeen = true;
      const k = regularOrder.indexOf(name);
      expect(k, `${name} out of order at ${j}`).toBeGreaterThan(lastRegular);
      lastRegular = k;
    }
  });
  if (complete) for (const k of want.keys()) expect(seen.has(k), `${k} missing`).toBe(true);
}

describe('a real encoder: Node nghttp2 over a loopback connection', () => {
  // Requests 0-11 repeat custom headers (x-tenant cycles through 3 values, x-app and x-fixed are
  // constant) and bring a unique ~330-octet x-session each: the 4096-octet table turns over every
  // ~12 requests. Request 6 has a 30000-character value (22500 octets in Huffman: CONTINUATION).
  // Requests 12-39 use static-table names with unique values and a new name each, and x-fixed.
  const requests: { headers: H; weight?: number }[] = [];
  for (let i = 0; i < 40; i++) {
    const h: H = {
      ':method': i % 4 === 3 ? 'POST' : 'GET',
      ':scheme': 'http',
      ':authority': 'api.spanwire.test',
      ':path': `/v1/items/${i}?page=${i % 5}`,
    };
    if (i < 12) {
      h['x-tenant'] = `tenant-${i % 3}`;
      h['x-app'] = 'checkout';
      h['x-session'] = `${i}-${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(9)}`;
    } else {
      h['user-agent'] = `agent/${i} ${'Mozilla/5.0 (X11; Linux x86_64) '.repeat(9)}`;
      h[`x-new-${i}`] = `value ${i}`;
    }
    h['x-fixed'] = 'always the same value';
    if (i === 6) h['x-huge'] = 'h'.repeat(30000);
    if (i === 9) h['x-latin1'] = 'caf\u00e9 \u00ff\u00a0';
    requests.push(i % 5 === 2 ? { headers: h, weight: 200 } : { headers: h });
  }
  const respond = (i: number): H => ({ ':status': i % 7 === 3 ? '404' : '200', 'x-request': String(i), 'x-server': 'spanwire-test', 'cache-control': i % 2 ? 'no-store' : 'max-age=60' });

  let recorded: Promise<{ c2s: Uint8Array; s2c: Uint8Array }> | null = null;
  const get = () => (recorded ??= recordConnection(requests, respond));

  it('the recording exercises CONTINUATION, padding and priority', async () => {
    const blocks = headerBlocks((await get()).c2s, true);
    expect(blocks.length).toBe(requests.length);
    expect(blocks[6].frames).toBeGreaterThan(1);
    expect(blocks.some((b) => b.padded)).toBe(true);
    expect(blocks.some((b) => b.priority)).toBe(true);
    expect(blocks.map((b) => b.stream)).toEqual(requests.map((_, i) => 2 * i + 1));
  });

  it('decodes every request block: exactly the headers sent', async () => {
    const blocks = headerBlocks((await get()).c2s, true);
    const d = new HpackDecoder();
    blocks.forEach((b, i) => {
      const x = run(d, b.bytes);
      expect(x.r, `block ${i}`).toBe(HPACK_OK);
      expectSent(x.c.fields, requests[i].headers, true);
      expect(d.incomplete).toBe(false);
      if (i === 1) expect(d.tableEntries()).toContainEqual(['x-app', 'checkout']); // the encoder indexes
      expect(d.tableSize).toBeLessThanOrEqual(4096);
    });
    // The table turned over: request 0's x-session is long gone, request 39's user-agent is there.
    expect(d.tableEntries()).not.toContainEqual(['x-session', requests[0].headers['x-session']]);
    expect(d.tableEntries()).toContainEqual(['user-agent', requests[39].headers['user-agent']]);
  });

  it('decodes every response block: the headers the server sent (Node adds date)', async () => {
    const blocks = headerBlocks((await get()).s2c, false);
    expect(blocks.length).toBe(requests.length);
    const d = new HpackDecoder();
    blocks.forEach((b, i) => {
      const x = run(d, b.bytes);
      expect(x.r, `block ${i}`).toBe(HPACK_OK);
      expectSent(x.c.fields, respond(i), true, ['date']);
      const date = x.c.fields.find((f) => f?.[0] === 'date');
      expect(date![1]).toMatch(/^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/);
    });
  });

  it('from the 3rd block with the table unknown: nothing invented, then complete recovery', async () => {
    const blocks = headerBlocks((await get()).c2s, true);
    const d = new HpackDecoder(4096, false);
    let unknown = 0;
    let recoveredAt = -1;
    for (let i = 2; i < blocks.length; i++) {
      const x = run(d, blocks[i].bytes);
      expect(x.r, `block ${i}`).toBe(HPACK_OK);
      expectSent(x.c.fields, requests[i].headers, recoveredAt >= 0);
      unknown += x.c.unknown;
      if (recoveredAt < 0 && !d.incomplete) recoveredAt = i;
    }
    expect(unknown).toBeGreaterThan(10); // x-tenant, x-app, x-fixed, x-session names from blocks 0-1
    // 28 requests with ~330-octet entries of known names fill the 4096-octet table several times.
    expect(recoveredAt).toBeGreaterThan(12);
    expect(recoveredAt).toBeLessThan(36);
  });

  it('a size update to 0 (the server sets SETTINGS_HEADER_TABLE_SIZE 0, then 4096) ends the unknown state', async () => {
    const reqs = Array.from({ length: 12 }, (_, i) => ({
      headers: { ':method': 'GET', ':scheme': 'http', ':authority': 'a.test', ':path': `/p/${i % 3}`, 'x-tenant': `t-${i % 2}`, 'x-app': 'orders', 'x-id': `id-${i}` } as H,
    }));
    const { c2s } = await recordConnection(reqs, () => ({ ':status': '204' }), async (i, s) => {
      if (i !== 6 && i !== 8) return;
      s.settings({ headerTableSize: i === 6 ? 0 : 4096 });
      await new Promise((r) => s.once('localSettings', r)); // acknowledged: the client's encoder knows
    });
    const blocks = headerBlocks(c2s, true);
    expect(blocks.length).toBe(12);
    expect(blocks[6].bytes[0]).toBe(0x20); // nghttp2 starts block 6 with "size update 0" (6.3)
    const known = new HpackDecoder();
    blocks.forEach((b, i) => {
      const x = run(known, b.bytes);
      expect(x.r).toBe(HPACK_OK);
      expectSent(x.c.fields, reqs[i].headers, true);
    });
    const d = new HpackDecoder(4096, false);
    let unknownBefore = 0;
    for (let i = 2; i < blocks.length; i++) {
      const x = run(d, blocks[i].bytes);
      expect(x.r).toBe(HPACK_OK);
      expectSent(x.c.fields, reqs[i].headers, i >= 6);
      if (i < 6) {
        unknownBefore += x.c.unknown;
        expect(d.incomplete).toBe(true);
      } else {
        expect(d.incomplete).toBe(false);
      }
    }
    expect(unknownBefore).toBeGreaterThan(0);
  });
});

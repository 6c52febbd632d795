/**
 * The HPACK Huffman code (RFC 7541 section 5.2 and Appendix B), decoding only.
 *
 * Appendix B's code is canonical: codes are assigned in order of (length, symbol). So the table
 * below holds only each symbol's code length (symbols 0..255 and EOS = 256, transcribed from the
 * RFC); the codes are rebuilt from the lengths at load and checked against a few of the RFC's
 * published values (and the unit tests check the Kraft sum and the RFC's examples).
 *
 * Decoding walks a byte-indexed state table built once at load: for each tree node and input byte,
 * the next node and the (at most two) symbols completed. No allocation per string besides the result.
 */
import { latin1 } from '../../core/l7/bytes.js';

// prettier-ignore
export const HUFFMAN_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0-15
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 16-31
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // 32-47  ' ' .. '/'
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // 48-63  '0' .. '?'
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // 64-79  '@' .. 'O'
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 80-95  'P' .. '_'
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // 96-111 '`' .. 'o'
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 112-127 'p' .. DEL
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128-143
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144-159
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160-175
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176-191
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192-207
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208-223
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224-239
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240-255
  30, // EOS
];

export const EOS = 256;

/** Canonical codes from the lengths (RFC 7541 Appendix B is canonical). */
function canonicalCodes(lengths: readonly number[]): number[] {
  const order = lengths.map((_, s) => s).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const codes = new Array<number>(lengths.length).fill(0);
  let code = 0;
  let len = lengths[order[0]];
  for (let i = 0; i < order.length; i++) {
    const s = order[i];
    if (i > 0) {
      code = (code + 1) * 2 ** (lengths[s] - len);
      len = lengths[s];
    }
    codes[s] = code;
  }
  return codes;
}

export const HUFFMAN_CODES: readonly number[] = canonicalCodes(HUFFMAN_LENGTHS);

// Published values (Appendix B) the rebuilt codes must match: a wrong length anywhere shifts them.
const CHECKS: [number, number][] = [
  [0, 0x1ff8],
  [9, 0xffffea],
  [47, 0x18],
  [127, 0xffffffc],
  [200, 0x3ffffe2],
  [255, 0x3ffffee],
  [EOS, 0x3fffffff],
];
for (const [s, c] of CHECKS) {
  if (HUFFMAN_CODES[s] !== c) throw new Error(`HPACK Huffman table: symbol ${s} code ${HUFFMAN_CODES[s].toString(16)} != ${c.toString(16)}`);
}

// ---- the decoding tree and the byte-step table ------------------------------------------------
// Internal nodes numbered from 0 (root); child[node*2+bit] = next internal node, or -(symbol+1) for a leaf.
const child = new Int32Array(2 * 512).fill(0);
let nodes = 1;
for (let s = 0; s <= EOS; s++) {
  const len = HUFFMAN_LENGTHS[s];
  const code = HUFFMAN_CODES[s];
  let n = 0;
  for (let i = len - 1; i >= 0; i--) {
    const bit = Math.floor(code / 2 ** i) & 1;
    const k = n * 2 + bit;
    if (i === 0) {
      child[k] = -(s + 1);
    } else {
      if (child[k] === 0) child[k] = nodes++;
      n = child[k];
    }
  }
}
const NODES = nodes;

/** Depth of a node when it lies on the all-ones path from the root (valid padding, <= 7 bits), else -1. */
const paddingOk = new Uint8Array(NODES);
{
  let n = 0;
  paddingOk[0] = 1;
  for (let d = 1; d <= 7; d++) {
    n = child[n * 2 + 1];
    if (n <= 0) break;
    paddingOk[n] = 1;
  }
}

// Step table per (node, byte): next node (bits 0-8), symbol count (bits 9-10), failure (bit 11: EOS
// decoded); symbols in STEP_SYM (two per entry).
const STEP = new Uint16Array(NODES * 256);
const STEP_SYM = new Uint8Array(NODES * 256 * 2);
for (let n0 = 0; n0 < NODES; n0++) {
  for (let byte = 0; byte < 256; byte++) {
    let n = n0;
    let count = 0;
    let fail = 0;
    const e = n0 * 256 + byte;
    for (let i = 7; i >= 0; i--) {
      const next = child[n * 2 + ((byte >> i) & 1)];
      if (next < 0) {
        const sym = -next - 1;
        if (sym === EOS) {
          fail = 1;
          break;
        }
        STEP_SYM[e * 2 + count++] = sym;
        n = 0;
      } else {
        n = next;
      }
    }
    STEP[e] = n | (count << 9) | (fail << 11);
  }
}

/** Output buffer reused across calls, up to SHARED_MAX bytes. */
const SHARED_MAX = 1 << 16;
let shared = new Uint8Array(256);

/**
 * Decodes the Huffman string `buf[offset .. offset+length)` as latin1 (one char per byte), or
 * returns null when it is invalid: EOS inside, or padding longer than 7 bits or not all ones
 * (RFC 7541 5.2).
 */
export function huffmanDecode(buf: Uint8Array, offset: number, length: number): string | null {
  // Bytes outside `buf` do not exist.
  const start = offset > 0 ? Math.floor(offset) : 0;
  const end = Math.min(Math.floor(offset + length), buf.length);
  if (!(end > start)) return '';
  // Each symbol is at least 5 bits: at most 8/5 symbols per byte. Long strings get a buffer of their
  // own (the shared one stays small).
  const max = (((end - start) * 8) / 5 + 2) | 0;
  let out = shared;
  if (out.length < max) {
    if (max <= SHARED_MAX) out = shared = new Uint8Array(Math.min(Math.max(max, out.length * 2), SHARED_MAX));
    else out = new Uint8Array(max);
  }
  let n = 0;
  let o = 0;
  for (let p = start; p < end; p++) {
    const e = n * 256 + buf[p];
    const st = STEP[e];
    if ((st & 0x800) !== 0) return null;
    const count = (st >> 9) & 3;
    if (count > 0) {
      out[o++] = STEP_SYM[e * 2];
      if (count > 1) out[o++] = STEP_SYM[e * 2 + 1];
    }
    n = st & 0x1ff;
  }
  if (paddingOk[n] === 0) return null;
  return latin1(out, 0, o);
}

import { randomFillSync } from 'node:crypto';
import { hexOf } from './span-record.js';

/**
 * Trace and span ids from a pooled random buffer (one crypto call per 4096 ids, not one per id).
 * With a seed it is deterministic (xorshift), for reproducible output in tests and demos.
 */
export class IdGenerator {
  private readonly pool = new Uint8Array(8 * 4096);
  private readonly scratch = new Uint8Array(8);
  private pos = this.pool.length;
  private s0: number;
  private s1: number;

  constructor(private readonly seed: number | null = null) {
    this.s0 = (seed ?? 1) | 0 || 0x9e3779b9;
    this.s1 = 0x6a09e667;
  }

  private refill(): void {
    if (this.seed === null) {
      randomFillSync(this.pool);
    } else {
      for (let i = 0; i < this.pool.length; i += 4) {
        // xorshift64-ish over two 32-bit halves
        let a = this.s0;
        const b = this.s1;
        this.s0 = b;
        a ^= a << 23;
        a ^= a >>> 17;
        a ^= b ^ (b >>> 26);
        this.s1 = a;
        const v = (this.s0 + this.s1) >>> 0;
        this.pool[i] = v & 0xff;
        this.pool[i + 1] = (v >>> 8) & 0xff;
        this.pool[i + 2] = (v >>> 16) & 0xff;
        this.pool[i + 3] = v >>> 24;
      }
    }
    this.pos = 0;
  }

  /** Writes the next span id (8 bytes, never all zero) at `dst[off..off+8)`. */
  spanIdInto(dst: Uint8Array, off: number): void {
    for (;;) {
      if (this.pos + 8 > this.pool.length) this.refill();
      const p = this.pool;
      const i = this.pos;
      this.pos += 8;
      if ((p[i] | p[i + 1] | p[i + 2] | p[i + 3] | p[i + 4] | p[i + 5] | p[i + 6] | p[i + 7]) === 0) continue;
      for (let k = 0; k < 8; k++) dst[off + k] = p[i + k];
      return;
    }
  }

  /** Writes the next trace id (16 bytes: two span-id draws) at `dst[off..off+16)`. */
  traceIdInto(dst: Uint8Array, off: number): void {
    this.spanIdInto(dst, off);
    this.spanIdInto(dst, off + 8);
  }

  /** 16 hex chars, never all zero. */
  spanId(): string {
    this.spanIdInto(this.scratch, 0);
    return hexOf(this.scratch, 0, 8);
  }

  /** 32 hex chars, never all zero. */
  traceId(): string {
    return this.spanId() + this.spanId();
  }
}

import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * Where encoders write bytes: a buffer with a cursor. `ensure(n)` guarantees room for n more bytes
 * (flushing or growing as the sink sees fit); encoders then write at `buf[pos..]` and advance `pos`.
 */
export interface ByteSink {
  buf: Buffer;
  pos: number;
  ensure(n: number): void;
}

type FastBuffer = Buffer & {
  latin1Write(s: string, offset: number): number;
  utf8Write(s: string, offset: number): number;
};

/** Writes an ASCII/latin1 string as bytes (the caller knows every char is < 0x100). */
export function writeLatin1(sink: ByteSink, s: string): void {
  sink.ensure(s.length);
  sink.pos += (sink.buf as FastBuffer).latin1Write(s, sink.pos);
}

/** Writes a string as UTF-8. */
export function writeUtf8(sink: ByteSink, s: string): void {
  sink.ensure(s.length * 3);
  sink.pos += (sink.buf as FastBuffer).utf8Write(s, sink.pos);
}

/** Writes pre-encoded bytes. */
export function writeBytes(sink: ByteSink, b: Uint8Array): void {
  if (sink.pos + b.length > sink.buf.length) sink.ensure(b.length);
  sink.buf.set(b, sink.pos);
  sink.pos += b.length;
}

/** An in-memory sink that grows (for tests and for encoding to a string). */
export class MemorySink implements ByteSink {
  buf = Buffer.allocUnsafe(64 << 10);
  pos = 0;
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const nb = Buffer.allocUnsafe(cap);
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }
  toString(): string {
    return this.buf.toString('utf8', 0, this.pos);
  }
}

/**
 * A buffered, synchronous writer on a file descriptor (a file, /dev/null, or stdout). Replay is a
 * batch job: synchronous writes keep the output in step with processing and cost nothing when the
 * target is a file. EAGAIN on a non-blocking pipe is retried after a short sleep. One buffer, reused:
 * no allocation per write.
 */
export class TextOutput implements ByteSink {
  buf: Buffer;
  pos = 0;
  private readonly fd: number;
  private readonly owned: boolean;
  private closed = false;
  /** Bytes written so far. */
  written = 0;

  /** `path` '-' (or undefined) writes to stdout. */
  constructor(path: string | undefined, bufferSize = 1 << 20) {
    this.buf = Buffer.allocUnsafe(bufferSize);
    if (path === undefined || path === '-') {
      this.fd = 1;
      this.owned = false;
    } else {
      this.fd = openSync(path, 'w');
      this.owned = true;
    }
  }

  get isStdout(): boolean {
    return !this.owned;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n * 2);
  }

  write(s: string): void {
    writeUtf8(this, s);
  }

  flush(): void {
    let off = 0;
    while (off < this.pos) {
      try {
        off += writeSync(this.fd, this.buf, off, this.pos - off);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
    }
    this.written += this.pos;
    this.pos = 0;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.owned) closeSync(this.fd);
  }
}

import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * A buffered, synchronous text writer on a file descriptor (a file, /dev/null, or stdout). Replay is
 * a batch job: synchronous writes keep the output in step with processing and cost nothing when the
 * target is a file. EAGAIN on a non-blocking pipe is retried after a short sleep.
 */
export class TextOutput {
  private parts: string[] = [];
  private size = 0;
  private readonly fd: number;
  private readonly owned: boolean;
  private closed = false;
  /** Bytes written so far. */
  written = 0;

  /** `path` '-' (or undefined) writes to stdout. */
  constructor(path: string | undefined, private readonly flushAt = 1 << 20) {
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

  write(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= this.flushAt) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    const data = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.size = 0;
    let off = 0;
    while (off < data.length) {
      try {
        off += writeSync(this.fd, data, off, data.length - off);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
    }
    this.written += data.length;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.owned) closeSync(this.fd);
  }
}

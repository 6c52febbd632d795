/**
 * `file` exporter transport: one OTLP/JSON export request per line (the Collector's format), written
 * every `flush_interval` (and at shutdown); with `rotation`, the file is renamed to
 * NAME-<UTC timestamp>.EXT when the next line would pass `max_megabytes`, keeping `max_backups` old
 * files. Without `append` an existing file is truncated at start, as the Collector does.
 */
import { closeSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { FileExporterConfig, Signal } from '../../../otel-config/components.js';
import { ConsumerError } from '../component.js';
import { spansOf } from '../pdata/codec.js';
import type { SignalData, TracesData } from '../pdata/model.js';
import { tracesToJson } from '../pdata/traces.js';
import type { Transport } from './exporter.js';

/** One open file shared by the signals of one file exporter. */
class JsonLinesFile {
  private fd = -1;
  private size = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  users = 0;

  constructor(private readonly cfg: FileExporterConfig) {}

  open(): void {
    if (this.fd >= 0) return;
    this.fd = openSync(this.cfg.path, this.cfg.append || this.cfg.rotation !== undefined ? 'a' : 'w');
    this.size = statSync(this.cfg.path).size;
    this.timer = setInterval(() => this.flush(), Math.max(10, this.cfg.flushIntervalMs));
    this.timer.unref();
  }

  write(line: Buffer): void {
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= 1 << 20) this.flush();
  }

  flush(): void {
    if (this.fd < 0) return;
    for (const b of this.pending) {
      const r = this.cfg.rotation;
      if (r !== undefined && this.size > 0 && this.size + b.length > r.maxMegabytes * (1 << 20)) this.rotate();
      writeSync(this.fd, b);
      this.size += b.length;
    }
    this.pending = [];
    this.pendingBytes = 0;
  }

  private rotate(): void {
    const r = this.cfg.rotation!;
    closeSync(this.fd);
    const ext = extname(this.cfg.path);
    const base = basename(this.cfg.path, ext);
    const d = new Date();
    const stamp = (r.localtime ? new Date(d.getTime() - d.getTimezoneOffset() * 60_000) : d).toISOString().replace(/:/g, '-').replace('Z', '');
    renameSync(this.cfg.path, join(dirname(this.cfg.path), `${base}-${stamp}${ext}`));
    const backups = readdirSync(dirname(this.cfg.path))
      .filter((f) => f.startsWith(`${base}-`) && f.endsWith(ext) && /\d{4}-\d\d-\d\dT/.test(f))
      .sort();
    if (r.maxBackups > 0) for (const f of backups.slice(0, Math.max(0, backups.length - r.maxBackups))) unlinkSync(join(dirname(this.cfg.path), f));
    this.fd = openSync(this.cfg.path, 'a');
    this.size = 0;
  }

  close(): void {
    this.flush();
    if (this.timer !== null) clearInterval(this.timer);
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

const files = new Map<string, JsonLinesFile>();

export class FileTransport<S extends Signal> implements Transport<S> {
  private file: JsonLinesFile | null = null;
  constructor(
    readonly id: string,
    readonly signal: S,
    private readonly cfg: FileExporterConfig,
  ) {}

  async start(): Promise<void> {
    let f = files.get(this.cfg.path);
    if (f === undefined) {
      f = new JsonLinesFile(this.cfg);
      files.set(this.cfg.path, f);
      try {
        f.open();
      } catch (e) {
        files.delete(this.cfg.path);
        throw new Error(`exporters::${this.id}::path: cannot write ${this.cfg.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    f.users++;
    this.file = f;
  }

  async send(data: SignalData[S]): Promise<void> {
    if (this.file === null) throw ConsumerError.permanent(`exporter ${this.id} is not started`);
    const obj = this.signal === 'traces' ? tracesToJson(spansOf(data as TracesData)) : data;
    this.file.write(Buffer.from(JSON.stringify(obj) + '\n'));
  }

  async shutdown(): Promise<void> {
    const f = this.file;
    this.file = null;
    if (f !== null && --f.users === 0) {
      f.close();
      files.delete(this.cfg.path);
    }
  }
}

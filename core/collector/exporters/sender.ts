/**
 * What every exporter shares, as the Collector's exporterhelper: a bounded sending queue (in memory,
 * or on disk through a file_storage extension so it survives a restart) drained by `num_consumers`
 * workers, and retries with exponential backoff and jitter under a maximum elapsed time. Permanent
 * refusals are not retried. Everything dropped is counted (`otelcol_exporter_send_failed_*`,
 * `otelcol_exporter_enqueue_failed_*`).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { ExporterCommon, RetryConfig, Signal } from '../../../otel-config/components.js';
import { asConsumerError, ConsumerError, type Consumer, type Host } from '../component.js';
import { decodeRequest, encodeRequest } from '../pdata/codec.js';
import { countItems, ITEM_NAME, type SignalData } from '../pdata/model.js';
import type { Counter } from '../telemetry.js';
import type { FileStorageExtension } from '../extensions/file-storage.js';

/** Sends one batch once; rejects with a ConsumerError (retryable or permanent). */
export type SendFn<S extends Signal> = (data: SignalData[S]) => Promise<void>;

/** The delay before retry `attempt` (0-based): initial * multiplier^attempt, capped, +/- jitter. */
export function backoffDelay(r: RetryConfig, attempt: number, random = Math.random): number {
  const base = Math.min(r.maxIntervalMs, r.initialIntervalMs * Math.pow(r.multiplier, attempt));
  const delta = r.randomizationFactor * base;
  return base - delta + random() * 2 * delta;
}

interface QueueItem<S extends Signal> {
  data: SignalData[S] | null;
  /** On-disk file of a persistent item. */
  file: string | null;
  items: number;
}

export class QueuedRetrySender<S extends Signal> implements Consumer<S> {
  private readonly queue: QueueItem<S>[] = [];
  private readonly waiters: (() => void)[] = [];
  private readonly workers: Promise<void>[] = [];
  private stopping = false;
  private started = false;
  private dir: string | null = null;
  private fsync = false;
  private seq = 0;
  private readonly abort = new AbortController();
  private sent!: Counter;
  private failed!: Counter;
  private enqueueFailed!: Counter;
  private inFlight = 0;

  constructor(
    readonly id: string,
    readonly signal: S,
    private readonly cfg: ExporterCommon,
    private readonly send: SendFn<S>,
  ) {}

  async start(host: Host): Promise<void> {
    if (this.started) return;
    this.started = true;
    const t = host.telemetry;
    const item = ITEM_NAME[this.signal];
    const labels = { exporter: this.id };
    this.sent = t.counter(`otelcol_exporter_sent_${item}`, `Number of ${item} successfully sent to destination.`, labels);
    this.failed = t.counter(`otelcol_exporter_send_failed_${item}`, `Number of ${item} in failed attempts to send to destination.`, labels);
    this.enqueueFailed = t.counter(`otelcol_exporter_enqueue_failed_${item}`, `Number of ${item} failed to be added to the sending queue.`, labels);
    if (!this.cfg.queue.enabled) return;
    const ql = { exporter: this.id, data_type: this.signal };
    t.gauge('otelcol_exporter_queue_size', 'Current size of the retry queue (in batches).', ql, () => this.queue.length);
    t.gauge('otelcol_exporter_queue_capacity', 'Fixed capacity of the retry queue (in batches).', ql, () => this.cfg.queue.queueSize);
    if (this.cfg.queue.storage !== undefined) {
      const ext = host.extension(this.cfg.queue.storage) as FileStorageExtension | undefined;
      if (ext === undefined || typeof ext.directoryFor !== 'function') throw new Error(`sending_queue::storage: extension "${this.cfg.queue.storage}" is not a started file_storage`);
      this.dir = ext.directoryFor(`exporter_${this.id.replace(/[^A-Za-z0-9_.-]/g, '_')}_${this.signal}`);
      this.fsync = ext.fsync;
      mkdirSync(this.dir, { recursive: true });
      // What a previous run left unsent goes first, oldest first.
      const files = readdirSync(this.dir).filter((f) => /^\d{16}\.otlp$/.test(f)).sort();
      for (const f of files) {
        const n = Number(f.slice(0, 16));
        if (n >= this.seq) this.seq = n + 1;
        if (this.queue.length >= this.cfg.queue.queueSize) {
          unlinkSync(join(this.dir, f));
          this.enqueueFailed.add(1);
          continue;
        }
        this.queue.push({ data: null, file: join(this.dir, f), items: 0 });
      }
      for (const f of readdirSync(this.dir)) if (f.endsWith('.tmp')) unlinkSync(join(this.dir, f));
      if (files.length > 0) host.log('info', `exporter ${this.id}: ${this.queue.length} ${this.signal} batches left from the previous run are queued again`);
    }
    for (let i = 0; i < this.cfg.queue.numConsumers; i++) this.workers.push(this.work());
  }

  async consume(data: SignalData[S]): Promise<void> {
    const items = countItems(this.signal, data);
    if (items === 0) return;
    if (!this.cfg.queue.enabled) {
      await this.sendWithRetry(data, items);
      return;
    }
    if (this.stopping) throw ConsumerError.retryable(`exporter ${this.id} is shutting down`);
    if (this.queue.length >= this.cfg.queue.queueSize) {
      this.enqueueFailed.add(items);
      throw ConsumerError.retryable(`sending queue of exporter ${this.id} is full (${this.cfg.queue.queueSize} batches)`, 1000);
    }
    if (this.dir !== null) {
      const name = `${String(this.seq++).padStart(16, '0')}.otlp`;
      const file = join(this.dir, name);
      const tmp = `${file}.tmp`;
      writeFileSync(tmp, encodeRequest(this.signal, data, 'proto'));
      if (this.fsync) {
        const fd = openSync(tmp, 'r');
        fsyncSync(fd);
        closeSync(fd);
      }
      renameSync(tmp, file);
      this.queue.push({ data: null, file, items });
    } else this.queue.push({ data, file: null, items });
    this.waiters.shift()?.();
  }

  private async work(): Promise<void> {
    for (;;) {
      const it = this.queue.shift();
      if (it === undefined) {
        if (this.stopping) return;
        await new Promise<void>((r) => this.waiters.push(r));
        continue;
      }
      this.inFlight++;
      try {
        let data = it.data;
        if (data === null && it.file !== null) {
          try {
            data = decodeRequest(this.signal, readFileSync(it.file), 'proto');
          } catch {
            unlinkSync(it.file); // unreadable: dropped (counted below)
            this.failed.add(it.items || 1);
            continue;
          }
          it.items = countItems(this.signal, data);
        }
        const done = await this.sendWithRetry(data!, it.items).then(
          () => true,
          () => !this.abort.signal.aborted,
        );
        // A persistent item whose sending was cut short by shutdown stays on disk for the next run.
        if (it.file !== null && done) unlinkSync(it.file);
      } finally {
        this.inFlight--;
      }
    }
  }

  private async sendWithRetry(data: SignalData[S], items: number): Promise<void> {
    const r = this.cfg.retry;
    const startMs = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.send(data);
        this.sent.add(items);
        return;
      } catch (e) {
        const err = asConsumerError(e);
        if (!err.retryable || !r.enabled || this.abort.signal.aborted) {
          this.failed.add(items);
          throw err;
        }
        let delay = backoffDelay(r, attempt);
        if (err.retryAfterMs !== undefined) delay = Math.max(delay, err.retryAfterMs);
        if (r.maxElapsedTimeMs > 0 && Date.now() - startMs + delay > r.maxElapsedTimeMs) {
          this.failed.add(items);
          throw ConsumerError.permanent(`no more retries left (max_elapsed_time ${r.maxElapsedTimeMs} ms): ${err.message}`);
        }
        const aborted = await sleep(delay, this.abort.signal);
        if (aborted) {
          this.failed.add(items);
          throw err;
        }
      }
    }
  }

  /**
   * Queued in-memory data is sent (with retries) for up to `drainMs` (Infinity: until sent or given
   * up by retry_on_failure); persistent items stay on disk for the next run.
   */
  async shutdown(drainMs = 5000): Promise<void> {
    if (this.stopping || !this.started) {
      this.stopping = true;
      return;
    }
    this.stopping = true;
    if (this.dir !== null) {
      // Stop now: what is on disk is sent by the next run.
      this.queue.length = 0;
      this.abort.abort();
    } else if (Number.isFinite(drainMs)) {
      const t = setTimeout(() => this.abort.abort(), drainMs);
      t.unref();
    }
    for (const w of this.waiters.splice(0)) w();
    await Promise.all(this.workers);
  }

  queueSize(): number {
    return this.queue.length + this.inFlight;
  }
}

/** Resolves after `ms`, or early (true) when aborted. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(false);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(true);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * `debug` (and its old name `logging`) exporter transport: a line per batch on stderr (basic), or
 * each item in the OTLP/JSON mapping (normal: one line per item; detailed: indented), with the
 * Collector's sampling (the first `sampling_initial` batches each second, then every
 * `sampling_thereafter`-th).
 */
import type { DebugExporterConfig, Signal } from '../../../otel-config/components.js';
import { countItems, ITEM_NAME, type SignalData } from '../pdata/model.js';
import { tracesToJson } from '../pdata/traces.js';
import { spansOf } from '../pdata/codec.js';
import type { TracesData } from '../pdata/model.js';
import type { Transport } from './exporter.js';

export class DebugTransport<S extends Signal> implements Transport<S> {
  private second = 0;
  private inSecond = 0;
  constructor(
    readonly id: string,
    readonly signal: S,
    private readonly cfg: DebugExporterConfig,
    private readonly write: (s: string) => void = (s) => process.stderr.write(s),
  ) {}

  async send(data: SignalData[S]): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    if (now !== this.second) {
      this.second = now;
      this.inSecond = 0;
    }
    this.inSecond++;
    if (this.inSecond > this.cfg.samplingInitial && (this.inSecond - this.cfg.samplingInitial) % this.cfg.samplingThereafter !== 0) return;
    const n = countItems(this.signal, data);
    const label = this.signal === 'traces' ? 'Traces' : this.signal === 'metrics' ? 'Metrics' : 'Logs';
    let out = `${new Date().toISOString()}\tinfo\t${label}\t{"exporter": "${this.id}", "${ITEM_NAME[this.signal].replace('metric_points', 'data points').replace('log_records', 'log records')}": ${n}}\n`;
    if (this.cfg.verbosity !== 'basic') {
      const json = this.signal === 'traces' ? tracesToJson(spansOf(data as TracesData)) : data;
      out += this.cfg.verbosity === 'detailed' ? JSON.stringify(json, null, 2) + '\n' : JSON.stringify(json) + '\n';
    }
    this.write(out);
  }
}

/** An exporter = a transport (how one batch is sent) behind the shared queue and retry. */
import type { ExporterCommon, Signal } from '../../../otel-config/components.js';
import type { Component, Consumer, Host } from '../component.js';
import type { SignalData } from '../pdata/model.js';
import { QueuedRetrySender } from './sender.js';

export interface Transport<S extends Signal> {
  start?(host: Host): Promise<void>;
  /** Sends one batch once; rejects with a ConsumerError. */
  send(data: SignalData[S]): Promise<void>;
  shutdown?(): Promise<void>;
}

export class Exporter<S extends Signal> implements Consumer<S>, Component {
  readonly sender: QueuedRetrySender<S>;
  private started = false;
  private stopped = false;
  constructor(
    readonly id: string,
    readonly signal: S,
    common: ExporterCommon,
    readonly transport: Transport<S>,
  ) {
    this.sender = new QueuedRetrySender(id, signal, common, (d) => transport.send(d));
  }
  async start(host: Host): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.transport.start?.(host);
    await this.sender.start(host);
  }
  consume(data: SignalData[S]): Promise<void> {
    return this.sender.consume(data);
  }
  /** `drainMs`: how long queued data may still be sent (see QueuedRetrySender.shutdown). */
  async shutdown(drainMs = 5000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.sender.shutdown(drainMs);
    await this.transport.shutdown?.();
  }
}

import type { SpanData, TracesConsumer } from '../trace/span.js';

/** Several consumers fed the same batches, in order (an async one is awaited with the others). */
export class Tee implements TracesConsumer {
  constructor(private readonly parts: TracesConsumer[]) {}

  consumeTraces(spans: SpanData[]): void | Promise<void> {
    let pending: Promise<void>[] | null = null;
    for (const p of this.parts) {
      const r = p.consumeTraces(spans);
      if (r instanceof Promise) (pending ??= []).push(r);
    }
    if (pending !== null) return Promise.all(pending).then(() => undefined);
  }
}

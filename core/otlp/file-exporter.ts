import type { TextOutput } from '../pipeline/output.js';
import type { SpanRecord, SpanRecordConsumer } from '../trace/span-record.js';
import type { SpanData, TracesConsumer } from '../trace/span.js';
import { SpanBatchEncoder, writeTraceRequest } from './json.js';

/**
 * Writes each batch as one OTLP/JSON `ExportTraceServiceRequest` per line, as the OpenTelemetry
 * Collector's file exporter does, so any OTLP tool can read the file.
 *
 * It takes span records directly (`consumeRecord` ... `endBatch`: each span encoded as it is made,
 * no span object built) or batches of `SpanData` (`consumeTraces`); both write the same lines.
 */
export class OtlpJsonLinesExporter implements TracesConsumer, SpanRecordConsumer {
  spansWritten = 0;
  linesWritten = 0;
  private readonly encoder = new SpanBatchEncoder();

  constructor(private readonly out: TextOutput) {}

  consumeTraces(spans: SpanData[]): void {
    if (spans.length === 0) return;
    writeTraceRequest(this.out, spans);
    this.endLine(spans.length);
  }

  consumeRecord(rec: SpanRecord): void {
    this.encoder.add(rec);
  }

  endBatch(): void {
    const n = this.encoder.count;
    if (n === 0) return;
    this.encoder.writeTo(this.out);
    this.endLine(n);
  }

  private endLine(spans: number): void {
    this.out.ensure(1);
    this.out.buf[this.out.pos++] = 0x0a;
    this.spansWritten += spans;
    this.linesWritten++;
  }

  shutdown(): void {
    this.out.close();
  }
}

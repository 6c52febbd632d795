import type { TextOutput } from '../pipeline/output.js';
import type { SpanData, TracesConsumer } from '../trace/span.js';
import { writeTraceRequest } from './json.js';

/**
 * Writes each batch as one OTLP/JSON `ExportTraceServiceRequest` per line, as the OpenTelemetry
 * Collector's file exporter does, so any OTLP tool can read the file.
 */
export class OtlpJsonLinesExporter implements TracesConsumer {
  spansWritten = 0;
  linesWritten = 0;

  constructor(private readonly out: TextOutput) {}

  consumeTraces(spans: SpanData[]): void {
    if (spans.length === 0) return;
    writeTraceRequest(this.out, spans);
    this.out.ensure(1);
    this.out.buf[this.out.pos++] = 0x0a;
    this.spansWritten += spans.length;
    this.linesWritten++;
  }

  shutdown(): void {
    this.out.close();
  }
}

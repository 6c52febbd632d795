/**
 * The replay pipeline: capture files -> decode -> flows/TCP reassembly -> L7 dispatch -> pairing ->
 * spans -> batches -> a TracesConsumer. Synchronous per packet; the only await is between file
 * chunks (and on the consumer's back-pressure at batch boundaries).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { createCaptureFileSource } from '../capture/pcap-file.js';
import type { CaptureSummary, PacketSink, RawPacket } from '../capture/types.js';
import { CaptureFileError, TimeBase } from '../capture/types.js';
import { PacketDecoder } from '../decode/decoder.js';
import type { DecoderLimits } from '../decode/types.js';
import { DECODE_OK, DecodedPacket } from '../decode/types.js';
import { FlowTable } from '../flow/flow-table.js';
import type { FlowLimits } from '../flow/types.js';
import type { DispatcherLimits } from '../l7/dispatcher.js';
import { L7Dispatcher } from '../l7/dispatcher.js';
import type { ParserRegistry } from '../l7/registry.js';
import type { PairerLimits } from '../session/pairer.js';
import { SessionPairer } from '../session/pairer.js';
import type { SpanSink } from '../trace/builder.js';
import { SpanBuilder } from '../trace/builder.js';
import { LocalAddresses } from '../trace/local-addresses.js';
import type { SpanRecord, SpanRecordConsumer } from '../trace/span-record.js';
import { isSpanRecordConsumer } from '../trace/span-record.js';
import type { SpanData, TracesConsumer } from '../trace/span.js';
import { createDefaultRegistry } from '../../parsers/index.js';
import { SPANWIRE_SCOPE } from './version.js';

export interface ReplayOptions {
  files: readonly string[];
  consumer: TracesConsumer;
  /** Spans per batch handed to the consumer (default 512). */
  batchSize?: number;
  /** Addresses of the capturing host (decide SERVER vs CLIENT spans). */
  localAddresses?: readonly string[];
  serviceName?: string;
  requestTimeoutNs?: number;
  idSeed?: number | null;
  registry?: ParserRegistry;
  parserOptions?: Record<string, Record<string, unknown>>;
  limits?: {
    decoder?: Partial<DecoderLimits>;
    flow?: Partial<FlowLimits>;
    dispatcher?: Partial<DispatcherLimits>;
    pairer?: Partial<PairerLimits>;
  };
  /** Progress over all files: bytes read so far and the total size. */
  progress?: (bytesRead: number, totalBytes: number) => void;
  /** Read chunk size (tests use small ones). */
  chunkSize?: number;
}

export interface ReplayFileSummary {
  path: string;
  format: string;
  packets: number;
  bytes: number;
  truncated: boolean;
}

export interface ReplaySummary {
  files: ReplayFileSummary[];
  packets: number;
  bytes: number;
  /** Packets decoded to TCP/UDP; skipped = valid but other traffic (ARP, ICMP...). */
  decoded: number;
  skipped: number;
  flows: number;
  flowsByProtocol: Record<string, number>;
  spans: number;
  spansByProtocol: Record<string, number>;
  errorSpans: number;
  requests: number;
  responses: number;
  responsesWithoutRequest: number;
  timeouts: number;
  noResponse: number;
  gaps: number;
  gapBytes: number;
  /** Anomalies of every stage by kind (what was malformed, dropped or capped). */
  anomalies: Record<string, number>;
  elapsedMs: number;
  warnings: string[];
}

/**
 * Cuts the spans into batches of `size` for the consumer. A consumer that takes span records gets
 * each span encoded as it is made (no span object); any other gets arrays of `SpanData`.
 */
class Batcher implements SpanSink {
  private batch: SpanData[] = [];
  private inBatch = 0;
  private readonly records: SpanRecordConsumer | null;
  readonly pendingPromises: Promise<void>[] = [];
  constructor(
    private readonly consumer: TracesConsumer,
    private readonly size: number,
  ) {
    this.records = isSpanRecordConsumer(consumer) ? consumer : null;
  }
  push(span: SpanData): void {
    this.batch.push(span);
    if (this.batch.length >= this.size) this.flush();
  }
  pushRecord(rec: SpanRecord): void {
    if (this.records === null) {
      this.push(rec.toSpanData());
      return;
    }
    this.records.consumeRecord(rec);
    if (++this.inBatch >= this.size) this.flush();
  }
  flush(): void {
    if (this.records !== null) {
      if (this.inBatch > 0) this.records.endBatch();
      this.inBatch = 0;
      return;
    }
    if (this.batch.length === 0) return;
    const b = this.batch;
    this.batch = [];
    const r = this.consumer.consumeTraces(b);
    if (r instanceof Promise) this.pendingPromises.push(r);
  }
  async drain(): Promise<void> {
    while (this.pendingPromises.length > 0) await this.pendingPromises.shift();
  }
}

function addCounts(into: Record<string, number>, from: Record<string, number>, prefix = ''): void {
  for (const k in from) into[prefix + k] = (into[prefix + k] ?? 0) + from[k];
}

/** Flows no parser claimed (no payload, or not recognised) are 'unknown'. */
function withUnknown(byProto: Record<string, number>, flows: number): Record<string, number> {
  const out = { ...byProto };
  let known = 0;
  for (const k in byProto) if (k !== 'unknown') known += byProto[k];
  if (flows > known) out.unknown = flows - known;
  else delete out.unknown;
  return out;
}

/** Fails fast (CaptureFileError) when a named file does not exist or cannot be read. */
export function checkReadable(path: string): number {
  try {
    accessSync(path, constants.R_OK);
    const st = statSync(path);
    if (!st.isFile() && !st.isFIFO() && !st.isCharacterDevice()) throw new CaptureFileError(path, 'not a regular file');
    return st.size;
  } catch (e) {
    if (e instanceof CaptureFileError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new CaptureFileError(path, code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(e));
  }
}

export async function runReplay(opts: ReplayOptions): Promise<ReplaySummary> {
  const started = performance.now();
  const sizes = opts.files.map(checkReadable);
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  const registry = opts.registry ?? createDefaultRegistry();
  const timeBase = new TimeBase();
  const batcher = new Batcher(opts.consumer, opts.batchSize ?? 512);
  const builder = new SpanBuilder(batcher, {
    timeBase,
    localAddresses: new LocalAddresses(opts.localAddresses ?? []),
    serviceName: opts.serviceName,
    idSeed: opts.idSeed ?? null,
    scope: SPANWIRE_SCOPE,
  });
  const pairer = new SessionPairer(builder, {
    ...opts.limits?.pairer,
    ...(opts.requestTimeoutNs !== undefined ? { requestTimeoutNs: opts.requestTimeoutNs } : {}),
  });
  const dispatcher = new L7Dispatcher(registry, pairer, {
    limits: opts.limits?.dispatcher,
    parserOptions: opts.parserOptions,
  });
  const flows = new FlowTable(dispatcher, {
    limits: opts.limits?.flow,
    isServerPort: (port) => port < 1024 || registry.isHintPort(port),
  });
  const decoder = new PacketDecoder(opts.limits?.decoder);
  const decoded = new DecodedPacket();

  let lastTs = 0;
  let nextHousekeeping = 0;
  const sink: PacketSink = {
    onPacket(pkt: RawPacket): void {
      if (decoder.decode(pkt, decoded) === DECODE_OK) flows.process(decoded);
      const ts = pkt.ts;
      if (ts > lastTs) lastTs = ts;
      if (ts >= nextHousekeeping) {
        // Coarse clock: timeouts need ~100 ms resolution, not per packet.
        nextHousekeeping = ts + 1e8;
        pairer.advance(ts);
        decoder.expire(ts);
      }
    },
  };

  const files: ReplayFileSummary[] = [];
  const warnings: string[] = [];
  const anomalies: Record<string, number> = {};
  let doneBytes = 0;
  for (let i = 0; i < opts.files.length; i++) {
    const path = opts.files[i];
    const source = createCaptureFileSource(path, opts.chunkSize !== undefined ? { chunkSize: opts.chunkSize } : {});
    const base = doneBytes;
    const summary: CaptureSummary = await source.run(
      sink,
      timeBase,
      opts.progress ? (read) => opts.progress!(base + read, totalBytes) : undefined,
    );
    doneBytes += sizes[i];
    batcher.flush();
    await batcher.drain();
    files.push({ path, format: summary.format, packets: summary.packets, bytes: summary.bytesRead, truncated: summary.truncated });
    addCounts(anomalies, summary.anomalies);
    if (summary.truncated) {
      warnings.push(`${path}: the last record is cut short (truncated capture); everything before it was processed`);
    }
  }
  // End of capture: flows end (messages cut short are reported, and pair), then whatever is still
  // unanswered becomes a no_response span.
  flows.endAll('capture_end', lastTs);
  pairer.advance(lastTs);
  batcher.flush();
  await batcher.drain();

  addCounts(anomalies, decoder.stats.anomalies);
  addCounts(anomalies, flows.stats.anomalies);
  addCounts(anomalies, dispatcher.stats.anomalies);
  const ps = pairer.stats;
  if (ps.responsesWithoutRequest) anomalies.response_without_request = ps.responsesWithoutRequest;
  if (ps.pendingOverflow) anomalies.pending_requests_overflow = ps.pendingOverflow;
  if (ps.duplicateIds) anomalies.duplicate_request_id = ps.duplicateIds;
  if (flows.stats.flowsEvicted) anomalies.flows_evicted = flows.stats.flowsEvicted;

  return {
    files,
    packets: files.reduce((a, f) => a + f.packets, 0),
    bytes: files.reduce((a, f) => a + f.bytes, 0),
    decoded: decoder.stats.decoded,
    skipped: decoder.stats.skipped,
    flows: flows.stats.flowsCreated,
    flowsByProtocol: withUnknown(dispatcher.stats.flowsByProtocol, flows.stats.flowsCreated),
    spans: builder.stats.spans,
    spansByProtocol: builder.stats.spansByProtocol,
    errorSpans: builder.stats.errorSpans,
    requests: ps.requests,
    responses: ps.responses,
    responsesWithoutRequest: ps.responsesWithoutRequest,
    timeouts: ps.timeouts,
    noResponse: ps.noResponse,
    gaps: flows.stats.gaps,
    gapBytes: flows.stats.gapBytes,
    anomalies,
    elapsedMs: performance.now() - started,
    warnings,
  };
}

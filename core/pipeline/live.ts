/**
 * The live pipeline (`spanwire run`): eBPF syscall capture when the kernel and the native addon allow
 * it, else AF_PACKET, feeding the same L7 dispatch, pairing and span building as replay. eBPF data
 * goes straight to L7 dispatch as per-socket byte streams; AF_PACKET frames go through decode and TCP
 * reassembly. A timer does the housekeeping replay does per packet (timeouts, idle flows, batches).
 */
import { networkInterfaces } from 'node:os';
import { AfPacketSource } from '../capture/af-packet.js';
import { EbpfSocketStreams, MonotonicClock } from '../capture/ebpf.js';
import type { NativeAddon, NativeHandle } from '../capture/native.js';
import { BPF_OBJECT, loadNative } from '../capture/native.js';
import { ProcessTable } from '../capture/process-info.js';
import type { PacketSink, RawPacket } from '../capture/types.js';
import { TimeBase } from '../capture/types.js';
import { PacketDecoder } from '../decode/decoder.js';
import { DECODE_OK, DecodedPacket } from '../decode/types.js';
import { FlowTable } from '../flow/flow-table.js';
import { L7Dispatcher } from '../l7/dispatcher.js';
import type { ParserRegistry } from '../l7/registry.js';
import { SessionPairer } from '../session/pairer.js';
import { SpanBuilder } from '../trace/builder.js';
import { LocalAddresses } from '../trace/local-addresses.js';
import type { SpanData, TracesConsumer } from '../trace/span.js';
import { createDefaultRegistry } from '../../parsers/index.js';
import { SPANWIRE_SCOPE } from './version.js';

export type LiveSourceName = 'auto' | 'ebpf' | 'af_packet';

export interface LiveOptions {
  source: LiveSourceName;
  consumer: TracesConsumer;
  /** AF_PACKET: interface ('any' by default) and tcpdump-style filter ('' = everything). */
  iface?: string;
  filter?: string;
  /** eBPF: only these pids / ports (empty = all); bytes captured per event. */
  pids?: number[];
  ports?: number[];
  maxPayload?: number;
  /** eBPF: libraries and binaries whose SSL_read/SSL_write are probed (default: system libssl and node). */
  sslLibs?: string[];
  serviceName?: string;
  requestTimeoutNs?: number;
  parserOptions?: Record<string, Record<string, unknown>>;
  registry?: ParserRegistry;
  batchSize?: number;
  /** Housekeeping period (ms, default 100): timeouts, idle flows, batch flush. */
  tickMs?: number;
  /** Told when a source cannot be used and the next one is tried. */
  onNotice?: (message: string) => void;
}

export interface LiveHandle {
  /** The source in use. */
  readonly source: 'ebpf' | 'af_packet';
  /** Counters of the source and the pipeline (self-telemetry). */
  counters(): Record<string, number>;
  /** Stops capture, ends every flow, flushes every span. */
  stop(): Promise<void>;
}

/** Why no live source could start: each source's reason. */
export class LiveCaptureError extends Error {}

/** Default SSL libraries to probe: the system OpenSSL and this Node binary (OpenSSL linked in). */
export function defaultSslLibs(): string[] {
  return ['/usr/lib/x86_64-linux-gnu/libssl.so.3', process.execPath];
}

/** The addresses of this host (every interface, loopback included): they decide SERVER vs CLIENT for AF_PACKET spans. */
export function hostAddresses(): string[] {
  const out = ['127.0.0.0/8', '::1'];
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) out.push(i.address.split('%')[0]);
  return out;
}

export async function startLive(opts: LiveOptions): Promise<LiveHandle> {
  const native = loadNative();
  if (!native.ok) throw new LiveCaptureError(native.reason);
  const addon: NativeAddon = native.addon;
  const registry = opts.registry ?? createDefaultRegistry();
  const timeBase = new TimeBase();
  const batch: SpanData[][] = [[]];
  const batchSize = opts.batchSize ?? 256;
  const pending: Promise<void>[] = [];
  const flush = () => {
    const b = batch[0];
    if (b.length === 0) return;
    batch[0] = [];
    const r = opts.consumer.consumeTraces(b);
    if (r instanceof Promise) pending.push(r.catch(() => undefined));
  };
  const spanSink = {
    push(s: SpanData) {
      batch[0].push(s);
      if (batch[0].length >= batchSize) flush();
    },
  };

  const notice = opts.onNotice ?? (() => undefined);
  const reasons: string[] = [];
  const wantEbpf = opts.source === 'auto' || opts.source === 'ebpf';
  const wantAf = opts.source === 'auto' || opts.source === 'af_packet';
  const isServerPort = (port: number) => port < 1024 || registry.isHintPort(port);

  if (wantEbpf) {
    const builder = new SpanBuilder(spanSink, { timeBase, serviceName: opts.serviceName, scope: SPANWIRE_SCOPE });
    const pairer = new SessionPairer(builder, opts.requestTimeoutNs !== undefined ? { requestTimeoutNs: opts.requestTimeoutNs } : {});
    const dispatcher = new L7Dispatcher(registry, pairer, { parserOptions: opts.parserOptions });
    const clock = new MonotonicClock(timeBase);
    const streams = new EbpfSocketStreams(dispatcher, clock, new ProcessTable({ serviceName: opts.serviceName }), isServerPort);
    let handle: NativeHandle | null = null;
    try {
      handle = addon.ebpfOpen(
        {
          objectPath: BPF_OBJECT,
          excludePid: process.pid,
          pidFilter: opts.pids ?? [],
          portFilter: opts.ports ?? [],
          maxPayload: opts.maxPayload ?? 4096,
          sslLibs: opts.sslLibs ?? defaultSslLibs(),
        },
        (b) => streams.onBatch(b),
      );
    } catch (e) {
      reasons.push(`eBPF: ${(e as Error).message}`);
      if (opts.source === 'ebpf') throw new LiveCaptureError(reasons.join('; '));
      notice(`eBPF capture is not available (${(e as Error).message}); using AF_PACKET instead`);
    }
    if (handle !== null) {
      for (const w of handle.warnings ?? []) notice(w);
      const h = handle;
      return running('ebpf', opts.tickMs ?? 100, timeBase, {
        tick(now) {
          pairer.advance(now);
          streams.expire(now);
          flush();
        },
        counters: () => ({ ...h.stats(), ...prefixed('ebpf_', streams.stats), ...pairerCounters(pairer), spans: builder.stats.spans }),
        async stop(now) {
          h.close();
          streams.endAll(Math.max(now, streams.latestTs));
          pairer.advance(Number.MAX_SAFE_INTEGER);
          flush();
          await Promise.all(pending);
        },
      });
    }
  }

  if (!wantAf) throw new LiveCaptureError(reasons.join('; '));
  const builder = new SpanBuilder(spanSink, { timeBase, localAddresses: new LocalAddresses(hostAddresses()), serviceName: opts.serviceName, scope: SPANWIRE_SCOPE });
  const pairer = new SessionPairer(builder, opts.requestTimeoutNs !== undefined ? { requestTimeoutNs: opts.requestTimeoutNs } : {});
  const dispatcher = new L7Dispatcher(registry, pairer, { parserOptions: opts.parserOptions });
  const flows = new FlowTable(dispatcher, { isServerPort });
  const decoder = new PacketDecoder();
  const decoded = new DecodedPacket();
  let lastTs = 0;
  const sink: PacketSink = {
    onPacket(pkt: RawPacket): void {
      if (decoder.decode(pkt, decoded) === DECODE_OK) flows.process(decoded);
      if (pkt.ts > lastTs) lastTs = pkt.ts;
    },
  };
  const source = new AfPacketSource(addon, { iface: opts.iface ?? 'any', filter: opts.filter ?? '' });
  try {
    source.start(sink, timeBase);
  } catch (e) {
    reasons.push(`AF_PACKET: ${(e as Error).message}`);
    throw new LiveCaptureError(reasons.join('; '));
  }
  return running('af_packet', opts.tickMs ?? 100, timeBase, {
    tick(now) {
      pairer.advance(now);
      decoder.expire(now);
      flows.expire(now);
      flush();
    },
    counters: () => ({ ...source.counters(), ...pairerCounters(pairer), flows: flows.stats.flowsCreated, gaps: flows.stats.gaps, spans: builder.stats.spans }),
    async stop(now) {
      source.stop();
      flows.endAll('capture_end', Math.max(now, lastTs));
      pairer.advance(Number.MAX_SAFE_INTEGER);
      flush();
      await Promise.all(pending);
    },
  });
}

function prefixed(prefix: string, o: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) if (typeof v === 'number') out[prefix + k] = v;
  return out;
}

function pairerCounters(p: SessionPairer): Record<string, number> {
  const s = p.stats;
  return { requests: s.requests, responses: s.responses, timeouts: s.timeouts, no_response: s.noResponse, responses_without_request: s.responsesWithoutRequest };
}

interface Running {
  tick(now: number): void;
  counters(): Record<string, number>;
  stop(now: number): Promise<void>;
}

/** Relative ns of the wall clock now (the time base is fixed by the first event, or here). */
function nowRel(timeBase: TimeBase): number {
  const ms = Date.now();
  const sec = Math.floor(ms / 1000);
  return timeBase.toRel(sec, (ms - sec * 1000) * 1e6);
}

function running(source: 'ebpf' | 'af_packet', tickMs: number, timeBase: TimeBase, r: Running): LiveHandle {
  const timer = setInterval(() => r.tick(nowRel(timeBase)), tickMs);
  let stopped: Promise<void> | null = null;
  return {
    source,
    counters: () => r.counters(),
    stop() {
      if (stopped === null) {
        clearInterval(timer);
        stopped = r.stop(nowRel(timeBase));
      }
      return stopped;
    },
  };
}

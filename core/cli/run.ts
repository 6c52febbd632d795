/**
 * `spanwire run`: live capture of this host (eBPF when the kernel allows it, else AF_PACKET), useful
 * with no backend at all: live spans on the terminal, OTLP/JSON spans in a local file, RED metrics and
 * self-telemetry on a local Prometheus endpoint. SIGINT/SIGTERM flush everything and exit 0.
 */
import { createServer, type Server } from 'node:http';
import { RedMetrics } from '../metrics/red.js';
import { OtlpJsonLinesExporter } from '../otlp/file-exporter.js';
import { TextOutput } from '../pipeline/output.js';
import type { LiveHandle, LiveSourceName } from '../pipeline/live.js';
import { LiveCaptureError, startLive } from '../pipeline/live.js';
import { TableExporter } from '../pipeline/table-exporter.js';
import { Tee } from '../pipeline/tee.js';
import { Correlator } from '../trace/correlate.js';
import type { SpanData, TracesConsumer } from '../trace/span.js';

export interface RunCliOptions {
  source: LiveSourceName;
  interface: string;
  filter?: string;
  format?: 'table' | 'otlp-json';
  output?: string;
  spansFile: string | false;
  prometheus: string | false;
  pid: number[];
  port: number[];
  maxPayload: number;
  duration?: number;
  serviceName?: string;
  requestTimeout: number;
  parserOption: Record<string, Record<string, unknown>>;
  correlate: boolean;
  quiet?: boolean;
  /** OTel Collector YAML files (repeatable): run the collector they describe instead. */
  config?: string[];
  /** --set overrides for --config (Collector syntax, `::` between path parts). */
  set?: string[];
}

/** Flushes its TextOutput after every batch: live output must show at once. */
class Flushing implements TracesConsumer {
  constructor(
    private readonly inner: TracesConsumer,
    private readonly out: TextOutput,
  ) {}
  consumeTraces(spans: SpanData[]): void {
    this.inner.consumeTraces(spans);
    this.out.flush();
  }
}

/** "127.0.0.1:9464" / ":9464" / "9464" -> host and port (localhost unless a host is given). */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*)\]?:)?(\d+)$/.exec(v);
  if (m === null || Number(m[2]) > 65535) throw new Error(`"${v}" is not HOST:PORT`);
  return { host: m[1] !== undefined && m[1] !== '' ? m[1] : '127.0.0.1', port: Number(m[2]) };
}

function promCounters(counters: Record<string, number>, source: string): string {
  let out = '# HELP spanwire_capture_counter Counters of the live capture source and pipeline (cumulative).\n# TYPE spanwire_capture_counter counter\n';
  for (const [k, v] of Object.entries(counters)) out += `spanwire_capture_counter{source="${source}",counter="${k}"} ${v}\n`;
  return out;
}

export async function runCommand(o: RunCliOptions): Promise<number> {
  if (o.config !== undefined && o.config.length > 0) {
    const { runCollectorCommand } = await import('../collector/cli.js');
    return runCollectorCommand({ config: o.config, set: o.set });
  }
  const log = (s: string) => process.stderr.write(`spanwire run: ${s}\n`);
  const outputs: { out: TextOutput; exporter: { shutdown?: () => void } }[] = [];
  const consumers: TracesConsumer[] = [];
  const format = o.format ?? (o.output === undefined && process.stdout.isTTY ? 'table' : 'otlp-json');
  const main = new TextOutput(o.output, 64 << 10);
  const mainExporter = format === 'table' ? new TableExporter(main) : new OtlpJsonLinesExporter(main);
  consumers.push(new Flushing(mainExporter, main));
  outputs.push({ out: main, exporter: mainExporter });
  const metrics = new RedMetrics();
  consumers.push(metrics);

  // Both ends of a request on this host (client and server processes), and proxies: joined into traces.
  const correlator = o.correlate ? new Correlator(new Tee(consumers)) : null;
  let live: LiveHandle;
  try {
    live = await startLive({
      source: o.source,
      consumer: correlator ?? new Tee(consumers),
      iface: o.interface,
      filter: o.filter ?? '',
      pids: o.pid,
      ports: o.port,
      maxPayload: o.maxPayload,
      serviceName: o.serviceName,
      requestTimeoutNs: o.requestTimeout * 1e9,
      parserOptions: o.parserOption,
      onNotice: (m) => log(m),
    });
  } catch (e) {
    for (const x of outputs) x.out.close();
    if (e instanceof LiveCaptureError) {
      log(`cannot capture live traffic: ${e.message}`);
      log('live capture needs root (CAP_BPF, CAP_PERFMON or CAP_NET_RAW) and the native addon; `spanwire replay FILE` works on capture files without either');
      return 2;
    }
    throw e;
  }

  // The spans file once capture runs (no empty file left behind when it cannot); the Tee reads the
  // consumer list at each batch.
  if (o.spansFile !== false && !(format === 'otlp-json' && o.output !== undefined)) {
    const file = new TextOutput(o.spansFile, 256 << 10);
    const ex = new OtlpJsonLinesExporter(file);
    consumers.push(new Flushing(ex, file));
    outputs.push({ out: file, exporter: ex });
  }

  let server: Server | null = null;
  if (o.prometheus !== false) {
    const { host, port } = parseListen(o.prometheus);
    server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('spanwire: metrics are at /metrics\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(metrics.toPrometheus() + promCounters(live.counters(), live.source));
    });
    await new Promise<void>((resolve) => {
      server!.once('error', (e) => {
        log(`Prometheus endpoint not started: ${(e as Error).message}`);
        server = null;
        resolve();
      });
      server!.listen(port, host, () => resolve());
    });
  }
  if (!o.quiet) {
    log(`capturing with ${live.source === 'ebpf' ? 'eBPF (every process on this host, TLS plaintext included)' : `AF_PACKET on ${o.interface}`}` +
      `${o.spansFile !== false && !(format === 'otlp-json' && o.output !== undefined) ? `; spans also in ${o.spansFile}` : ''}` +
      `${server !== null ? `; metrics at http://${o.prometheus === false ? '' : parseListen(o.prometheus).host}:${parseListen(o.prometheus as string).port}/metrics` : ''}; Ctrl-C stops`);
  }

  let status: NodeJS.Timeout | null = null;
  if (!o.quiet && process.stderr.isTTY) {
    let last = live.counters();
    let lastT = Date.now();
    status = setInterval(() => {
      const c = live.counters();
      const dt = (Date.now() - lastT) / 1000;
      const ev = (c.events ?? c.delivered ?? 0) - (last.events ?? last.delivered ?? 0);
      lastT = Date.now();
      last = c;
      log(`${Math.round(ev / dt)} events/s, spans ${c.spans ?? 0}, drops ${c.drops ?? 0}, truncated ${c.truncated ?? c.ebpf_truncatedEvents ?? 0}`);
    }, 10_000);
  }

  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (o.duration !== undefined) setTimeout(done, o.duration * 1000).unref();
  });
  if (status !== null) clearInterval(status);
  await live.stop();
  await correlator?.flush();
  for (const x of outputs) {
    x.out.flush();
    x.out.close();
  }
  if (server !== null) await new Promise((r) => server!.close(r));
  if (!o.quiet) {
    const c = live.counters();
    log(`stopped: ${c.spans ?? 0} spans; counters ${JSON.stringify(c)}`);
  }
  return 0;
}

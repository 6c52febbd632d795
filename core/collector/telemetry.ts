/**
 * Self-telemetry with the OpenTelemetry Collector's metric names (`otelcol_receiver_accepted_spans`,
 * `otelcol_exporter_sent_spans`, `otelcol_exporter_queue_size` ...), served as Prometheus text on
 * the service::telemetry::metrics endpoint (127.0.0.1:8888 by default). Counters are exposed with the
 * `_total` suffix, as the Collector's Prometheus endpoint does.
 */
import { createServer, type Server } from 'node:http';

export type Labels = Record<string, string>;

export class Counter {
  value = 0;
  constructor(readonly labels: Labels) {}
  add(n: number): void {
    this.value += n;
  }
}

interface Family {
  help: string;
  type: 'counter' | 'gauge';
  counters: Map<string, Counter>;
  gauges: { labels: Labels; read: () => number }[];
}

function labelKey(l: Labels): string {
  return Object.keys(l)
    .sort()
    .map((k) => `${k}=${l[k]}`)
    .join(',');
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function fmtLabels(l: Labels): string {
  const keys = Object.keys(l);
  return keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${esc(l[k])}"`).join(',')}}`;
}

export class Telemetry {
  private readonly families = new Map<string, Family>();
  private server: Server | null = null;
  private readonly started = Date.now();

  constructor(readonly serviceInstanceId = `${process.pid}`) {
    this.gauge('otelcol_process_uptime', 'Uptime of the process (seconds).', {}, () => (Date.now() - this.started) / 1000);
    this.gauge('otelcol_process_memory_rss', 'Total physical memory (resident set size) (bytes).', {}, () => process.memoryUsage.rss());
    this.gauge('otelcol_process_runtime_heap_alloc_bytes', 'Bytes of allocated heap objects.', {}, () => process.memoryUsage().heapUsed);
  }

  private family(name: string, help: string, type: 'counter' | 'gauge'): Family {
    let f = this.families.get(name);
    if (f === undefined) {
      f = { help, type, counters: new Map(), gauges: [] };
      this.families.set(name, f);
    }
    return f;
  }

  counter(name: string, help: string, labels: Labels): Counter {
    const f = this.family(name, help, 'counter');
    const k = labelKey(labels);
    let c = f.counters.get(k);
    if (c === undefined) {
      c = new Counter(labels);
      f.counters.set(k, c);
    }
    return c;
  }

  gauge(name: string, help: string, labels: Labels, read: () => number): void {
    this.family(name, help, 'gauge').gauges.push({ labels, read });
  }

  /** The value of a counter (tests and status lines), summed over label sets matching `labels`. */
  value(name: string, labels: Labels = {}): number {
    const f = this.families.get(name);
    if (f === undefined) return 0;
    let sum = 0;
    for (const c of f.counters.values()) if (Object.entries(labels).every(([k, v]) => c.labels[k] === v)) sum += c.value;
    for (const g of f.gauges) if (Object.entries(labels).every(([k, v]) => g.labels[k] === v)) sum += g.read();
    return sum;
  }

  toPrometheus(): string {
    let out = '';
    for (const [name, f] of this.families) {
      const exposed = f.type === 'counter' ? `${name}_total` : name;
      out += `# HELP ${exposed} ${f.help}\n# TYPE ${exposed} ${f.type}\n`;
      for (const c of f.counters.values()) out += `${exposed}${fmtLabels(c.labels)} ${c.value}\n`;
      for (const g of f.gauges) out += `${exposed}${fmtLabels(g.labels)} ${g.read()}\n`;
    }
    return out;
  }

  async serve(host: string, port: number): Promise<{ host: string; port: number }> {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('self-telemetry metrics are at /metrics\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(this.toPrometheus());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const a = server.address();
    return { host, port: typeof a === 'object' && a !== null ? a.port : port };
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s !== null) await new Promise((r) => s.close(r));
  }
}

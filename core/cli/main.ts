/**
 * The `spanwire` command line. Exit codes: 0 success, 1 usage or internal error, 2 a named file is
 * not a capture, cannot be read, or (for -o) cannot be written.
 */
import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { checkCaptureMagic } from '../capture/pcap-file.js';
import { CaptureFileError } from '../capture/types.js';
import { OtlpJsonLinesExporter } from '../otlp/file-exporter.js';
import { TextOutput } from '../pipeline/output.js';
import type { ReplaySummary } from '../pipeline/replay.js';
import { checkReadable, runReplay } from '../pipeline/replay.js';
import { TableExporter } from '../pipeline/table-exporter.js';
import { Correlator } from '../trace/correlate.js';
import { RedMetrics } from '../metrics/red.js';
import { Tee } from '../pipeline/tee.js';
import { BUILTIN_PARSERS } from '../../parsers/index.js';
import type { RunCliOptions } from './run.js';
import { parseListen, runCommand } from './run.js';
import { SPANWIRE_VERSION } from '../pipeline/version.js';
import { LocalAddresses } from '../trace/local-addresses.js';
import { formatPluginStats, pluginBuildCommand, pluginNewCommand, pluginTestCommand, replayRegistry } from '../l7/wasm/cli.js';
import { WasmPluginError } from '../l7/wasm/plugin.js';

function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

function collect(v: string, prev: string[]): string[] {
  try {
    new LocalAddresses([v]);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return prev.concat([v]);
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / (1 << 30)).toFixed(2)} GiB`;
}

function fmtCounts(c: Record<string, number>): string {
  const keys = Object.keys(c).sort((a, b) => c[b] - c[a] || a.localeCompare(b));
  return keys.length === 0 ? 'none' : keys.map((k) => `${k} ${c[k]}`).join(', ');
}

export function formatSummary(s: ReplaySummary): string {
  const secs = s.elapsedMs / 1000;
  const pps = secs > 0 ? Math.round(s.packets / secs) : 0;
  const lines = [
    `spanwire replay: ${s.files.length} file${s.files.length === 1 ? '' : 's'} (${s.files.map((f) => f.format).join(', ')}), ` +
      `${s.packets} packets, ${fmtBytes(s.bytes)} in ${secs.toFixed(2)} s (${pps.toLocaleString('en-US')} packets/s)`,
    `  decoded ${s.decoded} TCP/UDP packets, ${s.skipped} other`,
    `  flows: ${s.flows} (${fmtCounts(s.flowsByProtocol)})`,
    `  spans: ${s.spans} (${fmtCounts(s.spansByProtocol)}), ${s.errorSpans} with errors`,
    `  requests ${s.requests}, responses ${s.responses}, responses without request ${s.responsesWithoutRequest}, ` +
      `timeouts ${s.timeouts}, no response ${s.noResponse}`,
    `  gaps: ${s.gaps} (${fmtBytes(s.gapBytes)} not captured)`,
    `  anomalies: ${fmtCounts(s.anomalies)}`,
  ];
  for (const w of s.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n') + '\n';
}

class ProgressBar {
  private last = 0;
  private shown = false;
  constructor(private readonly enabled: boolean) {}
  update(read: number, total: number): void {
    if (!this.enabled || total <= 0) return;
    const now = Date.now();
    if (now - this.last < 200) return;
    this.last = now;
    const frac = Math.min(1, read / total);
    const width = 30;
    const full = Math.round(frac * width);
    process.stderr.write(
      `\r[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${fmtBytes(read)} / ${fmtBytes(total)}`,
    );
    this.shown = true;
  }
  clear(): void {
    if (this.shown) process.stderr.write('\r' + ' '.repeat(70) + '\r');
  }
}

interface ReplayCliOptions {
  format?: 'otlp-json' | 'table';
  output?: string;
  localAddress: string[];
  serviceName?: string;
  requestTimeout: number;
  maxFlows?: number;
  seed?: number;
  stats?: string;
  quiet?: boolean;
  progress: boolean;
  parserOption: Record<string, Record<string, unknown>>;
  correlate?: boolean;
  metricsOut?: string;
  metricsTemporality: 'cumulative' | 'delta';
  route: string[];
  maxSeries?: number;
  /** --plugin: Wasm parser plugins, probed before the built-ins. */
  plugin: string[];
}

/**
 * `--parser-option PROTOCOL.KEY=VALUE` (repeatable) into `{ PROTOCOL: { KEY: VALUE } }`: numbers and
 * true/false become numbers and booleans, anything else stays a string.
 */
function parserOption(v: string, acc: Record<string, Record<string, unknown>>): Record<string, Record<string, unknown>> {
  const m = /^([a-z0-9_-]+)\.([A-Za-z0-9_]+)=(.*)$/s.exec(v);
  const names = BUILTIN_PARSERS.map((p) => p.name);
  if (m === null) throw new InvalidArgumentError(`expected PROTOCOL.KEY=VALUE (e.g. mysql.db_query_text=full), got "${v}"`);
  if (!names.includes(m[1])) throw new InvalidArgumentError(`unknown protocol "${m[1]}": one of ${names.join(', ')}`);
  const raw = m[3];
  const value: unknown = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  const next = { ...acc };
  next[m[1]] = { ...(acc[m[1]] ?? {}), [m[2]]: value };
  return next;
}

/** A file named on the command line that cannot be written (exit code 2, like an unreadable input). */
class OutputFileError extends Error {}

function openOutput(path: string | undefined): TextOutput {
  try {
    return new TextOutput(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such directory' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'is a directory' : err.message;
    throw new OutputFileError(`${path}: cannot write: ${why}`);
  }
}

async function replayCommand(files: string[], o: ReplayCliOptions): Promise<number> {
  // Inputs first: a bad input must not truncate an existing output file.
  for (const f of files) {
    checkReadable(f);
    checkCaptureMagic(f);
  }
  // Plugins next: one that cannot be loaded fails before any output is written.
  let plugins: Awaited<ReturnType<typeof replayRegistry>>;
  try {
    plugins = await replayRegistry(o.plugin);
  } catch (e) {
    if (!(e instanceof WasmPluginError)) throw e;
    process.stderr.write(`spanwire: ${e.message}\n`);
    return 2;
  }
  const out = openOutput(o.output);
  const format = o.format ?? (out.isStdout && process.stdout.isTTY ? 'table' : 'otlp-json');
  const exporter = format === 'table' ? new TableExporter(out) : new OtlpJsonLinesExporter(out);
  // --correlate: spans of the same request seen at both ends, and proxied requests, joined into traces.
  const correlator = o.correlate ? new Correlator(exporter) : null;
  // --metrics-out: RED metrics from every span, written after the replay.
  const metrics = o.metricsOut !== undefined ? new RedMetrics({ temporality: o.metricsTemporality, routes: o.route, maxSeriesPerMetric: o.maxSeries }) : null;
  if (o.metricsOut !== undefined) openOutput(o.metricsOut).close(); // a bad path fails now, not after the work
  const bar = new ProgressBar(o.progress && process.stderr.isTTY === true);
  let summary: ReplaySummary;
  try {
    summary = await runReplay({
      registry: plugins.registry,
      files,
      consumer: metrics !== null ? new Tee([correlator ?? exporter, metrics]) : (correlator ?? exporter),
      localAddresses: o.localAddress,
      serviceName: o.serviceName,
      requestTimeoutNs: o.requestTimeout * 1e9,
      idSeed: o.seed ?? null,
      parserOptions: o.parserOption,
      limits: o.maxFlows !== undefined ? { flow: { maxFlows: o.maxFlows } } : undefined,
      progress: (read, total) => {
        // A bar only for inputs large enough to wait for.
        if (total >= 32 << 20) bar.update(read, total);
      },
    });
    await correlator?.flush();
    if (metrics !== null && o.metricsOut !== undefined) {
      // One OTLP ExportMetricsServiceRequest per line, as the Collector's file exporter writes metrics.
      const m = openOutput(o.metricsOut);
      m.write(`${JSON.stringify(metrics.toOtlpJson())}\n`);
      m.close();
      const overflow = metrics.overflowCounts();
      for (const k in overflow) summary.warnings.push(`${k}: ${overflow[k]} data points folded into the otel.metric.overflow series (--max-series)`);
    }
  } finally {
    bar.clear();
    exporter.shutdown();
  }
  if (o.stats) writeFileSync(o.stats, JSON.stringify(summary, null, 2) + '\n');
  if (!o.quiet) process.stderr.write(formatSummary(summary));
  if (!o.quiet) for (const p of plugins.loaded) process.stderr.write(`${formatPluginStats(p)}\n`);
  else for (const w of summary.warnings) process.stderr.write(`warning: ${w}\n`);
  return 0;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('spanwire')
    .description('Turns network traffic into OpenTelemetry spans: capture files (replay) or this host, live (run).')
    .version(SPANWIRE_VERSION)
    .showHelpAfterError();

  program
    .command('replay')
    .description('read capture files (pcap, pcapng, gzip) and write one span per request/response exchange')
    .argument('<files...>', 'capture files, processed in order as one capture')
    .addOption(
      new Option('-f, --format <format>', 'output format (default: table on a terminal, else otlp-json)').choices([
        'otlp-json',
        'table',
      ]),
    )
    .option('-o, --output <file>', 'write spans to this file instead of stdout')
    .option(
      '--local-address <addr>',
      'address or CIDR prefix of the capturing host (repeatable): exchanges served by it become SERVER spans',
      collect,
      [] as string[],
    )
    .option('--service-name <name>', 'service.name for every span (default: the address of the span\'s own side)')
    .option('--request-timeout <seconds>', 'a request unanswered this long ends as a timeout span', positiveNumber('--request-timeout'), 60)
    .option('--max-flows <n>', 'flows tracked at once (least recently active evicted beyond)', positiveNumber('--max-flows'))
    .option('--seed <n>', 'deterministic trace/span ids (for reproducible output)', positiveNumber('--seed'))
    .option(
      '--parser-option <protocol.key=value>',
      'a parser option (repeatable), e.g. mysql.db_query_text=full (SQL text with its literals: off by default)',
      parserOption,
      {} as Record<string, Record<string, unknown>>,
    )
    .option('--metrics-out <file>', 'also write RED metrics (OTLP/JSON ExportMetricsServiceRequest lines) to this file after the replay')
    .addOption(new Option('--metrics-temporality <t>', 'aggregation temporality of --metrics-out').choices(['cumulative', 'delta']).default('cumulative'))
    .option('--route <template>', 'an HTTP route template for metrics, e.g. /users/{id} (repeatable; ids are collapsed anyway)', (v: string, p: string[]) => p.concat([v]), [] as string[])
    .option('--max-series <n>', 'metric series per metric before the overflow series (default 2000)', positiveNumber('--max-series'))
    .option('--correlate', 'join spans of the same request seen at both ends (4-tuple) and across proxies (x-request-id) into traces')
    .option('--stats <file>', 'also write the end-of-run summary as JSON to this file')
    .option('--plugin <file.wasm>', 'a Wasm parser plugin (repeatable), probed before the built-in parsers', collectString, [] as string[])
    .option('-q, --quiet', 'no summary on stderr (warnings still shown)')
    .option('--no-progress', 'no progress bar on stderr')
    .action(async (files: string[], o: ReplayCliOptions) => {
      process.exitCode = await replayCommand(files, o);
    });
  program
    .command('run')
    .description(
      'capture this host live (eBPF when the kernel allows it, else AF_PACKET): spans on the terminal and in a local OTLP/JSON file, RED metrics on a local Prometheus endpoint',
    )
    .addOption(new Option('--source <source>', 'capture source').choices(['auto', 'ebpf', 'af_packet']).default('auto'))
    .option('-i, --interface <name>', 'AF_PACKET: interface to capture on', 'any')
    .option('--filter <expression>', 'AF_PACKET: tcpdump-style capture filter (e.g. "tcp port 80")')
    .addOption(
      new Option('-f, --format <format>', 'span output format (default: table on a terminal, else otlp-json)').choices(['otlp-json', 'table']),
    )
    .option('-o, --output <file>', 'write spans to this file instead of the terminal')
    .option('--spans-file <file>', 'also write spans as OTLP/JSON lines to this file', 'spanwire-spans.jsonl')
    .option('--no-spans-file', 'no OTLP/JSON spans file')
    .option('--prometheus <host:port>', 'serve RED metrics and capture counters at http://HOST:PORT/metrics', listenAddress, '127.0.0.1:9464')
    .option('--no-prometheus', 'no metrics endpoint')
    .option('--pid <pid>', 'eBPF: only this process (repeatable)', intList('--pid'), [] as number[])
    .option('--port <port>', 'eBPF: only sockets with this local or remote port (repeatable)', intList('--port'), [] as number[])
    .option('--max-payload <bytes>', 'eBPF: payload bytes captured per call (the true length is always known)', positiveNumber('--max-payload'), 4096)
    .option('--duration <seconds>', 'stop after this long (default: until Ctrl-C / SIGTERM)', positiveNumber('--duration'))
    .option('--service-name <name>', 'service.name for every span (default: the process (eBPF) or the address (AF_PACKET))')
    .option('--request-timeout <seconds>', 'a request unanswered this long ends as a timeout span', positiveNumber('--request-timeout'), 60)
    .option('--parser-option <protocol.key=value>', 'a parser option (repeatable), as for replay', parserOption, {} as Record<string, Record<string, unknown>>)
    .option('--no-correlate', 'do not join client and server spans of the same request into one trace')
    .option('-q, --quiet', 'no status lines on stderr')
    .option('--config <file>', 'run the OpenTelemetry Collector config in this YAML file (repeatable: later files override earlier ones)', collectString, [] as string[])
    .option('--set <key=value>', 'override one --config option, Collector syntax (repeatable), e.g. exporters::otlp::endpoint=tempo:4317', collectString, [] as string[])
    .action(async (o: RunCliOptions) => {
      process.exitCode = await runCommand(o);
    });
  program
    .command('validate')
    .description('check an OpenTelemetry Collector config (components, options, pipelines) without running it')
    .requiredOption('--config <file>', 'a Collector YAML file (repeatable: later files override earlier ones)', collectString, [] as string[])
    .option('--set <key=value>', 'override one option, Collector syntax (repeatable)', collectString, [] as string[])
    .action(async (o: { config: string[]; set: string[] }) => {
      // The collector (YAML, gRPC...) loads only for the commands that use it: replay starts faster.
      const { validateCommand } = await import('../collector/cli.js');
      process.exitCode = validateCommand(o);
    });
  program
    .command('components')
    .description('list the Collector components spanwire implements (receivers, processors, exporters, connectors, extensions)')
    .action(async () => {
      const { componentsCommand } = await import('../collector/cli.js');
      process.exitCode = componentsCommand();
    });
  const plugin = program.command('plugin').description('AssemblyScript Wasm parser plugins: scaffold, build, try on a capture');
  plugin
    .command('new')
    .description('create a plugin folder (a working parser to start from, a test, a package.json)')
    .argument('<name>', 'protocol name as it will appear in spans (lower case, digits, _)')
    .option('--dir <dir>', 'folder to create (default: NAME)')
    .action((name: string, o: { dir?: string }) => {
      process.exitCode = pluginNewCommand(name, o);
    });
  plugin
    .command('build')
    .description('compile DIR/assembly/index.ts with asc to DIR/build/<DIR name>.wasm')
    .argument('[dir]', 'plugin folder', '.')
    .option('-o, --output <file>', 'write the .wasm here instead')
    .action(async (dir: string, o: { output?: string }) => {
      process.exitCode = await pluginBuildCommand(dir, o);
    });
  plugin
    .command('test')
    .description('run one plugin alone over captures and print the messages it emitted and the spans they became')
    .argument('<plugin.wasm>', 'the plugin')
    .argument('<captures...>', 'pcap / pcapng files')
    .action(async (wasm: string, captures: string[]) => {
      process.exitCode = await pluginTestCommand(wasm, captures, {});
    });
  return program;
}

function collectString(v: string, prev: string[]): string[] {
  return prev.concat([v]);
}

function listenAddress(v: string): string {
  try {
    parseListen(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return v;
}

function intList(name: string) {
  return (v: string, prev: number[]): number[] => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0 || n > 4294967295) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return prev.concat([n]);
  };
}

export async function main(argv: string[]): Promise<void> {
  // `spanwire ... | head`: a closed stdout ends the command quietly, as Unix tools do.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    if (e instanceof CaptureFileError || e instanceof OutputFileError) {
      process.stderr.write(`spanwire: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`spanwire: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
}

/**
 * The `spanwire plugin ...` commands and the `--plugin` option of `spanwire replay`.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkCaptureMagic } from '../../capture/pcap-file.js';
import { checkReadable, runReplay } from '../../pipeline/replay.js';
import { TextOutput } from '../../pipeline/output.js';
import { TableExporter } from '../../pipeline/table-exporter.js';
import { createDefaultRegistry } from '../../../parsers/index.js';
import { ParserRegistry } from '../registry.js';
import type { L7Message, ParserContext, ParserSession, ProtocolParser } from '../types.js';
import { MSG_REQUEST, SESSION_FIFO } from '../types.js';
import { buildPlugin, pluginPaths, scaffoldPlugin } from './build.js';
import type { WasmPlugin, WasmPluginStats } from './plugin.js';
import { WasmPluginError } from './plugin.js';
import { loadWasmPlugins, registerWasmPlugins } from './index.js';
import type { WasmMessageInfo } from './records.js';

/** `spanwire plugin new NAME [--dir DIR]`. */
export function pluginNewCommand(name: string, o: { dir?: string }): number {
  const dir = o.dir ?? name;
  const files = scaffoldPlugin(dir, name);
  process.stdout.write(`created ${resolve(dir)}:\n${files.map((f) => `  ${f}`).join('\n')}\n`);
  process.stdout.write(`next: cd ${dir} && spanwire plugin build && node --test test/\n`);
  return 0;
}

/** `spanwire plugin build [DIR] [-o FILE]`: DIR/assembly/index.ts -> DIR/build/<DIR name>.wasm. */
export async function pluginBuildCommand(dir: string, o: { output?: string }): Promise<number> {
  const paths = pluginPaths(dir);
  if (!existsSync(paths.entry)) {
    process.stderr.write(`spanwire plugin build: ${paths.entry} not found (a plugin folder has assembly/index.ts; \`spanwire plugin new NAME\` makes one)\n`);
    return 2;
  }
  const r = await buildPlugin(paths.entry, o.output ?? paths.outFile);
  if (r.log.trim() !== '') process.stderr.write(r.log.endsWith('\n') ? r.log : `${r.log}\n`);
  if (!r.ok) {
    process.stderr.write('spanwire plugin build: asc failed\n');
    return 1;
  }
  process.stdout.write(`built ${r.outFile} in ${(r.ms / 1000).toFixed(1)} s\n`);
  return 0;
}

/** Loads `--plugin` files and returns a registry with them ahead of the built-ins (undefined when none). */
export async function replayRegistry(plugins: readonly string[]): Promise<{ registry: ParserRegistry | undefined; loaded: WasmPlugin[] }> {
  if (plugins.length === 0) return { registry: undefined, loaded: [] };
  const loaded = await loadWasmPlugins(plugins);
  const registry = createDefaultRegistry();
  registerWasmPlugins(registry, loaded);
  return { registry, loaded };
}

/** One line of plugin counters for the end-of-run summary. */
export function formatPluginStats(p: WasmPlugin): string {
  const s: WasmPluginStats = p.stats;
  let line =
    `  plugin ${p.name} (${p.path}): calls ${s.calls}, traps ${s.traps} (timeouts ${s.timeouts}, memory ${s.memoryFaults}), ` +
    `bad results ${s.badResults}, bad records ${s.badRecords}, dropped records ${s.droppedRecords}, re-created ${s.reinstantiations}`;
  if (s.disabled) line += `, DISABLED: ${s.disabledReason}`;
  if (s.lastTrap !== '') line += `\n    last trap: ${s.lastTrap}`;
  return line;
}

function describeMessage(m: L7Message, flow: ParserContext['flow']): string {
  const i = m.info as WasmMessageInfo;
  const client = flow.clientIsA ? `${flow.addrA}:${flow.portA}` : `${flow.addrB}:${flow.portB}`;
  const server = flow.clientIsA ? `${flow.addrB}:${flow.portB}` : `${flow.addrA}:${flow.portA}`;
  const parts = [
    m.type === MSG_REQUEST ? 'request ' : 'response',
    `${client} -> ${server}`,
    `session=${m.sessionId === SESSION_FIFO ? 'fifo' : m.sessionId}`,
    `size=${m.size}`,
  ];
  if (i.operation !== '') parts.push(`op=${JSON.stringify(i.operation)}`);
  if (i.resource !== '') parts.push(`resource=${JSON.stringify(i.resource)}`);
  if (i.status !== null) parts.push(`status=${i.status}`);
  if (i.error) parts.push(`error=${JSON.stringify(i.errorType)}`);
  if (m.type === MSG_REQUEST && !m.expectsResponse) parts.push('one-way');
  if (m.afterGap) parts.push('after-gap');
  if (m.trace !== null) parts.push(`trace=${m.trace.traceId}/${m.trace.parentSpanId}`);
  if (i.spanKind !== 0) parts.push(`kind=${i.spanKind}`);
  if (Object.keys(m.attrs).length > 0) parts.push(`attrs=${JSON.stringify(m.attrs)}`);
  return parts.join('  ');
}

/** Wraps a parser so that every message its sessions emit is also printed. */
function printing(parser: ProtocolParser, write: (line: string) => void): ProtocolParser {
  return {
    name: parser.name,
    transports: parser.transports,
    ports: parser.ports,
    probeLimit: parser.probeLimit,
    probe: (b, o, l, h) => parser.probe(b, o, l, h),
    describeSpan: (q, r, k, out) => parser.describeSpan(q, r, k, out),
    createSession(ctx: ParserContext): ParserSession {
      const tap: ParserContext = {
        get flow() {
          return ctx.flow;
        },
        get firstByteTs() {
          return ctx.firstByteTs;
        },
        get lastByteTs() {
          return ctx.lastByteTs;
        },
        get handoff() {
          return ctx.handoff;
        },
        get options() {
          return ctx.options;
        },
        emit(m: L7Message) {
          write(describeMessage(m, ctx.flow));
          ctx.emit(m);
        },
        anomaly: (k) => ctx.anomaly(k),
        stop: (r) => ctx.stop(r),
        switchProtocol: (n, h) => ctx.switchProtocol(n, h),
      };
      return parser.createSession(tap);
    },
  };
}

/**
 * `spanwire plugin test PLUGIN.wasm CAPTURE...`: runs one plugin alone (no built-in parser) over the
 * captures and prints every message it emitted, the spans they became and the plugin's counters.
 */
export async function pluginTestCommand(wasm: string, captures: string[], o: { seed?: number }): Promise<number> {
  for (const f of captures) {
    checkReadable(f);
    checkCaptureMagic(f);
  }
  let plugins: WasmPlugin[];
  try {
    plugins = await loadWasmPlugins([wasm]);
  } catch (e) {
    if (e instanceof WasmPluginError) {
      process.stderr.write(`spanwire plugin test: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const probe = createDefaultRegistry();
  const parsers = registerWasmPlugins(probe, plugins);
  if (parsers.length === 0) {
    process.stderr.write(`spanwire plugin test: ${wasm} registers HTTP hooks only: nothing to run over a capture\n`);
    return 2;
  }
  const registry = new ParserRegistry();
  const lines: string[] = [];
  registry.registerPlugin(printing(parsers[0], (l) => lines.push(l)));
  const out = new TextOutput(undefined);
  out.write(`messages emitted by ${parsers[0].name}:\n`);
  const table = new TableExporter(out);
  let printed = 0;
  const flushLines = (): void => {
    for (; printed < lines.length; printed++) out.write(`  ${lines[printed]}\n`);
  };
  const summary = await runReplay({
    files: captures,
    registry,
    idSeed: o.seed ?? 1,
    consumer: {
      consumeTraces: (batch) => {
        flushLines();
        table.consumeTraces(batch);
      },
    },
  });
  flushLines();
  if (summary.spans === 0) out.write('(no spans)\n');
  table.shutdown();
  process.stderr.write(
    `spanwire plugin test: ${summary.packets} packets, flows ${JSON.stringify(summary.flowsByProtocol)}, ${lines.length} messages, ${summary.spans} spans (${summary.errorSpans} errors)\n` +
      `${formatPluginStats(plugins[0])}\n` +
      (Object.keys(summary.anomalies).length > 0 ? `  anomalies: ${JSON.stringify(summary.anomalies)}\n` : ''),
  );
  return 0;
}

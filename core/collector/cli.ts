/**
 * The collector's commands: `spanwire run --config F [--config G] [--set k=v]`, `spanwire validate
 * --config F` and `spanwire components`. Exit codes: 0 fine; 1 the config is invalid or a component
 * could not start (the message names the config path and the fix).
 */
import { catalog, ConfigError, loadConfig } from '../../otel-config/index.js';
import type { CollectorConfig } from '../../otel-config/validate.js';
import { Collector } from './service.js';

export interface CollectorCliOptions {
  config: string[];
  set?: string[];
}

function load(o: CollectorCliOptions, err: (s: string) => void): CollectorConfig | null {
  try {
    const cfg = loadConfig({ files: o.config, sets: o.set ?? [] });
    for (const w of cfg.warnings) err(`warning: ${w}\n`);
    return cfg;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err(`spanwire: invalid configuration (${e.issues.length} problem${e.issues.length === 1 ? '' : 's'}):\n`);
    for (const i of e.issues) err(`  ${i.path}: ${i.message}\n    fix: ${i.fix}\n`);
    return null;
  }
}

export function validateCommand(o: CollectorCliOptions, out = (s: string) => process.stdout.write(s), err = (s: string) => process.stderr.write(s)): number {
  const cfg = load(o, err);
  if (cfg === null) return 1;
  const p = cfg.service.pipelines;
  out(`${o.config.join(', ')}: valid: ${p.length} pipeline${p.length === 1 ? '' : 's'} (${p.map((x) => `${x.id}: ${x.receivers.join(',')} -> ${x.processors.length > 0 ? x.processors.join(',') + ' -> ' : ''}${x.exporters.join(',')}`).join('; ')})\n`);
  return 0;
}

export function componentsCommand(out = (s: string) => process.stdout.write(s)): number {
  const specs = catalog();
  for (const kind of ['receiver', 'processor', 'exporter', 'connector', 'extension'] as const) {
    out(`${kind}s:\n`);
    for (const s of specs.filter((x) => x.kind === kind)) {
      const names = [s.type, ...(s.aliases ?? [])].join(' | ');
      const signals = s.connects ? s.connects.map(([a, b]) => `${a} -> ${b}`).join(', ') : s.signals.join(', ');
      out(`  ${names.padEnd(22)} ${s.stability.padEnd(12)} ${signals.padEnd(24)} ${s.description}\n`);
    }
  }
  return 0;
}

/** Runs until SIGINT/SIGTERM (or, with only pcap receivers, until the files are replayed). */
export async function runCollectorCommand(o: CollectorCliOptions, err = (s: string) => process.stderr.write(s)): Promise<number> {
  const cfg = load(o, err);
  if (cfg === null) return 1;
  const collector = new Collector(cfg);
  // Signals are taken before starting: a stop asked for while starting is honoured once started.
  let stopAsked!: () => void;
  const stopped = new Promise<void>((resolve) => (stopAsked = resolve));
  process.once('SIGINT', stopAsked);
  process.once('SIGTERM', stopAsked);
  try {
    await collector.start();
  } catch (e) {
    err(`spanwire: cannot start: ${(e as Error).message}\n`);
    process.off('SIGINT', stopAsked);
    process.off('SIGTERM', stopAsked);
    return 1;
  }
  let replayDone = false;
  void collector.finished().then(() => {
    replayDone = true;
    stopAsked();
  });
  await stopped;
  collector.log('info', replayDone ? 'capture files replayed: sending what is queued, then stopping' : 'shutting down');
  await collector.shutdown(replayDone ? Infinity : 5000);
  return 0;
}

/**
 * Validation of a merged Collector config map: component ids and types, every component's options
 * (through the catalog), and the service: pipelines, connectors, extensions, telemetry. Every
 * problem is collected with its path and fix, then thrown together as one ConfigError.
 */
import { totalmem } from 'node:os';
import { makeCatalog, SIGNALS, type ComponentSpec, type Kind, type QueueConfig, type Signal } from './components.js';
import { ConfigError, type ConfigIssue } from './issues.js';
import { isMap, loadConfigSources, type ConfigMap, type LoadSourcesOptions } from './load.js';
import { closest, describe, Options } from './options.js';

export interface ComponentInstance {
  /** `otlp/jaeger` */
  readonly id: string;
  readonly kind: Kind;
  /** Canonical type (aliases resolved: `otlp_grpc` -> `otlp`). */
  readonly type: string;
  readonly name: string;
  /** `exporters::otlp/jaeger` */
  readonly path: string;
  readonly config: unknown;
  readonly spec: ComponentSpec;
}

export interface PipelineConfig {
  readonly id: string;
  readonly signal: Signal;
  readonly receivers: readonly string[];
  readonly processors: readonly string[];
  readonly exporters: readonly string[];
}

export interface TelemetryConfig {
  metricsLevel: 'none' | 'basic' | 'normal' | 'detailed';
  /** host:port of the self-telemetry Prometheus endpoint, or null when off. */
  metricsEndpoint: string | null;
  logsLevel: 'debug' | 'info' | 'warn' | 'error';
}

export interface CollectorConfig {
  readonly receivers: ReadonlyMap<string, ComponentInstance>;
  readonly processors: ReadonlyMap<string, ComponentInstance>;
  readonly exporters: ReadonlyMap<string, ComponentInstance>;
  readonly connectors: ReadonlyMap<string, ComponentInstance>;
  readonly extensions: ReadonlyMap<string, ComponentInstance>;
  readonly service: { extensions: readonly string[]; pipelines: readonly PipelineConfig[]; telemetry: TelemetryConfig };
  readonly warnings: readonly string[];
}

const SECTIONS: readonly [string, Kind][] = [
  ['receivers', 'receiver'],
  ['processors', 'processor'],
  ['exporters', 'exporter'],
  ['connectors', 'connector'],
  ['extensions', 'extension'],
];

const TYPE_RE = /^[a-zA-Z][0-9a-zA-Z_]{0,62}$/;
const NAME_RE = /^[^\s/]+$/;

/** `type[/name]` -> parts, or an issue. */
export function parseComponentId(id: string): { type: string; name: string } | null {
  const slash = id.indexOf('/');
  const type = slash < 0 ? id : id.slice(0, slash);
  const name = slash < 0 ? '' : id.slice(slash + 1);
  if (!TYPE_RE.test(type)) return null;
  if (slash >= 0 && !NAME_RE.test(name)) return null;
  return { type, name };
}

export function catalog(): ComponentSpec[] {
  return makeCatalog({ totalMemoryMiB: Math.floor(totalmem() / (1 << 20)) });
}

function typesOf(specs: ComponentSpec[], kind: Kind): string[] {
  const out: string[] = [];
  for (const s of specs) if (s.kind === kind) out.push(s.type, ...(s.aliases ?? []));
  return out.sort();
}

export function validateConfig(map: ConfigMap, warnings: readonly string[] = []): CollectorConfig {
  const issues: ConfigIssue[] = [];
  const specs = catalog();
  for (const k of Object.keys(map)) {
    if (k === 'service' || SECTIONS.some(([s]) => s === k)) continue;
    const near = closest(k, ['service', ...SECTIONS.map(([s]) => s)]);
    issues.push({ path: k, message: 'is not a section of a Collector config', fix: near !== null ? `did you mean "${near}"?` : 'use receivers, processors, exporters, connectors, extensions and service' });
  }
  const parsed = new Map<Kind, Map<string, ComponentInstance>>();
  /** Ids already reported (bad id or unknown type): pipelines naming them are not reported again. */
  const reported = new Set<string>();
  for (const [section, kind] of SECTIONS) {
    const out = new Map<string, ComponentInstance>();
    parsed.set(kind, out);
    const raw = map[section];
    if (raw === undefined || raw === null) continue;
    if (!isMap(raw)) {
      issues.push({ path: section, message: `must be a map of component ids to their options, got ${describe(raw)}`, fix: `write ${section}:\n  TYPE[/NAME]:\n    option: value` });
      continue;
    }
    for (const [id, opts] of Object.entries(raw)) {
      const path = `${section}::${id}`;
      const parts = parseComponentId(id);
      if (parts === null) {
        issues.push({ path, message: `"${id}" is not a valid component id`, fix: 'write TYPE or TYPE/NAME (TYPE: letters, digits, _; NAME: no spaces or /)' });
        reported.add(id);
        continue;
      }
      const spec = specs.find((s) => s.kind === kind && (s.type === parts.type || (s.aliases ?? []).includes(parts.type)));
      if (spec === undefined) {
        const types = typesOf(specs, kind);
        const near = closest(parts.type, types);
        issues.push({
          path,
          message: `unknown ${kind} type "${parts.type}"; spanwire supports ${types.join(', ')}`,
          fix: near !== null ? `did you mean "${near}"? otherwise remove it and its uses in service::pipelines` : `remove it and its uses in service::pipelines (run \`spanwire components\` for the list)`,
        });
        reported.add(id);
        continue;
      }
      const config = spec.parse(Options.of(opts, path, issues, `the ${parts.type} ${kind}`));
      out.set(id, { id, kind, type: spec.type, name: parts.name, path, config, spec });
    }
  }
  const service = validateService(map.service, parsed, issues, reported);
  // Persistent queues name a file_storage extension that must exist and be enabled.
  for (const inst of parsed.get('exporter')!.values()) {
    const q = (inst.config as { queue?: QueueConfig }).queue;
    if (q?.storage === undefined) continue;
    const path = `${inst.path}::sending_queue::storage`;
    const ext = parsed.get('extension')!.get(q.storage);
    if (ext === undefined) issues.push({ path, message: `extension "${q.storage}" is not defined`, fix: `define it under extensions: (file_storage) and list it in service::extensions` });
    else if (ext.type !== 'file_storage') issues.push({ path, message: `extension "${q.storage}" is a ${ext.type}, not a file_storage`, fix: 'name a file_storage extension' });
    else if (service !== null && !service.extensions.includes(q.storage)) issues.push({ path, message: `extension "${q.storage}" is not enabled`, fix: `add it to service::extensions` });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    receivers: parsed.get('receiver')!,
    processors: parsed.get('processor')!,
    exporters: parsed.get('exporter')!,
    connectors: parsed.get('connector')!,
    extensions: parsed.get('extension')!,
    service: service!,
    warnings,
  };
}

function validateService(raw: unknown, parsed: Map<Kind, Map<string, ComponentInstance>>, issues: ConfigIssue[], reported: ReadonlySet<string>): CollectorConfig['service'] | null {
  if (raw === undefined || raw === null) {
    issues.push({ path: 'service', message: 'is required', fix: 'add service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [otlp]' });
    return null;
  }
  const s = Options.of(raw, 'service', issues, 'the service section');
  const extIds = s.strings('extensions');
  extIds.forEach((e) => {
    if (!parsed.get('extension')!.has(e) && !reported.has(e)) issues.push({ path: 'service::extensions', message: `references extension "${e}", which is not defined`, fix: `define it under extensions: or remove it from the list` });
  });
  const telemetry = parseTelemetry(s.sub('telemetry', 'the service telemetry'));
  const p = s.sub('pipelines', 'the service pipelines');
  const pipelines: PipelineConfig[] = [];
  if (Object.keys(p.raw).length === 0) {
    issues.push({ path: 'service::pipelines', message: 'must have at least one pipeline', fix: 'add e.g. traces:\n  receivers: [otlp]\n  exporters: [otlp]' });
  }
  const receivers = parsed.get('receiver')!;
  const processors = parsed.get('processor')!;
  const exporters = parsed.get('exporter')!;
  const connectors = parsed.get('connector')!;
  for (const id of Object.keys(p.raw)) {
    const path = `service::pipelines::${id}`;
    const slash = id.indexOf('/');
    const type = slash < 0 ? id : id.slice(0, slash);
    if (!(SIGNALS as readonly string[]).includes(type)) {
      issues.push({ path, message: `"${type}" is not a pipeline type${type === 'profiles' ? ' spanwire supports' : ''}`, fix: 'name pipelines traces, metrics or logs (optionally traces/NAME)' });
      p.ignored(id);
      continue;
    }
    const signal = type as Signal;
    const po = p.sub(id, `the ${id} pipeline`);
    const pr = po.strings('receivers');
    const pp = po.strings('processors');
    const pe = po.strings('exporters');
    po.done();
    if (pr.length === 0) issues.push({ path: `${path}::receivers`, message: 'must list at least one receiver', fix: 'add receivers: [otlp]' });
    if (pe.length === 0) issues.push({ path: `${path}::exporters`, message: 'must list at least one exporter', fix: 'add exporters: [debug]' });
    for (const r of pr) {
      const inst = receivers.get(r) ?? connectors.get(r);
      if (inst === undefined && reported.has(r)) continue;
      if (inst === undefined) issues.push({ path: `${path}::receivers`, message: `references receiver "${r}", which is not defined`, fix: `define it under receivers: (or connectors:), or remove it from the list` });
      else if (inst.kind === 'receiver' && !inst.spec.signals.includes(signal)) {
        issues.push({ path: `${path}::receivers`, message: `receiver "${r}" does not produce ${signal}`, fix: `use it in a ${inst.spec.signals.join(' or ')} pipeline` });
      }
    }
    const seen = new Set<string>();
    for (const x of pp) {
      const inst = processors.get(x);
      if (inst === undefined && reported.has(x)) continue;
      if (inst === undefined) issues.push({ path: `${path}::processors`, message: `references processor "${x}", which is not defined`, fix: 'define it under processors: or remove it from the list' });
      else if (!inst.spec.signals.includes(signal)) issues.push({ path: `${path}::processors`, message: `processor "${x}" does not support ${signal} in spanwire`, fix: `remove it from this pipeline (it supports ${inst.spec.signals.join(', ')})` });
      if (seen.has(x)) issues.push({ path: `${path}::processors`, message: `references processor "${x}" more than once`, fix: 'list each processor once' });
      seen.add(x);
    }
    for (const e of pe) {
      const inst = exporters.get(e) ?? connectors.get(e);
      if (inst === undefined && reported.has(e)) continue;
      if (inst === undefined) issues.push({ path: `${path}::exporters`, message: `references exporter "${e}", which is not defined`, fix: 'define it under exporters: (or connectors:), or remove it from the list' });
      else if (inst.kind === 'exporter' && !inst.spec.signals.includes(signal)) {
        issues.push({ path: `${path}::exporters`, message: `exporter "${e}" does not take ${signal}`, fix: `use it in a ${inst.spec.signals.join(' or ')} pipeline` });
      }
    }
    pipelines.push({ id, signal, receivers: pr, processors: pp, exporters: pe });
  }
  // Connectors: exporter in one pipeline, receiver in another, with a supported signal pair.
  for (const c of connectors.values()) {
    const asExporter = pipelines.filter((x) => x.exporters.includes(c.id));
    const asReceiver = pipelines.filter((x) => x.receivers.includes(c.id));
    if (asExporter.length === 0 && asReceiver.length === 0) continue;
    const pairs = c.spec.connects ?? [];
    for (const e of asExporter) {
      if (!pairs.some(([from]) => from === e.signal)) issues.push({ path: `service::pipelines::${e.id}::exporters`, message: `connector "${c.id}" does not take ${e.signal}`, fix: `use it as an exporter of a ${pairs.map(([f]) => f).join(' or ')} pipeline` });
      else if (!asReceiver.some((r) => pairs.some(([from, to]) => from === e.signal && to === r.signal))) {
        issues.push({ path: `service::pipelines::${e.id}::exporters`, message: `connector "${c.id}" is used as an exporter here but as a receiver in no ${pairs.filter(([f]) => f === e.signal).map(([, t]) => t).join(' or ')} pipeline`, fix: `add "${c.id}" to the receivers of a ${pairs.map(([, t]) => t).join(' or ')} pipeline` });
      }
    }
    for (const r of asReceiver) {
      if (!pairs.some(([, to]) => to === r.signal)) issues.push({ path: `service::pipelines::${r.id}::receivers`, message: `connector "${c.id}" does not produce ${r.signal}`, fix: `use it as a receiver of a ${pairs.map(([, t]) => t).join(' or ')} pipeline` });
      else if (asExporter.length === 0) issues.push({ path: `service::pipelines::${r.id}::receivers`, message: `connector "${c.id}" is used as a receiver here but as an exporter in no pipeline`, fix: `add "${c.id}" to the exporters of a ${pairs.map(([f]) => f).join(' or ')} pipeline` });
    }
  }
  s.done();
  return { extensions: extIds, pipelines, telemetry };
}

function parseTelemetry(t: Options): TelemetryConfig {
  const m = t.sub('metrics', 'the service telemetry metrics');
  const metricsLevel = m.oneOf('level', ['none', 'basic', 'normal', 'detailed'] as const, 'normal');
  let endpoint: string | null = m.str('address', '127.0.0.1:8888');
  const readers = m.list('readers');
  readers.forEach((r, i) => {
    const ro = Options.of(r, `${m.p('readers')}::${i}`, t.issues, 'a telemetry metrics reader');
    const pull = ro.sub('pull', 'a pull reader');
    ro.notSupported('periodic', 'push readers: spanwire serves its own metrics for scraping (pull with a prometheus exporter)');
    ro.done();
    const ex = pull.sub('exporter', 'a pull reader exporter');
    const prom = ex.sub('prometheus', 'the prometheus reader');
    const host = prom.str('host', '127.0.0.1');
    const port = prom.int('port', 8888, 0, 65535);
    prom.ignored('without_scope_info', 'without_type_suffix', 'without_units', 'with_resource_constant_labels', 'translation_strategy');
    prom.done();
    ex.done();
    pull.done();
    endpoint = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  });
  m.ignored('views');
  m.done();
  const l = t.sub('logs', 'the service telemetry logs');
  const logsLevel = l.oneOf('level', ['debug', 'info', 'warn', 'error'] as const, 'info');
  l.ignored('encoding', 'development', 'disable_caller', 'disable_stacktrace', 'sampling', 'output_paths', 'error_output_paths', 'initial_fields', 'processors');
  l.done();
  t.ignored('resource', 'traces');
  t.done();
  return { metricsLevel, metricsEndpoint: metricsLevel === 'none' ? null : endpoint, logsLevel };
}

/** Files + --set flags + environment -> a validated config. Throws ConfigError. */
export function loadConfig(o: LoadSourcesOptions): CollectorConfig {
  const { map, warnings } = loadConfigSources(o);
  return validateConfig(map, warnings);
}

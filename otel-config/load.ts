/**
 * Reading OpenTelemetry Collector configuration sources into one plain map, as the Collector's
 * confmap does: several `--config` files merged in order (later wins; maps merged key by key, lists
 * replaced), then `--set key::path=value` overrides (value parsed as YAML), then `${...}` references
 * expanded in string values (`${env:VAR}`, `${env:VAR:-default}`, `${VAR}`; `$$` is a literal `$`).
 *
 * Paths in messages use the Collector's `::` separator (`exporters::otlp::endpoint`).
 */
import { readFileSync } from 'node:fs';
import { parseDocument, parse as parseYaml } from 'yaml';
import { ConfigError, type ConfigIssue } from './issues.js';

export type ConfigMap = Record<string, unknown>;

export function isMap(v: unknown): v is ConfigMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Later wins; maps are merged key by key, anything else (lists included) is replaced. */
export function mergeConfig(base: ConfigMap, over: ConfigMap): ConfigMap {
  const out: ConfigMap = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isMap(b) && isMap(v) ? mergeConfig(b, v) : v;
  }
  return out;
}

/** One YAML document from a file; problems become issues naming the file (and line). */
export function readConfigFile(file: string, issues: ConfigIssue[]): ConfigMap {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    issues.push({ path: file, message: `cannot read the config file: ${why}`, fix: 'pass the path of an OpenTelemetry Collector YAML file to --config' });
    return {};
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const where = e.linePos !== undefined ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : 'somewhere';
    issues.push({ path: file, message: `not valid YAML at ${where}: ${e.message.split('\n')[0]}`, fix: 'correct the YAML syntax' });
    return {};
  }
  const v: unknown = doc.toJS({ maxAliasCount: 100 });
  if (v === null || v === undefined) return {};
  if (!isMap(v)) {
    issues.push({ path: file, message: 'the top level must be a map (receivers:, exporters:, service: ...)', fix: 'write the config as a YAML map' });
    return {};
  }
  return v;
}

/**
 * `--set` overrides in the Collector's syntax: `KEY=VALUE` with `::` between the path's parts
 * (`exporters::otlp::endpoint=tempo:4317`); VALUE is YAML (`[a, b]` is a list, `2s` a string).
 */
export function parseSetFlag(flag: string): ConfigMap {
  const eq = flag.indexOf('=');
  if (eq <= 0) {
    throw new ConfigError([
      { path: '--set', message: `"${flag}" is not KEY=VALUE`, fix: 'write it as --set exporters::otlp::endpoint=tempo:4317 (path parts separated by ::)' },
    ]);
  }
  const key = flag.slice(0, eq);
  const parts = key.split('::');
  if (parts.some((p) => p === '')) {
    throw new ConfigError([{ path: '--set', message: `"${key}" has an empty path part`, fix: 'separate the path parts with a single "::", e.g. processors::batch::timeout=2s' }]);
  }
  let value: unknown;
  try {
    value = parseYaml(flag.slice(eq + 1));
  } catch {
    value = flag.slice(eq + 1);
  }
  let out: unknown = value === undefined ? null : value;
  for (let i = parts.length - 1; i >= 0; i--) out = { [parts[i]]: out };
  return out as ConfigMap;
}

const REF = /\$\$|\$\{([^}]*)\}/g;
const ENV_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Expands `${env:VAR}`, `${env:VAR:-default}` and `${VAR}` in every string value. A value that is
 * only a reference takes the variable's YAML type (`${env:PORT}` with PORT=4317 is the number 4317),
 * as the Collector does; an unset variable without a default becomes '' (and a warning).
 */
export function expandEnv(v: unknown, env: NodeJS.ProcessEnv, path: string, issues: ConfigIssue[], warnings: string[]): unknown {
  if (typeof v === 'string') return expandString(v, env, path, issues, warnings);
  if (Array.isArray(v)) return v.map((x, i) => expandEnv(x, env, `${path}::${i}`, issues, warnings));
  if (isMap(v)) {
    const out: ConfigMap = {};
    for (const [k, x] of Object.entries(v)) out[k] = expandEnv(x, env, path === '' ? k : `${path}::${k}`, issues, warnings);
    return out;
  }
  return v;
}

function expandString(s: string, env: NodeJS.ProcessEnv, path: string, issues: ConfigIssue[], warnings: string[]): unknown {
  if (!s.includes('$')) return s;
  let whole: string | null = null;
  let count = 0;
  const out = s.replace(REF, (m, inner: string | undefined) => {
    if (m === '$$') return '$';
    count++;
    const body = inner ?? '';
    let scheme = 'env';
    let rest = body;
    const colon = body.indexOf(':');
    if (colon >= 0 && /^[a-zA-Z][a-zA-Z0-9+.-]*$/.test(body.slice(0, colon)) && body[colon + 1] !== '-') {
      scheme = body.slice(0, colon);
      rest = body.slice(colon + 1);
    }
    if (scheme !== 'env') {
      issues.push({
        path,
        message: `"${m}" uses the "${scheme}" config provider, which spanwire does not support`,
        fix: 'use ${env:VAR} (or ${env:VAR:-default}) and set the variable, or write the value in the file',
      });
      return '';
    }
    const dflt = rest.indexOf(':-');
    const name = dflt >= 0 ? rest.slice(0, dflt) : rest;
    if (!ENV_NAME.test(name)) {
      issues.push({ path, message: `"${m}" does not name an environment variable`, fix: 'use ${env:NAME} with NAME made of letters, digits and _' });
      return '';
    }
    const val = env[name];
    let r: string;
    if (val !== undefined && val !== '') r = val;
    else if (dflt >= 0) r = rest.slice(dflt + 2);
    else {
      if (val === undefined) warnings.push(`${path}: environment variable ${name} is not set: using ""`);
      r = '';
    }
    whole = r;
    return r;
  });
  // A value that is exactly one reference keeps the type of what it expands to (number, bool).
  if (count === 1 && whole !== null && /^\$\{[^}]*\}$/.test(s)) {
    try {
      const typed: unknown = parseYaml(whole);
      if (typeof typed === 'number' || typeof typed === 'boolean') return typed;
    } catch {
      /* keep the string */
    }
    return whole;
  }
  return out;
}

export interface LoadSourcesOptions {
  files: readonly string[];
  sets?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

export interface LoadedSources {
  map: ConfigMap;
  warnings: string[];
}

/** Files merged in order, then --set flags, then ${...} expanded. Throws ConfigError. */
export function loadConfigSources(o: LoadSourcesOptions): LoadedSources {
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  if (o.files.length === 0) {
    throw new ConfigError([{ path: '--config', message: 'no config file given', fix: 'pass --config FILE (repeatable; later files override earlier ones)' }]);
  }
  let map: ConfigMap = {};
  for (const f of o.files) map = mergeConfig(map, readConfigFile(f, issues));
  for (const s of o.sets ?? []) map = mergeConfig(map, parseSetFlag(s));
  if (issues.length > 0) throw new ConfigError(issues);
  const expanded = expandEnv(map, o.env ?? process.env, '', issues, warnings) as ConfigMap;
  if (issues.length > 0) throw new ConfigError(issues);
  return { map: expanded, warnings };
}

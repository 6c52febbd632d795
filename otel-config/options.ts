/**
 * Typed reading of one component's options from the merged config map. Every read records the key;
 * `done()` then reports keys nobody read (the Collector rejects unknown keys too), with the closest
 * known name as a suggestion. Problems are collected, never thrown, so one run reports them all.
 */
import type { ConfigIssue } from './issues.js';
import { isMap, type ConfigMap } from './load.js';

export class Options {
  private readonly known = new Set<string>();
  private readonly unsupported = new Map<string, string>();

  constructor(
    readonly raw: ConfigMap,
    /** `exporters::otlp` */
    readonly path: string,
    readonly issues: ConfigIssue[],
    /** For messages: `the otlp exporter`. */
    readonly what: string,
  ) {}

  /** A map value (null/absent -> empty map) as a sub-reader. */
  static of(v: unknown, path: string, issues: ConfigIssue[], what: string): Options {
    if (v === null || v === undefined) return new Options({}, path, issues, what);
    if (!isMap(v)) {
      issues.push({ path, message: `must be a map of options, got ${describe(v)}`, fix: `write the options of ${what} as "key: value" lines under it (or {} for the defaults)` });
      return new Options({}, path, issues, what);
    }
    return new Options(v, path, issues, what);
  }

  p(key: string): string {
    return `${this.path}::${key}`;
  }

  has(key: string): boolean {
    this.known.add(key);
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  private get(key: string): unknown {
    this.known.add(key);
    const v = this.raw[key];
    return v === null ? undefined : v;
  }

  fail(key: string, message: string, fix: string): void {
    this.issues.push({ path: key === '' ? this.path : this.p(key), message, fix });
  }

  str(key: string, def: string): string;
  str(key: string, def?: string): string | undefined;
  str(key: string, def?: string): string | undefined {
    const v = this.get(key);
    if (v === undefined) return def;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    this.fail(key, `must be a string, got ${describe(v)}`, `write ${key}: "..."`);
    return def;
  }

  required(key: string, example: string): string {
    const v = this.str(key);
    if (v === undefined || v === '') {
      this.fail(key, `is required by ${this.what}`, `set it, e.g. ${key}: ${example}`);
      return '';
    }
    return v;
  }

  bool(key: string, def: boolean): boolean {
    const v = this.get(key);
    if (v === undefined) return def;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    this.fail(key, `must be true or false, got ${describe(v)}`, `write ${key}: true or ${key}: false`);
    return def;
  }

  num(key: string, def: number, min = -Infinity, max = Infinity, integer = false): number {
    const v = this.get(key);
    if (v === undefined) return def;
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) {
      this.fail(key, `must be ${integer ? 'an integer' : 'a number'}, got ${describe(v)}`, `write a number, e.g. ${key}: ${def}`);
      return def;
    }
    if (n < min || n > max) {
      const range = max === Infinity ? `at least ${min}` : `between ${min} and ${max}`;
      this.fail(key, `must be ${range}, got ${n}`, `use a value ${range}`);
      return def;
    }
    return n;
  }

  int(key: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    return this.num(key, def, min, max, true);
  }

  /** A Go duration ("5s", "200ms", "1m30s", "0") in milliseconds. */
  duration(key: string, defMs: number, minMs = 0): number {
    const v = this.get(key);
    if (v === undefined) return defMs;
    const ms = parseDuration(v);
    if (ms === null) {
      this.fail(key, `must be a duration such as 200ms, 5s or 1m, got ${describe(v)}`, `write a number with a unit (ns, us, ms, s, m, h), e.g. ${key}: ${fmtDuration(defMs)}`);
      return defMs;
    }
    if (ms < minMs) {
      this.fail(key, `must be at least ${fmtDuration(minMs)}, got ${fmtDuration(ms)}`, `use ${fmtDuration(minMs)} or more`);
      return defMs;
    }
    return ms;
  }

  oneOf<T extends string>(key: string, values: readonly T[], def: T): T {
    const v = this.get(key);
    if (v === undefined || v === '') return def;
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    this.fail(key, `must be one of ${values.join(', ')}, got ${describe(v)}`, `pick one of ${values.join(', ')}`);
    return def;
  }

  strings(key: string): string[] {
    const v = this.get(key);
    if (v === undefined) return [];
    if (typeof v === 'string') return [v];
    if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.map(String);
    this.fail(key, `must be a list of strings, got ${describe(v)}`, `write ${key}: [a, b]`);
    return [];
  }

  numbers(key: string, integer: boolean): number[] {
    const v = this.get(key);
    if (v === undefined) return [];
    const list = Array.isArray(v) ? v : [v];
    const out: number[] = [];
    for (const x of list) {
      const n = typeof x === 'number' ? x : Number(x);
      if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) {
        this.fail(key, `must be a list of ${integer ? 'integers' : 'numbers'}, got ${describe(x)} in it`, `write ${key}: [80, 443]`);
        return [];
      }
      out.push(n);
    }
    return out;
  }

  /** A map of string values (headers, const_labels). */
  stringMap(key: string): Record<string, string> {
    const v = this.get(key);
    if (v === undefined) return {};
    if (!isMap(v)) {
      this.fail(key, `must be a map of names to values, got ${describe(v)}`, `write ${key}:\n  name: value`);
      return {};
    }
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
      else this.fail(`${key}::${k}`, `must be a string, got ${describe(x)}`, 'write a plain value');
    }
    return out;
  }

  /** A sub-map as its own reader (absent -> empty). */
  sub(key: string, what?: string): Options {
    return Options.of(this.get(key), this.p(key), this.issues, what ?? `${this.what} ${key}`);
  }

  list(key: string): unknown[] {
    const v = this.get(key);
    if (v === undefined) return [];
    if (Array.isArray(v)) return v;
    this.fail(key, `must be a list, got ${describe(v)}`, `write ${key}: as a YAML list ("- ..." lines)`);
    return [];
  }

  raw_(key: string): unknown {
    return this.get(key);
  }

  /** An option of the Collector that spanwire does not implement: an error that says so. */
  notSupported(key: string, why: string): void {
    this.known.add(key);
    this.unsupported.set(key, why);
  }

  /** Accepted for compatibility, has no effect in spanwire. */
  ignored(...keys: string[]): void {
    for (const k of keys) this.known.add(k);
  }

  /** Reports unknown and unsupported keys. Call once, after every read. */
  done(): void {
    for (const k of Object.keys(this.raw)) {
      if (this.unsupported.has(k)) {
        if (this.raw[k] !== null && this.raw[k] !== undefined && this.raw[k] !== false) {
          this.fail(k, `is an option of the OpenTelemetry Collector that spanwire does not support (${this.unsupported.get(k)})`, 'remove it');
        }
        continue;
      }
      if (this.known.has(k)) continue;
      const options = [...this.known].filter((x) => !this.unsupported.has(x)).sort();
      const near = closest(k, options);
      this.fail(
        k,
        `is not an option of ${this.what}`,
        `${near !== null ? `did you mean "${near}"? ` : ''}${options.length > 0 ? `valid options: ${options.join(', ')}` : 'it takes no options'}`,
      );
    }
  }
}

export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `"${v}"`;
  return `${typeof v} ${String(v)}`;
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration (positive durations) in milliseconds, or null. */
export function parseDuration(v: unknown): number | null {
  if (v === 0 || v === '0') return 0;
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (s === '') return null;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNITS[m[2]];
    pos = re.lastIndex;
  }
  return pos === s.length && pos > 0 ? total : null;
}

export function fmtDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** The known name nearest `k` (edit distance <= 2, or a prefix), or null. */
export function closest(k: string, names: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = 3;
  for (const n of names) {
    const d = editDistance(k.toLowerCase(), n.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

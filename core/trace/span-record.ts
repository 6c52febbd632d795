/**
 * The reused, fixed-shape span record that span building fills once per exchange.
 *
 * On the replay hot path span building and encoding allocate nothing per span: the builder fills
 * one `SpanRecord` (ids as bytes, times as numbers, attributes as a reused key/value list) and hands
 * it on synchronously. A consumer that can encode records (the OTLP/JSON exporter) encodes it during
 * the call; any other consumer gets a `SpanData` made from it (`toSpanData`), the same object the
 * builder used to make.
 */
import type { AttributeValue, Attributes, InstrumentationScope, Resource, SpanData } from './span.js';

/**
 * An attribute key, interned per `AttrList`. `gen`/`slot` deduplicate keys within one span (a later
 * value of the same key replaces the earlier one in place, as an object assignment would).
 * `prefix`, `cache`, `cacheOn`, `lastValue`, `lastBytes`, `hits` and `misses` belong to the OTLP
 * encoder (its per-key encodings).
 */
export class AttrKey {
  gen = 0;
  slot = 0;
  /** Encoded `{"key":"<k>","value":` (null until the encoder first needs it). */
  prefix: Uint8Array | null = null;
  /** Whole encoded KeyValues for low-cardinality values (bounded; see the encoder). */
  cache: Map<string | number | boolean, Uint8Array> | null = null;
  cacheOn = true;
  /** The last cached value written and its encoding (checked before the Map). */
  lastValue: AttributeValue | undefined = undefined;
  lastBytes: Uint8Array | null = null;
  hits = 0;
  misses = 0;
  constructor(
    readonly key: string,
    /** False for keys beyond the interning cap: deduplicated by a linear scan instead. */
    readonly interned: boolean,
  ) {}
}

const MAX_KEYS = 4096;
/** Add calls per span remembered for the key prediction below. */
const PREDICT = 64;

/**
 * The attributes of one span in insertion order, with object-assignment semantics for repeated keys
 * (the first position, the last value). Reused: `reset` starts the next span.
 */
export class AttrList {
  readonly keys: AttrKey[] = [];
  readonly values: AttributeValue[] = [];
  n = 0;
  private gen = 0;
  private calls = 0;
  private readonly interned = new Map<string, AttrKey>();
  /**
   * Spans of one protocol add the same keys in the same order: the key seen at the same call index
   * last time is checked first (a pointer comparison for literal keys) before the Map.
   */
  private readonly predictedKey: string[] = new Array<string>(PREDICT).fill('');
  private readonly predictedAttr: (AttrKey | null)[] = new Array<AttrKey | null>(PREDICT).fill(null);

  reset(): void {
    this.n = 0;
    this.calls = 0;
    this.gen = (this.gen + 1) | 0;
    if (this.gen === 0) {
      for (const k of this.interned.values()) k.gen = 0;
      this.gen = 1;
    }
  }

  /** The interned key for `k` (callers may keep it and use `addKey`). */
  key(k: string): AttrKey {
    let a = this.interned.get(k);
    if (a === undefined) {
      if (this.interned.size < MAX_KEYS) {
        a = new AttrKey(k, true);
        this.interned.set(k, a);
      } else {
        a = new AttrKey(k, false);
      }
    }
    return a;
  }

  add(k: string, v: AttributeValue): void {
    const c = this.calls++;
    let a: AttrKey;
    if (c < PREDICT) {
      if (this.predictedKey[c] === k) {
        a = this.predictedAttr[c]!;
      } else {
        a = this.key(k);
        this.predictedKey[c] = k;
        this.predictedAttr[c] = a;
      }
    } else {
      a = this.key(k);
    }
    this.addKey(a, v);
  }

  addKey(a: AttrKey, v: AttributeValue): void {
    if (a.interned) {
      if (a.gen === this.gen) {
        this.values[a.slot] = v;
        return;
      }
      a.gen = this.gen;
      a.slot = this.n;
    } else {
      for (let i = 0; i < this.n; i++) {
        if (this.keys[i].key === a.key) {
          this.values[i] = v;
          return;
        }
      }
    }
    this.keys[this.n] = a;
    this.values[this.n] = v;
    this.n++;
  }

  /** Adds every enumerable property of `attrs`, in for-in order. */
  addAll(attrs: Attributes): void {
    for (const k in attrs) this.add(k, attrs[k]);
  }

  /** The attributes as a plain object (insertion order). */
  toObject(): Attributes {
    const o: Attributes = {};
    for (let i = 0; i < this.n; i++) o[this.keys[i].key] = this.values[i];
    return o;
  }
}

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

/** Lower-case hex of `b[off .. off+n)`. */
export function hexOf(b: Uint8Array, off: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX[b[off + i]];
  return s;
}

/** One span, reused for every span a builder makes. Valid only during the call it is passed to. */
export class SpanRecord {
  /** Trace id as 32 hex chars, or '' when the id is in `idBytes[0..16)` (generated). */
  traceId = '';
  /** Span id as 16 hex chars, or '' when the id is in `idBytes[16..24)` (generated). */
  spanId = '';
  readonly idBytes = new Uint8Array(24);
  parentSpanId = '';
  traceState = '';
  flags = 0;
  name = '';
  kind = 0;
  startSec = 0;
  startNs = 0;
  endSec = 0;
  endNs = 0;
  readonly attrs = new AttrList();
  statusCode = 0;
  statusMessage = '';
  resource: Resource;
  scope: InstrumentationScope;

  constructor(resource: Resource, scope: InstrumentationScope) {
    this.resource = resource;
    this.scope = scope;
  }

  /** Loads a `SpanData` (the generic path of the encoder). */
  loadSpanData(sp: SpanData): void {
    this.traceId = sp.traceId;
    this.spanId = sp.spanId;
    this.parentSpanId = sp.parentSpanId;
    this.traceState = sp.traceState;
    this.flags = sp.flags;
    this.name = sp.name;
    this.kind = sp.kind;
    this.startSec = sp.startTime[0];
    this.startNs = sp.startTime[1];
    this.endSec = sp.endTime[0];
    this.endNs = sp.endTime[1];
    this.attrs.reset();
    this.attrs.addAll(sp.attributes);
    this.statusCode = sp.status.code;
    this.statusMessage = sp.status.message;
    this.resource = sp.resource;
    this.scope = sp.scope;
  }

  /** A `SpanData` with the record's content (for consumers that take span objects). */
  toSpanData(): SpanData {
    return {
      traceId: this.traceId !== '' ? this.traceId : hexOf(this.idBytes, 0, 16),
      spanId: this.spanId !== '' ? this.spanId : hexOf(this.idBytes, 16, 8),
      parentSpanId: this.parentSpanId,
      traceState: this.traceState,
      flags: this.flags,
      name: this.name,
      kind: this.kind,
      startTime: [this.startSec, this.startNs],
      endTime: [this.endSec, this.endNs],
      attributes: this.attrs.toObject(),
      status: { code: this.statusCode, message: this.statusMessage },
      resource: this.resource,
      scope: this.scope,
    };
  }
}

/**
 * A `TracesConsumer` that can also take records directly (no `SpanData` is made for it). Batches
 * have the same boundaries as `consumeTraces` batches would: `consumeRecord` for each span of a
 * batch, then `endBatch`. A producer uses one way or the other, never both for the same batch.
 */
export interface SpanRecordConsumer {
  consumeRecord(rec: SpanRecord): void;
  endBatch(): void;
}

export function isSpanRecordConsumer(c: unknown): c is SpanRecordConsumer {
  return (
    typeof (c as SpanRecordConsumer).consumeRecord === 'function' && typeof (c as SpanRecordConsumer).endBatch === 'function'
  );
}

/**
 * `attributes` (span and log record attributes) and `resource` (resource attributes) processors:
 * insert (only when absent), update (only when present), upsert, delete (by key or pattern) and
 * hash (SHA-256 hex of the value's text, as recent Collector versions do), with a literal `value`
 * or `from_attribute`. Resources shared by many spans are copied once per batch before changing,
 * so a resource object kept by a capture source is never changed behind its back.
 */
import { createHash } from 'node:crypto';
import type { AttrAction, Signal } from '../../../otel-config/components.js';
import type { AttributeValue, Attributes } from '../../trace/span.js';
import { anyOfPlain, plainOf } from '../pdata/anyvalue.js';
import { spansOf } from '../pdata/codec.js';
import { copyExactValues, RawTraces, type CollectorResource, type KeyValueJson, type SignalData, type TracesData } from '../pdata/model.js';
import { rewriteResourcesProto } from '../pdata/traces.js';
import type { Component, Consumer } from '../component.js';

function hashOf(v: AttributeValue): string {
  return createHash('sha256').update(Array.isArray(v) ? JSON.stringify(v) : String(v)).digest('hex');
}

function literal(v: unknown): AttributeValue {
  if (Array.isArray(v)) return v.every((x) => typeof x === 'number') ? (v as number[]) : v.map(String);
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return String(v);
}

/** Applies the actions to a plain attribute map, in place. */
export function applyActions(actions: readonly AttrAction[], a: Attributes): void {
  for (const act of actions) {
    const key = act.key;
    switch (act.action) {
      case 'insert':
      case 'update':
      case 'upsert': {
        const has = key !== undefined && Object.hasOwn(a, key);
        if ((act.action === 'insert' && has) || (act.action === 'update' && !has) || key === undefined) break;
        if (act.fromAttribute !== undefined) {
          if (!Object.hasOwn(a, act.fromAttribute)) break;
          a[key] = a[act.fromAttribute];
        } else a[key] = literal(act.value);
        break;
      }
      case 'delete':
        for (const k of Object.keys(a)) if (k === key || (act.pattern !== undefined && act.pattern.test(k))) delete a[k];
        break;
      case 'hash':
        for (const k of Object.keys(a)) if (k === key || (act.pattern !== undefined && act.pattern.test(k))) a[k] = hashOf(a[k]);
        break;
    }
  }
}

/** The same on an OTLP/JSON KeyValue list (logs, metrics resources). */
export function applyActionsJson(actions: readonly AttrAction[], list: KeyValueJson[]): KeyValueJson[] {
  const a: Attributes = {};
  const exact = new Map<string, KeyValueJson['value']>();
  for (const kv of list) {
    const p = plainOf(kv.value);
    a[kv.key] = p.v;
    if (!p.exact) exact.set(kv.key, kv.value);
  }
  const before = { ...a };
  applyActions(actions, a);
  return Object.keys(a).map((key) => ({ key, value: exact.has(key) && before[key] === a[key] ? exact.get(key) : anyOfPlain(a[key]) }));
}

type JsonRes = { resource?: { attributes?: KeyValueJson[] } } & Record<string, unknown>;

export class AttributesProcessor<S extends Signal> implements Consumer<S>, Component {
  next!: Consumer<S>;
  readonly mutates = true;
  constructor(
    readonly id: string,
    readonly signal: S,
    private readonly actions: readonly AttrAction[],
    /** `resource`: the resource processor; `record`: the attributes processor. */
    private readonly target: 'record' | 'resource',
  ) {}

  async start(): Promise<void> {}
  async shutdown(): Promise<void> {}

  consume(data: SignalData[S]): Promise<void> {
    if (data instanceof RawTraces && this.target === 'resource') {
      // Resources only: rewritten in the protobuf bytes, the spans are never decoded.
      const parts = data.parts.map((p) => rewriteResourcesProto(p, (res) => applyActions(this.actions, res.attributes)));
      return this.next.consume(new RawTraces(parts, data.count) as SignalData[S]);
    }
    if (this.signal === 'traces') {
      const spans = spansOf(data as TracesData);
      data = spans as SignalData[S];
      if (this.target === 'record') for (const s of spans) applyActions(this.actions, s.attributes);
      else {
        const copies = new Map<CollectorResource, CollectorResource>();
        for (const s of spans) {
          let r = copies.get(s.resource);
          if (r === undefined) {
            const attrs: Attributes = { ...s.resource.attributes };
            copyExactValues(s.resource.attributes, attrs);
            applyActions(this.actions, attrs);
            r = { ...s.resource, attributes: attrs };
            copies.set(s.resource, r);
          }
          s.resource = r;
        }
      }
    } else {
      const key = this.signal === 'metrics' ? 'resourceMetrics' : 'resourceLogs';
      for (const rr of (data as unknown as Record<string, JsonRes[]>)[key]) {
        if (this.target === 'resource') {
          rr.resource = { ...(rr.resource ?? {}), attributes: applyActionsJson(this.actions, rr.resource?.attributes ?? []) };
          continue;
        }
        for (const sl of (rr.scopeLogs as { logRecords?: { attributes?: KeyValueJson[] }[] }[] | undefined) ?? [])
          for (const lr of sl.logRecords ?? []) lr.attributes = applyActionsJson(this.actions, lr.attributes ?? []);
      }
    }
    return this.next.consume(data);
  }
}

/**
 * `filter`: drops every span for which any `traces::span` condition is true (OTTL subset, parsed in
 * otel-config/ottl.ts). Dropped spans are counted (`otelcol_processor_filter_spans.filtered`).
 */
import type { FilterProcessorConfig } from '../../../otel-config/components.js';
import type { OttlExpr, OttlOperand, OttlValue } from '../../../otel-config/ottl.js';
import type { Component, Consumer, Host } from '../component.js';
import { spansOf } from '../pdata/codec.js';
import type { CollectorSpan, TracesData } from '../pdata/model.js';
import type { Counter } from '../telemetry.js';

function valueOf(o: OttlOperand, s: CollectorSpan): OttlValue {
  if ('lit' in o) return o.lit;
  const p = o.path;
  switch (p.p) {
    case 'attr':
    case 'resattr': {
      const a = p.p === 'attr' ? s.attributes : s.resource.attributes;
      const v = a[p.key];
      if (v === undefined) return null;
      return Array.isArray(v) ? JSON.stringify(v) : (v as OttlValue);
    }
    case 'name':
      return s.name;
    case 'kind':
      return s.kind;
    case 'status.code':
      return s.status.code;
    case 'status.message':
      return s.status.message;
    case 'scope.name':
      return s.scope.name;
    case 'scope.version':
      return s.scope.version ?? '';
    case 'trace_state':
      return s.traceState;
    case 'trace_id':
      return s.traceId;
    case 'span_id':
      return s.spanId;
    case 'parent_span_id':
      return s.parentSpanId;
  }
}

/** OTTL comparison: values of different types are unequal; ordering only between numbers or strings. */
export function evalOttl(e: OttlExpr, s: CollectorSpan): boolean {
  switch (e.t) {
    case 'or':
      return evalOttl(e.a, s) || evalOttl(e.b, s);
    case 'and':
      return evalOttl(e.a, s) && evalOttl(e.b, s);
    case 'not':
      return !evalOttl(e.a, s);
    case 'truthy':
      return valueOf(e.a, s) === true;
    case 'match': {
      const v = valueOf(e.a, s);
      return typeof v === 'string' && e.re.test(v);
    }
    case 'cmp': {
      const a = valueOf(e.a, s);
      const b = valueOf(e.b, s);
      if (e.op === '==') return a === b;
      if (e.op === '!=') return a !== b;
      if (a === null || b === null || typeof a !== typeof b || typeof a === 'boolean') return false;
      const x = a as number | string;
      const y = b as number | string;
      return e.op === '<' ? x < y : e.op === '<=' ? x <= y : e.op === '>' ? x > y : x >= y;
    }
  }
}

export class FilterProcessor implements Consumer<'traces'>, Component {
  next!: Consumer<'traces'>;
  readonly mutates = true;
  private filtered!: Counter;
  constructor(
    readonly id: string,
    private readonly cfg: FilterProcessorConfig,
  ) {}

  async start(host: Host): Promise<void> {
    this.filtered = host.telemetry.counter('otelcol_processor_filter_spans.filtered'.replace('.', '_'), 'Number of spans dropped by the filter processor.', { filter: this.id });
  }
  async shutdown(): Promise<void> {}

  consume(data: TracesData): Promise<void> {
    const spans = spansOf(data);
    const keep: CollectorSpan[] = [];
    for (const s of spans) {
      let drop = false;
      for (const c of this.cfg.parsed) if (evalOttl(c, s)) {
        drop = true;
        break;
      }
      if (!drop) keep.push(s);
    }
    this.filtered.add(spans.length - keep.length);
    return keep.length === 0 ? Promise.resolve() : this.next.consume(keep);
  }
}

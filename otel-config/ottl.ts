/**
 * The subset of OTTL (the OpenTelemetry Transformation Language) that spanwire's `filter` processor
 * understands for span conditions, parsed into a small tree. Anything outside it is refused at
 * startup with the position and what is supported (never guessed at).
 *
 *   condition := or ; or := and ("or" and)* ; and := not ("and" not)* ; not := "not" not | primary
 *   primary   := "(" or ")" | "IsMatch(" value "," string ")" | value (op value)?
 *   op        := == != < <= > >=
 *   value     := path | "string" | number | true | false | nil | SPAN_KIND_* | STATUS_CODE_*
 *   path      := [span.]attributes["k"] | resource.attributes["k"] | [span.]name | [span.]kind
 *              | [span.]status.code | [span.]status.message | instrumentation_scope.name
 *              | instrumentation_scope.version | [span.]trace_state | [span.]trace_id.string
 *              | [span.]span_id.string | [span.]parent_span_id.string
 */

export type OttlValue = string | number | boolean | null;
export type OttlPath =
  | { p: 'attr'; key: string }
  | { p: 'resattr'; key: string }
  | { p: 'name' | 'kind' | 'status.code' | 'status.message' | 'scope.name' | 'scope.version' | 'trace_state' | 'trace_id' | 'span_id' | 'parent_span_id' };
export type OttlExpr =
  | { t: 'or' | 'and'; a: OttlExpr; b: OttlExpr }
  | { t: 'not'; a: OttlExpr }
  | { t: 'cmp'; op: '==' | '!=' | '<' | '<=' | '>' | '>='; a: OttlOperand; b: OttlOperand }
  | { t: 'match'; a: OttlOperand; re: RegExp }
  | { t: 'truthy'; a: OttlOperand };
export type OttlOperand = { lit: OttlValue } | { path: OttlPath };

const ENUMS: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
};

const SIMPLE_PATHS: Record<string, OttlPath['p']> = {
  name: 'name',
  kind: 'kind',
  'status.code': 'status.code',
  'status.message': 'status.message',
  trace_state: 'trace_state',
  'trace_id.string': 'trace_id',
  'span_id.string': 'span_id',
  'parent_span_id.string': 'parent_span_id',
};

export class OttlError extends Error {}

type Tok = { k: 'str' | 'num' | 'id' | 'op' | 'punct'; v: string; at: number };

function tokenize(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let v = '';
      while (j < s.length && s[j] !== '"') {
        if (s[j] === '\\' && j + 1 < s.length) {
          j++;
          v += s[j] === 'n' ? '\n' : s[j] === 't' ? '\t' : s[j];
        } else v += s[j];
        j++;
      }
      if (j >= s.length) throw new OttlError(`unterminated string at column ${i + 1}`);
      out.push({ k: 'str', v, at: i });
      i = j + 1;
      continue;
    }
    const two = s.slice(i, i + 2);
    if (['==', '!=', '<=', '>='].includes(two)) {
      out.push({ k: 'op', v: two, at: i });
      i += 2;
      continue;
    }
    if (c === '<' || c === '>') {
      out.push({ k: 'op', v: c, at: i });
      i++;
      continue;
    }
    if ('()[],'.includes(c)) {
      out.push({ k: 'punct', v: c, at: i });
      i++;
      continue;
    }
    const num = /^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(s.slice(i));
    if (num !== null && (c === '-' || /\d/.test(c))) {
      out.push({ k: 'num', v: num[0], at: i });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(s.slice(i));
    if (id !== null) {
      out.push({ k: 'id', v: id[0], at: i });
      i += id[0].length;
      continue;
    }
    throw new OttlError(`unexpected "${c}" at column ${i + 1}`);
  }
  return out;
}

/** Parses one condition; throws OttlError saying where and what is supported. */
export function parseOttlCondition(src: string): OttlExpr {
  const toks = tokenize(src);
  let i = 0;
  const peek = () => toks[i];
  const at = () => (toks[i] !== undefined ? `column ${toks[i].at + 1}` : 'the end');
  const expect = (v: string) => {
    if (peek()?.v !== v) throw new OttlError(`expected "${v}" at ${at()}`);
    i++;
  };
  const operand = (): OttlOperand => {
    const t = toks[i++];
    if (t === undefined) throw new OttlError('unexpected end of condition');
    if (t.k === 'str') return { lit: t.v };
    if (t.k === 'num') return { lit: Number(t.v) };
    if (t.k !== 'id') throw new OttlError(`unexpected "${t.v}" at column ${t.at + 1}`);
    if (t.v === 'true' || t.v === 'false') return { lit: t.v === 'true' };
    if (t.v === 'nil') return { lit: null };
    if (ENUMS[t.v] !== undefined) return { lit: ENUMS[t.v] };
    let name = t.v.startsWith('span.') ? t.v.slice(5) : t.v;
    if (name === 'attributes' || name === 'resource.attributes') {
      expect('[');
      const k = toks[i++];
      if (k?.k !== 'str') throw new OttlError(`expected a quoted attribute name after ${t.v}[ at column ${t.at + 1}`);
      expect(']');
      if (peek()?.v === '[') throw new OttlError(`indexing into attribute values (${t.v}["${k.v}"][...]) is not supported`);
      return { path: { p: name === 'attributes' ? 'attr' : 'resattr', key: k.v } };
    }
    if (name === 'instrumentation_scope.name' || name === 'instrumentation_scope.version') return { path: { p: name === 'instrumentation_scope.name' ? 'scope.name' : 'scope.version' } };
    name = SIMPLE_PATHS[name] ?? '';
    if (name === '') {
      throw new OttlError(
        `"${t.v}" at column ${t.at + 1} is not supported: use attributes["k"], resource.attributes["k"], name, kind, status.code, status.message, instrumentation_scope.name, trace_state, trace_id.string, span_id.string or parent_span_id.string`,
      );
    }
    return { path: { p: name as 'name' } };
  };
  const primary = (): OttlExpr => {
    const t = peek();
    if (t?.v === '(') {
      i++;
      const e = or();
      expect(')');
      return e;
    }
    if (t?.k === 'id' && t.v === 'IsMatch') {
      i++;
      expect('(');
      const a = operand();
      expect(',');
      const r = toks[i++];
      if (r?.k !== 'str') throw new OttlError('IsMatch needs a quoted regular expression as its second argument');
      expect(')');
      let re: RegExp;
      try {
        re = new RegExp(r.v);
      } catch {
        throw new OttlError(`"${r.v}" is not a valid regular expression`);
      }
      return { t: 'match', a, re };
    }
    if (t?.k === 'id' && /^[A-Z]/.test(t.v) && toks[i + 1]?.v === '(') throw new OttlError(`the function ${t.v}() is not supported (only IsMatch)`);
    const a = operand();
    const op = peek();
    if (op?.k === 'op') {
      i++;
      return { t: 'cmp', op: op.v as '==', a, b: operand() };
    }
    return { t: 'truthy', a };
  };
  const not = (): OttlExpr => {
    if (peek()?.k === 'id' && peek().v === 'not') {
      i++;
      return { t: 'not', a: not() };
    }
    return primary();
  };
  const and = (): OttlExpr => {
    let e = not();
    while (peek()?.k === 'id' && peek().v === 'and') {
      i++;
      e = { t: 'and', a: e, b: not() };
    }
    return e;
  };
  const or = (): OttlExpr => {
    let e = and();
    while (peek()?.k === 'id' && peek().v === 'or') {
      i++;
      e = { t: 'or', a: e, b: and() };
    }
    return e;
  };
  const e = or();
  if (i < toks.length) throw new OttlError(`unexpected "${toks[i].v}" at column ${toks[i].at + 1}`);
  return e;
}

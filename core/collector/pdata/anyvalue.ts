/**
 * OTLP AnyValue / KeyValue lists <-> spanwire `Attributes`, in both encodings (protobuf and the
 * OTLP/JSON mapping). Plain values (strings, booleans, safe integers, non-integral doubles, lists
 * of strings or of numbers) map one to one; anything else keeps its exact AnyValue (model.ts).
 */
import type { AttributeValue, Attributes } from '../../trace/span.js';
import { exactValue, hasExactValues, setExactValue, type AnyValueJson, type KeyValueJson } from './model.js';
import { Reader, Writer } from './wire.js';

/** Marks a KeyValue that had no value at all (distinct from an empty AnyValue). */
export const NO_VALUE: AnyValueJson = Object.freeze({}) as AnyValueJson;

// ---- plain <-> AnyValueJson ---------------------------------------------------------------------

/** The plain value of an AnyValue, and whether it is exact. */
export function plainOf(a: AnyValueJson | undefined): { v: AttributeValue; exact: boolean } {
  if (a === undefined || a === null) return { v: '', exact: false };
  if (a.stringValue !== undefined) return { v: a.stringValue, exact: true };
  if (a.boolValue !== undefined) return { v: a.boolValue, exact: true };
  if (a.intValue !== undefined) {
    const n = Number(a.intValue);
    return { v: Number.isSafeInteger(n) ? n : String(a.intValue), exact: Number.isSafeInteger(n) };
  }
  if (a.doubleValue !== undefined) {
    const d = typeof a.doubleValue === 'string' ? Number(a.doubleValue) : a.doubleValue;
    return { v: d, exact: !Number.isInteger(d) };
  }
  if (a.arrayValue !== undefined) {
    const vals = a.arrayValue.values ?? [];
    if (vals.length > 0 && vals.every((x) => x?.stringValue !== undefined)) return { v: vals.map((x) => x.stringValue!), exact: true };
    if (vals.length > 0 && vals.every((x) => x?.intValue !== undefined && Number.isSafeInteger(Number(x.intValue)))) return { v: vals.map((x) => Number(x.intValue)), exact: true };
    if (vals.length > 0 && vals.every((x) => x?.doubleValue !== undefined && !Number.isInteger(Number(x.doubleValue)))) return { v: vals.map((x) => Number(x.doubleValue)), exact: true };
    return { v: vals.map((x) => String(plainOf(x).v)), exact: false };
  }
  if (a.kvlistValue !== undefined) return { v: JSON.stringify(a.kvlistValue), exact: false };
  if (a.bytesValue !== undefined) return { v: a.bytesValue, exact: false };
  return { v: '', exact: false };
}

export function anyOfPlain(v: AttributeValue): AnyValueJson {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  return { arrayValue: { values: (v as readonly (string | number)[]).map((x) => anyOfPlain(x)) } };
}

export function attributesFromJson(list: KeyValueJson[] | undefined): Attributes {
  const out: Attributes = {};
  if (list === undefined) return out;
  for (const kv of list) {
    const p = plainOf(kv.value);
    out[kv.key] = p.v;
    if (!p.exact) setExactValue(out, kv.key, p.v, kv.value ?? NO_VALUE);
  }
  return out;
}

export function attributesToJson(a: Attributes | undefined): KeyValueJson[] {
  const out: KeyValueJson[] = [];
  if (a === undefined) return out;
  for (const key in a) {
    const ex = exactValue(a, key);
    out.push(ex === NO_VALUE ? { key } : { key, value: ex ?? anyOfPlain(a[key]) });
  }
  return out;
}

// ---- protobuf -----------------------------------------------------------------------------------

/** AnyValue message at r.pos..end into the JSON mapping. */
export function decodeAnyValue(r: Reader, end: number): AnyValueJson {
  const out: AnyValueJson = {};
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag) {
      case 0x0a:
        out.stringValue = r.string();
        break;
      case 0x10:
        out.boolValue = r.varint() !== 0;
        break;
      case 0x18:
        out.intValue = r.varint64(true);
        break;
      case 0x21:
        out.doubleValue = r.double();
        break;
      case 0x2a:
        out.arrayValue = { values: decodeRepeated1(r, decodeAnyValue) };
        break;
      case 0x32:
        out.kvlistValue = { values: decodeRepeated1(r, decodeKeyValue) };
        break;
      case 0x3a: {
        const s = r.bytes();
        out.bytesValue = r.buf.toString('base64', s, r.pos);
        break;
      }
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

/** The messages of field 1 (repeated) inside the length-delimited field at r.pos (ArrayValue, KeyValueList). */
function decodeRepeated1<T>(r: Reader, decode: (r: Reader, end: number) => T): T[] {
  const s = r.bytes();
  const e = r.pos;
  r.pos = s;
  const values: T[] = [];
  while (r.pos < e) {
    const t = r.varint();
    if (t === 0x0a) {
      const vs = r.bytes();
      const ve = r.pos;
      r.pos = vs;
      values.push(decode(r, ve));
      r.pos = ve;
    } else r.skip(t & 7);
  }
  r.pos = e;
  return values;
}

function decodeKeyValue(r: Reader, end: number): KeyValueJson {
  let key = '';
  let value: AnyValueJson | undefined;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === 0x0a) key = r.string();
    else if (tag === 0x12) {
      const s = r.bytes();
      const e = r.pos;
      r.pos = s;
      value = decodeAnyValue(r, e);
      r.pos = e;
    } else r.skip(tag & 7);
  }
  return value === undefined ? { key } : { key, value };
}

/** One KeyValue message (r.pos..end) into `attrs`. Strings take a path with no AnyValue object. */
export function decodeAttributeInto(r: Reader, end: number, attrs: Attributes): void {
  let key = '';
  let plain: AttributeValue = '';
  let any: AnyValueJson | null = null;
  let sawValue = false;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === 0x0a) key = r.key();
    else if (tag === 0x12) {
      sawValue = true;
      const s = r.bytes();
      const e = r.pos;
      r.pos = s;
      // Fast paths: an AnyValue holding just a string, a bool, a safe int64 or a non-integral double.
      if (e > s) {
        const t = r.buf[s];
        if (t === 0x0a) {
          r.pos = s + 1;
          const str = r.string();
          if (r.pos === e) {
            plain = str;
            any = null;
            continue;
          }
        } else if (t === 0x10 && e === s + 2) {
          plain = r.buf[s + 1] !== 0;
          any = null;
          r.pos = e;
          continue;
        } else if (t === 0x18) {
          r.pos = s + 1;
          const v = r.varint();
          if (r.pos === e && v <= Number.MAX_SAFE_INTEGER && e - s < 10) {
            plain = v;
            any = null;
            continue;
          }
        } else if (t === 0x21 && e === s + 9) {
          const d = r.buf.readDoubleLE(s + 1);
          if (!Number.isInteger(d)) {
            plain = d;
            any = null;
            r.pos = e;
            continue;
          }
        }
        r.pos = s;
      }
      const a = decodeAnyValue(r, e);
      r.pos = e;
      const p = plainOf(a);
      plain = p.v;
      any = p.exact ? null : a;
    } else r.skip(tag & 7);
  }
  attrs[key] = plain;
  if (any !== null) setExactValue(attrs, key, plain, any);
  else if (!sawValue) setExactValue(attrs, key, plain, NO_VALUE);
}

export function encodeAnyJson(w: Writer, no: number, a: AnyValueJson): void {
  w.fork(no);
  if (a.stringValue !== undefined) w.string(1, a.stringValue);
  else if (a.boolValue !== undefined) {
    w.tag(2, 0);
    w.varint(a.boolValue ? 1 : 0);
  } else if (a.intValue !== undefined) {
    w.tag(3, 0);
    w.varintBig(BigInt.asUintN(64, BigInt(a.intValue)));
  } else if (a.doubleValue !== undefined) {
    w.tag(4, 1);
    w.double(Number(a.doubleValue));
  } else if (a.arrayValue !== undefined) {
    w.fork(5);
    for (const x of a.arrayValue.values ?? []) encodeAnyJson(w, 1, x);
    w.join();
  } else if (a.kvlistValue !== undefined) {
    w.fork(6);
    for (const kv of a.kvlistValue.values ?? []) {
      w.fork(1);
      w.string(1, kv.key);
      if (kv.value !== undefined) encodeAnyJson(w, 2, kv.value);
      w.join();
    }
    w.join();
  } else if (a.bytesValue !== undefined) w.bytes(7, Buffer.from(a.bytesValue, 'base64'));
  w.join();
}

function encodePlain(w: Writer, no: number, v: AttributeValue): void {
  w.fork(no);
  if (typeof v === 'string') w.string(1, v);
  else if (typeof v === 'boolean') {
    w.tag(2, 0);
    w.varint(v ? 1 : 0);
  } else if (typeof v === 'number') {
    if (Number.isInteger(v)) {
      w.tag(3, 0);
      w.varint(v);
    } else {
      w.tag(4, 1);
      w.double(v);
    }
  } else {
    w.fork(5);
    for (const x of v as readonly (string | number)[]) encodePlain(w, 1, x);
    w.join();
  }
  w.join();
}

/** Encoded `key` fields (tag, length, bytes) of recurring attribute keys. */
const keyFields = new Map<string, Uint8Array>();
const KEY_FIELDS_MAX = 4096;

function writeKey(w: Writer, key: string): void {
  let f = keyFields.get(key);
  if (f === undefined) {
    const kw = new Writer(key.length * 3 + 8);
    kw.string(1, key);
    f = Uint8Array.prototype.slice.call(kw.finish()) as Uint8Array;
    if (keyFields.size < KEY_FIELDS_MAX) keyFields.set(key, f);
  }
  w.raw(f);
}

/** Repeated KeyValue field `no` from an attribute map. */
export function encodeAttributes(w: Writer, no: number, a: Attributes | undefined): void {
  if (a === undefined) return;
  const withExact = hasExactValues(a);
  for (const key in a) {
    w.fork(no);
    writeKey(w, key);
    const ex = withExact ? exactValue(a, key) : undefined;
    if (ex !== undefined) {
      if (ex !== NO_VALUE) encodeAnyJson(w, 2, ex);
    } else encodePlain(w, 2, a[key]);
    w.join();
  }
}

/**
 * SQL handling shared by the database parsers (PostgreSQL, MySQL): literal redaction for
 * `db.query.text`, the operation (`db.operation.name`), the main table (`db.collection.name`) and a
 * low-cardinality summary (`db.query.summary`, e.g. `SELECT users`), from a small tokenizer that knows
 * comments, quoted strings (standard, E'', dollar-quoted), quoted identifiers ("", ``), numbers and
 * parameters ($1, ?, :name). Never throws; bounded work (the text is cut at `MAX_SQL` characters).
 */

/** Characters of SQL text looked at; longer texts are cut (and `db.query.text` ends with "..."). */
export const MAX_SQL = 8192;

export interface SqlFacts {
  /** Upper-case first keyword of the (first) statement: SELECT, INSERT, BEGIN... ('' when none). */
  operation: string;
  /** The main table as written (schema-qualified if so, quotes removed), '' when none. */
  collection: string;
  /** `{operation} {collection}` or `{operation}`. */
  summary: string;
  /** The text with string and number literals replaced by `?`. */
  redacted: string;
  /** The text as sent (cut at `MAX_SQL` characters, then "..."): for `db_query_text: full` only. */
  full: string;
}

/** Dialect differences the tokenizer must know. */
export interface SqlDialect {
  /**
   * `"..."` is a string literal (MySQL's default, without ANSI_QUOTES), not a quoted identifier
   * (standard SQL, PostgreSQL): it is redacted.
   */
  readonly doubleQuotedStrings: boolean;
}

export const POSTGRESQL_DIALECT: SqlDialect = { doubleQuotedStrings: false };
export const MYSQL_DIALECT: SqlDialect = { doubleQuotedStrings: true };

/**
 * How `db.query.text` is written, from a database parser's options: `db_query_text` (or
 * `dbQueryText`) `full` exports the text as sent; anything else (default `redacted`) replaces literals.
 */
export function fullQueryText(options: Readonly<Record<string, unknown>>): boolean {
  return (options.db_query_text ?? options.dbQueryText) === 'full';
}

/** The `db.query.text` of a statement under that choice. */
export function queryText(f: SqlFacts, full: boolean): string {
  return full ? f.full : f.redacted;
}

const isWordStart = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c >= 0x80;
const isWord = (c: number) => isWordStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x24;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** Words (upper-cased keywords or raw identifiers) of the statement, in order, for the analysis. */
interface Tok {
  /** 'w' word, 'q' quoted identifier, 'p' punctuation, 'l' literal, 'x' parameter. */
  t: string;
  v: string;
}

/** Splits `sql` into tokens and builds the redacted text at the same time. */
function scan(sql: string, dialect: SqlDialect): { toks: Tok[]; redacted: string } {
  const s = sql.length > MAX_SQL ? sql.slice(0, MAX_SQL) : sql;
  const toks: Tok[] = [];
  let out = '';
  let i = 0;
  const n = s.length;
  let last = 0; // start of the not-yet-copied text
  const literal = (start: number, end: number) => {
    out += `${s.slice(last, start)}?`;
    last = end;
    toks.push({ t: 'l', v: '?' });
  };
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x2d && s.charCodeAt(i + 1) === 0x2d) {
      // -- comment to end of line: dropped from the text (comments may hold anything)
      const e = s.indexOf('\n', i);
      out += s.slice(last, i);
      i = e < 0 ? n : e;
      last = i;
      continue;
    }
    if (c === 0x2f && s.charCodeAt(i + 1) === 0x2a) {
      const e = s.indexOf('*/', i + 2);
      out += s.slice(last, i);
      i = e < 0 ? n : e + 2;
      last = i;
      continue;
    }
    if (c === 0x27 || (c === 0x22 && dialect.doubleQuotedStrings) || ((c === 0x45 || c === 0x65 || c === 0x4e || c === 0x6e || c === 0x58 || c === 0x78 || c === 0x42 || c === 0x62) && s.charCodeAt(i + 1) === 0x27)) {
      // 'string' (E'', N'', X'', B'' prefixes), '' and \' escapes
      const start = i;
      const quote = c === 0x22 ? 0x22 : 0x27;
      i += c === 0x27 || c === 0x22 ? 1 : 2;
      while (i < n) {
        const d = s.charCodeAt(i);
        if (d === 0x5c) i += 2;
        else if (d === quote) {
          if (s.charCodeAt(i + 1) === quote) i += 2;
          else {
            i++;
            break;
          }
        } else i++;
      }
      literal(start, Math.min(i, n));
      continue;
    }
    if (c === 0x24 && !isWord(s.charCodeAt(i - 1) || 0x20)) {
      // $1 parameter, or $tag$ ... $tag$ dollar-quoted string
      if (isDigit(s.charCodeAt(i + 1))) {
        let e = i + 1;
        while (e < n && isDigit(s.charCodeAt(e))) e++;
        toks.push({ t: 'x', v: s.slice(i, e) });
        i = e;
        continue;
      }
      const close = s.indexOf('$', i + 1);
      if (close > 0 && /^[A-Za-z_]*$/.test(s.slice(i + 1, close))) {
        const tag = s.slice(i, close + 1);
        const e = s.indexOf(tag, close + 1);
        const end = e < 0 ? n : e + tag.length;
        literal(i, end);
        i = end;
        continue;
      }
    }
    if (c === 0x22 || c === 0x60) {
      // "identifier" or `identifier`; unclosed: redacted like a literal (it may swallow one)
      const e = s.indexOf(String.fromCharCode(c), i + 1);
      if (e < 0) {
        literal(i, n);
        i = n;
        continue;
      }
      toks.push({ t: 'q', v: s.slice(i + 1, e) });
      i = e + 1;
      continue;
    }
    if (isDigit(c) || (c === 0x2e && isDigit(s.charCodeAt(i + 1)))) {
      const start = i;
      while (i < n && (isWord(s.charCodeAt(i)) || s.charCodeAt(i) === 0x2e)) i++;
      literal(start, i);
      continue;
    }
    if (isWordStart(c)) {
      const start = i;
      while (i < n && isWord(s.charCodeAt(i))) i++;
      toks.push({ t: 'w', v: s.slice(start, i) });
      continue;
    }
    if (c === 0x3f) toks.push({ t: 'x', v: '?' });
    else if (c > 0x20) toks.push({ t: 'p', v: s[i] });
    i++;
  }
  out += s.slice(last);
  if (sql.length > MAX_SQL) out += '...';
  return { toks, redacted: out };
}

/** A table name at toks[k]: word or quoted identifier, with `.`-qualified parts joined. */
function nameAt(toks: Tok[], k: number): string {
  const part = (x: Tok | undefined) => (x !== undefined && (x.t === 'w' || x.t === 'q') ? x.v : null);
  let name = part(toks[k]);
  if (name === null) return '';
  while (toks[k + 1]?.v === '.' && part(toks[k + 2]) !== null) {
    name += `.${part(toks[k + 2])}`;
    k += 2;
  }
  return name;
}

const up = (t: Tok | undefined) => (t !== undefined && t.t === 'w' ? t.v.toUpperCase() : '');

/** Index of the first word `w` at parenthesis depth 0 from k, or -1. */
function findTop(toks: Tok[], k: number, w: string): number {
  let depth = 0;
  for (let i = k; i < toks.length; i++) {
    const v = toks[i].v;
    if (toks[i].t === 'p') {
      if (v === '(') depth++;
      else if (v === ')') depth--;
      else if (v === ';' && depth === 0) return -1;
    } else if (depth === 0 && up(toks[i]) === w) return i;
  }
  return -1;
}

/** First keywords that name an operation; any other first word gives no operation (no cardinality from garbage). */
const OPERATIONS = new Set(
  (
    'SELECT INSERT UPDATE DELETE MERGE REPLACE UPSERT CREATE DROP ALTER TRUNCATE RENAME BEGIN START COMMIT ROLLBACK ' +
    'SAVEPOINT RELEASE END ABORT SET SHOW USE EXPLAIN ANALYZE VACUUM COPY CALL DO GRANT REVOKE LOCK UNLOCK PREPARE ' +
    'EXECUTE DEALLOCATE DECLARE FETCH CLOSE MOVE LISTEN NOTIFY UNLISTEN DISCARD RESET COMMENT REFRESH REINDEX CLUSTER ' +
    'CHECKPOINT LOAD DESCRIBE DESC WITH VALUES TABLE KILL FLUSH OPTIMIZE REPAIR HANDLER XA'
  ).split(' '),
);

/** Objects of CREATE / DROP / ALTER named in the operation (`CREATE INDEX`); only TABLE gives a collection. */
const DDL_OBJECTS = new Set(['DATABASE', 'SCHEMA', 'INDEX', 'VIEW', 'SEQUENCE', 'FUNCTION', 'PROCEDURE', 'TRIGGER', 'USER', 'ROLE', 'EXTENSION', 'TYPE', 'EVENT']);

/** Operation, table, summary and redacted text of `sql` (PostgreSQL's tokens unless told otherwise). */
export function analyzeSql(sql: string, dialect: SqlDialect = POSTGRESQL_DIALECT): SqlFacts {
  const { toks, redacted } = scan(sql, dialect);
  let k = 0;
  while (toks[k]?.v === '(') k++;
  let op = up(toks[k]);
  let collection = '';
  if (op === 'WITH') {
    // WITH ... AS (...) <statement>: the statement after the CTEs.
    for (let i = k + 1, depth = 0; i < toks.length; i++) {
      const v = toks[i].v;
      if (v === '(') depth++;
      else if (v === ')') depth--;
      else if (depth === 0 && ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE'].includes(up(toks[i]))) {
        op = up(toks[i]);
        k = i;
        break;
      }
    }
  }
  switch (op) {
    case 'SELECT': {
      const f = findTop(toks, k + 1, 'FROM');
      if (f >= 0) collection = nameAt(toks, f + 1);
      break;
    }
    case 'INSERT':
    case 'REPLACE': {
      let j = k + 1;
      while (['IGNORE', 'LOW_PRIORITY', 'DELAYED', 'HIGH_PRIORITY', 'INTO'].includes(up(toks[j]))) j++;
      collection = nameAt(toks, j);
      break;
    }
    case 'UPDATE': {
      let j = k + 1;
      while (['ONLY', 'LOW_PRIORITY', 'IGNORE'].includes(up(toks[j]))) j++;
      collection = nameAt(toks, j);
      break;
    }
    case 'DELETE': {
      const f = findTop(toks, k + 1, 'FROM');
      let j = f >= 0 ? f + 1 : k + 1;
      if (up(toks[j]) === 'ONLY') j++;
      collection = nameAt(toks, j);
      break;
    }
    case 'TRUNCATE': {
      let j = k + 1;
      if (up(toks[j]) === 'TABLE') j++;
      collection = nameAt(toks, j);
      break;
    }
    case 'COPY':
      collection = nameAt(toks, k + 1);
      break;
    case 'CREATE':
    case 'DROP':
    case 'ALTER': {
      let j = k + 1;
      while (['TEMP', 'TEMPORARY', 'UNLOGGED', 'OR', 'REPLACE', 'GLOBAL', 'LOCAL', 'UNIQUE', 'MATERIALIZED'].includes(up(toks[j]))) j++;
      const object = up(toks[j]);
      if (object === 'TABLE') {
        j++;
        while (['IF', 'NOT', 'EXISTS'].includes(up(toks[j]))) j++;
        collection = nameAt(toks, j);
        op = `${op} TABLE`;
      } else if (DDL_OBJECTS.has(object)) op = `${op} ${object}`; // CREATE DATABASE, DROP INDEX... (low cardinality: no name)
      break;
    }
    case 'LOAD': {
      // MySQL: LOAD DATA [LOW_PRIORITY | CONCURRENT] [LOCAL] INFILE 'f' [REPLACE | IGNORE] INTO TABLE t; LOAD XML ...
      const what = up(toks[k + 1]);
      if (what === 'DATA' || what === 'XML') {
        op = `LOAD ${what}`;
        const into = findTop(toks, k + 2, 'INTO');
        if (into >= 0 && up(toks[into + 1]) === 'TABLE') collection = nameAt(toks, into + 2);
      }
      break;
    }
    default:
      break;
  }
  if (!OPERATIONS.has(op.split(' ')[0])) {
    op = '';
    collection = '';
  }
  if (collection.length > 128) collection = collection.slice(0, 128);
  const full = sql.length > MAX_SQL ? `${sql.slice(0, MAX_SQL)}...` : sql;
  return { operation: op, collection, summary: collection !== '' ? `${op} ${collection}` : op, redacted, full };
}

/**
 * The per-flow PostgreSQL state (frontend/backend protocol 3.0). Client messages are grouped into
 * units that the server ends with one ReadyForQuery each: a simple Query, or the extended-protocol
 * messages up to a Sync; the startup (StartupMessage up to the first ReadyForQuery) is a unit too.
 * Each unit is one request, its server messages up to ReadyForQuery one response, paired in order.
 */
import type { Attributes } from '../../core/trace/span.js';
import type { L7Message, ParserContext, ParserSession } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE, SESSION_FIFO } from '../../core/l7/types.js';
import { latin1, u32be as u32 } from '../../core/l7/bytes.js';
import type { SqlFacts } from '../sql/sql.js';
import { analyzeSql, fullQueryText, queryText } from '../sql/sql.js';

/** StartupMessage protocol 3.0, and the special request codes (protocol section 55.7). */
export const PROTOCOL_3 = 196608;
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;

/** Messages longer than this are skipped (counted), not held: COPY data and DataRows stream through. */
const MAX_HELD = 1 << 20;
/** Prepared statements remembered per connection (name -> SQL facts). */
const MAX_STATEMENTS = 1024;

/** What `describeSpan` needs. */
export interface PgInfo {
  /** `db.operation.name`, or 'CONNECT' / 'CANCEL' for the startup and cancel requests. */
  operation: string;
  /** `db.query.summary` (`SELECT users`), '' when none. */
  summary: string;
  /** SQLSTATE of an ErrorResponse in the response, '' when none. */
  sqlState: string;
  /** Its message (field M). */
  errorMessage: string;
}

/** The facts of a statement's SQL; null for an empty statement (nothing to describe). */
function facts(sql: string): SqlFacts | null {
  return sql !== '' ? analyzeSql(sql) : null;
}

function info(operation: string, summary = ''): PgInfo {
  return { operation, summary, sqlState: '', errorMessage: '' };
}

/** A NUL-terminated string at b[p..end): [text, position after the NUL] or null. */
function cstr(b: Uint8Array, p: number, end: number): [string, number] | null {
  for (let i = p; i < end; i++) if (b[i] === 0) return [latin1(b, p, i), i + 1];
  return null;
}

export class PgSession implements ParserSession {
  /** The connection's start-up phase has not ended (untyped messages first). */
  private startup = true;
  private database = '';
  private user = '';
  /**
   * Prepared statement name -> the facts of its SQL (analysed once, at Parse: re-executions reuse
   * them); portal name -> its statement's facts.
   */
  private readonly statements = new Map<string, SqlFacts>();
  private readonly portals = new Map<string, SqlFacts>();
  /** The client unit being assembled: its start time and the SQL it runs/prepares (null: none known). */
  private unitStart = -1;
  private unitSql: SqlFacts | null = null;
  private unitExecutes = false;
  private unitWire = 0;
  /** The server response being assembled. */
  private resp: { start: number; wire: number; rows: number; affected: number; tag: string; sqlState: string; message: string } | null = null;
  /** Bytes of a long message still to skip in each direction. */
  private readonly skip = [0, 0];
  /** After lost bytes: waiting for data that starts at a message boundary. */
  private readonly resync = [false, false];
  /** Bytes the server answered to SSLRequest / GSSENCRequest are one byte, not a typed message. */
  private awaitingSslAnswer = false;
  /** The CONNECT unit waits for its answer: a fatal error during the startup ends it (no ReadyForQuery follows). */
  private connectPending = false;

  /** `db_query_text: full`: the SQL as sent, literals included. */
  private readonly fullText: boolean;

  constructor(private readonly ctx: ParserContext) {
    this.fullText = fullQueryText(ctx.options);
  }

  parse(toServer: boolean, buf: Uint8Array, offset: number, length: number): number {
    const d = toServer ? 0 : 1;
    const end = offset + length;
    let p = offset;
    while (p < end) {
      if (this.skip[d] > 0) {
        const n = Math.min(this.skip[d], end - p);
        this.skip[d] -= n;
        p += n;
        continue;
      }
      const ts = p === offset ? this.ctx.firstByteTs : this.ctx.lastByteTs;
      if (this.resync[d]) {
        if (!PgSession.chainAt(buf, p, end)) return length; // not at a boundary: skipped
        this.resync[d] = false;
      }
      if (!toServer && this.awaitingSslAnswer) {
        this.awaitingSslAnswer = false;
        if (buf[p] === 0x53 || buf[p] === 0x47) {
          // 'S' / 'G': TLS or GSS encryption follows; nothing more can be read.
          this.ctx.stop('tls');
          return p + 1 - offset;
        }
        p++; // 'N': refused, the client goes on in clear text
        continue;
      }
      if (toServer && this.startup && buf[p] !== 0) {
        // A typed message first: the capture started after the start-up phase.
        this.startup = false;
      }
      if (toServer && this.startup) {
        // Untyped: Int32 length, then Int32 code/protocol.
        if (end - p < 8) return p - offset;
        const len = u32(buf, p);
        if (len < 8 || len > 10000) return -1;
        if (end - p < len) return p - offset;
        this.startupMessage(buf, p, p + len, ts);
        p += len;
        continue;
      }
      if (end - p < 5) return p - offset;
      const type = buf[p];
      const len = u32(buf, p + 1);
      if (len < 4 || len > 0x40000000) return -1;
      const total = 1 + len;
      if (total > MAX_HELD) {
        // A huge DataRow / CopyData: counted, never held.
        this.ctx.anomaly('pgsql_large_message');
        if (toServer) this.unitWire += total;
        else if (this.resp !== null) this.resp.wire += total;
        if (!toServer && type === 0x44 && this.resp !== null) this.resp.rows++;
        const avail = end - p;
        if (avail >= total) p += total;
        else {
          this.skip[d] = total - avail;
          p = end;
        }
        continue;
      }
      if (end - p < total) return p - offset;
      if (toServer) this.frontend(type, buf, p + 5, p + total, total, ts);
      else this.backend(type, buf, p + 5, p + total, total, ts);
      p += total;
    }
    return length;
  }

  /**
   * Bytes were lost: message boundaries are unknown until the next data that parses as a chain of
   * typed messages from its first byte (TCP segments usually start at a message). A client unit in
   * progress is dropped; a server response in progress continues (its size is then a lower bound).
   */
  onGap(toServer: boolean, _length: number): void {
    this.ctx.anomaly('pgsql_gap');
    const d = toServer ? 0 : 1;
    this.skip[d] = 0;
    this.resync[d] = true;
    if (toServer) {
      this.unitStart = -1;
      this.startup = false;
    }
  }

  /** The server side ended inside a response (a capture cut after an ErrorResponse...): it still answers. */
  onEnd(toServer: boolean): void {
    if (!toServer && this.resp !== null) this.endResponse(this.ctx.lastByteTs);
  }

  /** Do b[p..end) start with whole typed messages (the last one may be cut)? */
  private static chainAt(b: Uint8Array, p: number, end: number): boolean {
    let n = 0;
    while (p + 5 <= end) {
      const t = b[p];
      const len = u32(b, p + 1);
      if (t < 0x31 || t > 0x7a || len < 4 || len > 1 << 24) return false;
      p += 1 + len;
      n++;
    }
    return n > 0 && (p === end || p > end || end - p < 5);
  }

  // ---- client ----------------------------------------------------------------------------------

  private startupMessage(b: Uint8Array, p: number, end: number, ts: number): void {
    const code = u32(b, p + 4);
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      this.awaitingSslAnswer = true;
      return;
    }
    if (code === CANCEL_REQUEST) {
      const m = this.request(info('CANCEL'), { 'db.system.name': 'postgresql', 'db.operation.name': 'CANCEL' }, ts, end - p);
      m.expectsResponse = false;
      this.ctx.emit(m);
      return;
    }
    if (code !== PROTOCOL_3) {
      this.ctx.anomaly('pgsql_unknown_protocol');
      return;
    }
    // Parameters: name\0value\0 ... \0 (user, database; never a password: it comes later, in 'p').
    let q = p + 8;
    while (q < end && b[q] !== 0) {
      const k = cstr(b, q, end);
      if (k === null) break;
      const v = cstr(b, k[1], end);
      if (v === null) break;
      if (k[0] === 'user') this.user = v[0];
      else if (k[0] === 'database') this.database = v[0];
      q = v[1];
    }
    if (this.database === '') this.database = this.user; // the server's default
    this.startup = false;
    const attrs: Attributes = { 'db.system.name': 'postgresql', 'db.operation.name': 'CONNECT' };
    if (this.database !== '') attrs['db.namespace'] = this.database;
    this.connectPending = true;
    this.ctx.emit(this.request(info('CONNECT'), attrs, ts, end - p));
  }

  private frontend(type: number, b: Uint8Array, s: number, e: number, total: number, ts: number): void {
    // 'p' (password, SASL) belongs to the start-up, answered by the CONNECT unit's response; never read.
    if (type === 0x70) return;
    if (this.unitStart < 0) {
      this.unitStart = ts;
      this.unitWire = 0;
      this.unitSql = null;
      this.unitExecutes = false;
    }
    this.unitWire += total;
    switch (type) {
      case 0x51: {
        // 'Q' Query: a unit of its own.
        const sql = cstr(b, s, e);
        this.unitSql = sql !== null ? facts(sql[0]) : null;
        this.unitExecutes = true;
        this.endUnit();
        return;
      }
      case 0x50: {
        // 'P' Parse: statement name, SQL.
        const name = cstr(b, s, e);
        if (name === null) return;
        const sql = cstr(b, name[1], e);
        if (sql === null) return;
        const f = facts(sql[0]);
        if (f === null) this.statements.delete(name[0]);
        else if (this.statements.size < MAX_STATEMENTS || this.statements.has(name[0])) this.statements.set(name[0], f);
        if (this.unitSql === null) this.unitSql = f;
        return;
      }
      case 0x42: {
        // 'B' Bind: portal name, statement name.
        const portal = cstr(b, s, e);
        if (portal === null) return;
        const stmt = cstr(b, portal[1], e);
        if (stmt === null) return;
        // A statement prepared before the capture started is unknown: its portal must not keep an
        // older statement's SQL (never guess).
        const sql = this.statements.get(stmt[0]);
        if (sql === undefined) this.portals.delete(portal[0]);
        else if (this.portals.size < MAX_STATEMENTS || this.portals.has(portal[0])) this.portals.set(portal[0], sql);
        return;
      }
      case 0x45: {
        // 'E' Execute: portal name.
        const portal = cstr(b, s, e);
        const sql = portal !== null ? this.portals.get(portal[0]) : undefined;
        if (!this.unitExecutes && sql !== undefined) this.unitSql = sql;
        this.unitExecutes = true;
        return;
      }
      case 0x43: {
        // 'C' Close: 'S' statement or 'P' portal, name.
        const name = cstr(b, s + 1, e);
        if (name !== null) (b[s] === 0x53 ? this.statements : this.portals).delete(name[0]);
        return;
      }
      case 0x53: // 'S' Sync: ends the unit
        this.endUnit();
        return;
      case 0x58: // 'X' Terminate
        this.unitStart = -1;
        return;
      default:
        // 'D' Describe, 'H' Flush, 'd' CopyData, 'c' CopyDone, 'f' CopyFail, 'p' password / SASL
        // (never read), 'F' FunctionCall: part of the current unit.
        return;
    }
  }

  private endUnit(): void {
    const f = this.unitSql;
    let op = '';
    let summary = '';
    const attrs: Attributes = { 'db.system.name': 'postgresql' };
    if (f !== null) {
      op = this.unitExecutes ? f.operation : 'PREPARE';
      summary = this.unitExecutes ? f.summary : `PREPARE ${f.summary}`.trim();
      if (op !== '') attrs['db.operation.name'] = op;
      if (f.collection !== '') attrs['db.collection.name'] = f.collection;
      attrs['db.query.text'] = queryText(f, this.fullText);
      if (summary !== '') attrs['db.query.summary'] = summary;
    } else if (!this.unitExecutes) {
      op = 'SYNC';
      attrs['db.operation.name'] = op;
    }
    // (An Execute of a statement prepared before the capture: no operation or text is known.)
    if (this.database !== '') attrs['db.namespace'] = this.database;
    this.ctx.emit(this.request(info(op, summary), attrs, this.unitStart, this.unitWire));
    this.unitStart = -1;
  }

  private request(inf: PgInfo, attrs: Attributes, ts: number, size: number): L7Message {
    return { type: MSG_REQUEST, sessionId: SESSION_FIFO, startTs: ts, endTs: this.ctx.lastByteTs, size, attrs, expectsResponse: true, trace: null, afterGap: false, info: inf };
  }

  // ---- server ----------------------------------------------------------------------------------

  private backend(type: number, b: Uint8Array, s: number, e: number, total: number, ts: number): void {
    if (this.resp === null) this.resp = { start: ts, wire: 0, rows: 0, affected: -1, tag: '', sqlState: '', message: '' };
    const r = this.resp;
    r.wire += total;
    switch (type) {
      case 0x44: // 'D' DataRow
        r.rows++;
        return;
      case 0x43: {
        // 'C' CommandComplete: tag "INSERT 0 5", "UPDATE 3", "SELECT 2", "COPY 10"...
        const tag = cstr(b, s, e);
        if (tag === null) return;
        r.tag = tag[0];
        const m = /^(INSERT \d+|UPDATE|DELETE|MERGE|COPY|MOVE|FETCH) (\d+)$/.exec(tag[0]);
        if (m !== null) r.affected = (r.affected < 0 ? 0 : r.affected) + Number(m[2]);
        return;
      }
      case 0x45: {
        // 'E' ErrorResponse: fields (type byte, cstring)*, 0.
        let q = s;
        while (q < e && b[q] !== 0) {
          const f = b[q];
          const v = cstr(b, q + 1, e);
          if (v === null) break;
          if (f === 0x43 && r.sqlState === '') r.sqlState = v[0];
          else if (f === 0x4d && r.message === '') r.message = v[0].length > 512 ? v[0].slice(0, 512) : v[0];
          q = v[1];
        }
        // During the startup there is no ReadyForQuery after a fatal error: the error ends the unit.
        if (this.connectPending) this.endResponse(ts);
        return;
      }
      case 0x5a: // 'Z' ReadyForQuery
        this.endResponse(ts);
        return;
      default:
        // 'R' auth, 'S' ParameterStatus, 'K' BackendKeyData, 'T' RowDescription, 'N' Notice, '1' '2' '3',
        // 'n', 's', 't', 'I', 'G' 'H' 'W' copy responses, 'd' 'c' copy data, 'A' notification, 'v'.
        return;
    }
  }

  private endResponse(ts: number): void {
    const r = this.resp!;
    this.resp = null;
    this.connectPending = false;
    const inf = info('');
    const attrs: Attributes = {};
    if (r.sqlState !== '') {
      inf.sqlState = r.sqlState;
      inf.errorMessage = r.message;
      attrs['db.response.status_code'] = r.sqlState;
    }
    if (r.rows > 0 || /^SELECT /.test(r.tag)) attrs['db.response.returned_rows'] = r.rows;
    if (r.affected >= 0) attrs['spanwire.db.affected_rows'] = r.affected;
    this.ctx.emit({ type: MSG_RESPONSE, sessionId: SESSION_FIFO, startTs: r.start, endTs: ts, size: r.wire, attrs, expectsResponse: false, trace: null, afterGap: false, info: inf });
  }
}

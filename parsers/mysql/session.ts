/**
 * The per-flow MySQL state: packets of both directions (plain or compressed framing), the connection
 * phase (greeting, login, authentication exchange) and the command phase. Each client command is one
 * request; the server's packets up to the end of its answer (OK, ERR, EOF, the end of a result set or
 * of a chain of result sets) are its response, paired in order. See README.md in this folder.
 */
import { inflateSync } from 'node:zlib';
import type { Attributes } from '../../core/trace/span.js';
import type { L7Message, ParserContext, ParserSession } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE, SESSION_FIFO } from '../../core/l7/types.js';
import { latin1, u16le, u24le, u32le, utf8 } from '../../core/l7/bytes.js';
import type { SqlFacts } from '../sql/sql.js';
import { MYSQL_DIALECT, analyzeSql, fullQueryText, queryText } from '../sql/sql.js';
import {
  binaryValueLength,
  CLIENT_COMPRESS,
  CLIENT_CONNECT_WITH_DB,
  CLIENT_DEPRECATE_EOF,
  CLIENT_OPTIONAL_RESULTSET_METADATA,
  CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA,
  CLIENT_PROTOCOL_41,
  CLIENT_QUERY_ATTRIBUTES,
  CLIENT_SECURE_CONNECTION,
  CLIENT_SESSION_TRACK,
  CLIENT_SSL,
  CLIENT_ZSTD_COMPRESSION_ALGORITHM,
  CMD_CONNECT,
  CMD_UNKNOWN,
  COM_BINLOG_DUMP,
  COM_BINLOG_DUMP_GTID,
  COM_CHANGE_USER,
  COM_CLONE,
  COM_DEBUG,
  COM_FIELD_LIST,
  COM_INIT_DB,
  COM_QUERY,
  COM_SET_OPTION,
  COM_STATISTICS,
  COM_STMT_BULK_EXECUTE,
  COM_STMT_CLOSE,
  COM_STMT_EXECUTE,
  COM_STMT_FETCH,
  COM_STMT_PREPARE,
  COM_STMT_RESET,
  COMMAND_NAMES,
  commandExpectsResponse,
  cstrEnd,
  lenenc,
  MAX_PAYLOAD,
  SERVER_MORE_RESULTS_EXISTS,
  SERVER_SESSION_STATE_CHANGED,
  SERVER_STATUS_CURSOR_EXISTS,
  SESSION_TRACK_SCHEMA,
} from './protocol.js';

/** Bytes of a client packet looked at (the SQL text is analysed up to MAX_SQL characters anyway). */
const CLIENT_HEAD = 16384;
/** Bytes of a server packet looked at: enough for OK, ERR, EOF, greetings; rows are only counted. */
const SERVER_HEAD = 2048;
/** Compressed packets are inflated whole; longer ones are skipped (counted). */
const MAX_COMPRESSED = 240 << 10;
/** Prepared statements remembered per connection (id -> SQL facts), and commands awaiting answers. */
const MAX_STATEMENTS = 1024;
const MAX_PENDING = 1024;

/** What `describeSpan` needs. */
export interface MysqlInfo {
  /** `db.operation.name`: the SQL keyword, or the command name (COM_PING, CONNECT...). */
  operation: string;
  /** `db.query.summary` ('' when none). */
  summary: string;
  /** `db.collection.name` ('' when none). */
  collection: string;
  /** ERR packet: the error number (-1: none), SQLSTATE and message. */
  errorCode: number;
  sqlState: string;
  errorMessage: string;
}

/** Response phases. */
const R_FIRST = 0; // the first packet of an answer (or of the next result set)
const R_COLS = 1; // column definitions
const R_COLS_EOF = 2; // the EOF after them (not sent with CLIENT_DEPRECATE_EOF)
const R_ROWS = 3; // rows up to the terminator
const R_AUTH = 4; // authentication exchange up to OK / ERR
const R_INFILE = 5; // LOCAL INFILE: the client sends the file, then the server answers
const R_FIELDS = 6; // COM_FIELD_LIST: column definitions up to EOF
const R_PREPARE = 7; // COM_STMT_PREPARE_OK's parameter and column definitions

interface Pending {
  cmd: number;
  /** COM_STMT_PREPARE: the SQL, remembered under the id the server gives it. */
  facts: SqlFacts | null;
  /** COM_INIT_DB / COM_CHANGE_USER / USE: the database that becomes current on OK ('' none). */
  database: string;
  /** The request, still growing while the client sends more packets (LOCAL INFILE data). */
  msg: L7Message | null;
}

interface Resp {
  cmd: number;
  phase: number;
  start: number;
  last: number;
  wire: number;
  rows: number;
  affected: number;
  /** Column definitions left in R_COLS; in R_PREPARE the parameter definitions then `left2` columns. */
  left: number;
  left2: number;
  /** R_PREPARE: an EOF may follow the current block (classic EOF mode or not yet known). */
  prepEof: boolean;
  errorCode: number;
  sqlState: string;
  message: string;
  statementId: number;
  database: string;
  facts: SqlFacts | null;
}

export class MysqlSession implements ParserSession {
  /** 0 waiting for the greeting, 1 greeting seen (login next), 2 command phase. */
  private phase = 0;
  /** Capabilities of the greeting and of the client, and whether they are known (login captured). */
  private serverCaps = 0;
  private caps = 0;
  private capsKnown = false;
  /** CLIENT_DEPRECATE_EOF: true, false, or null while unknown (learned from the first result set). */
  private deprecateEof: boolean | null = null;
  private serverVersion = '';
  private database = '';
  /** Compressed framing: true/false, null while unknown (capture started after the login). */
  private compressed: boolean | null = null;
  private readonly statements = new Map<number, SqlFacts>();
  private readonly pending: Pending[] = [];
  private resp: Resp | null = null;
  /** The last request emitted (LOCAL INFILE data and auth packets add to its size). */
  private lastRequest: L7Message | null = null;
  /** Per direction (0 client, 1 server): payload bytes still to skip; the next packet continues a 16 MB one. */
  private readonly skip = [0, 0];
  private readonly cont = [false, false];
  /** After lost bytes: waiting for data that starts at a packet boundary. */
  private readonly resync = [false, false];
  /** The next request follows lost client bytes. */
  private clientGap = false;
  /** Compressed framing: inflated bytes not yet parsed, and compressed bytes still to skip. */
  private readonly inner: (Uint8Array | null)[] = [null, null];
  private readonly cskip = [0, 0];
  private readonly cresync = [false, false];
  private readonly fullText: boolean;

  constructor(private readonly ctx: ParserContext) {
    this.fullText = fullQueryText(ctx.options);
  }

  parse(toServer: boolean, buf: Uint8Array, offset: number, length: number): number {
    const d = toServer ? 0 : 1;
    if (this.compressed === null) {
      this.compressed = MysqlSession.looksCompressed(buf, offset, offset + length);
      if (this.compressed === null) return 0; // fewer than 7 bytes: wait
    }
    if (this.compressed) return this.parseCompressed(d, buf, offset, length);
    return this.packets(d, buf, offset, offset + length, this.ctx.firstByteTs) - offset;
  }

  /** Bytes were lost: packet boundaries are unknown until data that starts at one. */
  onGap(toServer: boolean, _length: number): void {
    this.ctx.anomaly('mysql_gap');
    const d = toServer ? 0 : 1;
    this.skip[d] = 0;
    this.cont[d] = false;
    this.resync[d] = true;
    this.inner[d] = null;
    this.cskip[d] = 0;
    this.cresync[d] = true;
    if (toServer) {
      this.clientGap = true;
      if (this.phase < 2) this.phase = 2;
    }
  }

  /** The server side ended inside an answer (a capture cut short): it still answers. */
  onEnd(toServer: boolean): void {
    if (!toServer && this.resp !== null) this.endResponse(this.resp.last);
  }

  // ---- framing ---------------------------------------------------------------------------------

  /**
   * Mid-connection, is the framing compressed? Compressed packets have a 7-byte header (compressed
   * length, sequence, uncompressed length) and a zlib stream or, uncompressed, a plain packet whose
   * length is 4 less; plain packets a 4-byte header. The one whose lengths end exactly at the end wins.
   */
  static looksCompressed(b: Uint8Array, p: number, end: number): boolean | null {
    const avail = end - p;
    if (avail < 7) return avail >= 4 && u24le(b, p) + 4 === avail ? false : null; // one small plain packet
    const clen = u24le(b, p);
    const ulen = u24le(b, p + 4);
    if (ulen === 0) {
      // Stored uncompressed: plain packets inside, filling it exactly.
      let q = p + 7;
      const stop = p + 7 + clen;
      if (clen < 4) return false;
      while (q + 4 <= end && q < stop) q += 4 + u24le(b, q);
      return q === stop;
    }
    // A zlib stream (CMF 0x78: deflate with a 32K window; FCHECK makes CMF*256+FLG a multiple of 31),
    // inflating to more than it takes, unless the bytes read as exactly one plain packet.
    if (avail < 9 || b[p + 7] !== 0x78 || ((b[p + 7] << 8) | b[p + 8]) % 31 !== 0 || ulen < clen) return false;
    return clen + 4 !== avail;
  }

  private parseCompressed(d: number, buf: Uint8Array, offset: number, length: number): number {
    const end = offset + length;
    let p = offset;
    while (p < end) {
      if (this.cskip[d] > 0) {
        const n = Math.min(this.cskip[d], end - p);
        this.cskip[d] -= n;
        p += n;
        continue;
      }
      if (end - p < 7) break;
      const clen = u24le(buf, p);
      const ulen = u24le(buf, p + 4);
      if (this.cresync[d]) {
        // After a gap: go on at a compressed header that fits the data (not at one: skipped).
        if (!(ulen === 0 || (buf[p + 7] === 0x78 && ulen >= clen))) return length;
        this.cresync[d] = false;
      }
      if (clen > MAX_COMPRESSED) {
        this.ctx.anomaly('mysql_compressed_too_large');
        this.cskip[d] = clen;
        this.inner[d] = null;
        this.resync[d] = true;
        p += 7;
        continue;
      }
      if (end - p < 7 + clen) break;
      const ts = p === offset ? this.ctx.firstByteTs : this.ctx.lastByteTs;
      let data: Uint8Array;
      if (ulen === 0) data = buf.subarray(p + 7, p + 7 + clen);
      else {
        try {
          data = inflateSync(buf.subarray(p + 7, p + 7 + clen), { finishFlush: 2 /* Z_SYNC_FLUSH: keep what a cut stream gives */ });
        } catch {
          this.ctx.anomaly('mysql_inflate_error');
          this.inner[d] = null;
          this.resync[d] = true;
          p += 7 + clen;
          continue;
        }
      }
      p += 7 + clen;
      const held = this.inner[d];
      if (held !== null) {
        const joined = new Uint8Array(held.length + data.length);
        joined.set(held, 0);
        joined.set(data, held.length);
        data = joined;
      }
      const n = this.packets(d, data, 0, data.length, ts);
      if (this.stopped) return length;
      // What is left is the head of a packet (at most a header and CLIENT_HEAD bytes): copied, small.
      this.inner[d] = n < data.length ? data.slice(n) : null;
    }
    return p - offset;
  }

  /**
   * Plain packets in b[p..end): returns the position up to which bytes were consumed (the rest is
   * the start of a packet whose head is not complete), or -1.
   */
  private packets(d: number, b: Uint8Array, p: number, end: number, firstTs: number): number {
    const start = p;
    const toServer = d === 0;
    while (p < end) {
      if (this.skip[d] > 0) {
        const n = Math.min(this.skip[d], end - p);
        this.skip[d] -= n;
        p += n;
        continue;
      }
      if (this.resync[d]) {
        if (!this.boundaryAt(d, b, p, end)) return end; // not at a boundary: skipped
        this.resync[d] = false;
        // An answer in progress ended in the lost bytes when the server is at the start of another.
        if (!toServer && this.resp !== null && b[p + 3] === 1) this.endResponse(this.resp.last);
      }
      if (end - p < 4) return p;
      const len = u24le(b, p);
      const seq = b[p + 3];
      const head = Math.min(len, toServer ? CLIENT_HEAD : SERVER_HEAD);
      const whole = end - p - 4 >= len;
      if (!whole && end - p - 4 < head) return p;
      const ts = p === start ? firstTs : this.ctx.lastByteTs;
      const s = p + 4;
      const e = whole ? s + len : s + head;
      const continuation = this.cont[d];
      this.cont[d] = len === MAX_PAYLOAD;
      if (continuation) this.more(toServer, len + 4, ts);
      else if (toServer) this.client(seq, b, s, e, len, ts);
      else this.server(seq, b, s, e, len, ts);
      if (this.stopped) return whole ? e : end;
      if (whole) p = e;
      else {
        this.skip[d] = len - (end - s);
        p = end;
      }
    }
    return p;
  }

  /** `ctx.stop` was called (TLS, replication): no more bytes are parsed. */
  private stopped = false;

  private stop(reason: string): void {
    this.stopped = true;
    this.ctx.stop(reason);
  }

  /**
   * After a gap: do b[p..end) start with whole packets? Their headers must chain to the end of the
   * data with consecutive sequence numbers; a client chain starts with a command (sequence 0).
   */
  private boundaryAt(d: number, b: Uint8Array, p: number, end: number): boolean {
    let n = 0;
    let seq = -1;
    if (d === 0 && (end - p < 5 || b[p + 3] !== 0 || COMMAND_NAMES[b[p + 4]] === '')) return false;
    while (p + 4 <= end) {
      const s = b[p + 3];
      if (seq >= 0 && s !== ((seq + 1) & 0xff)) return false;
      seq = s;
      p += 4 + u24le(b, p);
      n++;
    }
    return n > 0 && (p === end || p > end);
  }

  /** A continuation of a packet over 16 MB (or bytes of the login exchange): only its size counts. */
  private more(toServer: boolean, wire: number, ts: number): void {
    if (toServer) {
      const m = this.lastRequest;
      if (m !== null) {
        m.size += wire;
        m.endTs = ts;
      }
    } else if (this.resp !== null) {
      this.resp.wire += wire;
      this.resp.last = ts;
    }
  }

  // ---- client ----------------------------------------------------------------------------------

  private client(seq: number, b: Uint8Array, s: number, e: number, len: number, ts: number): void {
    if (this.phase === 1 && seq === 1) {
      this.login(b, s, e, len, ts);
      return;
    }
    if (seq !== 0 || s >= e) {
      // Authentication data, LOCAL INFILE contents, COM_CHANGE_USER auth: never read, only counted.
      this.more(true, len + 4, ts);
      return;
    }
    if (this.phase < 2) this.phase = 2; // the capture started after the login
    this.command(b, s, e, len, ts);
  }

  /** HandshakeResponse41/320 or SSLRequest: the user's login (user and database read; never the auth data). */
  private login(b: Uint8Array, s: number, e: number, len: number, ts: number): void {
    if (e - s < 4) return;
    let caps = u16le(b, s);
    let database = '';
    if (caps & CLIENT_PROTOCOL_41) {
      caps = u32le(b, s);
      if (caps & CLIENT_SSL && len === 32) {
        // SSLRequest: TLS follows, nothing more can be read.
        this.stop('tls');
        return;
      }
      let p = cstrEnd(b, s + 32, e); // after the user name
      if (p > 0) {
        if (caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) {
          const n = lenenc(b, p, e);
          p = n === null ? -1 : n[1] + n[0];
        } else if (caps & CLIENT_SECURE_CONNECTION) p = p < e ? p + 1 + b[p] : -1;
        else p = cstrEnd(b, p, e);
      }
      if (p > 0 && p < e && caps & CLIENT_CONNECT_WITH_DB) {
        const q = cstrEnd(b, p, e);
        if (q > 0) database = utf8(b, p, q - 1);
      }
    } else {
      if (caps & CLIENT_SSL && len === 5) {
        this.stop('tls');
        return;
      }
      let p = cstrEnd(b, s + 5, e);
      if (p > 0 && caps & CLIENT_CONNECT_WITH_DB) {
        p = cstrEnd(b, p, e); // the auth response, NUL-terminated here
        const q = p > 0 ? cstrEnd(b, p, e) : -1;
        if (q > 0) database = utf8(b, p, q - 1);
      }
    }
    this.caps = this.phase === 1 ? caps & (this.serverCaps | CLIENT_SSL) : caps;
    this.capsKnown = true;
    this.deprecateEof = (this.caps & CLIENT_DEPRECATE_EOF) !== 0;
    this.compressed = false; // compression starts after the login's OK
    this.phase = 2;
    if (database !== '') this.database = database;
    const attrs: Attributes = { 'db.system.name': 'mysql', 'db.operation.name': 'CONNECT', 'spanwire.mysql.command': 'CONNECT' };
    if (this.serverVersion !== '') attrs['spanwire.mysql.server_version'] = this.serverVersion;
    if (this.database !== '') attrs['db.namespace'] = this.database;
    const m = this.request(info('CONNECT'), attrs, ts, len + 4);
    this.lastRequest = m;
    this.push({ cmd: CMD_CONNECT, facts: null, database, msg: m });
    this.ctx.emit(m);
  }

  private command(b: Uint8Array, s: number, e: number, len: number, ts: number): void {
    const cmd = b[s];
    const name = COMMAND_NAMES[cmd];
    if (name === '') {
      this.ctx.anomaly('mysql_unknown_command');
      this.more(true, len + 4, ts);
      return;
    }
    const attrs: Attributes = { 'db.system.name': 'mysql', 'spanwire.mysql.command': name };
    let op = name;
    let facts: SqlFacts | null = null;
    let database = '';
    let summary = '';
    switch (cmd) {
      case COM_QUERY: {
        const q = this.queryStart(b, s + 1, e);
        if (q < 0) {
          this.ctx.anomaly('mysql_query_attributes');
          break;
        }
        const sql = utf8(b, q, e);
        facts = sql !== '' ? analyzeSql(sql, MYSQL_DIALECT) : null;
        if (facts !== null && facts.operation === 'USE') {
          database = useTarget(sql);
          if (database !== '') attrs['db.namespace'] = database;
        }
        break;
      }
      case COM_STMT_PREPARE: {
        const sql = utf8(b, s + 1, e);
        const f = sql !== '' ? analyzeSql(sql, MYSQL_DIALECT) : null;
        if (f !== null) {
          if (f.collection !== '') attrs['db.collection.name'] = f.collection;
          attrs['db.query.text'] = queryText(f, this.fullText);
        }
        this.sendCommand(cmd, f, '', attrs, op, '', f !== null ? f.collection : '', ts, len);
        return;
      }
      case COM_STMT_EXECUTE:
      case COM_STMT_FETCH:
      case COM_STMT_RESET:
      case COM_STMT_CLOSE:
      case COM_STMT_BULK_EXECUTE:
      case 0x18: /* COM_STMT_SEND_LONG_DATA */ {
        if (e - s < 5) break;
        const id = u32le(b, s + 1);
        attrs['spanwire.mysql.statement_id'] = id;
        if (cmd === COM_STMT_CLOSE) this.statements.delete(id);
        else if (cmd === COM_STMT_EXECUTE || cmd === COM_STMT_BULK_EXECUTE) facts = this.statements.get(id) ?? null;
        break;
      }
      case COM_INIT_DB:
        database = utf8(b, s + 1, e);
        if (database !== '') attrs['db.namespace'] = database;
        break;
      case COM_FIELD_LIST: {
        const q = cstrEnd(b, s + 1, e);
        const table = utf8(b, s + 1, q > 0 ? q - 1 : e);
        if (table !== '') attrs['db.collection.name'] = table;
        break;
      }
      case COM_CHANGE_USER: {
        // user\0, auth data (1-byte length with CLIENT_SECURE_CONNECTION, else NUL-terminated), database\0
        let p = cstrEnd(b, s + 1, e);
        if (p > 0) p = this.caps & CLIENT_SECURE_CONNECTION || !this.capsKnown ? (p < e ? p + 1 + b[p] : -1) : cstrEnd(b, p, e);
        const q = p > 0 && p < e ? cstrEnd(b, p, e) : -1;
        if (q > 0) database = utf8(b, p, q - 1);
        if (database !== '') attrs['db.namespace'] = database;
        break;
      }
      default:
        break;
    }
    let collection = '';
    if (facts !== null) {
      if (facts.operation !== '') op = facts.operation;
      summary = facts.summary;
      collection = facts.collection;
      if (collection !== '') attrs['db.collection.name'] = collection;
      if (summary !== '') attrs['db.query.summary'] = summary;
      attrs['db.query.text'] = queryText(facts, this.fullText);
    } else if (cmd === COM_FIELD_LIST) collection = (attrs['db.collection.name'] as string | undefined) ?? '';
    this.sendCommand(cmd, null, database, attrs, op, summary, collection, ts, len);
    if (cmd === COM_BINLOG_DUMP || cmd === COM_BINLOG_DUMP_GTID || cmd === COM_CLONE) this.stop('mysql_replication');
  }

  private sendCommand(cmd: number, prepared: SqlFacts | null, database: string, attrs: Attributes, op: string, summary: string, collection: string, ts: number, len: number): void {
    attrs['db.operation.name'] = op;
    if (attrs['db.namespace'] === undefined && this.database !== '') attrs['db.namespace'] = this.database;
    const inf = info(op, summary, collection);
    const m = this.request(inf, attrs, ts, len + 4);
    if (this.clientGap) {
      m.afterGap = true;
      this.clientGap = false;
    }
    this.lastRequest = m;
    if (commandExpectsResponse(cmd)) this.push({ cmd, facts: prepared, database, msg: m });
    else m.expectsResponse = false;
    this.ctx.emit(m);
  }

  /**
   * Where the SQL text of a COM_QUERY payload (after the command byte) starts: with
   * CLIENT_QUERY_ATTRIBUTES a parameter count, a parameter set count and the attributes come first.
   * -1 when the attributes cannot be read.
   */
  private queryStart(b: Uint8Array, p: number, e: number): number {
    const withAttributes = this.capsKnown ? (this.caps & CLIENT_QUERY_ATTRIBUTES) !== 0 : e - p >= 2 && b[p] < 0x20 && b[p + 1] === 1;
    if (!withAttributes) return p;
    const count = lenenc(b, p, e);
    if (count === null) return -1;
    const sets = lenenc(b, count[1], e);
    if (sets === null) return -1;
    p = sets[1];
    const n = count[0];
    if (n === 0) return p;
    const bitmap = p;
    p += (n + 7) >> 3;
    if (p >= e || b[p] !== 1) return -1; // new_params_bind_flag: types and names follow
    p++;
    const types = p;
    for (let i = 0; i < n; i++) {
      const name = lenenc(b, p + 2, e);
      if (name === null) return -1;
      p = name[1] + name[0];
    }
    for (let i = 0, t = types; i < n; i++) {
      const type = b[t];
      const name = lenenc(b, t + 2, e)!;
      t = name[1] + name[0];
      if (b[bitmap + (i >> 3)] & (1 << (i & 7))) continue; // NULL: no value
      const l = binaryValueLength(type, b, p, e);
      if (l < 0) return -1;
      p += l;
    }
    return p <= e ? p : -1;
  }

  private push(x: Pending): void {
    if (this.pending.length >= MAX_PENDING) {
      this.ctx.anomaly('mysql_pending_overflow');
      this.pending.shift();
    }
    this.pending.push(x);
  }

  private request(inf: MysqlInfo, attrs: Attributes, ts: number, size: number): L7Message {
    return { type: MSG_REQUEST, sessionId: SESSION_FIFO, startTs: ts, endTs: this.ctx.lastByteTs, size, attrs, expectsResponse: true, trace: null, afterGap: false, info: inf };
  }

  // ---- server ----------------------------------------------------------------------------------

  private server(seq: number, b: Uint8Array, s: number, e: number, len: number, ts: number): void {
    if (this.phase === 0 && seq === 0 && this.resp === null) {
      if (this.greeting(b, s, e, len, ts)) return;
    }
    let r = this.resp;
    if (r === null) {
      const first = s < e ? b[s] : -1;
      if (!this.compressed && seq !== 1 && (this.pending.length === 0 || this.pending[0].cmd !== CMD_CONNECT)) {
        // Not the first packet of an answer: the rest of one whose start was lost, or the trailing
        // EOF of a COM_STMT_PREPARE answer whose EOF mode was not known.
        this.ctx.anomaly(first === 0xfe && len === 5 ? 'mysql_stray_eof' : 'mysql_response_without_start');
        return;
      }
      const p = this.pending.shift();
      r = this.resp = {
        cmd: p !== undefined ? p.cmd : CMD_UNKNOWN,
        phase: p !== undefined && p.cmd === CMD_CONNECT ? R_AUTH : R_FIRST,
        start: ts,
        last: ts,
        wire: 0,
        rows: 0,
        affected: -1,
        left: 0,
        left2: 0,
        prepEof: false,
        errorCode: -1,
        sqlState: '',
        message: '',
        statementId: -1,
        database: p !== undefined ? p.database : '',
        facts: p !== undefined ? p.facts : null,
      };
    } else if (r.phase === R_PREPARE && r.left === 0 && r.left2 === 0 && r.prepEof) {
      // The answer is complete unless this is its trailing EOF (EOF mode not yet known).
      if (b[s] === 0xfe && len === 5) {
        this.deprecateEof = false;
        r.wire += len + 4;
        this.endResponse(ts);
        return;
      }
      if (this.deprecateEof === null) this.deprecateEof = true;
      this.endResponse(r.last);
      this.server(seq, b, s, e, len, ts);
      return;
    }
    r.wire += len + 4;
    r.last = ts;
    if (s >= e) {
      if (r.cmd === COM_STATISTICS) this.endResponse(ts);
      return;
    }
    const f = b[s];
    if (f === 0xff && e - s >= 3 && u16le(b, s + 1) === 0xffff) return; // MariaDB progress report
    switch (r.phase) {
      case R_FIRST:
        this.first(r, f, b, s, e, len, ts);
        return;
      case R_AUTH:
        // AuthSwitchRequest (0xfe), AuthMoreData (0x01: caching_sha2 fast auth, public key...): go on.
        if (f === 0x00) this.ok(r, b, s, e, ts, false);
        else if (f === 0xff) this.err(r, b, s, e, ts);
        return;
      case R_INFILE:
        if (f === 0xff) this.err(r, b, s, e, ts);
        else this.ok(r, b, s, e, ts, false);
        return;
      case R_COLS:
        if (--r.left > 0) return;
        r.phase = this.deprecateEof === true ? R_ROWS : R_COLS_EOF;
        return;
      case R_COLS_EOF:
        if (f === 0xfe && len === 5) {
          this.deprecateEof = false;
          // A cursor was opened (COM_STMT_EXECUTE): rows come with COM_STMT_FETCH.
          if (u16le(b, s + 3) & SERVER_STATUS_CURSOR_EXISTS) this.endResponse(ts);
          else r.phase = R_ROWS;
          return;
        }
        this.deprecateEof = true;
        r.phase = R_ROWS;
        this.rows(r, f, b, s, e, len, ts);
        return;
      case R_ROWS:
        this.rows(r, f, b, s, e, len, ts);
        return;
      case R_FIELDS:
        if (f === 0xff) this.err(r, b, s, e, ts);
        else if (f === 0xfe && len < 9) this.endResponse(ts);
        return;
      case R_PREPARE:
        this.prepareDefinition(r, f, len, ts);
        return;
      default:
        return;
    }
  }

  /** Initial handshake (protocol 10): the server version and capabilities; or an ERR refusing the connection. */
  private greeting(b: Uint8Array, s: number, e: number, len: number, ts: number): boolean {
    if (s >= e) return false;
    if (b[s] === 0xff) {
      // Refused before the login (too many connections, host not allowed): a failed CONNECT.
      const m = this.request(info('CONNECT'), { 'db.system.name': 'mysql', 'db.operation.name': 'CONNECT', 'spanwire.mysql.command': 'CONNECT' }, ts, 0);
      this.ctx.emit(m);
      this.resp = { cmd: CMD_CONNECT, phase: R_AUTH, start: ts, last: ts, wire: len + 4, rows: 0, affected: -1, left: 0, left2: 0, prepEof: false, errorCode: -1, sqlState: '', message: '', statementId: -1, database: '', facts: null };
      this.err(this.resp, b, s, e, ts);
      return true;
    }
    if (b[s] !== 10) return false;
    const v = cstrEnd(b, s + 1, e);
    if (v < 0) return false;
    this.serverVersion = latin1(b, s + 1, Math.min(v - 1, s + 81));
    // MariaDB prefixes its version with "5.5.5-" for old clients; its own clients strip it.
    if (this.serverVersion.startsWith('5.5.5-') && /mariadb/i.test(this.serverVersion)) this.serverVersion = this.serverVersion.slice(6);
    // conn id (4), auth data part 1 (8), filler (1), capabilities low (2), charset, status, capabilities high
    const p = v + 4 + 8 + 1;
    if (p + 2 <= e) this.serverCaps = u16le(b, p);
    if (p + 7 <= e) this.serverCaps = (this.serverCaps | (u16le(b, p + 5) << 16)) >>> 0;
    this.phase = 1;
    return true;
  }

  /** The first packet of an answer (or of the next result set after SERVER_MORE_RESULTS_EXISTS). */
  private first(r: Resp, f: number, b: Uint8Array, s: number, e: number, len: number, ts: number): void {
    const cmd = r.cmd;
    if (f === 0xff) {
      this.err(r, b, s, e, ts);
      return;
    }
    if (cmd === COM_STATISTICS) {
      this.endResponse(ts);
      return;
    }
    if (f === 0x00) {
      if (cmd === COM_STMT_PREPARE && len >= 12) {
        // COM_STMT_PREPARE_OK: statement id, columns, parameters; then their definitions.
        r.statementId = u32le(b, s + 1);
        r.left2 = u16le(b, s + 5);
        r.left = u16le(b, s + 7);
        if (r.facts !== null && (this.statements.size < MAX_STATEMENTS || this.statements.has(r.statementId))) this.statements.set(r.statementId, r.facts);
        r.phase = R_PREPARE;
        this.prepareDefinition(r, -1, 0, ts);
        return;
      }
      this.ok(r, b, s, e, ts, true);
      return;
    }
    if (f === 0xfe) {
      if (cmd === COM_CHANGE_USER) {
        r.phase = R_AUTH; // AuthSwitchRequest
        return;
      }
      // EOF: the answer of COM_SET_OPTION / COM_DEBUG, or of an unknown command.
      this.endResponse(ts);
      return;
    }
    if (f === 0xfb && (cmd === COM_QUERY || cmd === CMD_UNKNOWN)) {
      r.phase = R_INFILE; // LOCAL INFILE request: the client sends the file, the server then answers
      return;
    }
    if (cmd === COM_FIELD_LIST) {
      r.phase = R_FIELDS;
      return;
    }
    if (cmd === COM_CHANGE_USER && f === 0x01) {
      r.phase = R_AUTH;
      return;
    }
    if (cmd === COM_SET_OPTION || cmd === COM_DEBUG || cmd === COM_STMT_RESET) {
      this.endResponse(ts);
      return;
    }
    // A result set: the column count (then a metadata flag with CLIENT_OPTIONAL_RESULTSET_METADATA).
    const n = lenenc(b, s, e);
    if (n === null || n[0] === 0) {
      this.ctx.anomaly('mysql_bad_response');
      this.endResponse(ts);
      return;
    }
    const noMetadata = this.caps & CLIENT_OPTIONAL_RESULTSET_METADATA && n[1] < e && b[n[1]] === 0;
    if (noMetadata) r.phase = this.deprecateEof === true ? R_ROWS : R_COLS_EOF;
    else {
      r.left = n[0];
      r.phase = R_COLS;
    }
  }

  /** A row, or the end of a result set (EOF / OK with header 0xfe) or an ERR in place of rows. */
  private rows(r: Resp, f: number, b: Uint8Array, s: number, e: number, len: number, ts: number): void {
    if (f === 0xfe && len < MAX_PAYLOAD) {
      let status = 0;
      if (len === 5) status = u16le(b, s + 3);
      else {
        const a = lenenc(b, s + 1, e);
        const id = a !== null ? lenenc(b, a[1], e) : null;
        if (id !== null && id[1] + 2 <= e) status = u16le(b, id[1]);
        if (id !== null && this.caps & CLIENT_SESSION_TRACK) this.sessionState(b, id[1], e, status);
      }
      if (status & SERVER_MORE_RESULTS_EXISTS) r.phase = R_FIRST;
      else this.endResponse(ts);
      return;
    }
    if (f === 0xff) {
      this.err(r, b, s, e, ts);
      return;
    }
    r.rows++;
  }

  /**
   * Parameter then column definitions of COM_STMT_PREPARE_OK (`left` of the current block, `left2`
   * of the next), each block followed by an EOF unless CLIENT_DEPRECATE_EOF. `f` < 0: just started.
   */
  private prepareDefinition(r: Resp, f: number, len: number, ts: number): void {
    if (f >= 0) {
      if (r.prepEof) {
        r.prepEof = false;
        if (f === 0xfe && len === 5) {
          this.deprecateEof = false;
          this.prepareAdvance(r, ts);
          return;
        }
        // A definition where an EOF could have been: the next block starts here.
        if (this.deprecateEof === null) this.deprecateEof = true;
        r.left = r.left2;
        r.left2 = 0;
      }
      if (r.left > 0 && --r.left === 0 && this.deprecateEof !== true) {
        r.prepEof = true; // an EOF follows (classic mode) or may follow (not known yet)
        return;
      }
    }
    this.prepareAdvance(r, ts);
  }

  /** The current block is done (or empty): the next block, or the end of the answer. */
  private prepareAdvance(r: Resp, ts: number): void {
    if (r.left > 0) return;
    if (r.left2 > 0) {
      r.left = r.left2;
      r.left2 = 0;
      return;
    }
    this.endResponse(ts);
  }

  /** OK packet: affected rows, status (more results?), session state (schema changes). */
  private ok(r: Resp, b: Uint8Array, s: number, e: number, ts: number, more: boolean): void {
    const a = lenenc(b, s + 1, e);
    const id = a !== null ? lenenc(b, a[1], e) : null;
    let status = 0;
    if (a !== null && r.cmd !== CMD_CONNECT && r.cmd !== COM_CHANGE_USER) r.affected = (r.affected < 0 ? 0 : r.affected) + a[0];
    if (id !== null && id[1] + 2 <= e) {
      status = u16le(b, id[1]);
      if (this.caps & CLIENT_SESSION_TRACK) this.sessionState(b, id[1], e, status);
    }
    if (r.database !== '') this.database = r.database;
    if (r.cmd === CMD_CONNECT) this.loggedIn();
    if (more && status & SERVER_MORE_RESULTS_EXISTS) r.phase = R_FIRST;
    else this.endResponse(ts);
  }

  /** After the login's OK: compression starts (both directions) if both sides asked for it. */
  private loggedIn(): void {
    if (!this.capsKnown) return;
    if (this.caps & CLIENT_COMPRESS) this.compressed = true;
    else if (this.caps & CLIENT_ZSTD_COMPRESSION_ALGORITHM) {
      this.ctx.anomaly('mysql_zstd_compression');
      this.stop('mysql_zstd_compression');
    }
  }

  /**
   * Session state information of an OK packet (CLIENT_SESSION_TRACK), from its status flags on:
   * warnings, info, then changes; a SESSION_TRACK_SCHEMA change gives the new current database.
   */
  private sessionState(b: Uint8Array, p: number, e: number, status: number): void {
    if (!(status & SERVER_SESSION_STATE_CHANGED)) return;
    p += 4; // status, warnings
    const infoLen = lenenc(b, p, e);
    if (infoLen === null) return;
    p = infoLen[1] + infoLen[0];
    const total = lenenc(b, p, e);
    if (total === null) return;
    p = total[1];
    const end = Math.min(e, p + total[0]);
    while (p < end) {
      const type = b[p];
      const l = lenenc(b, p + 1, end);
      if (l === null) return;
      if (type === SESSION_TRACK_SCHEMA) {
        const name = lenenc(b, l[1], end);
        if (name !== null && name[1] + name[0] <= end) this.database = utf8(b, name[1], name[1] + name[0]);
      }
      p = l[1] + l[0];
    }
  }

  /** ERR packet: error number, SQLSTATE (protocol 4.1: '#' and five characters), message. */
  private err(r: Resp, b: Uint8Array, s: number, e: number, ts: number): void {
    if (e - s >= 3) r.errorCode = u16le(b, s + 1);
    let p = s + 3;
    if (p < e && b[p] === 0x23 && p + 6 <= e) {
      r.sqlState = latin1(b, p + 1, p + 6);
      p += 6;
    }
    r.message = utf8(b, p, Math.min(e, p + 512));
    this.endResponse(ts);
  }

  private endResponse(ts: number): void {
    const r = this.resp!;
    this.resp = null;
    const inf = info('');
    const attrs: Attributes = {};
    if (r.errorCode >= 0) {
      inf.errorCode = r.errorCode;
      inf.sqlState = r.sqlState;
      inf.errorMessage = r.message;
      attrs['db.response.status_code'] = String(r.errorCode);
      if (r.sqlState !== '') attrs['spanwire.mysql.sql_state'] = r.sqlState;
    }
    if (r.rows > 0 || r.phase === R_ROWS) attrs['db.response.returned_rows'] = r.rows;
    if (r.affected >= 0) attrs['spanwire.db.affected_rows'] = r.affected;
    if (r.statementId >= 0) attrs['spanwire.mysql.statement_id'] = r.statementId;
    this.ctx.emit({ type: MSG_RESPONSE, sessionId: SESSION_FIFO, startTs: r.start, endTs: ts, size: r.wire, attrs, expectsResponse: false, trace: null, afterGap: false, info: inf });
  }
}

function info(operation: string, summary = '', collection = ''): MysqlInfo {
  return { operation, summary, collection, errorCode: -1, sqlState: '', errorMessage: '' };
}

/** The database of `USE db` / ``USE `db` ``. */
function useTarget(sql: string): string {
  const m = /^\s*(?:\/\*.*?\*\/\s*)*use\s+(?:`([^`]*)`|([^\s;]+))/is.exec(sql);
  return m === null ? '' : (m[1] ?? m[2] ?? '');
}

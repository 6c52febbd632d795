/**
 * The per-flow Redis state: one RESP reader per direction, commands paired in order with replies,
 * with the protocol's exceptions: CLIENT REPLY OFF/SKIP (no reply), (un)subscribe commands answered
 * by one confirmation per channel, pub/sub deliveries (not replies), RESP3 pushes, SELECT.
 */
import type { Attributes } from '../../core/trace/span.js';
import type { L7Message, ParserContext, ParserSession } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE, SESSION_FIFO } from '../../core/l7/types.js';
import { ROLE_FROM_HANDSHAKE } from '../../core/flow/types.js';
import { KEPT_ELEMENTS, RespReader, STEP_ERROR } from './resp.js';
import { querySummary } from './commands.js';

/** What `describeSpan` needs (`L7Message.info`). */
export interface RedisInfo {
  /** Upper-case command name ('' for replies). */
  command: string;
  /** Reply: an error (`-ERR ...`, RESP3 blob error). */
  isError: boolean;
  /** Its first word (`ERR`, `WRONGTYPE`, `NOAUTH`...), '' otherwise. */
  errorPrefix: string;
  /** Error text (first 256 bytes). */
  errorText: string;
  /** A pub/sub message delivered to a subscriber (RESP2 `message` array or RESP3 push), with its channel. */
  delivery: boolean;
  channel: string;
  /** The reply was cut short by the end of the capture or connection (its size is a lower bound). */
  incomplete: boolean;
}

function info(command: string): RedisInfo {
  return { command, isError: false, errorPrefix: '', errorText: '', delivery: false, channel: '', incomplete: false };
}

const SUBSCRIBE_COMMANDS = new Set(['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE']);
const UNSUBSCRIBE_COMMANDS = new Set(['UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE']);
const ACK_KINDS = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe']);

/** A (un)subscribe command waiting for its confirmations. */
interface SubWait {
  /** Confirmations still expected (-1: until the subscription count reaches 0). */
  left: number;
  answered: boolean;
}

export class RedisSession implements ParserSession {
  private readonly readers = [new RespReader(true), new RespReader(false)];
  private readonly startTs = [0, 0];
  private readonly resync = [false, false];
  private readonly lostBefore = [false, false];
  /** `db.namespace`: '0' from the connection start, the SELECTed index after SELECT, unknown ('') otherwise. */
  private db: string;
  private replyOff = false;
  private skipNext = false;
  private subscribed = false;
  private readonly subWaits: SubWait[] = [];

  constructor(private readonly ctx: ParserContext) {
    this.db = ctx.flow.roleSource >= ROLE_FROM_HANDSHAKE ? '0' : '';
  }

  parse(toServer: boolean, buf: Uint8Array, offset: number, length: number): number {
    const i = toServer ? 0 : 1;
    const r = this.readers[i];
    const end = offset + length;
    let p = offset;
    while (p < end) {
      if (this.resync[i]) {
        const q = this.findStart(toServer, buf, p, end);
        if (q < 0) return length; // no value starts here: these bytes are skipped
        p = q;
        this.resync[i] = false;
      }
      const before = p;
      if (r.wire === 0 || r.done) this.startTs[i] = p === offset ? this.ctx.firstByteTs : this.ctx.lastByteTs;
      const q = r.step(buf, p, end);
      if (q === STEP_ERROR) {
        this.ctx.anomaly('redis_bad_resp');
        r.reset();
        this.resync[i] = true;
        this.lostBefore[i] = true;
        p = before + 1;
        continue;
      }
      p = q;
      if (r.done) {
        if (toServer) this.onCommand(r);
        else this.onReply(r);
        r.wire = 0;
        continue;
      }
      if (p < end) return p - offset; // an incomplete header line: offered again with more bytes
    }
    return length;
  }

  onGap(toServer: boolean, _length: number): void {
    const i = toServer ? 0 : 1;
    this.readers[i].reset();
    this.resync[i] = true;
    this.lostBefore[i] = true;
  }

  /**
   * The server side ended inside a reply (a capture that stops in a large value): the reply was
   * given, so it answers its command, cut short (`incomplete`).
   */
  onEnd(toServer: boolean): void {
    const r = this.readers[1];
    if (toServer || this.resync[1] || r.wire === 0 || r.done) return;
    const inf = info('');
    inf.incomplete = true;
    this.emitReply(r, {}, inf);
    r.reset();
  }

  /**
   * After lost bytes: the next line start that begins a plausible value (a command array `*N\r\n$` on
   * the client side; any RESP type byte on the server side), or -1. Bytes before it are skipped.
   */
  private findStart(toServer: boolean, b: Uint8Array, p: number, end: number): number {
    for (let q = p; q < end; q++) {
      if (q > p && b[q - 1] !== 0x0a) continue;
      const c = b[q];
      if (toServer ? c === 0x2a : c === 0x2b || c === 0x2d || c === 0x3a || c === 0x24 || c === 0x2a || c === 0x3e) return q;
    }
    return -1;
  }

  private onCommand(r: RespReader): void {
    const i = 0;
    let cmd: string;
    let args: number;
    if (r.inlineCmd) {
      cmd = r.kept[0].toUpperCase();
      args = r.count - 1;
    } else if (r.topType === 0x2a && r.count > 0) {
      cmd = r.kept[0].toUpperCase();
      args = r.count - 1;
    } else {
      this.ctx.anomaly('redis_not_a_command');
      return;
    }
    const sub = args >= 1 ? r.kept[1].toUpperCase() : '';
    let expectsResponse = !this.replyOff;
    if (this.skipNext) {
      expectsResponse = false;
      this.skipNext = false;
    }
    if (cmd === 'CLIENT' && sub === 'REPLY') {
      const mode = args >= 2 ? r.kept[2].toUpperCase() : '';
      if (mode === 'OFF') {
        this.replyOff = true;
        expectsResponse = false;
      } else if (mode === 'SKIP') {
        this.skipNext = true;
        expectsResponse = false;
      } else if (mode === 'ON') {
        this.replyOff = false;
        expectsResponse = true;
      }
    } else if (cmd === 'SELECT' && args >= 1 && /^[0-9]{1,5}$/.test(r.kept[1])) {
      this.db = r.kept[1];
    } else if (SUBSCRIBE_COMMANDS.has(cmd)) {
      this.subscribed = true;
      if (expectsResponse) this.subWaits.push({ left: Math.max(1, args), answered: false });
    } else if (UNSUBSCRIBE_COMMANDS.has(cmd)) {
      if (expectsResponse) this.subWaits.push({ left: args > 0 ? args : -1, answered: false });
    }
    const attrs: Attributes = {
      'db.system.name': 'redis',
      'db.operation.name': cmd,
      'db.query.text': querySummary(cmd, r.kept, args, KEPT_ELEMENTS),
    };
    if (this.db !== '') attrs['db.namespace'] = this.db;
    const msg: L7Message = {
      type: MSG_REQUEST,
      sessionId: SESSION_FIFO,
      startTs: this.startTs[i],
      endTs: this.ctx.lastByteTs,
      size: r.wire,
      attrs,
      expectsResponse,
      trace: null,
      afterGap: this.lostBefore[i],
      info: info(cmd),
    };
    this.lostBefore[i] = false;
    this.ctx.emit(msg);
  }

  private onReply(r: RespReader): void {
    const t = r.topType;
    const kind = (t === 0x3e || (this.subscribed && t === 0x2a)) && r.count >= 3 ? r.kept[0].toLowerCase() : '';
    if (kind === 'message' || kind === 'pmessage' || kind === 'smessage') return this.delivery(r, kind);
    if (kind !== '' && ACK_KINDS.has(kind)) return this.ack(r);
    if (t === 0x3e) return; // other RESP3 pushes (client tracking invalidations...) are not replies
    this.reply(r);
  }

  private reply(r: RespReader): void {
    const t = r.topType;
    const inf = info('');
    const attrs: Attributes = {};
    if (t === 0x2d || t === 0x21) {
      inf.isError = true;
      inf.errorText = r.kept[0];
      const sp = inf.errorText.indexOf(' ');
      inf.errorPrefix = sp > 0 ? inf.errorText.slice(0, sp) : inf.errorText;
      attrs['db.response.status_code'] = inf.errorPrefix;
    }
    this.emitReply(r, attrs, inf);
  }

  private emitReply(r: RespReader, attrs: Attributes, inf: RedisInfo): void {
    const msg: L7Message = {
      type: MSG_RESPONSE,
      sessionId: SESSION_FIFO,
      startTs: this.startTs[1],
      endTs: this.ctx.lastByteTs,
      size: r.wire,
      attrs,
      expectsResponse: false,
      trace: null,
      afterGap: this.lostBefore[1],
      info: inf,
    };
    this.lostBefore[1] = false;
    this.ctx.emit(msg);
  }

  /** One confirmation of (un)subscribe: the first answers the command, the others are not replies. */
  private ack(r: RespReader): void {
    const w = this.subWaits[0];
    if (w === undefined) return;
    if (!w.answered) {
      w.answered = true;
      this.emitReply(r, {}, info(''));
    }
    if (w.left > 0) w.left--;
    if (w.left === 0 || (w.left < 0 && r.kept[2] === '0')) this.subWaits.shift();
  }

  /** A message delivered to a subscriber: a one-way span of its own (CONSUMER), not a reply. */
  private delivery(r: RespReader, kind: string): void {
    const channel = kind === 'pmessage' ? r.kept[2] : r.kept[1];
    const inf = info('');
    inf.delivery = true;
    inf.channel = channel;
    const msg: L7Message = {
      type: MSG_REQUEST,
      sessionId: SESSION_FIFO,
      startTs: this.startTs[1],
      endTs: this.ctx.lastByteTs,
      size: r.wire,
      attrs: {
        'messaging.system': 'redis',
        'messaging.operation.name': 'receive',
        'messaging.operation.type': 'receive',
        'messaging.destination.name': channel,
      },
      expectsResponse: false,
      trace: null,
      afterGap: false,
      info: inf,
    };
    this.ctx.emit(msg);
  }
}

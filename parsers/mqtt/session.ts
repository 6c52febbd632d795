/**
 * The per-flow MQTT state: a packet reader per direction (fixed header, the head of the packet, the
 * rest streamed through unheld), and the exchanges the packets make:
 * - client requests answered in order by the broker: CONNECT/CONNACK, PINGREQ/PINGRESP, AUTH/AUTH;
 * - exchanges keyed by packet id, separately per direction and per kind: PUBLISH QoS 1 (PUBACK),
 *   PUBLISH QoS 2 (PUBREC, PUBREL, PUBCOMP: one exchange up to PUBCOMP), SUBSCRIBE/SUBACK,
 *   UNSUBSCRIBE/UNSUBACK;
 * - one-way messages: PUBLISH QoS 0, DISCONNECT.
 * PUBLISH from the client is a publish (PRODUCER span); PUBLISH from the broker is a delivery (CONSUMER
 * span) whose PUBACK/PUBREC/PUBCOMP come from the client.
 */
import { u16be, utf8 } from '../../core/l7/bytes.js';
import type { L7Message, ParserContext, ParserSession } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE, SESSION_FIFO } from '../../core/l7/types.js';
import { TraceContextCollector } from '../../core/trace/propagation.js';
import type { Attributes } from '../../core/trace/span.js';
import type { PropertyVisitor } from './wire.js';
import {
  AUTH,
  CONNACK,
  CONNECT,
  DISCONNECT,
  HDR_BAD,
  HDR_NEED_MORE,
  PINGREQ,
  PINGRESP,
  PROP_ASSIGNED_CLIENT_ID,
  PROP_REASON_STRING,
  PROP_TOPIC_ALIAS,
  PROP_USER_PROPERTY,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  SUBACK,
  SUBSCRIBE,
  UNSUBACK,
  UNSUBSCRIBE,
  connectVersion,
  fixedHeader,
  isFailure,
  plausibleBody,
  plausibleLength,
  plausibleTopic,
  propsEnd,
  reasonName,
  validFirstByte,
  VARINT_CUT,
  varint,
  versionName,
  walkProperties,
} from './wire.js';

/** What `describeSpan` needs (`L7Message.info`). Requests and responses carry the same shape. */
export interface MqttInfo {
  /** The request packet type of the exchange (CONNECT, PUBLISH, SUBSCRIBE...), also on responses. */
  op: number;
  /** A PUBLISH sent by the broker (a delivery to this client), or an acknowledgement of one. */
  delivery: boolean;
  /** Topic name (PUBLISH) or the only topic filter (SUBSCRIBE/UNSUBSCRIBE); '' when unknown or several. */
  topic: string;
  /** A failure reason/return code (refused CONNACK, >= 0x80, a SUBACK failure). */
  failed: boolean;
  /** The failing code's name (`error.type`), '' otherwise. */
  errorType: string;
  /** The v5 reason string the peer sent, else ''. */
  reasonString: string;
}

function info(op: number, delivery: boolean, topic: string): MqttInfo {
  return { op, delivery, topic, failed: false, errorType: '', reasonString: '' };
}

/** Bytes of a packet looked at (its head); the rest streams through unheld. */
export const HEAD_CAP = 128 << 10;
/** QoS 1/2 publishes tracked per direction until acknowledged (ids are 16-bit; this caps memory). */
export const MAX_INFLIGHT = 1024;
/** v5 topic aliases remembered per direction. */
export const MAX_ALIASES = 1024;
/** Topic filters listed in `spanwire.mqtt.topic_filters`. */
const MAX_FILTERS = 64;
/** Longest client id / topic / reason string kept (characters). */
const MAX_TEXT = 1024;
/** During resynchronisation, packets are only believed with bodies this small (or a short topic). */
const RESYNC_BODY_LIMIT = 1024;

/** Session-id kinds: ids never collide between directions or between PUBLISH and (UN)SUBSCRIBE. */
const KIND_PUBLISH_FROM_CLIENT = 1 << 16;
const KIND_PUBLISH_FROM_BROKER = 2 << 16;
const KIND_SUBSCRIBE = 3 << 16;
const KIND_UNSUBSCRIBE = 4 << 16;

/** A QoS 1/2 PUBLISH waiting for its acknowledgements. */
class Inflight {
  /** PUBREC seen (QoS 2): the exchange now waits for PUBCOMP. */
  rec = false;
  recTs = 0;
  recEndTs = 0;
  recSize = 0;
  recCode = -1;
  recReason = '';
  constructor(readonly qos: number) {}
}

/** Per-direction reader state (index 0: from the client, 1: from the broker). */
class Direction {
  /** Bytes of the current packet still to stream through. */
  skipLeft = 0;
  /** Message to emit when the current packet ends. */
  msg: L7Message | null = null;
  /** Looking for a packet start after lost or malformed bytes. */
  resync = false;
  /** Bytes were lost before the next message. */
  lostBefore = false;
  /** PUBLISHes this side sent that wait for the other side's acknowledgements, by packet id. */
  readonly inflight = new Map<number, Inflight>();
  /** v5 topic aliases this side set. */
  aliases: Map<number, string> | null = null;
}

const tmp = new Int32Array(1);
const tmp2 = new Int32Array(1);

export class MqttSession implements ParserSession, PropertyVisitor {
  private readonly dirs = [new Direction(), new Direction()];
  /** Protocol level: 3 (3.1), 4 (3.1.1), 5 (5.0); 0 unknown (capture started after CONNECT). */
  private version = 0;
  private versionAttr = '';
  private clientId = '';
  private connectPending = false;
  private authPending = 0;
  private readonly collector = new TraceContextCollector();
  // Properties found by the last walk.
  private topicAlias = -1;
  private reasonStart = 0;
  private reasonEnd = 0;
  private assignedStart = 0;
  private assignedEnd = 0;
  private wantTrace = false;

  constructor(private readonly ctx: ParserContext) {}

  parse(toServer: boolean, buf: Uint8Array, offset: number, length: number): number {
    const d = this.dirs[toServer ? 0 : 1];
    const end = offset + length;
    let p = offset;
    while (p < end) {
      if (d.skipLeft > 0) {
        const n = d.skipLeft < end - p ? d.skipLeft : end - p;
        d.skipLeft -= n;
        p += n;
        if (d.skipLeft === 0) this.finish(d);
        continue;
      }
      if (d.resync) {
        const q = findStart(buf, p, end);
        if (q < 0) return length;
        p = q;
        d.resync = false;
      }
      const c = buf[p];
      const h = validFirstByte(c) ? fixedHeader(buf, p, end, tmp) : HDR_BAD;
      if (h === HDR_NEED_MORE) return p - offset;
      const t = c >> 4;
      const rem = tmp[0];
      if (h === HDR_BAD || !plausibleLength(t, rem)) {
        this.malformed(d);
        p++;
        continue;
      }
      const s = p + h;
      let need = rem < HEAD_CAP ? rem : HEAD_CAP;
      if (t === PUBLISH) {
        need = this.publishHeadLength(c, buf, s, end, rem);
        if (need === -2) return p - offset;
        if (need < 0) {
          this.malformed(d);
          p++;
          continue;
        }
      }
      if (end - s < need) return p - offset;
      const startTs = p === offset ? this.ctx.firstByteTs : this.ctx.lastByteTs;
      if (!this.packet(toServer, d, t, c & 0x0f, buf, s, s + need, rem, h + rem, startTs)) {
        this.malformed(d);
        p++;
        continue;
      }
      p = s + need;
      d.skipLeft = rem - need;
      if (d.skipLeft === 0) this.finish(d);
    }
    return length;
  }

  onGap(toServer: boolean, length: number): void {
    const d = this.dirs[toServer ? 0 : 1];
    if (d.skipLeft > 0) {
      // Lost inside a payload: the packet's head is known, and when the loss ends inside it the
      // stream stays in step.
      if (length < d.skipLeft) {
        d.skipLeft -= length;
        this.ctx.anomaly('mqtt_gap_in_payload');
        return;
      }
      const exact = length === d.skipLeft;
      d.skipLeft = 0;
      this.finish(d);
      if (exact) return;
    }
    d.msg = null;
    d.resync = true;
    d.lostBefore = true;
  }

  /**
   * A direction ended: a packet cut short is emitted as it is; QoS 2 publishes whose PUBREC came from
   * this side but whose PUBCOMP never did end at their PUBREC (the receiver had the message).
   */
  onEnd(toServer: boolean): void {
    const d = this.dirs[toServer ? 0 : 1];
    if (d.skipLeft > 0) {
      d.skipLeft = 0;
      this.finish(d);
    }
    const pub = this.dirs[toServer ? 1 : 0];
    if (pub.inflight.size === 0) return;
    const fromBroker = toServer;
    for (const [pid, f] of pub.inflight) {
      if (!f.rec) continue;
      pub.inflight.delete(pid);
      const inf = info(PUBLISH, fromBroker, '');
      this.setCode(inf, PUBREC, f.recCode);
      inf.reasonString = f.recReason;
      const attrs: Attributes = {};
      if (f.recCode >= 0) attrs['spanwire.mqtt.reason_code'] = f.recCode;
      this.ctx.emit(this.message(MSG_RESPONSE, (fromBroker ? KIND_PUBLISH_FROM_BROKER : KIND_PUBLISH_FROM_CLIENT) | pid, f.recTs, f.recEndTs, f.recSize, attrs, inf, false));
    }
  }

  /** PropertyVisitor: remembers what the parser uses; user properties go to the trace collector. */
  property(b: Uint8Array, id: number, num: number, ns: number, ne: number, vs: number, ve: number): void {
    switch (id) {
      case PROP_TOPIC_ALIAS:
        this.topicAlias = num;
        break;
      case PROP_REASON_STRING:
        this.reasonStart = vs;
        this.reasonEnd = ve;
        break;
      case PROP_ASSIGNED_CLIENT_ID:
        this.assignedStart = vs;
        this.assignedEnd = ve;
        break;
      case PROP_USER_PROPERTY:
        if (this.wantTrace) this.collector.offerBytes(b, ns, ne, vs, ve);
        break;
    }
  }

  // ---- framing -----------------------------------------------------------------------------------

  /**
   * Head of a PUBLISH: topic, packet id (QoS > 0), v5 properties; -2 when more bytes are needed to
   * know, -1 when it does not fit the packet. Heads over HEAD_CAP are not read (0: topic unknown).
   */
  private publishHeadLength(c: number, b: Uint8Array, s: number, end: number, rem: number): number {
    if (end - s < 2) return -2;
    let n = 2 + u16be(b, s) + ((c & 0x06) !== 0 ? 2 : 0);
    if (n > rem) return -1;
    if (this.version === 5) {
      if (n === rem) return -1;
      const q = varint(b, s + n, end, tmp2);
      if (q < 0) return q === VARINT_CUT ? -2 : -1;
      n = q - s + tmp2[0];
      if (n > rem) return -1;
    }
    if (n > HEAD_CAP) {
      this.ctx.anomaly('mqtt_header_too_large');
      return 0;
    }
    return n;
  }

  private malformed(d: Direction): void {
    this.ctx.anomaly('mqtt_malformed');
    d.msg = null;
    d.skipLeft = 0;
    d.resync = true;
    d.lostBefore = true;
  }

  private finish(d: Direction): void {
    const m = d.msg;
    if (m === null) return;
    d.msg = null;
    m.endTs = this.ctx.lastByteTs;
    this.ctx.emit(m);
  }

  private message(type: number, sessionId: number, startTs: number, endTs: number, size: number, attrs: Attributes, inf: MqttInfo, expectsResponse: boolean): L7Message {
    return { type, sessionId, startTs, endTs, size, attrs, expectsResponse, trace: null, afterGap: false, info: inf };
  }

  /** The common request attributes. */
  private requestAttrs(op: string): Attributes {
    const a: Attributes = { 'messaging.system': 'mqtt', 'messaging.operation.name': op };
    if (this.clientId !== '') a['messaging.client.id'] = this.clientId;
    if (this.versionAttr !== '') a['spanwire.mqtt.version'] = this.versionAttr;
    return a;
  }

  private setVersion(v: number): void {
    this.version = v;
    this.versionAttr = versionName(v);
  }

  /** Marks a failing code on `inf` (error type and failure flag). */
  private setCode(inf: MqttInfo, packetType: number, code: number): void {
    if (code >= 0 && isFailure(packetType, this.version, code)) {
      inf.failed = true;
      inf.errorType = reasonName(packetType, this.version, code);
    }
  }

  /** Walks v5 properties in [p, e); false when malformed. */
  private props(b: Uint8Array, p: number, e: number, wantTrace: boolean): boolean {
    this.topicAlias = -1;
    this.reasonStart = this.reasonEnd = 0;
    this.assignedStart = this.assignedEnd = 0;
    this.wantTrace = wantTrace;
    if (wantTrace) this.collector.reset();
    return walkProperties(b, p, e, this, tmp2);
  }

  /** The property block at p (v5): its end, or -1. Leaves what it found in the fields above. */
  private propBlock(b: Uint8Array, p: number, e: number, wantTrace: boolean): number {
    const q = varint(b, p, e, tmp2);
    if (q < 0 || q + tmp2[0] > e) return -1;
    const r = q + tmp2[0];
    if (!this.props(b, q, r, wantTrace)) this.ctx.anomaly('mqtt_bad_properties');
    return r;
  }

  private reasonText(b: Uint8Array): string {
    return this.reasonEnd > this.reasonStart ? text(b, this.reasonStart, this.reasonEnd) : '';
  }

  // ---- packets -----------------------------------------------------------------------------------

  /**
   * One packet whose head is b[s..e) (the whole packet unless it is larger than the head): updates the
   * state and leaves in `d.msg` the message to emit when the packet ends. False when malformed.
   */
  private packet(fromClient: boolean, d: Direction, t: number, flags: number, b: Uint8Array, s: number, e: number, rem: number, size: number, ts: number): boolean {
    const whole = e - s === rem;
    switch (t) {
      case CONNECT:
        return this.connect(d, b, s, e, size, ts);
      case CONNACK:
        return this.connack(d, b, s, e, whole, size, ts);
      case PUBLISH:
        return this.publish(fromClient, d, flags, b, s, e, rem, size, ts);
      case PUBACK:
      case PUBREC:
      case PUBREL:
      case PUBCOMP:
        return this.ack(fromClient, d, t, b, s, e, rem, size, ts);
      case SUBSCRIBE:
      case UNSUBSCRIBE:
        return this.subscribe(d, t, b, s, e, whole, size, ts);
      case SUBACK:
      case UNSUBACK:
        return this.suback(d, t, b, s, e, rem, size, ts);
      case PINGREQ:
        d.msg = this.request(d, SESSION_FIFO, ts, size, this.requestAttrs('ping'), info(PINGREQ, false, ''), true);
        return true;
      case PINGRESP:
        d.msg = this.response(d, SESSION_FIFO, ts, size, {}, info(PINGREQ, false, ''));
        return true;
      case DISCONNECT:
        return this.disconnect(d, b, s, e, rem, size, ts);
      case AUTH:
        return this.auth(fromClient, d, b, s, e, rem, size, ts);
    }
    return false;
  }

  private request(d: Direction, sessionId: number, ts: number, size: number, attrs: Attributes, inf: MqttInfo, expectsResponse: boolean): L7Message {
    const m = this.message(MSG_REQUEST, sessionId, ts, ts, size, attrs, inf, expectsResponse);
    m.afterGap = d.lostBefore;
    d.lostBefore = false;
    return m;
  }

  private response(d: Direction, sessionId: number, ts: number, size: number, attrs: Attributes, inf: MqttInfo): L7Message {
    const m = this.message(MSG_RESPONSE, sessionId, ts, ts, size, attrs, inf, false);
    m.afterGap = d.lostBefore;
    d.lostBefore = false;
    return m;
  }

  private connect(d: Direction, b: Uint8Array, s: number, e: number, size: number, ts: number): boolean {
    const v = connectVersion(b, s, e);
    if (v <= 0) return false;
    let p = s + 2 + u16be(b, s) + 1;
    if (p + 3 > e) return false;
    const flags = b[p];
    p += 3; // flags, keep alive
    this.setVersion(v);
    let trace = null;
    if (v === 5) {
      p = this.propBlock(b, p, e, true);
      if (p < 0) return false;
      trace = this.collector.result();
    }
    // The payload starts with the client id; the will, user name and password after it are never read.
    if (p + 2 > e || p + 2 + u16be(b, p) > e) return false;
    this.clientId = text(b, p + 2, p + 2 + u16be(b, p));
    this.connectPending = true;
    this.authPending = 0;
    const attrs = this.requestAttrs('connect');
    attrs['spanwire.mqtt.clean_session'] = (flags & 0x02) !== 0;
    d.msg = this.request(d, SESSION_FIFO, ts, size, attrs, info(CONNECT, false, ''), true);
    d.msg.trace = trace;
    return true;
  }

  private connack(d: Direction, b: Uint8Array, s: number, e: number, whole: boolean, size: number, ts: number): boolean {
    if (e - s < 2) return false;
    if (this.version === 0 && e - s > 2) this.setVersion(5);
    const code = b[s + 1];
    const inf = info(CONNECT, false, '');
    const attrs: Attributes = { 'spanwire.mqtt.reason_code': code };
    if (this.version >= 4) attrs['spanwire.mqtt.session_present'] = (b[s] & 1) !== 0;
    if (this.version === 5 && whole && e - s > 2) {
      if (this.propBlock(b, s + 2, e, false) < 0) return false;
      inf.reasonString = this.reasonText(b);
      if (this.assignedEnd > this.assignedStart && this.clientId === '') {
        this.clientId = text(b, this.assignedStart, this.assignedEnd);
        attrs['messaging.client.id'] = this.clientId;
      }
    }
    this.setCode(inf, CONNACK, code);
    this.connectPending = false;
    d.msg = this.response(d, SESSION_FIFO, ts, size, attrs, inf);
    return true;
  }

  private publish(fromClient: boolean, d: Direction, flags: number, b: Uint8Array, s: number, e: number, rem: number, size: number, ts: number): boolean {
    const qos = (flags >> 1) & 3;
    let topic = '';
    let pid = 0;
    let trace = null;
    if (e > s) {
      let p = s + 2 + u16be(b, s);
      if (plausibleTopic(b, s, e, true, this.version === 5) < 0) this.ctx.anomaly('mqtt_bad_topic');
      topic = text(b, s + 2, p);
      if (qos > 0) {
        pid = u16be(b, p);
        p += 2;
      }
      if (this.version === 5) {
        const r = this.propBlock(b, p, e, true);
        if (r < 0) return false;
        trace = this.collector.result();
        if (this.topicAlias > 0) {
          if (topic !== '') {
            if (d.aliases === null) d.aliases = new Map();
            if (d.aliases.size >= MAX_ALIASES && !d.aliases.has(this.topicAlias)) this.ctx.anomaly('mqtt_alias_overflow');
            else d.aliases.set(this.topicAlias, topic);
          } else {
            topic = d.aliases?.get(this.topicAlias) ?? '';
            if (topic === '') this.ctx.anomaly('mqtt_unknown_topic_alias');
          }
        }
      }
    }
    const delivery = !fromClient;
    if (qos > 0) {
      const prev = d.inflight.get(pid);
      if (prev !== undefined && (flags & 0x08) !== 0) {
        // A retransmission (DUP) of a publish still waiting for its acknowledgement: same exchange.
        this.ctx.anomaly('mqtt_publish_retransmitted');
        return true;
      }
      if (prev === undefined && d.inflight.size >= MAX_INFLIGHT) {
        this.ctx.anomaly('mqtt_inflight_overflow');
        d.inflight.delete(d.inflight.keys().next().value as number);
      }
      d.inflight.set(pid, new Inflight(qos));
    }
    const attrs = this.requestAttrs(delivery ? 'process' : 'publish');
    attrs['messaging.operation.type'] = delivery ? 'process' : 'send';
    if (topic !== '') attrs['messaging.destination.name'] = topic;
    attrs['spanwire.mqtt.qos'] = qos;
    if (qos > 0) attrs['spanwire.mqtt.packet_id'] = pid;
    attrs['messaging.message.body.size'] = rem - (e - s);
    if ((flags & 1) !== 0) attrs['spanwire.mqtt.retain'] = true;
    const sid = qos > 0 ? (fromClient ? KIND_PUBLISH_FROM_CLIENT : KIND_PUBLISH_FROM_BROKER) | pid : SESSION_FIFO;
    d.msg = this.request(d, sid, ts, size, attrs, info(PUBLISH, delivery, topic), qos > 0);
    d.msg.trace = trace;
    return true;
  }

  /** PUBACK, PUBREC, PUBCOMP (from the receiver of the PUBLISH) and PUBREL (from its sender). */
  private ack(fromClient: boolean, d: Direction, t: number, b: Uint8Array, s: number, e: number, rem: number, size: number, ts: number): boolean {
    const pid = u16be(b, s);
    if (rem > 2 && this.version === 0) this.setVersion(5);
    // 5.0: a missing reason code means 0x00 (success); 3.1.1 acknowledgements carry none.
    const code = rem > 2 ? b[s + 2] : this.version === 5 ? 0 : -1;
    let reason = '';
    if (rem > 3 && e - s === rem) {
      if (this.propBlock(b, s + 3, e, false) < 0) return false;
      reason = this.reasonText(b);
    }
    if (t === PUBREL) {
      // From the publisher; its PUBCOMP ends the exchange.
      if (code >= 0x80) this.ctx.anomaly('mqtt_pubrel_failure');
      return true;
    }
    // The publisher is the other side.
    const pub = this.dirs[fromClient ? 1 : 0];
    const delivery = fromClient;
    const sid = (delivery ? KIND_PUBLISH_FROM_BROKER : KIND_PUBLISH_FROM_CLIENT) | pid;
    let f = pub.inflight.get(pid);
    if (t === PUBREC && code < 0x80) {
      // QoS 2, first half: remember; the exchange ends with PUBCOMP.
      if (f === undefined) {
        if (pub.inflight.size >= MAX_INFLIGHT) {
          this.ctx.anomaly('mqtt_inflight_overflow');
          pub.inflight.delete(pub.inflight.keys().next().value as number);
        }
        f = new Inflight(2);
        pub.inflight.set(pid, f);
      }
      if (!f.rec) {
        f.rec = true;
        f.recTs = ts;
        f.recEndTs = this.ctx.lastByteTs;
        f.recSize = size;
        f.recCode = code;
        f.recReason = reason;
      }
      return true;
    }
    pub.inflight.delete(pid);
    const inf = info(PUBLISH, delivery, '');
    const attrs: Attributes = {};
    let start = ts;
    let total = size;
    let shown = code;
    inf.reasonString = reason;
    if (t === PUBCOMP && f !== undefined && f.rec) {
      start = f.recTs;
      total += f.recSize;
      if (code < 0x80) {
        // A successful PUBCOMP: the PUBREC's code says more (e.g. 0x10 no matching subscribers).
        if (f.recCode >= 0) shown = f.recCode;
        if (reason === '') inf.reasonString = f.recReason;
      }
    }
    if (shown >= 0) attrs['spanwire.mqtt.reason_code'] = shown;
    this.setCode(inf, t, code);
    d.msg = this.response(d, sid, start, total, attrs, inf);
    return true;
  }

  private subscribe(d: Direction, t: number, b: Uint8Array, s: number, e: number, whole: boolean, size: number, ts: number): boolean {
    if (e - s < 3) return false;
    const pid = u16be(b, s);
    const withOptions = t === SUBSCRIBE;
    let p = s + 2;
    let trace = null;
    if (this.version === 0 && whole && !plausibleBody(t, 0x02, b, s, e, tmp2)) return false;
    if (this.version === 5 || (this.version === 0 && whole && !filtersFill(b, p, e, withOptions))) {
      // v5 layout: properties first (a 3.1.1 layout that does not add up means 5.0).
      const r = this.propBlock(b, p, e, true);
      if (r < 0) return false;
      trace = this.collector.result();
      if (this.version === 0) this.setVersion(5);
      p = r;
    }
    const filters: string[] = [];
    let qos = -1;
    while (p + 2 <= e && filters.length < MAX_FILTERS) {
      const n = u16be(b, p);
      if (p + 2 + n > e) break;
      filters.push(text(b, p + 2, p + 2 + n));
      p += 2 + n;
      if (withOptions) {
        if (p >= e) break;
        const o = b[p++] & 3;
        if (o > qos) qos = o;
      }
    }
    if (filters.length === 0) return false;
    const one = filters.length === 1 ? filters[0] : '';
    const attrs = this.requestAttrs(withOptions ? 'subscribe' : 'unsubscribe');
    if (one !== '') attrs['messaging.destination.name'] = one;
    attrs['spanwire.mqtt.topic_filters'] = filters;
    if (withOptions && qos >= 0) attrs['spanwire.mqtt.qos'] = qos;
    attrs['spanwire.mqtt.packet_id'] = pid;
    d.msg = this.request(d, (withOptions ? KIND_SUBSCRIBE : KIND_UNSUBSCRIBE) | pid, ts, size, attrs, info(t, false, one), true);
    d.msg.trace = trace;
    return true;
  }

  private suback(d: Direction, t: number, b: Uint8Array, s: number, e: number, rem: number, size: number, ts: number): boolean {
    const pid = u16be(b, s);
    const op = t === SUBACK ? SUBSCRIBE : UNSUBSCRIBE;
    const inf = info(op, false, '');
    const attrs: Attributes = {};
    let p = s + 2;
    if (this.version === 0 && (t === UNSUBACK ? rem > 2 : !v3Codes(b, p, e))) this.setVersion(5);
    if (this.version === 5 && p < e) {
      const r = this.propBlock(b, p, e, false);
      if (r < 0) return false;
      inf.reasonString = this.reasonText(b);
      p = r;
    }
    if (p < e) {
      const codes: number[] = [];
      let shown = -1;
      for (let i = p; i < e && codes.length < MAX_FILTERS; i++) {
        const c = b[i];
        codes.push(c);
        if (isFailure(t, this.version, c)) {
          if (!inf.failed) shown = c;
          this.setCode(inf, t, c);
        }
      }
      attrs['spanwire.mqtt.reason_code'] = shown >= 0 ? shown : codes[0];
      attrs['spanwire.mqtt.reason_codes'] = codes;
    }
    d.msg = this.response(d, (t === SUBACK ? KIND_SUBSCRIBE : KIND_UNSUBSCRIBE) | pid, ts, size, attrs, inf);
    return true;
  }

  private disconnect(d: Direction, b: Uint8Array, s: number, e: number, rem: number, size: number, ts: number): boolean {
    if (rem > 0 && this.version === 0) this.setVersion(5);
    const inf = info(DISCONNECT, false, '');
    const attrs = this.requestAttrs('disconnect');
    if (rem > 0) {
      const code = b[s];
      attrs['spanwire.mqtt.reason_code'] = code;
      if (rem > 1 && e - s === rem) {
        if (this.propBlock(b, s + 1, e, false) < 0) return false;
        inf.reasonString = this.reasonText(b);
      }
      this.setCode(inf, DISCONNECT, code);
    }
    d.msg = this.request(d, SESSION_FIFO, ts, size, attrs, inf, false);
    return true;
  }

  /**
   * AUTH (5.0): inside the CONNECT handshake it is part of the connect exchange; afterwards a client's
   * AUTH (re-authentication) is answered by the broker's next AUTH.
   */
  private auth(fromClient: boolean, d: Direction, b: Uint8Array, s: number, e: number, rem: number, size: number, ts: number): boolean {
    if (this.version === 0) this.setVersion(5);
    const code = rem > 0 ? b[s] : 0;
    let reason = '';
    if (rem > 1 && e - s === rem) {
      if (this.propBlock(b, s + 1, e, false) < 0) return false;
      reason = this.reasonText(b);
    }
    if (this.connectPending) return true;
    const inf = info(AUTH, false, '');
    inf.reasonString = reason;
    this.setCode(inf, AUTH, code);
    if (fromClient) {
      const attrs = this.requestAttrs('auth');
      attrs['spanwire.mqtt.reason_code'] = code;
      this.authPending++;
      d.msg = this.request(d, SESSION_FIFO, ts, size, attrs, inf, true);
    } else if (this.authPending > 0) {
      this.authPending--;
      d.msg = this.response(d, SESSION_FIFO, ts, size, { 'spanwire.mqtt.reason_code': code }, inf);
    } else {
      this.ctx.anomaly('mqtt_unexpected_auth');
    }
    return true;
  }
}

/** Text of a topic, filter, client id or reason string (UTF-8, capped). */
function text(b: Uint8Array, s: number, e: number): string {
  return utf8(b, s, e - s > MAX_TEXT ? s + MAX_TEXT : e);
}

/** Do 3.1.1 filters (with options for SUBSCRIBE) exactly fill [p, e)? */
function filtersFill(b: Uint8Array, p: number, e: number, withOptions: boolean): boolean {
  let q = p;
  while (q < e) {
    if (q + 2 > e) return false;
    const n = u16be(b, q);
    if (n === 0) return false;
    q += 2 + n;
    if (withOptions) {
      if (q >= e || b[q] > 2) return false;
      q++;
    }
  }
  return q === e;
}

/** Are b[p..e) all 3.1.1 SUBACK return codes (0, 1, 2, 0x80)? */
function v3Codes(b: Uint8Array, p: number, e: number): boolean {
  if (p >= e) return false;
  for (let i = p; i < e; i++) if (b[i] > 2 && b[i] !== 0x80) return false;
  return true;
}

/**
 * After lost or malformed bytes: the first position in [p, end) where a believable packet starts (a
 * valid first byte and length, and a body that checks out when it is all there; a long packet must be
 * a PUBLISH with a short text topic, or start right at p), or -1.
 */
export function findStart(b: Uint8Array, p: number, end: number): number {
  for (let q = p; q < end; q++) {
    const c = b[q];
    if (!validFirstByte(c)) continue;
    const h = fixedHeader(b, q, end, tmp2);
    if (h === HDR_NEED_MORE) return q; // too few bytes to tell: parsing will judge with more
    if (h === HDR_BAD) continue;
    const t = c >> 4;
    const rem = tmp2[0];
    if (!plausibleLength(t, rem)) continue;
    const s = q + h;
    if (s + rem <= end) {
      if (rem > RESYNC_BODY_LIMIT && t !== PUBLISH) continue;
      if (t === PUBLISH) {
        const r = s + 2 <= end ? u16be(b, s) : 0;
        if (r > RESYNC_BODY_LIMIT || plausibleTopic(b, s, s + rem, true, false) < 0) continue;
        return q;
      }
      if (plausibleBody(t, c & 0x0f, b, s, s + rem, tmp2)) return q;
      continue;
    }
    if (t === PUBLISH) {
      if (s + 2 > end) return q === p ? q : -1;
      const n = u16be(b, s);
      if (n === 0 || n > RESYNC_BODY_LIMIT) continue;
      if (s + 2 + n > end) return q === p ? q : -1;
      if (plausibleTopic(b, s, end, true, false) >= 0) return q;
      continue;
    }
    if (q === p) return q;
  }
  return -1;
}

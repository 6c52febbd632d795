/**
 * MQTT wire format (OASIS MQTT 3.1.1 and 5.0; 3.1 is 3.1.1 with the protocol name `MQIsdp`): packet
 * types, the fixed header, v5 properties, reason-code names, and the plausibility checks shared by the
 * probe and by resynchronisation after a gap. Pure functions; no allocation on the checking paths.
 */
import { u16be } from '../../core/l7/bytes.js';

export const CONNECT = 1;
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const SUBSCRIBE = 8;
export const SUBACK = 9;
export const UNSUBSCRIBE = 10;
export const UNSUBACK = 11;
export const PINGREQ = 12;
export const PINGRESP = 13;
export const DISCONNECT = 14;
export const AUTH = 15;

/** Largest remaining length the format can express (4-byte variable byte integer). */
export const MAX_REMAINING = 268_435_455;

/** Result of `fixedHeader`: bytes of the fixed header, or one of these. */
export const HDR_NEED_MORE = 0;
export const HDR_BAD = -1;

/**
 * Decodes the fixed header at p: returns its length (2..5) and stores the remaining length in
 * `out[0]`; HDR_NEED_MORE when cut, HDR_BAD when the length has more than 4 bytes.
 */
export function fixedHeader(b: Uint8Array, p: number, end: number, out: Int32Array): number {
  const q = varint(b, p + 1, end, out);
  return q >= 0 ? q - p : q === VARINT_CUT ? HDR_NEED_MORE : HDR_BAD;
}

/** `varint` results: cut short, or longer than 4 bytes. */
export const VARINT_CUT = -1;
export const VARINT_BAD = -2;

/**
 * Variable byte integer at p (remaining lengths, v5 property lengths; 7 bits per byte, least
 * significant first, at most 4 bytes): the value in `out[0]`, returns the position after it, or
 * VARINT_CUT / VARINT_BAD.
 */
export function varint(b: Uint8Array, p: number, end: number, out: Int32Array): number {
  let mult = 1;
  let value = 0;
  for (let i = 0; i < 4; i++) {
    if (p + i >= end) return VARINT_CUT;
    const c = b[p + i];
    value += (c & 0x7f) * mult;
    if ((c & 0x80) === 0) {
      out[0] = value;
      return p + i + 1;
    }
    mult *= 128;
  }
  return VARINT_BAD;
}

/**
 * Is the first byte a packet type with the flags the protocol requires? PUBLISH: any QoS but 3;
 * PUBREL, SUBSCRIBE, UNSUBSCRIBE: 0b0010 (3.1 also allowed the DUP bit on them); others: 0.
 */
export function validFirstByte(c: number): boolean {
  const t = c >> 4;
  const f = c & 0x0f;
  switch (t) {
    case PUBLISH:
      return (f & 0x06) !== 0x06;
    case PUBREL:
    case SUBSCRIBE:
    case UNSUBSCRIBE:
      return (f & 0x07) === 0x02;
    case 0:
      return false;
    default:
      return f === 0;
  }
}

/** Smallest and largest remaining length a packet of each type may plausibly have (all versions). */
const MIN_REM = [0, 12, 2, 2, 2, 2, 2, 2, 6, 3, 5, 2, 0, 0, 0, 0];
const MAX_REM = [0, MAX_REMAINING, 1 << 16, MAX_REMAINING, 1 << 16, 1 << 16, 1 << 16, 1 << 16, 1 << 20, 1 << 20, 1 << 20, 1 << 20, 0, 0, 1 << 16, 1 << 16];

/** Is `rem` a plausible remaining length for packet type `t`? */
export function plausibleLength(t: number, rem: number): boolean {
  return rem >= MIN_REM[t] && rem <= MAX_REM[t];
}

/** Sender of each packet type: 1 client only, 2 server only, 3 either. */
export const SENDER = [0, 1, 2, 3, 3, 3, 3, 3, 1, 2, 1, 2, 1, 2, 3, 3];

/**
 * A UTF-8 string field (2-byte length) at p whose bytes are plausible text for a topic or filter: not
 * empty (unless `emptyOk`), no control characters (NUL included, forbidden by the spec), no wildcard
 * when `topicName`. Returns the position after it, or -1 (also when cut).
 */
export function plausibleTopic(b: Uint8Array, p: number, end: number, topicName: boolean, emptyOk: boolean): number {
  if (p + 2 > end) return -1;
  const n = u16be(b, p);
  const s = p + 2;
  const e = s + n;
  if (e > end || (n === 0 && !emptyOk)) return -1;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c < 0x20 || c === 0x7f) return -1;
    if (topicName && (c === 0x23 || c === 0x2b)) return -1;
  }
  return e;
}

/**
 * Structure of a whole packet body `b[s..e)` of type `t` (all of it present), strict enough to tell MQTT
 * from other bytes: topics and filters are text, counts and lengths add up exactly. Either version
 * layout (3.1.1 or 5.0) is accepted.
 */
export function plausibleBody(t: number, flags: number, b: Uint8Array, s: number, e: number, tmp: Int32Array): boolean {
  const rem = e - s;
  switch (t) {
    case CONNECT:
      return connectVersion(b, s, e) !== 0;
    case CONNACK:
      return (b[s] & 0xfe) === 0 && (rem === 2 || propsEnd(b, s + 2, e, tmp) === e);
    case PUBLISH: {
      const q = plausibleTopic(b, s, e, true, true);
      return q >= 0 && q + (((flags >> 1) & 3) !== 0 ? 2 : 0) <= e;
    }
    case PUBACK:
    case PUBREC:
    case PUBREL:
    case PUBCOMP:
      return rem === 2 || rem === 3 || propsEnd(b, s + 3, e, tmp) === e;
    case SUBSCRIBE:
      return filterList(b, s + 2, e, true) || filterList(b, propsEnd(b, s + 2, e, tmp), e, true);
    case UNSUBSCRIBE:
      return filterList(b, s + 2, e, false) || filterList(b, propsEnd(b, s + 2, e, tmp), e, false);
    case SUBACK:
    case UNSUBACK:
      return true;
    case DISCONNECT:
    case AUTH:
      return rem <= 1 || propsEnd(b, s + 1, e, tmp) === e;
    default:
      return rem === 0;
  }
}

/** `(filter, options)*` (SUBSCRIBE, `withOptions`) or `filter*` (UNSUBSCRIBE) exactly filling [p, e). */
function filterList(b: Uint8Array, p: number, e: number, withOptions: boolean): boolean {
  if (p < 0 || p >= e) return false;
  let q = p;
  while (q < e) {
    q = plausibleTopic(b, q, e, false, false);
    if (q < 0) return false;
    if (withOptions) {
      if (q >= e || (b[q] & 0xc0) !== 0 || (b[q] & 3) === 3) return false;
      q++;
    }
  }
  return q === e;
}

/** The end of a v5 property block (length + properties) at p when it fits in [p, e), else -1. */
export function propsEnd(b: Uint8Array, p: number, e: number, tmp: Int32Array): number {
  if (p >= e) return -1;
  const q = varint(b, p, e, tmp);
  if (q < 0) return -1;
  const r = q + tmp[0];
  return r <= e ? r : -1;
}

/**
 * The protocol level of a CONNECT body at s (3 for `MQIsdp`, 4 for `MQTT` level 4, 5 for level 5;
 * the bridge bit 0x80 ignored), or 0 when it is not one; -1 when more bytes are needed.
 */
export function connectVersion(b: Uint8Array, s: number, e: number): number {
  if (s + 2 > e) return -1;
  const n = u16be(b, s);
  if (n === 4) {
    for (let i = 0; i < 4; i++) {
      if (s + 2 + i >= e) return -1;
      if (b[s + 2 + i] !== MQTT_NAME[i]) return 0;
    }
    if (s + 6 >= e) return -1;
    const lv = b[s + 6] & 0x7f;
    return lv === 4 || lv === 5 ? lv : lv === 3 ? 3 : 0;
  }
  if (n === 6) {
    for (let i = 0; i < 6; i++) {
      if (s + 2 + i >= e) return -1;
      if (b[s + 2 + i] !== MQISDP_NAME[i]) return 0;
    }
    if (s + 8 >= e) return -1;
    return (b[s + 8] & 0x7f) === 3 ? 3 : 0;
  }
  return 0;
}

const MQTT_NAME = [0x4d, 0x51, 0x54, 0x54]; // MQTT
const MQISDP_NAME = [0x4d, 0x51, 0x49, 0x73, 0x64, 0x70]; // MQIsdp

// ---- v5 properties ---------------------------------------------------------------------------------

/** Property value encodings (MQTT 5.0 section 2.2.2.2). */
const P_BYTE = 1;
const P_U16 = 2;
const P_U32 = 3;
const P_VARINT = 4;
const P_STRING = 5;
const P_BINARY = 6;
const P_PAIR = 7;

/** Encoding of each property identifier (0: not a property). */
export const PROPERTY_TYPE = new Uint8Array(0x2b);
for (const [id, ty] of [
  [0x01, P_BYTE], [0x02, P_U32], [0x03, P_STRING], [0x08, P_STRING], [0x09, P_BINARY], [0x0b, P_VARINT],
  [0x11, P_U32], [0x12, P_STRING], [0x13, P_U16], [0x15, P_STRING], [0x16, P_BINARY], [0x17, P_BYTE],
  [0x18, P_U32], [0x19, P_BYTE], [0x1a, P_STRING], [0x1c, P_STRING], [0x1f, P_STRING], [0x21, P_U16],
  [0x22, P_U16], [0x23, P_U16], [0x24, P_BYTE], [0x25, P_BYTE], [0x26, P_PAIR], [0x27, P_U32],
  [0x28, P_BYTE], [0x29, P_BYTE], [0x2a, P_BYTE],
] as const) PROPERTY_TYPE[id] = ty;

export const PROP_TOPIC_ALIAS = 0x23;
export const PROP_ASSIGNED_CLIENT_ID = 0x12;
export const PROP_REASON_STRING = 0x1f;
export const PROP_USER_PROPERTY = 0x26;

/**
 * Called for each property: `id`, and for strings/binary the value at [vs, ve); for integers the value
 * in `num`. For user properties (pairs) the name is at [ns, ne) and the value at [vs, ve).
 */
export interface PropertyVisitor {
  property(b: Uint8Array, id: number, num: number, ns: number, ne: number, vs: number, ve: number): void;
}

/**
 * Walks the properties in [p, e) (after the property length). Returns false when malformed (an unknown
 * identifier, a value running past e).
 */
export function walkProperties(b: Uint8Array, p: number, e: number, v: PropertyVisitor, tmp: Int32Array): boolean {
  let q = p;
  while (q < e) {
    const id = b[q++];
    const ty = id < PROPERTY_TYPE.length ? PROPERTY_TYPE[id] : 0;
    switch (ty) {
      case P_BYTE:
        if (q + 1 > e) return false;
        v.property(b, id, b[q], 0, 0, q, q + 1);
        q += 1;
        break;
      case P_U16:
        if (q + 2 > e) return false;
        v.property(b, id, u16be(b, q), 0, 0, q, q + 2);
        q += 2;
        break;
      case P_U32:
        if (q + 4 > e) return false;
        v.property(b, id, b[q] * 0x1000000 + ((b[q + 1] << 16) | (b[q + 2] << 8) | b[q + 3]), 0, 0, q, q + 4);
        q += 4;
        break;
      case P_VARINT: {
        const r = varint(b, q, e, tmp);
        if (r < 0) return false;
        v.property(b, id, tmp[0], 0, 0, q, r);
        q = r;
        break;
      }
      case P_STRING:
      case P_BINARY: {
        if (q + 2 > e) return false;
        const n = u16be(b, q);
        if (q + 2 + n > e) return false;
        v.property(b, id, n, 0, 0, q + 2, q + 2 + n);
        q += 2 + n;
        break;
      }
      case P_PAIR: {
        if (q + 2 > e) return false;
        const n = u16be(b, q);
        const ns = q + 2;
        const ne = ns + n;
        if (ne + 2 > e) return false;
        const m = u16be(b, ne);
        const ve = ne + 2 + m;
        if (ve > e) return false;
        v.property(b, id, 0, ns, ne, ne + 2, ve);
        q = ve;
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

// ---- reason codes ----------------------------------------------------------------------------------

/** MQTT 3.1 / 3.1.1 CONNACK return codes. */
const CONNACK_V3 = ['accepted', 'unacceptable_protocol_version', 'identifier_rejected', 'server_unavailable', 'bad_user_name_or_password', 'not_authorized'];

/** MQTT 5.0 reason codes (section 2.4), in snake case. 0x00 is named per packet by the caller. */
const REASON_V5 = new Map<number, string>([
  [0x00, 'success'], [0x01, 'granted_qos_1'], [0x02, 'granted_qos_2'], [0x04, 'disconnect_with_will_message'],
  [0x10, 'no_matching_subscribers'], [0x11, 'no_subscription_existed'], [0x18, 'continue_authentication'],
  [0x19, 're_authenticate'], [0x80, 'unspecified_error'], [0x81, 'malformed_packet'], [0x82, 'protocol_error'],
  [0x83, 'implementation_specific_error'], [0x84, 'unsupported_protocol_version'], [0x85, 'client_identifier_not_valid'],
  [0x86, 'bad_user_name_or_password'], [0x87, 'not_authorized'], [0x88, 'server_unavailable'], [0x89, 'server_busy'],
  [0x8a, 'banned'], [0x8b, 'server_shutting_down'], [0x8c, 'bad_authentication_method'], [0x8d, 'keep_alive_timeout'],
  [0x8e, 'session_taken_over'], [0x8f, 'topic_filter_invalid'], [0x90, 'topic_name_invalid'],
  [0x91, 'packet_identifier_in_use'], [0x92, 'packet_identifier_not_found'], [0x93, 'receive_maximum_exceeded'],
  [0x94, 'topic_alias_invalid'], [0x95, 'packet_too_large'], [0x96, 'message_rate_too_high'], [0x97, 'quota_exceeded'],
  [0x98, 'administrative_action'], [0x99, 'payload_format_invalid'], [0x9a, 'retain_not_supported'],
  [0x9b, 'qos_not_supported'], [0x9c, 'use_another_server'], [0x9d, 'server_moved'],
  [0x9e, 'shared_subscriptions_not_supported'], [0x9f, 'connection_rate_exceeded'], [0xa0, 'maximum_connect_time'],
  [0xa1, 'subscription_identifiers_not_supported'], [0xa2, 'wildcard_subscriptions_not_supported'],
]);

/**
 * The name of a reason/return code for `error.type`: the v3 CONNACK names below version 5, 'failure'
 * for a v3 SUBACK 0x80, else the v5 names; unknown codes as `0x..`.
 */
export function reasonName(packetType: number, version: number, code: number): string {
  if (version !== 5 && packetType === CONNACK && code < CONNACK_V3.length) return CONNACK_V3[code];
  if (version !== 5 && packetType === SUBACK && code === 0x80) return 'failure';
  const n = REASON_V5.get(code);
  return n !== undefined ? n : `0x${code.toString(16).padStart(2, '0')}`;
}

/** Is this code a failure? v3 CONNACK: any non-zero code; everything else: >= 0x80. */
export function isFailure(packetType: number, version: number, code: number): boolean {
  if (packetType === CONNACK && version !== 5 && code < 0x80) return code !== 0;
  return code >= 0x80;
}

/** `spanwire.mqtt.version` for a protocol level. */
export function versionName(level: number): string {
  return level === 5 ? '5.0' : level === 4 ? '3.1.1' : level === 3 ? '3.1' : '';
}

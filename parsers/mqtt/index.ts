/**
 * MQTT 3.1, 3.1.1 and 5.0 over TCP: the registration record. See README.md in this folder for
 * detection, the attributes produced, limits and known gaps.
 */
import type { L7Message, ParserContext, ParserSession, ProbeHint, ProtocolParser, SpanDescription } from '../../core/l7/types.js';
import { PROBE_MATCH, PROBE_NEED_MORE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE } from '../../core/l7/types.js';
import { SPAN_KIND_CONSUMER, SPAN_KIND_PRODUCER } from '../../core/trace/span.js';
import type { MqttInfo } from './session.js';
import { MqttSession } from './session.js';
import {
  CONNECT,
  HDR_BAD,
  HDR_NEED_MORE,
  PUBLISH,
  SENDER,
  SUBSCRIBE,
  UNSUBSCRIBE,
  connectVersion,
  fixedHeader,
  plausibleBody,
  plausibleLength,
  plausibleTopic,
  validFirstByte,
} from './wire.js';

export type { MqttInfo } from './session.js';

/** 1883: MQTT; 1884: a common second listener. 8883 (MQTT over TLS) is not readable. */
const MQTT_PORTS = [1883, 1884];
const PROBE_LIMIT = 512;
/** Packets checked by the probe before it believes the bytes. */
const PROBE_PACKETS = 32;

const tmp = new Int32Array(1);
const tmp2 = new Int32Array(1);

/**
 * Is `buf[offset..offset+length)` MQTT? On any port: a CONNECT (protocol name `MQTT` level 4/5 or
 * `MQIsdp` level 3). On the MQTT ports (a capture that starts after CONNECT): a run of packets with
 * valid types, flags and lengths whose bodies check out, ending exactly at the end of the bytes or in a
 * packet still arriving. Elsewhere: such a run that ends exactly and starts with PUBLISH, SUBSCRIBE or
 * UNSUBSCRIBE. The sender is the client for CONNECT/SUBSCRIBE/UNSUBSCRIBE/PINGREQ, the broker for
 * CONNACK/SUBACK/UNSUBACK/PINGRESP; PUBLISH and acknowledgements go both ways. No allocation.
 */
function probe(buf: Uint8Array, offset: number, length: number, hint: ProbeHint): number {
  if (hint.transport !== 'tcp' || length === 0) return PROBE_NO;
  const end = offset + length;
  const c = buf[offset];
  if (!validFirstByte(c)) return PROBE_NO;
  const onPort = MQTT_PORTS.includes(hint.port);
  const t = c >> 4;
  if (t === CONNECT) {
    const h = fixedHeader(buf, offset, end, tmp);
    if (h === HDR_NEED_MORE) return PROBE_NEED_MORE;
    if (h === HDR_BAD || !plausibleLength(t, tmp[0])) return PROBE_NO;
    const v = connectVersion(buf, offset + h, end);
    if (v < 0) return PROBE_NEED_MORE;
    if (v === 0 || hint.toServer === false) return PROBE_NO;
    return PROBE_REQUEST;
  }
  if (!onPort && t !== PUBLISH && t !== SUBSCRIBE && t !== UNSUBSCRIBE) return PROBE_NO;
  let q = offset;
  let sender = 0;
  for (let n = 0; n < PROBE_PACKETS && q < end; n++) {
    const b0 = buf[q];
    if (!validFirstByte(b0)) return PROBE_NO;
    const h = fixedHeader(buf, q, end, tmp);
    if (h === HDR_BAD) return PROBE_NO;
    if (h === HDR_NEED_MORE) return n === 0 ? PROBE_NEED_MORE : onPort ? verdict(sender, hint) : PROBE_NO;
    const ty = b0 >> 4;
    const rem = tmp[0];
    if (!plausibleLength(ty, rem)) return PROBE_NO;
    if (sender === 0) sender = SENDER[ty] === 3 ? 0 : SENDER[ty];
    const s = q + h;
    if (s + rem > end) {
      // A packet still arriving: believed on the MQTT ports when what is there of it fits.
      if (!onPort) return PROBE_NO;
      if (ty === PUBLISH) {
        if (s + 2 > end) return n === 0 ? PROBE_NEED_MORE : verdict(sender, hint);
        const e = s + 2 + ((buf[s] << 8) | buf[s + 1]);
        if (e > end) return n === 0 && length < PROBE_LIMIT ? PROBE_NEED_MORE : verdict(sender, hint);
        if (plausibleTopic(buf, s, e, true, true) < 0) return PROBE_NO;
        return verdict(sender, hint);
      }
      return n === 0 ? (length < PROBE_LIMIT ? PROBE_NEED_MORE : PROBE_NO) : verdict(sender, hint);
    }
    if (!plausibleBody(ty, b0 & 0x0f, buf, s, s + rem, tmp2)) return PROBE_NO;
    if (ty === PUBLISH && !onPort && plausibleTopic(buf, s, s + rem, true, false) < 0) return PROBE_NO;
    q = s + rem;
  }
  return verdict(sender, hint);
}

function verdict(sender: number, hint: ProbeHint): number {
  if (sender === 0) return PROBE_MATCH;
  if (hint.toServer !== null && hint.toServer !== (sender === 1)) return PROBE_NO;
  return sender === 1 ? PROBE_REQUEST : PROBE_RESPONSE;
}

const OPERATIONS: readonly string[] = ['mqtt', 'connect', '', 'publish', '', '', '', '', 'subscribe', '', 'unsubscribe', '', 'ping', '', 'disconnect', 'auth'];

/**
 * Span: `{operation} {topic}` (`publish sensors/t1`, `subscribe sensors/#`, `process sensors/t1`),
 * else the operation alone (`connect`, `ping`, `subscribe` with several filters). A client's PUBLISH is
 * a PRODUCER span, the broker's (a delivery) a CONSUMER span. Error: a refused CONNACK, a failure
 * reason code (>= 0x80) in an acknowledgement or DISCONNECT, a SUBACK refusing a filter; `error.type`
 * is the code's name (`not_authorized`).
 */
function describeSpan(req: L7Message | null, resp: L7Message | null, _kind: number, out: SpanDescription): void {
  const qi = req !== null ? (req.info as MqttInfo) : null;
  const ri = resp !== null ? (resp.info as MqttInfo) : null;
  const i = qi ?? ri;
  out.error = false;
  out.errorType = '';
  out.message = '';
  out.kind = 0;
  if (i === null) {
    out.name = 'mqtt';
    return;
  }
  const op = i.op === PUBLISH && i.delivery ? 'process' : (OPERATIONS[i.op] ?? 'mqtt');
  out.name = i.topic !== '' ? `${op} ${i.topic}` : op;
  if (i.op === PUBLISH) out.kind = i.delivery ? SPAN_KIND_CONSUMER : SPAN_KIND_PRODUCER;
  const f = ri !== null && ri.failed ? ri : qi !== null && qi.failed ? qi : null;
  if (f !== null) {
    out.error = true;
    out.errorType = f.errorType;
    out.message = f.reasonString !== '' ? f.reasonString : f.errorType;
  }
}

export const mqttParser: ProtocolParser = {
  name: 'mqtt',
  transports: ['tcp'],
  ports: MQTT_PORTS,
  probeLimit: PROBE_LIMIT,
  probe,
  createSession(ctx: ParserContext): ParserSession {
    return new MqttSession(ctx);
  },
  describeSpan,
};

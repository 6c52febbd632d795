/**
 * Kafka (the broker protocol over TCP): the registration record. See README.md in this folder for
 * detection, the attributes produced, limits and known gaps.
 */
import type { L7Message, ParserContext, ParserSession, ProbeHint, ProtocolParser, SpanDescription } from '../../core/l7/types.js';
import { PROBE_NEED_MORE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE } from '../../core/l7/types.js';
import { u32be } from '../../core/l7/bytes.js';
import { SPAN_KIND_CONSUMER, SPAN_KIND_PRODUCER } from '../../core/trace/span.js';
import { API_KEY_FETCH, API_KEY_PRODUCE, errorName } from './schema.js';
import type { KafkaInfo } from './session.js';
import { KafkaSession, plausibleRequest } from './session.js';

export type { KafkaInfo } from './session.js';

const KAFKA_PORTS = [9092, 9093, 29092];
/** A request header with a 256-byte client id fits. */
const PROBE_LIMIT = 512;
/** Largest response size believed by the probe. */
const PROBE_MAX_RESPONSE = 64 << 20;

/**
 * Is `buf[offset..offset+length)` Kafka? A request header on any port: size, a known API key with a
 * version not far past the newest known, a correlation id counting up from 0 and a printable client
 * id. On the Kafka ports, also a response: a size that matches the bytes (or a longer message) and a
 * non-negative correlation id. No allocation.
 */
function probe(buf: Uint8Array, offset: number, length: number, hint: ProbeHint): number {
  if (hint.transport !== 'tcp') return PROBE_NO;
  const end = offset + length;
  const r = plausibleRequest(buf, offset, end);
  if (r === 1) return PROBE_REQUEST;
  if (r === -1) {
    if (length < 4) return PROBE_NEED_MORE;
    // Wait for the rest of the header only if what is there could begin one.
    const size = u32be(buf, offset);
    return size >= 8 && size < 1 << 30 ? PROBE_NEED_MORE : PROBE_NO;
  }
  if (!KAFKA_PORTS.includes(hint.port) || hint.toServer === true || length < 8) return PROBE_NO;
  const size = u32be(buf, offset);
  if (size < 4 || size > PROBE_MAX_RESPONSE || buf[offset + 4] & 0x80) return PROBE_NO;
  return size + 4 === length || size + 4 > length ? PROBE_RESPONSE : PROBE_NO;
}

/**
 * Span: `{operation} {topic}` (`produce orders`), or the operation alone (`join_group`); Produce is a
 * PRODUCER span, Fetch a CONSUMER span; a non-zero error code in the response makes it an error whose
 * type is the error name (`UNKNOWN_TOPIC_OR_PARTITION`).
 */
function describeSpan(req: L7Message | null, resp: L7Message | null, _kind: number, out: SpanDescription): void {
  const qi = req !== null ? (req.info as KafkaInfo) : null;
  const ri = resp !== null ? (resp.info as KafkaInfo) : null;
  let op = qi !== null ? qi.operation : '';
  if (op === '' && ri !== null) op = ri.operation;
  if (op === '') op = 'kafka';
  let topic = qi !== null ? qi.topic : '';
  if (topic === '' && ri !== null) topic = ri.topic;
  out.name = topic !== '' ? `${op} ${topic}` : op;
  const key = qi !== null ? qi.apiKey : ri !== null ? ri.apiKey : -1;
  out.kind = key === API_KEY_PRODUCE ? SPAN_KIND_PRODUCER : key === API_KEY_FETCH ? SPAN_KIND_CONSUMER : 0;
  out.error = false;
  out.errorType = '';
  out.message = '';
  if (ri !== null && ri.errorCode !== 0) {
    out.error = true;
    out.errorType = errorName(ri.errorCode);
    out.message = `${out.errorType} (${ri.errorCode})`;
  }
}

export const kafkaParser: ProtocolParser = {
  name: 'kafka',
  transports: ['tcp'],
  ports: KAFKA_PORTS,
  probeLimit: PROBE_LIMIT,
  probe,
  createSession(ctx: ParserContext): ParserSession {
    return new KafkaSession(ctx);
  },
  describeSpan,
};

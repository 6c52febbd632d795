/**
 * Golden tests on real MQTT captures made by others (DeepFlow's corpus), checked against tshark's MQTT
 * dissector on the same files. From tshark's packets the test derives the exchanges the protocol
 * defines: each client request (CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT) and the
 * packet that ends it (CONNACK, PUBACK, PUBCOMP for QoS 2, SUBACK, UNSUBACK, PINGRESP; QoS 0 publishes
 * and DISCONNECT are one-way), with their times, topics, packet ids, QoS, client id, version and
 * CONNACK code; spanwire must give exactly those spans.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SpanData } from '../../core/trace/span.js';
import { PCAPS, durationUs, replaySpans, startEpoch, tshark } from '../helpers/replay.js';

const MQTT = resolve(PCAPS, 'deepflow/mqtt');
const DECODE = ['-d', 'tcp.port==1883,mqtt', '-E', 'occurrence=a', '-E', 'aggregator=|'];
const FIELDS = ['frame.number', 'frame.time_epoch', 'tcp.dstport', 'mqtt.msgtype', 'mqtt.topic', 'mqtt.msgid', 'mqtt.qos', 'mqtt.clientid', 'mqtt.ver', 'mqtt.conack.val'];
const VERSIONS: Record<string, string> = { '3': '3.1', '4': '3.1.1', '5': '5.0' };

interface Packet {
  frame: number;
  /** Seconds since the epoch with microseconds, as tshark prints them. */
  time: string;
  toBroker: boolean;
  type: number;
  topics: string[];
  msgid: number;
  qos: number;
}

interface Expected {
  name: string;
  start: string;
  end: string;
  kind: number;
  attrs: Record<string, unknown>;
}

/** tshark's MQTT packets, one per MQTT message (a frame with several carries several). */
function packets(file: string): { packets: Packet[]; clientId: string; version: string; conack: string } {
  const rows = tshark(file, 'mqtt', FIELDS, DECODE);
  const out: Packet[] = [];
  let clientId = '';
  let version = '';
  let conack = '';
  for (const [frame, time, dport, types, topics, msgids, qoss, cid, ver, ca] of rows) {
    const ts = types.split('|').map(Number);
    const tp = topics ? topics.split('|') : [];
    const ids = msgids ? msgids.split('|').map(Number) : [];
    const qs = qoss ? qoss.split('|').map(Number) : [];
    if (cid) clientId = cid;
    if (ver) version = VERSIONS[ver];
    if (ca) conack = ca;
    ts.forEach((type, i) => {
      // A frame with several packets carries one of each field per packet (the corpus's are all PUBLISH).
      const one = ts.length === 1;
      out.push({
        frame: Number(frame),
        time: time.replace(/(\.\d{6})\d*$/, '$1'),
        toBroker: dport === '1883',
        type,
        topics: one ? tp : [tp[i]],
        msgid: one ? (ids[0] ?? 0) : ids[i],
        qos: one ? (qs[0] ?? 0) : qs[i],
      });
    });
  }
  return { packets: out, clientId, version, conack };
}

/** The exchanges the protocol defines over tshark's packets. */
function expectedSpans(file: string): Expected[] {
  const { packets: pk, clientId, version, conack } = packets(file);
  const out: Expected[] = [];
  const used = new Set<Packet>();
  const answer = (from: number, match: (p: Packet) => boolean) => {
    const a = pk.slice(from + 1).find((p) => !used.has(p) && match(p));
    if (a) used.add(a);
    return a;
  };
  pk.forEach((p, i) => {
    if (!p.toBroker) return;
    const attrs: Record<string, unknown> = { 'messaging.system': 'mqtt' };
    if (clientId) attrs['messaging.client.id'] = clientId;
    if (version) attrs['spanwire.mqtt.version'] = version;
    let name = '';
    let end: Packet | undefined = p;
    let kind = 3;
    switch (p.type) {
      case 1:
        name = 'connect';
        end = answer(i, (a) => a.type === 2);
        attrs['spanwire.mqtt.reason_code'] = Number(conack);
        break;
      case 3:
        name = `publish ${p.topics[0]}`;
        kind = 4;
        attrs['messaging.destination.name'] = p.topics[0];
        attrs['spanwire.mqtt.qos'] = p.qos;
        if (p.qos > 0) attrs['spanwire.mqtt.packet_id'] = p.msgid;
        if (p.qos === 1) end = answer(i, (a) => a.type === 4 && a.msgid === p.msgid);
        if (p.qos === 2) end = answer(i, (a) => a.type === 7 && a.msgid === p.msgid && !a.toBroker);
        break;
      case 8:
      case 10:
        name = (p.type === 8 ? 'subscribe' : 'unsubscribe') + (p.topics.length === 1 ? ` ${p.topics[0]}` : '');
        attrs['spanwire.mqtt.topic_filters'] = p.topics;
        attrs['spanwire.mqtt.packet_id'] = p.msgid;
        end = answer(i, (a) => a.type === p.type + 1 && a.msgid === p.msgid);
        break;
      case 12:
        name = 'ping';
        end = answer(i, (a) => a.type === 13);
        break;
      case 14:
        name = 'disconnect';
        break;
      default:
        return; // PUBREL: part of a QoS 2 exchange
    }
    out.push({ name, start: p.time, end: end!.time, kind, attrs });
  });
  return out;
}

function endEpoch(s: SpanData): string {
  return `${s.endTime[0]}.${String(Math.floor(s.endTime[1] / 1e3)).padStart(6, '0')}`;
}

async function expectMatchesTshark(file: string): Promise<SpanData[]> {
  const want = expectedSpans(file);
  const { spans } = await replaySpans([file]);
  const mqtt = spans.filter((s) => s.attributes['spanwire.protocol'] === 'mqtt');
  const got = mqtt.map((s) => ({ name: s.name, start: startEpoch(s), end: endEpoch(s), kind: s.kind, attrs: s.attributes }));
  const key = (x: { start: string; name: string; end: string }) => `${x.start} ${x.end} ${x.name}`;
  got.sort((a, b) => key(a).localeCompare(key(b)));
  want.sort((a, b) => key(a).localeCompare(key(b)));
  expect(got.map(key)).toEqual(want.map(key));
  want.forEach((w, i) => {
    expect(got[i].kind, w.name).toBe(w.kind);
    expect(got[i].attrs, w.name).toMatchObject(w.attrs);
  });
  for (const s of mqtt) expect(s.status.code, s.name).not.toBe(2);
  return mqtt;
}

describe('MQTT golden captures (checked against tshark)', () => {
  it('mqtt_connect.pcap: CONNECT/CONNACK, 3.1.1, client id test-1; latency as the corpus README says (256746 us)', async () => {
    const spans = await expectMatchesTshark(resolve(MQTT, 'mqtt_connect.pcap'));
    expect(spans.length).toBe(1);
    expect(durationUs(spans[0])).toBe(256746);
  });

  it('mqtt_sub.pcap: a SUBSCRIBE without its CONNECT (mid-connection); latency 272795 us', async () => {
    const spans = await expectMatchesTshark(resolve(MQTT, 'mqtt_sub.pcap'));
    expect(spans.map((s) => s.name)).toEqual(['subscribe hello/+/world']);
    expect(durationUs(spans[0])).toBe(272795);
  });

  it('mqtt_one_packet_multi_publish.pcap: ten QoS 1 publishes in one segment, each paired with its PUBACK', async () => {
    const spans = await expectMatchesTshark(resolve(MQTT, 'mqtt_one_packet_multi_publish.pcap'));
    expect(spans.length).toBe(10);
    expect(new Set(spans.map((s) => s.kind))).toEqual(new Set([4]));
  });

  it('mqtt_pub.pcap: connect and two QoS 1 publishes of 256-byte payloads', async () => {
    const file = resolve(MQTT, 'mqtt_pub.pcap');
    const spans = await expectMatchesTshark(file);
    expect(spans.length).toBe(3);
    // Payload sizes: the bytes of tshark's mqtt.msg field.
    const sizes = tshark(file, 'mqtt.msgtype==3', ['mqtt.msg'], DECODE).map(([hex]) => hex.length / 2);
    expect(sizes).toEqual([256, 256]);
    expect(spans.filter((s) => s.name === 'publish bench').map((s) => s.attributes['messaging.message.body.size'])).toEqual(sizes);
  });

  it('mqtt_roundtrip.pcap: subscribe, unsubscribe, ping, a three-filter subscribe, QoS 0/1/2 publishes (QoS 2 ends at PUBCOMP), disconnect', async () => {
    const spans = await expectMatchesTshark(resolve(MQTT, 'mqtt_roundtrip.pcap'));
    expect(spans.length).toBe(9);
    const multi = spans.find((s) => s.name === 'subscribe')!;
    expect(multi.attributes['spanwire.mqtt.reason_codes']).toEqual([1, 1, 1]);
    expect(multi.attributes['messaging.destination.name']).toBeUndefined();
  });

  it('mqtt_error.pcap: a DNS datagram on port 53, not MQTT', async () => {
    expect(tshark(resolve(MQTT, 'mqtt_error.pcap'), 'mqtt', ['frame.number'], DECODE)).toEqual([]);
    const { spans } = await replaySpans([resolve(MQTT, 'mqtt_error.pcap')]);
    expect(spans.filter((s) => s.attributes['spanwire.protocol'] === 'mqtt')).toEqual([]);
  });
});

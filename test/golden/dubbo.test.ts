/**
 * Golden tests on real Dubbo captures made by others (DeepFlow's corpus). tshark 4.0 has no Dubbo
 * dissector, so the oracle is the protocol specification applied to the bytes by this test, on its
 * own: tshark only extracts each TCP payload, and the test decodes the 16-byte header (magic 0xdabb,
 * flags, status, request id, body length; Apache Dubbo ExchangeCodec) and, for Hessian2 calls, the
 * leading strings of the body (Dubbo version, service path, service version, method; DubboCodec, in
 * Hessian 2.0's compact string forms). Counts and latencies are also checked against the corpus
 * README and the reference agent's .result files (a second opinion on the same bytes).
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SpanData } from '../../core/trace/span.js';
import { PCAPS, durationUs, replaySpans, tshark } from '../helpers/replay.js';

const DUBBO = resolve(PCAPS, 'deepflow/dubbo');

interface WireMessage {
  frame: number;
  srcPort: number;
  request: boolean;
  twoWay: boolean;
  event: boolean;
  serialization: number;
  status: number;
  id: bigint;
  bodyLength: number;
  strings: string[];
}

/** Hessian 2.0 compact strings only (x00-x1f: 0-31 chars, x30-x33: 0-1023 chars), ASCII. */
function hessianStrings(b: Buffer, p: number, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count && p < b.length; i++) {
    const c = b[p];
    let n: number;
    if (c <= 0x1f) {
      n = c;
      p += 1;
    } else if (c >= 0x30 && c <= 0x33) {
      n = ((c - 0x30) << 8) + b[p + 1];
      p += 2;
    } else if (c === 0x4e) {
      out.push('');
      p += 1;
      continue;
    } else break;
    out.push(b.toString('latin1', p, p + n));
    p += n;
  }
  return out;
}

/** The Dubbo messages of a capture, decoded from tshark's TCP payloads by the specification. */
function wireMessages(file: string): WireMessage[] {
  const rows = tshark(file, 'tcp.len > 0', ['frame.number', 'tcp.srcport', 'tcp.payload']);
  return rows.map(([frame, port, hex]) => {
    const b = Buffer.from(hex.replace(/:/g, ''), 'hex');
    expect(b.readUInt16BE(0), `frame ${frame}: magic`).toBe(0xdabb);
    const flags = b[2];
    const request = (flags & 0x80) !== 0;
    const serialization = flags & 0x1f;
    return {
      frame: Number(frame),
      srcPort: Number(port),
      request,
      twoWay: (flags & 0x40) !== 0,
      event: (flags & 0x20) !== 0,
      serialization,
      status: b[3],
      id: b.readBigUInt64BE(4),
      bodyLength: b.readUInt32BE(12),
      strings: request && serialization === 2 ? hessianStrings(b, 16, 4) : [],
    };
  });
}

async function spansOf(file: string): Promise<SpanData[]> {
  const { spans } = await replaySpans([file]);
  return spans.filter((s) => s.attributes['spanwire.protocol'] === 'dubbo');
}

describe('Dubbo golden captures (checked against the specification and the corpus)', () => {
  it('dubbo_hessian2.pcap: one Hessian2 call and its answer (README: 1 request, 1 response, rrt 4332 us)', async () => {
    const file = resolve(DUBBO, 'dubbo_hessian2.pcap');
    const wire = wireMessages(file);
    expect(wire.map((m) => [m.request, m.serialization, m.status, m.id])).toEqual([
      [true, 2, 0, 22872n],
      [false, 2, 20, 22872n],
    ]);
    const [version, service, serviceVersion, method] = wire[0].strings;
    const spans = await spansOf(file);
    expect(spans.length).toBe(1);
    const s = spans[0];
    expect(s.name).toBe(`${service}/${method}`);
    expect(s.name).toBe('my.demo.service.UserService/login'); // the .result's endpoint
    expect(s.attributes['rpc.system.name']).toBe('dubbo');
    expect(s.attributes['rpc.method']).toBe('my.demo.service.UserService/login');
    expect(s.attributes['spanwire.dubbo.version']).toBe(version);
    expect(s.attributes['spanwire.dubbo.service.version']).toBe(serviceVersion);
    expect(s.attributes['spanwire.dubbo.serialization']).toBe('hessian2');
    expect(s.attributes['spanwire.dubbo.request_id']).toBe(Number(wire[0].id));
    expect(s.attributes['rpc.response.status_code']).toBe('OK');
    expect(s.attributes['spanwire.dubbo.parameter_types']).toBe('Ljava/lang/String;Ljava/lang/String;');
    expect(s.status.code).not.toBe(2);
    expect(durationUs(s)).toBe(4332);
    // Its sw8 attachment is empty: no trace context.
    expect(s.attributes['spanwire.link.method']).toBeUndefined();
  });

  it('dubbo-kryo.pcap: two Kryo calls, each answered OK (rrt 1119 and 1150 us in the .result)', async () => {
    const file = resolve(DUBBO, 'dubbo-kryo.pcap');
    const wire = wireMessages(file);
    expect(wire.map((m) => [m.request, m.twoWay, m.serialization, m.status, m.id])).toEqual([
      [true, true, 8, 0, 3962641n],
      [false, false, 8, 20, 3962641n],
      [true, true, 8, 0, 3962657n],
      [false, false, 8, 20, 3962657n],
    ]);
    const spans = await spansOf(file);
    expect(spans.map((s) => [s.attributes['spanwire.dubbo.request_id'], s.attributes['rpc.response.status_code'], durationUs(s)])).toEqual([
      [3962641, 'OK', 1119],
      [3962657, 'OK', 1150],
    ]);
    for (const s of spans) {
      expect(s.attributes['spanwire.dubbo.serialization']).toBe('kryo');
      // Kryo strings (ASCII, last byte | 0x80), read by the test from the bytes at offsets 16...
      expect(s.name).toBe('com.zznode.itms.api.OFOPServer/sendOfopMsg');
      expect(s.attributes['spanwire.dubbo.version']).toBe('2.8.4');
      expect(s.attributes['spanwire.dubbo.service.version']).toBe('1.0.0');
      expect(s.status.code).not.toBe(2);
    }
    // The Kryo bytes of the first call, decoded here: "2.8.4" "com.zznode.itms.api.OFOPServer" "1.0.0" "sendOfopMsg".
    const payload = Buffer.from(tshark(file, 'frame.number == 1', ['tcp.payload'])[0][0].replace(/:/g, ''), 'hex');
    const kryo: string[] = [];
    let p = 16;
    for (let i = 0; i < 4; i++) {
      let q = p;
      while ((payload[q] & 0x80) === 0) q++;
      kryo.push(payload.toString('latin1', p, q) + String.fromCharCode(payload[q] & 0x7f));
      p = q + 1;
    }
    expect(kryo).toEqual(['2.8.4', 'com.zznode.itms.api.OFOPServer', '1.0.0', 'sendOfopMsg']);
  });

  it('dubbo-sw8.pcap: a call carrying a SkyWalking sw8 attachment joins that trace', async () => {
    const file = resolve(DUBBO, 'dubbo-sw8.pcap');
    const wire = wireMessages(file);
    expect(wire.length).toBe(1);
    expect(wire[0].id).toBe(102499n);
    const [version, service, , method] = wire[0].strings;
    const spans = await spansOf(file);
    expect(spans.length).toBe(1);
    const s = spans[0];
    expect(s.name).toBe(`${service}/${method}`);
    expect(s.name).toBe('my.demo.service.ItemService/findItem');
    expect(s.attributes['spanwire.dubbo.version']).toBe(version);
    expect(s.attributes['spanwire.link.method']).toBe('sw8');
    // The sw8 trace id (the .result's trace_ids) is a SkyWalking Java-agent id {32 hex}.{mid}.{last};
    // mapped as the OTel Collector's skywalkingreceiver does: the 16 bytes of the hex, XOR mid as 4
    // little-endian bytes at 4..7, XOR last as 8 little-endian bytes at 8..15.
    const id = Buffer.from('c8164cae90e94fe68493c106ea95f1ee', 'hex');
    id.writeUInt32LE((id.readUInt32LE(4) ^ 66) >>> 0, 4);
    id.writeBigUInt64LE(id.readBigUInt64LE(8) ^ 16667985488510067n, 8);
    expect(s.traceId).toBe(id.toString('hex'));
    // Parent: segment id "c8164cae90e94fe68493c106ea95f1ee.66.16667985488510066", span 3: the same
    // mapping with the span id XORed (little-endian) into bytes 0..3, then bytes 0..7 XOR 8..15.
    const seg = Buffer.from('c8164cae90e94fe68493c106ea95f1ee', 'hex');
    seg.writeUInt32LE((seg.readUInt32LE(0) ^ 3) >>> 0, 0);
    seg.writeUInt32LE((seg.readUInt32LE(4) ^ 66) >>> 0, 4);
    seg.writeBigUInt64LE(seg.readBigUInt64LE(8) ^ 16667985488510066n, 8);
    const parent = Buffer.alloc(8);
    for (let i = 0; i < 8; i++) parent[i] = seg[i] ^ seg[8 + i];
    expect(s.parentSpanId).toBe(parent.toString('hex'));
    // The capture holds no answer.
    expect(s.attributes['error.type']).toBe('no_response');
  });

  it('dubbo-eys.pcap: an 838-byte call with a long argument and 20 attachments, incl. a custom traceId', async () => {
    const file = resolve(DUBBO, 'dubbo-eys.pcap');
    const wire = wireMessages(file);
    expect(wire.map((m) => [m.request, m.id, m.bodyLength])).toEqual([[true, 490361n, 838]]); // req_msg_size 838 in the .result
    const [version, service, serviceVersion, method] = wire[0].strings;
    const [s] = await spansOf(file);
    expect(s.name).toBe(`${service}/${method}`);
    expect(s.name).toBe('com.vivo.it.vwork.api.common.export.ExportApi/getById');
    expect([s.attributes['spanwire.dubbo.version'], s.attributes['spanwire.dubbo.service.version']]).toEqual([version, serviceVersion]);
    expect(s.attributes['spanwire.dubbo.parameter_types']).toBe('Ljava/io/Serializable;');
    // The "traceId" attachment (bytes 0x07 "traceId" 0x30 0x20 + 32 chars in the payload).
    const payload = Buffer.from(tshark(file, 'tcp.len > 0', ['tcp.payload'])[0][0].replace(/:/g, ''), 'hex');
    const at = payload.indexOf(Buffer.from('\x07traceId0 ', 'latin1'));
    expect(at).toBeGreaterThan(0);
    expect(s.attributes['spanwire.dubbo.trace_id']).toBe(payload.toString('latin1', at + 10, at + 42));
  });
});

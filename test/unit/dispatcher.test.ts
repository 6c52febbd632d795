import { describe, expect, it } from 'vitest';
import type { Flow } from '../../core/flow/types.js';
import { ROLE_FROM_HANDSHAKE, ROLE_FROM_PAYLOAD, ROLE_FROM_PORTS } from '../../core/flow/types.js';
import type { FlowL7, MessageSink } from '../../core/l7/dispatcher.js';
import { L7Dispatcher } from '../../core/l7/dispatcher.js';
import { ParserRegistry } from '../../core/l7/registry.js';
import type { L7Message, ParserContext, ProtocolParser } from '../../core/l7/types.js';
import {
  MSG_REQUEST,
  MSG_RESPONSE,
  PARSE_ERROR,
  PROBE_NEED_MORE,
  PROBE_NO,
  PROBE_REQUEST,
  PROBE_RESPONSE,
  SESSION_FIFO,
} from '../../core/l7/types.js';

// A toy line protocol: requests "Q<text>\n", responses "A<text>\n", "X\n" is a protocol error,
// "!\n" makes the parser throw, "SWITCH\n" hands the flow to the 'upper' parser (which upper-cases).
function lineParser(name: string, lead = 'Q'): ProtocolParser {
  return {
    name,
    transports: ['tcp'],
    ports: [],
    probeLimit: 2,
    probe(buf, off, len) {
      if (len < 1) return PROBE_NEED_MORE;
      const c = String.fromCharCode(buf[off]);
      if (c === lead) return PROBE_REQUEST;
      if (c === 'A') return PROBE_RESPONSE;
      return PROBE_NO;
    },
    createSession(ctx: ParserContext) {
      // What the previous parser handed over (switchProtocol's second argument), shown in messages.
      const handed = (ctx.handoff as { from?: string } | null)?.from ?? '';
      return {
        parse(toServer, buf, off, len) {
          let consumed = 0;
          for (;;) {
            const nl = buf.subarray(off + consumed, off + len).indexOf(10);
            if (nl < 0) return consumed;
            const line = Buffer.from(buf.subarray(off + consumed, off + consumed + nl)).toString('latin1');
            const startTs = consumed === 0 ? ctx.firstByteTs : ctx.lastByteTs;
            consumed += nl + 1;
            if (line === 'X') return PARSE_ERROR;
            if (line === '!') throw new Error('boom');
            if (line === 'SWITCH') {
              ctx.switchProtocol('upper', { from: name });
              return consumed;
            }
            if (line === 'STOP') {
              ctx.stop('tunnel');
              return consumed;
            }
            const text = name === 'upper' ? `${line.toUpperCase()}${handed ? ` (from ${handed})` : ''}` : line;
            ctx.emit({
              type: toServer ? MSG_REQUEST : MSG_RESPONSE,
              sessionId: SESSION_FIFO,
              startTs,
              endTs: ctx.lastByteTs,
              size: nl + 1,
              attrs: {},
              expectsResponse: true,
              trace: null,
              afterGap: false,
              info: text,
            });
          }
        },
        onGap(toServer, len) {
          ctx.anomaly(`gap_${toServer ? 'req' : 'resp'}_${len}`);
        },
        onEnd() {},
      };
    },
    describeSpan(_q, _r, _k, out) {
      out.name = name;
    },
  };
}

function makeFlow(over: Partial<Flow> = {}): Flow {
  return {
    id: 1,
    transport: 'tcp',
    ipVersion: 4,
    addrA: '10.0.0.1',
    portA: 40000,
    addrB: '10.0.0.2',
    portB: 20880,
    clientIsA: true,
    roleSource: ROLE_FROM_PORTS,
    firstTs: 0,
    lastTs: 0,
    packetsA: 0,
    packetsB: 0,
    bytesA: 0,
    bytesB: 0,
    l7: null,
    ...over,
  };
}

function setup() {
  const msgs: { info: string; type: number; startTs: number; endTs: number; proto: string }[] = [];
  const ended: string[] = [];
  const sink: MessageSink = {
    onMessage(st: FlowL7, m: L7Message) {
      msgs.push({ info: m.info as string, type: m.type, startTs: m.startTs, endTs: m.endTs, proto: st.protocol });
    },
    onFlowEnd(_st, reason) {
      ended.push(reason);
    },
  };
  const reg = new ParserRegistry().register(lineParser('line')).register(lineParser('upper', '\u0000'));
  const d = new L7Dispatcher(reg, sink, { limits: { maxProbeAttempts: 4 } });
  return { d, msgs, ended };
}

const enc = (s: string) => new TextEncoder().encode(s);

describe('L7Dispatcher', () => {
  it('detects from payload on any port and learns the client side from a response', () => {
    const { d, msgs } = setup();
    // Ports say A is the client, but A sends responses: B is the client.
    const flow = makeFlow();
    d.onFlowStart(flow);
    d.onData(flow, true, enc('Ahello\n'), 0, 7, 5);
    expect(flow.clientIsA).toBe(false);
    expect(flow.roleSource).toBe(ROLE_FROM_PAYLOAD);
    d.onData(flow, false, enc('Qworld\n'), 0, 7, 6);
    expect(msgs.map((m) => [m.info, m.type])).toEqual([
      ['Ahello', MSG_RESPONSE],
      ['Qworld', MSG_REQUEST],
    ]);
    expect(msgs[0].proto).toBe('line');
  });

  it('parses bytes the other side sent first, held while their probe needed more, before the answer that chose the parser', () => {
    // The request's first bytes do not tell yet (NEED_MORE); the response does: the request must
    // still come first, with its own timestamp, not be dropped.
    const base = lineParser('line');
    const parser: ProtocolParser = { ...base, probeLimit: 64, probe: (buf, off, len, hint) => (buf[off] === 0x51 && len < 8 ? PROBE_NEED_MORE : base.probe(buf, off, len, hint)) };
    const msgs: [string, number, number][] = [];
    const sink: MessageSink = { onMessage: (_st, m) => void msgs.push([m.info as string, m.type, m.startTs]), onFlowEnd() {} };
    const d = new L7Dispatcher(new ParserRegistry().register(parser), sink);
    const flow = makeFlow();
    d.onFlowStart(flow);
    d.onData(flow, true, enc('Qping\n'), 0, 6, 10);
    expect(msgs).toEqual([]);
    d.onData(flow, false, enc('Apong\n'), 0, 6, 20);
    expect(msgs).toEqual([
      ['Qping', MSG_REQUEST, 10],
      ['Apong', MSG_RESPONSE, 20],
    ]);
  });

  it('keeps the handshake role over the payload', () => {
    const { d } = setup();
    const flow = makeFlow({ roleSource: ROLE_FROM_HANDSHAKE, clientIsA: true });
    d.onFlowStart(flow);
    d.onData(flow, true, enc('Ahello\n'), 0, 7, 5);
    expect(flow.clientIsA).toBe(true);
  });

  it('gives the same messages whatever the split points, with first-byte timestamps', () => {
    const stream = 'Qone\nQtwo\nQthree-is-longer\n';
    const reference = (() => {
      const { d, msgs } = setup();
      const f = makeFlow();
      d.onFlowStart(f);
      d.onData(f, true, enc(stream), 0, stream.length, 1);
      return msgs.map((m) => m.info);
    })();
    expect(reference).toEqual(['Qone', 'Qtwo', 'Qthree-is-longer']);
    for (let cut1 = 1; cut1 < stream.length; cut1++) {
      for (let cut2 = cut1; cut2 < stream.length; cut2 += 3) {
        const { d, msgs } = setup();
        const f = makeFlow();
        d.onFlowStart(f);
        const b = enc(stream);
        d.onData(f, true, b, 0, cut1, 1);
        if (cut2 > cut1) d.onData(f, true, b, cut1, cut2 - cut1, 2);
        d.onData(f, true, b, cut2, b.length - cut2, 3);
        expect(msgs.map((m) => m.info)).toEqual(reference);
        // The first message starts in the first piece: its start time is that piece's time.
        expect(msgs[0].startTs).toBe(1);
      }
    }
  });

  it('stops a parser that fails or throws for that flow only, counting it', () => {
    const { d, msgs } = setup();
    const f1 = makeFlow({ id: 1 });
    const f2 = makeFlow({ id: 2 });
    d.onFlowStart(f1);
    d.onFlowStart(f2);
    d.onData(f1, true, enc('Qa\nX\nQb\n'), 0, 9, 1);
    d.onData(f2, true, enc('Qc\n!\n'), 0, 5, 1);
    d.onData(f1, true, enc('Qd\n'), 0, 3, 2);
    d.onData(f2, true, enc('Qe\n'), 0, 3, 2);
    const f3 = makeFlow({ id: 3 });
    d.onFlowStart(f3);
    d.onData(f3, true, enc('Qf\n'), 0, 3, 3);
    expect(msgs.map((m) => m.info)).toEqual(['Qa', 'Qc', 'Qf']);
    expect(d.stats.anomalies).toMatchObject({ line_parse_error: 1, line_parser_exception: 1 });
    expect(d.stats.bytesIgnored).toBeGreaterThan(0);
  });

  it('hands the rest of the bytes to another parser on switchProtocol', () => {
    const { d, msgs } = setup();
    const f = makeFlow();
    d.onFlowStart(f);
    d.onData(f, true, enc('Qa\nSWITCH\nqb\n'), 0, 13, 1);
    // The new session got the hand-over object in createSession; the flow does not keep it.
    expect(msgs.map((m) => `${m.proto}:${m.info}`)).toEqual(['line:Qa', 'upper:QB (from line)']);
    expect((f.l7 as FlowL7).handoff).toBeNull();
  });

  it('ignores the rest of a flow after stop', () => {
    const { d, msgs } = setup();
    const f = makeFlow();
    d.onFlowStart(f);
    d.onData(f, true, enc('Qa\nSTOP\nQb\n'), 0, 11, 1);
    d.onData(f, false, enc('Ax\n'), 0, 3, 2);
    expect(msgs.map((m) => m.info)).toEqual(['Qa']);
    expect(d.stats.bytesIgnored).toBe(3 + 3);
  });

  it('passes a gap to the parser including the bytes it was holding', () => {
    const { d } = setup();
    const f = makeFlow();
    d.onFlowStart(f);
    d.onData(f, true, enc('Qa\nQpartial'), 0, 11, 1);
    d.onGap(f, true, 100, 2);
    expect(d.stats.anomalies).toMatchObject({ gap_req_108: 1 });
  });

  it('declares a flow unknown after its probe attempts, counting it', () => {
    const { d, msgs } = setup();
    const f = makeFlow();
    d.onFlowStart(f);
    for (let i = 0; i < 6; i++) d.onData(f, i % 2 === 0, enc('zzz\n'), 0, 4, i);
    d.onData(f, true, enc('Qlate\n'), 0, 6, 9);
    expect(msgs).toEqual([]);
    expect(d.stats.flowsByProtocol).toEqual({ unknown: 1 });
  });

  it('recognises a later message after unrecognised bytes (mid-stream start)', () => {
    const { d, msgs } = setup();
    const f = makeFlow();
    d.onFlowStart(f);
    d.onData(f, false, enc('tail of a body\n'), 0, 15, 1);
    d.onData(f, true, enc('Qnext\n'), 0, 6, 2);
    expect(msgs.map((m) => m.info)).toEqual(['Qnext']);
  });

  it('ends both directions and tells the sink when the flow ends', () => {
    const { d, ended } = setup();
    const f = makeFlow();
    d.onFlowStart(f);
    d.onData(f, true, enc('Qa\n'), 0, 3, 1);
    d.onFlowEnd(f, 'fin', 5);
    expect(ended).toEqual(['fin']);
  });
});

describe('ParserRegistry', () => {
  it('probes plugins first whatever the ports, then port-hinted built-ins, then the rest', () => {
    const mk = (name: string, ports: number[]): ProtocolParser => ({ ...lineParser(name), ports });
    const r = new ParserRegistry().register(mk('a', [])).register(mk('b', [80])).registerPlugin(mk('p1', [])).registerPlugin(mk('p2', [9]));
    expect(r.candidates('tcp', 40000, 80).map((p) => p.name)).toEqual(['p1', 'p2', 'b', 'a']);
    expect(r.candidates('udp', 40000, 80)).toEqual([]);
    expect(() => r.registerPlugin(mk('a', []))).toThrow(/registered twice/);
  });
});

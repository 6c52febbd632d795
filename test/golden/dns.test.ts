/**
 * Golden tests on real DNS captures made by others (DeepFlow's corpus: UDP, TCP with two queries in
 * one segment, NXDOMAIN, SRV). Expected values come from tshark run on the same file and from the
 * corpus README's counts, never from spanwire's own output.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SpanData } from '../../core/trace/span.js';
import { PCAPS, durationUs, replaySpans, tshark } from '../helpers/replay.js';

const DNS = resolve(PCAPS, 'deepflow/dns');

/** Independent of the parser's tables: the types and rcodes these captures use. */
const QTYPES: Record<string, string> = { '1': 'A', '2': 'NS', '5': 'CNAME', '28': 'AAAA', '33': 'SRV' };
const RCODES: Record<string, string> = { '0': 'NOERROR', '2': 'SERVFAIL', '3': 'NXDOMAIN', '5': 'REFUSED' };

interface TsharkMsg {
  frame: string;
  response: boolean;
  id: number;
  name: string;
  qtype: string;
  rcode: string;
}

/**
 * One entry per DNS message tshark sees (a TCP segment may hold several: tshark then lists each
 * message's fields comma-separated, so all occurrences are asked for here).
 */
function tsharkMessages(file: string): TsharkMsg[] {
  const fields = ['frame.number', 'dns.flags.response', 'dns.id', 'dns.qry.name', 'dns.qry.type', 'dns.flags.rcode'];
  const args = ['-r', file, '-Y', 'dns', '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const f of fields) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const msgs: TsharkMsg[] = [];
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [frame, resp, id, name, qtype, rcode] = line.split('\t').map((c) => c.split(','));
    for (let i = 0; i < id.length; i++) {
      msgs.push({
        frame: frame[0],
        response: resp[i] === '1' || resp[i] === 'True',
        id: Number(id[i]),
        name: name[i].toLowerCase(),
        qtype: QTYPES[qtype[i]] ?? qtype[i],
        rcode: RCODES[rcode[i]] ?? rcode[i],
      });
    }
  }
  return msgs;
}

/** Answer-section A addresses of each response frame (dns.a lists answers first, then glue). */
function tsharkAnswerA(file: string): Map<number, string[]> {
  const rows = tshark(file, 'dns.flags.response == 1', ['dns.id', 'dns.count.answers'], []);
  const args = ['-r', file, '-Y', 'dns.flags.response == 1', '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=,', '-e', 'dns.resp.type', '-e', 'dns.a'];
  const all = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .split('\n')
    .filter((l) => l !== '');
  const out = new Map<number, string[]>();
  rows.forEach(([id, count], i) => {
    const [types, addrs] = all[i].split('\t').map((c) => (c === '' ? [] : c.split(',')));
    const nA = types.slice(0, Number(count)).filter((t) => t === '1').length;
    out.set(Number(id), addrs.slice(0, nA));
  });
  return out;
}

/** One span per query/response pair, matched by id, with tshark's name, type and rcode. */
async function expectMatchesTshark(file: string): Promise<{ spans: SpanData[]; msgs: TsharkMsg[] }> {
  const msgs = tsharkMessages(file);
  const queries = msgs.filter((m) => !m.response);
  const responses = msgs.filter((m) => m.response);
  const { spans, summary } = await replaySpans([file]);
  expect(spans.length).toBe(queries.length);
  expect(summary.spansByProtocol).toEqual({ dns: queries.length });
  expect(summary.requests).toBe(queries.length);
  expect(summary.responses).toBe(responses.length);
  expect(summary.responsesWithoutRequest).toBe(0);
  const byId = new Map(spans.map((s) => [s.attributes['spanwire.dns.id'] as number, s]));
  expect(byId.size).toBe(spans.length);
  const answers = tsharkAnswerA(file);
  for (const q of queries) {
    const s = byId.get(q.id);
    expect(s, `query id ${q.id}`).toBeDefined();
    expect(s!.name).toBe(`DNS ${q.qtype}`);
    expect(s!.attributes['dns.question.name']).toBe(q.name);
    expect(s!.attributes['spanwire.dns.question.type']).toBe(q.qtype);
    const r = responses.find((m) => m.id === q.id);
    if (r === undefined) continue;
    expect(r.name).toBe(q.name);
    expect(s!.attributes['spanwire.dns.rcode']).toBe(r.rcode);
    if (r.rcode === 'NOERROR') {
      expect(s!.status.code).toBe(0);
      expect(s!.attributes['error.type']).toBeUndefined();
    } else {
      expect(s!.status.code).toBe(2);
      expect(s!.attributes['error.type']).toBe(r.rcode === 'NXDOMAIN' ? 'host_not_found' : r.rcode);
    }
    const a = answers.get(q.id) ?? [];
    const got = ((s!.attributes['dns.answers'] as string[] | undefined) ?? []).filter((x) => /^\d+\.\d+\.\d+\.\d+$/.test(x));
    expect(got).toEqual(a);
  }
  return { spans, msgs };
}

const byId = (spans: SpanData[], id: number) => spans.find((s) => s.attributes['spanwire.dns.id'] === id)!;

describe('DNS golden captures (checked against tshark)', () => {
  it('dns.pcap: 2 requests / 2 responses, one NXDOMAIN (README counts and latencies)', async () => {
    const { spans, msgs } = await expectMatchesTshark(resolve(DNS, 'dns.pcap'));
    expect(msgs.filter((m) => !m.response).length).toBe(2);
    expect(msgs.filter((m) => m.response).length).toBe(2);
    expect(spans.length).toBe(2);
    expect(spans.filter((s) => s.attributes['error.type'] === 'host_not_found').length).toBe(1);
    // README: rrt_sum 181558, rrt_max 176754 (us).
    const d = spans.map(durationUs).sort((x, y) => x - y);
    expect(d).toEqual([181558 - 176754, 176754]);
  });

  it('dns-tcp-multi.pcap: two queries in one TCP segment, two responses (README: rrt 294 and 355 us)', async () => {
    const file = resolve(DNS, 'dns-tcp-multi.pcap');
    const { spans, msgs } = await expectMatchesTshark(file);
    expect(msgs.filter((m) => !m.response).length).toBe(2);
    expect(msgs.filter((m) => m.response).length).toBe(2);
    // tshark: both queries are in one frame.
    const qFrames = new Set(msgs.filter((m) => !m.response).map((m) => m.frame));
    expect(qFrames.size).toBe(1);
    expect(spans.map((s) => s.attributes['network.transport'])).toEqual(['tcp', 'tcp']);
    expect(spans.map(durationUs).sort((x, y) => x - y)).toEqual([294, 355]);
  });

  it('a-and-ns.pcap: A and AAAA over UDP; glue A records in other sections are not answers', async () => {
    const { spans } = await expectMatchesTshark(resolve(DNS, 'a-and-ns.pcap'));
    expect(spans.length).toBe(2);
    expect(byId(spans, 0x3199).attributes['dns.answers']).toEqual(['10.50.71.5']);
    expect(spans.map((s) => s.attributes['network.transport'])).toEqual(['udp', 'udp']);
  });

  it('nxdomain.pcap: two NXDOMAIN and one NOERROR on one TCP connection', async () => {
    const { spans } = await expectMatchesTshark(resolve(DNS, 'nxdomain.pcap'));
    expect(spans.length).toBe(3);
    expect(spans.filter((s) => s.attributes['error.type'] === 'host_not_found').length).toBe(2);
  });

  it('not-handled-qtype.pcap: an SRV answer rendered as "prio weight port target"', async () => {
    const file = resolve(DNS, 'not-handled-qtype.pcap');
    const { spans } = await expectMatchesTshark(file);
    const [[prio, weight, port, target]] = tshark(file, 'dns.flags.response == 1', ['dns.srv.priority', 'dns.srv.weight', 'dns.srv.port', 'dns.srv.target']);
    expect(spans.length).toBe(1);
    expect(spans[0].name).toBe('DNS SRV');
    expect(spans[0].attributes['dns.answers']).toEqual([`${prio} ${weight} ${port} ${target.toLowerCase()}`]);
  });

  it('the corpus exists where the README says', () => {
    expect(existsSync(DNS)).toBe(true);
  });
});

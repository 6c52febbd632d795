/**
 * Encapsulation matrix: real HTTP/1 captures rewritten with every link layer, tunnel, IP version,
 * fragmentation and file format spanwire reads. Each rewritten file must give exactly the exchanges
 * tshark reports on that same file (method, URI, client address/port, server address/port, start,
 * status, response time), and tshark must in turn agree with itself on the original capture, which
 * shows the rewrite kept the traffic intact.
 *
 * The rewrite is done by test/helpers/transform.ts with its own pcap reader (not spanwire's).
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/pcap-builder.js';
import { PCAPS, ROOT, replaySpans } from '../helpers/replay.js';
import {
  ENCAPSULATIONS,
  encapExtension,
  exchangesOf,
  expectedHttp,
  ipv6Of,
  readIpFrames,
  sortExchanges,
  withoutFrame,
  writeEncapsulated,
  type Encapsulation,
  type HttpExchange,
  type IpFrame,
} from '../helpers/transform.js';

const HTTP = resolve(PCAPS, 'deepflow/http');

interface Input {
  name: string;
  path: string;
  /** tshark arguments (decode-as for a non-standard port). */
  extra: string[];
  /** Exchanges in the capture (a guard against an oracle that finds nothing). */
  exchanges: number;
}

const INPUTS: Input[] = [
  { name: 'http1-demo', path: resolve(ROOT, 'examples/captures/http1-demo.pcap'), extra: [], exchanges: 7 },
  { name: 'httpv1', path: resolve(HTTP, 'httpv1.pcap'), extra: [], exchanges: 1 },
  { name: 'sw8', path: resolve(HTTP, 'sw8.pcap'), extra: ['-d', 'tcp.port==20880,http'], exchanges: 3 },
  { name: 'flow-generator-http', path: resolve(HTTP, 'flow-generator-http.pcap'), extra: [], exchanges: 1 },
];

/** The exchanges of the original capture as they must look after rewrite `e`. */
function mapped(orig: HttpExchange[], e: Encapsulation): HttpExchange[] {
  if (e !== 'ipv6' && e !== 'ipv6-fragments') return orig;
  return sortExchanges(orig.map((x) => ({ ...x, client: ipv6Of(x.client), server: ipv6Of(x.server) })));
}

const dir = tempDir('spanwire-encap-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(INPUTS)('encapsulation matrix: $name', (input) => {
  let frames: IpFrame[];
  let orig: HttpExchange[];

  beforeAll(() => {
    frames = readIpFrames(input.path);
    orig = withoutFrame(expectedHttp(input.path, input.extra));
    expect(orig.length).toBe(input.exchanges);
    expect(orig.every((x) => x.status !== null)).toBe(true);
  });

  it('the original capture matches tshark (baseline of the matrix)', async () => {
    const { spans } = await replaySpans([input.path]);
    expect(exchangesOf(spans)).toEqual(orig);
  });

  it.each(ENCAPSULATIONS)('%s', async (e) => {
    const { path, frames: written } = writeEncapsulated(join(dir, `${input.name}-${e}.${encapExtension(e)}`), frames, e);
    const expected = withoutFrame(expectedHttp(path, input.extra));
    // The rewrite kept the traffic: tshark sees on it what it sees on the original (times aside
    // for the binary resolution, which rounds every timestamp down to a 2^-20 s unit).
    const lossy = e === 'pcapng-tsresol-2^-20';
    const timeless = (xs: HttpExchange[]) => xs.map((x) => ({ ...x, start: lossy ? '' : x.start, durationUs: lossy ? 0 : x.durationUs }));
    expect(timeless(expected)).toEqual(timeless(mapped(orig, e)));

    const { spans, summary } = await replaySpans([path]);
    expect(exchangesOf(spans)).toEqual(expected);
    expect(summary.spansByProtocol).toEqual({ http1: expected.length });
    expect(summary.files[0].packets).toBe(written);
    expect(summary.files[0].truncated).toBe(false);
    expect(summary.gaps).toBe(0);
    expect(summary.responsesWithoutRequest).toBe(0);
    expect(summary.noResponse).toBe(0);
  });
});

describe('encapsulation matrix: several rewritten files in one replay', () => {
  it('each file keeps its own link type; the exchanges of all files are reported', async () => {
    const input = INPUTS[0];
    const frames = readIpFrames(input.path);
    const a = writeEncapsulated(join(dir, 'multi-a.pcap'), frames, 'nflog').path;
    // The same traffic a minute later, as pcapng with nanosecond timestamps, gzip-compressed.
    const later = frames.map((f): IpFrame => ({ ts: [f.ts[0] + 60, f.ts[1]], ip: f.ip }));
    const b = writeEncapsulated(join(dir, 'multi-b.pcapng.gz'), later, 'pcapng-tsresol-ns.gz').path;
    const ea = withoutFrame(expectedHttp(a));
    const eb = withoutFrame(expectedHttp(b));
    expect(ea.length).toBe(input.exchanges);
    expect(eb.length).toBe(input.exchanges);
    const { spans, summary } = await replaySpans([a, b]);
    expect(exchangesOf(spans)).toEqual(sortExchanges([...ea, ...eb]));
    expect(summary.files.map((f) => f.packets)).toEqual([frames.length, frames.length]);
  });
});

/**
 * End to end against a real DNS server: dnsmasq on 127.0.0.1 (its own instance, on a free port, with
 * fixed local records), a real client (dig, over UDP and once over TCP), a real capture (tcpdump on
 * `lo`), then `node bin/spanwire.js replay FILE --format otlp-json -o OUT`.
 *
 * The expected spans come from what dig asked and what it printed (status, id, answer section),
 * cross-checked against tshark reading the same capture. Never from spanwire's own output.
 *
 * Needs root (tcpdump on lo) and dnsmasq, dig, tcpdump, tshark: `bash test/setup-system.sh` installs
 * them (CI runs it). Not root: the suite is skipped with a loud warning. A missing tool is a failure.
 * Set SPANWIRE_E2E_KEEP=1 to keep the temp dir (dnsmasq log, capture, spans); it is kept on failure too.
 */
import { describe, it, expect, beforeAll, afterAll, onTestFailed } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IS_ROOT, freePort, run, sleep, waitListening, which, startTcpdump, stopChildren, stopTcpdump, replayToOtlp } from '../helpers/e2e.js';

const DNSMASQ = '/usr/sbin/dnsmasq';
const SETUP = 'run `bash test/setup-system.sh` as root (CI does)';

if (!IS_ROOT) {
  console.warn(
    '\n' +
      '*************************************************************************************\n' +
      '* SKIPPED test/e2e/dns-dnsmasq.test.ts: not root. tcpdump on lo needs root;         *\n' +
      '* run the tests as root (CI does) to exercise dnsmasq -> tcpdump -> spanwire replay. *\n' +
      '*************************************************************************************\n',
  );
}

/** One query dig made and what it printed back (the oracle). */
interface Query {
  name: string; // as asked, no trailing dot
  qtype: string;
  transport: 'udp' | 'tcp';
  id: number;
  status: string;
  /** RDATA of the answer section, as dig prints it, trailing dots of names removed. */
  answers: string[];
}

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
};
interface OtlpSpan {
  name: string;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: { key: string; value: AnyValue }[];
  status?: { code?: number | string; message?: string };
}

function value(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue); // OTLP/JSON may write int64 as a string
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(value);
  return undefined;
}

function attr(span: OtlpSpan, key: string): unknown {
  const v = span.attributes?.find((a) => a.key === key)?.value;
  return v ? value(v) : undefined;
}

function readSpans(file: string): OtlpSpan[] {
  const out: OtlpSpan[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const req = JSON.parse(line) as { resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[] };
    for (const rs of req.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) out.push(...(ss.spans ?? []));
  }
  return out;
}

const stripDot = (s: string) => (s.length > 1 && s.endsWith('.') ? s.slice(0, -1) : s);

/** Runs one dig query and parses its status line, id and answer section. */
async function dig(port: number, name: string, qtype: string, transport: 'udp' | 'tcp'): Promise<Query> {
  const args = ['@127.0.0.1', '-p', String(port), name, qtype, '+noall', '+answer', '+comments', '+tries=1', '+time=5'];
  if (transport === 'tcp') args.push('+tcp');
  const { stdout } = await run('dig', args);
  const head = /status: ([A-Z]+), id: (\d+)/.exec(stdout);
  if (!head) throw new Error(`dig printed no status line for ${name} ${qtype}:\n${stdout}`);
  const answers: string[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim() || line.startsWith(';')) continue;
    // owner TTL class type rdata...
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5) throw new Error(`unexpected dig answer line: ${line}`);
    answers.push(cols.slice(4).map(stripDot).join(' '));
  }
  return { name, qtype, transport, id: Number(head[2]), status: head[1], answers };
}

/** tshark (the oracle) on the capture with the port decoded as DNS: one row per DNS message. */
function tsharkDns(pcap: string, port: number, fields: string[]): string[][] {
  const args = ['-r', pcap, '-n', '-d', `udp.port==${port},dns`, '-d', `tcp.port==${port},dns`, '-Y', 'dns', '-T', 'fields', '-E', 'separator=\t'];
  for (const f of fields) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  return out
    .split('\n')
    .filter((l) => l)
    .map((l) => l.split('\t'));
}

const qkey = (q: { id: number; name: string; qtype: string }) => `${q.qtype} ${q.name} id=${q.id}`;

describe.skipIf(!IS_ROOT)('e2e: dnsmasq on loopback (dig over UDP and TCP) -> tcpdump -> spanwire replay', () => {
  let dir = '';
  let keepDir = process.env.SPANWIRE_E2E_KEEP === '1';
  let dnsmasq: ChildProcess | undefined;
  let tcpdump: ChildProcess | undefined;
  let port = 0;
  let pcap = '';
  const queries: Query[] = [];

  beforeAll(async () => {
    try {
      const missing = [DNSMASQ].filter((p) => !existsSync(p));
      for (const bin of ['dig', 'tcpdump', 'tshark']) if (!which(bin)) missing.push(bin);
      if (missing.length) throw new Error(`missing ${missing.join(', ')}: ${SETUP}`);

      dir = mkdtempSync(join(tmpdir(), 'spanwire-e2e-dns-'));
      port = await freePort();

      // Our own dnsmasq: no config file, no /etc/hosts, no upstream; only the records below.
      // --address=/nx.test/ (no address) makes every name under nx.test NXDOMAIN.
      const dnsmasqLog: string[] = [];
      dnsmasq = spawn(
        DNSMASQ,
        [
          '--no-daemon',
          '--log-queries',
          `--port=${port}`,
          '--listen-address=127.0.0.1',
          '--bind-interfaces',
          '--no-resolv',
          '--no-hosts',
          '--conf-file=/dev/null',
          `--pid-file=${join(dir, 'dnsmasq.pid')}`,
          '--address=/app.test/10.1.2.3',
          '--host-record=v6.test,fd00::1',
          '--mx-host=mail.test,mx1.mail.test,10',
          '--address=/nx.test/',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      dnsmasq.stdout?.on('data', (d: Buffer) => dnsmasqLog.push(d.toString()));
      dnsmasq.stderr?.on('data', (d: Buffer) => dnsmasqLog.push(d.toString()));
      try {
        await waitListening(port, dnsmasq, 'dnsmasq (TCP)');
      } catch (e) {
        throw new Error(`${(e as Error).message}\ndnsmasq output:\n${dnsmasqLog.join('')}`);
      }

      // Capture: start tcpdump and wait for "listening on" before any traffic.
      pcap = join(dir, 'dns.pcap');
      const capture = await startTcpdump(pcap, `(udp or tcp) and port ${port}`, (c) => (tcpdump = c));

      // ---- traffic (one query at a time, each over its own socket)
      queries.push(await dig(port, 'app.test', 'A', 'udp'));
      queries.push(await dig(port, 'v6.test', 'AAAA', 'udp'));
      queries.push(await dig(port, 'missing.nx.test', 'A', 'udp'));
      queries.push(await dig(port, 'mail.test', 'MX', 'udp'));
      queries.push(await dig(port, 'app.test', 'A', 'tcp'));

      // Let the last TCP FIN/ACKs reach tcpdump, then stop it cleanly.
      await sleep(500);
      await stopTcpdump(capture);
    } catch (e) {
      keepDir = true;
      throw e;
    }
  });

  afterAll(async () => {
    await stopChildren([
      [tcpdump, 'SIGINT'],
      [dnsmasq, 'SIGTERM'],
    ]);
    if (!dir) return;
    if (keepDir) console.warn(`e2e dns: kept ${dir} (dns.pcap, spans.otlp.jsonl)`);
    else rmSync(dir, { recursive: true, force: true });
  });

  it('made the queries it meant to (dnsmasq answers as configured)', () => {
    onTestFailed(() => void (keepDir = true));
    expect(queries.map((q) => `${q.transport} ${q.qtype} ${q.name} ${q.status} [${q.answers.join(', ')}]`)).toEqual([
      'udp A app.test NOERROR [10.1.2.3]',
      'udp AAAA v6.test NOERROR [fd00::1]',
      'udp A missing.nx.test NXDOMAIN []',
      'udp MX mail.test NOERROR [10 mx1.mail.test]',
      'tcp A app.test NOERROR [10.1.2.3]',
    ]);
    expect(new Set(queries.map((q) => q.id)).size, 'dig ids are distinct (they key the comparison)').toBe(queries.length);
  });

  it('tshark (the oracle) sees the same queries and responses in the capture', () => {
    onTestFailed(() => void (keepDir = true));
    const rows = tsharkDns(pcap, port, ['dns.flags.response', 'dns.id', 'dns.qry.name', 'dns.qry.type', 'dns.flags.rcode', 'ip.proto', 'dns.a', 'dns.aaaa']);
    const isResp = (v: string) => v === '1' || v === 'True' || v === 'true';
    const seen = (resp: boolean) =>
      rows
        .filter((r) => isResp(r[0]) === resp)
        .map(([, id, name, type, rcode, proto]) => `${Number(id)} ${name} ${type} ${resp ? rcode : ''} ${proto === '6' ? 'tcp' : 'udp'}`)
        .sort();
    // dns.qry.type is numeric: A 1, AAAA 28, MX 15; rcode: NOERROR 0, NXDOMAIN 3.
    const types: Record<string, string> = { A: '1', AAAA: '28', MX: '15' };
    const rcodes: Record<string, string> = { NOERROR: '0', NXDOMAIN: '3' };
    const sent = (resp: boolean) =>
      queries.map((q) => `${q.id} ${q.name} ${types[q.qtype]} ${resp ? rcodes[q.status] : ''} ${q.transport}`).sort();
    expect(seen(false), 'queries').toEqual(sent(false));
    expect(seen(true), 'responses').toEqual(sent(true));
    const addrs = rows.filter((r) => isResp(r[0])).flatMap((r) => [r[6], r[7]].filter((v) => v));
    expect(addrs.sort()).toEqual(['10.1.2.3', '10.1.2.3', 'fd00::1']);
  });

  it('spanwire replay writes one span per query with the right attributes', async () => {
    onTestFailed(() => void (keepDir = true));
    const out = await replayToOtlp(pcap, dir);
    const spans = readSpans(out);

    const view = (s: OtlpSpan) =>
      qkey({ id: Number(attr(s, 'spanwire.dns.id')), name: String(attr(s, 'dns.question.name')), qtype: String(attr(s, 'spanwire.dns.question.type')) });
    // Exactly one span per query dig made (same id, name, type).
    expect(spans.map(view).sort()).toEqual(queries.map(qkey).sort());
    const tsharkQueries = tsharkDns(pcap, port, ['dns.flags.response']).filter(([r]) => !(r === '1' || r === 'True' || r === 'true'));
    expect(spans.length).toBe(tsharkQueries.length);

    for (const q of queries) {
      const where = `${qkey(q)} over ${q.transport}`;
      const s = spans.find((x) => view(x) === qkey(q));
      expect(s, where).toBeDefined();
      if (!s) continue;
      expect(s.name, where).toBe(`DNS ${q.qtype}`);
      expect(attr(s, 'dns.question.name'), where).toBe(q.name);
      expect(attr(s, 'spanwire.dns.rcode'), where).toBe(q.status);
      expect(attr(s, 'network.transport'), where).toBe(q.transport);
      expect(Number(attr(s, 'server.port')), where).toBe(port);
      expect(attr(s, 'server.address'), where).toBe('127.0.0.1');
      const answers = attr(s, 'dns.answers');
      if (q.answers.length === 0) {
        expect(answers, where).toBeUndefined();
      } else {
        expect(answers, where).toEqual(q.answers);
      }
      const code = s.status?.code;
      const isError = code === 2 || code === 'STATUS_CODE_ERROR';
      if (q.status === 'NXDOMAIN') {
        expect(isError, `${where}: error status (got ${JSON.stringify(s.status)})`).toBe(true);
        expect(attr(s, 'error.type'), where).toBe('host_not_found');
      } else {
        expect(isError, `${where}: not an error (got ${JSON.stringify(s.status)})`).toBe(false);
        expect(attr(s, 'error.type'), where).toBeUndefined();
      }
      expect(BigInt(s.startTimeUnixNano) <= BigInt(s.endTimeUnixNano), where).toBe(true);
    }
  });
});

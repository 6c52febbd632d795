/**
 * End to end, MQTT: a real mosquitto broker started by the test on 127.0.0.1 (two free ports: one
 * anonymous listener, one with a password file made by mosquitto_passwd), real clients (mosquitto_pub
 * and mosquitto_sub, MQTT 3.1.1; the npm `mqtt` client in 3.1.1 and 5.0, with a `traceparent` user
 * property), QoS 0/1/2 publishes, subscriptions that deliver messages, a 300 KB publish, refused
 * CONNECTs with a wrong password; captured by tcpdump on `lo`, then `spanwire replay`.
 *
 * Expected values come from what the test sent and what the clients reported (mqtt.js `packetsend` /
 * `packetreceive` events, SUBACK grants, CONNACK codes; mosquitto_sub's printed messages), never from
 * spanwire's own output. Needs root (tcpdump) and mosquitto, mosquitto-clients, tcpdump
 * (`bash test/setup-system.sh`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient, Packet } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, SPANWIRE, freePort, readOtlpSpans, run, sleep, startTcpdump, stopChildren, stopTcpdump, waitListening, which } from '../helpers/e2e.js';
import type { OtlpSpanView } from '../helpers/e2e.js';

if (!IS_ROOT) console.warn('\n*** SKIPPED test/e2e/mqtt.test.ts: not root (tcpdump on lo needs root; CI runs as root) ***\n');

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT}-01`;
const USER = 'e2e-user';
const GOOD_PASSWORD = 'right-horse-battery';
const WRONG_PASSWORD = 'wrong-staple-9f3c';

/** What one mqtt.js client sent and received, by packet type, as its events reported it. */
interface Observed {
  clientId: string;
  sent: Packet[];
  received: Packet[];
}

describe.skipIf(!IS_ROOT)('e2e: mosquitto + mosquitto_pub/sub + mqtt.js (3.1.1, 5.0) on loopback -> tcpdump -> spanwire replay', () => {
  let dir = '';
  let broker: ChildProcess | undefined;
  let tcpdump: ChildProcess | undefined;
  let sub: ChildProcess | undefined;
  let open = 0;
  let secured = 0;
  let spans: OtlpSpanView[] = [];
  let output = '';
  const observed: Observed[] = [];
  /** Messages mosquitto_sub printed: "topic qos length". */
  let subLines: string[] = [];
  /** Publishes the mosquitto_pub runs made: [client id, topic, qos, payload bytes]. */
  const cliPublishes: [string, string, number, number][] = [];
  let v311Refusal = '';
  let v5RefusalCode = -1;
  let granted311: number[] = [];
  let granted5: number[] = [];

  async function client(port: number, opts: IClientOptions): Promise<[MqttClient, Observed]> {
    const o: Observed = { clientId: String(opts.clientId), sent: [], received: [] };
    observed.push(o);
    const c = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 0, ...opts });
    c.on('packetsend', (p) => o.sent.push(p));
    c.on('packetreceive', (p) => o.received.push(p));
    await new Promise<void>((res, rej) => {
      c.once('connect', () => res());
      c.once('error', rej);
    });
    return [c, o];
  }

  beforeAll(async () => {
    for (const bin of ['tcpdump', 'stdbuf', 'mosquitto', 'mosquitto_pub', 'mosquitto_sub', 'mosquitto_passwd']) if (!which(bin)) throw new Error(`missing ${bin}: run bash test/setup-system.sh`);
    dir = mkdtempSync(join(tmpdir(), 'spanwire-e2e-mqtt-'));
    open = await freePort();
    secured = await freePort();
    await run('mosquitto_passwd', ['-b', '-c', join(dir, 'passwd'), USER, GOOD_PASSWORD]);
    writeFileSync(
      join(dir, 'mosquitto.conf'),
      [
        'user root',
        'persistence false',
        'per_listener_settings true',
        `listener ${open} 127.0.0.1`,
        'allow_anonymous true',
        `listener ${secured} 127.0.0.1`,
        'allow_anonymous false',
        `password_file ${join(dir, 'passwd')}`,
        '',
      ].join('\n'),
    );
    broker = spawn('/usr/sbin/mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
    await waitListening(open, broker, 'mosquitto');
    await waitListening(secured, broker, 'mosquitto');
    const cap = await startTcpdump(join(dir, 'mqtt.pcap'), `tcp port ${open} or tcp port ${secured}`, (c) => (tcpdump = c));

    // mosquitto_sub (3.1.1): subscribes at QoS 1 and prints three messages.
    // stdbuf: its stdout is a pipe, line-buffer it to see the SUBACK as it comes.
    sub = spawn('stdbuf', ['-oL', 'mosquitto_sub', '-h', '127.0.0.1', '-p', String(open), '-V', 'mqttv311', '-i', 'cli-sub', '-q', '1', '-t', 'e2e/cli/#', '-C', '3', '-F', '%t %q %l', '-d'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const subOut: string[] = [];
    sub.stdout!.on('data', (d: Buffer) => subOut.push(d.toString()));
    for (let i = 0; i < 100 && !subOut.join('').includes('received SUBACK'); i++) await sleep(20);
    expect(subOut.join('')).toContain('received SUBACK');

    // mosquitto_pub (3.1.1): QoS 0, 1, 2, one connection each; a 300 KB message with nobody subscribed.
    for (const qos of [0, 1, 2]) {
      await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(open), '-V', 'mqttv311', '-i', `cli-pub-${qos}`, '-q', String(qos), '-t', `e2e/cli/q${qos}`, '-m', `message at qos ${qos}`]);
      cliPublishes.push([`cli-pub-${qos}`, `e2e/cli/q${qos}`, qos, `message at qos ${qos}`.length]);
    }
    const big = join(dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(300_000, 0x5a));
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(open), '-V', 'mqttv311', '-i', 'cli-big', '-q', '1', '-t', 'e2e/big', '-f', big]);
    cliPublishes.push(['cli-big', 'e2e/big', 1, 300_000]);
    for (let i = 0; i < 100 && sub.exitCode === null; i++) await sleep(20);
    subLines = subOut
      .join('')
      .split('\n')
      .filter((l) => /^e2e\/cli\/\S+ \d \d+$/.test(l));

    // The right password on the secured listener, then a wrong one (refused: CONNACK 5 in 3.1.1).
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(secured), '-V', 'mqttv311', '-i', 'cli-auth-ok', '-u', USER, '-P', GOOD_PASSWORD, '-t', 'e2e/auth', '-m', 'x']);
    v311Refusal = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(secured), '-V', 'mqttv311', '-i', 'cli-auth-bad', '-u', USER, '-P', WRONG_PASSWORD, '-t', 'e2e/auth', '-m', 'x']).then(
      () => 'accepted',
      (e: Error) => e.message,
    );

    // mqtt.js 3.1.1: subscribe QoS 2, publish QoS 0/1/2 to it (its own deliveries come back), unsubscribe, a keep-alive ping.
    const [c4] = await client(open, { clientId: 'node-v311', protocolVersion: 4, keepalive: 1 });
    granted311 = (await c4.subscribeAsync('e2e/node/#', { qos: 2 })).map((g) => g.qos);
    for (const qos of [0, 1, 2] as const) await c4.publishAsync(`e2e/node/q${qos}`, `node ${qos}`, { qos });
    await sleep(300);
    await c4.unsubscribeAsync('e2e/node/#');
    await sleep(1600); // keepalive 1 s: mqtt.js sends PINGREQ
    await c4.endAsync();

    // mqtt.js 5.0: a traceparent user property, subscribe QoS 1, publish QoS 1 and 2, unsubscribe, DISCONNECT.
    const [c5] = await client(open, { clientId: 'node-v5', protocolVersion: 5 });
    granted5 = (await c5.subscribeAsync('e2e/v5/#', { qos: 1 })).map((g) => g.qos);
    await c5.publishAsync('e2e/v5/traced', 'with context', { qos: 1, properties: { userProperties: { traceparent: TRACEPARENT } } });
    await c5.publishAsync('e2e/v5/q2', 'exactly once', { qos: 2 });
    await c5.publishAsync('e2e/none/q1', 'nobody listens', { qos: 1 });
    await sleep(300);
    await c5.unsubscribeAsync('e2e/v5/#');
    await c5.endAsync();

    // mqtt.js 5.0 with a wrong password: refused (the client reports the reason code).
    await client(secured, { clientId: 'node-v5-bad', protocolVersion: 5, username: USER, password: WRONG_PASSWORD }).then(
      ([c]) => c.endAsync(),
      (e: { code?: number }) => {
        v5RefusalCode = e.code ?? -2;
      },
    );
    await sleep(300);
    await stopTcpdump(cap);
    const out = join(dir, 'spans.json');
    await run('node', [SPANWIRE, 'replay', join(dir, 'mqtt.pcap'), '--format', 'otlp-json', '-o', out, '-q']);
    output = readFileSync(out, 'utf8');
    spans = readOtlpSpans(out).filter((s) => s.attrs['spanwire.protocol'] === 'mqtt');
  }, 90_000);

  afterAll(async () => {
    await stopChildren([
      [sub, 'SIGTERM'],
      [tcpdump, 'SIGINT'],
      [broker, 'SIGTERM'],
    ]);
    if (dir && process.env.SPANWIRE_E2E_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  });

  const byClient = (id: string) => spans.filter((s) => s.attrs['messaging.client.id'] === id);
  const names = (list: OtlpSpanView[]) => list.map((s) => s.name).sort();

  it('every connection gives a connect span with its client id and version', () => {
    const connects = spans.filter((s) => s.name === 'connect');
    const ids = connects.map((s) => String(s.attrs['messaging.client.id'])).sort();
    expect(ids).toEqual(
      ['cli-sub', 'cli-pub-0', 'cli-pub-1', 'cli-pub-2', 'cli-big', 'cli-auth-ok', 'cli-auth-bad', 'node-v311', 'node-v5', 'node-v5-bad'].sort(),
    );
    for (const s of connects) expect(s.attrs['spanwire.mqtt.version'], String(s.attrs['messaging.client.id'])).toBe(String(s.attrs['messaging.client.id']).startsWith('node-v5') ? '5.0' : '3.1.1');
  });

  it('refused CONNECTs are error spans; no user name or password anywhere in the output', () => {
    expect(v311Refusal).toMatch(/not authori[sz]ed/i);
    const bad = byClient('cli-auth-bad').find((s) => s.name === 'connect')!;
    expect([bad.status.code, bad.attrs['error.type'], bad.attrs['spanwire.mqtt.reason_code']]).toEqual([2, 'not_authorized', 5]);
    expect([134, 135]).toContain(v5RefusalCode);
    const bad5 = byClient('node-v5-bad').find((s) => s.name === 'connect')!;
    expect([bad5.status.code, bad5.attrs['spanwire.mqtt.reason_code']]).toEqual([2, v5RefusalCode]);
    expect(bad5.attrs['error.type']).toBe(v5RefusalCode === 134 ? 'bad_user_name_or_password' : 'not_authorized');
    const ok = byClient('cli-auth-ok').find((s) => s.name === 'connect')!;
    expect(ok.status.code).toBe(0);
    for (const secret of [GOOD_PASSWORD, WRONG_PASSWORD, USER]) expect(output).not.toContain(secret);
  });

  it('mosquitto_pub publishes: PRODUCER spans per topic and QoS; the 300 KB one streams through with its size', () => {
    for (const [id, topic, qos, size] of cliPublishes) {
      const p = byClient(id).filter((s) => s.name.startsWith('publish'));
      expect(p.map((s) => [s.name, s.kind, s.attrs['spanwire.mqtt.qos'], s.attrs['messaging.message.body.size'], s.status.code]), id).toEqual([[`publish ${topic}`, 4, qos, size, 0]]);
    }
    // QoS 2 ends at PUBCOMP: mosquitto_pub sent PUBLISH, got PUBREC, sent PUBREL, got PUBCOMP.
    const q2 = byClient('cli-pub-2').find((s) => s.name.startsWith('publish'))!;
    expect(q2.endNs > q2.startNs).toBe(true);
  });

  it('deliveries to mosquitto_sub are CONSUMER spans `process {topic}` with the QoS it printed', () => {
    expect(subLines.length).toBe(3);
    const got = byClient('cli-sub')
      .filter((s) => s.kind === 5)
      .map((s) => `${s.name.replace(/^process /, '')} ${s.attrs['spanwire.mqtt.qos']} ${s.attrs['messaging.message.body.size']}`);
    expect(got.sort()).toEqual([...subLines].sort());
    for (const s of byClient('cli-sub').filter((x) => x.kind === 5)) expect(s.attrs['messaging.operation.name']).toBe('process');
    const subscribe = byClient('cli-sub').find((s) => s.name.startsWith('subscribe'))!;
    expect([subscribe.name, subscribe.attrs['spanwire.mqtt.reason_code']]).toEqual(['subscribe e2e/cli/#', 1]);
  });

  for (const id of ['node-v311', 'node-v5']) {
    it(`${id}: one span per request the client sent, one per delivery it received, as its packet events reported`, () => {
      const o = observed.find((x) => x.clientId === id)!;
      const want: string[] = [];
      for (const p of o.sent) {
        if (p.cmd === 'connect') want.push('connect');
        else if (p.cmd === 'publish') want.push(`publish ${p.topic}`);
        else if (p.cmd === 'subscribe') want.push(`subscribe ${p.subscriptions.map((x) => x.topic).join(',')}`);
        else if (p.cmd === 'unsubscribe') want.push(`unsubscribe ${p.unsubscriptions.join(',')}`);
        else if (p.cmd === 'pingreq') want.push('ping');
        else if (p.cmd === 'disconnect') want.push('disconnect');
      }
      for (const p of o.received) if (p.cmd === 'publish') want.push(`process ${p.topic}`);
      // mqtt.js writes CONNECT before 'packetsend' listeners can be attached; its CONNACK is reported.
      if (!want.includes('connect') && o.received.some((p) => p.cmd === 'connack')) want.push('connect');
      expect(names(byClient(id))).toEqual(want.sort());
      if (id === 'node-v311') expect(want).toContain('ping');
      // QoS of each publish and delivery as sent/received.
      const qos = (list: Packet[]) => list.filter((p) => p.cmd === 'publish').map((p) => `${(p as { topic: string }).topic} ${p.qos}`).sort();
      expect(byClient(id).filter((s) => s.kind === 4).map((s) => `${s.attrs['messaging.destination.name']} ${s.attrs['spanwire.mqtt.qos']}`).sort()).toEqual(qos(o.sent));
      expect(byClient(id).filter((s) => s.kind === 5).map((s) => `${s.attrs['messaging.destination.name']} ${s.attrs['spanwire.mqtt.qos']}`).sort()).toEqual(qos(o.received));
      for (const s of byClient(id)) expect(s.status.code, s.name).toBe(0);
    });
  }

  it('SUBACK grants and PUBACK reason codes are the ones the clients received', () => {
    const s311 = byClient('node-v311').find((s) => s.name === 'subscribe e2e/node/#')!;
    expect(s311.attrs['spanwire.mqtt.reason_code']).toBe(granted311[0]);
    const s5 = byClient('node-v5').find((s) => s.name === 'subscribe e2e/v5/#')!;
    expect(s5.attrs['spanwire.mqtt.reason_code']).toBe(granted5[0]);
    const o = observed.find((x) => x.clientId === 'node-v5')!;
    const sentIds = new Map(o.sent.filter((p) => p.cmd === 'publish' && p.qos === 1).map((p) => [(p as { messageId: number }).messageId, (p as { topic: string }).topic]));
    for (const ack of o.received.filter((p) => p.cmd === 'puback')) {
      const topic = sentIds.get((ack as { messageId: number }).messageId)!;
      const span = byClient('node-v5').find((s) => s.name === `publish ${topic}`)!;
      expect(span.attrs['spanwire.mqtt.reason_code'], topic).toBe((ack as { reasonCode?: number }).reasonCode ?? 0);
    }
  });

  it('the 5.0 publish carrying a traceparent user property joins that trace', () => {
    const traced = byClient('node-v5').find((s) => s.name === 'publish e2e/v5/traced')!;
    expect([traced.traceId, traced.parentSpanId, traced.attrs['spanwire.link.method']]).toEqual([TRACE_ID, PARENT, 'traceparent']);
    const delivered = byClient('node-v5').find((s) => s.name === 'process e2e/v5/traced')!;
    expect(delivered.traceId).toBe(TRACE_ID); // the broker forwards user properties
  });

  it('QoS 2 spans cover the whole handshake and nothing is left unanswered', () => {
    expect(spans.filter((s) => s.attrs['error.type'] === 'no_response' || s.attrs['error.type'] === 'timeout').map((s) => s.name)).toEqual([]);
    for (const s of spans) expect(s.endNs >= s.startNs, s.name).toBe(true);
  });
});

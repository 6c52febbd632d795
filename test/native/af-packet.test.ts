/**
 * The native AF_PACKET capture (native/src/af_packet.cc): a TPACKET_V3 ring with a libpcap-compiled kernel filter
 * must deliver exactly the packets of a TCP conversation this test makes with node:net on loopback, in records
 * laid out as native/README.md says, on `lo` (Ethernet framing) and on `any` (synthesized Linux SLL header).
 * The expected bytes are what the test itself sent. Needs root (CAP_NET_RAW).
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Addon, type PacketRecord, IS_ROOT, loadAddon, parsePacketBatch, sleep, warnSkipped } from './native-helpers.js';

warnSkipped('test/native/af-packet.test.ts');

interface Conversation {
  serverPort: number;
  clientPort: number;
  c2s: number; // payload bytes client -> server
  s2c: number;
}

/** An echo server on 127.0.0.1:port (0: any free port). */
async function echoServer(port = 0): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer((s) => {
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end());
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

/** A conversation with known payload sizes, ended by both sides, with a fresh echo server. */
async function conversation(): Promise<Conversation> {
  const srv = await echoServer();
  const conv = await conversationOn(srv.port);
  await srv.close();
  return conv;
}

interface Tcp {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  payload: number;
}

/** IPv4/TCP fields of a packet starting at its IP header. */
function tcpOf(ip: Buffer): Tcp {
  expect(ip[0] >> 4).toBe(4);
  const ihl = (ip[0] & 15) * 4;
  const total = ip.readUInt16BE(2);
  expect(ip[9]).toBe(6);
  const t = ip.subarray(ihl);
  const doff = (t[12] >> 4) * 4;
  return { sport: t.readUInt16BE(0), dport: t.readUInt16BE(2), seq: t.readUInt32BE(4), ack: t.readUInt32BE(8), flags: t[13], payload: total - ihl - doff };
}

function checkConversation(recs: PacketRecord[], conv: Conversation, ipOffset: number): void {
  const tcps = recs.map((r) => tcpOf(r.data.subarray(ipOffset)));
  for (const t of tcps) {
    expect([t.sport, t.dport].sort()).toEqual([conv.serverPort, conv.clientPort].sort());
  }
  const c2s = tcps.filter((t) => t.sport === conv.clientPort);
  const s2c = tcps.filter((t) => t.sport === conv.serverPort);
  expect(c2s.reduce((n, t) => n + t.payload, 0)).toBe(conv.c2s);
  expect(s2c.reduce((n, t) => n + t.payload, 0)).toBe(conv.s2c);
  // one SYN each way, one FIN each way, and no packet twice (loopback's transmit copy is filtered out)
  expect(tcps.filter((t) => t.flags & 0x02).length).toBe(2);
  expect(tcps.filter((t) => t.flags & 0x01).length).toBe(2);
  const keys = new Set(tcps.map((t) => `${t.sport}/${t.seq}/${t.ack}/${t.flags}/${t.payload}`));
  expect(keys.size).toBe(tcps.length);
  // timestamps: CLOCK_REALTIME ns, in order, within the last minute
  const now = BigInt(Date.now()) * 1_000_000n;
  for (let i = 0; i < recs.length; i++) {
    expect(recs[i].tsNs > now - 60_000_000_000n && recs[i].tsNs <= now).toBe(true);
    if (i > 0) expect(recs[i].tsNs >= recs[i - 1].tsNs).toBe(true);
  }
}

describe.skipIf(!IS_ROOT)('native AF_PACKET (TPACKET_V3 ring, libpcap filter)', () => {
  let addon: Addon;
  const loIndex = Number(readFileSync('/sys/class/net/lo/ifindex', 'utf8'));
  beforeAll(() => {
    addon = loadAddon();
  });

  it('documents its record layout', () => {
    expect(addon.afPacketLayout.recordHeader).toBe(32);
    expect(addon.afPacketLayout.offsets).toEqual({ recordLen: 0, caplen: 4, wirelen: 8, ifindex: 12, tsNs: 16, linkType: 24, data: 32 });
  });

  for (const iface of ['lo', 'any'] as const) {
    it(`${iface}: 'tcp port N' gives exactly the packets of the conversation`, async () => {
      const batches: Buffer[] = [];
      // find the port first: the filter needs it, so the server is started by conversation() on a port we pick
      const probe = net.createServer();
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
      const port = (probe.address() as net.AddressInfo).port;
      await new Promise((r) => probe.close(r));
      const h = addon.afPacketOpen({ iface, filter: `tcp port ${port}` }, (b) => batches.push(b));
      try {
        expect(h.linkType).toBe(iface === 'any' ? 113 : 1);
        expect(h.ifindex).toBe(iface === 'any' ? 0 : loIndex);
        // the conversation on exactly that port
        const srv = await echoServer(port);
        const conv = await conversationOn(port);
        await srv.close();
        await sleep(200);
        const recs = batches.flatMap(parsePacketBatch);
        expect(recs.length).toBeGreaterThanOrEqual(10);
        for (const r of recs) {
          expect(r.linkType).toBe(iface === 'any' ? 113 : 1);
          expect(r.caplen).toBe(r.data.length);
          expect(r.recordLen).toBe((32 + r.caplen + 7) & ~7);
          expect(r.caplen).toBeLessThanOrEqual(r.wirelen);
          expect(r.ifindex).toBe(loIndex);
        }
        if (iface === 'lo') {
          for (const r of recs) {
            expect(r.data.subarray(0, 12).every((x) => x === 0)).toBe(true); // lo: zeroed Ethernet addresses
            expect(r.data.readUInt16BE(12)).toBe(0x0800);
          }
          checkConversation(recs, conv, 14);
        } else {
          for (const r of recs) {
            // Linux cooked header v1: pkttype (0 = to us), ARPHRD_LOOPBACK, halen 6, zero address, ETH_P_IP
            expect(r.data.readUInt16BE(0)).toBe(0);
            expect(r.data.readUInt16BE(2)).toBe(772);
            expect(r.data.readUInt16BE(4)).toBe(6);
            expect(r.data.readUInt16BE(14)).toBe(0x0800);
          }
          checkConversation(recs, conv, 16);
        }
        const st = h.stats();
        expect(st.drops).toBe(0);
        expect(st.packets).toBeGreaterThanOrEqual(recs.length);
        expect(st.batches).toBe(batches.length);
        expect(st.delivered).toBe(recs.length);
        expect(st.lost).toBe(0);
      } finally {
        h.close();
      }
    });
  }

  it('an empty filter captures everything on the interface', async () => {
    const batches: Buffer[] = [];
    const h = addon.afPacketOpen({ iface: 'lo', filter: '' }, (b) => batches.push(b));
    try {
      const conv = await conversation();
      await sleep(200);
      const recs = batches.flatMap(parsePacketBatch).filter((r) => r.data.readUInt16BE(12) === 0x0800 && r.data[23] === 6);
      const mine = recs.filter((r) => {
        const t = tcpOf(r.data.subarray(14));
        return t.sport === conv.clientPort || t.dport === conv.clientPort;
      });
      checkConversation(mine, conv, 14);
    } finally {
      h.close();
    }
  });

  it('close() is idempotent and no batch arrives after it', async () => {
    let after = 0;
    let closed = false;
    const h = addon.afPacketOpen({ iface: 'lo', filter: 'tcp' }, () => {
      if (closed) after++;
    });
    await conversation();
    h.close();
    closed = true;
    h.close();
    await conversation();
    await sleep(100);
    expect(after).toBe(0);
    expect(h.stats().drops).toBe(0);
  });

  it('a bad interface and a bad filter give clear errors', () => {
    expect(() => addon.afPacketOpen({ iface: 'nosuchif0', filter: '' }, () => {})).toThrow(/no such interface 'nosuchif0'.*ENODEV/);
    try {
      addon.afPacketOpen({ iface: 'nosuchif0', filter: '' }, () => {});
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe('ENODEV');
    }
    expect(() => addon.afPacketOpen({ iface: 'lo', filter: 'tcp port' }, () => {})).toThrow(/bad filter 'tcp port': .*syntax error.*EINVAL/);
    expect(() => addon.afPacketOpen({ iface: 'lo', filter: 'tcp port 99999999' }, () => {})).toThrow(/bad filter/);
    expect(() => addon.afPacketOpen({ iface: 'lo', filter: '', blockSize: 1000 }, () => {})).toThrow(/blockSize/);
    expect(() => addon.afPacketOpen({ iface: 'lo', filter: 5 } as never, () => {})).toThrow(/'filter' must be a string/);
    expect(() => (addon.afPacketOpen as (...a: unknown[]) => unknown)({ iface: 'lo' })).toThrow(/onBatch/);
  });
});

/** A conversation against the echo server on `port`: three messages, each echoed before the next. */
async function conversationOn(port: number): Promise<Conversation> {
  const client = net.connect(port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  const clientPort = client.localPort!;
  let bytes = 0;
  for (const size of [5, 1000, 30_000]) {
    const msg = Buffer.alloc(size, 0x61 + (size % 26));
    let want = size;
    const got = new Promise<void>((r) => {
      const on = (d: Buffer) => {
        want -= d.length;
        if (want <= 0) {
          client.off('data', on);
          r();
        }
      };
      client.on('data', on);
    });
    client.write(msg);
    bytes += size;
    await got;
  }
  client.end();
  await new Promise((r) => client.once('close', r));
  await sleep(50);
  return { serverPort: port, clientPort, c2s: bytes, s2c: bytes };
}

/**
 * spanwire's BPF syscall capture (native/bpf/spanwire.bpf.c through native/src/ebpf.cc): real processes (Node
 * children, and a small C helper for the syscalls Node does not make) exchange known payloads on loopback; the
 * events must carry the right pid, comm, fd, direction, syscall, 4-tuple, lengths, payload and TCP sequence
 * numbers (the client's egress seq equals the server's ingress seq for the same bytes), the UDP peer from the
 * sockaddr, the socket lifecycle, truncation with the true length, and never the capturing process itself.
 * Expected values come from what the children did and printed. Needs root (BPF).
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Addon, BPF_OBJECT, EbpfCapture, FLAG, IS_ROOT, KIND, NR, type SwEvent, freePort, loadAddon, runChild, sleep, sockopsBinary,
  startChild, stop, warnSkipped,
} from './native-helpers.js';

warnSkipped('test/native/ebpf.test.ts');

const data = (evs: SwEvent[]) => evs.filter((e) => e.kind === KIND.DATA);
const text = (evs: SwEvent[]) => evs.map((e) => e.payload.toString('latin1')).join('');
const u32 = (n: number) => n >>> 0;

/** A Node TCP server child: answers every chunk with 'pong:' + chunk; prints its port and each accepted fd. */
const SERVER = `
const net = require('net');
const s = net.createServer((c) => {
  console.log('accepted fd=' + c._handle.fd + ' remote=' + c.remotePort);
  c.on('data', (d) => c.write('pong:' + d));
  c.on('end', () => c.end());
});
s.listen(0, '127.0.0.1', () => console.log('listening port=' + s.address().port));
`;

/** A Node TCP client child: sends each message after the previous answer, then ends; prints its fd and port. */
const CLIENT = `
const net = require('net');
const [port, ...msgs] = process.argv.slice(1);
const c = net.connect(+port, '127.0.0.1', async () => {
  console.log('connected fd=' + c._handle.fd + ' local=' + c.localPort);
  for (const m of msgs) {
    await new Promise((r) => { c.once('data', r); c.write(m); });
  }
  c.end();
});
c.on('close', () => console.log('closed'));
`;

describe.skipIf(!IS_ROOT)('native eBPF: socket syscalls', () => {
  let addon: Addon;
  let cap: EbpfCapture;
  beforeAll(() => {
    addon = loadAddon();
    cap = new EbpfCapture(addon, { maxPayload: 4096 });
  });
  afterAll(() => cap?.close());

  it('documents its event layout', () => {
    const L = addon.ebpfLayout;
    expect(L.headerSize).toBe(120);
    expect(L.offsets).toMatchObject({ tsEnterNs: 0, tsExitNs: 8, pid: 16, tid: 20, fd: 24, kind: 28, direction: 30, syscall: 32, flags: 36, sport: 40, dport: 42, saddr: 44, daddr: 60, tcpSeq: 76, totalLen: 80, capturedLen: 84, sslId: 88, sockId: 96, comm: 104, payload: 120 });
    expect(L.kinds).toEqual(KIND);
    expect(L.flags).toEqual(FLAG);
  });

  it('TCP between two Node processes: DATA, CONNECT, ACCEPT, CLOSE with pid, fd, 4-tuple, payload and matching tcpSeq', async () => {
    const { child: server, match } = await startChild(process.execPath, ['-e', SERVER], /listening port=(\d+)/);
    const port = Number(match[1]);
    let serverOut = '';
    server.stdout!.on('data', (d) => (serverOut += String(d)));
    const msgs = ['ping-1', 'ping-22', 'ping-333'];
    const client = await runChild(process.execPath, ['-e', CLIENT, String(port), ...msgs]);
    expect(client.code).toBe(0);
    const [, clientFd, clientPort] = client.stdout.match(/connected fd=(\d+) local=(\d+)/)!.map(Number);
    await sleep(300);
    const [, serverFd, remote] = serverOut.match(/accepted fd=(\d+) remote=(\d+)/)!.map(Number);
    expect(remote).toBe(clientPort);
    await stop(server);
    await cap.settle();

    const cEv = cap.events((e) => e.pid === client.pid && (e.sport === clientPort || e.dport === clientPort));
    const sEv = cap.events((e) => e.pid === server.pid && e.dport === clientPort);
    // client side
    const cOut = data(cEv).filter((e) => e.direction === 0);
    const cIn = data(cEv).filter((e) => e.direction === 1);
    expect(text(cOut)).toBe(msgs.join(''));
    expect(text(cIn)).toBe(msgs.map((m) => 'pong:' + m).join(''));
    for (const e of cEv) {
      expect(e.comm).toBe('node');
      expect(e.tid).toBe(client.pid); // Node does socket I/O on its main thread
      expect(e.fd).toBe(clientFd);
      expect([e.saddr, e.sport, e.daddr, e.dport]).toEqual(['127.0.0.1', clientPort, '127.0.0.1', port]);
      expect(e.flags & (FLAG.UDP | FLAG.PEER_ADDR | FLAG.TRUNCATED)).toBe(0);
      expect(e.sslId).toBe(0n);
      expect(e.tsEnterNs <= e.tsExitNs).toBe(true);
    }
    for (const e of data(cEv)) {
      expect(e.totalLen).toBe(e.payload.length);
      expect(e.capturedLen).toBe(e.totalLen);
      expect(e.direction === 0 ? [NR.write, NR.writev] : [NR.read]).toContain(e.syscall);
    }
    expect(new Set(cEv.map((e) => e.sockId)).size).toBe(1);
    // server side
    const sIn = data(sEv).filter((e) => e.direction === 1);
    const sOut = data(sEv).filter((e) => e.direction === 0);
    expect(text(sIn)).toBe(msgs.join(''));
    expect(text(sOut)).toBe(text(cIn));
    for (const e of sEv) {
      expect(e.comm).toBe('node');
      expect(e.fd).toBe(serverFd);
      expect([e.saddr, e.sport, e.daddr, e.dport]).toEqual(['127.0.0.1', port, '127.0.0.1', clientPort]);
    }
    expect(new Set(sEv.map((e) => e.sockId)).size).toBe(1);
    expect(sEv[0].sockId).not.toBe(cEv[0].sockId);
    // sequence numbers: contiguous per direction, and the same bytes carry the same number on both sides
    const contiguous = (evs: SwEvent[]) => {
      for (let i = 1; i < evs.length; i++) expect(evs[i].tcpSeq).toBe(u32(evs[i - 1].tcpSeq + evs[i - 1].totalLen));
    };
    contiguous(cOut);
    contiguous(cIn);
    contiguous(sIn);
    contiguous(sOut);
    expect(cOut.map((e) => [e.tcpSeq, e.payload.toString()])).toEqual(sIn.map((e) => [e.tcpSeq, e.payload.toString()]));
    expect(sOut.map((e) => [e.tcpSeq, e.payload.toString()])).toEqual(cIn.map((e) => [e.tcpSeq, e.payload.toString()]));
    // lifecycle
    const kinds = (evs: SwEvent[]) => evs.filter((e) => e.kind !== KIND.DATA).map((e) => [e.kind, e.syscall]);
    expect(kinds(cEv)).toEqual([[KIND.CONNECT, NR.connect], [KIND.CLOSE, NR.close]]);
    expect(kinds(sEv)).toEqual([[KIND.ACCEPT, NR.accept4], [KIND.CLOSE, NR.close]]);
    expect(cEv[0].kind).toBe(KIND.CONNECT); // before any data
    expect(sEv[0].kind).toBe(KIND.ACCEPT);
  });

  it('writev from Node (socket.cork) and readv, send/recv (sendto/recvfrom), write/read from C', async () => {
    const node = await runChild(process.execPath, ['-e', `
      const net = require('net');
      const s = net.createServer((c) => { c.resume(); c.on('end', () => { c.end(); s.close(); }); });
      s.listen(0, '127.0.0.1', () => {
        const c = net.connect(s.address().port, '127.0.0.1', () => {
          c.cork(); c.write('corked-1'); c.write('corked-2'); c.write('corked-3');
          process.nextTick(() => { c.uncork(); c.end(); });
        });
      });`]);
    expect(node.code).toBe(0);
    const tool = await runChild(sockopsBinary(), ['tcp']);
    expect(tool.code).toBe(0);
    const t = JSON.parse(tool.stdout) as Record<string, number>;
    await cap.settle();

    const corked = data(cap.events((e) => e.pid === node.pid && e.direction === 0));
    expect(corked.map((e) => [e.syscall, e.payload.toString()])).toEqual([[NR.writev, 'corked-1corked-2corked-3']]);
    expect(corked[0].totalLen).toBe(24);

    const ev = cap.events((e) => e.pid === tool.pid);
    for (const e of ev) expect(e.comm).toBe('sockops');
    const rows = data(ev).map((e) => [e.syscall, e.fd, e.direction, e.sport, e.dport, e.payload.toString(), e.totalLen]);
    expect(rows).toEqual([
      [NR.writev, t.clientFd, 0, t.clientPort, t.serverPort, 'AAABBBBCC', 9],
      [NR.readv, t.serverFd, 1, t.serverPort, t.clientPort, 'AAABBBBCC', 9],
      [NR.sendto, t.serverFd, 0, t.serverPort, t.clientPort, 'send-tcp', 8],
      [NR.recvfrom, t.clientFd, 1, t.clientPort, t.serverPort, 'send-tcp', 8],
      [NR.write, t.clientFd, 0, t.clientPort, t.serverPort, 'write-tcp', 9],
      [NR.read, t.serverFd, 1, t.serverPort, t.clientPort, 'write-tcp', 9],
    ]);
    const d = data(ev);
    expect(d[0].tcpSeq).toBe(d[1].tcpSeq);
    expect(d[2].tcpSeq).toBe(d[3].tcpSeq);
    expect(d[4].tcpSeq).toBe(d[5].tcpSeq);
    expect(d[4].tcpSeq).toBe(u32(d[0].tcpSeq + 9));
    const life = ev.filter((e) => e.kind !== KIND.DATA).map((e) => [e.kind, e.syscall, e.fd, e.sport, e.dport]);
    expect(life).toEqual([
      [KIND.CONNECT, NR.connect, t.clientFd, t.clientPort, t.serverPort],
      [KIND.ACCEPT, NR.accept, t.serverFd, t.serverPort, t.clientPort],
      [KIND.CLOSE, NR.close, t.clientFd, t.clientPort, t.serverPort],
      [KIND.CLOSE, NR.close, t.serverFd, t.serverPort, t.clientPort],
      [KIND.CLOSE, NR.close, t.listenFd, t.serverPort, 0],
    ]);
  });

  it('MSG_PEEK reads are not events; recvfrom(MSG_TRUNC) captures only the buffer, with the true length', async () => {
    const tool = await runChild(sockopsBinary(), ['edge']);
    expect(tool.code).toBe(0);
    const t = JSON.parse(tool.stdout) as Record<string, number>;
    await cap.settle();
    const ingress = data(cap.events((e) => e.pid === tool.pid && e.direction === 1));
    expect(ingress.map((e) => [e.syscall, e.fd, e.totalLen, e.capturedLen, e.flags & FLAG.TRUNCATED, e.payload.toString()])).toEqual([
      [NR.recvfrom, t.serverFd, 9, 9, 0, 'peek-data'],
      [NR.recvfrom, t.udpFd, 20, 4, FLAG.TRUNCATED, 'twen'],
    ]);
  });

  it('UDP from node:dgram: sendmsg/recvmsg with the peer address from the sockaddr', async () => {
    const r = await runChild(process.execPath, ['-e', `
      const d = require('dgram');
      const a = d.createSocket('udp4'), b = d.createSocket('udp4');
      b.bind(0, '127.0.0.1', () => a.bind(0, '127.0.0.1', () => {
        b.on('message', (m, rinfo) => b.send('dgram-reply:' + m, rinfo.port, rinfo.address));
        a.on('message', () => { console.log(JSON.stringify({ a: a.address().port, b: b.address().port })); a.close(); b.close(); });
        a.send('dgram-hello', b.address().port, '127.0.0.1');
      }));`]);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout) as { a: number; b: number };
    await cap.settle();
    const rows = data(cap.events((e) => e.pid === r.pid)).map((e) => [e.syscall, e.direction, e.sport, e.daddr, e.dport, e.flags, e.payload.toString()]);
    const f = FLAG.UDP | FLAG.PEER_ADDR;
    expect(rows).toEqual([
      [NR.sendmsg, 0, p.a, '127.0.0.1', p.b, f, 'dgram-hello'],
      [NR.recvmsg, 1, p.b, '127.0.0.1', p.a, f, 'dgram-hello'],
      [NR.sendmsg, 0, p.b, '127.0.0.1', p.a, f, 'dgram-reply:dgram-hello'],
      [NR.recvmsg, 1, p.a, '127.0.0.1', p.b, f, 'dgram-reply:dgram-hello'],
    ]);
    for (const e of cap.events((e) => e.pid === r.pid && e.kind === KIND.DATA)) expect(e.tcpSeq).toBe(0);
  });

  it('UDP from C: sendto/recvfrom, sendmsg/recvmsg (iovecs), sendmmsg/recvmmsg (one event per message), connected', async () => {
    const tool = await runChild(sockopsBinary(), ['udp']);
    expect(tool.code).toBe(0);
    const t = JSON.parse(tool.stdout) as Record<string, number>;
    await cap.settle();
    const f = FLAG.UDP | FLAG.PEER_ADDR;
    const rows = data(cap.events((e) => e.pid === tool.pid)).map((e) => [e.syscall, e.fd, e.direction, e.sport, e.dport, e.flags, e.payload.toString(), e.totalLen]);
    expect(rows).toEqual([
      [NR.sendto, t.aFd, 0, t.aPort, t.bPort, f, 'udp-sendto', 10],
      [NR.recvfrom, t.bFd, 1, t.bPort, t.aPort, f, 'udp-sendto', 10],
      [NR.sendmsg, t.aFd, 0, t.aPort, t.bPort, f, 'msg-part2', 9],
      [NR.recvmsg, t.bFd, 1, t.bPort, t.aPort, f, 'msg-part2', 9],
      [NR.sendmmsg, t.aFd, 0, t.aPort, t.bPort, f, 'mm-1', 4],
      [NR.sendmmsg, t.aFd, 0, t.aPort, t.bPort, f, 'mm-22', 5],
      [NR.sendmmsg, t.aFd, 0, t.aPort, t.bPort, f, 'mm-333', 6],
      [NR.recvmmsg, t.bFd, 1, t.bPort, t.aPort, f, 'mm-1', 4],
      [NR.recvmmsg, t.bFd, 1, t.bPort, t.aPort, f, 'mm-22', 5],
      [NR.recvmmsg, t.bFd, 1, t.bPort, t.aPort, f, 'mm-333', 6],
      // connected: the peer comes from the socket; read() on the unconnected receiver has no peer address
      [NR.write, t.cFd, 0, t.cPort, t.bPort, FLAG.UDP, 'udp-connected', 13],
      [NR.read, t.bFd, 1, t.bPort, 0, FLAG.UDP, 'udp-connected', 13],
    ]);
    const conn = cap.events((e) => e.pid === tool.pid && e.kind === KIND.CONNECT);
    expect(conn.map((e) => [e.fd, e.sport, e.dport, e.flags])).toEqual([[t.cFd, t.cPort, t.bPort, FLAG.UDP]]);
  });

  it('IPv6: TCP over ::1, a dual-stack server seeing IPv4 clients as v4-mapped, UDP over IPv6 with the peer', async () => {
    const r = await runChild(process.execPath, ['-e', `
      const net = require('net'), dgram = require('dgram');
      const s = net.createServer((c) => { c.on('data', (d) => c.end('v6-pong:' + d)); });
      s.listen(0, '::', async () => {
        const port = s.address().port;
        const talk = (host, msg) => new Promise((res) => { const c = net.connect(port, host, () => c.write(msg)); c.on('data', () => {}); c.on('close', () => res(c)); });
        await talk('::1', 'via-v6');
        await talk('127.0.0.1', 'via-v4');
        const a = dgram.createSocket('udp6'), b = dgram.createSocket('udp6');
        b.bind(0, '::1', () => a.bind(0, '::1', () => {
          b.on('message', () => { console.log(JSON.stringify({ port, ua: a.address().port, ub: b.address().port })); a.close(); b.close(); s.close(); });
          a.send('udp6-hello', b.address().port, '::1');
        }));
      });`]);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout) as { port: number; ua: number; ub: number };
    await cap.settle();
    const ev = data(cap.events((e) => e.pid === r.pid));
    const one = (payload: string, dir: number) => {
      const m = ev.filter((e) => e.payload.toString() === payload && e.direction === dir);
      expect(m.length).toBe(1);
      return m[0];
    };
    const v6 = '0:0:0:0:0:0:0:1';
    // client and server of the ::1 connection: IPv6 both sides
    const c6 = one('via-v6', 0);
    const s6 = one('via-v6', 1);
    expect([c6.flags & FLAG.IPV6, c6.saddr, c6.daddr, c6.dport]).toEqual([FLAG.IPV6, v6, v6, p.port]);
    expect([s6.flags & FLAG.IPV6, s6.saddr, s6.daddr, s6.sport, s6.dport]).toEqual([FLAG.IPV6, v6, v6, p.port, c6.sport]);
    expect(s6.tcpSeq).toBe(c6.tcpSeq);
    // IPv4 client: an AF_INET socket; the dual-stack server's accepted socket is AF_INET6 with v4-mapped addresses
    const c4 = one('via-v4', 0);
    const s4 = one('via-v4', 1);
    expect([c4.flags & FLAG.IPV6, c4.saddr, c4.daddr]).toEqual([0, '127.0.0.1', '127.0.0.1']);
    expect([s4.flags & FLAG.IPV6, s4.saddr, s4.daddr, s4.dport]).toEqual([FLAG.IPV6, '127.0.0.1', '127.0.0.1', c4.sport]);
    expect(s4.tcpSeq).toBe(c4.tcpSeq);
    // UDP over IPv6, unconnected: the peer from the sockaddr_in6
    const u = one('udp6-hello', 0);
    const ur = one('udp6-hello', 1);
    const f = FLAG.UDP | FLAG.PEER_ADDR | FLAG.IPV6;
    expect([u.syscall, u.flags, u.sport, u.daddr, u.dport]).toEqual([NR.sendmsg, f, p.ua, v6, p.ub]);
    expect([ur.syscall, ur.flags, ur.sport, ur.daddr, ur.dport]).toEqual([NR.recvmsg, f, p.ub, v6, p.ua]);
  });

  it("never reports the capturing process's own traffic", async () => {
    // the test process (excludePid) talks to itself; a child does the same at the same time
    const srv = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    const c = net.connect(port, '127.0.0.1');
    await new Promise((r) => c.once('connect', r));
    await new Promise((r) => { c.once('data', r); c.write('own-traffic'); });
    const child = await runChild(process.execPath, ['-e', `
      const c = require('net').connect(${port}, '127.0.0.1', () => { c.write('child-traffic'); c.once('data', () => c.end()); });`]);
    c.end();
    await new Promise((r) => srv.close(r));
    await cap.settle();
    expect(cap.events((e) => e.pid === process.pid)).toEqual([]);
    expect(cap.all.some((e) => e.payload.toString() === 'own-traffic')).toBe(false);
    // the child's side is there (its write), while the echo by this process is not
    expect(text(data(cap.events((e) => e.pid === child.pid && e.direction === 0)))).toBe('child-traffic');
  });
});

describe.skipIf(!IS_ROOT)('native eBPF: options, truncation, filters, errors', () => {
  let addon: Addon;
  beforeAll(() => {
    addon = loadAddon();
  });

  it('maxPayload truncates the payload, flags it and keeps the true length', async () => {
    const cap = new EbpfCapture(addon, { maxPayload: 100 });
    try {
      const r = await runChild(process.execPath, ['-e', `
        const net = require('net');
        const s = net.createServer((c) => { let n = 0; c.on('data', (d) => { n += d.length; if (n >= 5000) { c.end(); s.close(); } }); });
        s.listen(0, '127.0.0.1', () => { const c = net.connect(s.address().port, '127.0.0.1', () => c.write(Buffer.alloc(5000, 'x'))); c.resume(); });`]);
      expect(r.code).toBe(0);
      await cap.settle();
      const w = data(cap.events((e) => e.pid === r.pid && e.direction === 0 && e.totalLen === 5000));
      expect(w.length).toBe(1);
      expect(w[0].capturedLen).toBe(100);
      expect(w[0].payload.equals(Buffer.alloc(100, 'x'))).toBe(true);
      expect(w[0].flags & FLAG.TRUNCATED).toBe(FLAG.TRUNCATED);
      const rd = data(cap.events((e) => e.pid === r.pid && e.direction === 1 && e.sport === w[0].dport));
      expect(rd.reduce((n, e) => n + e.totalLen, 0)).toBe(5000);
      for (const e of rd) {
        expect(e.capturedLen).toBe(Math.min(100, e.totalLen));
        expect((e.flags & FLAG.TRUNCATED) !== 0).toBe(e.totalLen > 100);
      }
      expect(cap.handle.stats().truncated).toBeGreaterThanOrEqual(1 + rd.filter((e) => e.totalLen > 100).length);
    } finally {
      cap.close();
    }
  });

  it('portFilter and pidFilter select in the kernel; stats count events and drops; close is final', async () => {
    const srv = await startChild(process.execPath, ['-e', SERVER], /listening port=(\d+)/);
    const port = Number(srv.match[1]);
    const byPort = new EbpfCapture(addon, { portFilter: [port] });
    const byPid = new EbpfCapture(addon, { pidFilter: [srv.child.pid!] });
    try {
      const c = await runChild(process.execPath, ['-e', CLIENT, String(port), 'filtered']);
      await sleep(200);
      await byPort.settle();
      for (const e of byPort.all) expect(e.sport === port || e.dport === port).toBe(true);
      expect(new Set(byPort.all.map((e) => e.pid))).toEqual(new Set([c.pid, srv.child.pid]));
      expect(text(data(byPort.all.filter((e) => e.pid === c.pid && e.direction === 0)))).toBe('filtered');
      for (const e of byPid.all) expect(e.pid).toBe(srv.child.pid);
      expect(text(data(byPid.all.filter((e) => e.direction === 1 && e.dport !== 0)))).toContain('filtered');
      const st = byPort.handle.stats();
      expect(st.events).toBe(byPort.all.length);
      expect(st.drops).toBe(0);
      expect(st.lost).toBe(0);
      expect(st.batches).toBe(byPort.batches);
    } finally {
      byPort.close();
      byPid.close();
      await stop(srv.child);
    }
    // after close: no callback, stats still readable, close again is a no-op
    const n = byPort.all.length;
    await runChild(process.execPath, ['-e', `require('net').connect(${port}, '127.0.0.1').on('error', () => {})`]);
    await sleep(100);
    expect(byPort.all.length).toBe(n);
    byPort.close();
    expect(byPort.handle.stats().events).toBe(n);
  });

  it('counts what it cannot deliver: kernel drops when the ring is full, lost batches when JS does not keep up', async () => {
    const port = await freePort();
    // a 64 KiB ring drained once a second: 5,000 events of 184 bytes cannot fit
    const small = new EbpfCapture(addon, { portFilter: [port], ringBytes: 65536, drainMs: 1000 });
    try {
      const r = await runChild(sockopsBinary(), ['flood', String(port), '5000']);
      expect(JSON.parse(r.stdout).sent).toBe(5000);
      await sleep(1500);
      const st = small.handle.stats();
      expect(st.events + st.drops).toBe(5000);
      expect(st.drops).toBeGreaterThan(0);
      expect(st.delivered).toBe(st.events);
      expect(small.all.length).toBe(st.events);
      expect(small.all.every((e) => e.pid === r.pid && e.payload.equals(Buffer.alloc(64, 'f')))).toBe(true);
    } finally {
      small.close();
    }
    // one queued batch at most, and the JS thread blocked while batches come: the rest is lost, and counted
    const port2 = await freePort();
    const q = new EbpfCapture(addon, { portFilter: [port2], drainMs: 5, maxQueuedBatches: 1 });
    try {
      const child = spawn(sockopsBinary(), ['flood', String(port2), '20000'], { stdio: 'ignore' });
      const until = Date.now() + 400;
      while (Date.now() < until); // block the JS thread
      await new Promise((res) => child.on('exit', res));
      await sleep(200);
      const st = q.handle.stats();
      expect(st.events).toBe(20000);
      expect(st.drops).toBe(0);
      expect(st.lost).toBeGreaterThan(0);
      expect(st.delivered + st.lost).toBe(20000);
      expect(q.all.length).toBe(st.delivered);
    } finally {
      q.close();
    }
  });

  it('errors are clear: missing object, bad options; SSL attach failures are warnings', () => {
    const open = (o: Record<string, unknown>) => addon.ebpfOpen({ objectPath: BPF_OBJECT, excludePid: process.pid, ...o }, () => {});
    expect(() => open({ objectPath: '/nonexistent/x.bpf.o' })).toThrow(/BPF object not found: \/nonexistent\/x\.bpf\.o.*ENOENT/);
    expect(() => open({ maxPayload: 20000 })).toThrow(/'maxPayload' must be an integer in \[0, 16384\]/);
    expect(() => open({ portFilter: [70000] })).toThrow(/portFilter/);
    expect(() => open({ pidFilter: new Array(33).fill(1) })).toThrow(/more than 32/);
    expect(() => (addon.ebpfOpen as (...a: unknown[]) => unknown)({})).toThrow(/onBatch/);
    const h = open({ sslLibs: ['/nonexistent/libssl.so.3', '/bin/true'] });
    try {
      expect(h.warnings).toEqual([
        expect.stringMatching(/nonexistent\/libssl\.so\.3: .*ENOENT/),
        expect.stringMatching(/\/bin\/true: not attached: SSL_write .*SSL_read_ex/),
      ]);
      expect(h.sslAttached).toEqual([]);
    } finally {
      h.close();
    }
  });
});

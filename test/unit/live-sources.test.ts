/**
 * The TypeScript side of live capture, on records built byte by byte per native/README.md (the
 * addon's batch formats): AF_PACKET batches become the same RawPacket views capture files give, and
 * eBPF events become per-socket flows fed to L7 dispatch (roles from connect/accept, gaps from TCP
 * sequence numbers and truncation, TLS plaintext tied to its socket by fd). The process resource comes
 * from /proc (a fake /proc here).
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AF_RECORD_HEADER, forEachFrame } from '../../core/capture/af-packet.js';
import {
  EV_CAPTURED_LEN, EV_COMM, EV_DADDR, EV_DIRECTION, EV_DPORT, EV_FD, EV_FLAGS, EV_HEADER, EV_KIND, EV_PID, EV_SADDR, EV_SOCK_ID, EV_SPORT, EV_TCP_SEQ, EV_TOTAL_LEN, EV_TS_ENTER, EV_TS_EXIT,
  EbpfSocketStreams, FLAG_IPV6, FLAG_TRUNCATED, KIND_ACCEPT, KIND_CLOSE, KIND_CONNECT, KIND_DATA, KIND_SSL_DATA, MonotonicClock, socketAddress,
} from '../../core/capture/ebpf.js';
import { ProcessTable, containerIdFromCgroup } from '../../core/capture/process-info.js';
import { RawPacket, TimeBase } from '../../core/capture/types.js';
import type { Flow, StreamConsumer } from '../../core/flow/types.js';
import { ROLE_FROM_HANDSHAKE, ROLE_FROM_PORTS } from '../../core/flow/types.js';
import { LINKTYPE_ETHERNET } from '../../core/capture/types.js';
import { tcpPacket } from '../helpers/pcap-builder.js';
import { L7Dispatcher } from '../../core/l7/dispatcher.js';
import { SessionPairer } from '../../core/session/pairer.js';
import { SpanBuilder } from '../../core/trace/builder.js';
import type { SpanData } from '../../core/trace/span.js';
import { SPANWIRE_SCOPE } from '../../core/pipeline/version.js';
import { createDefaultRegistry } from '../../parsers/index.js';

function afBatch(frames: { data: Uint8Array; tsNs: bigint; ifindex: number; linkType: number; wirelen?: number }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of frames) {
    const len = (AF_RECORD_HEADER + f.data.length + 7) & ~7;
    const rec = new Uint8Array(len);
    const dv = new DataView(rec.buffer);
    dv.setUint32(0, len, true);
    dv.setUint32(4, f.data.length, true);
    dv.setUint32(8, f.wirelen ?? f.data.length, true);
    dv.setUint32(12, f.ifindex, true);
    dv.setBigUint64(16, f.tsNs, true);
    dv.setUint16(24, f.linkType, true);
    rec.set(f.data, AF_RECORD_HEADER);
    parts.push(rec);
  }
  return Buffer.concat(parts);
}

describe('AF_PACKET batches', () => {
  it('each record is one RawPacket view: link type, times, lengths, bytes', () => {
    const a = tcpPacket({ src: '127.0.0.1', dst: '127.0.0.1', sport: 40000, dport: 80, seq: 1, flags: 'PA', payload: 'GET / HTTP/1.1\r\n\r\n' });
    const b = tcpPacket({ src: '127.0.0.1', dst: '127.0.0.1', sport: 80, dport: 40000, seq: 1, flags: 'PA', payload: 'HTTP/1.1 200 OK\r\n\r\n' });
    const batch = afBatch([
      { data: a, tsNs: 1_700_000_000_123_456_789n, ifindex: 1, linkType: LINKTYPE_ETHERNET },
      { data: b.subarray(0, 40), tsNs: 1_700_000_001_000_000_000n, ifindex: 1, linkType: LINKTYPE_ETHERNET, wirelen: b.length },
    ]);
    const seen: [number, number, number, number, string][] = [];
    const tb = new TimeBase();
    const stats = { packets: 0, bytes: 0, batches: 0, malformed: 0 };
    forEachFrame(batch, new RawPacket(), tb, { onPacket: (p) => void seen.push([p.linkType, p.ts, p.caplen, p.origLen, Buffer.from(p.buf.subarray(p.offset, p.offset + p.caplen)).toString('hex')]) }, stats);
    expect(seen).toEqual([
      [1, 123_456_789, a.length, a.length, Buffer.from(a).toString('hex')],
      [1, 1_000_000_000, 40, b.length, Buffer.from(b.subarray(0, 40)).toString('hex')],
    ]);
    expect(tb.epochSec).toBe(1_700_000_000);
    expect(stats).toEqual({ packets: 2, bytes: a.length + 40, batches: 1, malformed: 0 });
  });

  it('a record whose lengths do not fit the batch is counted and the rest skipped', () => {
    const batch = afBatch([{ data: new Uint8Array(10), tsNs: 1n, ifindex: 1, linkType: 1 }]);
    new DataView(batch.buffer, batch.byteOffset).setUint32(4, 9999, true);
    const stats = { packets: 0, bytes: 0, batches: 0, malformed: 0 };
    forEachFrame(batch, new RawPacket(), new TimeBase(), { onPacket: () => expect.fail('no packet') }, stats);
    expect(stats.malformed).toBe(1);
  });
});

interface Ev {
  kind: number;
  pid?: number;
  fd?: number;
  egress?: boolean;
  local?: [string, number];
  remote?: [string, number];
  seq?: number;
  total?: number;
  payload?: string;
  sock?: bigint;
  v6?: boolean;
  tsNs?: number;
}

function ipBytes(a: string): number[] {
  if (a.includes(':')) {
    // only the forms used here: ::1 and ::ffff:a.b.c.d
    if (a === '::1') return [...new Array(15).fill(0), 1];
    const v4 = a.split(':').pop()!.split('.').map(Number);
    return [...new Array(10).fill(0), 0xff, 0xff, ...v4];
  }
  return [...a.split('.').map(Number), ...new Array(12).fill(0)];
}

function events(list: Ev[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of list) {
    const payload = Buffer.from(e.payload ?? '', 'latin1');
    const len = EV_HEADER + payload.length;
    const rec = new Uint8Array((4 + len + 7) & ~7);
    const dv = new DataView(rec.buffer);
    dv.setUint32(0, len, true);
    const r = 4;
    const ts = BigInt(e.tsNs ?? 1_000_000);
    dv.setBigUint64(r + EV_TS_ENTER, ts, true);
    dv.setBigUint64(r + EV_TS_EXIT, ts + 1000n, true);
    dv.setUint32(r + EV_PID, e.pid ?? 100, true);
    dv.setUint32(r + EV_FD, e.fd ?? 7, true);
    dv.setUint16(r + EV_KIND, e.kind, true);
    dv.setUint16(r + EV_DIRECTION, e.egress === false ? 1 : 0, true);
    const total = e.total ?? payload.length;
    dv.setUint32(r + EV_FLAGS, (e.v6 ? FLAG_IPV6 : 0) | (total > payload.length ? FLAG_TRUNCATED : 0), true);
    dv.setUint16(r + EV_SPORT, e.local?.[1] ?? 0, true);
    dv.setUint16(r + EV_DPORT, e.remote?.[1] ?? 0, true);
    rec.set(ipBytes(e.local?.[0] ?? '0.0.0.0'), r + EV_SADDR);
    rec.set(ipBytes(e.remote?.[0] ?? '0.0.0.0'), r + EV_DADDR);
    dv.setUint32(r + EV_TCP_SEQ, e.seq ?? 0, true);
    dv.setUint32(r + EV_TOTAL_LEN, total, true);
    dv.setUint32(r + EV_CAPTURED_LEN, payload.length, true);
    dv.setBigUint64(r + EV_SOCK_ID, e.sock ?? 0xffff8880_12345640n, true);
    rec.set(Buffer.from('curl'), r + EV_COMM);
    rec.set(payload, r + EV_HEADER);
    parts.push(rec);
  }
  return Buffer.concat(parts);
}

function recorder() {
  const calls: string[] = [];
  const flows: Flow[] = [];
  const consumer: StreamConsumer = {
    onFlowStart: (f) => void (flows.push(f), calls.push(`start ${f.addrA}:${f.portA} -> ${f.addrB}:${f.portB} clientIsA=${f.clientIsA} role=${f.roleSource}`)),
    onData: (f, fromA, b, o, l) => void calls.push(`data ${f.id} ${fromA ? 'A' : 'B'} ${Buffer.from(b.subarray(o, o + l)).toString('latin1')}`),
    onGap: (f, fromA, l) => void calls.push(`gap ${f.id} ${fromA ? 'A' : 'B'} ${l}`),
    onFin: () => undefined,
    onFlowEnd: (f, reason) => void calls.push(`end ${f.id} ${reason}`),
  };
  return { calls, flows, consumer };
}

function streams(consumer: StreamConsumer, procRoot = '/nonexistent') {
  return new EbpfSocketStreams(consumer, new MonotonicClock(new TimeBase()), new ProcessTable({ procRoot }), (p) => p < 1024 || p === 6379);
}

describe('eBPF events -> per-socket flows', () => {
  const cli: Pick<Ev, 'local' | 'remote'> = { local: ['127.0.0.1', 51000], remote: ['127.0.0.1', 6379] };

  it('connect makes the local socket the client; egress is A; data in order; close ends the flow', () => {
    const { calls, consumer, flows } = recorder();
    const s = streams(consumer);
    s.onBatch(events([
      { kind: KIND_CONNECT, ...cli },
      { kind: KIND_DATA, ...cli, egress: true, seq: 1000, payload: '*1\r\n$4\r\nPING\r\n' },
      { kind: KIND_DATA, ...cli, egress: false, seq: 5000, payload: '+PONG\r\n' },
      { kind: KIND_DATA, ...cli, egress: true, seq: 1014, payload: '*1\r\n$4\r\nPING\r\n' },
      { kind: KIND_CLOSE, ...cli },
    ]));
    expect(calls).toEqual([
      `start 127.0.0.1:51000 -> 127.0.0.1:6379 clientIsA=true role=${ROLE_FROM_HANDSHAKE}`,
      'data 1 A *1\r\n$4\r\nPING\r\n',
      'data 1 B +PONG\r\n',
      'data 1 A *1\r\n$4\r\nPING\r\n',
      'end 1 fin',
    ]);
    expect((flows[0] as unknown as { observer: { resource: { attributes: Record<string, unknown> } } }).observer.resource.attributes).toMatchObject({ 'process.pid': 100, 'service.name': 'curl' });
  });

  it('accept makes it the server; without either the registered port decides', () => {
    const a = recorder();
    streams(a.consumer).onBatch(events([
      { kind: KIND_ACCEPT, local: ['10.0.0.2', 8080], remote: ['10.0.0.1', 40000] },
      { kind: KIND_DATA, local: ['10.0.0.2', 8080], remote: ['10.0.0.1', 40000], egress: false, payload: 'GET / HTTP/1.1\r\n\r\n' },
    ]));
    expect(a.calls[0]).toBe(`start 10.0.0.2:8080 -> 10.0.0.1:40000 clientIsA=false role=${ROLE_FROM_HANDSHAKE}`);
    const b = recorder();
    streams(b.consumer).onBatch(events([{ kind: KIND_DATA, local: ['127.0.0.1', 6379], remote: ['127.0.0.1', 51000], egress: true, payload: '+PONG\r\n' }]));
    expect(b.calls[0]).toBe(`start 127.0.0.1:6379 -> 127.0.0.1:51000 clientIsA=false role=${ROLE_FROM_PORTS}`);
  });

  it('a jump in the TCP sequence is a gap of that length; a payload cut at the capture size is a gap of the rest; a repeat is trimmed', () => {
    const { calls, consumer } = recorder();
    streams(consumer).onBatch(events([
      { kind: KIND_CONNECT, ...cli },
      { kind: KIND_DATA, ...cli, egress: true, seq: 0xfffffff0, payload: 'abcd' },
      { kind: KIND_DATA, ...cli, egress: true, seq: 0xfffffff4 + 10, payload: 'efgh' }, // 10 bytes never seen (wraps past 2^32)
      { kind: KIND_DATA, ...cli, egress: true, seq: 0xfffffff4 + 14, total: 100, payload: 'ijkl' }, // 96 bytes not captured
      { kind: KIND_DATA, ...cli, egress: true, seq: 0xfffffff4 + 114 - 2, payload: 'xyNEW' }, // 2 bytes again
    ]));
    expect(calls.slice(1)).toEqual(['data 1 A abcd', 'gap 1 A 10', 'data 1 A efgh', 'data 1 A ijkl', 'gap 1 A 96', 'data 1 A NEW']);
  });

  it('a socket object reused by the kernel (its process exited without close) starts a new flow; absurd sequence jumps are not gaps', () => {
    const { calls, consumer } = recorder();
    const s = streams(consumer);
    s.onBatch(events([
      { kind: KIND_CONNECT, pid: 1, ...cli },
      { kind: KIND_DATA, pid: 1, ...cli, egress: true, seq: 10, payload: 'one' },
      // same struct sock, another process and ports: the server side of a later connection
      { kind: KIND_ACCEPT, pid: 2, local: ['127.0.0.1', 6379], remote: ['127.0.0.1', 52000] },
      { kind: KIND_DATA, pid: 2, local: ['127.0.0.1', 6379], remote: ['127.0.0.1', 52000], egress: false, seq: 77, payload: 'two' },
      { kind: KIND_DATA, pid: 2, local: ['127.0.0.1', 6379], remote: ['127.0.0.1', 52000], egress: false, seq: 80 + 0x40000000, payload: 'three' },
    ]));
    expect(calls).toEqual([
      `start 127.0.0.1:51000 -> 127.0.0.1:6379 clientIsA=true role=${ROLE_FROM_HANDSHAKE}`,
      'data 1 A one',
      'end 1 fin',
      `start 127.0.0.1:6379 -> 127.0.0.1:52000 clientIsA=false role=${ROLE_FROM_HANDSHAKE}`,
      'data 2 B two',
      'data 2 B three',
    ]);
  });

  it('TLS plaintext (SSL_DATA) is a flow of its own, tied to the socket by pid and fd', () => {
    const { calls, consumer, flows } = recorder();
    streams(consumer).onBatch(events([
      { kind: KIND_CONNECT, local: ['10.0.0.1', 41000], remote: ['10.0.0.9', 443], fd: 5 },
      { kind: KIND_DATA, local: ['10.0.0.1', 41000], remote: ['10.0.0.9', 443], fd: 5, egress: true, seq: 1, payload: '\x16\x03\x01' },
      { kind: KIND_SSL_DATA, fd: 5, egress: true, sock: 0n, payload: 'GET / HTTP/1.1\r\n\r\n' },
    ]));
    expect(calls).toEqual([
      `start 10.0.0.1:41000 -> 10.0.0.9:443 clientIsA=true role=${ROLE_FROM_HANDSHAKE}`,
      'data 1 A \x16\x03\x01',
      `start 10.0.0.1:41000 -> 10.0.0.9:443 clientIsA=true role=${ROLE_FROM_HANDSHAKE}`,
      'data 2 A GET / HTTP/1.1\r\n\r\n',
    ]);
    expect((flows[1] as unknown as { observer: { observation: string } }).observer.observation).toBe('process_tls');
  });

  it('addresses: IPv6, and IPv4-mapped IPv6 written as IPv4', () => {
    const b = Uint8Array.from([...ipBytes('::ffff:10.1.2.3'), ...ipBytes('::1')]);
    expect(socketAddress(b, 0, true)).toBe('10.1.2.3');
    expect(socketAddress(b, 16, true)).toBe('::1');
  });
});

describe('eBPF flows through L7 dispatch, pairing and span building', () => {
  it('the client process gets a CLIENT span and the server process a SERVER span, each with its process resource', () => {
    const spans: SpanData[] = [];
    const tb = new TimeBase();
    const builder = new SpanBuilder({ push: (x: SpanData) => void spans.push(x) }, { timeBase: tb, scope: SPANWIRE_SCOPE });
    const pairer = new SessionPairer(builder);
    const dispatcher = new L7Dispatcher(createDefaultRegistry(), pairer);
    const s = new EbpfSocketStreams(dispatcher, new MonotonicClock(tb), new ProcessTable({ procRoot: '/nonexistent' }), (p) => p < 1024);
    const cl: Pick<Ev, 'local' | 'remote'> = { local: ['127.0.0.1', 41000], remote: ['127.0.0.1', 8080] };
    const sv: Pick<Ev, 'local' | 'remote'> = { local: ['127.0.0.1', 8080], remote: ['127.0.0.1', 41000] };
    const req = 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n';
    const resp = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    s.onBatch(events([
      { kind: KIND_CONNECT, pid: 10, ...cl, sock: 0xffff888000001000n },
      { kind: KIND_ACCEPT, pid: 20, ...sv, sock: 0xffff888000002000n },
      { kind: KIND_DATA, pid: 10, ...cl, sock: 0xffff888000001000n, egress: true, seq: 1, payload: req, tsNs: 1_000_000 },
      { kind: KIND_DATA, pid: 20, ...sv, sock: 0xffff888000002000n, egress: false, seq: 1, payload: req, tsNs: 1_100_000 },
      { kind: KIND_DATA, pid: 20, ...sv, sock: 0xffff888000002000n, egress: true, seq: 900, payload: resp, tsNs: 1_200_000 },
      { kind: KIND_DATA, pid: 10, ...cl, sock: 0xffff888000001000n, egress: false, seq: 900, payload: resp, tsNs: 1_300_000 },
    ]));
    s.endAll(2e9);
    pairer.advance(Number.MAX_SAFE_INTEGER);
    expect(spans.map((x) => [x.kind, x.name, x.attributes['spanwire.observation'], x.resource.attributes['process.pid'], x.attributes['client.port'], x.attributes['server.port']]).sort()).toEqual([
      [2, 'GET', 'process', 20, 41000, 8080],
      [3, 'GET', 'process', 10, 41000, 8080],
    ]);
  });
});

describe('process resource from /proc', () => {
  it('executable, command line, container id, OTEL_SERVICE_NAME', () => {
    const root = mkdtempSync(join(tmpdir(), 'spanwire-proc-'));
    mkdirSync(join(root, '42'));
    symlinkSync('/usr/sbin/nginx', join(root, '42', 'exe'));
    writeFileSync(join(root, '42', 'cmdline'), 'nginx: worker process\0-g\0daemon off;\0');
    writeFileSync(join(root, '42', 'cgroup'), '0::/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n');
    writeFileSync(join(root, '42', 'environ'), 'PATH=/bin\0');
    writeFileSync(join(root, '42', 'comm'), 'nginx\n');
    mkdirSync(join(root, '43'));
    writeFileSync(join(root, '43', 'environ'), 'A=1\0OTEL_SERVICE_NAME=checkout\0');
    const t = new ProcessTable({ procRoot: root });
    expect(t.resource(42, 'nginx').attributes).toEqual({
      'service.name': 'nginx',
      'process.pid': 42,
      'process.executable.name': 'nginx',
      'process.executable.path': '/usr/sbin/nginx',
      'process.command_line': 'nginx: worker process -g daemon off;',
      'container.id': '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    });
    expect(t.resource(42, 'nginx')).toBe(t.resource(42, 'x')); // one object per process
    expect(t.resource(43, 'python3').attributes).toMatchObject({ 'service.name': 'checkout', 'process.executable.name': 'python3' }); // no /proc comm: the event's
    mkdirSync(join(root, '44'));
    symlinkSync('/usr/bin/redis-check-rdb', join(root, '44', 'exe'));
    writeFileSync(join(root, '44', 'comm'), 'redis-server\n');
    expect(t.resource(44, 'redis-serv').attributes).toMatchObject({ 'process.executable.name': 'redis-server', 'process.executable.path': '/usr/bin/redis-check-rdb', 'service.name': 'redis-server' });
    expect(new ProcessTable({ procRoot: root, serviceName: 'fixed' }).resource(43, 'p').attributes['service.name']).toBe('fixed');
  });

  it('container ids of the common runtimes', () => {
    const id = 'ab'.repeat(32);
    for (const line of [`0::/kubepods/besteffort/pod1/${id}`, `0::/system.slice/cri-containerd-${id}.scope`, `12:pids:/docker/${id}`, `0::/machine.slice/libpod-${id}.scope`]) {
      expect(containerIdFromCgroup(line), line).toBe(id);
    }
    expect(containerIdFromCgroup('0::/user.slice/user-0.slice/session-1.scope')).toBe('');
  });
});

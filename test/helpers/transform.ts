/**
 * Capture transformer for integration tests: reads a classic pcap with a tiny reader of its own
 * (independent of spanwire's capture reader), extracts each frame's IP packet, and rewrites the
 * capture with another encapsulation / file format, or with TCP-level impairments (reordering,
 * duplication, overlap, loss, truncation, snap length).
 *
 * Frames and capture files are built with `pcap-builder.ts`; the oracle is tshark (`expectedHttp`).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { SpanData } from '../../core/trace/span.js';
import {
  buildPcap,
  buildPcapng,
  bsdLoop,
  bsdNull,
  ethernet,
  fragmentIpv4,
  fragmentIpv6,
  gre,
  ipv4Packet,
  nflog,
  sll,
  sll2,
  tcpIp,
  udpIp,
  vxlan,
  type Frame,
  type PcapngSection,
} from './pcap-builder.js';

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_NFLOG = 239;
export const LINKTYPE_LINUX_SLL2 = 276;

/** [seconds, nanoseconds]. */
export type Ts = [number, number];

// ---------------------------------------------------------------------------------------------
// Reading

export interface PcapRecord {
  /** Byte offset of the record header in the file. */
  offset: number;
  ts: Ts;
  data: Uint8Array;
  origLen: number;
}

export interface PcapImage {
  linkType: number;
  nanos: boolean;
  bigEndian: boolean;
  snaplen: number;
  records: PcapRecord[];
}

/** A minimal classic-pcap reader (both byte orders, micro- and nanosecond magic). */
export function readPcap(path: string): PcapImage {
  const b = readFileSync(path);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magicLe = dv.getUint32(0, true);
  const magicBe = dv.getUint32(0, false);
  let le: boolean;
  let nanos: boolean;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) {
    le = true;
    nanos = magicLe === 0xa1b23c4d;
  } else if (magicBe === 0xa1b2c3d4 || magicBe === 0xa1b23c4d) {
    le = false;
    nanos = magicBe === 0xa1b23c4d;
  } else {
    throw new Error(`${path}: not a classic pcap file`);
  }
  const snaplen = dv.getUint32(16, le);
  const linkType = dv.getUint32(20, le) & 0xffff;
  const records: PcapRecord[] = [];
  let o = 24;
  while (o + 16 <= b.length) {
    const sec = dv.getUint32(o, le);
    const frac = dv.getUint32(o + 4, le);
    const incl = dv.getUint32(o + 8, le);
    const orig = dv.getUint32(o + 12, le);
    if (o + 16 + incl > b.length) throw new Error(`${path}: record at ${o} cut short`);
    records.push({ offset: o, ts: [sec, nanos ? frac : frac * 1000], data: new Uint8Array(b.subarray(o + 16, o + 16 + incl)), origLen: orig });
    o += 16 + incl;
  }
  return { linkType, nanos, bigEndian: !le, snaplen, records };
}

/** Byte offset of the IP header in a frame of the given link type (Ethernet: after VLAN tags). */
export function ipOffset(linkType: number, data: Uint8Array): number {
  switch (linkType) {
    case LINKTYPE_ETHERNET: {
      let o = 12;
      let type = (data[o] << 8) | data[o + 1];
      while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
        o += 4;
        type = (data[o] << 8) | data[o + 1];
      }
      if (type !== 0x0800 && type !== 0x86dd) return -1;
      return o + 2;
    }
    case LINKTYPE_RAW:
      return 0;
    case LINKTYPE_LINUX_SLL:
      return 16;
    case LINKTYPE_LINUX_SLL2:
      return 20;
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
      return 4;
    default:
      throw new Error(`link type ${linkType} not supported by the test transformer`);
  }
}

/** One frame reduced to its IP packet (trailing link-layer padding removed). */
export interface IpFrame {
  ts: Ts;
  ip: Uint8Array;
}

/** The IP packet of every frame of a pcap file (frames without IP are dropped). */
export function readIpFrames(path: string): IpFrame[] {
  const img = readPcap(path);
  const out: IpFrame[] = [];
  for (const r of img.records) {
    const off = ipOffset(img.linkType, r.data);
    if (off < 0) continue;
    let ip = r.data.subarray(off);
    const v = ip[0] >> 4;
    const total = v === 4 ? (ip[2] << 8) | ip[3] : v === 6 ? 40 + ((ip[4] << 8) | ip[5]) : ip.length;
    if (total < ip.length) ip = ip.subarray(0, total);
    out.push({ ts: r.ts, ip: new Uint8Array(ip) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// TCP view of IP packets

/** An IPv4 TCP segment, decoded enough to rebuild it. */
export interface TcpSeg {
  ts: Ts;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  /** Flag bits (F=1 S=2 R=4 P=8 A=16). */
  flags: number;
  window: number;
  options: Uint8Array;
  payload: Uint8Array;
  ipId: number;
  ttl: number;
}

const ip4 = (b: Uint8Array, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

/** Decodes an unfragmented IPv4 TCP packet (null for anything else). */
export function parseTcp(f: IpFrame): TcpSeg | null {
  const p = f.ip;
  if (p[0] >> 4 !== 4 || p[9] !== 6) return null;
  if ((((p[6] << 8) | p[7]) & 0x3fff) !== 0) return null; // a fragment
  const hl = (p[0] & 15) * 4;
  const t = p.subarray(hl);
  const thl = (t[12] >> 4) * 4;
  return {
    ts: f.ts,
    src: ip4(p, 12),
    dst: ip4(p, 16),
    sport: (t[0] << 8) | t[1],
    dport: (t[2] << 8) | t[3],
    seq: ((t[4] << 24) | (t[5] << 16) | (t[6] << 8) | t[7]) >>> 0,
    ack: ((t[8] << 24) | (t[9] << 16) | (t[10] << 8) | t[11]) >>> 0,
    flags: t[13],
    window: (t[14] << 8) | t[15],
    options: new Uint8Array(t.subarray(20, thl)),
    payload: new Uint8Array(t.subarray(thl)),
    ipId: (p[4] << 8) | p[5],
    ttl: p[8],
  };
}

/** Rebuilds the IP packet of a segment (IPv4 by default; `v6` maps the addresses to IPv6). */
export function tcpSegIp(s: TcpSeg, v6 = false): Uint8Array {
  return tcpIp({
    src: v6 ? ipv6Of(s.src) : s.src,
    dst: v6 ? ipv6Of(s.dst) : s.dst,
    sport: s.sport,
    dport: s.dport,
    seq: s.seq,
    ack: s.ack,
    flags: s.flags,
    window: s.window,
    options: s.options,
    payload: s.payload,
    ipId: s.ipId,
    ttl: s.ttl,
  });
}

/** The fixed IPv4 -> IPv6 mapping of the IPv6 variant: a.b.c.d -> 2001:db8::a.b.c.d (RFC 5952 text). */
export function ipv6Of(v4: string): string {
  const [a, b, c, d] = v4.split('.').map(Number);
  const hi = ((a << 8) | b).toString(16);
  const lo = ((c << 8) | d).toString(16);
  return hi === '0' ? `2001:db8::${lo}` : `2001:db8::${hi}:${lo}`;
}

/** Direction key of a segment ("src:sport>dst:dport"). */
export function dirKey(s: TcpSeg): string {
  return `${s.src}:${s.sport}>${s.dst}:${s.dport}`;
}

/** Connection key (both directions alike). */
export function connKey(s: TcpSeg): string {
  const a = `${s.src}:${s.sport}`;
  const b = `${s.dst}:${s.dport}`;
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** Reads a pcap's IPv4 TCP segments (every frame must be one). */
export function readTcp(path: string): TcpSeg[] {
  return readIpFrames(path).map((f, i) => {
    const s = parseTcp(f);
    if (s === null) throw new Error(`${path}: frame ${i + 1} is not an unfragmented IPv4 TCP packet`);
    return s;
  });
}

/** Writes TCP segments as an Ethernet pcap. */
export function writeTcpPcap(path: string, segs: TcpSeg[], opts: { snaplen?: number } = {}): string {
  writeFileSync(path, buildPcap(segs.map((s) => ({ data: ethernet(tcpSegIp(s)), ts: s.ts })), { snaplen: opts.snaplen }));
  return path;
}

/** A copy of `s` with other fields. */
export function withSeg(s: TcpSeg, over: Partial<TcpSeg>): TcpSeg {
  return { ...s, ...over };
}

/**
 * Splits every data segment longer than `mss` into segments of `mss` bytes (sequence numbers
 * adjusted, PSH only on the last piece, same ACK as the original), as if the capture had been
 * taken without segmentation offload. Piece k gets the original timestamp plus k * `stepNs`
 * (default 0: all pieces at the original time).
 */
export function resegment(segs: TcpSeg[], mss: number, stepNs = 0): TcpSeg[] {
  const out: TcpSeg[] = [];
  for (const s of segs) {
    if (s.payload.length <= mss || (s.flags & 0x07) !== 0) {
      out.push(s);
      continue;
    }
    for (let o = 0, k = 0; o < s.payload.length; o += mss, k++) {
      const last = o + mss >= s.payload.length;
      out.push(
        withSeg(s, {
          seq: (s.seq + o) >>> 0,
          payload: s.payload.subarray(o, Math.min(o + mss, s.payload.length)),
          flags: last ? s.flags : s.flags & ~0x08,
          ipId: (s.ipId + k) & 0xffff,
          ts: addNs(s.ts, k * stepNs),
        }),
      );
    }
  }
  return out;
}

/** `ts` plus `ns` nanoseconds. */
export function addNs(ts: Ts, ns: number): Ts {
  const t = ts[1] + ns;
  return [ts[0] + Math.floor(t / 1e9), t % 1e9];
}

/** Indices of the data-carrying segments (payload > 0) of one direction, in capture order. */
export function dataIndices(segs: TcpSeg[], pred: (s: TcpSeg) => boolean): number[] {
  const out: number[] = [];
  segs.forEach((s, i) => {
    if (s.payload.length > 0 && pred(s)) out.push(i);
  });
  return out;
}

/**
 * The byte stream of one direction (`dir` a `dirKey`), as [first seq, bytes]; throws unless the
 * data segments tile the stream without holes (true of the unimpaired inputs).
 */
export function streamOf(segs: TcpSeg[], dir: string): { seq: number; bytes: Uint8Array } {
  const ds = segs.filter((s) => dirKey(s) === dir && s.payload.length > 0);
  const seq0 = ds[0].seq;
  const parts: Uint8Array[] = [];
  let next = seq0;
  for (const s of ds) {
    const rel = (s.seq - next) | 0;
    if (rel > 0) throw new Error(`hole in ${dir} at ${next}`);
    const skip = -rel;
    if (skip < s.payload.length) {
      parts.push(s.payload.subarray(skip));
      next = (s.seq + s.payload.length) >>> 0;
    }
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const bytes = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  return { seq: seq0, bytes };
}

/**
 * Swaps the data of segments `i` and `j` while every frame keeps its timestamp slot (the capture
 * stays in time order; the bytes arrive out of order).
 */
export function swapData(segs: TcpSeg[], i: number, j: number): TcpSeg[] {
  const out = segs.slice();
  out[i] = withSeg(segs[j], { ts: segs[i].ts });
  out[j] = withSeg(segs[i], { ts: segs[j].ts });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encapsulations and file formats

/** Every rewrite of the encapsulation matrix. */
export const ENCAPSULATIONS = [
  'vlan',
  'qinq',
  'sll',
  'sll2',
  'raw',
  'null-le',
  'null-be',
  'loop',
  'nflog',
  'vxlan',
  'gre',
  'gre-teb',
  'ipv6',
  'ipv6-fragments',
  'ipv4-fragments',
  'ipv4-fragments-reversed',
  'pcap-nanos',
  'pcap-big-endian',
  'pcapng-2if-2sections',
  'pcapng-tsresol-ns',
  'pcapng-tsresol-2^-20',
  'pcapng-tsresol-ns.gz',
  'vxlan.gz',
  'sll2.gz',
] as const;
export type Encapsulation = (typeof ENCAPSULATIONS)[number];

/** File name extension of a rewrite. */
export function encapExtension(e: Encapsulation): string {
  const base = e.replace(/\.gz$/, '');
  const ext = base.startsWith('pcapng') ? 'pcapng' : 'pcap';
  return e.endsWith('.gz') ? `${ext}.gz` : ext;
}

const OUTER_SRC = '192.0.2.1';
const OUTER_DST = '192.0.2.2';

/** IPv4 version of an IP packet, with a fresh identification (fragmentation needs distinct ids). */
function withIpId(ip: Uint8Array, id: number): Uint8Array {
  const hl = (ip[0] & 15) * 4;
  return ipv4Packet({
    src: ip4(ip, 12),
    dst: ip4(ip, 16),
    protocol: ip[9],
    payload: ip.subarray(hl),
    id,
    ttl: ip[8],
  });
}

/** Rewrites the IP frames of `frames` with encapsulation / format `e` into `path`; returns the frame count written. */
export function writeEncapsulated(path: string, frames: IpFrame[], e: Encapsulation): { path: string; frames: number } {
  const gz = e.endsWith('.gz');
  const base = e.replace(/\.gz$/, '') as Encapsulation;
  let image: Uint8Array;
  let count = frames.length;
  const pcapOf = (wrap: (ip: Uint8Array) => Uint8Array, linkType: number, opts: { nanos?: boolean; bigEndian?: boolean } = {}): Uint8Array =>
    buildPcap(
      frames.map((f) => ({ data: wrap(f.ip), ts: f.ts })),
      { linkType, ...opts },
    );
  switch (base) {
    case 'vlan':
      image = pcapOf((ip) => ethernet(ip, { vlans: [{ id: 100, pcp: 3 }] }), LINKTYPE_ETHERNET);
      break;
    case 'qinq':
      image = pcapOf((ip) => ethernet(ip, { vlans: [{ id: 200, tpid: 0x88a8 }, { id: 100 }] }), LINKTYPE_ETHERNET);
      break;
    case 'sll':
      image = pcapOf((ip) => sll(ip), LINKTYPE_LINUX_SLL);
      break;
    case 'sll2':
      image = pcapOf((ip) => sll2(ip), LINKTYPE_LINUX_SLL2);
      break;
    case 'raw':
      image = pcapOf((ip) => ip, LINKTYPE_RAW);
      break;
    case 'null-le':
      image = pcapOf((ip) => bsdNull(ip), LINKTYPE_NULL);
      break;
    case 'null-be':
      image = pcapOf((ip) => bsdNull(ip, { bigEndian: true }), LINKTYPE_NULL);
      break;
    case 'loop':
      image = pcapOf((ip) => bsdLoop(ip), LINKTYPE_LOOP);
      break;
    case 'nflog':
      image = pcapOf((ip) => nflog(ip), LINKTYPE_NFLOG);
      break;
    case 'vxlan':
      image = pcapOf(
        (ip) => ethernet(udpIp({ src: OUTER_SRC, dst: OUTER_DST, sport: 54321, dport: 4789, payload: vxlan(ethernet(ip), 4242) })),
        LINKTYPE_ETHERNET,
      );
      break;
    case 'gre':
      image = pcapOf((ip) => ethernet(ipv4Packet({ src: OUTER_SRC, dst: OUTER_DST, protocol: 47, payload: gre(ip) })), LINKTYPE_ETHERNET);
      break;
    case 'gre-teb':
      image = pcapOf(
        (ip) => ethernet(ipv4Packet({ src: OUTER_SRC, dst: OUTER_DST, protocol: 47, payload: gre(ethernet(ip), { protocol: 0x6558, key: 7 }) })),
        LINKTYPE_ETHERNET,
      );
      break;
    case 'ipv6':
      image = buildPcap(
        frames.map((f) => {
          const s = parseTcp(f);
          if (s === null) throw new Error('ipv6 rewrite: not an IPv4 TCP packet');
          return { data: ethernet(tcpSegIp(s, true)), ts: f.ts };
        }),
        { linkType: LINKTYPE_ETHERNET },
      );
      break;
    case 'ipv6-fragments': {
      const out: Frame[] = [];
      let id = 0x10000;
      for (const f of frames) {
        const s = parseTcp(f);
        if (s === null) throw new Error('ipv6 rewrite: not an IPv4 TCP packet');
        const v6 = tcpSegIp(s, true);
        // Small packets (<= 1280 bytes) stay whole; bigger ones go in 512-byte fragments.
        const frags = v6.length <= 1280 ? [v6] : fragmentIpv6(v6, 512, id++);
        for (const fr of frags) out.push({ data: ethernet(fr), ts: f.ts });
      }
      image = buildPcap(out, { linkType: LINKTYPE_ETHERNET });
      count = out.length;
      break;
    }
    case 'ipv4-fragments':
    case 'ipv4-fragments-reversed': {
      const out: Frame[] = [];
      let id = 0x4000;
      for (const f of frames) {
        const frags = fragmentIpv4(withIpId(f.ip, id++), 64);
        if (base === 'ipv4-fragments-reversed') frags.reverse();
        for (const fr of frags) out.push({ data: ethernet(fr), ts: f.ts });
      }
      image = buildPcap(out, { linkType: LINKTYPE_ETHERNET });
      count = out.length;
      break;
    }
    case 'pcap-nanos':
      // Sub-microsecond digits make the nanosecond resolution matter.
      image = buildPcap(
        frames.map((f, i) => ({ data: ethernet(f.ip), ts: subMicro(f.ts, i) })),
        { linkType: LINKTYPE_ETHERNET, nanos: true },
      );
      break;
    case 'pcap-big-endian':
      image = pcapOf((ip) => ethernet(ip), LINKTYPE_ETHERNET, { bigEndian: true });
      break;
    case 'pcapng-2if-2sections': {
      // Connections alternate between an Ethernet and an SLL interface; the file has two sections
      // (split at the middle frame, possibly inside a connection) whose interface order differs.
      const keys = frames.map((f) => {
        const s = parseTcp(f);
        return s === null ? '' : connKey(s);
      });
      const conns = [...new Set(keys)];
      // One connection only: alternate frame by frame instead (the flow then crosses interfaces).
      const onSll = keys.map((k, i) => (conns.length > 1 ? conns.indexOf(k) % 2 === 1 : i % 2 === 1));
      const mid = Math.ceil(frames.length / 2);
      const sections: PcapngSection[] = [
        { interfaces: [{ linkType: LINKTYPE_ETHERNET, name: 'eth0' }, { linkType: LINKTYPE_LINUX_SLL, name: 'any' }], frames: [] },
        { bigEndian: true, interfaces: [{ linkType: LINKTYPE_LINUX_SLL, name: 'any' }, { linkType: LINKTYPE_ETHERNET, name: 'eth0' }], frames: [] },
      ];
      frames.forEach((f, i) => {
        const second = i >= mid;
        const isSll = onSll[i];
        sections[second ? 1 : 0].frames.push({
          data: isSll ? sll(f.ip) : ethernet(f.ip),
          ts: f.ts,
          interfaceId: second ? (isSll ? 0 : 1) : isSll ? 1 : 0,
        });
      });
      image = buildPcapng(sections);
      break;
    }
    case 'pcapng-tsresol-ns':
      image = buildPcapng([
        {
          interfaces: [{ linkType: LINKTYPE_ETHERNET, tsresol: 9 }],
          frames: frames.map((f, i) => ({ data: ethernet(f.ip), ts: subMicro(f.ts, i) })),
        },
      ]);
      break;
    case 'pcapng-tsresol-2^-20':
      // Binary fractions of a second (about 0.95 us): timestamps are rounded down to a unit.
      image = buildPcapng([{ interfaces: [{ linkType: LINKTYPE_ETHERNET, tsresol: 0x80 | 20 }], frames: frames.map((f) => ({ data: ethernet(f.ip), ts: f.ts })) }]);
      break;
    default:
      throw new Error(`unknown encapsulation ${e}`);
  }
  writeFileSync(path, gz ? gzipSync(image) : image);
  return { path, frames: count };
}

/**
 * Adds a sub-microsecond offset in [0, 400) ns to a timestamp (never enough to change a difference
 * rounded to microseconds by more than the rounding itself: |delta| < 0.5 us).
 */
function subMicro(ts: Ts, i: number): Ts {
  return [ts[0], ts[1] + ((i * 137) % 400)];
}

// ---------------------------------------------------------------------------------------------
// Snap length

/** `editcap -s n`: every frame cut to `n` bytes, original lengths kept. */
export function snapPcap(src: string, dst: string, n: number): string {
  const img = readPcap(src);
  const recs = img.records.map((r) => ({ data: r.data, ts: r.ts, origLen: r.origLen }));
  writeFileSync(dst, buildPcap(recs, { linkType: img.linkType, snaplen: n }));
  return dst;
}

// ---------------------------------------------------------------------------------------------
// The tshark oracle and the comparison with spans

/** One HTTP exchange, normalised so tshark's view and a span compare with `toEqual`. */
export interface HttpExchange {
  method: string;
  uri: string;
  client: string;
  clientPort: number;
  server: string;
  serverPort: number;
  /** Seconds since the epoch with microseconds (6 digits). */
  start: string;
  /** null when there is no response. */
  status: number | null;
  /** Response time in microseconds; null when there is no response. */
  durationUs: number | null;
}

/** Runs tshark (exit status ignored: a cut-short capture makes it exit non-zero after printing). */
export function tsharkRows(file: string, filter: string, fields: string[], extra: string[] = []): string[][] {
  const args = ['-r', file, '-n', ...extra, '-Y', filter, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=l'];
  for (const f of fields) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0 && !/cut short|appears to be damaged|truncated/i.test(r.stderr)) {
    throw new Error(`tshark ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  }
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}

/** The exchanges tshark finds in `file`: one per request, with the status and time of its response. */
export function expectedHttp(file: string, extra: string[] = []): (HttpExchange & { frame: number })[] {
  const rows = tsharkRows(
    file,
    'http.request || http.response',
    [
      'frame.number', 'frame.time_epoch', 'ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport',
      'http.request.method', 'http.request.uri', 'http.request_in', 'http.response.code', 'http.time',
    ],
    extra,
  );
  const reqs = rows.filter((r) => r[8] !== '');
  const resps = new Map<string, string[]>();
  for (const r of rows) if (r[11] !== '' && r[10] !== '') resps.set(r[10], r);
  return reqs.map((r) => {
    const [frame, epoch, src4, src6, dst4, dst6, sport, dport, method, uri] = r;
    const resp = resps.get(frame);
    return {
      frame: Number(frame),
      method,
      uri,
      client: src4 || src6,
      clientPort: Number(sport),
      server: dst4 || dst6,
      serverPort: Number(dport),
      start: epoch.slice(0, epoch.indexOf('.') + 7),
      status: resp ? Number(resp[11]) : null,
      durationUs: resp ? Math.round(Number(resp[12]) * 1e6) : null,
    };
  });
}

/** Drops the tshark frame number. */
export function withoutFrame(xs: (HttpExchange & { frame: number })[]): HttpExchange[] {
  return sortExchanges(xs.map(({ frame: _f, ...rest }) => rest));
}

function spanStart(s: SpanData): string {
  return `${s.startTime[0]}.${String(Math.floor(s.startTime[1] / 1e3)).padStart(6, '0')}`;
}

function spanDurationUs(s: SpanData): number {
  return Math.round(((s.endTime[0] - s.startTime[0]) * 1e9 + (s.endTime[1] - s.startTime[1])) / 1e3);
}

/** A span as an exchange (spans without a status code count as 'no response'). */
export function exchangeOf(s: SpanData): HttpExchange {
  const q = s.attributes['url.query'];
  const status = s.attributes['http.response.status_code'];
  const answered = typeof status === 'number';
  return {
    method: String(s.attributes['http.request.method']),
    uri: `${String(s.attributes['url.path'])}${q !== undefined ? `?${String(q)}` : ''}`,
    client: String(s.attributes['client.address']),
    clientPort: Number(s.attributes['client.port']),
    server: String(s.attributes['network.peer.address']),
    serverPort: Number(s.attributes['server.port']),
    start: spanStart(s),
    status: answered ? status : null,
    durationUs: answered ? spanDurationUs(s) : null,
  };
}

/** Sorts exchanges by start time, then client endpoint, method and URI (a total, stable order). */
export function sortExchanges<T extends HttpExchange>(xs: T[]): T[] {
  const key = (x: HttpExchange): string => `${x.start.padStart(20, '0')} ${x.client} ${String(x.clientPort).padStart(5, '0')} ${x.method} ${x.uri}`;
  return xs.slice().sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Exchanges of spans, sorted like `sortExchanges`. */
export function exchangesOf(spans: SpanData[]): HttpExchange[] {
  return sortExchanges(spans.map(exchangeOf));
}

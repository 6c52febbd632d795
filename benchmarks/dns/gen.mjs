#!/usr/bin/env node
// Synthetic DNS capture generator for the DNS replay benchmark.
//
//   node benchmarks/dns/gen.mjs OUT.pcap [--packets N] [--clients C] [--concurrency K] [--seed S]
//
// Writes a classic pcap (microsecond timestamps, Ethernet / IPv4 / UDP and TCP) of stub-resolver traffic:
// C clients (default 2000: 500 addresses x 4 long-lived source ports) query 2 resolvers on port 53.
// K transactions (default 256) are in flight at any moment, interleaved packet by packet, so responses
// arrive out of order and several queries of one client are outstanding at once.
//   - ~90% of transactions: one UDP query and (except ~2% left unanswered) one UDP response.
//   - ~10%: a DNS-over-TCP connection (RFC 7766): 3-way handshake, 2-6 length-prefixed queries (sometimes
//     two in one segment), responses in any order, each answered, then FIN / FIN / ACK.
// Questions: A, AAAA, HTTPS, PTR, TXT, MX, SRV. Responses: NOERROR with CNAME chains (1-3 CNAMEs) and
// compression pointers everywhere a real server puts them (question name, CNAME/MX/PTR/SOA targets, owner
// names), NODATA with an SOA in the authority section, ~5% NXDOMAIN (SOA), ~1% SERVFAIL; ~60% carry EDNS.
// DNS ids are unique per flow among outstanding queries (an odd-step permutation of 0..65535 per client).
//
// IPv4, UDP and TCP checksums and TCP sequence numbers are correct: tshark dissects every message.
// Output is streamed through one reused buffer: memory stays flat at any size.
//
// Next to OUT.pcap it writes OUT.pcap.truth.json: the exact numbers of packets, queries, responses,
// answered pairs, unanswered queries, per qtype and per rcode. spanwire reports every answered pair as
// one span and every unanswered query as one ERROR span (error.type no_response), so
// spans = answered + unanswered, spansByQtype = queriesByQtype, spansByRcode = responsesByRcode + none.
//
// Plain Node ESM, no dependencies.

import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { MSS, PcapWriter, ipv4Packet, pick, rand, randInt, seedRandom } from '../gen-lib.mjs';

const USAGE =
  'usage: node benchmarks/dns/gen.mjs OUT.pcap [--packets N] [--clients C] [--concurrency K] [--seed S]\n' +
  '  --packets N      stop starting new transactions after N packets (default 300000)\n' +
  '  --clients C      client sockets (default 2000; 4 source ports per address)\n' +
  '  --concurrency K  transactions in flight (default 256)\n' +
  '  --seed S         PRNG seed (default 1): the same arguments always give the same file\n';


function parseArgs(argv) {
  const opts = { out: '', packets: 300_000, clients: 2000, concurrency: 256, seed: 1 };
  const num = (name, v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) fail(`${name} needs a positive number, got ${JSON.stringify(v)}`);
    return Math.floor(n);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--packets') opts.packets = num(a, argv[++i]);
    else if (a === '--clients') opts.clients = num(a, argv[++i]);
    else if (a === '--concurrency') opts.concurrency = num(a, argv[++i]);
    else if (a === '--seed') opts.seed = num(a, argv[++i]);
    else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else if (a.startsWith('-')) fail(`unknown option ${a}`);
    else if (!opts.out) opts.out = a;
    else fail(`unexpected argument ${a}`);
  }
  if (!opts.out) fail('missing OUT.pcap');
  return opts;
}

function fail(msg) {
  process.stderr.write(`gen.mjs: ${msg}\n${USAGE}`);
  process.exit(2);
}

const alnum = (n) => {
  let s = '';
  for (let i = 0; i < n; i++) s += 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(rand() * 36)];
  return s;
};


// ---- checksums ---------------------------------------------------------------------------------------
const ip4 = (a, b, c, d) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

// ---- DNS message builder with name compression --------------------------------------------------------
const T = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, HTTPS: 65 };
const RCODE_NAMES = { 0: 'NOERROR', 2: 'SERVFAIL', 3: 'NXDOMAIN' };

class Msg {
  constructor(buf, base) {
    this.b = buf;
    this.base = base; // message start (offsets in pointers are relative to it)
    this.p = base + 12;
    this.names = new Map(); // lower-case suffix -> offset in the message
    this.pointers = 0;
  }
  header(id, flags, qd, an, ns, ar) {
    const b = this.b;
    const o = this.base;
    b.writeUInt16BE(id, o);
    b.writeUInt16BE(flags, o + 2);
    b.writeUInt16BE(qd, o + 4);
    b.writeUInt16BE(an, o + 6);
    b.writeUInt16BE(ns, o + 8);
    b.writeUInt16BE(ar, o + 10);
  }
  u8(v) {
    this.b[this.p++] = v;
  }
  u16(v) {
    this.b.writeUInt16BE(v, this.p);
    this.p += 2;
  }
  u32(v) {
    this.b.writeUInt32BE(v >>> 0, this.p);
    this.p += 4;
  }
  /** Writes `name`, replacing its longest already-written suffix with a pointer (when compress). */
  name(name, compress = true) {
    if (name === '' || name === '.') {
      this.u8(0);
      return;
    }
    const labels = name.split('.');
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.');
      const at = compress ? this.names.get(suffix) : undefined;
      if (at !== undefined) {
        this.u16(0xc000 | at);
        this.pointers++;
        return;
      }
      const off = this.p - this.base;
      if (compress && off < 0x3fff && !this.names.has(suffix)) this.names.set(suffix, off);
      this.u8(labels[i].length);
      this.p += this.b.write(labels[i], this.p, 'latin1');
    }
    this.u8(0);
  }
  question(qname, qtype) {
    this.name(qname);
    this.u16(qtype);
    this.u16(1);
  }
  /** Resource record header; returns the RDLENGTH offset to patch with `end(rdl)`. */
  rr(owner, type, ttl) {
    this.name(owner);
    this.u16(type);
    this.u16(1);
    this.u32(ttl);
    const rdl = this.p;
    this.p += 2;
    return rdl;
  }
  end(rdl) {
    this.b.writeUInt16BE(this.p - rdl - 2, rdl);
  }
  opt(udpSize) {
    this.u8(0);
    this.u16(T.OPT);
    this.u16(udpSize);
    this.u32(0);
    this.u16(0);
  }
  soa(zone) {
    const r = this.rr(zone, T.SOA, 900);
    this.name(`ns1.${zone}`);
    this.name(`hostmaster.${zone}`);
    this.u32(2026112001);
    this.u32(7200);
    this.u32(900);
    this.u32(1209600);
    this.u32(300);
    this.end(r);
  }
  get length() {
    return this.p - this.base;
  }
}

// ---- traffic model ----------------------------------------------------------------------------------
const RESOLVERS = [
  { ip: ip4(10, 0, 0, 53), mac: Buffer.from([0x02, 0x42, 0x0a, 0x00, 0x00, 0x35]) },
  { ip: ip4(10, 0, 0, 54), mac: Buffer.from([0x02, 0x42, 0x0a, 0x00, 0x00, 0x36]) },
];
const GATEWAY_MAC = Buffer.from([0x02, 0x42, 0x0a, 0x14, 0x00, 0x01]);
const ZONES = [
  'example.com', 'shop.internal', 'github.com', 'googleapis.com', 'cloudfront.net', 'akamaiedge.net',
  'amazonaws.com', 'svc.cluster.local', 'corp.example.org', 'office365.com', 'slack.com', 'npmjs.org',
];
const HOSTS = ['www', 'api', 'cdn', 'static', 'auth', 'login', 'mail', 'img', 'ws', 'edge', 'app', 'db', 'metrics'];
const SRV_SERVICES = ['_sip._tcp', '_ldap._tcp', '_kerberos._udp', '_xmpp-client._tcp', '_imaps._tcp', '_http._tcp'];
// qtype mix: A 44%, AAAA 28%, HTTPS 9%, PTR 7%, TXT 5%, MX 3%, SRV 4%
const QTYPES = [
  ['A', 0.44], ['AAAA', 0.72], ['HTTPS', 0.81], ['PTR', 0.88], ['TXT', 0.93], ['MX', 0.96], ['SRV', 1],
];
const TXT_VALUES = [
  'v=spf1 include:_spf.google.com include:amazonses.com ~all',
  'google-site-verification=Xb9dZ0kq3L1aV8mN2pR7sT4uW6yZ1cE5fH8jK0lM',
  'MS=ms84721530',
  'v=DMARC1; p=reject; rua=mailto:dmarc@example.com',
];

function pickQtype() {
  const r = rand();
  for (const [name, cum] of QTYPES) if (r < cum) return name;
  return 'A';
}

/** A question and the plan of its answer (deterministic given the PRNG). */
function makeTransaction(answered) {
  const qtype = pickQtype();
  const zone = pick(ZONES);
  let qname;
  if (qtype === 'PTR') qname = `${randInt(1, 254)}.${randInt(0, 255)}.${randInt(0, 255)}.10.in-addr.arpa`;
  else if (qtype === 'SRV') qname = `${pick(SRV_SERVICES)}.${zone}`;
  else if (qtype === 'MX' || qtype === 'TXT') qname = rand() < 0.7 ? zone : `_dmarc.${zone}`;
  else if (rand() < 0.15) qname = `${alnum(randInt(6, 14))}.${pick(HOSTS)}.${zone}`; // long-tail names
  else qname = `${pick(HOSTS)}.${zone}`;
  const r = rand();
  const rcode = r < 0.05 ? 3 : r < 0.06 ? 2 : 0;
  return { qtype, qname, zone, rcode, answered, edns: rand() < 0.6 };
}

/** Writes the query for `tx` at buf[base...]; returns its length. */
function writeQuery(buf, base, id, tx) {
  const m = new Msg(buf, base);
  m.header(id, 0x0100, 1, 0, 0, tx.edns ? 1 : 0); // RD
  m.question(tx.qname, T[tx.qtype]);
  if (tx.edns) m.opt(1232);
  return m.length;
}

/** Writes the response for `tx` at buf[base...]; returns { len, answers, cnames, pointers }. */
function writeResponse(buf, base, id, tx) {
  const m = new Msg(buf, base);
  m.question(tx.qname, T[tx.qtype]);
  let an = 0;
  let ns = 0;
  let cnames = 0;
  if (tx.rcode === 3) {
    m.soa(tx.zone);
    ns = 1;
  } else if (tx.rcode === 0) {
    let owner = tx.qname;
    const addr = tx.qtype === 'A' || tx.qtype === 'AAAA' || tx.qtype === 'HTTPS';
    if (addr && rand() < 0.35) {
      // CNAME chain, e.g. www.example.com -> www.example.com.cdn.cloudfront.net -> d1x.cloudfront.net
      const chain = randInt(1, 3);
      for (let i = 0; i < chain; i++) {
        const target =
          i === 0 && rand() < 0.5 ? `${owner.split('.')[0]}.${tx.zone}.edgekey.net` : `${alnum(randInt(3, 8))}.${pick(ZONES)}`;
        const r = m.rr(owner, T.CNAME, 300);
        m.name(target);
        m.end(r);
        owner = target;
        an++;
        cnames++;
      }
    }
    const nodata = tx.qtype === 'AAAA' ? rand() < 0.15 : rand() < 0.02;
    if (nodata) {
      m.soa(tx.zone);
      ns = 1;
    } else {
      const n = tx.qtype === 'A' || tx.qtype === 'AAAA' ? randInt(1, 4) : tx.qtype === 'PTR' || tx.qtype === 'HTTPS' ? 1 : randInt(1, 3);
      for (let i = 0; i < n; i++) {
        const ttl = randInt(30, 3600);
        const r = m.rr(owner, T[tx.qtype], ttl);
        switch (tx.qtype) {
          case 'A':
            m.u32(ip4(randInt(1, 223), randInt(0, 255), randInt(0, 255), randInt(1, 254)));
            break;
          case 'AAAA':
            m.u32(0x26001f18);
            m.u32(randInt(0, 0xffff));
            m.u32(0);
            m.u32(randInt(1, 0xffffffff));
            break;
          case 'HTTPS':
            m.u16(1); // SvcPriority
            m.u8(0); // TargetName "." (never compressed)
            m.u16(1); // alpn
            m.u16(6);
            m.p += buf.write('\x02h2\x02h3', m.p, 'latin1');
            break;
          case 'PTR':
            m.name(`host-${alnum(6)}.${pick(ZONES)}`);
            break;
          case 'MX':
            m.u16(10 * (i + 1));
            m.name(`mx${i + 1}.${tx.zone}`);
            break;
          case 'TXT': {
            const s = pick(TXT_VALUES);
            m.u8(s.length);
            m.p += buf.write(s, m.p, 'latin1');
            break;
          }
          case 'SRV':
            m.u16(10);
            m.u16(randInt(0, 100));
            m.u16(pick([389, 5060, 88, 5222, 993, 8080]));
            m.name(`srv${i + 1}.${tx.zone}`, false); // RFC 2782: target not compressed
            break;
        }
        m.end(r);
        an++;
      }
    }
  }
  if (tx.edns) m.opt(1232);
  m.header(id, 0x8180 | tx.rcode, 1, an, ns, tx.edns ? 1 : 0); // QR RD RA
  return { len: m.length, answers: an, cnames, pointers: m.pointers };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  seedRandom(opts.seed);
  const out = new PcapWriter(opts.out);
  const t0 = Date.now();

  const truth = {
    generator: 'benchmarks/dns/gen.mjs',
    args: { packets: opts.packets, clients: opts.clients, concurrency: opts.concurrency, seed: opts.seed },
    file: basename(opts.out),
    packets: 0,
    bytes: 0,
    clients: opts.clients,
    resolvers: RESOLVERS.length,
    udpQueries: 0,
    tcpConnections: 0,
    tcpQueries: 0,
    tcpSegmentsWithTwoQueries: 0,
    queries: 0,
    responses: 0,
    answered: 0,
    unanswered: 0,
    spans: 0,
    answerRecords: 0,
    cnameRecords: 0,
    compressionPointers: 0,
    queriesByQtype: {},
    responsesByRcode: {},
    spansByRcode: {},
  };
  const inc = (obj, k) => (obj[k] = (obj[k] || 0) + 1);

  let clockUs = Date.UTC(2026, 10, 20, 12, 0, 0) * 1000;
  const budgetReached = () => out.packets >= opts.packets;

  // Clients: address 10.20.x.y with 4 long-lived source ports each; per-client id sequence.
  const clients = [];
  for (let i = 0; i < opts.clients; i++) {
    const host = i >> 2; // 4 sockets per address: 10.20.0.1, 10.20.0.2, ... (254 hosts per /24)
    clients.push({
      ip: ip4(10, 20 + Math.floor(host / 65024), Math.floor((host % 65024) / 254), 1 + (host % 254)),
      port: randInt(10000, 60999),
      mac: GATEWAY_MAC,
      ipId: randInt(0, 65535),
      idBase: randInt(0, 65535),
      idStep: randInt(1, 32767) * 2 + 1, // odd: id sequence is a permutation of 0..65535
      n: 0,
      tcpPort: randInt(32768, 60999),
    });
  }
  const nextId = (c) => (c.idBase + c.idStep * c.n++) & 0xffff;

  const scratch = Buffer.allocUnsafe(65536);

  /** One Ethernet/IPv4 packet with a UDP or TCP header; payload from scratch[from, from+len). */
  function packet(src, dst, proto, flags, from, len, mssOption) {
    clockUs += 1 + Math.floor(rand() * 6);
    ipv4Packet(out, clockUs, src, dst, proto, flags, scratch, from, len, mssOption);
  }

  const SYN = 0x02;
  const FIN = 0x01;
  const PSH = 0x08;
  const ACK = 0x10;

  function countQuery(tx) {
    truth.queries++;
    inc(truth.queriesByQtype, tx.qtype);
  }
  function countResponse(tx, r) {
    truth.responses++;
    truth.answered++;
    truth.answerRecords += r.answers;
    truth.cnameRecords += r.cnames;
    truth.compressionPointers += r.pointers;
    inc(truth.responsesByRcode, RCODE_NAMES[tx.rcode]);
    inc(truth.spansByRcode, RCODE_NAMES[tx.rcode]);
  }

  /** One UDP query (and its response unless unanswered); one packet per step. */
  function* udpTransaction() {
    const c = pick(clients);
    const res = RESOLVERS[c.port & 1 ? 1 : 0]; // each socket sticks to one resolver, the other is the fallback
    const srv = rand() < 0.9 ? res : RESOLVERS[res === RESOLVERS[0] ? 1 : 0];
    const cli = { ip: c.ip, port: c.port, mac: c.mac, get ipId() { return c.ipId; }, set ipId(v) { c.ipId = v; } };
    const dst = { ip: srv.ip, port: 53, mac: srv.mac, ipId: randInt(0, 65535) };
    const tx = makeTransaction(rand() >= 0.02);
    const id = nextId(c);
    const qlen = writeQuery(scratch, 0, id, tx);
    packet(cli, dst, 17, 0, 0, qlen, false);
    truth.udpQueries++;
    countQuery(tx);
    yield;
    // a few more steps of latency before the answer
    for (let i = randInt(0, 3); i > 0; i--) yield 'idle';
    if (!tx.answered) {
      truth.unanswered++;
      inc(truth.spansByRcode, 'none');
      return;
    }
    const r = writeResponse(scratch, 0, id, tx);
    packet(dst, cli, 17, 0, 0, r.len, false);
    countResponse(tx, r);
  }

  /** One DNS-over-TCP connection with several pipelined queries; one packet per step. */
  function* tcpConnection() {
    const c = pick(clients);
    const srv = pick(RESOLVERS);
    c.tcpPort = c.tcpPort >= 60999 ? 32768 : c.tcpPort + 1;
    const cli = { ip: c.ip, port: c.tcpPort, mac: c.mac, ipId: c.ipId, seq: randInt(0, 0xffffffff) >>> 0 };
    const dst = { ip: srv.ip, port: 53, mac: srv.mac, ipId: randInt(0, 65535), seq: randInt(0, 0xffffffff) >>> 0 };
    truth.tcpConnections++;
    packet(cli, dst, 6, SYN, 0, 0, true);
    yield;
    packet(dst, cli, 6, SYN | ACK, 0, 0, true);
    yield;
    packet(cli, dst, 6, ACK, 0, 0, false);
    yield;
    const n = randInt(2, 6);
    const txs = [];
    for (let i = 0; i < n; i++) txs.push({ tx: makeTransaction(true), id: nextId(c) });
    // queries: length-prefixed, sometimes two in one segment
    for (let i = 0; i < n; ) {
      const two = i + 1 < n && rand() < 0.3;
      let len = 0;
      for (let k = 0; k < (two ? 2 : 1); k++) {
        const q = txs[i + k];
        const l = writeQuery(scratch, len + 2, q.id, q.tx);
        scratch.writeUInt16BE(l, len);
        len += l + 2;
        truth.tcpQueries++;
        countQuery(q.tx);
      }
      if (two) truth.tcpSegmentsWithTwoQueries++;
      packet(cli, dst, 6, ACK | PSH, 0, len, false);
      i += two ? 2 : 1;
      yield;
    }
    packet(dst, cli, 6, ACK, 0, 0, false);
    yield;
    // responses in any order (RFC 7766 6.2.1.1), one per segment
    const order = txs.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      if (rand() < 0.5) {
        const j = randInt(0, i);
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    for (const i of order) {
      const { tx, id } = txs[i];
      const r = writeResponse(scratch, 2, id, tx);
      scratch.writeUInt16BE(r.len, 0);
      packet(dst, cli, 6, ACK | PSH, 0, r.len + 2, false);
      countResponse(tx, r);
      yield;
      if (rand() < 0.5) {
        packet(cli, dst, 6, ACK, 0, 0, false);
        yield;
      }
    }
    packet(cli, dst, 6, FIN | ACK, 0, 0, false);
    yield;
    packet(dst, cli, 6, FIN | ACK, 0, 0, false);
    yield;
    packet(cli, dst, 6, ACK, 0, 0, false);
    c.ipId = cli.ipId;
  }

  const start = () => (rand() < 0.03 ? tcpConnection() : udpTransaction());
  const active = [];
  for (let i = 0; i < opts.concurrency; i++) active.push(start());
  while (active.length > 0) {
    const i = Math.floor(rand() * active.length);
    if (active[i].next().done) {
      if (!budgetReached()) active[i] = start();
      else {
        active[i] = active[active.length - 1];
        active.pop();
      }
    }
  }
  out.close();

  truth.packets = out.packets;
  truth.bytes = out.bytes;
  truth.spans = truth.answered + truth.unanswered;
  truth.spansByQtype = { ...truth.queriesByQtype };
  writeFileSync(`${opts.out}.truth.json`, JSON.stringify(truth, null, 2) + '\n');
  const secs = (Date.now() - t0) / 1000;
  process.stderr.write(
    `gen.mjs: wrote ${opts.out}: ${truth.packets} packets, ${(truth.bytes / 1e6).toFixed(1)} MB, ` +
      `${truth.queries} queries (${truth.tcpQueries} over ${truth.tcpConnections} TCP connections), ` +
      `${truth.answered} answered, ${truth.unanswered} unanswered in ${secs.toFixed(1)} s\n`,
  );
}

main();

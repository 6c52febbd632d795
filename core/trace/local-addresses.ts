import { isIP } from 'node:net';

/**
 * The addresses that belong to the capturing host, which decide the span kind of packet captures
 * (SEMCONV.md: SERVER when the server is local, CLIENT when the client is local, else network).
 * Accepts plain addresses and CIDR prefixes, IPv4 and IPv6.
 */
export class LocalAddresses {
  private readonly exact = new Set<string>();
  private readonly prefixes: { bytes: Uint8Array; bits: number; v: 4 | 6 }[] = [];
  private readonly memo = new Map<string, boolean>();

  constructor(specs: readonly string[] = []) {
    for (const spec of specs) this.add(spec);
  }

  get empty(): boolean {
    return this.exact.size === 0 && this.prefixes.length === 0;
  }

  /** Adds "10.0.0.1", "10.0.0.0/8", "fe80::/10". Throws a clear error on a malformed spec. */
  add(spec: string): void {
    const slash = spec.indexOf('/');
    const addr = slash < 0 ? spec : spec.slice(0, slash);
    const v = isIP(addr);
    if (v === 0) throw new Error(`'${spec}' is not an IP address or CIDR prefix`);
    if (slash < 0) {
      this.exact.add(normalise(addr, v as 4 | 6));
      return;
    }
    const bits = Number(spec.slice(slash + 1));
    const max = v === 4 ? 32 : 128;
    if (!Number.isInteger(bits) || bits < 0 || bits > max) throw new Error(`'${spec}': prefix length must be 0..${max}`);
    this.prefixes.push({ bytes: toBytes(addr, v as 4 | 6), bits, v: v as 4 | 6 });
  }

  /** True when the address (as formatted by formatAddress) is local. Memoised per address. */
  has(addr: string): boolean {
    if (this.empty) return false;
    const m = this.memo.get(addr);
    if (m !== undefined) return m;
    const v = isIP(addr) as 0 | 4 | 6;
    let r = false;
    if (v !== 0) {
      r = this.exact.has(normalise(addr, v));
      if (!r) {
        const b = toBytes(addr, v);
        for (const p of this.prefixes) if (p.v === v && matches(b, p.bytes, p.bits)) r = true;
      }
    }
    if (this.memo.size < 65536) this.memo.set(addr, r);
    return r;
  }
}

function matches(a: Uint8Array, prefix: Uint8Array, bits: number): boolean {
  let i = 0;
  for (; bits >= 8; bits -= 8, i++) if (a[i] !== prefix[i]) return false;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (a[i] & mask) === (prefix[i] & mask);
}

function normalise(addr: string, v: 4 | 6): string {
  return v === 4 ? addr : Array.from(toBytes(addr, 6)).join(',');
}

function toBytes(addr: string, v: 4 | 6): Uint8Array {
  if (v === 4) return Uint8Array.from(addr.split('.').map(Number));
  const out = new Uint8Array(16);
  let s = addr;
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  let tail: number[] = [];
  if (v4tail) {
    const b = v4tail[1].split('.').map(Number);
    tail = [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
    s = s.slice(0, s.length - v4tail[1].length) + '0:0';
  }
  const [head, rest] = s.includes('::') ? s.split('::') : [s, null];
  const h = head ? head.split(':').map((x) => parseInt(x, 16)) : [];
  const r = rest !== null && rest !== undefined && rest !== '' ? rest.split(':').map((x) => parseInt(x, 16)) : [];
  const groups = rest === null ? h : [...h, ...new Array(8 - h.length - r.length).fill(0), ...r];
  if (tail.length) {
    groups[6] = tail[0];
    groups[7] = tail[1];
  }
  for (let i = 0; i < 8; i++) {
    out[i * 2] = (groups[i] >> 8) & 0xff;
    out[i * 2 + 1] = groups[i] & 0xff;
  }
  return out;
}

/**
 * DNS wire format (RFC 1035 §4, RFC 3596, RFC 2782, RFC 6891): header checks, names with
 * compression pointers, and RDATA rendering. Every read is bounds-checked against the message end;
 * nothing here throws on malformed input.
 */
import { formatAddress } from '../../core/decode/types.js';
import { u16be as u16, u32be as u32 } from '../../core/l7/bytes.js';

export const HEADER_LEN = 12;
/** Longest name on the wire (RFC 1035 §2.3.4), counting length octets. */
const MAX_NAME_WIRE = 255;
/** Compression pointers followed per name before it is called a loop. */
const MAX_POINTER_JUMPS = 32;

const TYPE_NAMES: Record<number, string> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 13: 'HINFO', 15: 'MX', 16: 'TXT', 28: 'AAAA',
  33: 'SRV', 35: 'NAPTR', 39: 'DNAME', 41: 'OPT', 43: 'DS', 46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY',
  50: 'NSEC3', 52: 'TLSA', 64: 'SVCB', 65: 'HTTPS', 99: 'SPF', 251: 'IXFR', 252: 'AXFR', 255: 'ANY', 257: 'CAA',
};

const RCODE_NAMES: readonly string[] = [
  'NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET',
  'NOTAUTH', 'NOTZONE', 'DSOTYPENI',
];

/** QTYPE/TYPE mnemonic, or the number as a string when unknown. */
export function typeName(t: number): string {
  return TYPE_NAMES[t] ?? String(t);
}

/** RCODE mnemonic (extended codes with EDNS: 16 BADVERS), or the number as a string. */
export function rcodeName(r: number): string {
  if (r < RCODE_NAMES.length) return RCODE_NAMES[r];
  if (r === 16) return 'BADVERS';
  return String(r);
}


/** Why a name could not be read completely ('' when it was). */
export type NameFault = '' | 'dns_name_truncated' | 'dns_pointer_loop' | 'dns_pointer_out_of_range' | 'dns_bad_label' | 'dns_name_too_long';

/** Cursor for reading one message `buf[base .. end)`. */
export interface Reader {
  buf: Uint8Array;
  base: number;
  end: number;
  /** Position after the last item read. */
  pos: number;
  /** First fault met while reading names or records ('' if none). */
  fault: NameFault | 'dns_record_truncated';
}

/**
 * Reads a (possibly compressed) name at `r.pos` and advances past it. Pointers must land inside the
 * message after the header; at most MAX_POINTER_JUMPS are followed and at most 255 wire bytes
 * collected. Labels are lower-cased ASCII; the root is ''. On a fault returns what was read and sets
 * `r.fault` (if not already set) and `r.pos = r.end` when the name's own end is unknown.
 */
export function readName(r: Reader): string {
  const b = r.buf;
  let p = r.pos;
  let next = -1;
  let jumps = 0;
  let wire = 0;
  let out = '';
  let fault: NameFault = '';
  for (;;) {
    if (p >= r.end) {
      fault = 'dns_name_truncated';
      break;
    }
    const len = b[p];
    if (len === 0) {
      if (next < 0) next = p + 1;
      break;
    }
    const tag = len & 0xc0;
    if (tag === 0xc0) {
      if (p + 1 >= r.end) {
        fault = 'dns_name_truncated';
        break;
      }
      const target = r.base + (((len & 0x3f) << 8) | b[p + 1]);
      if (next < 0) next = p + 2;
      if (++jumps > MAX_POINTER_JUMPS) {
        fault = 'dns_pointer_loop';
        break;
      }
      if (target < r.base + HEADER_LEN || target >= r.end) {
        fault = 'dns_pointer_out_of_range';
        break;
      }
      p = target;
      continue;
    }
    if (tag !== 0) {
      fault = 'dns_bad_label';
      break;
    }
    if (p + 1 + len > r.end) {
      fault = 'dns_name_truncated';
      break;
    }
    wire += len + 1;
    if (wire + 1 > MAX_NAME_WIRE) {
      fault = 'dns_name_too_long';
      break;
    }
    if (out.length > 0) out += '.';
    for (let i = p + 1; i <= p + len; i++) {
      const c = b[i];
      out += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
    }
    p += 1 + len;
  }
  if (fault !== '' && r.fault === '') r.fault = fault;
  // A fault after a pointer still leaves the name's wire end known (the pointer's end).
  r.pos = next >= 0 ? next : r.end;
  return out;
}

/**
 * Skips a name at `p` without following pointers (no allocation): returns the position after it,
 * or -1 when it runs past `end` or is malformed. Used by the probe.
 */
export function skipName(b: Uint8Array, base: number, p: number, end: number): number {
  let wire = 0;
  while (p < end) {
    const len = b[p];
    if (len === 0) return p + 1;
    if ((len & 0xc0) === 0xc0) {
      if (p + 1 >= end) return -1;
      const target = base + (((len & 0x3f) << 8) | b[p + 1]);
      return target >= base + HEADER_LEN && target < p ? p + 2 : -1;
    }
    if ((len & 0xc0) !== 0) return -1;
    wire += len + 1;
    if (wire >= MAX_NAME_WIRE) return -1;
    p += 1 + len;
  }
  return -1;
}

function ipv4(b: Uint8Array, p: number): string {
  return formatAddress(4, b.subarray(p, p + 4));
}

/** RFC 5952 text form (lower-case hex, the longest run (>= 2) of zero groups as '::'), as for packet addresses. */
export function ipv6(b: Uint8Array, p: number): string {
  return formatAddress(6, b.subarray(p, p + 16));
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Longest rendered RDATA kept (generic hex and TXT). */
const MAX_RDATA_TEXT = 256;

/**
 * Renders the RDATA of a record `buf[p .. p+len)` of type `type` as text: A/AAAA addresses,
 * CNAME/PTR/NS/DNAME names, `pref name` for MX, TXT strings concatenated, `prio weight port target`
 * for SRV, `priority target` for SVCB/HTTPS, the SOA fields; other types in the RFC 3597 generic form
 * `\# len hex`. Names are read with `r` (pointers resolve against the whole message).
 */
export function renderRdata(r: Reader, type: number, p: number, len: number): string {
  const b = r.buf;
  const end = p + len;
  const nameAt = (at: number): string => {
    r.pos = at;
    const n = readName(r);
    return n === '' ? '.' : n;
  };
  switch (type) {
    case 1:
      if (len === 4) return ipv4(b, p);
      break;
    case 28:
      if (len === 16) return ipv6(b, p);
      break;
    case 2:
    case 5:
    case 12:
    case 39:
      return nameAt(p);
    case 15:
      if (len >= 3) return `${u16(b, p)} ${nameAt(p + 2)}`;
      break;
    case 33:
      if (len >= 7) return `${u16(b, p)} ${u16(b, p + 2)} ${u16(b, p + 4)} ${nameAt(p + 6)}`;
      break;
    case 64:
    case 65:
      if (len >= 3) return `${u16(b, p)} ${nameAt(p + 2)}`;
      break;
    case 6: {
      const mname = nameAt(p);
      const rname = nameAt(r.pos);
      const q = r.pos;
      if (q + 20 <= end) return `${mname} ${rname} ${u32(b, q)} ${u32(b, q + 4)} ${u32(b, q + 8)} ${u32(b, q + 12)} ${u32(b, q + 16)}`;
      return `${mname} ${rname}`;
    }
    case 16:
    case 99: {
      let s = '';
      let q = p;
      while (q < end) {
        const n = b[q];
        const stop = Math.min(q + 1 + n, end);
        s += utf8.decode(b.subarray(q + 1, stop));
        q = q + 1 + n;
        if (s.length > MAX_RDATA_TEXT) return s.slice(0, MAX_RDATA_TEXT);
      }
      return s;
    }
    default:
      break;
  }
  let hex = '';
  for (let q = p; q < end && hex.length < MAX_RDATA_TEXT; q++) hex += (b[q] < 16 ? '0' : '') + b[q].toString(16);
  return `\\# ${len}${len > 0 ? ' ' + hex : ''}`;
}

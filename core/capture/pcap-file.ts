/**
 * Capture file source: streams a pcap or pcapng file (optionally gzip-compressed) and hands every
 * frame to a `PacketSink`, with flat memory whatever the file size.
 *
 * Reading model: the file is read in chunks (1 MiB by default) into one reused buffer; records that
 * lie wholly inside a chunk are handed on as views into it. A record that straddles two chunks is
 * copied, alone, into a reusable scratch buffer (grown to the largest straddling record seen, never
 * beyond the 256 MiB record cap). One `RawPacket` is refilled for every frame: nothing is allocated
 * per packet.
 *
 * Bad input policy:
 * - Not a capture (missing, unreadable, empty, unknown magic, header cut short): `run` rejects with
 *   `CaptureFileError`.
 * - Last record cut short: `summary.truncated = true`, every record before it was delivered.
 * - A record length that cannot be right (caplen > 256 MiB, longer than the rest of the file, a
 *   pcapng block longer than its section, a block length that is not a multiple of 4): processing
 *   stops there, `truncated = true` and an anomaly is counted. Nothing is allocated for it (for
 *   gzip input, whose size is unknown, the scratch buffer grows with the bytes actually present:
 *   at most about twice those).
 * - Pipes and character devices are read sequentially like files (no size known, no progress total).
 * - Corrupt gzip stream: `CaptureFileError` if no packet was delivered yet; otherwise the packets
 *   before the damage stand, `truncated = true` and anomaly `gzip_corrupt` is counted.
 * - An exception thrown by the sink is not caught: `run` rejects with it (after closing the file).
 *
 * Anomaly kinds (summary.anomalies): `truncated_record`, `gzip_corrupt`; pcap: `pcap_caplen_too_large`,
 * `pcap_caplen_exceeds_len`, `pcap_unexpected_version`, `pcap_linktype_reserved_bits`; pcapng:
 * `pcapng_bad_block_length`, `pcapng_block_too_large`, `pcapng_block_exceeds_section`,
 * `pcapng_bad_byte_order_magic`, `pcapng_no_section_header`, `pcapng_bad_section_header`,
 * `pcapng_unsupported_version`, `pcapng_length_mismatch`, `pcapng_bad_interface_block`,
 * `pcapng_bad_option`, `pcapng_bad_tsresol`, `pcapng_bad_packet_block`, `pcapng_bad_caplen`,
 * `pcapng_unknown_interface`, `pcapng_caplen_exceeds_len`, `pcapng_spb_without_timestamp`.
 *
 * Link type (pcap): the low 16 bits of the header's link-type field; the upper bits (FCS length
 * and the "FCS length present" bit, per the pcap spec and libpcap's LT_LINKTYPE) are ignored.
 *
 * Frame numbers follow tshark: pcapng custom blocks and systemd journal blocks are not packets but
 * Wireshark numbers them as frames, so they consume a frame number (the sink does not see them).
 * Packet records that cannot be delivered (unknown interface, bad caplen) consume one too.
 */

import { open, type FileHandle } from 'node:fs/promises';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import {
  CaptureFileError,
  RawPacket,
  type CaptureProgress,
  type CaptureSummary,
  type PacketSink,
  type TimeBase,
} from './types.js';

/** Largest record (pcap caplen or pcapng block) the reader accepts: 256 MiB. */
export const MAX_CAPTURE_RECORD_BYTES = 256 * 1024 * 1024;

/** Default read size. */
export const DEFAULT_CAPTURE_CHUNK_SIZE = 1 << 20;

/** Compressed bytes read per call, and zlib's output chunk size, for gzip input. */
const GZIP_READ_SIZE = 64 * 1024;

/** Minimum interval between two progress callbacks. */
const PROGRESS_INTERVAL_MS = 250;

/** Options of `createCaptureFileSource`. */
export interface CaptureFileOptions {
  /** Bytes read per chunk (default 1 MiB; tests use tiny values to force straddling records). */
  chunkSize?: number;
}

/** A capture file, ready to be replayed once or several times. */
export interface CaptureFileSource {
  /** The path given to `createCaptureFileSource`. */
  readonly path: string;
  /** Size of the file on disk in bytes (0 when it cannot be stat'ed; `run` then rejects). */
  readonly totalBytes: number;
  /**
   * Reads the whole file, calling `sink.onPacket` synchronously for every frame, in file order.
   * Resolves with a summary; rejects with `CaptureFileError` when the file is not a readable capture,
   * or with whatever the sink throws.
   */
  run(sink: PacketSink, timeBase: TimeBase, progress?: CaptureProgress): Promise<CaptureSummary>;
}

/**
 * Creates a source for a pcap / pcapng file, plain or gzip-compressed (format detected from the
 * magic bytes, never from the name). Nothing is opened until `run`.
 */
export function createCaptureFileSource(path: string, opts?: CaptureFileOptions): CaptureFileSource {
  let totalBytes = 0;
  try {
    totalBytes = statSync(path).size;
  } catch {
    totalBytes = 0;
  }
  const requested = opts?.chunkSize ?? DEFAULT_CAPTURE_CHUNK_SIZE;
  const chunkSize = Number.isFinite(requested) && requested >= 1 ? Math.floor(requested) : DEFAULT_CAPTURE_CHUNK_SIZE;
  return {
    path,
    totalBytes,
    run: (sink, timeBase, progress) => runCapture(path, chunkSize, sink, timeBase, progress),
  };
}

// ---------------------------------------------------------------------------------------------
// Byte helpers

function u16le(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
function u16be(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
function u32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
function u32be(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
function u32(b: Uint8Array, o: number, le: boolean): number {
  return le ? u32le(b, o) : u32be(b, o);
}
function u16(b: Uint8Array, o: number, le: boolean): number {
  return le ? u16le(b, o) : u16be(b, o);
}

// ---------------------------------------------------------------------------------------------
// Record framing shared by both formats

/** Why a parser stopped early. */
const STOP_NONE = 0;
/** The rest of the file cannot be framed (counted as an anomaly, reported as truncated). */
const STOP_CORRUPT = 1;
/** The very first header is not a capture header: a `CaptureFileError`. */
const STOP_NOT_CAPTURE = 2;

/**
 * A record-oriented parser. The reader guarantees that `run` sees whole records only (a straddling
 * record is handed over alone, from the scratch buffer).
 */
abstract class RecordParser {
  /** Bytes needed before `recordLength` can be called. */
  headerMin = 4;
  stop = STOP_NONE;
  stopMessage = '';
  /** Set once the first header (pcap global header / first SHB) was accepted. */
  headerSeen = false;
  packets = 0;
  frameNumber = 0;
  readonly anomalies: Record<string, number> = {};
  readonly pkt = new RawPacket();

  constructor(
    protected readonly sink: PacketSink,
    protected readonly timeBase: TimeBase,
  ) {}

  /**
   * Total length of the record at `off` (at least `headerMin` bytes are available), or -1 when the
   * length is unacceptable (the parser has set `stop`).
   */
  abstract recordLength(b: Uint8Array, off: number): number;

  /**
   * Processes every whole record in [off, end) and returns the offset of the first byte not consumed
   * (the start of an incomplete record), or -1 when the parser stopped.
   */
  abstract run(b: Uint8Array, off: number, end: number): number;

  anomaly(kind: string): void {
    this.anomalies[kind] = (this.anomalies[kind] ?? 0) + 1;
  }

  corrupt(kind: string, message: string): -1 {
    this.anomaly(kind);
    if (!this.headerSeen) {
      this.stop = STOP_NOT_CAPTURE;
    } else {
      this.stop = STOP_CORRUPT;
    }
    this.stopMessage = message;
    return -1;
  }
}

// ---------------------------------------------------------------------------------------------
// pcap

class PcapParser extends RecordParser {
  private le = true;
  private nanos = false;
  private linkType = 0;

  constructor(sink: PacketSink, timeBase: TimeBase) {
    super(sink, timeBase);
    this.headerMin = 24;
  }

  recordLength(b: Uint8Array, off: number): number {
    if (!this.headerSeen) return 24;
    const caplen = u32(b, off + 8, this.le);
    if (caplen > MAX_CAPTURE_RECORD_BYTES) {
      return this.corrupt('pcap_caplen_too_large', `record ${this.frameNumber + 1}: caplen ${caplen} exceeds the 256 MiB limit`);
    }
    return 16 + caplen;
  }

  private readHeader(b: Uint8Array, off: number): void {
    const m = u32be(b, off);
    if (m === 0xa1b2c3d4) {
      this.le = false;
    } else if (m === 0xd4c3b2a1) {
      this.le = true;
    } else if (m === 0xa1b23c4d) {
      this.le = false;
      this.nanos = true;
    } else if (m === 0x4d3cb2a1) {
      this.le = true;
      this.nanos = true;
    }
    const major = u16(b, off + 4, this.le);
    if (major !== 2) this.anomaly('pcap_unexpected_version');
    // LinkType and additional information: link type in the low 16 bits; bits 16-25 reserved,
    // bit 26 = FCS length present, bits 28-31 = FCS length (in 16-bit units).
    const field = u32(b, off + 20, this.le);
    this.linkType = field & 0xffff;
    if ((field & 0x03ff0000) !== 0) this.anomaly('pcap_linktype_reserved_bits');
    this.pkt.linkType = this.linkType;
    this.pkt.interfaceId = 0;
    this.headerSeen = true;
    this.headerMin = 16;
  }

  run(b: Uint8Array, off: number, end: number): number {
    if (!this.headerSeen) {
      if (end - off < 24) return off;
      this.readHeader(b, off);
      off += 24;
    }
    const le = this.le;
    const mult = this.nanos ? 1 : 1000;
    const pkt = this.pkt;
    const sink = this.sink;
    const tb = this.timeBase;
    pkt.buf = b;
    while (end - off >= 16) {
      const caplen = le ? u32le(b, off + 8) : u32be(b, off + 8);
      if (caplen > MAX_CAPTURE_RECORD_BYTES) {
        this.corrupt('pcap_caplen_too_large', `record ${this.frameNumber + 1}: caplen ${caplen} exceeds the 256 MiB limit`);
        return -1;
      }
      if (end - off - 16 < caplen) break;
      const sec = le ? u32le(b, off) : u32be(b, off);
      const frac = le ? u32le(b, off + 4) : u32be(b, off + 4);
      const origLen = le ? u32le(b, off + 12) : u32be(b, off + 12);
      if (caplen > origLen) this.anomaly('pcap_caplen_exceeds_len');
      pkt.ts = tb.toRel(sec, frac * mult);
      pkt.offset = off + 16;
      pkt.caplen = caplen;
      pkt.origLen = origLen;
      pkt.frameNumber = ++this.frameNumber;
      this.packets++;
      sink.onPacket(pkt);
      off += 16 + caplen;
    }
    return off;
  }
}

// ---------------------------------------------------------------------------------------------
// pcapng

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 1;
const BT_PB = 2;
const BT_SPB = 3;
const BT_EPB = 6;
const BT_SYSTEMD_JOURNAL = 9;
const BT_CUSTOM = 0x00000bad;
const BT_CUSTOM_NOCOPY = 0x40000bad;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Per-interface state of the current section. */
class PcapngInterface {
  linkType = 0;
  snaplen = 0;
  /** Timestamp units per second = 10^tsExp10 when `tsPow2 < 0`, else 2^tsPow2. */
  tsExp10 = 6;
  tsPow2 = -1;
  /** Units per second as a number (exact up to 2^53). */
  unitsPerSec = 1e6;
  /** Nanoseconds per unit when integral (decimal resolutions up to ns), else 0. */
  nsPerUnit = 1000;
  /** if_tsoffset, seconds. */
  tsOffset = 0;
}

const TWO32 = 4294967296;
const TWO16 = 65536;
const LONG_DIVISION_MAX = 2 ** 36;

class PcapngParser extends RecordParser {
  private le = true;
  private ifaces: PcapngInterface[] = [];
  /** Bytes left in the current section per the SHB section length, or -1 when unspecified. */
  private sectionLeft = -1;
  /** Last timestamp seen (for SPBs, which have none). */
  private lastSec = 0;
  private lastNsec = 0;
  private haveTs = false;
  // Results of `convertTs` (avoid returning a tuple).
  private tsSec = 0;
  private tsNsec = 0;

  constructor(sink: PacketSink, timeBase: TimeBase) {
    super(sink, timeBase);
    this.headerMin = 12;
  }

  recordLength(b: Uint8Array, off: number): number {
    const type = u32le(b, off); // SHB type is a palindrome; other types only matter when != SHB
    let le = this.le;
    if (type === BT_SHB) {
      const bom = u32le(b, off + 8);
      if (bom === BYTE_ORDER_MAGIC) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else return this.corrupt('pcapng_bad_byte_order_magic', 'section header block has no valid byte-order magic');
    } else if (!this.headerSeen) {
      return this.corrupt('pcapng_no_section_header', 'file does not start with a section header block');
    }
    const len = u32(b, off + 4, le);
    if (len < 12 || (len & 3) !== 0) {
      return this.corrupt('pcapng_bad_block_length', `block of type ${u32(b, off, le)} has invalid length ${len}`);
    }
    if (len > MAX_CAPTURE_RECORD_BYTES) {
      return this.corrupt('pcapng_block_too_large', `block length ${len} exceeds the 256 MiB limit`);
    }
    if (type !== BT_SHB && this.sectionLeft >= 0 && len > this.sectionLeft) {
      return this.corrupt('pcapng_block_exceeds_section', `block length ${len} exceeds the ${this.sectionLeft} bytes left in its section`);
    }
    return len;
  }

  run(b: Uint8Array, off: number, end: number): number {
    while (end - off >= 12) {
      const len = this.recordLength(b, off);
      if (len < 0) return -1;
      if (end - off < len) break;
      if (!this.block(b, off, len)) return -1;
      off += len;
    }
    return off;
  }

  /** Handles one whole block; false when the parser stopped. */
  private block(b: Uint8Array, off: number, len: number): boolean {
    const type0 = u32le(b, off);
    if (type0 === BT_SHB) return this.shb(b, off, len);
    const le = this.le;
    if (this.sectionLeft >= 0) this.sectionLeft -= len;
    if (u32(b, off + len - 4, le) !== len) this.anomaly('pcapng_length_mismatch');
    const type = u32(b, off, le);
    switch (type) {
      case BT_EPB:
        this.epb(b, off, len, le, false);
        break;
      case BT_PB:
        this.epb(b, off, len, le, true);
        break;
      case BT_SPB:
        this.spb(b, off, len, le);
        break;
      case BT_IDB:
        this.idb(b, off, len, le);
        break;
      case BT_CUSTOM:
      case BT_CUSTOM_NOCOPY:
      case BT_SYSTEMD_JOURNAL:
        // Not packets, but Wireshark shows them as frames: keep frameNumber aligned with tshark.
        this.frameNumber++;
        break;
      default:
        // NRB (4), ISB (5), DSB (10), unknown types: skipped.
        break;
    }
    return true;
  }

  private shb(b: Uint8Array, off: number, len: number): boolean {
    const le = u32le(b, off + 8) === BYTE_ORDER_MAGIC;
    if (len < 28) {
      this.corrupt('pcapng_bad_section_header', `section header block too short (${len} bytes)`);
      return false;
    }
    const major = u16(b, off + 12, le);
    if (major !== 1) {
      this.corrupt('pcapng_unsupported_version', `unsupported pcapng major version ${major}`);
      return false;
    }
    if (u32(b, off + len - 4, le) !== len) this.anomaly('pcapng_length_mismatch');
    this.le = le;
    this.headerSeen = true;
    this.ifaces = [];
    const hi = u32(b, off + 16 + (le ? 4 : 0), le);
    const lo = u32(b, off + 16 + (le ? 0 : 4), le);
    // -1 (all ones) means "unspecified"; so does anything we cannot represent exactly.
    this.sectionLeft = hi === 0xffffffff && lo === 0xffffffff ? -1 : hi < 0x200000 ? hi * TWO32 + lo : -1;
    return true;
  }

  private idb(b: Uint8Array, off: number, len: number, le: boolean): void {
    if (len < 20) {
      this.anomaly('pcapng_bad_interface_block');
      // Keep interface numbering aligned with the file even though this one is unusable.
      this.ifaces.push(new PcapngInterface());
      return;
    }
    const iface = new PcapngInterface();
    iface.linkType = u16(b, off + 8, le);
    iface.snaplen = u32(b, off + 12, le);
    // Options: code(2) length(2) value padded to 4, until opt_endofopt or the block trailer.
    let p = off + 16;
    const optEnd = off + len - 4;
    while (optEnd - p >= 4) {
      const code = u16(b, p, le);
      const olen = u16(b, p + 2, le);
      if (code === 0) break;
      const vEnd = p + 4 + olen;
      if (vEnd > optEnd) {
        this.anomaly('pcapng_bad_option');
        break;
      }
      if (code === 9 && olen >= 1) {
        const r = b[p + 4];
        if (r & 0x80) {
          const e = r & 0x7f;
          iface.tsPow2 = e;
          iface.unitsPerSec = 2 ** e;
          iface.nsPerUnit = e === 0 ? 1e9 : 0;
        } else if (r <= 18) {
          iface.tsExp10 = r;
          iface.tsPow2 = -1;
          iface.unitsPerSec = 10 ** r;
          iface.nsPerUnit = r <= 9 ? 10 ** (9 - r) : 0;
        } else {
          this.anomaly('pcapng_bad_tsresol');
        }
      } else if (code === 14 && olen >= 8) {
        // int64 seconds; keep values representable as doubles.
        const hi = u32(b, p + 4 + (le ? 4 : 0), le) | 0;
        const lo = u32(b, p + 4 + (le ? 0 : 4), le);
        iface.tsOffset = hi * TWO32 + lo;
      }
      p = vEnd + ((4 - (olen & 3)) & 3);
    }
    this.ifaces.push(iface);
  }

  /**
   * Converts a 64-bit timestamp (hi, lo) in the interface's units to (tsSec, tsNsec) without
   * allocating in the common cases (any value below 2^53 units, or units/s up to 2^36).
   */
  private convertTs(iface: PcapngInterface, hi: number, lo: number): void {
    const D = iface.unitsPerSec;
    let sec = 0;
    let rem = 0;
    if (hi < 0x200000) {
      // Value < 2^53: exact as a double.
      const t = hi * TWO32 + lo;
      sec = Math.floor(t / D);
      rem = t - sec * D;
      if (rem < 0) {
        sec -= 1;
        rem += D;
      } else if (rem >= D) {
        sec += 1;
        rem -= D;
      }
    } else if (D <= LONG_DIVISION_MAX) {
      // Long division in 16-bit limbs: every intermediate stays below 2^53.
      let x = Math.floor(hi / TWO16);
      let q = Math.floor(x / D);
      let r = x - q * D;
      x = r * TWO16 + (hi % TWO16);
      let d = Math.floor(x / D);
      q = q * TWO16 + d;
      r = x - d * D;
      x = r * TWO16 + Math.floor(lo / TWO16);
      d = Math.floor(x / D);
      q = q * TWO16 + d;
      r = x - d * D;
      x = r * TWO16 + (lo % TWO16);
      d = Math.floor(x / D);
      q = q * TWO16 + d;
      r = x - d * D;
      sec = q;
      rem = r;
    } else {
      this.convertTsBig(iface, hi, lo);
      return;
    }
    const m = iface.nsPerUnit;
    let nsec = m > 0 ? rem * m : Math.floor((rem / D) * 1e9);
    if (nsec > 999_999_999) nsec = 999_999_999;
    this.tsSec = sec + iface.tsOffset;
    this.tsNsec = nsec;
  }

  /** Exotic resolutions (more than 2^36 units/s) with values >= 2^53: BigInt, allocates. */
  private convertTsBig(iface: PcapngInterface, hi: number, lo: number): void {
    const t = (BigInt(hi) << 32n) | BigInt(lo);
    const bd = iface.tsPow2 >= 0 ? 1n << BigInt(iface.tsPow2) : 10n ** BigInt(iface.tsExp10);
    this.tsSec = Number(t / bd) + iface.tsOffset;
    this.tsNsec = Number(((t % bd) * 1_000_000_000n) / bd);
  }

  /** Enhanced Packet Block (type 6) or obsolete Packet Block (type 2): same layout up to the data. */
  private epb(b: Uint8Array, off: number, len: number, le: boolean, obsolete: boolean): void {
    this.frameNumber++;
    if (len < 32) {
      this.anomaly('pcapng_bad_packet_block');
      return;
    }
    const ifId = obsolete ? u16(b, off + 8, le) : u32(b, off + 8, le);
    const caplen = u32(b, off + 20, le);
    const origLen = u32(b, off + 24, le);
    if (caplen > len - 32) {
      this.anomaly('pcapng_bad_caplen');
      return;
    }
    const iface = ifId < this.ifaces.length ? this.ifaces[ifId] : undefined;
    if (iface === undefined) {
      this.anomaly('pcapng_unknown_interface');
      return;
    }
    this.convertTs(iface, u32(b, off + 12, le), u32(b, off + 16, le));
    this.lastSec = this.tsSec;
    this.lastNsec = this.tsNsec;
    this.haveTs = true;
    this.deliver(b, off + 28, caplen, origLen, iface.linkType, ifId);
  }

  /** Simple Packet Block (type 3): interface 0, no timestamp (the last one seen is reused). */
  private spb(b: Uint8Array, off: number, len: number, le: boolean): void {
    this.frameNumber++;
    if (len < 16) {
      this.anomaly('pcapng_bad_packet_block');
      return;
    }
    const iface = this.ifaces.length > 0 ? this.ifaces[0] : undefined;
    if (iface === undefined) {
      this.anomaly('pcapng_unknown_interface');
      return;
    }
    const origLen = u32(b, off + 8, le);
    let caplen = len - 16;
    if (origLen < caplen) caplen = origLen;
    if (iface.snaplen > 0 && iface.snaplen < caplen) caplen = iface.snaplen;
    if (!this.haveTs) this.anomaly('pcapng_spb_without_timestamp');
    this.deliver(b, off + 12, caplen, origLen, iface.linkType, 0);
  }

  private deliver(b: Uint8Array, dataOff: number, caplen: number, origLen: number, linkType: number, ifId: number): void {
    const pkt = this.pkt;
    pkt.buf = b;
    pkt.offset = dataOff;
    pkt.caplen = caplen;
    pkt.origLen = origLen;
    pkt.linkType = linkType;
    pkt.interfaceId = ifId;
    pkt.ts = this.timeBase.toRel(this.lastSec, this.lastNsec);
    pkt.frameNumber = this.frameNumber;
    if (caplen > origLen) this.anomaly('pcapng_caplen_exceeds_len');
    this.packets++;
    this.sink.onPacket(pkt);
  }
}

// ---------------------------------------------------------------------------------------------
// The reader: detection, chunking, straddling records

class CaptureReader {
  parser: RecordParser | null = null;
  /** Bytes of the (decompressed) stream consumed before the current chunk. */
  streamPos = 0;
  /** Carry: the beginning of a record that continues in the next chunk. */
  scratch: Uint8Array = new Uint8Array(64 * 1024);
  carryLen = 0;
  truncated = false;
  /** Total size of the stream when known (uncompressed input), else -1. */
  constructor(
    private readonly path: string,
    private readonly sink: PacketSink,
    private readonly timeBase: TimeBase,
    private readonly streamSize: number,
  ) {}

  private ensureScratch(n: number): void {
    if (this.scratch.length >= n) return;
    // n never exceeds MAX_CAPTURE_RECORD_BYTES (record lengths are checked first).
    let size = this.scratch.length;
    while (size < n) size *= 2;
    const s = new Uint8Array(size);
    s.set(this.scratch.subarray(0, this.carryLen));
    this.scratch = s;
  }

  /** Creates the parser from the first 4 bytes. Throws CaptureFileError for an unknown magic. */
  private detect(b: Uint8Array, off: number): RecordParser {
    const kind = captureKind(u32be(b, off));
    if (kind === 'pcap') return new PcapParser(this.sink, this.timeBase);
    if (kind === 'pcapng') return new PcapngParser(this.sink, this.timeBase);
    throw new CaptureFileError(this.path, unknownMagicMessage(b, off));
  }

  private raiseStop(p: RecordParser): void {
    if (p.stop === STOP_NOT_CAPTURE) {
      throw new CaptureFileError(this.path, `not a valid capture: ${p.stopMessage}`);
    }
    this.truncated = true;
    this.carryLen = 0;
  }

  /** The record starting here runs past the end of the file: stop now, without buffering it. */
  private stopTruncated(p: RecordParser): false {
    this.truncated = true;
    this.carryLen = 0;
    p.anomaly('truncated_record');
    return false;
  }

  /**
   * The record at the start of the carry (or of a chunk tail) has length `len`; false when it cannot
   * fit in what is left of the file (then we stop without allocating it).
   */
  private fitsInFile(recordStart: number, len: number): boolean {
    if (this.streamSize < 0) return true;
    return recordStart + len <= this.streamSize;
  }

  /** Feeds one chunk; returns false once processing has stopped. */
  feed(chunk: Uint8Array): boolean {
    const end = chunk.length;
    let pos = 0;
    const chunkStart = this.streamPos;
    this.streamPos += end;

    if (this.parser === null) {
      // Detect the format from the first 4 bytes (which may straddle tiny chunks).
      if (this.carryLen + end < 4) {
        this.scratch.set(chunk, this.carryLen);
        this.carryLen += end;
        return true;
      }
      if (this.carryLen === 0) {
        this.parser = this.detect(chunk, 0);
      } else {
        const take = 4 - this.carryLen;
        this.scratch.set(chunk.subarray(0, take), this.carryLen);
        this.parser = this.detect(this.scratch, 0);
        // Keep the 4 bytes in the carry; `take` bytes of the chunk are consumed.
        this.carryLen = 4;
        pos = take;
      }
    }
    const p = this.parser;

    if (this.carryLen > 0) {
      const recordStart = chunkStart + pos - this.carryLen;
      const hmin = p.headerMin;
      if (this.carryLen < hmin) {
        const take = Math.min(hmin - this.carryLen, end - pos);
        this.ensureScratch(hmin);
        this.scratch.set(chunk.subarray(pos, pos + take), this.carryLen);
        this.carryLen += take;
        pos += take;
        if (this.carryLen < hmin) return true;
      }
      const len = p.recordLength(this.scratch, 0);
      if (len < 0) {
        this.raiseStop(p);
        return false;
      }
      if (!this.fitsInFile(recordStart, len)) return this.stopTruncated(p);
      const take = Math.min(len - this.carryLen, end - pos);
      // Grow with the bytes actually present, not the announced length: a bogus length in a
      // stream of unknown size (gzip) then costs at most twice the data really read.
      this.ensureScratch(this.carryLen + take);
      this.scratch.set(chunk.subarray(pos, pos + take), this.carryLen);
      this.carryLen += take;
      pos += take;
      if (this.carryLen < len) return true;
      const used = p.run(this.scratch, 0, len);
      if (used < 0) {
        this.raiseStop(p);
        return false;
      }
      // A header-only record (pcap global header) may change headerMin: run consumed it fully.
      this.carryLen = 0;
    }

    const next = p.run(chunk, pos, end);
    if (next < 0) {
      this.raiseStop(p);
      return false;
    }
    const rest = end - next;
    if (rest > 0) {
      if (rest >= p.headerMin) {
        const len = p.recordLength(chunk, next);
        if (len < 0) {
          this.raiseStop(p);
          return false;
        }
        if (!this.fitsInFile(chunkStart + next, len)) return this.stopTruncated(p);
      }
      this.ensureScratch(rest > p.headerMin ? rest : p.headerMin);
      this.scratch.set(chunk.subarray(next, end), 0);
      this.carryLen = rest;
    }
    return true;
  }

  /** End of stream: validates that a capture header was seen. */
  finish(): void {
    const p = this.parser;
    if (p === null) {
      throw new CaptureFileError(
        this.path,
        this.carryLen === 0 ? 'empty file, not a capture' : `file too short to be a capture (${this.carryLen} bytes)`,
      );
    }
    if (!p.headerSeen) {
      throw new CaptureFileError(this.path, 'capture header is cut short');
    }
    if (this.carryLen > 0) {
      this.truncated = true;
      p.anomaly('truncated_record');
    }
  }
}

function describeIoError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && e.code === 'ENOENT') return 'no such file';
  if (e && e.code === 'EACCES') return 'permission denied';
  if (e && e.code === 'EISDIR') return 'is a directory';
  return e && e.message ? e.message : String(err);
}

async function runCapture(
  path: string,
  chunkSize: number,
  sink: PacketSink,
  timeBase: TimeBase,
  progress?: CaptureProgress,
): Promise<CaptureSummary> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new CaptureFileError(path, `cannot open: ${describeIoError(err)}`);
  }
  let total = 0;
  let regular = false;
  let bytesRead = 0;
  let lastProgress = Date.now();
  const report = (force: boolean): void => {
    if (progress === undefined) return;
    const now = Date.now();
    if (force || now - lastProgress >= PROGRESS_INTERVAL_MS) {
      lastProgress = now;
      progress(bytesRead, total);
    }
  };
  // Sequential reads (position null) so that pipes and character devices work as well as files.
  const readInto = async (b: Uint8Array, len: number): Promise<number> => {
    try {
      return (await fh.read(b, 0, len, null)).bytesRead;
    } catch (err) {
      throw new CaptureFileError(path, `read error at offset ${bytesRead}: ${describeIoError(err)}`);
    }
  };
  let reader: CaptureReader;
  let gzip = false;
  try {
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      regular = st.isFile();
      total = regular ? st.size : 0;
    } catch (err) {
      throw new CaptureFileError(path, `cannot read: ${describeIoError(err)}`);
    }
    // First read: at least 2 bytes (gzip sniffing) even with a tiny chunk size.
    const buf = new Uint8Array(Math.max(chunkSize, 2));
    let n = await readInto(buf, buf.length);
    while (n === 1) {
      const m = await readInto(buf.subarray(1), buf.length - 1);
      if (m === 0) break;
      n += m;
    }
    bytesRead = n;
    gzip = n >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
    reader = new CaptureReader(path, sink, timeBase, gzip || !regular ? -1 : total);
    if (!gzip) {
      // Two buffers: the next read runs (in libuv's thread pool) while the current chunk is parsed.
      const bufs = [buf, new Uint8Array(buf.length)];
      let which = 0;
      let nextRead: Promise<number> | null = n > 0 ? readInto(bufs[1], chunkSize) : null;
      let go = feedSplit(reader, buf.subarray(0, n), chunkSize);
      try {
        while (go && nextRead !== null) {
          report(false);
          const m = await nextRead;
          nextRead = null;
          if (m === 0) break;
          bytesRead += m;
          which ^= 1;
          const cur = bufs[which];
          nextRead = readInto(bufs[which ^ 1], chunkSize);
          go = reader.feed(m === cur.length ? cur : cur.subarray(0, m));
        }
      } finally {
        // Never leave a read running on a handle about to be closed.
        if (nextRead !== null) await nextRead.catch(() => 0);
      }
    } else {
      const first = buf.slice(0, n);
      await readGzip(path, chunkSize, reader, first, readInto, (m) => {
        bytesRead += m;
        report(false);
      });
    }
    reader.finish();
  } finally {
    await fh.close().catch(() => undefined);
  }
  report(true);
  const p = reader.parser as RecordParser;
  const format = (p instanceof PcapParser ? 'pcap' : 'pcapng') + (gzip ? ' (gzip)' : '');
  return {
    packets: p.packets,
    bytesRead,
    truncated: reader.truncated,
    format,
    anomalies: p.anomalies,
  };
}

/** Feeds `data` in pieces of at most `chunkSize` bytes; false once the reader stopped. */
function feedSplit(reader: CaptureReader, data: Uint8Array, chunkSize: number): boolean {
  if (data.length <= chunkSize) return data.length === 0 || reader.feed(data);
  for (let o = 0; o < data.length; o += chunkSize) {
    if (!reader.feed(data.subarray(o, Math.min(o + chunkSize, data.length)))) return false;
  }
  return true;
}

/**
 * Streams a gzip file through zlib into the reader. A corrupt or cut-short gzip stream rejects with
 * CaptureFileError when nothing was delivered yet, else marks the capture truncated (`gzip_corrupt`).
 *
 * Determinism: the compressed stream is handed to zlib in fixed 64 KiB pieces from offset 0 and
 * zlib's output is consumed as 'data' events (everything decodable before the damage is delivered),
 * so the outcome for a damaged file does not depend on `chunkSize`.
 */
async function readGzip(
  path: string,
  chunkSize: number,
  reader: CaptureReader,
  first: Uint8Array,
  readInto: (b: Uint8Array, len: number) => Promise<number>,
  onCompressed: (n: number) => void,
): Promise<void> {
  const READ = GZIP_READ_SIZE;
  async function* compressed(): AsyncGenerator<Uint8Array> {
    let firstOff = 0;
    let eof = false;
    while (!eof) {
      const b = new Uint8Array(READ);
      let n = 0;
      if (firstOff < first.length) {
        const k = Math.min(READ, first.length - firstOff);
        b.set(first.subarray(firstOff, firstOff + k));
        firstOff += k;
        n = k;
      }
      while (n < READ) {
        const k = await readInto(b.subarray(n), READ - n);
        if (k === 0) {
          eof = true;
          break;
        }
        onCompressed(k);
        n += k;
      }
      if (n > 0) yield n === READ ? b : b.subarray(0, n);
    }
  }
  const src = Readable.from(compressed(), { objectMode: false });
  const gz = createGunzip({ chunkSize: READ });
  try {
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        if (err === undefined) resolve();
        else reject(err);
      };
      src.on('error', (err) => gz.destroy(err));
      gz.on('data', (chunk: Buffer) => {
        if (settled) return;
        try {
          if (!feedSplit(reader, chunk, chunkSize)) settle();
        } catch (err) {
          settle(err);
        }
      });
      gz.on('end', () => settle());
      gz.on('error', (err) => settle(err));
      gz.on('close', () => settle());
      src.pipe(gz);
    });
  } catch (err) {
    if (err instanceof CaptureFileError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e && typeof e.code === 'string' && e.code.startsWith('Z_')) {
      const p = reader.parser;
      if (p !== null && p.packets > 0) {
        p.anomaly('gzip_corrupt');
        reader.truncated = true;
        reader.carryLen = 0;
        return;
      }
      throw new CaptureFileError(path, `corrupt gzip stream: ${e.message}`);
    }
    throw err;
  } finally {
    src.unpipe(gz);
    src.destroy();
    gz.destroy();
  }
}

/** The capture format a big-endian 32-bit magic announces, or '' for none. */
function captureKind(m: number): 'pcap' | 'pcapng' | '' {
  if (m === 0xa1b2c3d4 || m === 0xd4c3b2a1 || m === 0xa1b23c4d || m === 0x4d3cb2a1) return 'pcap';
  if (m === BT_SHB) return 'pcapng';
  return '';
}

function unknownMagicMessage(b: Uint8Array, off: number): string {
  const hex = Array.from(b.subarray(off, off + 4), (x) => x.toString(16).padStart(2, '0')).join(' ');
  return `not a pcap or pcapng capture (unknown magic bytes ${hex})`;
}

/**
 * Checks, before any work starts, that a regular file begins like a capture (pcap, pcapng, or gzip:
 * a compressed file is only checked when read). Throws CaptureFileError with the same message the
 * reader would give. Pipes and devices are not touched (reading would consume them).
 */
export function checkCaptureMagic(path: string): void {
  let fd = -1;
  try {
    if (!statSync(path).isFile()) return;
    fd = openSync(path, 'r');
    const b = new Uint8Array(4);
    const n = readSync(fd, b, 0, 4, 0);
    if (n >= 2 && b[0] === 0x1f && b[1] === 0x8b) return;
    if (n < 4) throw new CaptureFileError(path, n === 0 ? 'empty file, not a capture' : `file too short to be a capture (${n} bytes)`);
    if (captureKind(u32be(b, 0)) === '') throw new CaptureFileError(path, unknownMagicMessage(b, 0));
  } catch (e) {
    if (e instanceof CaptureFileError) throw e;
    throw new CaptureFileError(path, `cannot read: ${describeIoError(e)}`);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

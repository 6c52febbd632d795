/**
 * Capture sources: where packets come from (a capture file today; AF_PACKET and eBPF later).
 *
 * A source calls `PacketSink.onPacket` once per captured frame, synchronously, with a view
 * into its own read buffer. The view is valid only during that call: a consumer that needs
 * the bytes later must copy them. No per-packet object is allocated: the same `RawPacket`
 * instance is refilled for every frame.
 */

/** Link-layer header types (the LINKTYPE_* registry used by pcap and pcapng). */
export const LINKTYPE_NULL = 0; // BSD loopback: 4-byte address family in the writer's byte order
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW_OLD_12 = 12; // DLT_RAW on some BSDs, raw IPv4/IPv6
export const LINKTYPE_RAW_OLD_14 = 14; // DLT_RAW on OpenBSD
export const LINKTYPE_RAW = 101; // raw IPv4/IPv6
export const LINKTYPE_LOOP = 108; // OpenBSD loopback: address family in network byte order
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_NFLOG = 239;
export const LINKTYPE_LINUX_SLL2 = 276;

/**
 * One captured frame. Reused by the source for every frame: read it during `onPacket`, never keep it.
 * Timestamps are nanoseconds since the capture's time base (see `TimeBase`), exact as a double for
 * more than 100 days of capture.
 */
export class RawPacket {
  /** LINKTYPE_* of the interface the frame was captured on. */
  linkType = 0;
  /** Interface index within the current pcapng section (0 for pcap). */
  interfaceId = 0;
  /** Capture time in ns relative to `TimeBase.epochSec`. */
  ts = 0;
  /** Buffer holding the frame; valid only during `onPacket`. */
  buf: Uint8Array = EMPTY;
  /** Offset of the first byte of the frame in `buf`. */
  offset = 0;
  /** Bytes captured (may be less than `origLen` when the capture had a snap length). */
  caplen = 0;
  /** Length of the frame on the wire. */
  origLen = 0;
  /** 1-based ordinal of the frame in the capture (matches tshark's frame.number for one file). */
  frameNumber = 0;
}

const EMPTY = new Uint8Array(0);

/**
 * Converts absolute capture times to the relative ns used inside the pipeline and back.
 * The first packet fixes `epochSec`; every later time is `(sec - epochSec) * 1e9 + nsec`.
 */
export class TimeBase {
  epochSec = -1;

  /** Relative ns for an absolute (seconds, nanoseconds) pair; fixes the base on first use. */
  toRel(sec: number, nsec: number): number {
    if (this.epochSec < 0) this.epochSec = sec;
    return (sec - this.epochSec) * 1e9 + nsec;
  }

  /** Absolute [seconds, nanoseconds] (OTel HrTime) for a relative ns value. */
  toHrTime(rel: number): [number, number] {
    const base = this.epochSec < 0 ? 0 : this.epochSec;
    const s = Math.floor(rel / 1e9);
    return [base + s, rel - s * 1e9];
  }
}

export interface PacketSink {
  /** Called once per frame, synchronously; `pkt` and `pkt.buf` are valid only during the call. */
  onPacket(pkt: RawPacket): void;
}

/** What a source reports when it ends. */
export interface CaptureSummary {
  /** Frames handed to the sink. */
  packets: number;
  /** Bytes read from the file (compressed size for gzip input). */
  bytesRead: number;
  /** Set when the last record was cut short (a warning, not a failure: everything before it was processed). */
  truncated: boolean;
  /** 'pcap' | 'pcapng' (with ' (gzip)' appended for compressed input). */
  format: string;
  /** Non-fatal problems in the file, by kind (e.g. 'pcapng_unknown_block', 'pcap_caplen_too_large'). */
  anomalies: Record<string, number>;
}

/** A file that is not a capture, or cannot be read. The CLI maps it to exit code 2. */
export class CaptureFileError extends Error {
  readonly code = 'SPANWIRE_BAD_CAPTURE';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

export interface CaptureProgress {
  /** Called at most every few hundred ms with bytes consumed so far from the (possibly compressed) file. */
  (bytesRead: number, totalBytes: number): void;
}

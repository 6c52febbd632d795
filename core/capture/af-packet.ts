/**
 * Live capture with AF_PACKET: the native addon drains a TPACKET_V3 ring on a native thread and hands
 * JS one Buffer per batch of frames (format in native/README.md); this source walks each batch and
 * calls the same `PacketSink` as capture files, with one reused `RawPacket` (no allocation per frame).
 */
import type { NativeAddon, NativeHandle } from './native.js';
import type { PacketSink, TimeBase } from './types.js';
import { RawPacket } from './types.js';

/** Bytes of a batch record header: recordLen, caplen, wirelen, ifindex (u32), tsNs (u64), linkType (u16), pad. */
export const AF_RECORD_HEADER = 32;

export interface AfPacketStats {
  packets: number;
  bytes: number;
  batches: number;
  /** Records whose lengths did not fit their batch (never expected; counted, the batch rest skipped). */
  malformed: number;
}

/**
 * Walks one batch: calls `sink.onPacket` for each frame. Exported for tests (batches built by hand
 * per the format).
 */
export function forEachFrame(batch: Uint8Array, pkt: RawPacket, timeBase: TimeBase, sink: PacketSink, stats: AfPacketStats): void {
  const dv = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  let p = 0;
  stats.batches++;
  while (p + AF_RECORD_HEADER <= batch.length) {
    const recordLen = dv.getUint32(p, true);
    const caplen = dv.getUint32(p + 4, true);
    if (recordLen < AF_RECORD_HEADER || p + recordLen > batch.length || AF_RECORD_HEADER + caplen > recordLen) {
      stats.malformed++;
      return;
    }
    const tsNs = dv.getBigUint64(p + 16, true);
    const sec = Number(tsNs / 1_000_000_000n);
    pkt.linkType = dv.getUint16(p + 24, true);
    pkt.interfaceId = dv.getUint32(p + 12, true);
    pkt.ts = timeBase.toRel(sec, Number(tsNs - BigInt(sec) * 1_000_000_000n));
    pkt.buf = batch;
    pkt.offset = p + AF_RECORD_HEADER;
    pkt.caplen = caplen;
    pkt.origLen = dv.getUint32(p + 8, true);
    pkt.frameNumber++;
    stats.packets++;
    stats.bytes += caplen;
    sink.onPacket(pkt);
    p += recordLen;
  }
}

export class AfPacketSource {
  readonly stats: AfPacketStats = { packets: 0, bytes: 0, batches: 0, malformed: 0 };
  private handle: NativeHandle | null = null;
  private readonly pkt = new RawPacket();

  constructor(
    private readonly addon: NativeAddon,
    private readonly opts: { iface: string; filter: string; snaplen?: number },
  ) {}

  /** Opens the ring; throws the addon's clear error (permission, interface, filter). */
  start(sink: PacketSink, timeBase: TimeBase): void {
    this.handle = this.addon.afPacketOpen({ iface: this.opts.iface, filter: this.opts.filter, snaplen: this.opts.snaplen }, (batch) =>
      forEachFrame(batch, this.pkt, timeBase, sink, this.stats),
    );
  }

  /** Kernel counters (packets seen by the ring, drops) plus ours. */
  counters(): Record<string, number> {
    const k = this.handle?.stats() ?? {};
    return { ...k, delivered: this.stats.packets, batches: this.stats.batches, malformed: this.stats.malformed };
  }

  stop(): void {
    this.handle?.close();
    this.handle = null;
  }
}

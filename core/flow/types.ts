/**
 * Flows and TCP reassembly.
 *
 * The flow table groups decoded packets into bidirectional conversations and turns TCP segments
 * into two in-order byte streams. Its only output edge is `StreamConsumer`; it knows nothing of L7.
 *
 * Endpoints: "A" is the source of the first packet seen for the flow, "B" the destination.
 * `Flow.clientIsA` says which of them is the client once known. Data is delivered with
 * `fromA` (true: bytes sent by A); consumers map that to request/response direction.
 */

/** How the client side of a flow was determined (exported as spanwire.flow.role_source when useful). */
export const ROLE_UNKNOWN = 0;
/** Ports: the lower port / a registered server port is the server; else the first packet's destination. */
export const ROLE_FROM_PORTS = 1;
/** Payload: an L7 probe recognised a request or a response. */
export const ROLE_FROM_PAYLOAD = 2;
/** TCP handshake: the SYN sender is the client. */
export const ROLE_FROM_HANDSHAKE = 3;

/** Why a flow ended (the reason passed to `StreamConsumer.onFlowEnd`). */
export type FlowEndReason = 'fin' | 'rst' | 'idle' | 'evicted' | 'capture_end';

/**
 * One bidirectional conversation. Allocated once per flow, with all fields set in the constructor
 * by the flow table (stable shape). Consumers may attach their own per-flow state to `l7`.
 */
export interface Flow {
  /** Unique per run, increasing. */
  readonly id: number;
  readonly transport: 'tcp' | 'udp';
  readonly ipVersion: 4 | 6;
  /** Endpoint A: the source of the first packet seen. */
  readonly addrA: string;
  readonly portA: number;
  readonly addrB: string;
  readonly portB: number;
  /** True when A is the client. Meaningful once `roleSource` is not ROLE_UNKNOWN. */
  clientIsA: boolean;
  /** ROLE_* constant: how `clientIsA` was decided. A stronger source may overwrite a weaker one. */
  roleSource: number;
  /** First and last packet times (relative ns). */
  readonly firstTs: number;
  lastTs: number;
  /** Packets and payload bytes from A and from B. */
  packetsA: number;
  packetsB: number;
  bytesA: number;
  bytesB: number;
  /** Per-flow state owned by the L7 dispatcher (null until it attaches one). */
  l7: unknown;
  /**
   * Set by sources that observe the flow from inside a process (eBPF): the span kind follows the
   * local side's role and the resource is the process's. Absent for packet captures.
   */
  readonly observer?: FlowObserver;
}

/** How a flow is observed when the observation point is a process (see `Flow.observer`). */
export interface FlowObserver {
  /** The process's resource (one object per process: exporters group by identity). */
  readonly resource: import('../trace/span.js').Resource;
  /** True when endpoint A is the local (observing) socket. */
  readonly localIsA: boolean;
  /** `spanwire.observation`: 'process' (syscalls) or 'process_tls' (TLS library plaintext). */
  readonly observation: string;
}

/**
 * The output edge of the flow table. All calls are synchronous, in capture order. `buf` views are
 * valid only during the call.
 *
 * Times (`ts`) are capture times and never decrease within one direction of a flow: bytes released
 * when a hole fills carry the filling packet's time; bytes released when a hole is declared a gap
 * carry their own capture time; `onFin` carries the FIN's capture time (each clamped to the last
 * time already delivered for that direction).
 */
export interface StreamConsumer {
  /** A new flow was created (before any data of it). */
  onFlowStart(flow: Flow): void;
  /**
   * In-order payload bytes from one side. For TCP: contiguous stream bytes (retransmissions and
   * overlaps removed). For UDP: exactly one datagram per call.
   * `ts` is the capture time of the packet that carried (or completed) these bytes.
   */
  onData(flow: Flow, fromA: boolean, buf: Uint8Array, offset: number, length: number, ts: number): void;
  /**
   * `length` bytes of the stream from this side were never captured (lost segment, snap length,
   * reassembly cap). The next `onData` for this side continues after the hole.
   */
  onGap(flow: Flow, fromA: boolean, length: number, ts: number): void;
  /** The side sent FIN (its stream is complete). */
  onFin(flow: Flow, fromA: boolean, ts: number): void;
  /** The flow is gone (after its last onData/onGap). The table drops its reference after this call. */
  onFlowEnd(flow: Flow, reason: FlowEndReason, ts: number): void;
}

/** Limits of the flow table; every drop is counted in `FlowStats`. */
export interface FlowLimits {
  /** Flows tracked at once; at the cap the least recently active flow is evicted (default 262144). */
  maxFlows: number;
  /** TCP flows idle this long end with reason 'idle' (ns; default 300 s; 10 s once FIN or RST seen). */
  tcpIdleTimeoutNs: number;
  /** UDP flows idle this long end (ns; default 60 s). */
  udpIdleTimeoutNs: number;
  /** Out-of-order bytes buffered per direction before the hole is declared a gap (default 256 KiB). */
  maxOutOfOrderBytesPerDirection: number;
  /** Out-of-order bytes buffered across all flows (default 64 MiB); past it the flow's hole becomes a gap. */
  maxOutOfOrderBytesTotal: number;
  /** Out-of-order segments buffered per direction (default 256). */
  maxOutOfOrderSegmentsPerDirection: number;
}

export const DEFAULT_FLOW_LIMITS: FlowLimits = {
  maxFlows: 262144,
  tcpIdleTimeoutNs: 300e9,
  udpIdleTimeoutNs: 60e9,
  maxOutOfOrderBytesPerDirection: 256 << 10,
  maxOutOfOrderBytesTotal: 64 << 20,
  maxOutOfOrderSegmentsPerDirection: 256,
};

/** Counters of the flow table and reassembler. */
export interface FlowStats {
  flowsCreated: number;
  flowsEnded: number;
  /** Flows evicted because the table was full. */
  flowsEvicted: number;
  /** Retransmitted / duplicate payload bytes discarded. */
  duplicateBytes: number;
  /** Bytes reported as gaps (lost in capture or dropped at a cap). */
  gapBytes: number;
  /** Number of gap events. */
  gaps: number;
  /** Out-of-order segments that were buffered and later delivered. */
  outOfOrderSegments: number;
  /** Anomalies by kind (e.g. 'tcp_ooo_cap', 'tcp_data_after_close'). */
  anomalies: Record<string, number>;
}

/**
 * The collector's small contracts: the component lifecycle, the one edge between stages (a
 * consumer per signal), and typed refusals (permanent vs retryable, as OTLP distinguishes them).
 */
import type { Signal } from '../../otel-config/components.js';
import type { SignalData } from './pdata/model.js';
import type { Telemetry } from './telemetry.js';

/**
 * Every component: `start` once before data flows, `shutdown` once after (safe to call twice, and
 * before start). `start` throws to refuse to start (the collector then stops with that message).
 */
export interface Component {
  start(host: Host): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Takes one batch of a signal. Resolves when the data is accepted (queued or sent); rejects with a
 * `ConsumerError` when refused. The callee may keep and change the batch: callers that need it
 * afterwards hand over a copy (the fan-out does this).
 */
export interface Consumer<S extends Signal> {
  consume(data: SignalData[S]): Promise<void>;
  /** True when this consumer changes the data it is given (fan-outs copy for such consumers). */
  readonly mutates?: boolean;
}

export type AnyConsumer = { [S in Signal]: Consumer<S> }[Signal];

/** What components may ask of the running collector. */
export interface Host {
  readonly telemetry: Telemetry;
  /** A started extension by id (file_storage for persistent queues). */
  extension(id: string): Component | undefined;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
}

/**
 * A refusal. `retryable` ones tell the sender to try again (gRPC UNAVAILABLE / RESOURCE_EXHAUSTED
 * with RetryInfo, HTTP 503 / 429 with Retry-After); permanent ones must not be retried.
 */
export class ConsumerError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** Suggested delay before retrying (throttling), when the refuser knows one. */
    readonly retryAfterMs?: number,
    /** Refused for lack of memory or capacity (gRPC RESOURCE_EXHAUSTED / HTTP 429) rather than unavailable. */
    readonly exhausted = false,
  ) {
    super(message);
    this.name = 'ConsumerError';
  }
  static permanent(message: string): ConsumerError {
    return new ConsumerError(message, false);
  }
  static retryable(message: string, retryAfterMs?: number, exhausted = false): ConsumerError {
    return new ConsumerError(message, true, retryAfterMs, exhausted);
  }
}

/** Any thrown value as a ConsumerError (unknown failures are retryable, as the Collector treats them). */
export function asConsumerError(e: unknown): ConsumerError {
  if (e instanceof ConsumerError) return e;
  return ConsumerError.retryable((e as Error)?.message ?? String(e));
}

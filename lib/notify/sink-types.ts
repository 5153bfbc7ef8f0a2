/** What every notification sink offers the notifier's queues. */
import type { NotifyPayload } from './format.ts';
import type { EventRecord } from '../core/types.ts';

export interface Attempt { ok: boolean; status?: number; error?: string; retryable: boolean }

export interface Sink {
  /** Same key after a reload = same queue. */
  key: string;
  /** What stats and notify_failed show: the redacted URL, or 'command'. */
  label: string;
  retries: number;
  accepts: (event: EventRecord) => boolean;
  /** `stalled`: the sink is waiting out an outage (the delivery is not lost yet); the queue reports it once. */
  attempt: (payload: NotifyPayload, signal: AbortSignal, stalled?: (error: string) => void) => Promise<Attempt>;
  /** notify_failed once per outage (until a delivery succeeds), not once per event. */
  oncePerOutage?: boolean;
  /** Sinks that hold a connection release it here. */
  close?: () => Promise<void>;
}

export interface SinkOptions {
  /** How long the NATS sink waits for its server: null = as long as it takes. */
  natsMaxWaitMs?: number | null;
}

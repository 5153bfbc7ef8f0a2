/** Notifications: one bounded queue per sink (webhook or command), delivered in the background, in event order. */
import { setTimeout as sleep } from 'node:timers/promises';
import { buildPayload, LOG_TAIL_EVENTS, sampleTestPayload, type NotifyPayload } from './format.ts';
import { buildSinks, type Attempt, type Sink } from './sinks.ts';
import { collectSecrets, redactPayload, redactSecrets } from './redact.ts';
import type { EventRecord, NotifyConfig } from '../core/types.ts';

export { acceptsEvent, COMMAND_TIMEOUT_MS, shellCommandFor } from './sinks.ts';

export const QUEUE_LIMIT = 1000;
export const CLOSE_TIMEOUT_MS = 5000;
export const RETRY_BASE_MS = 200;
const RETRY_MAX_MS = 30_000;
/** After close() aborts what is in flight, how long the aborted deliveries get to unwind (they only need to see the abort). */
const ABANDON_GRACE_MS = 200;

export interface NotifierDeps {
  host: string;
  /** Where the command sink runs: the config file's folder. */
  cwd: string;
  logTail: (service: string) => string[];
  record: (event: Omit<EventRecord, 'time'>) => void;
  /** Accepted for symmetry with the other modules; delivery timing uses real timers (fetch timeouts cannot be faked). */
  now?: () => number;
  fetchImpl?: typeof fetch;
  /** First retry delay, doubled on each retry. @default 200 */
  retryBaseMs?: number;
  /** @default 1000 */
  queueLimit?: number;
}

export interface SinkStats { sink: string; sent: number; failed: number; dropped: number; queued: number }
export interface TestResult { sink: string; ok: boolean; status?: number; durationMs: number; error?: string }

export function backoffMs(retry: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** retry, RETRY_MAX_MS);
}

export class Notifier {
  private queues: DeliveryQueue[] = [];
  private secrets: string[] = [];
  private closing: Promise<void> | null = null;

  constructor(config: NotifyConfig, private readonly deps: NotifierDeps) {
    this.reconfigure(config);
  }

  /** Queues the event for every sink that wants it and returns at once; never throws. */
  publish(event: EventRecord): void {
    if (this.closing) return;
    try {
      const queues = this.queues.filter((queue) => queue.sink.accepts(event) && !isOwnFailure(event, queue.sink));
      if (queues.length === 0) return;
      // The tail is taken now, not at delivery: by then the service has printed more.
      const tail = LOG_TAIL_EVENTS.has(event.event) && event.service !== undefined ? this.logTail(event.service) : undefined;
      // Output and messages go out of the machine: same redaction as everything else, token patterns included
      const payload = redactPayload(buildPayload(event, this.deps.host, tail), this.secrets);
      for (const queue of queues) queue.push(payload);
    } catch {
      // A notification must never break the supervisor.
    }
  }

  stats(): SinkStats[] {
    return this.queues.map(({ sink, sent, failed, dropped, queued }) => ({ sink: sink.label, sent, failed, dropped, queued }));
  }

  /** Resolves when every queue is empty or after `timeoutMs`, whichever comes first. */
  async flush(timeoutMs: number): Promise<void> {
    await withDeadline(Promise.all(this.queues.map((queue) => queue.whenIdle())), timeoutMs);
  }

  /** Stops accepting events, gives pending deliveries `timeoutMs`, then abandons the rest (counted as dropped). */
  close(timeoutMs = CLOSE_TIMEOUT_MS): Promise<void> {
    this.closing ??= this.flush(timeoutMs).then(async () => {
      for (const queue of this.queues) queue.abandon();
      await this.flush(ABANDON_GRACE_MS);
    });
    return this.closing;
  }

  /** Hot reload: sinks whose delivery settings are unchanged keep their queue and counters; removed ones are abandoned. */
  reconfigure(config: NotifyConfig): void {
    const previous = this.queues;
    const sinks = buildSinks(config, this.deps.cwd, this.deps.fetchImpl ?? fetch);
    this.queues = sinks.map((sink) => {
      const index = previous.findIndex((queue) => queue.sink.key === sink.key);
      if (index === -1) return new DeliveryQueue(sink, this.deps.queueLimit ?? QUEUE_LIMIT, this.deps.retryBaseMs ?? RETRY_BASE_MS, (p, a) => this.onFailure(sink, p, a));
      const [kept] = previous.splice(index, 1);
      // A sink with a connection (NATS) keeps its own: same key, same settings, and the new one never connected
      if (kept!.sink.close) void sink.close?.();
      else kept!.sink = sink;
      return kept!;
    });
    for (const queue of previous) queue.abandon();
    this.secrets = collectSecrets(config);
  }

  private logTail(service: string): string[] | undefined {
    try {
      return this.deps.logTail(service);
    } catch {
      return undefined;
    }
  }

  private onFailure(sink: Sink, payload: NotifyPayload, attempt: Pick<Attempt, 'status' | 'error'> & { tries: number }): void {
    // A failure to deliver a notify_failed is only counted: recording it again could ping-pong between two broken sinks forever.
    if (payload.event === 'notify_failed') return;
    try {
      this.deps.record({
        event: 'notify_failed',
        ...(payload.service === undefined ? {} : { service: payload.service }),
        sink: sink.label,
        failed_event: payload.event,
        ...(attempt.status === undefined ? {} : { status: attempt.status }),
        error: redactSecrets(attempt.error ?? 'failed', this.secrets),
        tries: attempt.tries,
      });
    } catch {
      // Recording is best effort here: the delivery is already counted as failed.
    }
  }
}

/** How long `notify test` waits for a NATS server that does not answer. */
export const TEST_NATS_WAIT_MS = 5000;

/** Sends one sample event to every sink (ignoring event filters), one try each, in parallel. */
export async function sendTestNotification(config: NotifyConfig, options: { host: string; cwd: string; eventType?: string; fetchImpl?: typeof fetch }): Promise<TestResult[]> {
  const payload = sampleTestPayload(options.eventType ?? 'test', options.host);
  const secrets = collectSecrets(config);
  // The test event goes on the bus whatever the sink's events list says
  const testConfig = config.nats ? { ...config, nats: { ...config.nats, events: [...config.nats.events, payload.event] } } : config;
  const sinks = buildSinks(testConfig, options.cwd, options.fetchImpl ?? fetch, { natsMaxWaitMs: TEST_NATS_WAIT_MS });
  try {
    return await Promise.all(sinks.map((sink) => testSink(sink, payload, secrets)));
  } finally {
    await Promise.all(sinks.map((sink) => sink.close?.()));
  }
}

async function testSink(sink: Sink, payload: NotifyPayload, secrets: string[]): Promise<TestResult> {
  const started = performance.now();
  const result = await sink.attempt(payload, new AbortController().signal);
  const durationMs = Math.round(performance.now() - started);
  return { sink: sink.label, ok: result.ok, ...(result.status === undefined ? {} : { status: result.status }), durationMs, ...(result.error === undefined ? {} : { error: redactSecrets(result.error, secrets) }) };
}

/** A notify_failed names the sink that failed; that sink never gets it (if it is still broken, the retry storm would only grow). */
function isOwnFailure(event: EventRecord, sink: Sink): boolean {
  return event.event === 'notify_failed' && event.sink === sink.label;
}

async function withDeadline(work: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((done) => { timer = setTimeout(done, timeoutMs); });
  try {
    await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** One sink's pending events, delivered one at a time so the endpoint sees them in order. */
class DeliveryQueue {
  sent = 0;
  failed = 0;
  dropped = 0;
  /** oncePerOutage sinks: a failure was reported and no delivery has succeeded since. */
  private outage = false;
  private waiting: NotifyPayload[] = [];
  private running = false;
  private idleWaiters: Array<() => void> = [];
  private readonly abort = new AbortController();

  constructor(
    public sink: Sink,
    private readonly limit: number,
    private readonly retryBaseMs: number,
    private readonly onFailure: (payload: NotifyPayload, attempt: Pick<Attempt, 'status' | 'error'> & { tries: number }) => void,
  ) {}

  /** Waiting plus the one in flight. */
  get queued(): number {
    return this.waiting.length + (this.running ? 1 : 0);
  }

  push(payload: NotifyPayload): void {
    if (this.abort.signal.aborted) return;
    if (this.waiting.length >= this.limit) {
      this.waiting.shift();
      this.dropped++;
    }
    this.waiting.push(payload);
    // A throwing failure callback must not leave the queue marked running (stalled) nor reject unhandled
    if (!this.running) this.drain().catch(() => { this.running = false; });
  }

  whenIdle(): Promise<void> {
    return this.running ? new Promise((done) => this.idleWaiters.push(done)) : Promise.resolve();
  }

  /** Aborts the delivery in flight and drops the rest; the queue accepts nothing more. */
  abandon(): void {
    this.dropped += this.waiting.length;
    this.waiting = [];
    this.abort.abort();
    void this.sink.close?.().catch(() => undefined);
  }

  private async drain(): Promise<void> {
    this.running = true;
    for (let payload = this.waiting.shift(); payload !== undefined; payload = this.waiting.shift()) {
      const attempt = await this.deliver(payload);
      if (attempt.ok) {
        this.sent++;
        this.outage = false;
      } else if (this.abort.signal.aborted) this.dropped++;
      else {
        this.failed++;
        this.reportFailure(payload, attempt);
      }
    }
    this.running = false;
    for (const done of this.idleWaiters.splice(0)) done();
  }

  private reportFailure(payload: NotifyPayload, attempt: Pick<Attempt, 'status' | 'error'> & { tries: number }): void {
    if (this.sink.oncePerOutage && this.outage) return;
    this.outage = true;
    this.onFailure(payload, attempt);
  }

  /** Retries with exponential backoff, only where the sink says a retry may help (network errors, 429, 5xx). */
  private async deliver(payload: NotifyPayload): Promise<Attempt & { tries: number }> {
    const { signal } = this.abort;
    for (let tries = 1; ; tries++) {
      const stalled = (error: string) => this.reportFailure(payload, { error, tries });
      const attempt = await this.sink.attempt(payload, signal, stalled).catch((error: unknown): Attempt => ({ ok: false, error: String(error), retryable: false }));
      if (attempt.ok || !attempt.retryable || tries > this.sink.retries || signal.aborted) return { ...attempt, tries };
      try {
        await sleep(backoffMs(tries - 1, this.retryBaseMs), undefined, { signal });
      } catch {
        return { ...attempt, tries };
      }
    }
  }
}

/** Notifications: one bounded queue per sink (webhook or command), delivered in the background, in event order. */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { buildBody, buildPayload, LOG_TAIL_EVENTS, sampleTestPayload, signBody, SIGNATURE_HEADER, type NotifyPayload } from './notify-format.ts';
import { collectSecrets, redactSecrets, redactUrl } from './redact.ts';
import { type EventRecord, type NotifyConfig, type WebhookConfig } from './types.ts';

export const QUEUE_LIMIT = 1000;
/** The command sink's timeout: the webhooks' default. */
export const COMMAND_TIMEOUT_MS = 5000;
export const CLOSE_TIMEOUT_MS = 5000;
export const RETRY_BASE_MS = 200;
const RETRY_MAX_MS = 30_000;
/** After a command exits, how long to wait for the rest of its stderr (a grandchild may hold the pipe open). */
const STDERR_GRACE_MS = 200;
const ERROR_TEXT_LIMIT = 200;
/** After close() aborts what is in flight, how long the aborted deliveries get to unwind (they only need to see the abort). */
const ABANDON_GRACE_MS = 200;
const TSX_LOADER = join(resolve(fileURLToPath(import.meta.url), '../..'), 'node_modules/tsx/dist/loader.mjs');

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

interface Attempt { ok: boolean; status?: number; error?: string; retryable: boolean }

interface Sink {
  /** Same key after a reload = same queue. */
  key: string;
  /** What stats and notify_failed show: the redacted URL, or 'command'. */
  label: string;
  retries: number;
  accepts: (event: EventRecord) => boolean;
  attempt: (payload: NotifyPayload, signal: AbortSignal) => Promise<Attempt>;
}

/** No `events` list = every event but `started`; no `services` list = all. Events about no service pass every service filter. */
export function acceptsEvent(filter: Pick<WebhookConfig, 'events' | 'services'>, event: EventRecord): boolean {
  if (filter.events === null ? event.event === 'started' : !filter.events.includes(event.event)) return false;
  return filter.services === null || event.service === undefined || filter.services.includes(event.service);
}

export function backoffMs(retry: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** retry, RETRY_MAX_MS);
}

/** `/bin/sh -c` text for the command sink: a `.ts` first word runs through node + the project's tsx loader. */
export function shellCommandFor(command: string): string {
  const text = command.trim();
  const firstWord = text.split(/\s/, 1)[0] ?? '';
  return firstWord.endsWith('.ts') ? `${shellQuote(process.execPath)} --import ${shellQuote(TSX_LOADER)} ${text}` : text;
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
      const payload = buildPayload(event, this.deps.host, tail);
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
      kept!.sink = sink;
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

  private onFailure(sink: Sink, payload: NotifyPayload, attempt: Attempt & { tries: number }): void {
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

/** Sends one sample event to every sink (ignoring event filters), one try each, in parallel. */
export async function sendTestNotification(config: NotifyConfig, options: { host: string; cwd: string; eventType?: string; fetchImpl?: typeof fetch }): Promise<TestResult[]> {
  const payload = sampleTestPayload(options.eventType ?? 'test', options.host);
  const secrets = collectSecrets(config);
  return Promise.all(buildSinks(config, options.cwd, options.fetchImpl ?? fetch).map(async (sink): Promise<TestResult> => {
    const started = performance.now();
    const result = await sink.attempt(payload, new AbortController().signal);
    const durationMs = Math.round(performance.now() - started);
    return { sink: sink.label, ok: result.ok, ...(result.status === undefined ? {} : { status: result.status }), durationMs, ...(result.error === undefined ? {} : { error: redactSecrets(result.error, secrets) }) };
  }));
}

/** A notify_failed names the sink that failed; that sink never gets it (if it is still broken, the retry storm would only grow). */
function isOwnFailure(event: EventRecord, sink: Sink): boolean {
  return event.event === 'notify_failed' && event.sink === sink.label;
}

function buildSinks(config: NotifyConfig, cwd: string, fetchImpl: typeof fetch): Sink[] {
  const sinks: Sink[] = config.webhooks.map((hook) => ({
    key: `webhook:${JSON.stringify({ ...hook, events: undefined, services: undefined })}`,
    label: redactUrl(hook.url),
    retries: hook.retries,
    accepts: (event) => acceptsEvent(hook, event),
    attempt: (payload, signal) => postWebhook(hook, payload, signal, fetchImpl),
  }));
  const { command } = config;
  if (command !== null) {
    sinks.push({ key: `command:${cwd}:${command}`, label: 'command', retries: 0, accepts: (event) => acceptsEvent({ events: null, services: null }, event), attempt: (payload, signal) => runCommand(command, cwd, payload, signal) });
  }
  return sinks;
}

async function postWebhook(hook: WebhookConfig, payload: NotifyPayload, signal: AbortSignal, fetchImpl: typeof fetch): Promise<Attempt> {
  const body = buildBody(hook.format, payload);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'restart-control', ...hook.headers };
  if (hook.secret !== null) headers[SIGNATURE_HEADER] = signBody(body, hook.secret);
  try {
    const response = await fetchImpl(hook.url, { method: 'POST', headers, body, signal: AbortSignal.any([signal, AbortSignal.timeout(hook.timeoutMs)]) });
    if (response.ok) {
      await response.body?.cancel().catch(() => undefined);
      return { ok: true, status: response.status, retryable: false };
    }
    const text = (await response.text().catch(() => '')).trim().slice(0, ERROR_TEXT_LIMIT);
    return { ok: false, status: response.status, error: `HTTP ${response.status}${text ? `: ${text}` : ''}`, retryable: response.status === 429 || response.status >= 500 };
  } catch (error) {
    return { ok: false, error: describeFetchError(error, hook.timeoutMs), retryable: !signal.aborted };
  }
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
  if (error.name === 'AbortError') return 'aborted';
  // undici says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND…) is in the cause, sometimes only as a code.
  const { cause } = error;
  if (!(cause instanceof Error)) return error.message;
  return `${error.message}: ${cause.message || String((cause as { code?: unknown }).code ?? cause.name)}`;
}

/** Runs the command in its own process group (killed whole on timeout or abort) with the payload JSON on stdin. */
function runCommand(command: string, cwd: string, payload: NotifyPayload, signal: AbortSignal): Promise<Attempt> {
  return new Promise((settle) => {
    const child = spawn('/bin/sh', ['-c', shellCommandFor(command)], { cwd, detached: true, stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, RESTART_CONTROL_EVENT: payload.event } });
    let stderr = '';
    let timedOut = false;
    let done = false;
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => { timedOut = true; killGroup(); }, COMMAND_TIMEOUT_MS);
    signal.addEventListener('abort', killGroup, { once: true });
    const finish = (attempt: Attempt): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', killGroup);
      child.stderr?.destroy();
      settle(attempt);
    };
    child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-ERROR_TEXT_LIMIT); });
    child.stdin?.on('error', () => undefined); // EPIPE when the command does not read its stdin.
    child.stdin?.end(`${JSON.stringify(payload)}\n`);
    child.on('error', (error) => finish({ ok: false, error: error.message, retryable: false }));
    child.on('exit', (code, exitSignal) => {
      const attempt = (): Attempt => {
        if (code === 0) return { ok: true, status: 0, retryable: false };
        const why = timedOut ? `timed out after ${COMMAND_TIMEOUT_MS} ms` : code !== null ? `exit code ${code}` : `killed by ${exitSignal}`;
        const detail = stderr.trim().split('\n').at(-1) ?? '';
        return { ok: false, ...(code === null ? {} : { status: code }), error: detail ? `${why}: ${detail}` : why, retryable: false };
      };
      const grace = setTimeout(() => finish(attempt()), STDERR_GRACE_MS);
      child.on('close', () => { clearTimeout(grace); finish(attempt()); });
    });
  });
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
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
  private waiting: NotifyPayload[] = [];
  private running = false;
  private idleWaiters: Array<() => void> = [];
  private readonly abort = new AbortController();

  constructor(
    public sink: Sink,
    private readonly limit: number,
    private readonly retryBaseMs: number,
    private readonly onFailure: (payload: NotifyPayload, attempt: Attempt & { tries: number }) => void,
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
    if (!this.running) void this.drain();
  }

  whenIdle(): Promise<void> {
    return this.running ? new Promise((done) => this.idleWaiters.push(done)) : Promise.resolve();
  }

  /** Aborts the delivery in flight and drops the rest; the queue accepts nothing more. */
  abandon(): void {
    this.dropped += this.waiting.length;
    this.waiting = [];
    this.abort.abort();
  }

  private async drain(): Promise<void> {
    this.running = true;
    for (let payload = this.waiting.shift(); payload !== undefined; payload = this.waiting.shift()) {
      const attempt = await this.deliver(payload);
      if (attempt.ok) this.sent++;
      else if (this.abort.signal.aborted) this.dropped++;
      else {
        this.failed++;
        this.onFailure(payload, attempt);
      }
    }
    this.running = false;
    for (const done of this.idleWaiters.splice(0)) done();
  }

  /** Retries with exponential backoff, only where the sink says a retry may help (network errors, 429, 5xx). */
  private async deliver(payload: NotifyPayload): Promise<Attempt & { tries: number }> {
    const { signal } = this.abort;
    for (let tries = 1; ; tries++) {
      const attempt = await this.sink.attempt(payload, signal).catch((error: unknown): Attempt => ({ ok: false, error: String(error), retryable: false }));
      if (attempt.ok || !attempt.retryable || tries > this.sink.retries || signal.aborted) return { ...attempt, tries };
      try {
        await sleep(backoffMs(tries - 1, this.retryBaseMs), undefined, { signal });
      } catch {
        return { ...attempt, tries };
      }
    }
  }
}

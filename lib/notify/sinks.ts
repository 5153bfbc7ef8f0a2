/** The notification sinks built from the config: which events each accepts, and how it sends one (webhook POST or command). */
import { spawn } from 'node:child_process';
import { trackOneShot } from '../process/one-shots.ts';
import { tsShellCommand } from '../core/shell.ts';
import { buildBody, signBody, SIGNATURE_HEADER, type NotifyPayload } from './format.ts';
import { redactUrl } from './redact.ts';
import { buildNatsSink } from './nats.ts';
import type { EventRecord, NotifyConfig, WebhookConfig } from '../core/types.ts';
import type { Attempt, Sink, SinkOptions } from './sink-types.ts';

/** The command sink's timeout: the webhooks' default. */
export const COMMAND_TIMEOUT_MS = 5000;
/** After a command exits, how long to wait for the rest of its stderr (a grandchild may hold the pipe open). */
const STDERR_GRACE_MS = 200;
const ERROR_TEXT_LIMIT = 200;

export type { Attempt, Sink, SinkOptions } from './sink-types.ts';

/** No `events` list = every event but `started`; no `services` list = all. Events about no service pass every service filter. */
export function acceptsEvent(filter: Pick<WebhookConfig, 'events' | 'services'>, event: EventRecord): boolean {
  if (filter.events === null ? event.event === 'started' : !filter.events.includes(event.event)) return false;
  return filter.services === null || event.service === undefined || filter.services.includes(event.service);
}

/** `/bin/sh -c` text for the command sink: a `.ts` first word runs through node + the project's tsx loader. */
export function shellCommandFor(command: string): string {
  return tsShellCommand(command.trim());
}

export function buildSinks(config: NotifyConfig, cwd: string, fetchImpl: typeof fetch, options: SinkOptions = {}): Sink[] {
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
  if (config.nats) sinks.push(buildNatsSink(config.nats, { maxWaitMs: options.natsMaxWaitMs ?? null }));
  return sinks;
}

async function postWebhook(hook: WebhookConfig, payload: NotifyPayload, signal: AbortSignal, fetchImpl: typeof fetch): Promise<Attempt> {
  const body = buildBody(hook.format, payload);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'restart-control', ...hook.headers };
  if (hook.secret !== null) headers[SIGNATURE_HEADER] = signBody(body, hook.secret);
  // A timer we hold, not AbortSignal.timeout() inside AbortSignal.any(): on Node 20 that timeout signal can be
  // garbage-collected before it fires, and a hung endpoint then blocks its queue for good
  const attempt = new AbortController();
  const timer = setTimeout(() => attempt.abort(Object.assign(new Error(`timed out after ${hook.timeoutMs} ms`), { name: 'TimeoutError' })), hook.timeoutMs);
  const stop = () => attempt.abort(signal.reason);
  signal.addEventListener('abort', stop, { once: true });
  try {
    const response = await fetchImpl(hook.url, { method: 'POST', headers, body, signal: attempt.signal });
    if (response.ok) {
      await response.body?.cancel().catch(() => undefined);
      return { ok: true, status: response.status, retryable: false };
    }
    const text = (await response.text().catch(() => '')).trim().slice(0, ERROR_TEXT_LIMIT);
    return { ok: false, status: response.status, error: `HTTP ${response.status}${text ? `: ${text}` : ''}`, retryable: response.status === 429 || response.status >= 500 };
  } catch (error) {
    return { ok: false, error: describeFetchError(attempt.signal.reason ?? error, hook.timeoutMs), retryable: !signal.aborted };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', stop);
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
    trackOneShot(child, `notify command: ${command}`);
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

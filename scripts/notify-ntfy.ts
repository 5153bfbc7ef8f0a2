#!/bin/sh
//bin/true; D=$(dirname "$(dirname "$(readlink -f "$0")")"); command -v "${NODE:-node}" >/dev/null || PATH="$PATH:/usr/local/bin"; exec "${NODE:-node}" --import "$D/node_modules/tsx/dist/loader.mjs" "$0" "$@"
// Line 2 is for /bin/sh (TypeScript sees a comment): run this file through the project's tsx, from any directory.
/**
 * A notify.command sink: reads one event as JSON on stdin and posts a one-line message to an ntfy topic.
 *   notify:
 *     command: ./scripts/notify-ntfy.ts
 * Env: NTFY_URL (e.g. https://ntfy.sh/my-secret-topic; unset = do nothing), NTFY_TOKEN (optional access token).
 * A failed post exits 1, so the supervisor records `notify_failed`.
 */
import { readFileSync } from 'node:fs';
import { formatEventText, type NotifyPayload } from '../lib/notify/format.ts';

/** Below the command sink's default 5 s timeout, so a hung server gives our own error, not a kill. */
const POST_TIMEOUT_MS = 4000;
/** Events worth waking someone up for; the rest arrive silently. */
const URGENT_EVENTS = new Set(['crashed', 'gave_up', 'notify_failed', 'config_error', 'log_error', 'hook_failed']);

async function main(): Promise<number> {
  const url = process.env.NTFY_URL;
  if (!url) {
    console.error('notify-ntfy: NTFY_URL is not set, nothing sent');
    return 0;
  }
  const event = JSON.parse(readFileSync(0, 'utf8')) as NotifyPayload;
  const message = formatEventText(event).replace(/\s+/g, ' ').trim();
  const headers: Record<string, string> = {
    'Content-Type': 'text/plain; charset=utf-8',
    Title: `restart-control: ${event.event}`,
    Priority: URGENT_EVENTS.has(event.event) ? 'high' : 'default',
  };
  if (process.env.NTFY_TOKEN) headers.Authorization = `Bearer ${process.env.NTFY_TOKEN}`;
  try {
    const response = await fetch(url, { method: 'POST', body: message, headers, signal: AbortSignal.timeout(POST_TIMEOUT_MS) });
    if (response.ok) return 0;
    console.error(`notify-ntfy: HTTP ${response.status} from the ntfy server`);
  } catch (error) {
    // Only the host: the topic in the path is the secret.
    console.error(`notify-ntfy: post to ${new URL(url).host} failed: ${reasonOf(error)}`);
  }
  return 1;
}

/** fetch says only "fetch failed"; the useful part (ECONNREFUSED, a timeout) is in its cause. */
function reasonOf(error: unknown): string {
  const { name, message, cause } = error as Error & { cause?: { code?: string; message?: string } };
  if (name === 'TimeoutError') return 'timed out';
  return cause?.code ?? cause?.message ?? message;
}

process.exitCode = await main();

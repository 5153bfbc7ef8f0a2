/** What a notification says: the JSON payload, the Slack/Discord message, the HMAC signature. */
import { createRequire } from 'node:module';
import { formatDuration } from '../config/duration.ts';
import type { EventRecord, WebhookConfig } from '../core/types.ts';

export const LOG_TAIL_LINES = 20;
/** Events whose payload carries the service's last output lines. */
export const LOG_TAIL_EVENTS: ReadonlySet<string> = new Set(['crashed', 'gave_up']);
export const SIGNATURE_HEADER = 'X-Restart-Control-Signature';

/** Slack advises ≤ 4,000 characters per message; Discord rejects more than 2,000. */
const MESSAGE_LIMITS = { slack: 4000, discord: 2000 } as const;

/** What json webhooks and the command sink receive: the event as recorded, plus `host` and, for crashes, `log_tail`. */
export interface NotifyPayload extends EventRecord {
  host: string;
  log_tail?: string[];
}

const PHRASES: Record<string, string> = {
  started: 'started',
  stopped: 'stopped',
  crashed: 'crashed',
  restarting: 'is restarting',
  gave_up: 'gave up restarting',
  scheduled_restart: 'scheduled restart',
  restart_completed: 'restart completed',
  gpu_cleanup: 'GPU cleanup',
  notify_failed: 'notification failed',
  config_reloaded: 'config reloaded',
  test: 'test notification',
};

/** [Slack shortcode, Unicode]: Discord does not expand shortcodes sent through a webhook. */
const ICONS: Record<string, readonly [string, string]> = {
  started: [':large_green_circle:', '🟢'],
  stopped: [':white_circle:', '⚪'],
  crashed: [':red_circle:', '🔴'],
  restarting: [':arrows_counterclockwise:', '🔄'],
  gave_up: [':no_entry:', '⛔'],
  scheduled_restart: [':alarm_clock:', '⏰'],
  restart_completed: [':white_check_mark:', '✅'],
  gpu_cleanup: [':broom:', '🧹'],
  notify_failed: [':warning:', '⚠️'],
};
const DEFAULT_ICON = [':information_source:', 'ℹ️'] as const;

export function buildPayload(event: EventRecord, host: string, logTail?: string[]): NotifyPayload {
  const payload: NotifyPayload = { ...event, host };
  if (logTail !== undefined) payload.log_tail = logTail.slice(-LOG_TAIL_LINES);
  return payload;
}

/** What `notify test` sends: a plausible event of `type`, marked `test: true`, with a sample log tail where one belongs. */
export function sampleTestPayload(type: string, host: string): NotifyPayload {
  const base: EventRecord = { time: new Date().toISOString(), event: type, service: 'example', test: true };
  const fields = type === 'crashed' ? { exit_code: 1, signal: null, will_restart: true, reason: 'exit code 1' } : type === 'gave_up' ? { reason: 'restart limit 5 in 60s reached', restarts: 5 } : { reason: 'test notification from restart-control' };
  const tail = LOG_TAIL_EVENTS.has(type) ? ['(test) the last output lines of the service appear here'] : undefined;
  return buildPayload({ ...base, ...fields }, host, tail);
}

/** One human sentence: "comfyui crashed on host gpu-box — exit code 1, restarting in 5s". `host` defaults to the event's. */
export function formatEventText(event: EventRecord, host: string | undefined = typeof event.host === 'string' ? event.host : undefined): string {
  const subject = event.service ?? 'restart-control';
  const phrase = PHRASES[event.event] ?? event.event.replaceAll('_', ' ');
  const where = host ? ` on host ${host}` : '';
  const details = describeDetails(event);
  return `${subject} ${phrase}${where}${details.length > 0 ? ` — ${details.join(', ')}` : ''}`;
}

/** The request body for one webhook format. */
export function buildBody(format: WebhookConfig['format'], payload: NotifyPayload): string {
  switch (format) {
    case 'json':
      return JSON.stringify(payload);
    case 'slack':
      return JSON.stringify({ text: formatChatMessage(payload, 'slack') });
    case 'discord':
      return JSON.stringify({ content: formatChatMessage(payload, 'discord') });
    default: {
      const exhaustive: never = format;
      throw new Error(`unknown webhook format ${String(exhaustive)}`);
    }
  }
}

/** Header value: `sha256=<hex HMAC-SHA256 of the exact body bytes>`. */
export function signBody(body: string, secret: string): string {
  // node:crypto loads only when a webhook has a secret: the long-lived supervisor stays smaller without it
  const { createHmac } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The sentence with an icon, plus the log tail in a code block, trimmed (oldest lines first) to the chat's limit. */
export function formatChatMessage(payload: NotifyPayload, chat: 'slack' | 'discord'): string {
  const [shortcode, unicode] = ICONS[payload.event] ?? DEFAULT_ICON;
  const limit = MESSAGE_LIMITS[chat];
  const headline = truncate(`${chat === 'slack' ? shortcode : unicode} ${formatEventText(payload, payload.host)}`, limit);
  const lines = (payload.log_tail ?? []).map(cleanLogLine);
  const fenceCost = headline.length + '\n```\n\n```'.length;
  let kept = 0;
  let size = fenceCost;
  while (kept < lines.length && size + lines[lines.length - 1 - kept]!.length + 1 <= limit) size += lines[lines.length - 1 - kept++]!.length + 1;
  if (kept === 0) return headline;
  return `${headline}\n\`\`\`\n${lines.slice(-kept).join('\n')}\n\`\`\``;
}

function describeDetails(event: EventRecord): string[] {
  const details: string[] = [];
  const code = event.code ?? event.exit_code;
  if (typeof code === 'number') details.push(`exit code ${code}`);
  if (typeof event.signal === 'string') details.push(`signal ${event.signal}`);
  const delayMs = event.delay_ms ?? event.restart_in_ms ?? (typeof event.delay_s === 'number' ? event.delay_s * 1000 : undefined);
  if (typeof delayMs === 'number') details.push(`restarting in ${formatDuration(delayMs)}`);
  if (event.event === 'gave_up' && typeof event.restarts === 'number') details.push(`after ${event.restarts} restarts`);
  if (event.event === 'notify_failed' && typeof event.failed_event === 'string') details.push(`${event.failed_event} not delivered to ${String(event.sink)}`);
  // The exit code already says why a crash happened; elsewhere the reason is the only explanation.
  if (typeof event.reason === 'string' && event.reason !== '' && details.length === 0) details.push(event.reason);
  if (typeof event.error === 'string' && event.error !== '') details.push(event.error);
  return details;
}

/** Colour codes are noise in chat; a ``` inside a line would close the code block. */
function cleanLogLine(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replaceAll('```', "'''");
}

function truncate(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

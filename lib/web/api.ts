/** The JSON API behind the page (scripts may use it too): what each endpoint answers, as status code and body. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { addScheduleStatus } from '../cli/status-extra.ts';
import { readStatus } from '../cli/status-report.ts';
import { parseDurationMs } from '../config/duration.ts';
import { statePaths } from '../config/paths.ts';
import type { ControlCommand, ControlRequest, ControlResponse } from '../control/protocol.ts';
import { ControlError, errorMessage } from '../core/errors.ts';
import type { Config, EventRecord } from '../core/types.ts';
import { readEvents, readLastLines } from '../logs/reader.ts';

/** What the web server needs of the supervisor (it passes itself), so lib/web never imports the supervisor. */
export interface WebHost {
  /** The current config (a reload replaces it). */
  readonly config: Config;
  handle(request: ControlRequest): Promise<ControlResponse>;
  record(event: Omit<EventRecord, 'time'>): void;
  /** The services the supervisor runs now. */
  serviceNames(): string[];
}

export interface Reply {
  status: number;
  body: unknown;
}

/** Actions on one service: `POST api/services/<name>/<action>`. */
export const SERVICE_ACTIONS = ['start', 'stop', 'restart', 'force-restart'] as const;
/** `POST api/schedule/<action>`. */
export const SCHEDULE_ACTIONS = ['enable', 'disable'] as const;
/** The restart log's name in `api/logs/<name>`: a dot is never part of a service name. */
export const RESTART_LOG_NAME = 'restart.log';

const DEFAULT_LOG_LINES = 200;
const MAX_LOG_LINES = 5000;
const DEFAULT_EVENTS = 1000;
const MAX_EVENTS = 10_000;

export function errorReply(status: number, code: string, message: string): Reply {
  return { status, body: { error: code, message } };
}

/** `api/status`: the document `status --json` prints, built by the same functions. */
export async function statusDocument(config: Config): Promise<unknown> {
  const report = readStatus(config.stateDir, []);
  await addScheduleStatus(report, { stateDir: config.stateDir, configFile: config.file, env: process.env, json: true });
  return report;
}

/** `since`: an ISO time, epoch milliseconds, or a duration back from now (`24h`). */
export function parseSince(value: string | null, nowMs: number): number | undefined | null {
  if (value === null || value === '') return undefined;
  if (/^\d{10,}$/.test(value)) return Number(value);
  const ms = parseDurationMs(value);
  if (ms !== undefined && !/^\d+$/.test(value)) return nowMs - ms;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : time;
}

export function parseCount(value: string | null, fallback: number, max: number): number | null {
  if (value === null || value === '') return fallback;
  const count = Number(value);
  return Number.isInteger(count) && count >= 0 ? Math.min(count, max) : null;
}

export async function eventsReply(config: Config, query: URLSearchParams, nowMs: number): Promise<Reply> {
  const sinceMs = parseSince(query.get('since'), nowMs);
  if (sinceMs === null) return errorReply(400, 'bad_request', `since: expected an ISO time, epoch ms or a duration such as 24h, got ${JSON.stringify(query.get('since'))}`);
  const n = parseCount(query.get('n'), DEFAULT_EVENTS, MAX_EVENTS);
  if (n === null) return errorReply(400, 'bad_request', `n: expected a whole number ≥ 0, got ${JSON.stringify(query.get('n'))}`);
  const events = await readEvents(statePaths(config.stateDir).events, { n, sinceMs, service: query.get('service') ?? undefined, type: query.get('type')?.split(',') });
  return { status: 200, body: { events } };
}

/** The file behind `api/logs/<name>`, or null for an unknown name. */
export function logFileOf(host: WebHost, name: string): string | null {
  if (name === RESTART_LOG_NAME) return host.config.logs.restartLog;
  const file = join(host.config.logs.dir, `${name}.log`);
  if (host.serviceNames().includes(name)) return file;
  return /^[a-z0-9][a-z0-9_-]*$/.test(name) && existsSync(file) ? file : null;
}

export async function logsReply(host: WebHost, name: string, query: URLSearchParams): Promise<Reply> {
  const file = logFileOf(host, name);
  if (!file) return unknownService(host, name);
  const n = parseCount(query.get('n'), DEFAULT_LOG_LINES, MAX_LOG_LINES);
  if (n === null) return errorReply(400, 'bad_request', `n: expected a whole number ≥ 0, got ${JSON.stringify(query.get('n'))}`);
  return { status: 200, body: { name, lines: await readLastLines(file, n) } };
}

export function logLinesWanted(query: URLSearchParams): number {
  return parseCount(query.get('n'), DEFAULT_LOG_LINES, MAX_LOG_LINES) ?? DEFAULT_LOG_LINES;
}

export function unknownService(host: WebHost, name: string): Reply {
  return errorReply(404, 'unknown_service', `unknown service ${JSON.stringify(name)} (known: ${host.serviceNames().join(', ') || 'none'})`);
}

/** `POST api/services/<name>/<action>`, through the same handlers as the control socket. */
export async function serviceActionReply(host: WebHost, name: string, action: string): Promise<Reply> {
  if (!host.serviceNames().includes(name)) return unknownService(host, name);
  if (!(SERVICE_ACTIONS as readonly string[]).includes(action)) {
    return errorReply(400, 'bad_action', `unknown action ${JSON.stringify(action)} (expected one of ${SERVICE_ACTIONS.join(', ')})`);
  }
  // The page follows readiness over SSE: an action answers once spawned, not minutes later (issue 11)
  return control(host, { command: action as ControlCommand, services: [name], options: { noWait: true } });
}

export async function scheduleActionReply(host: WebHost, action: string): Promise<Reply> {
  if (!(SCHEDULE_ACTIONS as readonly string[]).includes(action)) {
    return errorReply(400, 'bad_action', `unknown action ${JSON.stringify(action)} (expected one of ${SCHEDULE_ACTIONS.join(', ')})`);
  }
  return control(host, { command: action as ControlCommand });
}

async function control(host: WebHost, request: ControlRequest): Promise<Reply> {
  try {
    const response = await host.handle(request);
    if (response.ok) return { status: 200, body: { ok: true, messages: response.messages ?? [] } };
    return { status: response.exitCode === 2 ? 400 : 500, body: { error: 'action_failed', message: response.error ?? 'request failed', messages: response.messages ?? [] } };
  } catch (error) {
    if (error instanceof ControlError && error.code === 'control.unknown-service') return errorReply(404, 'unknown_service', error.message);
    return errorReply(500, 'action_failed', errorMessage(error));
  }
}

/** Events → the human-readable lines of restart.log (and of `events` without --json). */
import { formatBytes } from '../config/duration.ts';
import { diskUsedPercent } from '../process/system.ts';
import type { RotatingLog } from './rotating-log.ts';
import type { EventRecord } from '../core/types.ts';

type Formatter = (event: EventRecord) => string[];

/**
 * Units: every memory and disk figure is in bytes (`system` of scheduled_restart/force_restart, and the GpuInfo
 * lists `before`/`after` of gpu_cleanup).
 */
const FORMATTERS: Record<string, Formatter> = {
  supervisor_started: (e) => [`Supervisor started (pid ${text(e.pid)}${e.config ? `, config ${text(e.config)}` : ''})`],
  supervisor_stopped: (e) => [`Supervisor stopped${reasonSuffix(e)}`],
  started: (e) => [`${who(e)}started (pid ${text(e.pid)})`],
  exited: (e) => [`${who(e)}exited (exit code ${text(e.exit_code)})${reasonSuffix(e)}`],
  crashed: (e) => [`${who(e)}exited unexpectedly (${exitStatus(e)})${crashOutcome(e)}${lastStderr(e)}`],
  restarting: (e) => [`${who(e)}restarting in ${seconds(e.delay_s)}${attempt(e)}${e.reason ? ` - ${e.reason}` : ''}`],
  stopped: (e) => [`${who(e)}stopped${reasonSuffix(e)}`],
  gave_up: (e) => [`${who(e)}${e.reason ?? 'failed too often'} - giving up${e.retry_at ? ` until ${formatLocalTime(text(e.retry_at))} (restart_cooldown)` : ''}${lastStderr(e)}`],
  cooldown_retry: (e) => [`${who(e)}cooldown over - trying again${reasonSuffix(e)}`],
  scheduled_restart: (e) => [`Scheduled restart initiated${servicesSuffix(e)}${nextRestart(e)}`, ...systemLines(e.system)],
  force_restart: (e) => [`Forced restart initiated${servicesSuffix(e)}${reasonSuffix(e)}${nextRestart(e)}`, ...systemLines(e.system)],
  restart_completed: (e) => [`${who(e)}restart completed${durations(e.durations)}${nextRestart(e)}`],
  gpu_cleanup: (e) => gpuCleanup(e),
  hook_failed: (e) => {
    const code = e.code === undefined || e.code === null ? '' : ` (exit code ${text(e.code)})`;
    const reason = e.reason && e.reason !== `exit code ${text(e.code)}` ? ` - ${e.reason}` : '';
    return [`${who(e)}hook ${text(e.hook)} failed${code}${reason}`];
  },
  idle_wait: (e) => [e.idle
    ? `${who(e)}idle after ${seconds(e.waited_s)} - proceeding`
    : `${who(e)}still busy after ${seconds(e.waited_s)} - proceeding anyway`],
  config_reloaded: (e) => [`Config reloaded - ${(['added', 'removed', 'changed', 'unchanged'] as const).map((key) => `${key}: ${list(e[key])}`).join(', ')}`],
  config_error: (e) => {
    const [first = '', ...rest] = text(e.message).split('\n');
    return [`Config error - ${first}`, ...rest.map((line) => `  ${line}`)];
  },
  watch_restart: (e) => [`${who(e)}files changed (${list(e.paths, 5)}) - restarting`],
  log_error: (e) => [`${who(e)}log writing failed - ${text(e.message)} (output is buffered, then dropped and counted, until writing works again)`],
  log_recovered: (e) => [`${who(e)}log writing resumed${Number(e.dropped_lines) > 0 ? ` - ${text(e.dropped_lines)} lines were dropped` : ''}`],
  notify_failed: (e) => [`Notification to ${text(e.sink)} failed - ${text(e.error)}`],
  schedule_enabled: (e) => [`Scheduled restarts enabled${nextRestart(e)}`],
  schedule_disabled: () => ['Scheduled restarts disabled'],
  web_started: (e) => [`Web page served - ${text(e.reason)}`],
  web_error: (e) => [`Web page not served - ${text(e.reason)}`],
  web_auth_failed: (e) => [`Web page: ${text(e.reason)} from ${text(e.remote)}${Number(e.count) > 1 ? ` (${text(e.count)} attempts since the last report)` : ''}`],
  unhealthy: (e) => [`${who(e)}unhealthy after ${text(e.failures)} failed checks - ${text(e.error)}${e.will_restart ? ' - restarting' : ''}`],
  healthy: (e) => [`${who(e)}healthy again${reasonSuffix(e)}`],
  memory_limit: (e) => [`${who(e)}memory ${formatBytes(Number(e.rss_bytes))} over max_memory ${formatBytes(Number(e.limit_bytes))} - restarting${topProcesses(e.processes, 'rss_bytes')}`],
  gpu_memory_limit: (e) => [`${who(e)}GPU memory ${formatBytes(Number(e.gpu_memory_bytes))} over max_gpu_memory ${formatBytes(Number(e.limit_bytes))} - restarting${topProcesses(e.processes, 'gpu_memory_bytes')}`],
  state_write_failed: (e) => [`Cannot write ${text(e.file)} - ${text(e.message)} (supervision goes on; retried at every change)`],
  state_write_recovered: (e) => [`Writing ${text(e.file)} again (${text(e.failed_writes)} writes failed over ${text(e.failing_s)}s)`],
  supervisor_error: (e) => [`Supervisor error (${text(e.where)}) - ${text(e.message)}; still running`],
  watch_error: (e) => [`${who(e)}watching ${text(e.paths)} failed - ${text(e.message)}; changes there may go unnoticed`],
};

/** ` (biggest: 123 python main.py 20GB, ...)` for limit events. */
function topProcesses(processes: unknown, field: string): string {
  if (!Array.isArray(processes) || processes.length === 0) return '';
  const items = (processes as Array<Record<string, unknown>>).map((item) => `${text(item.pid)} ${text(item.command).slice(0, 60)} ${formatBytes(Number(item[field]))}`);
  return ` (biggest: ${items.join('; ')})`;
}

/** The lines of one event, without the time prefix. Unknown events get a generic line with their fields. */
export function formatEventLines(event: EventRecord): string[] {
  const formatter = FORMATTERS[event.event];
  const lines = formatter ? formatter(event) : genericLines(event);
  // A field holding a newline must not produce a line without the time prefix.
  return lines.flatMap((line) => line.split('\n'));
}

/** Every line of the event with `[YYYY-MM-DD HH:MM:SS] ` (local time), joined, ending in a newline. */
export function formatRestartLogEntry(event: EventRecord): string {
  const stamp = `[${formatLocalTime(event.time)}] `;
  return formatEventLines(event).map((line) => `${stamp}${line}\n`).join('');
}

/** Appends one event to events.jsonl (one JSON line) and to restart.log (its human lines); either sink may be absent. */
export function recordEvent(event: EventRecord, sinks: { events?: RotatingLog | null; restartLog?: RotatingLog | null }): void {
  sinks.events?.writeLine(JSON.stringify(event));
  sinks.restartLog?.write(formatRestartLogEntry(event));
}

/** `YYYY-MM-DD HH:MM:SS` in local time; an unparseable input is returned as it is. */
export function formatLocalTime(time: string | number | Date): string {
  const date = time instanceof Date ? time : new Date(time);
  if (Number.isNaN(date.getTime())) return String(time);
  const two = (value: number): string => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

function genericLines(event: EventRecord): string[] {
  const { time: _time, event: name, service, ...fields } = event;
  const details = Object.entries(fields).map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return [`${service ? `${service} ` : ''}${name}${details.length > 0 ? ` (${details.join(', ')})` : ''}`];
}

function who(event: EventRecord): string {
  return event.service ? `${event.service} ` : '';
}

function text(value: unknown): string {
  if (value === undefined || value === null) return '?';
  return typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function reasonSuffix(event: EventRecord): string {
  return event.reason ? ` (${event.reason})` : '';
}

function seconds(value: unknown): string {
  const number = Number(value);
  return Number.isFinite(number) ? `${Math.round(number * 10) / 10}s` : '?s';
}

function list(value: unknown, limit = Infinity): string {
  if (typeof value === 'number') return String(value);
  if (!Array.isArray(value)) return value === undefined || value === null ? 'none' : text(value);
  if (value.length === 0) return 'none';
  const shown = value.slice(0, limit).map(text).join(', ');
  return value.length > limit ? `${shown} +${value.length - limit} more` : shown;
}

function exitStatus(event: EventRecord): string {
  if (event.signal) return `killed by ${text(event.signal)}`;
  if (event.exit_code !== undefined && event.exit_code !== null) return `exit code ${text(event.exit_code)}`;
  return 'unknown exit status';
}

function attempt(event: EventRecord): string {
  if (event.restart_attempt === undefined) return '';
  const max = Number(event.max_restarts);
  return ` (attempt ${text(event.restart_attempt)}${max > 0 ? `/${max}` : ''})`;
}

function crashOutcome(event: EventRecord): string {
  if (event.delay_s !== undefined) return ` - restarting in ${seconds(event.delay_s)}${attempt(event)}`;
  // The reason of a crash is usually its exit status, already on the line
  const why = event.reason === exitStatus(event) ? '' : reasonSuffix(event);
  if (event.will_restart === true) return ` - will restart${why}`;
  if (event.will_restart === false) return ` - not restarting${why}`;
  return why;
}

/** Why it crashed, on the same line: the service's last stderr line. */
function lastStderr(event: EventRecord): string {
  return typeof event.last_stderr === 'string' && event.last_stderr !== '' ? ` - stderr: ${event.last_stderr}` : '';
}

function nextRestart(event: EventRecord): string {
  return event.next_restart ? ` - next restart at ${formatLocalTime(text(event.next_restart))}` : '';
}

function servicesSuffix(event: EventRecord): string {
  if (event.service) return ` for ${event.service}`;
  return Array.isArray(event.services) && event.services.length > 0 ? ` for ${list(event.services)}` : '';
}

function durations(value: unknown): string {
  if (!value || typeof value !== 'object') return '';
  const steps = Object.entries(value as Record<string, unknown>).filter(([, ms]) => typeof ms === 'number') as Array<[string, number]>;
  if (steps.length === 0) return '';
  const total = steps.find(([step]) => step === 'total')?.[1] ?? steps.reduce((sum, [, ms]) => sum + ms, 0);
  const parts = steps.filter(([step]) => step !== 'total').map(([step, ms]) => `${step} ${seconds(ms / 1000)}`);
  return ` in ${seconds(total / 1000)}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

interface SystemStatus {
  memory?: { used?: number; total?: number };
  disk?: { path?: string; used?: number; total?: number; available?: number };
  gpus?: Array<{ name?: string; memory_used?: number; memory_total?: number }>;
}

function systemLines(value: unknown): string[] {
  if (!value || typeof value !== 'object') return [];
  const system = value as SystemStatus;
  const parts: string[] = [];
  if (system.memory?.total) parts.push(`memory ${formatBytes(system.memory.used ?? 0)}/${formatBytes(system.memory.total)}`);
  if (system.disk?.total) {
    const percent = diskUsedPercent(system.disk);
    parts.push(`storage ${formatBytes(system.disk.used ?? 0)}/${formatBytes(system.disk.total)} (${percent}% used)`);
  }
  const lines = parts.length > 0 ? [`System status - ${parts.join(', ')}`] : [];
  for (const [index, gpu] of (system.gpus ?? []).entries()) {
    lines.push(`GPU ${index}${gpu.name ? ` ${gpu.name}` : ''} - memory ${bytes(gpu.memory_used)}/${bytes(gpu.memory_total)}`);
  }
  return lines;
}

function bytes(value: unknown): string {
  const number = Number(value);
  return Number.isFinite(number) ? formatBytes(number) : '?';
}

function gpuCleanup(event: EventRecord): string[] {
  const memory = event.before !== undefined || event.after !== undefined ? ` - GPU memory ${gpuMemory(event.before)} -> ${gpuMemory(event.after)}` : '';
  const lines = [`${who(event)}GPU cleanup${memory}${killedSuffix(event.killed)}`];
  if (event.leak) lines.push(`${who(event)}GPU memory still in use after cleanup${event.leak === true ? '' : ` (${text(event.leak)})`}`);
  return lines;
}

/** `killed` is a list of pids or a count. */
function killedSuffix(killed: unknown): string {
  if (Array.isArray(killed)) return killed.length > 0 ? `, killed ${killed.length} leftover process(es) (${list(killed, 10)})` : '';
  return Number(killed) > 0 ? `, killed ${Number(killed)} leftover process(es)` : '';
}

/** Bytes, or a per-GPU list of GpuInfo (`memory_used`, bytes) or numbers. */
function gpuMemory(value: unknown): string {
  if (Array.isArray(value)) {
    return value.map((gpu) => bytes(gpu !== null && typeof gpu === 'object' ? (gpu as { memory_used?: number }).memory_used : gpu)).join('+') || 'none';
  }
  return value === undefined || value === null ? '?' : bytes(value);
}

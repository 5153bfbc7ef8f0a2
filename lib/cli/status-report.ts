/** `status`: answered from state files and /proc, never through the supervisor, so it cannot hang behind a busy one. */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { formatDuration } from '../config/duration.ts';
import { runningSupervisorPid } from '../process/pid-file.ts';
import { statePaths } from '../config/paths.ts';
import { isAlive } from '../process/proc.ts';
import type { AfterEntry, EventRecord, HealthStatus, LastExit, ResourceSample, ServiceSnapshot, StateFile } from '../core/types.ts';
import { healthCells, resourceCells } from './status-health.ts';
import { formatCrashCauses, formatRetry } from './status-causes.ts';

export interface ServiceStatus {
  name: string;
  state: string;
  pid: number | null;
  restarts: number;
  uptime_s: number | null;
  last_exit: LastExit | null;
  reason?: string | null;
  pending_restart?: string | null;
  /** null = no health check configured. */
  health?: HealthStatus | null;
  /** null = not running, or not sampled yet. */
  resources?: ResourceSample | null;
  /** Its last stderr line before its last crash or give-up. */
  last_stderr?: string | null;
  /** When a service that gave up is tried again (restart_cooldown). */
  retry_at?: string | null;
  /** Issue 11. */
  ready?: { since: string | null; condition: string } | null;
  after?: AfterEntry[];
}

export interface StatusReport {
  supervisor: { running: boolean; pid: number | null };
  services: ServiceStatus[];
  events: EventRecord[];
  [section: string]: unknown;
}

/** Bytes read from the end of events.jsonl to find the last events. */
const EVENTS_TAIL_BYTES = 64 * 1024;

export function readStateFile(file: string): StateFile | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StateFile;
  } catch {
    return null;
  }
}

export function readStatus(stateDir: string, names: string[], now = Date.now()): StatusReport {
  const paths = statePaths(stateDir);
  const supervisorPid = runningSupervisorPid(paths.supervisorPid);
  const state = readStateFile(paths.state);
  const services = (state?.services ?? [])
    .filter((service) => names.length === 0 || names.includes(service.name))
    .map((service) => serviceStatus(service, now));
  return {
    supervisor: { running: supervisorPid !== null, pid: supervisorPid },
    services,
    events: lastEvents(paths.events, 10, names),
  };
}

function serviceStatus(service: ServiceSnapshot, now: number): ServiceStatus {
  const alive = service.pid !== null && isAlive(service.pid, service.pid_start);
  const startedAt = service.started_at ? Date.parse(service.started_at) : NaN;
  return {
    name: service.name,
    state: service.state,
    pid: alive ? service.pid : null,
    restarts: service.restarts,
    uptime_s: alive && Number.isFinite(startedAt) ? Math.max(0, Math.round((now - startedAt) / 1000)) : null,
    last_exit: service.last_exit,
    reason: service.reason,
    pending_restart: service.pending_restart ?? null,
    health: service.health ?? null,
    resources: alive ? service.resources ?? null : null,
    last_stderr: service.last_stderr ?? null,
    retry_at: service.retry_at ?? null,
    ready: service.ready ?? null,
    after: service.after ?? [],
  };
}

export function lastEvents(file: string, count: number, services: string[] = []): EventRecord[] {
  let text = '';
  try {
    const size = statSync(file).size;
    const length = Math.min(size, EVENTS_TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buffer, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    text = buffer.toString('utf8');
  } catch {
    return [];
  }
  const events: EventRecord[] = [];
  for (const line of text.split('\n').reverse()) {
    if (events.length >= count) break;
    try {
      const event = JSON.parse(line) as EventRecord;
      if (services.length === 0 || (event.service && services.includes(event.service))) events.push(event);
    } catch {
      // the first line of the tail is usually cut in half
    }
  }
  return events.reverse();
}

export function formatStatusTable(report: StatusReport): string {
  const gpu = report.services.some((service) => typeof service.resources?.gpu_memory_bytes === 'number');
  const rows = [['SERVICE', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'LAST EXIT', ...healthCells(null), ...resourceCells(null, gpu)]];
  for (const service of report.services) {
    rows.push([
      service.name,
      service.pending_restart ? `${service.state} (restart pending: ${service.pending_restart})` : notReadyState(service) ?? (service.retry_at ? `${service.state} ${formatRetry(service.retry_at)}` : service.state),
      service.pid === null ? '-' : String(service.pid),
      service.uptime_s === null ? '-' : formatDuration(service.uptime_s * 1000),
      String(service.restarts),
      formatLastExit(service.last_exit),
      ...healthCells(service),
      ...resourceCells(service, gpu),
    ]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const table = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
  const supervisor = report.supervisor.running
    ? `supervisor: running (pid ${report.supervisor.pid})`
    : 'supervisor: not running (last known state shown)';
  return `${supervisor}\n${report.services.length > 0 ? table : '(no services recorded yet)'}\n${formatCrashCauses(report.services)}`;
}

/** Issue 11: `starting (not ready: 41s)` while a started service waits for its ready condition. */
function notReadyState(service: ServiceStatus): string | null {
  if (service.state !== 'starting' || !service.ready || service.ready.since !== null || service.uptime_s === null) return null;
  return `starting (not ready: ${service.uptime_s}s)`;
}

function formatLastExit(exit: LastExit | null): string {
  if (!exit) return '-';
  const what = exit.signal ? exit.signal : exit.code === null ? 'spawn error' : `code ${exit.code}`;
  return `${what} at ${exit.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}`;
}

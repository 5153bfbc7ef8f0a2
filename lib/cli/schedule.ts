/** `enable`, `disable`, `next`: scheduled restarts from the CLI, with or without a running supervisor. */
import { sendControlRequest } from '../control/client.ts';
import { ConfigError, SupervisorError } from '../core/errors.ts';
import { loadConfig } from '../config/load.ts';
import { runningSupervisorPid } from '../process/pid-file.ts';
import { readStateDirLenient, socketPath, statePaths } from '../config/paths.ts';
import { readScheduleState, writeScheduleState } from '../schedule/state.ts';
import { nextRestartTimes, validateCronExpression, validateTimezone } from '../schedule/timing.ts';
import { readStateFile } from './status-report.ts';
import { isoInZone } from '../core/time-format.ts';
import { parseDurationMs, DURATION_EXPECTATION } from '../config/duration.ts';
import type { CliIo } from './context.ts';
import type { ScheduleConfig } from '../core/types.ts';

export async function setScheduleEnabled(io: CliIo, stateDir: string, enabled: boolean): Promise<number> {
  const command = enabled ? 'enable' : 'disable';
  if (runningSupervisorPid(statePaths(stateDir).supervisorPid) !== null) {
    const response = await sendControlRequest(socketPath(stateDir), { command });
    for (const message of response.messages ?? []) io.stdout(`${message}\n`);
    if (!response.ok) io.stderr(`error: ${response.error}\n`);
    return response.ok ? 0 : response.exitCode ?? 1;
  }
  writeScheduleState(stateDir, { enabled });
  io.stdout(`scheduled restarts ${enabled ? 'enabled' : 'disabled'} (no supervisor running: takes effect at its next start)\n`);
  return 0;
}

export interface NextOptions {
  count?: string;
  cron?: string;
  interval?: string;
  timezone?: string;
}

export function nextCommand(io: CliIo, configFile: string, options: NextOptions): number {
  const count = Number(options.count ?? 5);
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new SupervisorError('cli.bad-count', `--count: expected a whole number from 1 to 1000, got ${JSON.stringify(options.count)}`, 2);
  const schedule = scheduleFromFlags(options) ?? runningSchedule(configFile, io.env) ?? loadSchedule(io, configFile, options.timezone);
  if (!schedule) throw new SupervisorError('schedule.none', 'scheduled restarts are not configured: add a schedule: section, set RESTART_CONTROL_INTERVAL or RESTART_CONTROL_CRON, or pass --cron/--interval', 2);
  const now = new Date();
  let lastRestart = schedule.mode === 'interval' ? intervalBase(configFile, io.env) : null;
  const upcoming = schedule.mode === 'interval' && !scheduleFromFlags(options) ? runningNext(configFile, io.env) : null;
  if (upcoming) lastRestart = new Date(upcoming.getTime() - schedule.intervalMs);
  // Never print a time already past: an overdue restart happens now, and the countdown goes on from there
  if (lastRestart && lastRestart.getTime() + schedule.intervalMs <= now.getTime()) lastRestart = now;
  for (const time of nextRestartTimes(schedule, { now, lastRestart, count })) io.stdout(`${isoInZone(time, schedule.timezone)}\n`);
  return 0;
}

function scheduleFromFlags(options: NextOptions): ScheduleConfig | null {
  if (options.cron === undefined && options.interval === undefined) return null;
  const base = { enabled: true, timezone: options.timezone ?? null, services: [], waitIdle: null };
  if (options.timezone !== undefined) {
    const problem = validateTimezone(options.timezone);
    if (problem) throw new ConfigError([`--timezone: ${problem}`]);
  }
  if (options.cron !== undefined) {
    const problem = validateCronExpression(options.cron);
    if (problem) throw new ConfigError([`--cron: ${problem}`]);
    return { ...base, mode: 'cron', cron: options.cron, intervalMs: 0 };
  }
  const intervalMs = parseDurationMs(options.interval);
  if (intervalMs === undefined || intervalMs < 1000) throw new ConfigError([`--interval: ${DURATION_EXPECTATION} (at least 1s), got ${JSON.stringify(options.interval)}`]);
  return { ...base, mode: 'interval', cron: null, intervalMs };
}

/** What the running supervisor uses (its environment's overrides included), when one runs. */
function runningSchedule(configFile: string, env: NodeJS.ProcessEnv): ScheduleConfig | null {
  const stateDir = readStateDirLenient(configFile, env);
  const paths = statePaths(stateDir);
  if (runningSupervisorPid(paths.supervisorPid) === null) return null;
  const recorded = readStateFile(paths.state)?.schedule;
  if (!recorded || recorded.interval_ms === undefined) return null;
  return {
    enabled: recorded.enabled, mode: recorded.mode, intervalMs: recorded.interval_ms, cron: recorded.cron,
    timezone: recorded.timezone, services: [], waitIdle: null,
  };
}

function loadSchedule(io: CliIo, configFile: string, timezone: string | undefined): ScheduleConfig | null {
  const env = timezone !== undefined ? { ...io.env, RESTART_CONTROL_TIMEZONE: timezone } : io.env;
  return loadConfig({ flag: configFile, env, cwd: io.cwd }).config.schedule;
}

/** Interval mode counts from the last restart or the supervisor's start; from now when no supervisor runs. */
function intervalBase(configFile: string, env: NodeJS.ProcessEnv): Date | null {
  const { config } = loadConfig({ flag: configFile, env });
  const paths = statePaths(config.stateDir);
  if (runningSupervisorPid(paths.supervisorPid) === null) return null;
  const lastRestart = readScheduleState(config.stateDir).last_restart;
  const started = readStateFile(paths.state)?.supervisor.started_at ?? null;
  const candidates = [lastRestart, started].filter((value): value is string => Boolean(value)).map((value) => Date.parse(value));
  return candidates.length > 0 ? new Date(Math.max(...candidates)) : null;
}

/** The supervisor's own next restart is the truth for the first time (a disabled spell moves it); the rest follow. */
function runningNext(configFile: string, env: NodeJS.ProcessEnv): Date | null {
  const recorded = readStateFile(statePaths(readStateDirLenient(configFile, env)).state)?.schedule;
  return recorded?.next_restart ? new Date(recorded.next_restart) : null;
}

/** Environment overrides: flag > environment > config file > default. Each override records its origin. */
import { DURATION_EXPECTATION, MAX_DURATION_MS, MAX_TIMER_DURATION_MS, durationMaximumProblem, parseDurationMs } from './duration.ts';
import { ConfigError } from '../core/errors.ts';
import type { RawConfig } from './schema.ts';
import { validateCronExpression, validateTimezone } from '../schedule/timing.ts';

/** Shorter scheduled intervals are a restart loop, not a schedule. */
export const MIN_SCHEDULE_INTERVAL_MS = 1000;

/** Effective key (e.g. `schedule.interval`, `services[0].stop_timeout`) → where its value came from, when not the file or the default. */
export type Origins = Map<string, string>;

/** Every variable we read, for the README table and `config --show-origin`. */
export const ENV_VARIABLES = {
  RESTART_CONTROL_CONFIG: 'config file path',
  RESTART_CONTROL_STATE_DIR: 'state_dir',
  RESTART_CONTROL_INTERVAL: 'schedule.interval (and turns scheduled restarts on)',
  RESTART_CONTROL_CRON: 'schedule.cron (and turns scheduled restarts on)',
  RESTART_CONTROL_TIMEZONE: 'schedule.timezone',
  RESTART_CONTROL_DISABLED: 'schedule.enabled = false when true',
  RESTART_CONTROL_GRACE: 'stop_timeout of every service',
  RESTART_CONTROL_LOG_DIR: 'logs.dir',
  RESTART_CONTROL_LOG: 'path of the restart log',
  RESTART_CONTROL_WEBHOOK_URL: 'adds one JSON webhook',
} as const;

export function applyEnvOverrides(raw: RawConfig, env: NodeJS.ProcessEnv, origins: Origins, fileName: string): RawConfig {
  const problems: string[] = [];
  const out: RawConfig = structuredClone(raw);
  const set = (key: string, variable: string) => origins.set(key, `env ${variable}`);

  if (env.RESTART_CONTROL_STATE_DIR) {
    out.state_dir = env.RESTART_CONTROL_STATE_DIR;
    set('state_dir', 'RESTART_CONTROL_STATE_DIR');
  }
  const interval = readDuration(env, 'RESTART_CONTROL_INTERVAL', problems);
  const cron = env.RESTART_CONTROL_CRON?.trim() || undefined;
  if (interval !== undefined && interval < MIN_SCHEDULE_INTERVAL_MS) problems.push(`RESTART_CONTROL_INTERVAL: expected at least 1s, got ${JSON.stringify(env.RESTART_CONTROL_INTERVAL)}`);
  const cronProblem = cron === undefined ? null : validateCronExpression(cron);
  if (cronProblem) problems.push(`RESTART_CONTROL_CRON: ${cronProblem}`);
  const zoneProblem = env.RESTART_CONTROL_TIMEZONE ? validateTimezone(env.RESTART_CONTROL_TIMEZONE) : null;
  if (zoneProblem) problems.push(`RESTART_CONTROL_TIMEZONE: ${zoneProblem}`);
  if (interval !== undefined && cron !== undefined) {
    problems.push('RESTART_CONTROL_INTERVAL and RESTART_CONTROL_CRON: expected at most one of them, got both');
  } else if (interval !== undefined) {
    out.schedule = { ...(out.schedule ?? {}), interval, cron: undefined };
    set('schedule.interval', 'RESTART_CONTROL_INTERVAL');
  } else if (cron !== undefined) {
    out.schedule = { ...(out.schedule ?? {}), cron, interval: undefined };
    set('schedule.cron', 'RESTART_CONTROL_CRON');
  }
  if (env.RESTART_CONTROL_TIMEZONE) {
    out.schedule = { ...(out.schedule ?? {}), timezone: env.RESTART_CONTROL_TIMEZONE };
    set('schedule.timezone', 'RESTART_CONTROL_TIMEZONE');
  }
  const disabled = readBoolean(env, 'RESTART_CONTROL_DISABLED', problems);
  if (disabled !== undefined && out.schedule !== undefined && out.schedule !== null) {
    out.schedule = { ...out.schedule, enabled: !disabled };
    set('schedule.enabled', 'RESTART_CONTROL_DISABLED');
  }
  const grace = readDuration(env, 'RESTART_CONTROL_GRACE', problems, MAX_TIMER_DURATION_MS);
  if (grace !== undefined) {
    out.services = out.services.map((service, index) => {
      set(`services[${index}].stop_timeout`, 'RESTART_CONTROL_GRACE');
      return { ...service, stop_timeout: grace };
    });
  }
  if (env.RESTART_CONTROL_LOG_DIR) {
    out.logs = { ...(out.logs ?? {}), dir: env.RESTART_CONTROL_LOG_DIR };
    set('logs.dir', 'RESTART_CONTROL_LOG_DIR');
  }
  if (env.RESTART_CONTROL_LOG) set('logs.restart_log', 'RESTART_CONTROL_LOG');
  if (env.RESTART_CONTROL_WEBHOOK_URL) {
    const url = env.RESTART_CONTROL_WEBHOOK_URL;
    if (!/^https?:\/\//.test(url)) problems.push('RESTART_CONTROL_WEBHOOK_URL: expected an http:// or https:// URL');
    const webhooks = [...(out.notify?.webhooks ?? []), { url }];
    out.notify = { ...(out.notify ?? {}), webhooks };
    set(`notify.webhooks[${webhooks.length - 1}]`, 'RESTART_CONTROL_WEBHOOK_URL');
  }
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => `${fileName}: environment: ${problem}`));
  return out;
}

function readDuration(env: NodeJS.ProcessEnv, name: string, problems: string[], maxMs = MAX_DURATION_MS): number | undefined {
  const value = env[name];
  if (value === undefined || value.trim() === '') return undefined;
  const ms = parseDurationMs(value);
  const problem = ms === undefined ? DURATION_EXPECTATION : durationMaximumProblem(ms, maxMs);
  if (problem) problems.push(`${name}: ${problem}, got ${JSON.stringify(value)}`);
  return problem ? undefined : ms;
}

function readBoolean(env: NodeJS.ProcessEnv, name: string, problems: string[]): boolean | undefined {
  const value = env[name]?.trim().toLowerCase();
  if (value === undefined || value === '') return undefined;
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  problems.push(`${name}: expected true or false, got ${JSON.stringify(env[name])}`);
  return undefined;
}

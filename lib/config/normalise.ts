/** Raw (validated) config → the resolved Config: defaults, absolute paths, cross-field checks. */
import { statSync } from 'node:fs';
import { findExecutable } from '../process/executable.ts';
import { basename, delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import type { RawConfig, RawService, RawWaitIdle } from './schema.ts';
import { MIN_SCHEDULE_INTERVAL_MS, type Origins } from './env.ts';
import { ConfigError } from '../core/errors.ts';
import { DEFAULT_STATE_DIR } from './paths.ts';
import { expandShellCommand } from './expand-shell.ts';
import { checkDependencies, normaliseReadiness } from './readiness.ts';
import { MASK } from '../notify/redact.ts';
import { validateCronExpression, validateTimezone } from '../schedule/timing.ts';
import { normaliseMetrics, normaliseNats, type IntegrationContext } from './integrations.ts';
import { HEALTH_DEFAULTS, MIN_HEALTH_INTERVAL_MS, normaliseHealth } from '../health/config.ts';
import type { Config, ScheduleConfig, ServiceConfig, WaitIdleConfig, WebConfig, WebhookConfig } from '../core/types.ts';
import { isLoopback, normaliseBasePath, parseListen } from '../web/address.ts';

/** Every default in one place. Durations in ms, sizes in bytes. */
export const DEFAULTS = {
  stateDir: DEFAULT_STATE_DIR,
  restart: 'no',
  restartSecMs: 5_000,
  restartMax: 0,
  restartWindowMs: 60_000,
  restartSecMaxMs: 300_000,
  minUptimeMs: 10_000,
  stopSignal: 'SIGTERM',
  stopTimeoutMs: 10_000,
  watchDebounceMs: 1_000,
  scheduleIntervalMs: 6 * 3_600_000,
  waitIdlePollMs: 10_000,
  waitIdleMaxWaitMs: 30 * 60_000,
  hookTimeoutMs: 60_000,
  gpuMaxUsedMb: 500,
  logsDir: 'logs',
  logMaxSizeBytes: 10 * 1024 * 1024,
  logKeep: 5,
  webhookTimeoutMs: 5_000,
  webhookRetries: 3,
  reloadDebounceMs: 500,
  webhookEvents: null,
} as const;

export interface NormaliseContext {
  file: string;
  env: NodeJS.ProcessEnv;
  origins: Origins;
  lineOf: (path: (string | number)[]) => number;
}

export function normaliseConfig(raw: RawConfig, context: NormaliseContext): Config {
  const problems: string[] = [];
  const name = basename(context.file);
  const at = (path: (string | number)[], key: string, message: string) =>
    problems.push(`${name}:${context.lineOf(path)}: ${key}: ${message}`);
  const folder = dirname(context.file);
  const stateDir = resolve(folder, raw.state_dir ?? DEFAULTS.stateDir);

  const seen = new Set<string>();
  const services = raw.services.map((service, index) => {
    if (seen.has(service.name)) at(['services', index, 'name'], `services[${index}].name`, `duplicate service name "${service.name}"`);
    seen.add(service.name);
    return normaliseService(service, index, folder, context.env, at, raw.hooks?.timeout ?? DEFAULTS.hookTimeoutMs);
  });
  checkDependencies(services, at);

  const schedule = normaliseSchedule(raw, folder, seen, at);
  const logsDir = resolve(stateDir, raw.logs?.dir ?? DEFAULTS.logsDir);
  const notify = normaliseNotify(raw, context.env, at);
  const web = normaliseWeb(raw, context.env, at);
  const integrations: IntegrationContext = {
    folder, env: context.env, at,
    expand: (value, path, key) => expandVariables(value, context.env, (variable) => at(path, key, `environment variable ${variable} is not set`)),
  };
  const nats = normaliseNats(raw, integrations);
  if (nats) notify.nats = nats;
  const metrics = normaliseMetrics(raw, integrations);
  const resourcesInterval = raw.resources?.interval ?? HEALTH_DEFAULTS.resourcesIntervalMs;
  if (resourcesInterval < MIN_HEALTH_INTERVAL_MS) at(['resources', 'interval'], 'resources.interval', `expected at least ${MIN_HEALTH_INTERVAL_MS}ms`);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    file: context.file,
    stateDir,
    services,
    schedule,
    hooks: {
      preRestart: raw.hooks?.pre_restart ?? [],
      postStop: raw.hooks?.post_stop ?? [],
      preStart: raw.hooks?.pre_start ?? [],
      timeoutMs: raw.hooks?.timeout ?? DEFAULTS.hookTimeoutMs,
    },
    gpu: {
      cleanup: raw.gpu?.cleanup ?? 'auto',
      resetCommand: raw.gpu?.reset_command ?? null,
      maxUsedMb: raw.gpu?.max_used_mb ?? DEFAULTS.gpuMaxUsedMb,
    },
    logs: {
      dir: logsDir,
      maxSizeBytes: raw.logs?.max_size ?? DEFAULTS.logMaxSizeBytes,
      keep: raw.logs?.keep ?? DEFAULTS.logKeep,
      compress: raw.logs?.compress ?? true,
      rotateOnRestart: raw.logs?.rotate_on_restart ?? false,
      restartLog: context.env.RESTART_CONTROL_LOG ? resolve(folder, context.env.RESTART_CONTROL_LOG) : join(logsDir, 'restart.log'),
    },
    notify,
    autoReload: raw.auto_reload ?? false,
    reloadDebounceMs: raw.reload_debounce ?? DEFAULTS.reloadDebounceMs,
    web,
    ...(metrics ? { metrics } : {}),
    resources: { intervalMs: resourcesInterval },
  };
}

type At = (path: (string | number)[], key: string, message: string) => void;

function normaliseService(service: RawService, index: number, folder: string, env: NodeJS.ProcessEnv, at: At, hookTimeoutMs: number): ServiceConfig {
  const key = (field: string) => `services[${index}].${field}`;
  const cwd = resolve(folder, service.cwd ?? '.');
  const cwdProblem = checkDirectory(cwd);
  if (cwdProblem) at(['services', index, service.cwd ? 'cwd' : 'name'], key('cwd'), cwdProblem);
  const windowProblem = restartWindowProblem(service.restart_window, service.restart_max);
  if (windowProblem) at(['services', index, 'restart_window'], key('restart_window'), windowProblem);
  const serviceEnv = service.env ?? {};
  if (Array.isArray(service.command) && !cwdProblem) {
    const executable = service.command[0]!;
    if (!findExecutable(executable, serviceEnv.PATH ?? env.PATH ?? '', cwd)) {
      at(['services', index, 'command'], key('command'), `executable not found: ${executable}`);
    }
  }
  return {
    name: service.name,
    command: service.command,
    cwd,
    env: serviceEnv,
    restart: service.restart ?? DEFAULTS.restart,
    restartSecMs: service.restart_sec ?? DEFAULTS.restartSecMs,
    restartMax: service.restart_max ?? DEFAULTS.restartMax,
    restartWindowMs: service.restart_window ?? DEFAULTS.restartWindowMs,
    restartCooldownMs: service.restart_cooldown ?? null,
    restartBackoff: service.restart_backoff ?? 'fixed',
    restartSecMaxMs: service.restart_sec_max ?? DEFAULTS.restartSecMaxMs,
    minUptimeMs: service.min_uptime ?? DEFAULTS.minUptimeMs,
    stopSignal: service.stop_signal ?? DEFAULTS.stopSignal,
    stopTimeoutMs: service.stop_timeout ?? DEFAULTS.stopTimeoutMs,
    autostart: service.autostart ?? true,
    logTimestamps: service.log_timestamps ?? false,
    watch: service.watch ?? [],
    watchIgnore: service.watch_ignore ?? [],
    watchDebounceMs: service.watch_debounce ?? DEFAULTS.watchDebounceMs,
    waitIdle: normaliseWaitIdle(service.wait_idle),
    health: normaliseHealth(service.health, (field, message) =>
      at(['services', index, 'health', ...(field ? [field] : [])], key(field ? `health.${field}` : 'health'), message)),
    maxMemoryBytes: service.max_memory ?? null,
    maxGpuMemoryBytes: service.max_gpu_memory ?? null,
    successExitCodes: service.success_exit_codes ?? [],
    restartExitCodes: service.restart_exit_codes ?? [],
    ...normaliseReadiness(service, index, service.stop_timeout ?? DEFAULTS.stopTimeoutMs, hookTimeoutMs, at),
  };
}

function normaliseSchedule(raw: RawConfig, folder: string, serviceNames: Set<string>, at: At): ScheduleConfig | null {
  if (raw.schedule === undefined) return null;
  const schedule = raw.schedule ?? {};
  if (schedule.interval !== undefined && schedule.cron !== undefined) {
    at(['schedule', 'cron'], 'schedule', 'expected either interval or cron, not both');
  }
  if (schedule.interval !== undefined && schedule.interval < MIN_SCHEDULE_INTERVAL_MS) {
    at(['schedule', 'interval'], 'schedule.interval', 'expected at least 1s');
  }
  if (schedule.cron !== undefined) {
    const problem = validateCronExpression(schedule.cron);
    if (problem) at(['schedule', 'cron'], 'schedule.cron', problem);
  }
  if (schedule.timezone !== undefined) {
    const problem = validateTimezone(schedule.timezone);
    if (problem) at(['schedule', 'timezone'], 'schedule.timezone', problem);
  }
  (schedule.services ?? []).forEach((service, index) => {
    if (!serviceNames.has(service)) at(['schedule', 'services', index], `schedule.services[${index}]`, `unknown service "${service}"`);
  });
  void folder;
  return {
    enabled: schedule.enabled ?? true,
    mode: schedule.cron !== undefined ? 'cron' : 'interval',
    intervalMs: schedule.interval ?? DEFAULTS.scheduleIntervalMs,
    cron: schedule.cron ?? null,
    timezone: schedule.timezone ?? null,
    services: schedule.services ?? [],
    waitIdle: normaliseWaitIdle(schedule.wait_idle),
  };
}

function normaliseWaitIdle(raw: RawWaitIdle | undefined): WaitIdleConfig | null {
  if (!raw) return null;
  return { command: raw.command, pollMs: raw.poll ?? DEFAULTS.waitIdlePollMs, maxWaitMs: raw.max_wait ?? DEFAULTS.waitIdleMaxWaitMs };
}

function normaliseNotify(raw: RawConfig, env: NodeJS.ProcessEnv, at: At): Config['notify'] {
  const webhooks: WebhookConfig[] = (raw.notify?.webhooks ?? []).map((hook, index) => {
    const expand = (value: string, field: string) => expandVariables(value, env, (variable) =>
      at(['notify', 'webhooks', index, field], `notify.webhooks[${index}].${field}`, `environment variable ${variable} is not set`));
    const headers: Record<string, string> = {};
    for (const [header, value] of Object.entries(hook.headers ?? {})) headers[header] = expand(value, 'headers');
    return {
      url: expand(hook.url, 'url'),
      format: hook.format ?? 'json',
      events: hook.events ?? DEFAULTS.webhookEvents,
      services: hook.services ?? null,
      secret: hook.secret ? expand(hook.secret, 'secret') : null,
      headers,
      timeoutMs: hook.timeout ?? DEFAULTS.webhookTimeoutMs,
      retries: hook.retries ?? DEFAULTS.webhookRetries,
    };
  });
  const rawCommand = raw.notify?.command;
  const command = rawCommand
    ? expandShellCommand(rawCommand, env, (variable) => at(['notify', 'command'], 'notify.command', `environment variable ${variable} is not set`))
    : null;
  const commandShown = rawCommand ? expandShellCommand(rawCommand, env, () => undefined, () => MASK) : null;
  return { webhooks, command, commandShown };
}

/** The web page: a listen address beyond loopback without a token would hand the services to the network. */
function normaliseWeb(raw: RawConfig, env: NodeJS.ProcessEnv, at: At): WebConfig | null {
  if (!raw.web) return null;
  const listen = parseListen(raw.web.listen);
  if (!listen) at(['web', 'listen'], 'web.listen', `expected host:port such as 127.0.0.1:7070, got ${JSON.stringify(raw.web.listen)}`);
  const token = raw.web.token
    ? expandVariables(raw.web.token, env, (variable) => at(['web', 'token'], 'web.token', `environment variable ${variable} is not set`))
    : '';
  if (listen && !isLoopback(listen.host) && token === '') {
    at(['web', 'listen'], 'web.listen', `${listen.host} is not a loopback address: set web.token (e.g. token: \${RESTART_CONTROL_WEB_TOKEN}) or listen on 127.0.0.1`);
  }
  return { host: listen?.host ?? '127.0.0.1', port: listen?.port ?? 0, basePath: normaliseBasePath(raw.web.base_path ?? '/'), token: token || null };
}

/** `${VAR}` from the environment; a missing variable is reported through `missing`. */
export function expandVariables(value: string, env: NodeJS.ProcessEnv, missing: (variable: string) => void): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, variable: string) => {
    const found = env[variable];
    if (found === undefined) {
      missing(variable);
      return '';
    }
    return found;
  });
}


/** A window of 0 holds no restart, so restart_max would never be reached: a crash loop without end. */
export function restartWindowProblem(windowMs: number | undefined, max: number | undefined): string | null {
  return windowMs === 0 && (max ?? DEFAULTS.restartMax) > 0 ? 'expected more than 0 when restart_max is set (a 0 window never reaches the limit)' : null;
}

/** A cwd that must exist and be a folder. */
export function checkDirectory(path: string): string | null {
  try {
    return statSync(path).isDirectory() ? null : `expected a folder, got a file: ${path}`;
  } catch {
    return `folder does not exist: ${path}`;
  }
}

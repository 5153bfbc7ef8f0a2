/** The effective config as users write it (snake_case, durations as strings), secrets redacted, and where each value came from. */
import type { Origins } from './env.ts';
import { msToDuration } from './duration.ts';
import { MASK, collectSecrets, redactSecrets, redactUrl } from '../notify/redact.ts';
import type { Config, NatsConfig, ServiceConfig, WaitIdleConfig } from '../core/types.ts';

function waitIdle(value: WaitIdleConfig | null): unknown {
  return value && { command: value.command, poll: msToDuration(value.pollMs), max_wait: msToDuration(value.maxWaitMs) };
}

function service(s: ServiceConfig): Record<string, unknown> {
  return {
    name: s.name, command: s.command, cwd: s.cwd, env: s.env, restart: s.restart,
    restart_sec: msToDuration(s.restartSecMs), restart_max: s.restartMax, restart_window: msToDuration(s.restartWindowMs),
    restart_cooldown: s.restartCooldownMs === null ? null : msToDuration(s.restartCooldownMs),
    restart_backoff: s.restartBackoff, restart_sec_max: msToDuration(s.restartSecMaxMs), min_uptime: msToDuration(s.minUptimeMs),
    stop_signal: s.stopSignal, stop_timeout: msToDuration(s.stopTimeoutMs), autostart: s.autostart, log_timestamps: s.logTimestamps,
    watch: s.watch, watch_ignore: s.watchIgnore, watch_debounce: msToDuration(s.watchDebounceMs), wait_idle: waitIdle(s.waitIdle),
  };
}

/**
 * The effective config in the file's own keys, defaults filled in and secrets shown as `***`: it validates as a config
 * file. `extras` adds what is not a config key (the file itself, the restart log path) for `--show-origin`.
 */
export function configToDisplay(config: Config, extras = false): Record<string, unknown> {
  const schedule = config.schedule;
  const display: Record<string, unknown> = {
    ...(extras ? { config_file: config.file } : {}),
    state_dir: config.stateDir,
    services: config.services.map(service),
    ...(schedule ? {
      schedule: {
        enabled: schedule.enabled,
        ...(schedule.mode === 'cron' ? { cron: schedule.cron } : { interval: msToDuration(schedule.intervalMs) }),
        timezone: schedule.timezone,
        services: schedule.services,
        wait_idle: waitIdle(schedule.waitIdle),
      },
    } : {}),
    hooks: { pre_restart: config.hooks.preRestart, post_stop: config.hooks.postStop, pre_start: config.hooks.preStart, timeout: msToDuration(config.hooks.timeoutMs) },
    gpu: { cleanup: config.gpu.cleanup, reset_command: config.gpu.resetCommand, max_used_mb: config.gpu.maxUsedMb },
    logs: {
      dir: config.logs.dir, max_size: config.logs.maxSizeBytes, keep: config.logs.keep, compress: config.logs.compress,
      rotate_on_restart: config.logs.rotateOnRestart, ...(extras ? { restart_log: config.logs.restartLog } : {}),
    },
    notify: {
      webhooks: config.notify.webhooks.map((hook) => ({
        url: redactUrl(hook.url), format: hook.format, events: hook.events, services: hook.services,
        secret: hook.secret === null ? null : MASK,
        headers: Object.fromEntries(Object.keys(hook.headers).map((header) => [header, MASK])),
        timeout: msToDuration(hook.timeoutMs), retries: hook.retries,
      })),
      // `${VAR}` values are masked, and any webhook secret pasted into the text too
      command: config.notify.command === null ? null : redactSecrets(config.notify.commandShown ?? config.notify.command, collectSecrets(config.notify)),
      ...(config.notify.nats ? { nats: natsDisplay(config.notify.nats) } : {}),
    },
    ...(config.metrics ? { metrics: { listen: config.metrics.listen, ...(config.metrics.token === null ? {} : { token: MASK }) } } : {}),
    auto_reload: config.autoReload,
    reload_debounce: msToDuration(config.reloadDebounceMs),
    ...(config.web ? { web: { listen: `${config.web.host.includes(':') ? `[${config.web.host}]` : config.web.host}:${config.web.port}`, base_path: config.web.basePath, token: config.web.token === null ? null : MASK } } : {}),
  };
  return extras ? display : withoutUnsetKeys(display) as Record<string, unknown>;
}

function natsDisplay(nats: NatsConfig): Record<string, unknown> {
  const credentials = nats.credentials === null ? null : nats.credentials.kind === 'creds' ? { creds_file: nats.credentials.file } : MASK;
  return {
    url: nats.servers.map(redactUrl).join(','), subject_prefix: nats.subjectPrefix, service_id: nats.serviceId, events: nats.events,
    ...(credentials === null ? {} : { credentials }),
  };
}

/** Keys whose null means "not set" are left out: the schema does not take null for them. */
const NULL_ALLOWED = new Set(['restart_cooldown', 'reset_command', 'secret', 'command', 'token']);

function withoutUnsetKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUnsetKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value)
    .filter(([key, item]) => item !== null || NULL_ALLOWED.has(key))
    .map(([key, item]) => [key, withoutUnsetKeys(item)]));
}

/** Leaf values with their origin: a flag or env (recorded in `origins`), the config file (the key is in it), or the default. */
export function flattenWithOrigins(display: Record<string, unknown>, origins: Origins, rawKeys: Set<string>): { key: string; value: unknown; origin: string }[] {
  const rows: { key: string; value: unknown; origin: string }[] = [];
  const originOf = (key: string): string => {
    for (let k: string | null = key; k; k = parentKey(k)) {
      const origin = origins.get(k);
      if (origin) return origin;
    }
    return rawKeys.has(key) ? 'config file' : 'default';
  };
  const walk = (value: unknown, key: string) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
      for (const [child, childValue] of Object.entries(value)) walk(childValue, key ? `${key}.${child}` : child);
    } else if (Array.isArray(value) && value.some((item) => item !== null && typeof item === 'object')) {
      value.forEach((item, index) => walk(item, `${key}[${index}]`));
    } else {
      rows.push({ key, value, origin: key === 'config_file' ? origins.get('config') ?? 'default' : originOf(key) });
    }
  };
  walk(display, '');
  return rows;
}

function parentKey(key: string): string | null {
  const match = key.match(/^(.*)(\.[^.[\]]+|\[\d+\])$/);
  return match ? match[1]! : null;
}

/** Flattened key paths present in the file (`services[0].restart_sec`), to tell "config file" from "default". */
export function collectRawKeys(input: unknown, prefix = '', keys = new Set<string>()): Set<string> {
  if (Array.isArray(input)) input.forEach((item, index) => { keys.add(`${prefix}[${index}]`); collectRawKeys(item, `${prefix}[${index}]`, keys); });
  else if (input !== null && typeof input === 'object') {
    for (const [key, value] of Object.entries(input)) {
      const path = prefix ? `${prefix}.${key}` : key;
      keys.add(path);
      collectRawKeys(value, path, keys);
    }
  }
  return keys;
}

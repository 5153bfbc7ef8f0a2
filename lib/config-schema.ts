/** The config file's schema, as users write it (snake_case, durations as numbers or strings). */
import { constants } from 'node:os';
import { z } from 'zod';
import { DURATION_EXPECTATION, SIZE_EXPECTATION, parseDurationMs, parseSizeBytes } from './duration.ts';
import { RESTART_POLICIES } from './types.ts';

export const SERVICE_NAME = /^[a-z0-9][a-z0-9_-]*$/;

const duration = z.any().transform((value, ctx) => {
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `${DURATION_EXPECTATION}, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return ms;
});

const size = z.any().transform((value, ctx) => {
  const bytes = parseSizeBytes(value);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `${SIZE_EXPECTATION}, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return bytes;
});

const text = z.string({ error: (issue) => `expected a string, got ${describe(issue.input)}` });
const flag = z.boolean({ error: (issue) => `expected true or false, got ${describe(issue.input)}` });
const count = z.number({ error: (issue) => `expected a whole number, got ${describe(issue.input)}` })
  .int({ error: 'expected a whole number' }).nonnegative({ error: 'expected a number ≥ 0' });
const stringList = z.array(text, { error: (issue) => `expected a list of strings, got ${describe(issue.input)}` });
const nonEmptyText = text.min(1, { error: 'expected a non-empty string' });

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: (issue) => `expected one of ${values.join('|')}, got ${describe(issue.input)}` });
}

const signalName = text.refine((name) => name.startsWith('SIG') && name in constants.signals, {
  error: 'expected a signal name such as SIGTERM, SIGINT or SIGQUIT',
}).transform((name) => name as NodeJS.Signals);

const nullableDuration = z.any().transform((value, ctx) => {
  if (value === null) return null;
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `${DURATION_EXPECTATION}, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return ms;
});

const waitIdle = z.strictObject({
  command: nonEmptyText,
  poll: duration.optional(),
  max_wait: duration.optional(),
});

const command = z.union([nonEmptyText, z.array(nonEmptyText).min(1)], {
  error: 'expected a command string or a non-empty list of strings (argv)',
});

const service = z.strictObject({
  name: text.regex(SERVICE_NAME, { error: 'expected a name matching [a-z0-9][a-z0-9_-]*' }),
  command,
  cwd: nonEmptyText.optional(),
  env: z.record(z.string(), z.union([text, z.number(), z.boolean()]).transform(String), {
    error: 'expected a map of NAME: value',
  }).optional(),
  restart: oneOf(RESTART_POLICIES).optional(),
  restart_sec: duration.optional(),
  restart_max: count.optional(),
  restart_window: duration.optional(),
  restart_cooldown: nullableDuration.optional(),
  restart_backoff: oneOf(['fixed', 'exponential']).optional(),
  restart_sec_max: duration.optional(),
  min_uptime: duration.optional(),
  stop_signal: signalName.optional(),
  stop_timeout: duration.optional(),
  autostart: flag.optional(),
  log_timestamps: flag.optional(),
  watch: stringList.optional(),
  watch_ignore: stringList.optional(),
  watch_debounce: duration.optional(),
  wait_idle: waitIdle.optional(),
});

const schedule = z.strictObject({
  enabled: flag.optional(),
  interval: duration.optional(),
  cron: nonEmptyText.optional(),
  timezone: nonEmptyText.optional(),
  services: stringList.optional(),
  wait_idle: waitIdle.optional(),
});

const hooks = z.strictObject({
  pre_restart: stringList.optional(),
  post_stop: stringList.optional(),
  pre_start: stringList.optional(),
  timeout: duration.optional(),
});

const gpu = z.strictObject({
  cleanup: oneOf(['auto', 'off']).optional(),
  reset_command: nonEmptyText.nullable().optional(),
  max_used_mb: count.optional(),
});

const logs = z.strictObject({
  dir: nonEmptyText.optional(),
  max_size: size.optional(),
  keep: count.optional(),
  compress: flag.optional(),
  rotate_on_restart: flag.optional(),
});

const webhook = z.strictObject({
  url: text.regex(/^https?:\/\//, { error: 'expected an http:// or https:// URL' }),
  format: oneOf(['json', 'slack', 'discord']).optional(),
  events: stringList.optional(),
  services: stringList.optional(),
  secret: nonEmptyText.nullable().optional(),
  headers: z.record(z.string(), text, { error: 'expected a map of Header: value' }).optional(),
  timeout: duration.optional(),
  retries: count.optional(),
});

const notify = z.strictObject({
  webhooks: z.array(webhook, { error: 'expected a list of webhooks' }).optional(),
  command: nonEmptyText.nullable().optional(),
});

export const configSchema = z.strictObject({
  state_dir: nonEmptyText.optional(),
  services: z.array(service, { error: (issue) => `expected a list of services, got ${describe(issue.input)}` }),
  schedule: schedule.nullable().optional(),
  hooks: hooks.nullable().optional(),
  gpu: gpu.nullable().optional(),
  logs: logs.nullable().optional(),
  notify: notify.nullable().optional(),
  auto_reload: flag.optional(),
  reload_debounce: duration.optional(),
}, { error: (issue) => issue.input === undefined ? undefined : `expected a map with a services: list, got ${describe(issue.input)}` });

export type RawConfig = z.output<typeof configSchema>;
export type RawService = z.output<typeof service>;
export type RawWaitIdle = z.output<typeof waitIdle>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

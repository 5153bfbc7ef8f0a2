/** The config file's schema, as users write it (snake_case, durations as numbers or strings). valibot: ~3 MB of heap where zod took ~14. */
import { constants } from 'node:os';
import * as v from 'valibot';
import { DURATION_EXPECTATION, MAX_DURATION_MS, MAX_TIMER_DURATION_MS, SIZE_EXPECTATION, durationMaximumProblem, parseDurationMs, parseSizeBytes } from './duration.ts';
import { RESTART_POLICIES } from '../core/types.ts';
import { unknownKeyIssues } from './unknown-keys.ts';

export const SERVICE_NAME = /^[a-z0-9][a-z0-9_-]*$/;
/**
 * Longest service name. Every derived name stays far below NAME_MAX (255): the longest is the compressor's temp file
 * `.<name>.log.<pid>.<n>.gz.tmp`, and the marker `<hash>/<name>` stays short in every process's environment.
 */
export const MAX_SERVICE_NAME_LENGTH = 64;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** A message that names what was expected and what was found. */
const expected = (what: string) => (issue: { input: unknown }) => `expected ${what}, got ${describe(issue.input)}`;

function parsed<T>(parse: (value: unknown) => T | undefined, expectation: string, allowNull = false) {
  return v.pipe(v.any(), v.rawTransform(({ dataset, addIssue, NEVER }) => {
    if (allowNull && dataset.value === null) return null as T | null;
    const result = parse(dataset.value);
    if (result === undefined) {
      addIssue({ message: `${expectation}, got ${JSON.stringify(dataset.value)}` });
      return NEVER;
    }
    return result as T | null;
  }));
}

function durationUpTo(maxMs: number, allowNull = false) {
  return v.pipe(v.any(), v.rawTransform(({ dataset, addIssue, NEVER }) => {
    if (allowNull && dataset.value === null) return null as number | null;
    const ms = parseDurationMs(dataset.value);
    const problem = ms === undefined ? DURATION_EXPECTATION : durationMaximumProblem(ms, maxMs);
    if (problem) {
      addIssue({ message: `${problem}, got ${JSON.stringify(dataset.value)}` });
      return NEVER;
    }
    return ms as number | null;
  }));
}

/** Waits re-armed in steps (restart_sec, restart_cooldown, schedule.interval) and values that are not timers. */
const duration = durationUpTo(MAX_DURATION_MS) as unknown as v.GenericSchema<unknown, number>;
const nullableDuration = durationUpTo(MAX_DURATION_MS, true) as unknown as v.GenericSchema<unknown, number | null>;
/** Timeouts, polls, debounces: one timer each. */
const timerDuration = durationUpTo(MAX_TIMER_DURATION_MS) as unknown as v.GenericSchema<unknown, number>;
const size = parsed(parseSizeBytes, SIZE_EXPECTATION) as unknown as v.GenericSchema<unknown, number>;

const text = v.string(expected('a string'));
const nonEmptyText = v.pipe(text, v.minLength(1, 'expected a non-empty string'));
const flag = v.boolean(expected('true or false'));
const count = v.pipe(v.number(expected('a whole number')), v.integer('expected a whole number'), v.minValue(0, 'expected a number ≥ 0'));
const stringList = v.array(text, expected('a list of strings'));
const oneOf = <const T extends readonly string[]>(values: T) => v.picklist(values, expected(`one of ${values.join('|')}`));

const signalName = v.pipe(
  text,
  v.check((name) => name.startsWith('SIG') && name in constants.signals, 'expected a signal name such as SIGTERM, SIGINT or SIGQUIT'),
  v.transform((name) => name as NodeJS.Signals),
);

const waitIdle = v.strictObject({
  command: nonEmptyText,
  poll: v.optional(timerDuration),
  max_wait: v.optional(duration),
}, expected('a map with a command: key'));

const exitCode = v.pipe(v.number(expected('an exit code 0–255')), v.integer('expected an exit code 0–255'), v.minValue(0, 'expected an exit code 0–255'), v.maxValue(255, 'expected an exit code 0–255'));
const exitCodes = v.array(exitCode, expected('a list of exit codes 0–255'));
const statusItem = v.union([v.number(), v.string()], expected('a status code or a range such as 200-399'));

const health = v.strictObject({
  http: v.optional(v.pipe(text, v.regex(/^https?:\/\/[^/\s]+/i, 'expected an http:// or https:// URL'))),
  tcp: v.optional(v.pipe(text, v.regex(/^\[?[^\s]*\]?:\d{1,5}$/, 'expected host:port, such as 127.0.0.1:8188'))),
  command: v.optional(nonEmptyText),
  expect_status: v.optional(v.union([statusItem, v.array(statusItem)], expected('a status code, a range such as 200-399, or a list'))),
  interval: v.optional(duration),
  timeout: v.optional(duration),
  failures: v.optional(v.pipe(count, v.minValue(1, 'expected a whole number ≥ 1'))),
  start_period: v.optional(duration),
  output_silence: v.optional(duration),
  on_unhealthy: v.optional(oneOf(['restart', 'none'] as const)),
}, expected('a map with one of http:, tcp:, command: or output_silence:'));

// An argv element may be empty (`[redis-server, --save, ""]`); only the program may not
const argv = v.pipe(v.array(text), v.minLength(1), v.check((list) => list[0] !== '', 'expected the program (the first element of the list) to be non-empty'));
const command = v.union([nonEmptyText, argv], expected('a command string or a non-empty list of strings (argv)'));
const ready = v.strictObject({
  http: v.optional(v.pipe(text, v.regex(/^https?:\/\//, 'expected an http:// or https:// URL'))),
  tcp: v.optional(v.pipe(v.union([text, v.number()], expected('host:port such as 127.0.0.1:8188')), v.transform(String))),
  command: v.optional(nonEmptyText),
  log_line: v.optional(nonEmptyText),
  interval: v.optional(duration),
  timeout: v.optional(duration),
}, expected('a map with one of http, tcp, command, log_line'));

const afterEntry = v.union([
  nonEmptyText,
  // condition is checked in readiness.ts: inside a union, valibot would only say that neither form matched
  v.strictObject({ service: nonEmptyText, condition: v.optional(text) }, expected('a map with service: and condition:')),
], expected('a service name or {service, condition}'));

const drain = v.strictObject({
  signal: v.optional(signalName),
  command: v.optional(nonEmptyText),
}, expected('a map with signal: or command:'));

const port = v.pipe(v.number(expected('a port number')), v.integer('expected a whole number'), v.minValue(1, 'expected a port 1-65535'), v.maxValue(65535, 'expected a port 1-65535'));


const service = v.strictObject({
  name: v.pipe(text, v.regex(SERVICE_NAME, 'expected a name matching [a-z0-9][a-z0-9_-]*'),
    v.maxLength(MAX_SERVICE_NAME_LENGTH, (issue) => `expected at most ${MAX_SERVICE_NAME_LENGTH} characters, got ${String(issue.input).length}`)),
  command,
  cwd: v.optional(nonEmptyText),
  env: v.optional(v.record(v.string(), v.pipe(v.union([text, v.number(), v.boolean()], expected('a string, number or boolean')), v.transform(String)), expected('a map of NAME: value'))),
  restart: v.optional(oneOf(RESTART_POLICIES)),
  restart_sec: v.optional(duration),
  restart_max: v.optional(count),
  restart_window: v.optional(duration),
  restart_cooldown: v.optional(nullableDuration),
  restart_backoff: v.optional(oneOf(['fixed', 'exponential'] as const)),
  restart_sec_max: v.optional(duration),
  min_uptime: v.optional(duration),
  stop_signal: v.optional(signalName),
  stop_timeout: v.optional(timerDuration),
  autostart: v.optional(flag),
  log_timestamps: v.optional(flag),
  watch: v.optional(stringList),
  watch_ignore: v.optional(stringList),
  watch_debounce: v.optional(timerDuration),
  wait_idle: v.optional(waitIdle),
  port: v.optional(port),
  ready: v.optional(ready),
  after: v.optional(v.array(afterEntry, expected('a list of service names or {service, condition}'))),
  drain: v.optional(drain),
  port_wait: v.optional(duration),
  health: v.optional(health),
  max_memory: v.optional(size),
  max_gpu_memory: v.optional(size),
  success_exit_codes: v.optional(exitCodes),
  restart_exit_codes: v.optional(exitCodes),
}, expected('a map'));

const resources = v.strictObject({
  interval: v.optional(duration),
}, expected('a map'));

const schedule = v.strictObject({
  enabled: v.optional(flag),
  interval: v.optional(duration),
  cron: v.optional(nonEmptyText),
  timezone: v.optional(nonEmptyText),
  services: v.optional(stringList),
  wait_idle: v.optional(waitIdle),
}, expected('a map'));

const hooks = v.strictObject({
  pre_restart: v.optional(stringList),
  post_stop: v.optional(stringList),
  pre_start: v.optional(stringList),
  timeout: v.optional(timerDuration),
}, expected('a map'));

const gpu = v.strictObject({
  cleanup: v.optional(oneOf(['auto', 'off'] as const)),
  reset_command: v.optional(v.nullable(nonEmptyText)),
  max_used_mb: v.optional(count),
}, expected('a map'));

const logs = v.strictObject({
  dir: v.optional(nonEmptyText),
  max_size: v.optional(size),
  keep: v.optional(count),
  compress: v.optional(flag),
  rotate_on_restart: v.optional(flag),
}, expected('a map'));

const webhook = v.strictObject({
  url: v.pipe(text, v.regex(/^(https?:\/\/|\$\{)/, 'expected an http:// or https:// URL')),
  format: v.optional(oneOf(['json', 'slack', 'discord'] as const)),
  events: v.optional(stringList),
  services: v.optional(stringList),
  secret: v.optional(v.nullable(nonEmptyText)),
  headers: v.optional(v.record(v.string(), text, expected('a map of Header: value'))),
  timeout: v.optional(timerDuration),
  retries: v.optional(count),
}, expected('a map'));

const natsCredentials = v.union([
  nonEmptyText,
  v.strictObject({ user: nonEmptyText, password: text }),
  v.strictObject({ token: nonEmptyText }),
  v.strictObject({ creds_file: nonEmptyText }),
], expected('a creds file path, "user:password", a token, or a map with user+password, token or creds_file'));

const nats = v.strictObject({
  url: nonEmptyText,
  subject_prefix: v.optional(v.pipe(text, v.regex(/^[^\s*>.]+(\.[^\s*>.]+)*$/, 'expected subject tokens separated by dots, without spaces, * or >'))),
  service_id: v.optional(nonEmptyText),
  events: v.optional(stringList),
  credentials: v.optional(v.nullable(natsCredentials)),
}, expected('a map with a url: key'));

const notify = v.strictObject({
  webhooks: v.optional(v.array(webhook, expected('a list of webhooks'))),
  command: v.optional(v.nullable(nonEmptyText)),
  nats: v.optional(v.nullable(nats)),
}, expected('a map'));

const web = v.strictObject({
  listen: v.pipe(v.union([text, v.number()], expected('an address such as 127.0.0.1:7070')), v.transform(String)),
  base_path: v.optional(nonEmptyText),
  token: v.optional(v.nullable(text)),
}, expected('a map with a listen: key'));

const metrics = v.strictObject({
  listen: v.pipe(text, v.regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:/]+):\d{1,5}$/, 'expected host:port, such as 127.0.0.1:9464')),
  token: v.optional(v.nullable(nonEmptyText)),
}, expected('a map with a listen: key'));

export const configSchema = v.strictObject({
  state_dir: v.optional(nonEmptyText),
  services: v.array(service, expected('a list of services')),
  schedule: v.optional(v.nullable(schedule)),
  hooks: v.optional(v.nullable(hooks)),
  gpu: v.optional(v.nullable(gpu)),
  logs: v.optional(v.nullable(logs)),
  notify: v.optional(v.nullable(notify)),
  auto_reload: v.optional(flag),
  reload_debounce: v.optional(timerDuration),
  web: v.optional(v.nullable(web)),
  metrics: v.optional(v.nullable(metrics)),
  resources: v.optional(v.nullable(resources)),
}, expected('a map with a services: list'));

export type RawConfig = v.InferOutput<typeof configSchema>;
export type RawService = v.InferOutput<typeof service>;
export type RawWaitIdle = v.InferOutput<typeof waitIdle>;
export type RawHealth = v.InferOutput<typeof health>;

export interface SchemaIssue {
  path: (string | number)[];
  message: string;
  /** The key at the end of `path` is not in the schema. */
  unknownKey: boolean;
  /** For an unknown key: the known key it is probably a typo of. */
  suggestion?: string | null;
}

export function validateRawConfig(input: unknown): { ok: true; value: RawConfig } | { ok: false; issues: SchemaIssue[] } {
  const result = v.safeParse(configSchema, input);
  if (result.success) return { ok: true, value: result.output };
  const issues = result.issues.map((issue) => ({
    path: (issue.path ?? []).map((item) => item.key as string | number),
    message: issue.message,
    unknownKey: issue.type === 'strict_object' && (issue.path?.length ?? 0) > 0 && issue.input === issue.path?.at(-1)?.key,
  }));
  // valibot names only the first unknown key of each map: every one of them comes from the walk instead
  return { ok: false, issues: [...issues.filter((issue) => !issue.unknownKey), ...unknownKeyIssues(configSchema, input)] };
}

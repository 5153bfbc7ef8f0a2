/** PM2 ecosystem file (`apps` list) → our services. */
import { cpus } from 'node:os';
import { basename, dirname, extname, resolve } from 'node:path';
import { shellQuote } from '../core/shell.ts';
import {
  ImportError, type ImportResult, type ImportedService, durationText, emptyResult, formatValue, newService, serviceName, sizeText, unmapped,
} from './model.ts';

type App = Record<string, unknown>;

/** pm2's interpreter by script extension (lib/API/interpreter.json); anything else runs with node. */
const INTERPRETERS: Record<string, string> = {
  '.sh': 'bash', '.py': 'python', '.rb': 'ruby', '.php': 'php', '.pl': 'perl', '.coffee': 'coffee', '.ls': 'lsc', '.ts': 'ts-node',
};
/** Keys read by mapApp(); every other key of an app has no equivalent. */
const MAPPED = new Set([
  'name', 'script', 'interpreter', 'exec_interpreter', 'interpreter_args', 'node_args', 'args', 'cwd', 'env', 'autorestart',
  'max_restarts', 'min_uptime', 'restart_delay', 'exp_backoff_restart_delay', 'kill_timeout', 'cron_restart', 'max_memory_restart',
  'watch', 'ignore_watch', 'stop_exit_codes', 'instances', 'exec_mode', 'time', 'autostart',
]);
/** pm2's exponential backoff stops growing at 15 s (lib/God.js). */
const PM2_BACKOFF_MAX_MS = 15_000;

export interface Pm2Options {
  /** `--env NAME`: merge `env_NAME` over `env`. */
  env?: string;
}

export function importPm2(file: string, loaded: unknown, options: Pm2Options = {}): ImportResult {
  const name = basename(file);
  const apps = Array.isArray(loaded) ? loaded : (loaded as { apps?: unknown } | null)?.apps;
  if (!Array.isArray(apps)) {
    // Node evaluates module.exports in a "type": "module" package's .js without exporting anything
    const empty = extname(file) === '.js' && typeof loaded === 'object' && loaded !== null && Object.keys(loaded).length === 0;
    throw new ImportError(`${name}: expected an ecosystem file with an apps: list${empty ? ' (it exports nothing: a CommonJS file in an ES-module package? rename it to .cjs)' : ''}`);
  }
  if (apps.length === 0) throw new ImportError(`${name}: the apps: list is empty`);
  const result = emptyResult();
  const taken = new Set<string>();
  const schedules = new Map<string, string[]>();
  apps.forEach((app, index) => {
    if (typeof app !== 'object' || app === null || Array.isArray(app)) throw new ImportError(`${name}: apps[${index}]: expected a map, got ${formatValue(app)}`);
    if (typeof (app as App).script !== 'string' || (app as App).script === '') throw new ImportError(`${name}: apps[${index}]: script: expected a non-empty string`);
    for (const service of mapApp(result, app as App, dirname(file), taken, options)) {
      result.services.push(service);
      const cron = (app as App).cron_restart;
      if (typeof cron === 'string' && cron.trim() !== '') schedules.set(cron, [...(schedules.get(cron) ?? []), service.name]);
    }
  });
  addSchedule(result, schedules);
  return result;
}

/** One app, or `instances` copies of it. */
function mapApp(result: ImportResult, app: App, folder: string, taken: Set<string>, options: Pm2Options): ImportedService[] {
  const base = typeof app.name === 'string' && app.name !== '' ? app.name : basename(String(app.script), extname(String(app.script)));
  const count = instanceCount(app.instances);
  const names = count > 1 ? Array.from({ length: count }, (_, i) => serviceName(`${base}-${i}`, taken)) : [serviceName(base, taken)];
  return names.map((name, instance) => {
    const service = newService(name);
    if (count > 1) {
      service.notes.push(`pm2 instances: ${formatValue(app.instances)}: instance ${instance} of ${count}`);
      if (instance === 0) result.warnings.push(`${base}: pm2 instances: ${formatValue(app.instances)} became ${count} services ${names[0]}…${names.at(-1)}: cluster mode has no equivalent (they do not share a port)`);
    } else if (name !== base) {
      service.notes.push(`pm2 name: ${base}`);
    }
    // Copies of one app: its warnings once, not once per copy
    const sink = instance === 0 ? result : { ...result, warnings: [] };
    mapSettings(sink, service, app, folder, options, count > 1 ? instance : null);
    return service;
  });
}

function instanceCount(value: unknown): number {
  if (value === 'max' || value === 0 || value === '0') return cpus().length;
  const number = Number(value ?? 1);
  if (!Number.isInteger(number)) return 1;
  return number < 0 ? Math.max(1, cpus().length + number) : Math.max(1, number);
}

function mapSettings(result: ImportResult, service: ImportedService, app: App, folder: string, options: Pm2Options, instance: number | null): void {
  const { settings, keyNotes } = service;
  settings.set('command', commandOf(app));
  settings.set('cwd', resolve(folder, typeof app.cwd === 'string' ? app.cwd : '.'));
  const env = envOf(result, service, app, options);
  if (instance !== null) env.NODE_APP_INSTANCE = String(instance);
  if (Object.keys(env).length > 0) settings.set('env', env);
  if (Array.isArray(app.stop_exit_codes) || typeof app.stop_exit_codes === 'number') {
    // Exit 0 is always clean here: only the others need listing
    const codes = ([] as unknown[]).concat(app.stop_exit_codes).map(Number).filter((code) => code !== 0);
    settings.set('restart', app.autorestart === false ? 'no' : 'on-failure');
    if (codes.length > 0) settings.set('success_exit_codes', codes);
    keyNotes.set('restart', `pm2 autorestart with stop_exit_codes ${JSON.stringify(app.stop_exit_codes)}; exit 0 always counts as clean here`);
  } else {
    settings.set('restart', app.autorestart === false ? 'no' : 'always');
  }
  if (app.max_restarts !== undefined) {
    settings.set('restart_max', Number(app.max_restarts));
    keyNotes.set('restart_max', 'pm2 counts unstable restarts (uptime < min_uptime); here: restarts within restart_window');
  }
  const restartDelay = msOf(app.restart_delay);
  const backoff = msOf(app.exp_backoff_restart_delay);
  if (backoff !== undefined) {
    settings.set('restart_sec', durationText(backoff));
    settings.set('restart_backoff', 'exponential');
    settings.set('restart_sec_max', durationText(PM2_BACKOFF_MAX_MS));
    keyNotes.set('restart_backoff', 'pm2 exp_backoff_restart_delay grows x1.5 per crash, ours doubles');
    if (restartDelay !== undefined) unmapped(result, service, 'pm2 restart_delay', app.restart_delay, 'is replaced by exp_backoff_restart_delay (as in pm2)');
  } else if (restartDelay !== undefined) {
    settings.set('restart_sec', durationText(restartDelay));
  }
  const minUptime = msOf(app.min_uptime);
  if (minUptime !== undefined) settings.set('min_uptime', durationText(minUptime));
  settings.set('stop_signal', 'SIGINT');
  keyNotes.set('stop_signal', 'pm2 stops apps with SIGINT');
  const killTimeout = msOf(app.kill_timeout);
  if (killTimeout !== undefined) settings.set('stop_timeout', durationText(killTimeout));
  if (app.max_memory_restart !== undefined) {
    const size = sizeText(app.max_memory_restart);
    if (size === undefined) unmapped(result, service, 'pm2 max_memory_restart', app.max_memory_restart, 'is not a size we can read');
    else settings.set('max_memory', size);
  }
  if (app.autostart === false) settings.set('autostart', false);
  if (app.time === true) settings.set('log_timestamps', true);
  mapWatch(settings, app);
  for (const [key, value] of Object.entries(app)) {
    if (MAPPED.has(key) || key.startsWith('env_')) continue;
    unmapped(result, service, `pm2 ${key}`, value);
  }
  if (app.exec_mode === 'cluster' && instance === null) unmapped(result, service, 'pm2 exec_mode', 'cluster');
}

function mapWatch(settings: Map<string, unknown>, app: App): void {
  if (app.watch === true) settings.set('watch', ['.']);
  else if (typeof app.watch === 'string') settings.set('watch', [app.watch]);
  else if (Array.isArray(app.watch) && app.watch.length > 0) settings.set('watch', app.watch.map(String));
  if (settings.has('watch') && app.ignore_watch !== undefined) settings.set('watch_ignore', ([] as unknown[]).concat(app.ignore_watch).map(String));
}

/** script + interpreter (+ its args) + args → one shell command; `interpreter: none` runs the script itself. */
function commandOf(app: App): string {
  const script = String(app.script);
  const extension = extname(script).toLowerCase();
  const interpreter = String(app.interpreter ?? app.exec_interpreter ?? '');
  const bare = !script.includes('/') && extension === '' && !interpreter;
  const program = interpreter === 'none' || bare ? '' : interpreter || (INTERPRETERS[extension] ?? 'node');
  const interpreterArgs = argsText(app.interpreter_args ?? app.node_args);
  const words = [program && quoteWord(program), interpreterArgs, quoteWord(script), argsText(app.args)];
  return words.filter(Boolean).join(' ');
}

/** A string is kept as written (pm2 splits it like a shell would); a list is quoted word by word. */
function argsText(value: unknown): string {
  if (Array.isArray(value)) return value.map((word) => quoteWord(String(word))).join(' ');
  return typeof value === 'string' ? value.trim() : '';
}

function quoteWord(word: string): string {
  return /^[\w./:=@%+,-]+$/.test(word) ? word : shellQuote(word);
}

function envOf(result: ImportResult, service: ImportedService, app: App, options: Pm2Options): Record<string, string> {
  const env: Record<string, string> = {};
  const merge = (value: unknown) => {
    if (typeof value !== 'object' || value === null) return;
    for (const [key, item] of Object.entries(value)) env[key] = typeof item === 'object' && item !== null ? JSON.stringify(item) : String(item);
  };
  merge(app.env);
  const others = Object.keys(app).filter((key) => key.startsWith('env_'));
  if (options.env !== undefined) {
    if (app[`env_${options.env}`] === undefined) result.warnings.push(`${service.name}: pm2 app has no env_${options.env}; only env is used`);
    merge(app[`env_${options.env}`]);
  }
  for (const key of others) {
    if (key !== `env_${options.env}`) service.notes.push(`pm2 ${key}: not used (choose it with --env ${key.slice(4)})`);
  }
  return env;
}

function msOf(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.round(value);
  // pm2 also takes "1s", "2m", "1h" strings for min_uptime
  const match = String(value).trim().match(/^(\d+(?:\.\d+)?)(ms|s|m|h)?$/);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 'ms'] ?? 1));
}

/** Our schedule is one per config: the cron_restart most apps share wins; the others are warnings. */
function addSchedule(result: ImportResult, schedules: Map<string, string[]>): void {
  const sorted = [...schedules].sort((a, b) => b[1].length - a[1].length);
  const first = sorted[0];
  if (!first) return;
  result.top.set('schedule', { enabled: true, cron: first[0], services: first[1] });
  result.topNotes.set('schedule', 'from pm2 cron_restart');
  for (const [cron, names] of sorted.slice(1)) {
    for (const name of names) {
      const service = result.services.find((item) => item.name === name)!;
      unmapped(result, service, 'pm2 cron_restart', cron, 'has no equivalent: one schedule per config');
    }
  }
}

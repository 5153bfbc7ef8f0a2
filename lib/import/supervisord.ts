/** supervisord.conf `[program:x]` sections → our services (numprocs expand to several). */
import { constants, hostname } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import { type IniSection, type IniValue, expandPercent, readSupervisordConf } from './ini.ts';
import { parseKeyValuePairs, shlexSplit } from './shlex.ts';
import { ImportError, type ImportResult, type ImportedService, emptyResult, newService, serviceName, sizeText, unmapped } from './model.ts';

/** Keys read by mapProgram(); every other key of a program has no equivalent. */
const MAPPED = new Set([
  'command', 'directory', 'environment', 'autostart', 'autorestart', 'exitcodes', 'startretries', 'startsecs', 'stopsignal',
  'stopwaitsecs', 'stopasgroup', 'killasgroup', 'stdout_logfile_maxbytes', 'stdout_logfile_backups', 'stderr_logfile_maxbytes',
  'stderr_logfile_backups', 'redirect_stderr', 'numprocs', 'numprocs_start', 'process_name',
]);
/** Sections that configure supervisord itself, not a program: nothing of ours to map. */
const OWN_SECTIONS = /^(supervisord|supervisorctl|unix_http_server|inet_http_server|include|rpcinterface:.*)$/;
const SAFE_COMMAND = /^[\w./:=@%+,-]+( [\w./:=@%+,-]+)*$/;

interface Context {
  result: ImportResult;
  taken: Set<string>;
  /** `[supervisord] environment=`: every program gets it. */
  globalEnv: Record<string, string>;
  /** The first program that set them decides logs.max_size / logs.keep (ours are per config). */
  logs: { max_size?: { value: string | number; from: string }; keep?: { value: number; from: string } };
}

export function importSupervisord(file: string): ImportResult {
  const sections = readSupervisordConf(file);
  const result = emptyResult();
  const daemon = sections.find((section) => section.name === 'supervisord');
  const context: Context = { result, taken: new Set(), globalEnv: daemon ? envOf(daemon.options.get('environment'), baseVars(daemon)) : {}, logs: {} };
  for (const section of sections) {
    if (section.name.startsWith('program:')) mapProgram(context, section);
    else if (!OWN_SECTIONS.test(section.name)) {
      const text = `supervisord [${section.name}] (${basename(section.file)}:${section.line}) has no equivalent; not imported`;
      result.fileNotes.push(text);
      result.warnings.push(text);
    }
  }
  if (result.services.length === 0) throw new ImportError(`${basename(file)}: no [program:x] sections`);
  if (context.logs.max_size || context.logs.keep) {
    result.top.set('logs', {
      ...(context.logs.max_size ? { max_size: context.logs.max_size.value } : {}),
      ...(context.logs.keep ? { keep: context.logs.keep.value } : {}),
    });
    result.topNotes.set('logs', `from supervisord stdout_logfile_maxbytes/backups of ${context.logs.max_size?.from ?? context.logs.keep?.from}`);
  }
  return result;
}

function baseVars(section: IniSection): Record<string, string | number> {
  const vars: Record<string, string | number> = { here: dirname(resolve(section.file)), host_node_name: hostname() };
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) vars[`ENV_${key}`] = value;
  return vars;
}

function where(value: IniValue | { file: string; line: number }): string {
  return `${basename(value.file)}:${value.line}`;
}

function mapProgram(context: Context, section: IniSection): void {
  const program = section.name.slice('program:'.length).trim();
  const options = section.options;
  const command = options.get('command');
  if (!command) throw new ImportError(`${where(section)}: [${section.name}] command: required key is missing`);
  const numprocs = intOf(options.get('numprocs'), 1);
  const start = intOf(options.get('numprocs_start'), 0);
  const processName = options.get('process_name')?.value ?? '%(program_name)s';
  if (numprocs > 1 && !processName.includes('%(process_num)')) {
    throw new ImportError(`${where(options.get('process_name') ?? section)}: [${section.name}] process_name: must include %(process_num) when numprocs > 1`);
  }
  for (let num = start; num < start + numprocs; num++) {
    const vars = { ...baseVars(section), program_name: program, group_name: program, process_num: num, numprocs };
    const get = (key: string): string | undefined => {
      const value = options.get(key);
      return value === undefined ? undefined : expandPercent(value.value, vars, `${where(value)}: ${key}`);
    };
    const name = expandPercent(processName, vars, `${where(options.get('process_name') ?? section)}: process_name`);
    const service = newService(serviceName(name, context.taken));
    if (service.name !== name) service.notes.push(`supervisord process: ${name}`);
    // Warnings once per program, not once per process
    const sink = num === start ? context.result : { ...context.result, warnings: [] };
    mapSettings({ ...context, result: sink }, service, options, get, vars);
    context.result.services.push(service);
  }
}

function mapSettings(context: Context, service: ImportedService, options: Map<string, IniValue>, get: (key: string) => string | undefined, vars: Record<string, string | number>): void {
  const { settings, keyNotes } = service;
  const commandText = get('command')!;
  const argv = shlexSplit(commandText);
  if (!argv || argv.length === 0) throw new ImportError(`${where(options.get('command')!)}: command: cannot split ${JSON.stringify(commandText)} into words`);
  // supervisord runs argv without a shell: a string only when sh would split it the same way
  settings.set('command', SAFE_COMMAND.test(commandText) ? commandText : argv);
  const directory = get('directory');
  settings.set('cwd', resolve(String(vars.here), directory ?? '.'));
  if (directory === undefined) keyNotes.set('cwd', 'no directory: supervisord would use its own working directory; this is the config file\'s folder');
  const env = { ...context.globalEnv, ...envOf(options.get('environment'), vars) };
  if (Object.keys(env).length > 0) settings.set('env', env);
  if (options.has('autostart')) settings.set('autostart', boolOf(options.get('autostart')!, get('autostart')!));
  mapRestart(service, options, get);
  if (options.has('startretries')) {
    settings.set('restart_max', intOf(options.get('startretries'), 3));
    keyNotes.set('restart_max', 'supervisord startretries counts failed starts only; here: restarts within restart_window');
  }
  if (options.has('startsecs')) settings.set('min_uptime', intOf(options.get('startsecs'), 1));
  const signal = get('stopsignal');
  if (signal !== undefined) settings.set('stop_signal', signalOf(options.get('stopsignal')!, signal));
  if (options.has('stopwaitsecs')) settings.set('stop_timeout', intOf(options.get('stopwaitsecs'), 10));
  for (const key of ['stopasgroup', 'killasgroup']) {
    if (options.has(key)) service.notes.push(`supervisord ${key}: ${get(key)} (noted: we always stop the whole tree)`);
  }
  if (options.has('redirect_stderr')) service.notes.push(`supervisord redirect_stderr: ${get('redirect_stderr')} (noted: stdout and stderr always share one log, stderr lines tagged)`);
  mapLogs(context, service, options, get);
  for (const [key, value] of options) {
    if (!MAPPED.has(key)) unmapped(context.result, service, `supervisord ${key}`, get(key) ?? value.value);
  }
}

/** autorestart true → always, false → no, unexpected (supervisord's default) → on-failure, exitcodes → success_exit_codes. */
function mapRestart(service: ImportedService, options: Map<string, IniValue>, get: (key: string) => string | undefined): void {
  const value = (get('autorestart') ?? 'unexpected').toLowerCase();
  const policy = value === 'unexpected' ? 'on-failure' : boolOf(options.get('autorestart')!, value) ? 'always' : 'no';
  service.settings.set('restart', policy);
  const codesText = get('exitcodes');
  if (codesText === undefined) return;
  const codes = codesText.split(',').map((code) => Number(code.trim()));
  if (codes.some((code) => !Number.isInteger(code) || code < 0 || code > 255)) {
    throw new ImportError(`${where(options.get('exitcodes')!)}: exitcodes: expected a comma-separated list of exit codes, got ${JSON.stringify(codesText)}`);
  }
  const extra = codes.filter((code) => code !== 0);
  if (policy === 'on-failure' && extra.length > 0) service.settings.set('success_exit_codes', extra);
  else if (extra.length > 0) service.notes.push(`supervisord exitcodes: ${codesText} (noted: only matters with autorestart=unexpected)`);
}

function mapLogs(context: Context, service: ImportedService, options: Map<string, IniValue>, get: (key: string) => string | undefined): void {
  for (const stream of ['stdout', 'stderr'] as const) {
    const maxBytes = get(`${stream}_logfile_maxbytes`);
    if (maxBytes !== undefined) {
      const size = sizeText(maxBytes);
      if (size === undefined) throw new ImportError(`${where(options.get(`${stream}_logfile_maxbytes`)!)}: ${stream}_logfile_maxbytes: expected a size such as 50MB, got ${JSON.stringify(maxBytes)}`);
      const current = context.logs.max_size;
      if (!current) context.logs.max_size = { value: size, from: service.name };
      else if (String(current.value) !== String(size)) unmapped(context.result, service, `supervisord ${stream}_logfile_maxbytes`, maxBytes, `has no equivalent: logs.max_size is one per config (${current.value} from ${current.from})`);
    }
    const backups = get(`${stream}_logfile_backups`);
    if (backups !== undefined) {
      const keep = intOf(options.get(`${stream}_logfile_backups`), 10);
      const current = context.logs.keep;
      if (!current) context.logs.keep = { value: keep, from: service.name };
      else if (current.value !== keep) unmapped(context.result, service, `supervisord ${stream}_logfile_backups`, backups, `has no equivalent: logs.keep is one per config (${current.value} from ${current.from})`);
    }
  }
}

function envOf(value: IniValue | undefined, vars: Record<string, string | number>): Record<string, string> {
  if (!value) return {};
  const text = expandPercent(value.value.replace(/\n/g, ' '), vars, `${where(value)}: environment`);
  const pairs = parseKeyValuePairs(text);
  if (!pairs) throw new ImportError(`${where(value)}: environment: expected KEY="value",KEY2="value2", got ${JSON.stringify(text)}`);
  return pairs;
}

function intOf(value: IniValue | undefined, fallback: number): number {
  if (!value) return fallback;
  const number = Number(value.value.trim());
  if (!Number.isInteger(number) || number < 0) throw new ImportError(`${where(value)}: expected a whole number ≥ 0, got ${JSON.stringify(value.value)}`);
  return number;
}

function boolOf(value: IniValue, text: string): boolean {
  const lower = text.trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(lower)) return true;
  if (['false', 'no', 'off', '0'].includes(lower)) return false;
  throw new ImportError(`${where(value)}: expected true or false, got ${JSON.stringify(text)}`);
}

/** TERM, SIGTERM or 15 → SIGTERM. */
function signalOf(value: IniValue, text: string): string {
  const upper = text.trim().toUpperCase();
  const name = /^\d+$/.test(upper)
    ? Object.entries(constants.signals).find(([, number]) => number === Number(upper))?.[0]
    : upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (!name || !(name in constants.signals)) throw new ImportError(`${where(value)}: stopsignal: expected a signal name such as TERM, got ${JSON.stringify(text)}`);
  return name;
}

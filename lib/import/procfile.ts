/** Procfile (foreman, Heroku, honcho): `name: command` lines; a `.env` beside it becomes every service's env. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ImportError, type ImportResult, emptyResult, newService, serviceName } from './model.ts';

const LINE = /^([A-Za-z0-9_-]+)[ \t]*:[ \t]*(.*\S)[ \t]*$/;
/** foreman gives each process type a port: 5000, 5100, ... */
const FOREMAN_BASE_PORT = 5000;
const FOREMAN_PORT_STEP = 100;

export function importProcfile(file: string, text: string): ImportResult {
  const result = emptyResult();
  const folder = dirname(file);
  const envFile = join(folder, '.env');
  const env = existsSync(envFile) ? parseDotEnv(envFile, readFileSync(envFile, 'utf8')) : null;
  const taken = new Set<string>();
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const match = line.match(LINE);
    if (!match) throw new ImportError(`${basename(file)}:${index + 1}: expected "name: command", got ${JSON.stringify(line.trim())}`);
    const service = newService(serviceName(match[1]!, taken));
    if (service.name !== match[1]) service.notes.push(`Procfile name: ${match[1]}`);
    const command = match[2]!;
    service.settings.set('command', command);
    service.settings.set('cwd', folder);
    const serviceEnv: Record<string, string> = { ...env };
    if (/\$\{?PORT\b/.test(command) && serviceEnv.PORT === undefined) {
      serviceEnv.PORT = String(FOREMAN_BASE_PORT + FOREMAN_PORT_STEP * result.services.length);
      service.keyNotes.set('env', 'PORT as foreman would set it');
    }
    if (Object.keys(serviceEnv).length > 0) service.settings.set('env', serviceEnv);
    service.settings.set('restart', 'on-failure');
    result.services.push(service);
  });
  if (result.services.length === 0) throw new ImportError(`${basename(file)}: no "name: command" lines`);
  return result;
}

/** KEY=value lines, `export ` allowed, values optionally quoted; # comments. */
export function parseDotEnv(file: string, text: string): Record<string, string> {
  const env: Record<string, string> = {};
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const match = trimmed.match(/^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/);
    if (!match) throw new ImportError(`${basename(file)}:${index + 1}: expected KEY=value, got ${JSON.stringify(trimmed)}`);
    env[match[1]!] = unquote(match[2]!);
  });
  return env;
}

function unquote(raw: string): string {
  const value = raw.trim();
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
    return value.slice(1, -1).replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
  }
  if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) return value.slice(1, -1);
  return value.replace(/\s+#.*$/, '');
}

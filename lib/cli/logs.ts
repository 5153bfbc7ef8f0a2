/** `logs` and `events`: read files only, so they work without a running supervisor. */
import { existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { DURATION_EXPECTATION, parseDurationMs } from '../config/duration.ts';
import { SupervisorError } from '../core/errors.ts';
import { followEvents, followLog, followServiceLogs, formatEventOutput, interleaveServiceLogs, readEvents, readLastLines } from '../logs/reader.ts';
import { statePaths } from '../config/paths.ts';
import { readStateFile } from './status-report.ts';
import type { CliIo } from './context.ts';

export interface LogsOptions {
  n?: string;
  follow?: boolean;
  since?: string;
}

export interface EventsOptions {
  n?: string;
  follow?: boolean;
  json?: boolean;
  service?: string;
  type?: string;
}

interface LogLocations {
  logsDir: string;
  restartLog: string;
  services: string[];
}

/** The logs dir and restart log from the config when it is valid; from state_dir and the environment when it is not. */
async function locate(io: CliIo, configFile: string, stateDir: string): Promise<LogLocations> {
  try {
    const { loadConfig } = await import('../config/load.ts');
    const { config } = loadConfig({ flag: configFile, env: io.env, cwd: io.cwd });
    return { logsDir: config.logs.dir, restartLog: config.logs.restartLog, services: config.services.map((s) => s.name) };
  } catch {
    const logsDir = resolve(stateDir, io.env.RESTART_CONTROL_LOG_DIR ?? 'logs');
    const restartLog = io.env.RESTART_CONTROL_LOG ? resolve(dirname(configFile), io.env.RESTART_CONTROL_LOG) : join(logsDir, 'restart.log');
    const services = readStateFile(statePaths(stateDir).state)?.services.map((s) => s.name) ?? [];
    return { logsDir, restartLog, services };
  }
}

function parseCount(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const count = Number(value);
  if (!Number.isInteger(count) || count < 0) throw new SupervisorError('cli.bad-count', `-n: expected a whole number ≥ 0, got ${JSON.stringify(value)}`, 2);
  return count;
}

function parseSince(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDurationMs(value);
  if (ms === undefined) throw new SupervisorError('cli.bad-since', `--since: ${DURATION_EXPECTATION}, got ${JSON.stringify(value)}`, 2);
  return now - ms;
}

/** Until Ctrl-C (or SIGTERM): then exit 0. */
function untilInterrupted(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}

export async function logsCommand(io: CliIo, configFile: string, stateDir: string, names: string[], options: LogsOptions): Promise<number> {
  // --since alone means everything since then, not the last 50 of it
  const n = options.n === undefined && options.since !== undefined ? Infinity : parseCount(options.n, 50);
  const sinceMs = parseSince(options.since, Date.now());
  const where = await locate(io, configFile, stateDir);
  const print = (lines: string[]) => { if (lines.length > 0) io.stdout(`${lines.join('\n')}\n`); };
  if (names.length === 0) {
    if (options.follow) {
      await followLog(where.restartLog, print, { backlog: n, sinceMs, signal: untilInterrupted() });
      return 0;
    }
    if (!existsSync(where.restartLog) && n > 0) io.stderr(`(no restart log yet at ${where.restartLog})\n`);
    print(await readLastLines(where.restartLog, n, { sinceMs }));
    return 0;
  }
  const unknown = names.filter((name) => !where.services.includes(name) && !existsSync(join(where.logsDir, `${name}.log`)));
  if (unknown.length > 0) throw new SupervisorError('cli.unknown-service', `unknown service ${unknown.map((u) => `"${u}"`).join(', ')} (known: ${where.services.join(', ') || 'none'})`, 2);
  const services = names.map((name) => ({ name, file: join(where.logsDir, `${name}.log`) }));
  if (options.follow && services.length === 1) {
    // The backlog is read up to where following starts: nothing missed or doubled in between
    await followLog(services[0]!.file, print, { backlog: n, sinceMs, signal: untilInterrupted() });
    return 0;
  }
  print(await interleaveServiceLogs(services, n, { sinceMs }));
  if (options.follow) await followServiceLogs(services, print, { signal: untilInterrupted() });
  return 0;
}

export async function eventsCommand(io: CliIo, stateDir: string, options: EventsOptions): Promise<number> {
  const file = statePaths(stateDir).events;
  const n = parseCount(options.n, 50);
  const filters = { n, service: options.service, type: options.type?.split(',') };
  const print = (events: Parameters<typeof formatEventOutput>[0][]) => {
    io.stdout(events.map((event) => formatEventOutput(event, { json: Boolean(options.json) })).join(''));
  };
  if (options.follow) {
    await followEvents(file, print, { filters, signal: untilInterrupted() });
    return 0;
  }
  print(await readEvents(file, filters));
  return 0;
}

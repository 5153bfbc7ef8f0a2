/** `./run.ts --detach`: start the supervisor in its own session and return once its services are started. */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { APPEND_NOFOLLOW, LOG_FILE_MODE, ensurePrivateDir } from '../core/secure-fs.ts';
import { READY_FD_ENV } from './foreground.ts';
import { statePaths } from '../config/paths.ts';
import type { Config } from '../core/types.ts';

/** Lines of supervisor.log shown when the detached supervisor dies before it is ready. */
const LOG_TAIL_LINES = 15;
/** How long a refused child (already running, bad start) is given to exit before --detach returns anyway. */
const CHILD_EXIT_WAIT_MS = 5_000;

export async function detachSupervisor(config: Config, argv: string[]): Promise<number> {
  const paths = statePaths(config.stateDir);
  ensurePrivateDir(paths.dir, 'state_dir');
  const logFd = openSync(paths.supervisorLog, APPEND_NOFOLLOW, LOG_FILE_MODE);
  const args = [...absoluteImports(process.execArgv, process.cwd()), process.argv[1]!, ...withoutDetach(argv), '--config', config.file];
  const child = spawn(process.execPath, args, {
    cwd: dirname(config.file),
    detached: true,
    stdio: ['ignore', logFd, logFd, 'pipe'],
    env: { ...process.env, [READY_FD_ENV]: '3' },
  });
  closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const answer = await readReadyLine(child.stdio[3] as NodeJS.ReadableStream);
  child.unref();
  if (answer?.ok) {
    process.stdout.write(`supervisor started (pid ${answer.pid}); logs: ${paths.supervisorLog}\n`);
    // --wait-ready: the services that did not become ready (issue 11)
    for (const line of answer.not_ready ?? []) process.stderr.write(`error: ${line}\n`);
    return answer.not_ready?.length ? 1 : 0;
  }
  // A child that will not run is on its way out: return once it is gone, so no second supervisor process is left
  // behind for a moment (a cron line or a script looking right after would see two)
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((resolve) => { timer = setTimeout(resolve, CHILD_EXIT_WAIT_MS); })]);
  clearTimeout(timer);
  const already = answer?.error?.match(/already running \(pid (\d+)\)/);
  if (already) {
    process.stdout.write(`${answer!.error}\n`);
    return 0;
  }
  process.stderr.write(`error: the supervisor did not start${answer?.error ? `: ${answer.error}` : ''}\n${logTail(paths.supervisorLog)}`);
  return 1;
}

/**
 * The child runs in the config's folder: a relative `--import ./node_modules/tsx/dist/loader.mjs` (the entry header's,
 * when started as `./run.ts` from the repo root with a stale bundle, as notebook-startup.sh does) must become absolute.
 */
export function absoluteImports(execArgv: string[], cwd: string): string[] {
  const relative = (value: string) => value.startsWith('./') || value.startsWith('../');
  return execArgv.map((arg, index) => {
    if (execArgv[index - 1] === '--import' && relative(arg)) return resolve(cwd, arg);
    if (arg.startsWith('--import=') && relative(arg.slice('--import='.length))) return `--import=${resolve(cwd, arg.slice('--import='.length))}`;
    return arg;
  });
}

function withoutDetach(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--detach') continue;
    if (argv[i] === '--config') { i++; continue; }
    if (argv[i]!.startsWith('--config=')) continue;
    out.push(argv[i]!);
  }
  return out;
}

function readReadyLine(stream: NodeJS.ReadableStream): Promise<{ ok: boolean; pid?: number; error?: string; not_ready?: string[] } | null> {
  return new Promise((resolve) => {
    let buffer = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffer += chunk;
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      try {
        resolve(JSON.parse(buffer.slice(0, newline)));
      } catch {
        resolve(null);
      }
      (stream as unknown as { destroy: () => void }).destroy();
    });
    stream.on('end', () => resolve(null));
    stream.on('error', () => resolve(null));
  });
}

function logTail(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-LOG_TAIL_LINES);
    return `--- last lines of ${file} ---\n${lines.join('\n')}\n`;
  } catch {
    return '';
  }
}

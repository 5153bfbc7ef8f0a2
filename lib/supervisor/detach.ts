/** `./run.ts --detach`: start the supervisor in its own session and return once its services are started. */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensureDir } from '../core/atomic.ts';
import { READY_FD_ENV } from './foreground.ts';
import { statePaths } from '../config/paths.ts';
import type { Config } from '../core/types.ts';

/** Lines of supervisor.log shown when the detached supervisor dies before it is ready. */
const LOG_TAIL_LINES = 15;
/** How long the launcher waits for a child that refused to start to exit. */
const REFUSED_EXIT_WAIT_MS = 5_000;

export async function detachSupervisor(config: Config, argv: string[]): Promise<number> {
  const paths = statePaths(config.stateDir);
  ensureDir(paths.dir);
  const logFd = openSync(paths.supervisorLog, 'a');
  const args = [...process.execArgv, process.argv[1]!, ...withoutDetach(argv), '--config', config.file];
  const child = spawn(process.execPath, args, {
    cwd: dirname(config.file),
    detached: true,
    stdio: ['ignore', logFd, logFd, 'pipe'],
    env: { ...process.env, [READY_FD_ENV]: '3' },
  });
  closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const answer = await readReadyLine(child.stdio[3] as NodeJS.ReadableStream);
  // A child that refused to start (already running, config) is on its way out: return once it is gone, never beside it
  if (!answer?.ok) await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, REFUSED_EXIT_WAIT_MS).unref())]);
  child.unref();
  if (answer?.ok) {
    process.stdout.write(`supervisor started (pid ${answer.pid}); logs: ${paths.supervisorLog}\n`);
    return 0;
  }
  const already = answer?.error?.match(/already running \(pid (\d+)\)/);
  if (already) {
    process.stdout.write(`${answer!.error}\n`);
    return 0;
  }
  process.stderr.write(`error: the supervisor did not start${answer?.error ? `: ${answer.error}` : ''}\n${logTail(paths.supervisorLog)}`);
  return 1;
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

function readReadyLine(stream: NodeJS.ReadableStream): Promise<{ ok: boolean; pid?: number; error?: string } | null> {
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

/** The supervisor process: start, print events, stop cleanly on SIGTERM/SIGINT, survive SIGHUP. */
import { writeSync } from 'node:fs';
import { Supervisor } from './supervisor.ts';
import { formatRestartLogEntry } from '../logs/restart-log.ts';
import type { Config } from '../core/types.ts';

/** Set by `--detach`: the fd on which the detached child reports that it is up. */
export const READY_FD_ENV = 'RESTART_CONTROL_READY_FD';

export async function runForeground(config: Config, options: { waitReady?: boolean } = {}): Promise<number> {
  const supervisor = new Supervisor(config, {
    onEvent: (event) => process.stdout.write(formatRestartLogEntry(event)),
  });
  const readyFd = process.env[READY_FD_ENV] ? Number(process.env[READY_FD_ENV]) : null;
  delete process.env[READY_FD_ENV];
  try {
    await supervisor.start();
  } catch (error) {
    if (readyFd !== null) report(readyFd, { ok: false, error: (error as Error).message });
    // shutdown() touches nothing when the lock was never ours
    await supervisor.shutdown('startup failed').catch(() => undefined);
    throw error;
  }
  const stop = (signal: string) => void supervisor.shutdown(`received ${signal}`).then(() => process.exit(0));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => void supervisor.reloadFromSignal?.());
  // A detached supervisor has no terminal: a closed stdout must not kill it
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  // Issue 11: --wait-ready reports once every autostart service is ready, naming those that are not
  const notReady = readyFd !== null && options.waitReady ? await supervisor.notReadyServices() : [];
  if (readyFd !== null) report(readyFd, { ok: true, pid: process.pid, not_ready: notReady });
  await new Promise(() => undefined);
  return 0;
}

function report(fd: number, message: unknown): void {
  try {
    writeSync(fd, `${JSON.stringify(message)}\n`);
  } catch {
    // the launcher went away: nothing to tell
  }
}

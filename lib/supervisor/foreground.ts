/** The supervisor process: start, print events, stop cleanly on SIGTERM/SIGINT, survive SIGHUP. */
import { writeSync } from 'node:fs';
import { Supervisor } from './supervisor.ts';
import { installLastResortHandlers } from './last-resort.ts';
import { formatRestartLogEntry } from '../logs/restart-log.ts';
import type { Config } from '../core/types.ts';

/** Set by `--detach`: the fd on which the detached child reports that it is up. */
export const READY_FD_ENV = 'RESTART_CONTROL_READY_FD';

export async function runForeground(config: Config, options: { waitReady?: boolean } = {}): Promise<number> {
  // A detached supervisor has no terminal: a closed stdout must not kill it
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const supervisor = new Supervisor(config, {
    onEvent: (event) => process.stdout.write(formatRestartLogEntry(event)),
  });
  installLastResortHandlers((event) => supervisor.events.record(event));
  const readyFd = process.env[READY_FD_ENV] ? Number(process.env[READY_FD_ENV]) : null;
  delete process.env[READY_FD_ENV];
  // Installed before the first spawn: a signal during start-up (a long first watch scan) stops what has started
  let started = false;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    if (!started && readyFd !== null) report(readyFd, { ok: false, error: `received ${signal} while starting` });
    void supervisor.shutdown(`received ${signal}`).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // SIGHUP reloads once running; while starting it is the terminal going away (or an impatient user): stop
  process.on('SIGHUP', () => (started ? void supervisor.reloadFromSignal() : stop('SIGHUP')));
  try {
    await supervisor.start();
  } catch (error) {
    if (stopping) return new Promise(() => undefined); // the signal's shutdown exits
    if (readyFd !== null) report(readyFd, { ok: false, error: (error as Error).message });
    // shutdown() touches nothing when the lock was never ours
    await supervisor.shutdown('startup failed').catch(() => undefined);
    throw error;
  }
  if (stopping) return new Promise(() => undefined);
  // --wait-ready reports once every autostart service is ready, naming those that are not
  const notReady = readyFd !== null && options.waitReady ? await supervisor.notReadyServices() : [];
  if (stopping) return new Promise(() => undefined);
  started = true;
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

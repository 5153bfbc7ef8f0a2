/** One supervisor per state_dir: proper-lockfile, plus our own check of the holder's pid (the lock is judged stale only by mtime). */
import { readFileSync, rmSync, statSync } from 'node:fs';
import lockfile from 'proper-lockfile';
import { SupervisorError } from './errors.ts';
import { isAlive } from './proc.ts';
import { processStartedAtMs } from './proc-time.ts';

/** Every party must use the same value: a shorter one steals a live lock. */
const LOCK_STALE_MS = 10_000;
const LOCK_UPDATE_MS = 2_000;
/** A holder that took the lock but has not written its pid file yet. */
const PID_FILE_GRACE_MS = 1_500;

export class AlreadyRunningError extends SupervisorError {
  constructor(readonly pid: number) {
    super('supervisor.already-running', `already running (pid ${pid})`, 1);
  }
}

/** The pid in supervisor.pid when that process is alive and is the one that wrote it (not a reused pid). */
export function runningSupervisorPid(pidFile: string): number | null {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return null;
    const started = processStartedAtMs(pid);
    // A process that started after the pid file was written cannot be its writer (btime has 1 s resolution)
    if (started !== null && started > statSync(pidFile).mtimeMs + 1000) return null;
    return pid;
  } catch {
    return null;
  }
}

export async function acquireSupervisorLock(lockTarget: string, pidFile: string, onCompromised: (error: Error) => void): Promise<() => Promise<void>> {
  const lockDir = `${lockTarget}.lock`;
  const deadline = Date.now() + PID_FILE_GRACE_MS;
  for (;;) {
    try {
      return await lockfile.lock(lockTarget, { realpath: false, stale: LOCK_STALE_MS, update: LOCK_UPDATE_MS, retries: 0, onCompromised });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
      const holder = runningSupervisorPid(pidFile);
      if (holder !== null) throw new AlreadyRunningError(holder);
      if (Date.now() < deadline && lockAgeMs(lockDir) < PID_FILE_GRACE_MS) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      // The holder is dead (SIGKILLed supervisor): its lock must not block us
      rmSync(lockDir, { recursive: true, force: true });
    }
  }
}

function lockAgeMs(lockDir: string): number {
  try {
    return Date.now() - statSync(lockDir).mtimeMs;
  } catch {
    return Infinity;
  }
}

/**
 * One supervisor per state_dir: proper-lockfile, plus our own check of the holder (the library judges a lock stale
 * only by its mtime). The holder's pid is written inside the lock directory, so the check never depends on
 * supervisor.pid, which a user may delete.
 */
import { rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { SupervisorError } from '../core/errors.ts';
import { livePidFrom } from '../process/pid-file.ts';

/** Every party must use the same value: a shorter one steals a live lock. A live holder refreshes the mtime every LOCK_UPDATE_MS. */
const LOCK_STALE_MS = 10_000;
const LOCK_UPDATE_MS = 2_000;
const HOLDER_FILE = 'holder';
const RETRY_MS = 100;

export class AlreadyRunningError extends SupervisorError {
  constructor(readonly pid: number) {
    super('supervisor.already-running', `already running (pid ${pid})`, 1);
  }
}

type Holder = { state: 'alive'; pid: number } | { state: 'dead' } | { state: 'unknown'; ageMs: number };

function lockHolder(lockDir: string, pidFile: string): Holder {
  const holderFile = join(lockDir, HOLDER_FILE);
  const pid = livePidFrom(holderFile) ?? livePidFrom(pidFile);
  if (pid !== null) return { state: 'alive', pid };
  let ageMs = Infinity;
  try {
    ageMs = Date.now() - statSync(lockDir).mtimeMs;
  } catch {
    return { state: 'dead' };
  }
  try {
    statSync(holderFile);
    return { state: 'dead' }; // it wrote its pid, and that process is gone: SIGKILLed
  } catch {
    return { state: 'unknown', ageMs }; // just taking the lock, or a lock from before holder files
  }
}

/** Our pid inside the lock dir. proper-lockfile takes a changed dir mtime for a stolen lock: put the mtime back. */
function writeHolder(lockDir: string): void {
  const { atime, mtime } = statSync(lockDir);
  writeFileSync(join(lockDir, HOLDER_FILE), `${process.pid}\n`);
  utimesSync(lockDir, atime, mtime);
}

export async function acquireSupervisorLock(lockTarget: string, pidFile: string, onCompromised: (error: Error) => void): Promise<() => Promise<void>> {
  const lockDir = `${lockTarget}.lock`;
  for (;;) {
    try {
      const release = await lockfile.lock(lockTarget, { realpath: false, stale: LOCK_STALE_MS, update: LOCK_UPDATE_MS, retries: 0, onCompromised });
      writeHolder(lockDir);
      return async () => {
        // proper-lockfile removes the lock with rmdir: it must be empty
        rmSync(join(lockDir, HOLDER_FILE), { force: true });
        await release();
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
      const holder = lockHolder(lockDir, pidFile);
      if (holder.state === 'alive') throw new AlreadyRunningError(holder.pid);
      // A live holder refreshes the lock's mtime, so one older than LOCK_STALE_MS has no live holder either
      if (holder.state === 'dead' || holder.ageMs > LOCK_STALE_MS) rmSync(lockDir, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}

export { runningSupervisorPid } from '../process/pid-file.ts';

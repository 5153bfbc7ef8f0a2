/**
 * One supervisor per state_dir. The lock is the directory `<target>.lock`; owning it means owning the file `holder`
 * inside, which names the holder's pid. Judged by that pid only, never by age: a lock left by a dead holder, of any
 * age, never blocks, and a live holder's lock is never stolen however old it looks.
 *
 * Taking is link(2) of a complete temp file onto `holder`: atomic, and exactly one party wins. Breaking a dead
 * holder's file first takes a break token named after that very file (mkdir, atomic), so two supervisors started at
 * once after a reboot never both remove a holder: the loser of the token waits, the winner removes the dead file, and
 * the link decides who takes the lock. (proper-lockfile, used before, removed a stale lock with rmdir while our
 * holder file was inside, and every later start failed with ENOTEMPTY.)
 */
import { linkSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SupervisorError } from '../core/errors.ts';
import { livePidFrom } from '../process/pid-file.ts';

const HOLDER_FILE = 'holder';
const BREAK_PREFIX = 'break-';
const RETRY_MS = 50;
/** A break token whose owner died between taking it and removing the dead holder: old enough, nobody is using it. */
const ABANDONED_TOKEN_MS = 5_000;
/** How often a holder checks that the lock is still its own. */
const CHECK_MS = 10_000;

export class AlreadyRunningError extends SupervisorError {
  constructor(readonly pid: number) {
    super('supervisor.already-running', `already running (pid ${pid})`, 1);
  }
}

interface HolderFile {
  ino: number;
  mtimeMs: number;
  /** The holder's pid when it is alive and the one that wrote the file, else null. */
  livePid: number | null;
  /** Empty and fresh: being written (filesystems without hard links only). */
  writing: boolean;
}

function readHolder(file: string): HolderFile | null {
  try {
    const stat = statSync(file);
    return { ino: stat.ino, mtimeMs: stat.mtimeMs, livePid: livePidFrom(file), writing: stat.size === 0 && Date.now() - stat.mtimeMs < 2_000 };
  } catch {
    return null;
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/** link(2) of a complete file: the holder is never seen half written, and only one party can create it. */
function tryTake(lockDir: string): boolean {
  const temp = join(lockDir, `.holder-${process.pid}-${randomBytes(6).toString('hex')}`);
  writeFileSync(temp, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
  try {
    linkSync(temp, join(lockDir, HOLDER_FILE));
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    if (errorCode(error) !== 'EPERM' && errorCode(error) !== 'ENOTSUP') throw error;
    // A filesystem without hard links: O_EXCL creation is as exclusive, with a moment where the file is empty
    try {
      writeFileSync(join(lockDir, HOLDER_FILE), `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return true;
    } catch (fallbackError) {
      if (errorCode(fallbackError) === 'EEXIST') return false;
      throw fallbackError;
    }
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Removes `dead` (the holder file as it was judged) if this party wins its break token; false when another party does. */
function tryBreak(lockDir: string, dead: HolderFile): boolean {
  const token = join(lockDir, `${BREAK_PREFIX}${dead.ino}-${Math.round(dead.mtimeMs)}`);
  try {
    mkdirSync(token);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
    try {
      if (Date.now() - statSync(token).mtimeMs > ABANDONED_TOKEN_MS) rmSync(token, { recursive: true, force: true });
    } catch {
      // removed meanwhile
    }
    return false;
  }
  // Only a token owner removes a holder file, so the file is still the one judged unless it is gone or new
  const now = readHolder(join(lockDir, HOLDER_FILE));
  if (now && now.ino === dead.ino && now.mtimeMs === dead.mtimeMs && now.livePid === null) unlinkSync(join(lockDir, HOLDER_FILE));
  return true;
}

function removeBreakTokens(lockDir: string): void {
  try {
    for (const name of readdirSync(lockDir)) if (name.startsWith(BREAK_PREFIX)) rmSync(join(lockDir, name), { recursive: true, force: true });
  } catch {
    // nothing to tidy
  }
}

/** `pidFile` is no longer consulted (the holder file alone decides); kept so callers need not change. */
export async function acquireSupervisorLock(lockTarget: string, _pidFile: string, onCompromised: (error: Error) => void): Promise<() => Promise<void>> {
  const lockDir = `${lockTarget}.lock`;
  const holderFile = join(lockDir, HOLDER_FILE);
  for (;;) {
    try {
      mkdirSync(lockDir, { mode: 0o700 });
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
    }
    if (tryTake(lockDir)) break;
    const holder = readHolder(holderFile);
    if (holder?.livePid != null) throw new AlreadyRunningError(holder.livePid);
    if (holder && !holder.writing && tryBreak(lockDir, holder)) continue;
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  removeBreakTokens(lockDir);
  const taken = statSync(holderFile).ino;
  let reported = false;
  const check = setInterval(() => {
    const now = readHolder(holderFile);
    if (reported || (now && now.ino === taken)) return;
    reported = true;
    onCompromised(new Error(`${holderFile} was removed or replaced by another process`));
  }, CHECK_MS);
  check.unref();
  return async () => {
    clearInterval(check);
    const now = readHolder(holderFile);
    if (now?.ino === taken) rmSync(holderFile, { force: true });
    removeBreakTokens(lockDir);
    try {
      rmdirSync(lockDir);
    } catch {
      // gone, or not empty (another supervisor is taking it): leave it
    }
  };
}

export { runningSupervisorPid } from '../process/pid-file.ts';

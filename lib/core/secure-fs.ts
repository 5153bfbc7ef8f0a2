/**
 * Files and folders the supervisor writes where others might write too: private folders (0700, ours, not open to
 * others), files opened without following symlinks, temp files with unpredictable names created exclusively.
 */
import { constants, lstatSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { SupervisorError } from './errors.ts';

/** Mode of the folders the supervisor creates (state_dir, logs dir, pids). */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of state files, pid files, the socket folder. */
export const PRIVATE_FILE_MODE = 0o600;
/** Mode of log files: the owner's group may read them (a log shipper). */
export const LOG_FILE_MODE = 0o640;

const { O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } = constants;
/** Read, never through a symlink. */
export const READ_NOFOLLOW = O_RDONLY | O_NOFOLLOW;
/** Append, create when missing, never through a symlink planted at the path (ELOOP instead). */
export const APPEND_NOFOLLOW = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW;
/** A new file only: fails if anything (a file, a symlink) already has the name. */
export const CREATE_EXCLUSIVE = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;

/** `<file>.<16 random hex>.tmp`: nobody can guess it, so nobody can plant something there first. */
export function unpredictableTempName(file: string): string {
  // node:crypto loads at the first write, not in every CLI command that only reads
  const { randomBytes } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return `${file}.${randomBytes(8).toString('hex')}.tmp`;
}

/**
 * Why `path` (an existing folder) is not safe to keep our state in, or null when it is. `allowRoot`: a folder root
 * owns is fine too (a restart log in /var/log): root can do anything anyway.
 */
export function unsafeDirReason(path: string, uid = process.getuid?.() ?? -1, allowRoot = false): string | null {
  let info;
  try {
    info = statSync(path);
  } catch (error) {
    return `cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
  }
  if (!info.isDirectory()) return 'is not a folder';
  if (uid >= 0 && info.uid !== uid && !(allowRoot && info.uid === 0)) return `is owned by uid ${info.uid}, not by this user (uid ${uid})`;
  const sticky = (info.mode & 0o1000) !== 0;
  if ((info.mode & 0o022) !== 0 && !sticky) {
    return `is writable by ${(info.mode & 0o002) !== 0 ? 'everyone' : 'its group'} (mode ${(info.mode & 0o7777).toString(8)}) without the sticky bit`;
  }
  return null;
}

/**
 * Creates `path` (and missing parents) with mode 0700, or checks that the existing one is ours and not writable by
 * others. Throws a one-line SupervisorError naming the folder, its role and the fix.
 */
export function ensurePrivateDir(path: string, role: string): void {
  try {
    mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new SupervisorError('fs.unsafe-dir', `${role} ${path}: cannot be created (${code})`, 1);
  }
  const reason = unsafeDirReason(path);
  if (reason) {
    throw new SupervisorError('fs.unsafe-dir', `${role} ${path} ${reason}: refusing to use it (use a folder of your own, or chmod go-w / chown it)`, 1);
  }
}

/** True when `path` exists and is a symlink (for refusing one where a file of ours belongs). */
export function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

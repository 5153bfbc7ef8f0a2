/** Atomic file writes: write a temp file beside the target, then rename over it. */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CREATE_EXCLUSIVE, PRIVATE_FILE_MODE, unpredictableTempName } from './secure-fs.ts';

/** The temp name is unpredictable and created with O_EXCL|O_NOFOLLOW: a file or symlink planted beside the target is never written through. */
export function writeFileAtomic(file: string, content: string, mode = PRIVATE_FILE_MODE): void {
  const temp = unpredictableTempName(file);
  const fd = openSync(temp, CREATE_EXCLUSIVE, mode);
  try {
    try {
      writeFileSync(fd, content);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (error) {
    // A half-written temp file on a full disk would hold the space the next attempt needs
    try {
      rmSync(temp, { force: true });
    } catch {
      // not ours to remove (a directory in its place)
    }
    throw error;
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

export function ensureDir(path: string, mode?: number): void {
  mkdirSync(path, { recursive: true, mode });
}

export function ensureParent(file: string): void {
  ensureDir(dirname(file));
}

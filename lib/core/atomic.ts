/** Atomic file writes: write a temp file beside the target, then rename over it. */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export function writeFileAtomic(file: string, content: string, mode = 0o644): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, content, { mode });
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

/** Following a log like `tail -F`: new lines as they are appended, across rotations, without a line missed or doubled. */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { logFiles, rotatedName, splitLines } from './files.ts';

const BLOCK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;
const EMPTY = Buffer.alloc(0);

/** The current file pinned by an open fd, read up to `end` (what a follower has not read yet comes after). */
export interface Pinned { handle: FileHandle; end: number }

/** How to follow, whatever is read: log lines or events. */
export interface FollowControl {
  /** @default 200 */
  pollMs?: number;
  /** Stops following (Ctrl-C). */
  signal?: AbortSignal;
  /** Called once the file is open (or known missing) and the backlog emitted: lines written from now on are seen. */
  onReady?: () => void;
}

interface Followed { handle: FileHandle; id: string; offset: number; partial: Buffer }

const idOf = (info: { dev: number; ino: number }): string => `${info.dev}:${info.ino}`;

/**
 * A file already read, recognisable after it was gzipped (a new inode): the compressor keeps its mtime, and the gzip
 * trailer holds the uncompressed size (mod 2^32).
 */
export interface ReadFile { id: string; mtimeMs: number; size: number }

async function readFileMarker(handle: FileHandle, id: string): Promise<ReadFile> {
  const info = await handle.stat();
  return { id, mtimeMs: Math.floor(info.mtimeMs), size: info.size };
}

async function isSameFile(path: string, id: string, read: ReadFile): Promise<boolean> {
  const handle = await open(path, 'r').catch(() => null);
  if (!handle) return false;
  try {
    const info = await handle.stat();
    // Copying an mtime through a Date rounds it to the millisecond: allow 1 ms
    if (Math.abs(Math.floor(info.mtimeMs) - read.mtimeMs) > 1) return false;
    // The same inode with the same mtime and size: an inode freed and reused by a newer file differs in these
    if (id === read.id) return info.size === read.size;
    if (!path.endsWith('.gz') || info.size < 4) return false;
    const trailer = Buffer.alloc(4);
    await handle.read(trailer, 0, 4, info.size - 4);
    return trailer.readUInt32LE(0) === read.size % 2 ** 32;
  } finally {
    await handle.close().catch(() => {});
  }
}

/** The loop behind followLog and followEvents: `backlog` runs once the file is pinned, before any appended line is emitted. */
export async function follow(
  file: string, onLines: (lines: string[]) => void, options: FollowControl,
  backlog: (pinned: Pinned | undefined) => Promise<void>,
): Promise<void> {
  const { pollMs = 200, signal } = options;
  let current = await openFollowed(file, 'end');
  // While the file is missing, rotated files that appear are new too: remember the ones that existed.
  const existingIds = current ? null : new Set((await Promise.all(logFiles(file).map(identity))).filter((id): id is string => id !== null));
  try {
    await backlog(current ? { handle: current.handle, end: current.offset } : undefined);
    options.onReady?.();
    while (!signal?.aborted) {
      if (current) await readNew(current, onLines);
      const onDisk = await stat(file).catch(() => null);
      if (onDisk && (current === null || idOf(onDisk) !== current.id)) {
        // Open the new file first: whatever rotates after this is found by its identity on a later turn.
        const next = await openFollowed(file, 'start');
        if (next) {
          if (current) {
            await readNew(current, onLines); // the last lines written before the rename
            if (current.partial.length > 0) onLines([current.partial.toString('utf8')]);
            await readRotatedBetween(file, await readFileMarker(current.handle, current.id), next.id, onLines);
            await current.handle.close().catch(() => {});
          } else if (existingIds) {
            await readRotatedBetween(file, existingIds, next.id, onLines);
          }
          current = next;
          continue;
        }
      } else if (current && onDisk && onDisk.size < current.offset) {
        // Truncated in place (copytruncate): start over.
        current.offset = 0;
        current.partial = EMPTY;
        continue;
      } else if (current && onDisk && onDisk.size > current.offset) {
        continue;
      }
      await sleep(pollMs, signal);
    }
  } finally {
    await current?.handle.close().catch(() => {});
  }
}

async function openFollowed(file: string, from: 'start' | 'end'): Promise<Followed | null> {
  const handle = await open(file, 'r').catch(() => null);
  if (!handle) return null;
  const info = await handle.stat();
  return { handle, id: idOf(info), offset: from === 'end' ? info.size : 0, partial: EMPTY };
}

async function readNew(current: Followed, onLines: (lines: string[]) => void): Promise<void> {
  const block = Buffer.allocUnsafe(BLOCK_BYTES);
  for (;;) {
    const { bytesRead } = await current.handle.read(block, 0, BLOCK_BYTES, current.offset);
    if (bytesRead === 0) return;
    current.offset += bytesRead;
    const data = current.partial.length > 0 ? Buffer.concat([current.partial, block.subarray(0, bytesRead)]) : block.subarray(0, bytesRead);
    const last = data.lastIndexOf(NEWLINE);
    current.partial = Buffer.from(data.subarray(last + 1));
    if (last >= 0) onLines(data.toString('utf8', 0, last).split('\n'));
  }
}

async function identity(path: string): Promise<string | null> {
  const info = await stat(path).catch(() => null);
  return info ? idOf(info) : null;
}

/**
 * Rotations faster than our polling: emits, oldest first, the rotated files newer than the last one read (`read`
 * tells it apart: one identity, or the set that existed when following started) and older than `nextId`, the file
 * now open at the path. Names shift while we look, so files are tracked by identity: each step finds the oldest
 * unread file, opens it, checks it is still that file (else looks again), then reads it. A file gzipped meanwhile has
 * a new identity: it is recognised by its kept mtime and the uncompressed size in its gzip trailer.
 */
export async function readRotatedBetween(file: string, read: ReadFile | Set<string>, nextId: string, onLines: (lines: string[]) => void): Promise<void> {
  for (let attempts = 0; attempts < 10_000; attempts++) {
    const last = read;
    const { oldestUnread, met } = await findOldestUnread(file, (path, id) => (last instanceof Set ? last.has(id) : isSameFile(path, id, last)));
    if ((!met && !(read instanceof Set)) || !oldestUnread || oldestUnread.id === nextId) return;
    const handle = await open(oldestUnread.path, 'r').catch(() => null);
    if (!handle) continue;
    try {
      if (idOf(await handle.stat()) !== oldestUnread.id) continue;
      const raw = await handle.readFile();
      const lines = await splitLines(raw, oldestUnread.path.endsWith('.gz'));
      if (lines.length > 0) onLines(lines);
      // As it will look once gzipped: same mtime, uncompressed size
      read = { id: oldestUnread.id, mtimeMs: Math.floor((await handle.stat()).mtimeMs), size: raw.length };
    } finally {
      await handle.close().catch(() => {});
    }
  }
}

/**
 * Walks `.1`, `.2`, … (newest first) until a file `isRead` accepts; returns the one just before it. Walking upward is
 * safe while rotations shift names upward: a file moves the way we walk, so it is met again, never jumped over.
 */
async function findOldestUnread(file: string, isRead: (path: string, id: string) => boolean | Promise<boolean>): Promise<{ oldestUnread: { path: string; id: string } | null; met: boolean }> {
  const highest = Math.max(0, ...logFiles(file).map((path) => Number(/\.(\d+)(?:\.gz)?$/.exec(path)?.[1] ?? 0)));
  let oldestUnread: { path: string; id: string } | null = null;
  for (let index = 1; ; index++) {
    let path = rotatedName(file, index);
    let id = await identity(path);
    if (id === null) { path = rotatedName(file, index, true); id = await identity(path); }
    if (id === null) {
      if (index > highest) return { oldestUnread, met: false };
      continue;
    }
    if (await isRead(path, id)) return { oldestUnread, met: true };
    oldestUnread = { path, id };
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve(); };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

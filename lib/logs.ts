/** A rotating, line-safe log sink: service output, restart.log and events.jsonl all go through it. */
import { EventEmitter } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { type LogsConfig } from './types.ts';

export interface RotatingLogOptions {
  file: string;
  /** Rotate before a line would take the file past this many bytes. 0 = never rotate. */
  maxSizeBytes: number;
  /** Rotated files kept (`<file>.1` newest … `<file>.<keep>`); older ones are deleted. */
  keep: number;
  /** gzip each rotated file in the background (`<file>.N.gz`). */
  compress: boolean;
  /** Called once per failure episode (the first failed open/write after a success). */
  onError?: (err: Error) => void;
  /** Called when writing works again; `droppedLines` were lost in between. */
  onRecover?: (info: { droppedLines: number }) => void;
  /** Queued bytes at which write() returns false. @default 1 MiB */
  highWaterMark?: number;
  /** While writing fails, bytes held for later; once past it, lines are dropped (and counted) until recovery. @default 8 MiB */
  maxBufferBytes?: number;
  /** Delay between attempts while failing. @default 1000 */
  retryMs?: number;
  /** How often to check that `file` still names the open file (deleted, moved away, directory replaced). @default 1000 */
  checkMs?: number;
  /** Line written where lines were dropped; null = write nothing there. @default {@link droppedLinesNote} */
  recoveryNote?: ((info: { droppedLines: number }) => string) | null;
}

const DEFAULTS = { highWaterMark: 1 << 20, maxBufferBytes: 8 << 20, retryMs: 1000, checkMs: 1000 };
const NEWLINE = 0x0a;
/** Well over a follower's poll interval (200 ms), so `logs -f` reads a rotated file before it turns into .gz. */
const COMPRESS_GRACE_MS = 2000;
const NEWLINE_BUFFER = Buffer.from('\n');

export function droppedLinesNote({ droppedLines }: { droppedLines: number }): string {
  return `[restart-control] ${droppedLines} lines dropped here: the log could not be written`;
}

/** `<logs dir>/<service>.log`: where a service's stdout and stderr go. */
export function serviceLogFile(logs: LogsConfig, service: string): string {
  return join(logs.dir, `${service}.log`);
}

/** The rotation settings of the `logs:` config, for any RotatingLog. */
export function rotationOptions(logs: LogsConfig): Pick<RotatingLogOptions, 'maxSizeBytes' | 'keep' | 'compress'> {
  return { maxSizeBytes: logs.maxSizeBytes, keep: logs.keep, compress: logs.compress };
}

export function rotatedName(file: string, index: number, gzipped = false): string {
  return `${file}.${index}${gzipped ? '.gz' : ''}`;
}

/** A background gzip of a rotated file; `index` follows the file as later rotations shift it. */
interface CompressJob { index: number; done: Promise<void> }

export class RotatingLog extends EventEmitter {
  private readonly file: string;
  private readonly options: Required<Omit<RotatingLogOptions, 'onError' | 'onRecover'>> & Pick<RotatingLogOptions, 'onError' | 'onRecover'>;
  private queue: Buffer[] = [];
  /** Called once everything queued before them is on disk (or dropped). */
  private waiters: Array<() => void> = [];
  private rotateWaiters: Array<() => void> = [];
  /** Queued plus in-flight bytes. */
  private pendingBytes = 0;
  private handle: FileHandle | null = null;
  private identity: { dev: number; ino: number } | null = null;
  private size = 0;
  private pumping = false;
  private scheduled = false;
  private needDrain = false;
  private failing = false;
  private dropping = false;
  private droppedLines = 0;
  private checkDue = false;
  private closing: Promise<void> | null = null;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly checkTimer: NodeJS.Timeout;
  private readonly jobs = new Set<CompressJob>();
  private jobCount = 0;
  /** Serialises renames between rotation and the end of a compression. */
  private dirLock: Promise<unknown> = Promise.resolve();
  /** Compressions waiting out their grace period; close() ends the wait. */
  private readonly graceTimers = new Map<NodeJS.Timeout, () => void>();

  constructor(options: RotatingLogOptions) {
    super();
    this.file = options.file;
    this.options = {
      ...options,
      highWaterMark: options.highWaterMark ?? DEFAULTS.highWaterMark,
      maxBufferBytes: options.maxBufferBytes ?? DEFAULTS.maxBufferBytes,
      retryMs: options.retryMs ?? DEFAULTS.retryMs,
      checkMs: options.checkMs ?? DEFAULTS.checkMs,
      recoveryNote: options.recoveryNote === undefined ? droppedLinesNote : options.recoveryNote,
    };
    this.checkTimer = setInterval(() => {
      if (this.handle && !this.failing) { this.checkDue = true; this.kick(); }
    }, this.options.checkMs).unref();
    this.kick(); // create the file now, so `logs -f` has something to follow
  }

  /**
   * Appends complete lines (a missing final newline is added). Returns false when the caller should pause until 'drain';
   * never while writing fails (see maxBufferBytes). `callback` runs once the data is on disk, or dropped.
   */
  write(lines: string | Buffer, callback?: () => void): boolean {
    let chunk = typeof lines === 'string' ? Buffer.from(lines) : lines;
    if (chunk.length > 0 && chunk[chunk.length - 1] !== NEWLINE) chunk = Buffer.concat([chunk, NEWLINE_BUFFER]);
    if (this.closed || (this.failing && this.mustDrop(chunk))) {
      this.droppedLines += countLines(chunk);
      callback?.();
      return true;
    }
    if (chunk.length > 0) { this.queue.push(chunk); this.pendingBytes += chunk.length; }
    if (callback) this.waiters.push(callback);
    this.kick();
    // While failing we never push back: a paused pipe would block the service on a broken disk.
    if (this.failing || this.pendingBytes < this.options.highWaterMark) return true;
    this.needDrain = true;
    return false;
  }

  /** One line from the supervisor itself (restart.log, events.jsonl). */
  writeLine(text: string): void {
    this.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Starts a new file (rotate_on_restart) once what was written before the call is on disk. No-op while failing or empty. */
  rotate(): Promise<void> {
    if (this.closed || this.failing) return Promise.resolve();
    return new Promise((resolve) => { this.rotateWaiters.push(resolve); this.kick(); });
  }

  /** Resolves when everything written so far is on disk (or dropped). While failing, waits for recovery. */
  flush(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => { this.waiters.push(resolve); this.kick(); });
  }

  /** Flushes (unless failing: then what is buffered is dropped), closes the file and waits for compressions. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.checkTimer);
    if (!this.failing) await this.flush();
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.abandonQueue();
    while (this.pumping) await new Promise((resolve) => setImmediate(resolve));
    await this.closeHandle();
    for (const [timer, release] of this.graceTimers) { clearTimeout(timer); release(); }
    await Promise.all([...this.jobs].map((job) => job.done));
    this.emit('drain'); // release anyone still paused on us
  }

  private mustDrop(chunk: Buffer): boolean {
    // Once dropping starts it lasts until recovery, so the gap is one run of lines the note can mark.
    if (!this.dropping && this.pendingBytes + chunk.length > this.options.maxBufferBytes) this.dropping = true;
    return this.dropping;
  }

  private kick(): void {
    if (this.scheduled || this.pumping || this.failing || this.closed) return;
    // Deferring to setImmediate batches everything that arrives in one tick into one write.
    this.scheduled = true;
    setImmediate(() => { this.scheduled = false; void this.pump(); });
  }

  private async pump(): Promise<void> {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    try {
      await this.cycle();
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.pumping = false;
    }
    // Something may have arrived between the last check in cycle() and here.
    if (this.queue.length > 0 || this.waiters.length > 0 || this.rotateWaiters.length > 0) this.kick();
  }

  private async cycle(): Promise<void> {
    for (;;) {
      if (this.checkDue) { this.checkDue = false; await this.checkIdentity(); }
      if (this.handle === null) await this.openFile();
      if (this.queue.length > 0) await this.writeQueued();
      else if (this.failing) this.recover(); // nothing to write and the file opens: that is recovery too
      // After the batch, so that lines written before rotate() was called stay in the old file.
      if (this.rotateWaiters.length > 0) {
        if (this.size > 0) await this.rotateNow();
        settle(this.rotateWaiters.splice(0));
      }
      if (this.queue.length === 0) { settle(this.waiters.splice(0)); return; }
    }
  }

  private async writeQueued(): Promise<void> {
    const batch = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue);
    const waiters = this.waiters;
    this.queue = [];
    this.waiters = [];
    const cursor = { offset: 0 };
    try {
      await this.writeBatch(batch, cursor);
    } catch (error) {
      this.queue.unshift(batch.subarray(cursor.offset));
      this.waiters.unshift(...waiters);
      throw error;
    }
    if (this.failing) this.recover();
    settle(waiters);
    if (this.needDrain && this.pendingBytes < this.options.highWaterMark) { this.needDrain = false; this.emit('drain'); }
  }

  private async writeBatch(batch: Buffer, cursor: { offset: number }): Promise<void> {
    while (cursor.offset < batch.length) {
      const end = await this.sliceEnd(batch, cursor.offset);
      while (cursor.offset < end) {
        const { bytesWritten } = await this.handle!.write(batch, cursor.offset, end - cursor.offset);
        cursor.offset += bytesWritten;
        this.size += bytesWritten;
        this.pendingBytes -= bytesWritten;
      }
    }
  }

  /** End of the longest run of whole lines from `start` that fits the current file; rotates first when not one line fits. */
  private async sliceEnd(batch: Buffer, start: number): Promise<number> {
    const max = this.options.maxSizeBytes;
    if (max <= 0 || this.size + (batch.length - start) <= max) return batch.length;
    const room = max - this.size;
    const lastNewline = room > 0 ? batch.lastIndexOf(NEWLINE, start + room - 1) : -1;
    if (lastNewline >= start) return lastNewline + 1;
    if (this.size > 0) {
      await this.rotateNow();
      return this.sliceEnd(batch, start);
    }
    // A single line longer than max_size goes alone into its own file.
    const newline = batch.indexOf(NEWLINE, start);
    return newline < 0 ? batch.length : newline + 1;
  }

  private async openFile(): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    const handle = await open(this.file, 'a', 0o644);
    try {
      const info = await handle.stat();
      this.size = info.size;
      this.identity = { dev: info.dev, ino: info.ino };
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
    this.handle = handle;
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    this.identity = null;
    await handle?.close().catch(() => {});
  }

  /** If the path no longer names our file, writes through the old fd would vanish: close it so the next write reopens. */
  private async checkIdentity(): Promise<void> {
    if (!this.handle || !this.identity) return;
    const current = await stat(this.file).catch(() => null);
    if (current && current.ino === this.identity.ino && current.dev === this.identity.dev) return;
    await this.closeHandle();
  }

  private async rotateNow(): Promise<void> {
    await this.closeHandle();
    await this.exclusive(() => this.shiftFiles());
    this.size = 0;
    if (this.options.compress && this.options.keep > 0) await this.startCompress();
    await this.openFile();
  }

  /** `<file>.N` → `<file>.N+1` (newest first stays 1), deleting what passes `keep`, then `<file>` → `<file>.1`. */
  private async shiftFiles(): Promise<void> {
    const { keep } = this.options;
    const directory = dirname(this.file);
    const pattern = new RegExp(`^${escapeRegExp(basename(this.file))}\\.(\\d+)(\\.gz)?$`);
    const rotated = (await readdir(directory))
      .map((name) => ({ name, match: pattern.exec(name) }))
      .filter((entry) => entry.match !== null)
      .map(({ name, match }) => ({ name, index: Number(match![1]), gzipped: match![2] !== undefined }))
      .sort((a, b) => b.index - a.index);
    for (const { name, index, gzipped } of rotated) {
      const from = join(directory, name);
      if (index >= keep) await unlink(from).catch(ignoreMissing);
      else await rename(from, rotatedName(this.file, index + 1, gzipped)).catch(ignoreMissing);
    }
    for (const job of this.jobs) job.index++;
    if (keep <= 0) await unlink(this.file).catch(ignoreMissing);
    else await rename(this.file, rotatedName(this.file, 1)).catch(ignoreMissing);
  }

  /** Opens `<file>.1` now (so later renames cannot pull it away), then gzips it without blocking the writer. */
  private async startCompress(): Promise<void> {
    const source = rotatedName(this.file, 1);
    const input = await open(source, 'r').catch(() => null);
    if (!input) return;
    const temp = join(dirname(this.file), `.${basename(this.file)}.${process.pid}.${++this.jobCount}.gz.tmp`);
    const job: CompressJob = { index: 1, done: Promise.resolve() };
    job.done = (async () => {
      try {
        // A `logs -f` reader may still be reading this file by name: gzip only after it has had time to finish
        await this.compressGrace();
        const { atime, mtime } = await input.stat();
        await pipeline(input.createReadStream(), createGzip(), createWriteStream(temp));
        // Keep the content's mtime: `logs --since` skips whole files by it.
        await utimes(temp, atime, mtime);
        await this.exclusive(async () => {
          if (job.index > this.options.keep) return unlink(temp);
          // Both names exist for a moment; readers prefer the plain one, which holds the same lines.
          await rename(temp, rotatedName(this.file, job.index, true));
          await unlink(rotatedName(this.file, job.index)).catch(ignoreMissing);
        });
      } catch {
        // Compression is an optimisation: on failure the rotated file simply stays uncompressed.
        await unlink(temp).catch(() => {});
      } finally {
        await input.close().catch(() => {});
        this.jobs.delete(job);
      }
    })();
    this.jobs.add(job);
  }

  private compressGrace(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.graceTimers.delete(timer); resolve(); }, COMPRESS_GRACE_MS);
      timer.unref();
      this.graceTimers.set(timer, resolve);
    });
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.dirLock.then(task, task);
    this.dirLock = run.catch(() => {});
    return run;
  }

  private fail(error: Error): void {
    void this.closeHandle(); // reopen on retry: the path may name a different (working) file by then
    if (!this.failing) {
      this.failing = true;
      this.options.onError?.(error);
      if (this.needDrain) { this.needDrain = false; this.emit('drain'); }
    }
    settle(this.rotateWaiters.splice(0));
    if (this.closing) { this.abandonQueue(); return; }
    this.retryTimer ??= setTimeout(() => {
      this.retryTimer = null;
      void this.pump();
    }, this.options.retryMs).unref();
  }

  private recover(): void {
    const droppedLines = this.droppedLines;
    this.failing = false;
    this.dropping = false;
    this.droppedLines = 0;
    const note = droppedLines > 0 ? this.options.recoveryNote?.({ droppedLines }) : undefined;
    if (note !== undefined) {
      const line = Buffer.from(note.endsWith('\n') ? note : `${note}\n`);
      this.queue.unshift(line);
      this.pendingBytes += line.length;
    }
    this.options.onRecover?.({ droppedLines });
  }

  private abandonQueue(): void {
    for (const chunk of this.queue) this.droppedLines += countLines(chunk);
    this.queue = [];
    this.pendingBytes = 0;
    settle(this.waiters.splice(0));
    settle(this.rotateWaiters.splice(0));
  }
}

function settle(callbacks: Array<() => void>): void {
  for (const callback of callbacks) callback();
}

function countLines(chunk: Buffer): number {
  let count = 0;
  for (let at = chunk.indexOf(NEWLINE); at >= 0; at = chunk.indexOf(NEWLINE, at + 1)) count++;
  return count;
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

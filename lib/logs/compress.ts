/** Background gzip of rotated log files (`<file>.N` → `<file>.N.gz`), so the writer never waits for it. */
import { open, rename, unlink, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { rotatedName } from './files.ts';
import { CREATE_EXCLUSIVE, LOG_FILE_MODE, READ_NOFOLLOW, unpredictableTempName } from '../core/secure-fs.ts';

/** Well over a follower's poll interval (200 ms), so `logs -f` reads a rotated file before it turns into .gz. */
const COMPRESS_GRACE_MS = 2000;

/** A background gzip of a rotated file; `index` follows the file as later rotations shift it. */
interface CompressJob { index: number; done: Promise<void> }

export function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}

export class LogCompressor {
  private readonly jobs = new Set<CompressJob>();
  private jobCount = 0;
  /** Serialises renames between rotation and the end of a compression. */
  private dirLock: Promise<unknown> = Promise.resolve();
  /** Compressions waiting out their grace period; close() ends the wait. */
  private readonly graceTimers = new Map<NodeJS.Timeout, () => void>();

  /** `isClosed`: the log is closing, so a new compression starts at once instead of waiting out its grace period. */
  /** `keep` is read at each use: a logs reload may change it. */
  constructor(private readonly file: string, private readonly keepNow: () => number, private readonly isClosed: () => boolean) {}

  private get keep(): number {
    return this.keepNow();
  }

  /** Rotation moved every rotated file up one index: each job follows its file. */
  shifted(): void {
    for (const job of this.jobs) job.index++;
  }

  /** Ends every grace period and resolves once all compressions are done. */
  async close(): Promise<void> {
    for (const [timer, release] of this.graceTimers) { clearTimeout(timer); release(); }
    await Promise.all([...this.jobs].map((job) => job.done));
  }

  /** Opens `<file>.1` now (so later renames cannot pull it away), then gzips it without blocking the writer. */
  async startCompress(): Promise<void> {
    const source = rotatedName(this.file, 1);
    const input = await open(source, READ_NOFOLLOW).catch(() => null);
    if (!input) return;
    const temp = unpredictableTempName(join(dirname(this.file), `.${basename(this.file)}.${++this.jobCount}.gz`));
    const job: CompressJob = { index: 1, done: Promise.resolve() };
    job.done = (async () => {
      try {
        // A `logs -f` reader may still be reading this file by name: gzip only after it has had time to finish
        await this.compressGrace();
        const { atime, mtime } = await input.stat();
        // zlib loads on the first rotation, not at every supervisor start
        const { createGzip } = await import('node:zlib');
        const output = await open(temp, CREATE_EXCLUSIVE, LOG_FILE_MODE);
        await pipeline(input.createReadStream({ autoClose: false }), createGzip(), output.createWriteStream());
        // Keep the content's mtime: `logs --since` skips whole files by it.
        await utimes(temp, atime, mtime);
        await this.exclusive(async () => {
          if (job.index > this.keep) return unlink(temp);
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

  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.dirLock.then(task, task);
    this.dirLock = run.catch(() => {});
    return run;
  }

  private compressGrace(): Promise<void> {
    if (this.isClosed()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.graceTimers.delete(timer); resolve(); }, COMPRESS_GRACE_MS);
      timer.unref();
      this.graceTimers.set(timer, resolve);
    });
  }
}

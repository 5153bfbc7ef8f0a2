/** The file a RotatingLog appends to: its fd, its size, whether its path still names it, and rotation on disk. */
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ignoreMissing, LogCompressor } from './compress.ts';
import { escapeRegExp, rotatedName } from './files.ts';
import { APPEND_NOFOLLOW, LOG_FILE_MODE, PRIVATE_DIR_MODE, unsafeDirReason } from '../core/secure-fs.ts';

const NEWLINE = 0x0a;

export interface LogFileOptions {
  /** Rotate before a line would take the file past this many bytes. 0 = never rotate. */
  maxSizeBytes: number;
  /** Rotated files kept; older ones are deleted. */
  keep: number;
  /** gzip each rotated file in the background. */
  compress: boolean;
}

export class LogFile {
  /** Bytes in the open file. */
  size = 0;
  private handle: FileHandle | null = null;
  private identity: { dev: number; ino: number } | null = null;
  private compressor: LogCompressor;
  /** Compressors of the paths this log had before a reload moved it: close() waits for them too. */
  private readonly retired: LogCompressor[] = [];

  /** `isClosed`: the owning log is closing (compressions then skip their grace period). `options` is read live. */
  constructor(private file: string, private readonly options: LogFileOptions, private readonly isClosed: () => boolean) {
    this.compressor = new LogCompressor(file, () => this.options.keep, isClosed);
  }

  /**
   * A logs reload: the new path (logs.dir changed) is used from the next write; rotated files past the new `keep` go
   * now; a file already over the new max_size rotates now. Call between writes (RotatingLog's pump does).
   */
  async applySettings(file: string): Promise<void> {
    if (file !== this.file) {
      await this.closeHandle();
      this.retired.push(this.compressor);
      this.file = file;
      this.compressor = new LogCompressor(file, () => this.options.keep, this.isClosed);
      return;
    }
    await this.compressor.exclusive(() => this.pruneRotated());
    if (!this.handle) await this.openFile();
    if (this.options.maxSizeBytes > 0 && this.size > this.options.maxSizeBytes) await this.rotateNow();
  }

  get path(): string {
    return this.file;
  }

  get isOpen(): boolean {
    return this.handle !== null;
  }

  /** Closes the fd and waits for compressions. */
  async close(): Promise<void> {
    await this.closeHandle();
    await Promise.all([this.compressor, ...this.retired].map((compressor) => compressor.close()));
  }

  /** Writes `batch` from `cursor.offset` on (advancing it), rotating so that each file holds whole lines. */
  async writeBatch(batch: Buffer, cursor: { offset: number }, onWritten: (bytes: number) => void): Promise<void> {
    while (cursor.offset < batch.length) {
      const end = await this.sliceEnd(batch, cursor.offset);
      while (cursor.offset < end) {
        const { bytesWritten } = await this.handle!.write(batch, cursor.offset, end - cursor.offset);
        cursor.offset += bytesWritten;
        this.size += bytesWritten;
        onWritten(bytesWritten);
      }
    }
  }

  async openFile(): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true, mode: PRIVATE_DIR_MODE });
    // A logs dir moved by a reload is checked like the one at start: ours, not writable by others
    const unsafe = unsafeDirReason(dirname(this.file), undefined, true);
    if (unsafe) throw new Error(`${dirname(this.file)} ${unsafe}: refusing to write logs there`);
    // O_NOFOLLOW: a symlink planted at the log's path never redirects our writes (ELOOP, reported as log_error)
    const handle = await open(this.file, APPEND_NOFOLLOW, LOG_FILE_MODE).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ELOOP') throw new Error(`${this.file} is a symbolic link: refusing to write through it (remove it)`);
      throw error;
    });
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

  async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    this.identity = null;
    await handle?.close().catch(() => {});
  }

  /** If the path no longer names our file, writes through the old fd would vanish: close it so the next write reopens. */
  async checkIdentity(): Promise<void> {
    if (!this.handle || !this.identity) return;
    const current = await stat(this.file).catch(() => null);
    if (current && current.ino === this.identity.ino && current.dev === this.identity.dev) return;
    await this.closeHandle();
  }

  async rotateNow(): Promise<void> {
    await this.closeHandle();
    await this.compressor.exclusive(() => this.shiftFiles());
    this.size = 0;
    if (this.options.compress && this.options.keep > 0) await this.compressor.startCompress();
    await this.openFile();
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

  /** Rotated files, highest index first. */
  private async rotatedFiles(): Promise<{ name: string; index: number; gzipped: boolean }[]> {
    const pattern = new RegExp(`^${escapeRegExp(basename(this.file))}\\.(\\d+)(\\.gz)?$`);
    return (await readdir(dirname(this.file)))
      .map((name) => ({ name, match: pattern.exec(name) }))
      .filter((entry) => entry.match !== null)
      .map(({ name, match }) => ({ name, index: Number(match![1]), gzipped: match![2] !== undefined }))
      .sort((a, b) => b.index - a.index);
  }

  /** Deletes rotated files past `keep` (a reload lowered it). */
  private async pruneRotated(): Promise<void> {
    for (const { name, index } of await this.rotatedFiles()) {
      if (index > this.options.keep) await unlink(join(dirname(this.file), name)).catch(ignoreMissing);
    }
  }

  /** `<file>.N` → `<file>.N+1` (newest first stays 1), deleting what passes `keep`, then `<file>` → `<file>.1`. */
  private async shiftFiles(): Promise<void> {
    const { keep } = this.options;
    const directory = dirname(this.file);
    const rotated = await this.rotatedFiles();
    for (const { name, index, gzipped } of rotated) {
      const from = join(directory, name);
      if (index >= keep) await unlink(from).catch(ignoreMissing);
      else await rename(from, rotatedName(this.file, index + 1, gzipped)).catch(ignoreMissing);
    }
    this.compressor.shifted();
    if (keep <= 0) await unlink(this.file).catch(ignoreMissing);
    else await rename(this.file, rotatedName(this.file, 1)).catch(ignoreMissing);
  }
}

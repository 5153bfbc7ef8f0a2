/** A rotating, line-safe log sink: service output, restart.log and events.jsonl all go through it. */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { IDLE_CHECK_FACTOR, registerIdentityCheck } from './identity-checks.ts';
import { LogFile } from './rotate.ts';
import type { LogsConfig } from '../core/types.ts';

export { escapeRegExp, rotatedName } from './files.ts';

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
  /**
   * How often to check that `file` still names the open file (deleted, moved away, directory replaced): before a write
   * at most this often, and for an idle log every IDLE_CHECK_FACTOR × this, on one timer shared by every log. @default 1000
   */
  checkMs?: number;
  /** Line written where lines were dropped; null = write nothing there. @default {@link droppedLinesNote} */
  recoveryNote?: ((info: { droppedLines: number }) => string) | null;
}

const DEFAULTS = { highWaterMark: 1 << 20, maxBufferBytes: 8 << 20, retryMs: 1000, checkMs: 1000 };
const NEWLINE = 0x0a;
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

export class RotatingLog extends EventEmitter {
  private readonly options: Required<Omit<RotatingLogOptions, 'onError' | 'onRecover'>> & Pick<RotatingLogOptions, 'onError' | 'onRecover'>;
  private queue: Buffer[] = [];
  /** Called once everything queued before them is on disk (or dropped). */
  private waiters: Array<() => void> = [];
  private rotateWaiters: Array<() => void> = [];
  /** Queued plus in-flight bytes. */
  private pendingBytes = 0;
  private readonly disk: LogFile;
  private pumping = false;
  private scheduled = false;
  private needDrain = false;
  private failing = false;
  private dropping = false;
  private droppedLines = 0;
  private checkDue = false;
  private closing: Promise<void> | null = null;
  /** A logs reload waiting for the pump: the path to write to from now on. */
  private pendingSettings: { file: string; done: Array<() => void> } | null = null;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private lastCheckAt = performance.now();
  private readonly unregisterCheck: () => void;

  /** The path written to now (a logs reload may move it). */
  get file(): string {
    return this.disk.path;
  }

  constructor(options: RotatingLogOptions) {
    super();
    this.options = {
      ...options,
      highWaterMark: options.highWaterMark ?? DEFAULTS.highWaterMark,
      maxBufferBytes: options.maxBufferBytes ?? DEFAULTS.maxBufferBytes,
      retryMs: options.retryMs ?? DEFAULTS.retryMs,
      checkMs: options.checkMs ?? DEFAULTS.checkMs,
      recoveryNote: options.recoveryNote === undefined ? droppedLinesNote : options.recoveryNote,
    };
    this.disk = new LogFile(options.file, this.options, () => this.closed);
    const checkMs = this.options.checkMs;
    this.unregisterCheck = registerIdentityCheck({
      checkMs,
      idleTick: (now) => {
        if (!this.disk.isOpen || this.failing || now - this.lastCheckAt < checkMs * IDLE_CHECK_FACTOR) return;
        this.checkDue = true;
        this.kick();
      },
    });
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

  /**
   * A logs reload: max_size, keep and compress apply to the next write (a file already over the new max_size rotates
   * now, rotated files past the new keep are deleted now); a new path is written from the next line on.
   */
  reconfigure(settings: Pick<RotatingLogOptions, 'file' | 'maxSizeBytes' | 'keep' | 'compress'>): Promise<void> {
    if (this.closed) return Promise.resolve();
    Object.assign(this.options, { maxSizeBytes: settings.maxSizeBytes, keep: settings.keep, compress: settings.compress });
    return new Promise((resolve) => {
      this.pendingSettings = { file: settings.file, done: [...(this.pendingSettings?.done ?? []), resolve] };
      this.kick();
    });
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
    this.unregisterCheck();
    if (!this.failing) await this.flush();
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.abandonQueue();
    while (this.pumping) await new Promise((resolve) => setImmediate(resolve));
    await this.disk.close();
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
    if (this.queue.length > 0 || this.waiters.length > 0 || this.rotateWaiters.length > 0 || this.pendingSettings) this.kick();
  }

  private async cycle(): Promise<void> {
    for (;;) {
      // On write, at most every checkMs; the shared timer sets checkDue for idle logs
      if (this.checkDue || (this.queue.length > 0 && performance.now() - this.lastCheckAt >= this.options.checkMs)) {
        this.checkDue = false;
        this.lastCheckAt = performance.now();
        await this.disk.checkIdentity();
      }
      if (this.pendingSettings) {
        const { file, done } = this.pendingSettings;
        this.pendingSettings = null;
        try { await this.disk.applySettings(file); } finally { settle(done); }
      }
      if (!this.disk.isOpen) await this.disk.openFile();
      if (this.queue.length > 0) await this.writeQueued();
      else if (this.failing) this.recover(); // nothing to write and the file opens: that is recovery too
      // After the batch, so that lines written before rotate() was called stay in the old file.
      if (this.rotateWaiters.length > 0) {
        if (this.disk.size > 0) await this.disk.rotateNow();
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
      await this.disk.writeBatch(batch, cursor, (bytes) => { this.pendingBytes -= bytes; });
    } catch (error) {
      this.queue.unshift(batch.subarray(cursor.offset));
      this.waiters.unshift(...waiters);
      throw error;
    }
    if (this.failing) this.recover();
    settle(waiters);
    if (this.needDrain && this.pendingBytes < this.options.highWaterMark) { this.needDrain = false; this.emit('drain'); }
  }

  private fail(error: Error): void {
    void this.disk.closeHandle(); // reopen on retry: the path may name a different (working) file by then
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
    if (this.pendingSettings) { settle(this.pendingSettings.done); this.pendingSettings = null; }
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

/**
 * supervisor.log: a detached supervisor's own output (its event lines, warnings). It rotates like the other logs
 * (logs.max_size, keep, compress), and writes synchronously, so the last lines before an exit are never lost.
 * Only what goes through process.stdout/stderr rotates: a fatal V8 message written straight to fd 2 lands in the file
 * the launcher opened (supervisor.log, or after a rotation supervisor.log.1).
 */
import { closeSync, fstatSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { rotatedName } from './files.ts';
import { APPEND_NOFOLLOW, CREATE_EXCLUSIVE, LOG_FILE_MODE, READ_NOFOLLOW, unpredictableTempName } from '../core/secure-fs.ts';

export interface SupervisorLogSettings {
  maxSizeBytes: number;
  keep: number;
  compress: boolean;
}

/** Rotated files are renamed synchronously; a compression follows its file by counting rotations since it began. */
export class SupervisorLog {
  private fd: number | null = null;
  private size = 0;
  private rotations = 0;

  constructor(readonly file: string, private settings: SupervisorLogSettings) {
    this.open();
  }

  reconfigure(settings: SupervisorLogSettings): void {
    this.settings = settings;
    if (settings.maxSizeBytes > 0 && this.size > settings.maxSizeBytes) this.rotate();
    for (let index = settings.keep + 1; ; index++) {
      if (!removeQuietly(rotatedName(this.file, index)) && !removeQuietly(rotatedName(this.file, index, true))) break;
    }
  }

  /** Never throws: the supervisor's own output must never take it down. */
  write(chunk: string | Uint8Array): void {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    try {
      const max = this.settings.maxSizeBytes;
      if (max > 0 && this.size > 0 && this.size + data.length > max) this.rotate();
      if (this.fd === null) this.open();
      if (this.fd === null) return;
      let offset = 0;
      while (offset < data.length) offset += writeSync(this.fd, data, offset);
      this.size += data.length;
    } catch {
      this.closeFd(); // reopen at the next write
    }
  }

  close(): void {
    this.closeFd();
  }

  private open(): void {
    try {
      this.fd = openSync(this.file, APPEND_NOFOLLOW, LOG_FILE_MODE);
      this.size = fstatSync(this.fd).size;
    } catch {
      this.fd = null;
    }
  }

  private closeFd(): void {
    if (this.fd !== null) try { closeSync(this.fd); } catch { /* already gone */ }
    this.fd = null;
  }

  private rotate(): void {
    this.closeFd();
    const { keep } = this.settings;
    for (let index = keep; index >= 1; index--) {
      for (const gzipped of [false, true]) {
        const from = rotatedName(this.file, index, gzipped);
        if (index === keep) removeQuietly(from);
        else try { renameSync(from, rotatedName(this.file, index + 1, gzipped)); } catch { /* not there */ }
      }
    }
    if (keep <= 0) removeQuietly(this.file);
    else try { renameSync(this.file, rotatedName(this.file, 1)); } catch { /* not there */ }
    this.rotations++;
    this.open();
    if (this.settings.compress && keep > 0) this.compress(this.rotations);
  }

  /** gzip `<file>.1` in the background; the rename at the end is one synchronous step, so no rotation interleaves. */
  private compress(startedAt: number): void {
    // Opened now: later rotations rename the file, the fd follows it
    let input: number;
    try { input = openSync(rotatedName(this.file, 1), READ_NOFOLLOW); } catch { return; }
    void (async () => {
      let temp: string | null = null;
      try {
        const { gzip } = await import('node:zlib');
        const { promisify } = await import('node:util');
        const packed = await promisify(gzip)(readFileSync(input));
        const index = 1 + this.rotations - startedAt;
        temp = unpredictableTempName(rotatedName(this.file, index, true));
        const fd = openSync(temp, CREATE_EXCLUSIVE, LOG_FILE_MODE);
        try { writeSync(fd, packed); } finally { closeSync(fd); }
        const now = 1 + this.rotations - startedAt;
        if (now > this.settings.keep) return;
        renameSync(temp, rotatedName(this.file, now, true));
        temp = null;
        removeQuietly(rotatedName(this.file, now));
      } catch {
        // Compression is an optimisation: the rotated file stays as it is
      } finally {
        closeSync(input);
        if (temp) removeQuietly(temp);
      }
    })();
  }
}

function removeQuietly(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

let installed: SupervisorLog | null = null;

/** Routes process.stdout and process.stderr through a rotating supervisor.log (the detached supervisor calls this). */
export function installSupervisorLog(file: string, settings: SupervisorLogSettings): SupervisorLog {
  const log = new SupervisorLog(file, settings);
  installed = log;
  const patched = (chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
    log.write(typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : String(chunk));
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  };
  process.stdout.write = patched as typeof process.stdout.write;
  process.stderr.write = patched as typeof process.stderr.write;
  return log;
}

/** A logs reload: the installed supervisor.log takes the new max_size, keep and compress. */
export function reconfigureSupervisorLog(settings: SupervisorLogSettings): void {
  installed?.reconfigure(settings);
}

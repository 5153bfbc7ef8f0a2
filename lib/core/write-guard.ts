/**
 * Writes of the supervisor's own files (state.json, schedule.json, pid files, events.jsonl) that may fail: a full
 * disk (ENOSPC), a quota (EDQUOT), a read-only remount (EROFS), a path too long (ENAMETOOLONG) or a directory where
 * the file should be (EISDIR). Supervision goes on and the next change retries.
 *
 * One episode, one `state_write_failed` (naming the first file that failed), however many files and writes fail in
 * it; `state_write_recovered` once a write succeeds and none has failed for RECOVERY_QUIET_MS. Without that quiet
 * time a nearly full disk (a small file fits, the next does not) would flap between the two events at every change.
 */
import { errorMessage } from './errors.ts';
import type { EventRecord } from './types.ts';

type Record = (event: Omit<EventRecord, 'time'>) => void;

export const RECOVERY_QUIET_MS = 5_000;

interface Episode {
  since: number;
  lastFailure: number;
  failures: number;
  files: Set<string>;
}

export class WriteGuard {
  private episode: Episode | null = null;

  constructor(private readonly record: Record, private readonly now: () => number = Date.now) {}

  /** Runs `write`; never throws. Returns whether it succeeded. `kind` names the file family in messages. */
  attempt(kind: string, file: string, write: () => void): boolean {
    try {
      write();
    } catch (error) {
      this.failed(kind, file, error);
      return false;
    }
    this.succeeded(file);
    return true;
  }

  failed(kind: string, file: string, error: unknown): void {
    const now = this.now();
    if (this.episode) {
      this.episode.failures++;
      this.episode.lastFailure = now;
      this.episode.files.add(file);
      return;
    }
    this.episode = { since: now, lastFailure: now, failures: 1, files: new Set([file]) };
    const code = (error as NodeJS.ErrnoException).code ?? null;
    this.record({
      event: 'state_write_failed', file, what: kind, code, message: errorMessage(error),
      reason: `cannot write ${file}: ${errorMessage(error)}; supervision goes on, retrying at every change`,
    });
  }

  succeeded(file: string): void {
    const episode = this.episode;
    if (!episode || this.now() - episode.lastFailure < RECOVERY_QUIET_MS) return;
    this.episode = null;
    this.record({
      event: 'state_write_recovered', file, files: [...episode.files], failed_writes: episode.failures,
      failing_s: Math.round((episode.lastFailure - episode.since) / 1000), reason: `writing ${file} again`,
    });
  }

  isFailing(): boolean {
    return this.episode !== null;
  }
}

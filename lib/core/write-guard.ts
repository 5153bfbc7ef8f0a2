/**
 * Writes of the supervisor's own files (state.json, schedule.json, pid files, events.jsonl) that may fail: a full
 * disk (ENOSPC), a quota (EDQUOT), a read-only remount (EROFS), a path too long (ENAMETOOLONG) or a directory where
 * the file should be (EISDIR). A failure is recorded once per episode (state_write_failed), supervision goes on, the
 * next change retries, and the first success after a failure is recorded (state_write_recovered).
 */
import { errorMessage } from './errors.ts';
import type { EventRecord } from './types.ts';

type Record = (event: Omit<EventRecord, 'time'>) => void;

export class WriteGuard {
  /** Failing files by kind ("state.json", "pid files", ...), with when the episode began and how many writes failed. */
  private readonly failing = new Map<string, { since: number; failures: number }>();

  constructor(private readonly record: Record, private readonly now: () => number = Date.now) {}

  /** Runs `write`; never throws. Returns whether it succeeded. */
  attempt(kind: string, file: string, write: () => void): boolean {
    try {
      write();
    } catch (error) {
      this.failed(kind, file, error);
      return false;
    }
    this.succeeded(kind, file);
    return true;
  }

  failed(kind: string, file: string, error: unknown): void {
    const episode = this.failing.get(kind);
    if (episode) {
      episode.failures++;
      return;
    }
    this.failing.set(kind, { since: this.now(), failures: 1 });
    const code = (error as NodeJS.ErrnoException).code ?? null;
    this.record({ event: 'state_write_failed', file, what: kind, code, message: errorMessage(error), reason: `cannot write ${file}: ${errorMessage(error)}; supervision goes on, retrying at the next change` });
  }

  succeeded(kind: string, file: string): void {
    const episode = this.failing.get(kind);
    if (!episode) return;
    this.failing.delete(kind);
    this.record({ event: 'state_write_recovered', file, what: kind, failed_writes: episode.failures, failing_s: Math.round((this.now() - episode.since) / 1000), reason: `writing ${file} again` });
  }

  isFailing(kind: string): boolean {
    return this.failing.has(kind);
  }
}

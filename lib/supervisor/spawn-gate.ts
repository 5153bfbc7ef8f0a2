/**
 * Spawning is synchronous: the event loop waits in fork + exec, ~1–10 ms per process on a busy 2-core machine. 500
 * restarts after a crash storm would hold it for seconds, and no control request (ping, status, stop, shutdown) would
 * be answered meanwhile. The gate runs spawns in order, at most SPAWN_SLICE_MS of them per turn of the event loop, and
 * the rest in the next turns: the same total time (spawns never run in parallel anyway), with the loop free between.
 */
import { performance } from 'node:perf_hooks';

/** Event-loop time spent spawning per turn before the rest wait for the next turn. */
export const SPAWN_SLICE_MS = 8;

export class SpawnGate {
  private usedMs = 0;
  private turnEndScheduled = false;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly sliceMs = SPAWN_SLICE_MS) {}

  /** Runs `work` now when this turn has budget left and nothing waits before it, else in a later turn, in order. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job = (): void => {
        try {
          resolve(work());
        } catch (error) {
          reject(error);
        }
      };
      if (this.waiting.length === 0 && this.usedMs < this.sliceMs) this.timed(job);
      else this.waiting.push(job);
      this.scheduleTurnEnd();
    });
  }

  /** How many spawns wait for a later turn. */
  get backlog(): number {
    return this.waiting.length;
  }

  private timed(job: () => void): void {
    const started = performance.now();
    job();
    this.usedMs += performance.now() - started;
  }

  private scheduleTurnEnd(): void {
    if (this.turnEndScheduled) return;
    this.turnEndScheduled = true;
    setImmediate(() => {
      this.turnEndScheduled = false;
      this.usedMs = 0;
      while (this.waiting.length > 0 && this.usedMs < this.sliceMs) this.timed(this.waiting.shift()!);
      if (this.waiting.length > 0 || this.usedMs > 0) this.scheduleTurnEnd();
    });
  }
}

/** The gate every service of this supervisor spawns through. */
export const spawnGate = new SpawnGate();

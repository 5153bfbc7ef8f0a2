/** The marker variables every process of a service inherits, and a long-lived cache of who carries which marker. */
import { readEnvVar, type ProcStat } from './proc.ts';

/** Set by the supervisor to a value unique per state dir and service, e.g. `<16-hex hash of state dir>/<service>`. */
export const MARKER_ENV = 'RESTART_CONTROL_SERVICE';

/** Set by the supervisor to a value unique per run (each start) of a service: what a run's processes inherit. */
export const RUN_ENV = 'RESTART_CONTROL_RUN';

export function processKey(stat: ProcStat): string {
  return `${stat.pid}:${stat.startTime}`;
}

/**
 * Markers of processes by pid + start time, kept across walks by a long-lived owner (the supervisor): a process's
 * initial environment does not change, so each process's environ is read once in its life, not once per crash.
 */
export class MarkerCache {
  private readonly markers = new Map<string, string | null>();

  read(stat: ProcStat): string | null {
    const key = processKey(stat);
    if (this.markers.has(key)) return this.markers.get(key)!;
    const marker = readEnvVar(stat.pid, MARKER_ENV);
    this.markers.set(key, marker);
    return marker;
  }

  /** Forgets processes that no longer exist. */
  prune(all: ProcStat[]): void {
    if (this.markers.size < all.length * 2) return;
    const alive = new Set(all.map(processKey));
    for (const key of this.markers.keys()) if (!alive.has(key)) this.markers.delete(key);
  }
}

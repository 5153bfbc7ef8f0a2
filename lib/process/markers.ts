/** The marker variables every process of a service inherits, and a long-lived cache of who carries which marker. */
import { readEnvVars, type ProcStat } from './proc.ts';

/** Set by the supervisor to a value unique per state dir and service, e.g. `<16-hex hash of state dir>/<service>`. */
export const MARKER_ENV = 'RESTART_CONTROL_SERVICE';

/** Set by the supervisor to a value unique per run (each start) of a service: what a run's processes inherit. */
export const RUN_ENV = 'RESTART_CONTROL_RUN';

const NAMES = [MARKER_ENV, RUN_ENV] as const;

export function processKey(stat: ProcStat): string {
  return `${stat.pid}:${stat.startTime}`;
}

/** What a process inherited from the supervisor that started it; nulls for a stranger or an unreadable environ. */
export interface ProcessMarkers {
  marker: string | null;
  run: string | null;
}

const UNMARKED: ProcessMarkers = { marker: null, run: null };

/**
 * Markers of processes by pid + start time, kept across walks by a long-lived owner (the process table): a process's
 * initial environment does not change, so each process's environ is read once in its life, not once per crash.
 */
export class MarkerCache {
  private readonly markers = new Map<string, ProcessMarkers>();

  /** How many environ files were read: one per process life. */
  reads = 0;

  read(stat: ProcStat): string | null {
    return this.identity(stat).marker;
  }

  identity(stat: ProcStat): ProcessMarkers {
    const key = processKey(stat);
    const known = this.markers.get(key);
    if (known) return known;
    this.reads++;
    const vars = readEnvVars(stat.pid, NAMES);
    // An empty environ (mid-exec) is read again next time: cached, it would hide a marked process for its whole life
    if (vars === undefined) return UNMARKED;
    const found = vars && vars.size > 0 ? { marker: vars.get(MARKER_ENV) ?? null, run: vars.get(RUN_ENV) ?? null } : UNMARKED;
    this.markers.set(key, found);
    return found;
  }

  /** Forgets processes that no longer exist. */
  prune(all: readonly ProcStat[]): void {
    if (this.markers.size < all.length * 2) return;
    const alive = new Set(all.map(processKey));
    for (const key of this.markers.keys()) if (!alive.has(key)) this.markers.delete(key);
  }
}

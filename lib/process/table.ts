/**
 * The one owner of this process's view of /proc. Every user (tree stops, crash clean-ups, marker searches, samplers)
 * reads a shared snapshot instead of walking /proc itself: however many ask at once, one walk serves them all.
 *
 * - `next()`: the snapshot taken next. Every caller until it is taken shares it; walks are at least `minIntervalMs`
 *   apart, so N concurrent stops or crash clean-ups cost one walk per interval, not N.
 * - `walkNow()`: a synchronous walk, for the synchronous find* functions (and callers that must see this instant).
 * - The walk reads /proc/PID/stat in slices of `sliceSize` with a turn of the event loop between slices, so a walk of
 *   thousands of processes never holds the loop for more than a slice (64 processes: ~1 ms here at a load of 20 on 2 cores).
 * - Markers (RESTART_CONTROL_SERVICE, RESTART_CONTROL_RUN) come from a MarkerCache: each environ is read once per
 *   process life (pid + start time; a reused pid has a new start time, so it is a new process).
 */
import { readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { MarkerCache, type ProcessMarkers } from './markers.ts';
import { isExited, readProcStat, type ProcStat } from './proc.ts';

const PROC_ROOT = '/proc';
const DEFAULT_MIN_INTERVAL_MS = 10;
const DEFAULT_SLICE_SIZE = 64;
const EMPTY: readonly ProcStat[] = Object.freeze([]);

export interface ProcessTableOptions {
  /** Least time between the starts of two shared walks. @default 10 */
  minIntervalMs?: number;
  /** Processes read per turn of the event loop. @default 64 */
  sliceSize?: number;
  /** The pids to read (tests); default: every numeric entry of /proc. */
  listPids?: () => number[];
  /** Reads one process (tests); default: /proc/PID/stat. */
  readStat?: (pid: number) => ProcStat | null;
}

function addTo(index: Map<number, ProcStat[]>, key: number, stat: ProcStat): void {
  const list = index.get(key);
  if (list) list.push(stat);
  else index.set(key, [stat]);
}

/** One walk's result, indexed. Immutable once built; the marker index is built on first use. */
export class ProcessSnapshot {
  private readonly byPid = new Map<number, ProcStat>();
  private readonly byPpid = new Map<number, ProcStat[]>();
  private readonly byPgid = new Map<number, ProcStat[]>();
  private readonly bySid = new Map<number, ProcStat[]>();
  private byMarker: Map<string, ProcStat[]> | null = null;

  constructor(readonly processes: readonly ProcStat[], private readonly markers: MarkerCache, readonly takenAt: number) {
    for (const stat of processes) {
      this.byPid.set(stat.pid, stat);
      addTo(this.byPpid, stat.ppid, stat);
      addTo(this.byPgid, stat.pgid, stat);
      addTo(this.bySid, stat.sid, stat);
    }
  }

  get(pid: number): ProcStat | undefined { return this.byPid.get(pid); }
  children(ppid: number): readonly ProcStat[] { return this.byPpid.get(ppid) ?? EMPTY; }
  group(pgid: number): readonly ProcStat[] { return this.byPgid.get(pgid) ?? EMPTY; }
  session(sid: number): readonly ProcStat[] { return this.bySid.get(sid) ?? EMPTY; }

  /** The process `pid` as it was at the walk, if it had not exited and (when given) had this start time. */
  live(pid: number, startTime?: number | null): ProcStat | undefined {
    const stat = this.byPid.get(pid);
    if (!stat || isExited(stat)) return undefined;
    return startTime === undefined || startTime === null || stat.startTime === startTime ? stat : undefined;
  }

  /** Marker and run id the process inherited (environ read once per process life). */
  markersOf(stat: ProcStat): ProcessMarkers {
    return this.markers.identity(stat);
  }

  /** Processes that have not exited and carry exactly this marker. */
  marked(marker: string): readonly ProcStat[] {
    return this.markerIndex().get(marker) ?? EMPTY;
  }

  /** Processes that have not exited and whose marker starts with `prefix`. */
  markedWithPrefix(prefix: string): ProcStat[] {
    const found: ProcStat[] = [];
    for (const [marker, stats] of this.markerIndex()) if (marker.startsWith(prefix)) found.push(...stats);
    return found;
  }

  private markerIndex(): Map<string, ProcStat[]> {
    if (this.byMarker) return this.byMarker;
    const index = new Map<string, ProcStat[]>();
    for (const stat of this.processes) {
      if (isExited(stat)) continue;
      const { marker } = this.markers.identity(stat);
      if (marker === null) continue;
      const list = index.get(marker);
      if (list) list.push(stat);
      else index.set(marker, [stat]);
    }
    this.byMarker = index;
    return index;
  }
}

function listProcPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync(PROC_ROOT)) {
    const code = name.charCodeAt(0);
    if (code >= 48 && code <= 57) pids.push(Number(name));
  }
  return pids;
}

export class ProcessTable {
  readonly markers = new MarkerCache();
  private readonly minIntervalMs: number;
  private readonly sliceSize: number;
  private readonly listPids: () => number[];
  private readonly readStat: (pid: number) => ProcStat | null;
  private scheduled: Promise<ProcessSnapshot> | null = null;
  private running: Promise<ProcessSnapshot> | null = null;
  private lastWalkStartedAt = -Infinity;
  /** The most recent snapshot, whoever asked for it. */
  latest: ProcessSnapshot | null = null;
  /** Walks taken so far (shared and synchronous). */
  walks = 0;

  constructor(options: ProcessTableOptions = {}) {
    this.minIntervalMs = options.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
    this.sliceSize = Math.max(1, options.sliceSize ?? DEFAULT_SLICE_SIZE);
    this.listPids = options.listPids ?? listProcPids;
    this.readStat = options.readStat ?? readProcStat;
  }

  /**
   * A snapshot whose walk starts after this call, shared by every caller that asks before that walk starts (a walk
   * already under way is not joined: it may have read a parent before its newest child was forked). Never rejects.
   */
  next(): Promise<ProcessSnapshot> {
    if (this.scheduled) return this.scheduled;
    const previous = this.running ?? Promise.resolve(null);
    const scheduled: Promise<ProcessSnapshot> = previous.then(() => this.intervalPassed()).then(() => {
      if (this.scheduled === scheduled) this.scheduled = null;
      const walk = this.walkInSlices();
      this.running = walk;
      void walk.finally(() => { if (this.running === walk) this.running = null; });
      return walk;
    });
    this.scheduled = scheduled;
    return scheduled;
  }

  /** The shared snapshot for users of the table (samplers, identity checks): the same as next(). */
  snapshot(): Promise<ProcessSnapshot> {
    return this.next();
  }

  private intervalPassed(): Promise<void> {
    const wait = Math.max(0, this.lastWalkStartedAt + this.minIntervalMs - performance.now());
    return new Promise((resolve) => {
      if (wait > 0) setTimeout(resolve, wait);
      else setImmediate(resolve);
    });
  }

  /** A walk now, synchronously: for callers that cannot wait. */
  walkNow(): ProcessSnapshot {
    this.lastWalkStartedAt = performance.now();
    const stats: ProcStat[] = [];
    for (const pid of this.safeList()) {
      const stat = this.readStat(pid);
      if (stat) stats.push(stat);
    }
    return this.publish(stats);
  }

  private async walkInSlices(): Promise<ProcessSnapshot> {
    this.lastWalkStartedAt = performance.now();
    const pids = this.safeList();
    const stats: ProcStat[] = [];
    for (let start = 0; start < pids.length; start += this.sliceSize) {
      if (start > 0) await new Promise((resolve) => setImmediate(resolve));
      for (const pid of pids.slice(start, start + this.sliceSize)) {
        const stat = this.readStat(pid);
        if (stat) stats.push(stat);
      }
    }
    return this.publish(stats);
  }

  private safeList(): number[] {
    try {
      return this.listPids();
    } catch {
      return [];
    }
  }

  private publish(stats: ProcStat[]): ProcessSnapshot {
    this.walks++;
    this.markers.prune(stats);
    this.latest = new ProcessSnapshot(stats, this.markers, performance.now());
    return this.latest;
  }
}

let shared: ProcessTable | null = null;

/** The process table of this process: every user shares it, so concurrent users share its walks. */
export function sharedProcessTable(): ProcessTable {
  shared ??= new ProcessTable();
  return shared;
}

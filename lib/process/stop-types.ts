/** What a tree stop is asked to do and what it reports: shared by the /proc stop and its tree-kill fallback. */
import type { MarkerCache } from './markers.ts';
import type { ProcStat } from './proc.ts';
import type { ProcessSnapshot, ProcessTable } from './table.ts';

/** True for a process the stop must leave alone (e.g. the run that replaced a crashed one). */
export type SpareProcess = (stat: ProcStat, snapshot: ProcessSnapshot) => boolean;

export interface TreeRoot {
  pid: number;
  /** /proc/PID/stat field 22; null/undefined = trust the pid as is. */
  startTime?: number | null;
}

export interface StopTreeOptions extends TreeRoot {
  marker?: string;
  signal: NodeJS.Signals;
  timeoutMs: number;
  /** @default 15 */
  pollMs?: number;
  /** How long to wait for members to vanish after SIGKILL. @default 2000 */
  killWaitMs?: number;
  /** Called once, just before SIGKILL is sent. */
  onEscalate?: () => void;
  /** Unused: markers now come from the process table's own cache (kept so older callers still typecheck). */
  cache?: MarkerCache;
  /** Whose snapshots to read. @default sharedProcessTable() */
  table?: ProcessTable;
  /** Processes never signalled, nor their descendants; with it, no group signal reaches a group holding one. */
  spare?: SpareProcess;
  /** Walk /proc (default: when it exists); false forces the tree-kill fallback. */
  useProc?: boolean;
}

export interface StopTreeResult {
  /** SIGKILL was needed. */
  forced: boolean;
  /** Members still alive after SIGKILL and killWaitMs: should be []. */
  survivors: number[];
  durationMs: number;
  /** How many distinct processes received the stop signal. */
  signalled: number;
}

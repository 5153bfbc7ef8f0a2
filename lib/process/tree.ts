/**
 * Stopping a service's whole process tree: the root, its descendants, its process group and session, and every
 * process carrying the service's marker environment variable (which finds setsid'd and re-parented escapees).
 * Every walk is a snapshot of the shared process table (table.ts): N stops at once share its walks.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { processKey } from './markers.ts';
import { hasProc, isAlive, isExited, procStartTime, readProcStat, type ProcStat } from './proc.ts';
import type { SpareProcess, StopTreeOptions, StopTreeResult, TreeRoot } from './stop-types.ts';
import { sharedProcessTable, type ProcessSnapshot } from './table.ts';
import { belongsTo, collectTree, isCandidate, newTreeMemory, type RootStatus } from './tree-members.ts';
import { sendSignal, stopTreeWithoutProc } from './tree-fallback.ts';

export { MARKER_ENV, MarkerCache, RUN_ENV } from './markers.ts';
export type { SpareProcess, StopTreeOptions, StopTreeResult, TreeRoot } from './stop-types.ts';
export { signalTree } from './tree-fallback.ts';

const DEFAULT_POLL_MS = 15;
const DEFAULT_KILL_WAIT_MS = 2000;
/** While known members live, walk again this often anyway: it finds members forked during the stop. */
const REWALK_MS = 250;
/** Known members are checked first after this, then at doubling intervals up to pollMs × 4. */
const FIRST_CHECK_MS = 3;

export interface MarkedProcess {
  pid: number;
  startTime: number;
  marker: string;
}

/** Live pids of the tree; never includes the caller or pid 1. `_cache` is unused (the process table keeps markers). */
export function findTree(root: TreeRoot | null, marker?: string, _cache?: unknown): number[] {
  return collectTree(sharedProcessTable().walkNow(), root, marker, newTreeMemory()).members.map((stat) => stat.pid);
}

/** Members of a tree in a snapshot the caller already has (e.g. from `sharedProcessTable().snapshot()`): no walk. */
export function treeIn(snapshot: ProcessSnapshot, root: TreeRoot | null, marker?: string, spare?: SpareProcess): ProcStat[] {
  return collectTree(snapshot, root, marker, newTreeMemory(), spare).members;
}

/** Spares the run that replaced a crashed one: its run id (RUN_ENV), and its session, group and descendants. */
export function spareRun(current: { pid?: number; run: string }): (stat: ProcStat, snapshot: ProcessSnapshot) => boolean {
  return (stat, snapshot) => snapshot.markersOf(stat).run === current.run || (current.pid !== undefined && belongsTo(stat, current.pid, snapshot));
}

/**
 * Members of the tree of a process that has exited, leaving out every process of the run that replaced it: those that
 * carry its run id (RUN_ENV), and its session, group and descendants. Meant to run right after the new spawn.
 */
export function findLeftovers(previous: TreeRoot, current: { pid: number; run: string }, marker: string, _cache?: unknown): ProcStat[] {
  return collectTree(sharedProcessTable().walkNow(), previous, marker, newTreeMemory(), spareRun(current)).members;
}

/** Whether any process is still in the group `pgid` (one kill(2) with signal 0: no /proc walk). */
export function groupHasMembers(pgid: number): boolean {
  if (pgid <= 1) return false;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Every live process whose marker starts with `prefix` in this snapshot: leftovers of a supervisor that was SIGKILLed. */
export function markedProcessesIn(snapshot: ProcessSnapshot, prefix: string): MarkedProcess[] {
  return snapshot.markedWithPrefix(prefix).filter(isCandidate).map((stat) => ({ pid: stat.pid, startTime: stat.startTime, marker: snapshot.markersOf(stat).marker! }));
}

export function findMarkedProcesses(prefix: string): MarkedProcess[] {
  return markedProcessesIn(sharedProcessTable().walkNow(), prefix);
}

export function findMarked(prefix: string): number[] {
  return findMarkedProcesses(prefix).map((found) => found.pid);
}

/** Re-checks the start time right before signalling, to keep the pid-reuse window to microseconds. */
function signalMember(member: ProcStat, signal: NodeJS.Signals): boolean {
  const current = readProcStat(member.pid);
  if (!current || isExited(current) || current.startTime !== member.startTime) return false;
  return sendSignal(member.pid, signal);
}

/** Only a group known to be ours: some member is in it, the root pid was not reused, and nothing spared is in it. */
function signalGroup(root: TreeRoot, status: RootStatus, members: ProcStat[], signal: NodeJS.Signals, snapshot: ProcessSnapshot, options: StopTreeOptions): boolean {
  if (status === 'reused' || !members.some((member) => member.pgid === root.pid)) return false;
  if (options.spare && snapshot.group(root.pid).some((stat) => options.spare!(stat, snapshot))) return false;
  return sendSignal(-root.pid, signal);
}

/** Waits until every known member has exited (zombies count), or `until`: cheap stat reads, no walk. */
async function waitForExit(members: ProcStat[], until: number, pollMs: number): Promise<void> {
  let pending = members;
  let step = Math.min(FIRST_CHECK_MS, pollMs);
  while (pending.length > 0) {
    const left = until - performance.now();
    if (left <= 0) return;
    await delay(Math.min(step, left));
    step = Math.min(step * 2, pollMs * 4);
    pending = pending.filter((member) => isAlive(member.pid, member.startTime));
  }
}

/**
 * Sends `signal` to the whole tree and resolves as soon as none of it is alive (zombies count as gone). Known members
 * are watched by pid; the tree is walked again (a shared snapshot) when they are gone, or every REWALK_MS, so members
 * forked meanwhile get the signal too. At timeoutMs: onEscalate(), SIGKILL to every member, wait up to killWaitMs.
 */
export async function stopTree(options: StopTreeOptions): Promise<StopTreeResult> {
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const killWaitMs = options.killWaitMs ?? DEFAULT_KILL_WAIT_MS;
  if (!(options.useProc ?? hasProc())) return stopTreeWithoutProc(options, { pollMs, killWaitMs });
  const table = options.table ?? sharedProcessTable();
  const started = performance.now();
  // Pin the root's identity now, so a pid reused during the stop is never signalled.
  const root: TreeRoot = { pid: options.pid, startTime: options.startTime ?? procStartTime(options.pid) };
  const memory = newTreeMemory();
  const signalled = new Set<string>();
  const result = (forced: boolean, survivors: number[]): StopTreeResult => ({ forced, survivors, durationMs: performance.now() - started, signalled: signalled.size });
  const walk = async () => {
    const snapshot = await table.next();
    return { snapshot, ...collectTree(snapshot, root, options.marker, memory, options.spare) };
  };

  const deadline = started + options.timeoutMs;
  for (;;) {
    const { snapshot, members, status } = await walk();
    if (members.length === 0) return result(false, []);
    const fresh = members.filter((member) => !signalled.has(processKey(member)));
    // The group signal first: one atomic kill that a member cannot outrun by forking.
    const groupReached = signalled.size === 0 && signalGroup(root, status, members, options.signal, snapshot, options);
    for (const member of fresh) {
      if ((groupReached && member.pgid === root.pid) || signalMember(member, options.signal)) signalled.add(processKey(member));
    }
    if (performance.now() >= deadline) break;
    await waitForExit(members, Math.min(deadline, performance.now() + REWALK_MS), pollMs);
  }

  options.onEscalate?.();
  const killDeadline = performance.now() + killWaitMs;
  for (;;) {
    const { snapshot, members, status } = await walk();
    if (members.length === 0) return result(true, []);
    signalGroup(root, status, members, 'SIGKILL', snapshot, options);
    for (const member of members) signalMember(member, 'SIGKILL');
    if (performance.now() >= killDeadline) return result(true, members.map((member) => member.pid));
    await waitForExit(members, Math.min(killDeadline, performance.now() + REWALK_MS), pollMs);
  }
}

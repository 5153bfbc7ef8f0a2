/**
 * Stopping a service's whole process tree: the root, its descendants, its process group and session, and every
 * process carrying the service's marker environment variable (which finds setsid'd and re-parented escapees).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { MARKER_ENV, MarkerCache, processKey, RUN_ENV } from './markers.ts';
import { hasProc, isExited, listProcesses, procStartTime, readEnvVar, readProcStat, type ProcStat } from './proc.ts';
import type { StopTreeOptions, StopTreeResult, TreeRoot } from './stop-types.ts';
import { sendSignal, stopTreeWithoutProc } from './tree-fallback.ts';

export { MARKER_ENV, MarkerCache, RUN_ENV } from './markers.ts';
export type { StopTreeOptions, StopTreeResult, TreeRoot } from './stop-types.ts';
export { signalTree } from './tree-fallback.ts';


const DEFAULT_POLL_MS = 15;
const DEFAULT_KILL_WAIT_MS = 2000;


export interface MarkedProcess {
  pid: number;
  startTime: number;
  marker: string;
}

type RootStatus = 'ours' | 'gone' | 'reused';

/** Never ours to signal: the caller itself and init. */
function isCandidate(stat: ProcStat): boolean {
  return !isExited(stat) && stat.pid !== process.pid && stat.pid !== 1;
}

function rootStatus(root: TreeRoot, all: ProcStat[]): RootStatus {
  // Our own group and session hold the caller's relatives, never a service: treat them as a stranger's.
  if (root.pid <= 1 || root.pid === process.pid) return 'reused';
  const stat = all.find((candidate) => candidate.pid === root.pid);
  if (!stat) return 'gone';
  return root.startTime === undefined || root.startTime === null || stat.startTime === root.startTime ? 'ours' : 'reused';
}

/** Adds every descendant (by ppid) of the current members. */
function addDescendants(members: Map<number, ProcStat>, live: ProcStat[]): void {
  const children = new Map<number, ProcStat[]>();
  for (const stat of live) {
    const siblings = children.get(stat.ppid);
    if (siblings) siblings.push(stat);
    else children.set(stat.ppid, [stat]);
  }
  const queue = [...members.values()];
  for (let next = queue.pop(); next; next = queue.pop()) {
    for (const child of children.get(next.pid) ?? []) {
      if (members.has(child.pid)) continue;
      members.set(child.pid, child);
      queue.push(child);
    }
  }
}

/** What one stop has learnt, by pid + start time: members stay members after re-parenting, and environ is read once. */
interface TreeMemory {
  members: Set<string>;
  unmarked: Set<string>;
  cache?: MarkerCache;
}

function isMarked(stat: ProcStat, marker: string, memory: TreeMemory): boolean {
  const key = processKey(stat);
  if (memory.unmarked.has(key)) return false;
  if ((memory.cache ? memory.cache.read(stat) : readEnvVar(stat.pid, MARKER_ENV)) === marker) return true;
  memory.unmarked.add(key);
  return false;
}

/** One /proc walk. A fresh memory per call keeps nothing stale across calls. */
function walkTree(root: TreeRoot | null, marker: string | undefined, memory: TreeMemory = { members: new Set(), unmarked: new Set() }): { members: ProcStat[]; status: RootStatus } {
  const all = listProcesses();
  memory.cache?.prune(all);
  const live = all.filter(isCandidate);
  const status: RootStatus = root ? rootStatus(root, all) : 'gone';
  const members = new Map<number, ProcStat>();
  for (const stat of live) if (memory.members.has(processKey(stat))) members.set(stat.pid, stat);
  // A reused root pid belongs to a stranger, and so do its group, session and children. A gone root's group and
  // session are still ours: the kernel does not reuse a pid while it names a live group or session.
  if (root && status !== 'reused') {
    for (const stat of live) {
      if (stat.pid === root.pid || stat.pgid === root.pid || stat.sid === root.pid) members.set(stat.pid, stat);
    }
  }
  addDescendants(members, live);
  if (marker) {
    for (const stat of live) if (!members.has(stat.pid) && isMarked(stat, marker, memory)) members.set(stat.pid, stat);
    addDescendants(members, live);
  }
  for (const stat of members.values()) memory.members.add(processKey(stat));
  return { members: [...members.values()], status };
}

/** Live pids of the tree; never includes the caller or pid 1. */
export function findTree(root: TreeRoot | null, marker?: string, cache?: MarkerCache): number[] {
  return walkTree(root, marker, { members: new Set(), unmarked: new Set(), cache }).members.map((stat) => stat.pid);
}

/**
 * Members of the tree of a process that has exited, leaving out every process of the run that replaced it: those that
 * carry its run id (RUN_ENV), and its session, group and descendants. Meant to run right after the new spawn.
 */
export function findLeftovers(previous: TreeRoot, current: { pid: number; run: string }, marker: string, cache?: MarkerCache): ProcStat[] {
  const { members } = walkTree(previous, marker, { members: new Set(), unmarked: new Set(), cache });
  const byPid = new Map(members.map((stat) => [stat.pid, stat]));
  const inCurrentTree = (stat: ProcStat): boolean => {
    for (let at: ProcStat | undefined = stat, hops = 0; at && hops < 1000; at = byPid.get(at.ppid), hops++) {
      if (at.pid === current.pid || at.sid === current.pid || at.pgid === current.pid || at.ppid === current.pid) return true;
    }
    return false;
  };
  return members.filter((stat) => !inCurrentTree(stat) && readEnvVar(stat.pid, RUN_ENV) !== current.run);
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

/** Every live process whose marker starts with `prefix`: leftovers of a supervisor that was SIGKILLed. */
export function findMarkedProcesses(prefix: string): MarkedProcess[] {
  const found: MarkedProcess[] = [];
  for (const stat of listProcesses()) {
    if (!isCandidate(stat)) continue;
    const marker = readEnvVar(stat.pid, MARKER_ENV);
    if (marker !== null && marker.startsWith(prefix)) found.push({ pid: stat.pid, startTime: stat.startTime, marker });
  }
  return found;
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

/** Only a group known to be ours: some member is in it and the root pid was not reused. */
function signalGroup(root: TreeRoot, status: RootStatus, members: ProcStat[], signal: NodeJS.Signals): boolean {
  if (status === 'reused' || !members.some((member) => member.pgid === root.pid)) return false;
  return sendSignal(-root.pid, signal);
}

/**
 * Sends `signal` to the whole tree, re-walking it every pollMs so members forked meanwhile get it too; resolves as soon
 * as none is alive (zombies count as gone). At timeoutMs: onEscalate(), SIGKILL to every member, wait up to killWaitMs.
 */
export async function stopTree(options: StopTreeOptions): Promise<StopTreeResult> {
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const killWaitMs = options.killWaitMs ?? DEFAULT_KILL_WAIT_MS;
  if (!(options.useProc ?? hasProc())) return stopTreeWithoutProc(options, { pollMs, killWaitMs });
  const started = performance.now();
  // Pin the root's identity now, so a pid reused during the stop is never signalled.
  const root: TreeRoot = { pid: options.pid, startTime: options.startTime ?? procStartTime(options.pid) };
  const memory: TreeMemory = { members: new Set(), unmarked: new Set(), cache: options.cache };
  const signalled = new Set<string>();
  const result = (forced: boolean, survivors: number[]): StopTreeResult => ({ forced, survivors, durationMs: performance.now() - started, signalled: signalled.size });

  const deadline = started + options.timeoutMs;
  for (;;) {
    const { members, status } = walkTree(root, options.marker, memory);
    if (members.length === 0) return result(false, []);
    const fresh = members.filter((member) => !signalled.has(processKey(member)));
    // The group signal first: one atomic kill that a member cannot outrun by forking.
    const groupReached = signalled.size === 0 && signalGroup(root, status, members, options.signal);
    for (const member of fresh) {
      if ((groupReached && member.pgid === root.pid) || signalMember(member, options.signal)) signalled.add(processKey(member));
    }
    const left = deadline - performance.now();
    if (left <= 0) break;
    await delay(Math.min(pollMs, left));
  }

  options.onEscalate?.();
  const killDeadline = performance.now() + killWaitMs;
  for (;;) {
    const { members, status } = walkTree(root, options.marker, memory);
    if (members.length === 0) return result(true, []);
    signalGroup(root, status, members, 'SIGKILL');
    for (const member of members) signalMember(member, 'SIGKILL');
    if (performance.now() >= killDeadline) return result(true, members.map((member) => member.pid));
    await delay(pollMs);
  }
}

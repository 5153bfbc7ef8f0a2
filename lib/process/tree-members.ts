/** Which processes of one snapshot make up a service's tree: a pure function of the snapshot and what a stop has learnt. */
import { isExited, type ProcStat } from './proc.ts';
import type { ProcessSnapshot } from './table.ts';
import type { SpareProcess, TreeRoot } from './stop-types.ts';

export type RootStatus = 'ours' | 'gone' | 'reused';

/** What one stop has learnt, by pid → start time: members stay members after re-parenting. */
export interface TreeMemory {
  members: Map<number, number>;
}

export function newTreeMemory(): TreeMemory {
  return { members: new Map() };
}

/** Never ours to signal: the caller itself and init. */
export function isCandidate(stat: ProcStat): boolean {
  return !isExited(stat) && stat.pid !== process.pid && stat.pid !== 1;
}

export function rootStatus(root: TreeRoot, snapshot: ProcessSnapshot): RootStatus {
  // Our own group and session hold the caller's relatives, never a service: treat them as a stranger's.
  if (root.pid <= 1 || root.pid === process.pid) return 'reused';
  const stat = snapshot.get(root.pid);
  if (!stat) return 'gone';
  return root.startTime === undefined || root.startTime === null || stat.startTime === root.startTime ? 'ours' : 'reused';
}

/** Whether `stat` is `pid`, or in its session or group, or below it (ancestors by ppid). */
export function belongsTo(stat: ProcStat, pid: number, snapshot: ProcessSnapshot): boolean {
  for (let at: ProcStat | undefined = stat, hops = 0; at && hops < 1000; at = snapshot.get(at.ppid), hops++) {
    if (at.pid === pid || at.sid === pid || at.pgid === pid || at.ppid === pid) return true;
  }
  return false;
}

/** Members of the tree in this snapshot. A reused root pid belongs to a stranger, and so do its group, session and children. */
export function collectTree(snapshot: ProcessSnapshot, root: TreeRoot | null, marker: string | undefined, memory: TreeMemory, spare?: SpareProcess): { members: ProcStat[]; status: RootStatus } {
  const status: RootStatus = root ? rootStatus(root, snapshot) : 'gone';
  const members = new Map<number, ProcStat>();
  const admit = (stat: ProcStat | undefined): void => {
    if (!stat || members.has(stat.pid) || !isCandidate(stat) || spare?.(stat, snapshot)) return;
    members.set(stat.pid, stat);
  };
  for (const [pid, startTime] of memory.members) admit(snapshot.live(pid, startTime));
  // A gone root's group and session are still ours: the kernel does not reuse a pid while it names a live group or session.
  if (root && status !== 'reused') {
    admit(snapshot.get(root.pid));
    for (const stat of snapshot.group(root.pid)) admit(stat);
    for (const stat of snapshot.session(root.pid)) admit(stat);
  }
  addDescendants(members, snapshot, admit);
  if (marker) {
    for (const stat of snapshot.marked(marker)) admit(stat);
    addDescendants(members, snapshot, admit);
  }
  for (const stat of members.values()) memory.members.set(stat.pid, stat.startTime);
  return { members: [...members.values()], status };
}

function addDescendants(members: Map<number, ProcStat>, snapshot: ProcessSnapshot, admit: (stat: ProcStat) => void): void {
  const queue = [...members.values()];
  for (let next = queue.pop(); next; next = queue.pop()) {
    for (const child of snapshot.children(next.pid)) {
      if (members.has(child.pid)) continue;
      admit(child);
      const added = members.get(child.pid);
      if (added) queue.push(added);
    }
  }
}

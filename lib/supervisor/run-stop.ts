/** Stopping the process tree of one run of a service, and waiting for its child to be reaped. */
import type { ChildProcess } from 'node:child_process';
import { boundedWait } from '../core/long-timer.ts';
import type { ProcessExit, ServiceConfig } from '../core/types.ts';
import type { ProcessTable } from '../process/table.ts';
import { stopTree, type StopTreeResult } from '../process/tree.ts';

/** After the tree stop, how long the child's exit event may take to arrive (it is reaped by now, unless stuck). */
const CHILD_EXIT_WAIT_MS = 2_000;

export interface RunToStop {
  /** null once the child exited: then the tree is found from `lastPid`, whose process group it left behind. */
  child: ChildProcess | null;
  /** Read once the tree is stopped: the exit to wait for is that of the child at that moment. */
  childExited: () => Promise<ProcessExit> | null;
  pidStart: number | null;
  lastPid: number;
}

export interface TreeOwner {
  config: ServiceConfig;
  marker: string;
  table: ProcessTable | undefined;
}

/** stop_signal to the whole tree, SIGKILL after stop_timeout (`onEscalate` then); resolves when it is gone. */
export async function stopRun(run: RunToStop, owner: TreeOwner, onEscalate: () => void): Promise<StopTreeResult> {
  const { child } = run;
  const result = await stopTree({
    pid: child?.pid ?? run.lastPid,
    startTime: child ? run.pidStart : -1,
    marker: owner.marker,
    table: owner.table,
    signal: owner.config.stopSignal,
    timeoutMs: owner.config.stopTimeoutMs,
    onEscalate,
  });
  // A child stuck in uninterruptible sleep (D) or one we may not signal never exits: wait boundedly, never forever
  const exited = run.childExited();
  if (child && exited) await boundedWait(exited, result.survivors.includes(child.pid ?? -1) ? 0 : CHILD_EXIT_WAIT_MS);
  return result;
}

/** A run that never became ready: its tree stopped, then its child's exit awaited, so the exit is known to be this stop's. */
export async function stopUnreadyRun(child: ChildProcess, run: Pick<RunToStop, 'childExited' | 'pidStart'>, owner: TreeOwner): Promise<void> {
  await stopTree({ pid: child.pid!, startTime: run.pidStart, marker: owner.marker, table: owner.table, signal: owner.config.stopSignal, timeoutMs: owner.config.stopTimeoutMs });
  const exited = run.childExited();
  if (exited) await exited;
}

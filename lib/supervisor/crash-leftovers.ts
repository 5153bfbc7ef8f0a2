/** What a crashed run left behind (a setsid'd daemon, a child that outlived it), and whether it is stopped before the restart. */
import type { ServiceConfig } from '../core/types.ts';
import type { ProcessTable } from '../process/table.ts';
import { groupHasMembers, spareRun, stopTree, type SpareProcess } from '../process/tree.ts';
import type { RestartDecision } from './policy.ts';

/** The run that is current now: `pid` is undefined between runs. */
export interface RunOf {
  pid: number | undefined;
  run: string;
}

/** A run that ended: the pid whose process group it may have left behind, and its RUN_ENV. */
export interface CrashedRun {
  pid: number;
  run: string;
}

/**
 * Nothing left in the process group: restart at once (queued first), and look for escapees (setsid) after the spawn.
 * Otherwise the clean-up is queued first and the restart waits for it: never two copies.
 * With a `port`, leftovers go first: they may hold its port (the restart waits in the queue behind the clean-up).
 */
export function restartBeforeCleanUp(decision: RestartDecision, previousPid: number, config: ServiceConfig): boolean {
  return decision.action === 'restart' && decision.delayMs === 0 && !groupHasMembers(previousPid) && !config.port;
}

/**
 * Whatever run is current when a walk happens is spared (RUN_ENV, its session, group and descendants): a restart
 * queued before this clean-up, or a crash restart, is never killed by it.
 */
export async function stopCrashedRun(crashed: CrashedRun, current: () => RunOf, config: ServiceConfig, marker: string, table: ProcessTable | undefined): Promise<void> {
  const spare: SpareProcess = (stat, snapshot) => {
    const now = current();
    return now.run !== crashed.run && spareRun(now)(stat, snapshot);
  };
  await stopTree({ pid: crashed.pid, startTime: -1, marker, table, spare, signal: config.stopSignal, timeoutMs: config.stopTimeoutMs });
}

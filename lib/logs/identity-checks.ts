/**
 * The "does the path still name our open file?" check of every RotatingLog, on the shared ticker (one timer for all
 * logs, not one per file). A log being written checks on write (see RotatingLog); the tick checks only logs that have
 * not been checked for IDLE_CHECK_FACTOR × their interval.
 */
import { everyInterval } from '../core/shared-ticker.ts';

/** An idle log (nothing written) is checked this many intervals apart: 30 s at the default 1 s. */
export const IDLE_CHECK_FACTOR = 30;

export interface IdentityChecked {
  readonly checkMs: number;
  /** Called on each tick with the time; the log decides whether it is due. */
  idleTick(now: number): void;
}

/** Adds a log to the shared timer; the function returned removes it (the timer stops with the last one). */
export function registerIdentityCheck(member: IdentityChecked): () => void {
  return everyInterval(member.checkMs, (now) => member.idleTick(now));
}

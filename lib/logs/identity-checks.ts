/**
 * The "does the path still name our open file?" check of every RotatingLog, on one timer per process instead of one
 * per file: 500 logs wake the supervisor as often as one does. A log being written checks on write (see RotatingLog);
 * the timer checks only logs that have not been checked for IDLE_CHECK_FACTOR × their interval.
 */

/** An idle log (nothing written) is checked this many intervals apart: 30 s at the default 1 s. */
export const IDLE_CHECK_FACTOR = 30;

export interface IdentityChecked {
  readonly checkMs: number;
  /** Called on each tick with the time; the log decides whether it is due. */
  idleTick(now: number): void;
}

const members = new Set<IdentityChecked>();
let timer: NodeJS.Timeout | null = null;
let timerMs = 0;

function tick(): void {
  const now = performance.now();
  for (const member of members) member.idleTick(now);
}

function rearm(): void {
  const wanted = members.size === 0 ? 0 : Math.min(...[...members].map((member) => member.checkMs));
  if (wanted === timerMs) return;
  if (timer) clearInterval(timer);
  timer = null;
  timerMs = wanted;
  if (wanted > 0) timer = setInterval(tick, wanted).unref();
}

/** Adds a log to the shared timer; the function returned removes it (the timer stops with the last one). */
export function registerIdentityCheck(member: IdentityChecked): () => void {
  members.add(member);
  rearm();
  return () => {
    members.delete(member);
    rearm();
  };
}

/** How many timers the checks use right now (0 or 1): for tests. */
export function identityCheckTimers(): number {
  return timer ? 1 : 0;
}

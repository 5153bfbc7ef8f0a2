/** setTimeout for any duration: Node fires at once for more than 2^31-1 ms (~24.8 days), so long waits are re-armed in steps. */

/** setTimeout's limit. */
export const MAX_SET_TIMEOUT_MS = 2 ** 31 - 1;

export interface LongTimer {
  clear(): void;
}

/** Calls `fire` once, `ms` from now by the clock `now`, however long that is. */
export function setLongTimeout(fire: () => void, ms: number, now: () => number = Date.now): LongTimer {
  const due = now() + ms;
  let timer: NodeJS.Timeout | null = null;
  const arm = (): void => {
    const left = due - now();
    timer = setTimeout(() => {
      timer = null;
      if (due - now() > 0) return arm();
      fire();
    }, Math.max(0, Math.min(left, MAX_SET_TIMEOUT_MS)));
  };
  arm();
  return {
    clear: () => {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}

/** Waits for `work`, but never longer than `ms`; never rejects. */
export function boundedWait(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((done) => { timer = setTimeout(done, Math.min(ms, MAX_SET_TIMEOUT_MS)); });
  return Promise.race([work.then(() => undefined, () => undefined), deadline]).finally(() => clearTimeout(timer));
}

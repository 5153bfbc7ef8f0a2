/**
 * Periodic work batched across services: one timer per distinct interval, however many subscribe (500 log files or
 * 500 samplers wake the supervisor as often as one does). Timers are unref'd: they never keep the process alive.
 */

type Tick = (now: number) => void;

const groups = new Map<number, { timer: NodeJS.Timeout; subscribers: Set<Tick> }>();

/** Calls `tick` every `intervalMs` on the interval's shared timer; returns the unsubscribe function. */
export function everyInterval(intervalMs: number, tick: Tick): () => void {
  let group = groups.get(intervalMs);
  if (!group) {
    const subscribers = new Set<Tick>();
    const timer = setInterval(() => {
      const now = performance.now();
      for (const subscriber of subscribers) {
        try {
          subscriber(now);
        } catch {
          // one subscriber's failure never stops the others' ticks
        }
      }
    }, intervalMs).unref();
    group = { timer, subscribers };
    groups.set(intervalMs, group);
  }
  const { subscribers } = group;
  subscribers.add(tick);
  return () => {
    subscribers.delete(tick);
    if (subscribers.size > 0 || groups.get(intervalMs)?.subscribers !== subscribers) return;
    clearInterval(groups.get(intervalMs)!.timer);
    groups.delete(intervalMs);
  };
}

/** How many timers the shared ticks use right now: one per distinct interval. */
export function sharedTimerCount(): number {
  return groups.size;
}

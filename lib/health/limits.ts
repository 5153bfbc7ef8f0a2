/** max_memory and max_gpu_memory: pure decisions over consecutive samples. */

/** Samples in a row over the limit that trigger a restart: one spike is not a leak. */
export const SAMPLES_OVER_LIMIT = 2;

export interface LimitCheck {
  /** Samples in a row over the limit so far (after this one). */
  over: number;
  /** This sample makes the restart due. */
  trigger: boolean;
}

/** `value` null (not measured) neither counts nor resets; a limit of null never triggers. */
export function checkLimit(over: number, value: number | null, limit: number | null): LimitCheck {
  if (limit === null) return { over: 0, trigger: false };
  if (value === null) return { over, trigger: false };
  if (value <= limit) return { over: 0, trigger: false };
  const next = over + 1;
  return next >= SAMPLES_OVER_LIMIT ? { over: 0, trigger: true } : { over: next, trigger: false };
}

/** The biggest `count` items by `size`, biggest first. */
export function biggest<T>(items: T[], size: (item: T) => number, count = 3): T[] {
  return [...items].sort((a, b) => size(b) - size(a)).slice(0, count);
}

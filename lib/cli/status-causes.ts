/** What `status` says about why services crashed and when one that gave up is tried again. */
import { formatDuration } from '../config/duration.ts';
import type { LastExit } from '../core/types.ts';

interface CrashedService {
  name: string;
  state: string;
  last_exit: LastExit | null;
  last_stderr?: string | null;
}

/** `(retry at 20:15:03, in 4m 12s)`: local time, and how long from `now`. */
export function formatRetry(retryAt: string, now = Date.now()): string {
  const at = new Date(retryAt);
  if (Number.isNaN(at.getTime())) return '';
  const clock = [at.getHours(), at.getMinutes(), at.getSeconds()].map((part) => String(part).padStart(2, '0')).join(':');
  return `(retry at ${clock}, in ${formatDuration(Math.max(0, at.getTime() - now))})`;
}

/** One line per service whose last crash left a stderr line: `web failed: exit code 127: /bin/sh: 1: pyhton3: not found`. */
export function formatCrashCauses(services: CrashedService[]): string {
  return services
    .filter((service) => service.last_stderr && service.state !== 'stopped')
    .map((service) => `${service.name} ${service.state === 'failed' ? 'failed' : 'crashed'}: ${exitText(service.last_exit)}${service.last_stderr}\n`)
    .join('');
}

function exitText(exit: LastExit | null): string {
  if (!exit) return '';
  if (exit.signal) return `killed by ${exit.signal}: `;
  return exit.code === null ? '' : `exit code ${exit.code}: `;
}

/** The service lifecycle's legal transitions: one table, checked by the one writer of a service's state. */
import { SupervisorError } from '../core/errors.ts';
import type { ServiceState } from '../core/types.ts';

export const ALLOWED: Record<ServiceState, readonly ServiceState[]> = {
  // -> failed: a dependency did not become ready (issue 11)
  stopped: ['starting', 'failed'],
  exited: ['starting', 'stopped', 'failed'],
  failed: ['starting', 'stopped', 'failed'],
  // starting -> failed: spawn error; starting -> stopping: stop requested before the spawn settled;
  // starting -> backoff|exited|failed: it ended, or was not ready in time, before it was ready (issue 11)
  starting: ['running', 'failed', 'stopping', 'backoff', 'exited'],
  running: ['stopping', 'backoff', 'exited', 'failed'],
  backoff: ['starting', 'stopped', 'failed'],
  // stopping|killing -> backoff|failed: a restart the supervisor decided on (health, memory) after the tree is gone
  stopping: ['killing', 'stopped', 'backoff', 'failed'],
  killing: ['stopped', 'failed', 'backoff'],
};

export class InvalidTransitionError extends SupervisorError {
  constructor(service: string, from: ServiceState, to: ServiceState) {
    super('state.invalid-transition', `${service}: ${from} -> ${to} not allowed`);
  }
}

export function assertTransition(service: string, from: ServiceState, to: ServiceState): void {
  if (!ALLOWED[from].includes(to)) throw new InvalidTransitionError(service, from, to);
}

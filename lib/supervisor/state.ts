/** The service lifecycle's legal transitions: one table, checked by the one writer of a service's state. */
import { SupervisorError } from '../core/errors.ts';
import type { ServiceState } from '../core/types.ts';

export const ALLOWED: Record<ServiceState, readonly ServiceState[]> = {
  stopped: ['starting'],
  exited: ['starting', 'stopped'],
  failed: ['starting', 'stopped'],
  // starting -> failed: spawn error; starting -> stopping: stop requested before the spawn settled
  starting: ['running', 'failed', 'stopping'],
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

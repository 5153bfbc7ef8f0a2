/**
 * Before a start of a service with `port`: a leftover of its previous run that holds the port is stopped; any other
 * holder is waited for up to `port_wait` and never signalled.
 */
import { portHolders, portInUse, type PortHolder } from '../process/ports.ts';
import { procStartTime, readEnvVar } from '../process/proc.ts';
import { MARKER_ENV, stopTree } from '../process/tree.ts';

const POLL_MS = 200;

export interface HandOverOptions {
  port: number;
  /** This service's marker: a holder carrying it is of this service's previous run. */
  marker: string;
  stopSignal: NodeJS.Signals;
  stopTimeoutMs: number;
  portWaitMs: number;
  signal: AbortSignal;
  /** Recorded when a leftover is stopped. */
  stoppedLeftover?: (holder: PortHolder) => void;
}

/** null when the port is free (or became free); else the reason the start fails. */
export async function handOverPort(options: HandOverOptions): Promise<string | null> {
  const deadline = Date.now() + options.portWaitMs;
  for (;;) {
    if (options.signal.aborted) return 'aborted';
    const holders = portHolders(options.port);
    const ours = holders.filter((holder) => readEnvVar(holder.pid, MARKER_ENV) === options.marker);
    for (const holder of ours) {
      options.stoppedLeftover?.(holder);
      await stopTree({ pid: holder.pid, startTime: procStartTime(holder.pid), marker: options.marker, signal: options.stopSignal, timeoutMs: options.stopTimeoutMs });
    }
    if (ours.length > 0) continue;
    if (holders.length === 0 && !portInUse(options.port)) return null;
    if (Date.now() >= deadline) {
      const foreign = holders[0];
      return foreign
        ? `port ${options.port} is held by pid ${foreign.pid} (${foreign.command}), not by this service`
        : `port ${options.port} is held by a process of another user, not by this service`;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
  }
}

/** Processes the supervisor finds still running that no service owns: a killed predecessor's trees, one-shot commands at shutdown. */
import { stateDirHash } from '../config/paths.ts';
import type { EventRecord, ServiceConfig } from '../core/types.ts';
import { stopOneShots } from '../process/one-shots.ts';
import { procStartTime } from '../process/proc.ts';
import { sharedProcessTable } from '../process/table.ts';
import { markedProcessesIn, stopTree } from '../process/tree.ts';

/** A SIGKILLed supervisor leaves its services running: stop every tree that carries our marker. */
export async function stopPredecessorLeftovers(stateDir: string, configOf: (service: string) => ServiceConfig | undefined, record: (event: Omit<EventRecord, 'time'>) => void): Promise<void> {
  const markers = new Map<string, number[]>();
  const snapshot = await sharedProcessTable().next();
  for (const { pid, marker } of markedProcessesIn(snapshot, `${stateDirHash(stateDir)}/`)) markers.set(marker, [...(markers.get(marker) ?? []), pid]);
  await Promise.all([...markers].map(async ([marker, pids]) => {
    const name = marker.slice(marker.indexOf('/') + 1);
    const service = configOf(name);
    const result = await stopTree({ pid: Math.min(...pids), startTime: procStartTime(Math.min(...pids)), marker, signal: service?.stopSignal ?? 'SIGTERM', timeoutMs: service?.stopTimeoutMs ?? 10_000 });
    record({ event: 'stopped', service: name, reason: 'left running by a previous supervisor', forced: result.forced, processes: pids.length });
  }));
}

/** Hooks, idle checks and notify commands still running at shutdown: stopped with their trees, each named on stderr. */
export async function stopOneShotsAtShutdown(): Promise<void> {
  for (const stopped of await stopOneShots()) {
    process.stderr.write(`restart-control: stopped ${stopped.what} (pid ${stopped.pid}) at shutdown${stopped.survivors.length ? `; still alive: ${stopped.survivors.join(', ')}` : ''}\n`);
  }
}

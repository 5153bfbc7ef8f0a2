/** The restart sequence over many services at once: the schedule's services (scheduled) or every one (force-restart). */
import type { EventLog } from '../core/events.ts';
import type { Config } from '../core/types.ts';
import type { OutputRouter } from '../logs/output.ts';
import { runRestartSequence, type RestartKind } from '../schedule/sequence.ts';
import type { Scheduler } from '../schedule/timer.ts';
import type { Service } from './service.ts';

/** What a sequence needs of the supervisor, so this file never imports supervisor.ts. */
export interface RestartAllTarget {
  readonly config: Config;
  readonly services: ReadonlyMap<string, Service>;
  readonly scheduler: Scheduler;
  readonly output: Pick<OutputRouter, 'rotateAll'>;
  readonly events: Pick<EventLog, 'record'>;
  writeState(): void;
}

/**
 * Runs one sequence and answers the lines the CLI prints. `finished` runs before the closing state write, so that
 * write no longer shows a sequence under way.
 */
export async function restartAllServices(target: RestartAllTarget, kind: RestartKind, waitIdle: boolean, signal: AbortSignal, finished: () => void): Promise<string[]> {
  const { scheduler } = target;
  scheduler.disarm();
  target.writeState(); // status must not show the restart that is now running as still to come
  const wanted = kind === 'scheduled' ? target.config.schedule?.services ?? [] : [];
  const services = [...target.services.values()].filter((service) => wanted.length === 0 || wanted.includes(service.name));
  const notReady: string[] = [];
  try {
    const durations = await runRestartSequence({
      config: target.config,
      services,
      allServices: target.services,
      onReady: (service, outcome) => { if (!outcome.ok) notReady.push(`${service.name} did not become ready: ${outcome.reason}`); },
      record: (event) => target.events.record(event),
      nextRestart: () => scheduler.nextRestart() ?? scheduler.followingRestart(),
      betweenStopAndStart: target.config.logs.rotateOnRestart && kind === 'scheduled' ? () => target.output.rotateAll() : undefined,
    }, { kind, waitIdle, signal });
    if (!signal.aborted) scheduler.restarted(new Date());
    target.events.record({
      event: 'restart_completed', kind, services: services.map((service) => service.name), durations,
      next_restart: scheduler.nextRestart()?.toISOString() ?? null,
    });
    return [...services.map((service) => service.state === 'running' ? `restarted ${service.name} (pid ${service.pid})` : `${service.name}: ${service.state}`), ...notReady];
  } finally {
    if (!signal.aborted && !scheduler.nextRestart()) scheduler.arm();
    finished();
    target.writeState();
  }
}

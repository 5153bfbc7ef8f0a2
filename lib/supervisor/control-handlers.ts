/** What each control request does to the supervisor's services; answers are the lines the CLI prints. */
import type { ControlRequest, ControlResponse } from '../control/protocol.ts';
import { ControlError } from '../core/errors.ts';
import type { EventLog } from '../core/events.ts';
import { isoInZone } from '../core/time-format.ts';
import type { Reloader } from '../reload/reloader.ts';
import type { RestartKind } from '../schedule/sequence.ts';
import type { Scheduler } from '../schedule/timer.ts';
import type { Service } from './service.ts';
import { startServices, stopAll, waitReadyLine } from './control-start.ts';

/** What the handlers need of the supervisor (it passes itself), so this file never imports supervisor.ts. */
export interface ControlTarget {
  readonly ready: boolean;
  /** A scheduled or forced restart sequence is under way. */
  readonly restartRunning: boolean;
  readonly services: ReadonlyMap<string, Service>;
  readonly events: EventLog;
  readonly scheduler: Scheduler;
  readonly reloader: Reloader;
  restartAll(kind: RestartKind, waitIdle: boolean): Promise<string[]>;
  writeState(): void;
  shutdown(reason: string): Promise<void>;
}

/** Control requests. Unknown service names refuse the whole request before anything is done. */
export async function handleControlRequest(supervisor: ControlTarget, request: ControlRequest): Promise<ControlResponse> {
  switch (request.command) {
    case 'ping':
      return { ok: true, data: { pid: process.pid, ready: supervisor.ready } };
    case 'start': {
      // Issue 11: dependency order, dependencies first, and the answer waits for readiness
      const named = resolveServices(supervisor, request.services);
      const response = await startServices(supervisor.services, named, !request.services?.length, Boolean(request.options?.noWait));
      supervisor.writeState();
      return response;
    }
    case 'stop':
      if (!request.services?.length) {
        const messages = await stopAll(supervisor.services);
        supervisor.writeState();
        return { ok: true, messages };
      }
      return each(supervisor, request, async (service) => {
        const before = service.snapshot().state;
        const wasActive = service.isActive() || service.state === 'backoff';
        await service.stop('user stop');
        return wasActive ? `stopped ${service.name}` : `${service.name} was not running (${before})`;
      });
    case 'force-restart':
      if (!request.services || request.services.length === 0) {
        // Issue 11: returns once the services are ready; --no-wait returns at once
        const sequence = supervisor.restartAll('force', Boolean(request.options?.waitIdle));
        if (request.options?.noWait) return { ok: true, messages: ['restart sequence started (not waiting for it)'] };
        const messages = await sequence;
        const notReady = messages.filter((message) => message.includes('did not become ready'));
        return { ok: notReady.length === 0, messages, error: notReady.join('; ') || undefined, exitCode: 1 };
      }
      return restartEach(supervisor, request);
    case 'restart':
      return restartEach(supervisor, request);
    case 'reload': {
      const result = await supervisor.reloader.reload('reload command');
      if (!result.ok) return { ok: false, error: `config refused, still running the last good one: ${result.error}`, exitCode: 2 };
      const list = (names: string[]) => (names.length ? names.join(', ') : '-');
      return { ok: true, messages: [
        `config reloaded: added ${list(result.added)}; removed ${list(result.removed)}; changed ${list(result.changed)}; unchanged ${list(result.unchanged)}`,
        ...result.warnings.map((warning) => `warning: ${warning}`),
      ] };
    }
    case 'enable':
    case 'disable':
      supervisor.scheduler.setEnabled(request.command === 'enable');
      supervisor.events.record({ event: request.command === 'enable' ? 'schedule_enabled' : 'schedule_disabled', reason: `user ${request.command}` });
      supervisor.writeState();
      // A sequence the timer already started runs to its end: say so, so nobody takes `disable` for a cancel
      return { ok: true, messages: [describeSchedule(supervisor) + (supervisor.restartRunning ? '; a restart sequence is running and will finish' : '')] };
    case 'shutdown':
      setImmediate(() => void supervisor.shutdown('user shutdown').then(() => process.exit(0)));
      return { ok: true, messages: ['supervisor shutting down'] };
    default:
      return { ok: false, error: `'${request.command}' is not supported by this supervisor`, exitCode: 2 };
  }
}

async function restartEach(supervisor: ControlTarget, request: ControlRequest): Promise<ControlResponse> {
  const names = resolveServices(supervisor, request.services).map((service) => service.name); // unknown names refuse first
  // Never restart a stale definition: apply the file's whole config as a reload does (watchers, globals, added and
  // removed services), restarting only these; an invalid file keeps the last good one
  await supervisor.reloader.reloadForRestart(names, `user ${request.command}`);
  const removed = names.filter((name) => !supervisor.services.has(name)).map((name) => `${name} was removed from the config: stopped`);
  const kept = names.filter((name) => supervisor.services.has(name));
  // An empty list would mean "every service" to each()
  if (kept.length === 0) return { ok: true, messages: removed };
  const response = await each(supervisor, { ...request, services: kept }, async (service) => {
    const reason = `user ${request.command}`;
    await service.stop(reason);
    if (service.disposed.aborted) return `${service.name} was removed from the config: stopped`;
    await service.start('user', reason);
    return `${service.name}\0`; // the readiness wait happens outside the queue (below)
  });
  // Issue 11: the answer waits for readiness (unless --no-wait), outside the service's queue so a stop is not held
  const results = await Promise.all(kept.map((name) => {
    const service = supervisor.services.get(name);
    return service ? waitReadyLine(service, Boolean(request.options?.noWait), 'restarted') : Promise.resolve({ ok: true, text: '' });
  }));
  const waited = new Map(kept.map((name, index) => [`${name}\0`, results[index]!]));
  const failed = results.filter((result) => !result.ok).map((result) => result.text);
  return {
    ok: failed.length === 0, exitCode: 1, error: failed.join('; ') || undefined,
    messages: [...(response.messages ?? []).map((message) => waited.get(message)?.text ?? message), ...removed],
  };
}

function describeSchedule(supervisor: ControlTarget): string {
  const status = supervisor.scheduler.status();
  if (!status) return 'scheduled restarts: not configured (no schedule: section)';
  const next = status.next_restart ? `, next restart at ${isoInZone(new Date(status.next_restart), null)}` : '';
  return `scheduled restarts: ${status.enabled ? 'enabled' : 'disabled'} (${status.expression})${next}`;
}

function resolveServices(supervisor: ControlTarget, names: string[] | undefined): Service[] {
  if (!names || names.length === 0) return [...supervisor.services.values()];
  const unknown = names.filter((name) => !supervisor.services.has(name));
  if (unknown.length > 0) {
    throw new ControlError('control.unknown-service', `unknown service ${unknown.map((n) => `"${n}"`).join(', ')} (known: ${[...supervisor.services.keys()].join(', ')})`, 2);
  }
  return names.map((name) => supervisor.services.get(name)!);
}

async function each(supervisor: ControlTarget, request: ControlRequest, act: (service: Service) => Promise<string>): Promise<ControlResponse> {
  const services = resolveServices(supervisor, request.services);
  const messages = await Promise.all(services.map((service) => service.enqueue(() => act(service))));
  supervisor.writeState();
  const failed = services.some((service) => service.state === 'failed');
  return { ok: !failed || request.command === 'stop', messages, error: failed ? messages.filter((m) => m.includes('failed')).join('; ') : undefined };
}

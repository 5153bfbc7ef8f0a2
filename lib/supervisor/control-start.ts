/** Issue 11's control requests: `start` in dependency order, and the waits for readiness of start/restart. */
import type { ControlResponse } from '../control/protocol.ts';
import { formatShortDuration } from '../readiness/wait.ts';
import { dependencyClosure, startWaves, subgraph } from './order.ts';
import { dependencyGraph, startInOrder, stopInOrder } from './ordered.ts';
import type { Service } from './service.ts';

/** `start` (no names: every service) with the dependencies of the named ones first; waits for readiness unless noWait. */
export async function startServices(all: ReadonlyMap<string, Service>, named: Service[], everything: boolean, noWait: boolean): Promise<ControlResponse> {
  const graph = dependencyGraph(all.values());
  const messages: string[] = [];
  const closure = dependencyClosure(graph, named.map((service) => service.name));
  const extra = everything ? [] : startWaves(subgraph(graph, closure)).flat()
    .map((name) => all.get(name)!)
    .filter((service) => !named.includes(service) && !service.isActive());
  for (const service of extra) {
    const needers = named.filter((one) => dependencyClosure(graph, [one.name]).includes(service.name)).map((one) => one.name);
    messages.push(`starting ${service.name} first: ${needers.join(', ')} ${needers.length > 1 ? 'depend' : 'depends'} on it`);
  }
  const set = [...extra, ...named];
  const wasActive = new Set(set.filter((service) => service.isActive()).map((service) => service.name));
  await startInOrder(set, all, (service) => service.enqueue(() => service.start('user'))).done;
  const lines = await Promise.all(set.map((service) => describeStart(service, wasActive.has(service.name), noWait)));
  messages.push(...lines.map((line) => line.text));
  const failed = lines.filter((line) => !line.ok).map((line) => line.text);
  return { ok: failed.length === 0, messages, error: failed.length ? failed.join('; ') : undefined, exitCode: 1 };
}

async function describeStart(service: Service, wasActive: boolean, noWait: boolean): Promise<{ ok: boolean; text: string }> {
  if (wasActive && service.state === 'running') return { ok: true, text: `${service.name} already running (pid ${service.pid})` };
  return waitReadyLine(service, noWait, 'started');
}

/** The line a start or restart answers with, once the service is ready (or at once with noWait). */
export async function waitReadyLine(service: Service, noWait: boolean, verb: string): Promise<{ ok: boolean; text: string }> {
  if (service.state === 'failed') return { ok: false, text: `${service.name} failed to start: ${service.snapshot().reason}` };
  if (noWait) return { ok: true, text: `${verb} ${service.name} (pid ${service.pid ?? '-'})${service.state === 'starting' ? ', not waiting for it to be ready' : ''}` };
  const pid = service.pid;
  const outcome = await service.readiness.whenReady();
  if (!outcome.ok) return { ok: false, text: `${service.name} did not become ready: ${outcome.reason}` };
  const after = service.config.ready ? `, ready after ${formatShortDuration(outcome.ms)}` : '';
  return { ok: true, text: `${verb} ${service.name} (pid ${service.pid ?? pid})${after}` };
}

/** `stop` without names: reverse dependency order. */
export async function stopAll(all: ReadonlyMap<string, Service>): Promise<string[]> {
  const messages = new Map<string, string>();
  await stopInOrder([...all.values()], dependencyGraph(all.values()), (service) => service.enqueue(async () => {
    const before = service.snapshot().state;
    const wasActive = service.isActive() || service.state === 'backoff';
    await service.stop('user stop');
    messages.set(service.name, wasActive ? `stopped ${service.name}` : `${service.name} was not running (${before})`);
  }));
  return [...all.keys()].map((name) => messages.get(name) ?? `${name}: not stopped`);
}

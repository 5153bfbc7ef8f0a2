/**
 * Starts and stops a set of services in dependency order (issue 11): each start waits for the conditions of its
 * `after` list, independent services go in parallel; stops go in reverse. The order itself comes from order.ts.
 */
import { dependentsOf, subgraph, type DependencyGraph } from './order.ts';
import type { Service } from './service.ts';
import type { AfterEntry } from '../core/types.ts';

export function dependencyGraph(services: Iterable<Service>): Map<string, string[]> {
  return new Map([...services].map((service) => [service.name, (service.config.after ?? []).map((entry) => entry.service)]));
}

export interface OrderedStart {
  /** The services without dependencies in the set have spawned. */
  spawned: Promise<void>;
  /** Every service has started, or been left not started because a dependency failed. */
  done: Promise<void>;
}

/**
 * Starts `set` in order. A dependency outside the set counts as it is now. A service whose dependency fails is left
 * `failed` with `dependency X not ready: <reason>`.
 */
export function startInOrder(set: Service[], all: ReadonlyMap<string, Service>, start: (service: Service) => Promise<void>): OrderedStart {
  const started = new Map<string, Promise<void>>();
  const names = new Set(set.map((service) => service.name));
  // Memoised and recursive, so a service may wait for a dependency listed after it
  const startOf = (service: Service): Promise<void> => {
    const known = started.get(service.name);
    if (known) return known;
    const promise = (async () => {
      for (const entry of service.config.after ?? []) {
        const dependency = all.get(entry.service);
        if (!dependency) continue;
        const problem = await conditionMet(dependency, entry, names.has(entry.service) ? startOf(dependency) : Promise.resolve());
        if (problem !== null) return service.blockedByDependency(`dependency ${entry.service} not ready: ${problem}`);
      }
      await start(service);
    })().catch(() => undefined);
    started.set(service.name, promise);
    return promise;
  };
  set.forEach(startOf);
  const roots = set.filter((service) => (service.config.after ?? []).every((entry) => !names.has(entry.service)));
  return {
    spawned: Promise.all(roots.map((service) => started.get(service.name))).then(() => undefined),
    done: Promise.all(started.values()).then(() => undefined),
  };
}

/** null when the condition holds; else why not. `healthy` waits for ready (health checks are issue 10's). */
async function conditionMet(dependency: Service, entry: AfterEntry, itsStart: Promise<void>): Promise<string | null> {
  await itsStart;
  const why = () => dependency.snapshot().reason ?? dependency.state;
  if (entry.condition === 'started') return dependency.isActive() ? null : `${dependency.state}: ${why()}`;
  if (entry.condition === 'ready' || entry.condition === 'healthy') {
    for (;;) {
      if (dependency.state === 'running') return null;
      if (!dependency.isActive()) return `${dependency.state}: ${why()}`;
      const outcome = await dependency.readiness.whenReady();
      if (outcome.ok) return null;
      // Stopped for a restart (a user's `restart` meanwhile): let that operation finish, then wait for the new run
      if (!/^(stopped: |superseded)/.test(outcome.reason)) return outcome.reason;
      await dependency.enqueue(async () => undefined);
      if (!dependency.isActive()) return outcome.reason;
    }
  }
  // completed: it ran and exited 0
  return new Promise((resolve) => {
    const check = (): boolean => {
      const state = dependency.state;
      if (state === 'exited') { resolve(null); return true; }
      if (state === 'failed' || state === 'stopped') { resolve(`${state}: ${why()}`); return true; }
      return false;
    };
    if (check()) return;
    const off = dependency.readiness.onState(() => { if (check()) off(); });
  });
}

/** Stops `set` so that each service stops only after every service of the set that depends on it has stopped. */
export async function stopInOrder(set: Service[], graph: DependencyGraph, stop: (service: Service) => Promise<void>): Promise<void> {
  const names = set.map((service) => service.name);
  const within = subgraph(graph, names);
  const stopped = new Map<string, Promise<void>>();
  const stopOne = (service: Service): Promise<void> => {
    const known = stopped.get(service.name);
    if (known) return known;
    const byName = new Map(set.map((item) => [item.name, item]));
    const promise = (async () => {
      await Promise.all(dependentsOf(within, service.name, names).map((name) => stopOne(byName.get(name)!)));
      await stop(service);
    })().catch(() => undefined);
    stopped.set(service.name, promise);
    return promise;
  };
  await Promise.all(set.map(stopOne));
}

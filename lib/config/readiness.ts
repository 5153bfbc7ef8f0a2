/** Issue 11's per-service keys (port, ready, after, drain, port_wait) resolved, and the dependency checks. */
import type { RawService } from './schema.ts';
import { findCycle } from '../supervisor/order.ts';
import { AFTER_CONDITIONS, type AfterCondition, type AfterEntry, type DrainConfig, type ReadyConfig, type ReadyProbe, type ServiceConfig } from '../core/types.ts';

export const READY_DEFAULTS = { intervalMs: 1_000, timeoutMs: 5 * 60_000 } as const;

type At = (path: (string | number)[], key: string, message: string) => void;

export interface ReadinessKeys {
  port: number | null;
  ready: ReadyConfig | null;
  after: AfterEntry[];
  drain: DrainConfig | null;
  portWaitMs: number;
}

export function normaliseReadiness(service: RawService, index: number, stopTimeoutMs: number, hookTimeoutMs: number, at: At): ReadinessKeys {
  const key = (field: string) => `services[${index}].${field}`;
  const port = service.port ?? null;
  let ready: ReadyConfig | null = null;
  if (service.ready) {
    const raw = service.ready;
    const kinds = (['http', 'tcp', 'command', 'log_line'] as const).filter((kind) => raw[kind] !== undefined);
    if (kinds.length !== 1) {
      at(['services', index, 'ready'], key('ready'), kinds.length === 0 ? 'expected one of http, tcp, command, log_line' : `expected only one of http, tcp, command, log_line, got ${kinds.join(' and ')}`);
    } else {
      const probe = readyProbe(kinds[0]!, String(raw[kinds[0]!]), (message) => at(['services', index, 'ready', kinds[0]!], key(`ready.${kinds[0]}`), message));
      if (probe) ready = { probe, intervalMs: raw.interval ?? READY_DEFAULTS.intervalMs, timeoutMs: raw.timeout ?? READY_DEFAULTS.timeoutMs };
    }
  } else if (port !== null) {
    ready = { probe: { kind: 'tcp', host: '127.0.0.1', port }, intervalMs: READY_DEFAULTS.intervalMs, timeoutMs: READY_DEFAULTS.timeoutMs };
  }
  const after = (service.after ?? []).map((entry, position): AfterEntry => {
    if (typeof entry === 'string') return { service: entry, condition: 'started' };
    const condition = entry.condition ?? 'started';
    if (!(AFTER_CONDITIONS as readonly string[]).includes(condition)) {
      at(['services', index, 'after', position, 'condition'], key(`after[${position}].condition`), `expected one of ${AFTER_CONDITIONS.join('|')}, got ${JSON.stringify(condition)}`);
    }
    return { service: entry.service, condition: condition as AfterCondition };
  });
  let drain: DrainConfig | null = null;
  if (service.drain) {
    if ((service.drain.signal === undefined) === (service.drain.command === undefined)) {
      at(['services', index, 'drain'], key('drain'), 'expected either signal or command');
    }
    drain = { signal: service.drain.signal ?? null, command: service.drain.command ?? null, timeoutMs: hookTimeoutMs };
  }
  return { port, ready, after, drain, portWaitMs: service.port_wait ?? stopTimeoutMs };
}

function readyProbe(kind: ReadyProbe['kind'], value: string, problem: (message: string) => void): ReadyProbe | null {
  if (kind === 'http') return { kind, url: value };
  if (kind === 'command') return { kind, command: value };
  if (kind === 'log_line') {
    if (value.length > 2 && value.startsWith('/') && value.endsWith('/')) {
      try {
        new RegExp(value.slice(1, -1));
      } catch (error) {
        problem(`expected a valid /regex/: ${(error as Error).message}`);
        return null;
      }
    }
    return { kind, pattern: value };
  }
  const match = /^(?:(.+):)?(\d+)$/.exec(value);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65535) {
    problem(`expected host:port such as 127.0.0.1:8188, got ${JSON.stringify(value)}`);
    return null;
  }
  return { kind: 'tcp', host: (match[1] ?? '127.0.0.1').replace(/^\[(.*)\]$/, '$1'), port };
}

/** Unknown names, a service after itself, and cycles (named `a -> b -> a`): config errors. */
export function checkDependencies(services: ServiceConfig[], at: At): void {
  const names = new Set(services.map((service) => service.name));
  const graph = new Map<string, string[]>();
  services.forEach((service, index) => {
    const deps: string[] = [];
    (service.after ?? []).forEach((entry, position) => {
      const path = ['services', index, 'after', position];
      if (entry.service === service.name) at(path, `services[${index}].after[${position}]`, `service "${service.name}" cannot start after itself (cycle ${service.name} -> ${service.name})`);
      else if (!names.has(entry.service)) at(path, `services[${index}].after[${position}]`, `unknown service "${entry.service}" (known: ${[...names].join(', ')})`);
      else deps.push(entry.service);
    });
    graph.set(service.name, deps);
  });
  const cycle = findCycle(graph);
  if (cycle) {
    const index = services.findIndex((service) => service.name === cycle[0]);
    at(['services', index, 'after'], `services[${index}].after`, `dependency cycle ${cycle.join(' -> ')}`);
  }
}

/** Display of a ready condition: what status and the CLI say a service waits for. */
export function describeReady(ready: ReadyConfig | null | undefined): string {
  if (!ready) return 'at once';
  const probe = ready.probe;
  if (probe.kind === 'http') return probe.url;
  if (probe.kind === 'tcp') return `tcp ${probe.host.includes(':') ? `[${probe.host}]` : probe.host}:${probe.port}`;
  if (probe.kind === 'command') return `command ${probe.command}`;
  return `log line ${JSON.stringify(probe.pattern)}`;
}

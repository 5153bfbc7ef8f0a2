/** What a reload changes: a pure diff of old and new service definitions by name. */
import type { Config, ServiceConfig } from '../core/types.ts';

export interface ServiceDiff {
  added: ServiceConfig[];
  removed: string[];
  changed: ServiceConfig[];
  unchanged: string[];
  /** Only health checks, limits or exit-code lists differ: applied to the running service without a restart. */
  inPlace: ServiceConfig[];
}

/** Settings read while the service runs (probes, samples) or at its next exit: a change needs no restart. */
const IN_PLACE_KEYS = ['health', 'maxMemoryBytes', 'maxGpuMemoryBytes', 'successExitCodes', 'restartExitCodes'] as const;

function withoutInPlace(service: ServiceConfig): Partial<ServiceConfig> {
  const rest: Partial<ServiceConfig> = { ...service };
  for (const key of IN_PLACE_KEYS) delete rest[key];
  return rest;
}

/** Settings compared as resolved values, so comments, key order and formatting never count as a change. */
export function diffServices(before: ServiceConfig[], after: ServiceConfig[]): ServiceDiff {
  const old = new Map(before.map((service) => [service.name, service]));
  const diff: ServiceDiff = { added: [], removed: [], changed: [], unchanged: [], inPlace: [] };
  for (const service of after) {
    const previous = old.get(service.name);
    if (!previous) diff.added.push(service);
    else if (canonical(previous) === canonical(service)) diff.unchanged.push(service.name);
    // `after` only orders starts and stops: changing it alone restarts nothing
    else if (canonical({ ...previous, after: undefined }) === canonical({ ...service, after: undefined })) diff.unchanged.push(service.name);
    else if (canonical(withoutInPlace({ ...previous, after: undefined })) === canonical(withoutInPlace({ ...service, after: undefined }))) diff.inPlace.push(service);
    else diff.changed.push(service);
  }
  const names = new Set(after.map((service) => service.name));
  diff.removed = before.filter((service) => !names.has(service.name)).map((service) => service.name);
  return diff;
}

/** Keys sorted recursively: `env: {A, B}` equals `env: {B, A}`. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
    return Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)));
  });
}

/** Global sections a reload applies in place; a new state_dir needs a supervisor restart. */
export function unappliableChanges(before: Config, after: Config): string[] {
  const warnings = before.stateDir === after.stateDir ? [] : [`state_dir changed (${before.stateDir} -> ${after.stateDir}): restart the supervisor to apply it`];
  // web.token and web.base_path apply in place; the listening socket does not move
  const listen = (config: Config) => (config.web ? `${config.web.host}:${config.web.port}` : 'off');
  if (listen(before) !== listen(after)) warnings.push(`web.listen changed (${listen(before)} -> ${listen(after)}): restart the supervisor to apply it`);
  return warnings;
}

/**
 * Per-service CPU % and RSS for the sparklines, read from /proc: the service's process, its group, its session and
 * their descendants, summed. A stand-in until the supervisor has a resource sampler of its own (issue #10): anything
 * that yields `ResourceSample`s per service can feed ResourceHistory instead. GPU memory is not measured here (null).
 */
import { listProcesses, processCpuTimeMs, processRssBytes, type ProcStat } from '../process/proc.ts';
import type { ResourceSample } from './history.ts';

export interface SampledService {
  name: string;
  pid: number | null;
}

/** Members of one service's tree among `live`: its root, the root's group and session, and all their descendants. */
export function treeMembers(rootPid: number, live: readonly ProcStat[]): number[] {
  const members = new Set<number>();
  for (const stat of live) if (stat.pid === rootPid || stat.pgid === rootPid || stat.sid === rootPid) members.add(stat.pid);
  const children = new Map<number, number[]>();
  for (const stat of live) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat.pid]);
  const queue = [...members];
  while (queue.length > 0) {
    for (const child of children.get(queue.pop()!) ?? []) {
      if (!members.has(child)) { members.add(child); queue.push(child); }
    }
  }
  return [...members];
}

/** CPU % from the change in summed CPU time between two rounds: it needs the previous round, kept here. */
export class ProcSampler {
  private previous = new Map<string, { pid: number; cpuMs: number; atMs: number }>();

  sample(services: readonly SampledService[], nowMs: number): Map<string, ResourceSample> {
    const live = services.some((service) => service.pid !== null) ? listProcesses().filter((stat) => stat.state !== 'Z') : [];
    const next = new Map<string, { pid: number; cpuMs: number; atMs: number }>();
    const samples = new Map<string, ResourceSample>();
    for (const service of services) {
      if (service.pid === null) {
        samples.set(service.name, { cpu_percent: null, rss_bytes: null, gpu_memory_bytes: null });
        continue;
      }
      let rss = 0;
      let cpuMs = 0;
      for (const pid of treeMembers(service.pid, live)) {
        rss += processRssBytes(pid) ?? 0;
        cpuMs += processCpuTimeMs(pid) ?? 0;
      }
      const before = this.previous.get(service.name);
      const cpuPercent = before && before.pid === service.pid && nowMs > before.atMs
        ? Math.max(0, ((cpuMs - before.cpuMs) / (nowMs - before.atMs)) * 100)
        : null;
      next.set(service.name, { pid: service.pid, cpuMs, atMs: nowMs });
      samples.set(service.name, { cpu_percent: cpuPercent === null ? null : Math.round(cpuPercent * 10) / 10, rss_bytes: rss, gpu_memory_bytes: null });
    }
    this.previous = next;
    return samples;
  }
}

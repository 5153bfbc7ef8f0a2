/**
 * One sampler for every service: ONE /proc walk per `resources.interval`, each process's stat read once, summed per
 * service tree (root's group, session and descendants, plus every process carrying the service's marker, so setsid'd
 * members count). GPU memory comes from one asynchronous `nvidia-smi --query-compute-apps` with a timeout.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { findExecutable } from '../process/executable.ts';
import { MarkerCache } from '../process/markers.ts';
import type { ProcStat } from '../process/proc.ts';
import type { ResourceSample } from '../core/types.ts';

const CLOCK_TICK_MS = 10;
/** An nvidia-smi that takes longer is given up on for this sample. */
const MAX_GPU_TIMEOUT_MS = 5000;

interface ProcSample extends ProcStat {
  cpuTicks: number;
  rssPages: number;
}

export interface MemberUsage {
  pid: number;
  rssBytes: number;
}

/** One service's sample plus what a limit event needs (its members by RSS, its GPU processes). */
export interface TreeUsage {
  resources: ResourceSample;
  members: MemberUsage[];
  gpuProcesses: { pid: number; gpuMemoryBytes: number }[];
}

export interface SampledService {
  name: string;
  /** The running main process; null = not running (not sampled). */
  pid: number | null;
  marker: string;
}

export interface ComputeApp {
  pid: number;
  usedMemoryBytes: number;
}

export interface SamplerDeps {
  services: () => SampledService[];
  markerCache: MarkerCache;
  /** null when nvidia-smi is missing (then GPU memory is null). Injected so the sampler never imports zx itself. */
  queryGpu: (timeoutMs: number) => Promise<ComputeApp[]>;
  path: () => string;
  onSample: (samples: Map<string, TreeUsage>) => void;
}

function parseStat(text: string): ProcSample | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = text.slice(close + 2).split(' ');
  const field = (n: number) => Number(rest[n - 3]);
  const stat: ProcSample = {
    pid: Number(text.slice(0, open)), comm: text.slice(open + 1, close), state: rest[0] ?? '?',
    ppid: field(4), pgid: field(5), sid: field(6), startTime: field(22),
    cpuTicks: field(14) + field(15), rssPages: field(24),
  };
  return Number.isFinite(stat.pid) && Number.isFinite(stat.rssPages) ? stat : null;
}

/** Every live process (zombies left out): one readdir and one read of each stat file. */
export function walkProc(): ProcSample[] {
  const stats: ProcSample[] = [];
  for (const name of readdirSync('/proc')) {
    const code = name.charCodeAt(0);
    if (code < 48 || code > 57) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const stat = parseStat(text);
    if (stat && stat.state !== 'Z' && stat.state !== 'X' && stat.pid !== process.pid) stats.push(stat);
  }
  return stats;
}

let pageSizeBytes = 0;
/** /proc/PID/stat counts RSS in pages: the page size, learnt once from our own VmRSS (4 KiB, or 16/64 KiB on some arm64). */
function pageSize(): number {
  if (pageSizeBytes) return pageSizeBytes;
  try {
    const pages = Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]);
    const kb = Number(readFileSync('/proc/self/status', 'utf8').match(/^VmRSS:\s+(\d+)/m)?.[1]);
    const ratio = (kb * 1024) / pages;
    pageSizeBytes = [4096, 16384, 65536].reduce((best, size) => (Math.abs(size - ratio) < Math.abs(best - ratio) ? size : best), 4096);
  } catch {
    pageSizeBytes = 4096;
  }
  return pageSizeBytes;
}

/** Assigns processes to service trees: pure over one walk (the marker lookup goes through the cache). */
export function assignTrees(all: ProcSample[], services: SampledService[], markerOf: (stat: ProcSample) => string | null): Map<string, ProcSample[]> {
  const children = new Map<number, ProcSample[]>();
  for (const stat of all) {
    const list = children.get(stat.ppid);
    if (list) list.push(stat);
    else children.set(stat.ppid, [stat]);
  }
  const byMarker = new Map(services.map((service) => [service.marker, service]));
  const roots = new Map(services.filter((service) => service.pid !== null).map((service) => [service.pid!, service]));
  const owner = new Map<number, string>();
  const seeds = new Map<string, ProcSample[]>(services.map((service) => [service.name, []]));
  for (const stat of all) {
    const byRoot = roots.get(stat.pid) ?? roots.get(stat.pgid) ?? roots.get(stat.sid);
    const service = byRoot ?? (byMarker.size > 0 ? byMarker.get(markerOf(stat) ?? '') : undefined);
    if (!service || service.pid === null) continue;
    owner.set(stat.pid, service.name);
    seeds.get(service.name)!.push(stat);
  }
  const trees = new Map<string, ProcSample[]>();
  for (const [name, members] of seeds) {
    const queue = [...members];
    for (let next = queue.pop(); next; next = queue.pop()) {
      for (const child of children.get(next.pid) ?? []) {
        if (owner.has(child.pid)) continue;
        owner.set(child.pid, name);
        members.push(child);
        queue.push(child);
      }
    }
    trees.set(name, members);
  }
  return trees;
}

export class ResourceSampler {
  private timer: NodeJS.Timeout | null = null;
  private intervalMs = 0;
  private busy = false;
  private previousCpu = new Map<string, number>();
  private previousAt = 0;

  constructor(private readonly deps: SamplerDeps) {}

  /** (Re)arms the one timer; a changed interval takes effect now. */
  configure(intervalMs: number): void {
    if (this.timer && intervalMs === this.intervalMs) return;
    this.close();
    this.intervalMs = intervalMs;
    // A failed sample (a /proc read racing an exit) is simply retried at the next tick
    const sample = () => void this.tick().catch(() => undefined);
    this.timer = setInterval(sample, intervalMs);
    this.timer.unref();
    // A first sample now: status and the web page show RSS at once, not one interval (10 s by default) later
    sample();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One sample of every running service; a tick still waiting for nvidia-smi makes the next one skip. */
  async tick(): Promise<void> {
    if (this.busy) return;
    const services = this.deps.services().filter((service) => service.pid !== null);
    if (services.length === 0) return;
    this.busy = true;
    try {
      const now = Date.now();
      const all = walkProc();
      this.deps.markerCache.prune(all);
      const trees = assignTrees(all, services, (stat) => this.deps.markerCache.read(stat));
      const gpuApps = findExecutable('nvidia-smi', this.deps.path()) === null
        ? null
        : await this.deps.queryGpu(Math.min(MAX_GPU_TIMEOUT_MS, this.intervalMs)).catch(() => [] as ComputeApp[]);
      this.deps.onSample(this.summarise(trees, gpuApps, now));
    } finally {
      this.busy = false;
    }
  }

  private summarise(trees: Map<string, ProcSample[]>, gpuApps: ComputeApp[] | null, now: number): Map<string, TreeUsage> {
    const page = pageSize();
    const wallMs = this.previousAt ? now - this.previousAt : 0;
    const cpu = new Map<string, number>();
    const samples = new Map<string, TreeUsage>();
    for (const [name, members] of trees) {
      let cpuMs = 0;
      for (const member of members) {
        const key = `${member.pid}:${member.startTime}`;
        const before = this.previousCpu.get(key);
        if (before !== undefined) cpuMs += (member.cpuTicks - before) * CLOCK_TICK_MS;
        cpu.set(key, member.cpuTicks);
      }
      const pids = new Set(members.map((member) => member.pid));
      const gpuProcesses = (gpuApps ?? []).filter((app) => pids.has(app.pid)).map((app) => ({ pid: app.pid, gpuMemoryBytes: app.usedMemoryBytes }));
      const usage = members.map((member) => ({ pid: member.pid, rssBytes: member.rssPages * page }));
      samples.set(name, {
        resources: {
          cpu_percent: wallMs > 0 ? Math.round((cpuMs / wallMs) * 1000) / 10 : 0,
          rss_bytes: usage.reduce((sum, member) => sum + member.rssBytes, 0),
          gpu_memory_bytes: gpuApps === null ? null : gpuProcesses.reduce((sum, app) => sum + app.gpuMemoryBytes, 0),
          processes: members.length,
          sampled_at: new Date(now).toISOString(),
        },
        members: usage,
        gpuProcesses,
      });
    }
    this.previousCpu = cpu;
    this.previousAt = now;
    return samples;
  }
}

/** The command line of a process for an event (`python main.py --listen`), its comm when unreadable. */
export function commandOf(pid: number): string {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    if (text) return text.slice(0, 200);
  } catch {
    // gone
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  } catch {
    return '?';
  }
}

/**
 * Everything issue #10 watches while services run, in one place: health probes, the shared resources sampler,
 * max_memory / max_gpu_memory, output times for output_silence, and the restarts they decide on. The supervisor
 * reads `health(name)` and `resources(name)` for state.json (and metrics read them the same way).
 */
import type { Readable } from 'node:stream';
import { waitUntilIdle } from '../schedule/hooks.ts';
import { HealthMonitor } from './monitor.ts';
import { biggest, checkLimit } from './limits.ts';
import { commandOf, ResourceSampler, type ComputeApp, type TreeUsage } from './resources.ts';
import type { MarkerCache } from '../process/markers.ts';
import type { Service } from '../supervisor/service.ts';
import type { Config, EventRecord, HealthStatus, ResourceSample } from '../core/types.ts';

export interface WatchDeps {
  services: () => Iterable<Service>;
  config: () => Config;
  markerOf: (name: string) => string;
  markerCache: MarkerCache;
  record: (event: Omit<EventRecord, 'time'>) => void;
  /** Persist state.json. */
  changed: () => void;
  signal: AbortSignal;
}

interface LimitCounters { memory: number; gpu: number; starts: number }

export class ServiceWatch {
  private readonly monitor: HealthMonitor;
  private readonly sampler: ResourceSampler;
  private readonly lastOutput = new Map<string, number>();
  private readonly samples = new Map<string, { starts: number; usage: TreeUsage }>();
  private readonly counters = new Map<string, LimitCounters>();
  /** Services with a health or memory restart under way: one at a time. */
  private readonly restarting = new Set<string>();
  private closed = false;

  constructor(private readonly deps: WatchDeps) {
    this.monitor = new HealthMonitor({
      services: () => deps.services(),
      cwd: () => deps.config().file.replace(/\/[^/]*$/, '') || '/',
      record: deps.record,
      changed: deps.changed,
      restart: (name, reason) => this.restart(name, reason, false),
      lastOutputAt: (name) => this.lastOutput.get(name) ?? null,
    });
    this.sampler = new ResourceSampler({
      services: () => [...deps.services()].map((service) => ({ name: service.name, pid: service.state === 'running' ? service.pid : null, marker: deps.markerOf(service.name) })),
      markerCache: deps.markerCache,
      queryGpu: async (timeoutMs): Promise<ComputeApp[]> => (await import('../schedule/gpu.ts')).queryComputeApps(timeoutMs),
      path: () => process.env.PATH ?? '',
      onSample: (samples) => this.onSample(samples),
    });
  }

  /** Timers follow the config: call after start, after a reload and after state changes (cheap). */
  sync(): void {
    if (this.closed) return;
    this.monitor.sync();
    this.sampler.configure(this.deps.config().resources.intervalMs);
  }

  /** Output times for output_silence: listens beside the log capture, never reads or pauses the streams itself. */
  attachOutput(name: string, stdout: Readable, stderr: Readable): void {
    const seen = (): void => { this.lastOutput.set(name, Date.now()); };
    stdout.on('data', seen);
    stderr.on('data', seen);
  }

  health(service: Service): HealthStatus | null {
    return this.monitor.statusOf(service);
  }

  resources(service: Service): ResourceSample | null {
    const sample = this.samples.get(service.name);
    return sample && sample.starts === service.starts && service.state === 'running' ? sample.usage.resources : null;
  }

  close(): void {
    this.closed = true;
    this.monitor.close();
    this.sampler.close();
  }

  private onSample(samples: Map<string, TreeUsage>): void {
    for (const service of this.deps.services()) {
      const usage = samples.get(service.name);
      if (!usage || service.state !== 'running') continue;
      this.samples.set(service.name, { starts: service.starts, usage });
      this.checkLimits(service, usage);
    }
    for (const name of this.samples.keys()) if (!samples.has(name)) this.samples.delete(name);
    this.deps.changed();
  }

  private checkLimits(service: Service, usage: TreeUsage): void {
    const { maxMemoryBytes, maxGpuMemoryBytes } = service.config;
    if (this.restarting.has(service.name) || (maxMemoryBytes === null && maxGpuMemoryBytes === null)) return;
    let counters = this.counters.get(service.name);
    if (!counters || counters.starts !== service.starts) counters = { memory: 0, gpu: 0, starts: service.starts };
    const memory = checkLimit(counters.memory, usage.resources.rss_bytes, maxMemoryBytes);
    const gpu = checkLimit(counters.gpu, usage.resources.gpu_memory_bytes, maxGpuMemoryBytes);
    this.counters.set(service.name, { memory: memory.over, gpu: gpu.over, starts: service.starts });
    if (memory.trigger) {
      const processes = biggest(usage.members, (member) => member.rssBytes).map((member) => ({ pid: member.pid, command: commandOf(member.pid), rss_bytes: member.rssBytes }));
      this.deps.record({
        event: 'memory_limit', service: service.name, rss_bytes: usage.resources.rss_bytes, limit_bytes: maxMemoryBytes, processes,
        reason: `max_memory: tree RSS ${usage.resources.rss_bytes} bytes over ${maxMemoryBytes} in ${2} samples in a row`,
      });
      this.restart(service.name, 'max_memory exceeded', true);
    } else if (gpu.trigger) {
      const processes = biggest(usage.gpuProcesses, (app) => app.gpuMemoryBytes).map((app) => ({ pid: app.pid, command: commandOf(app.pid), gpu_memory_bytes: app.gpuMemoryBytes }));
      this.deps.record({
        event: 'gpu_memory_limit', service: service.name, gpu_memory_bytes: usage.resources.gpu_memory_bytes, limit_bytes: maxGpuMemoryBytes, processes,
        reason: `max_gpu_memory: GPU memory ${usage.resources.gpu_memory_bytes} bytes over ${maxGpuMemoryBytes} in 2 samples in a row`,
      });
      this.restart(service.name, 'max_gpu_memory exceeded', true);
    }
  }

  /**
   * Through the service's queue, counted like a crash restart. A memory restart first waits for the service's
   * wait_idle (up to max_wait); a health restart does not: a hung service never becomes idle.
   */
  private restart(name: string, reason: string, waitIdle: boolean): void {
    const service = [...this.deps.services()].find((candidate) => candidate.name === name);
    if (!service || this.restarting.has(name)) return;
    this.restarting.add(name);
    const startsAtRequest = service.starts;
    const signal = AbortSignal.any([this.deps.signal, service.disposed]);
    void (async () => {
      const idle = service.config.waitIdle;
      if (waitIdle && idle && service.isActive()) {
        const result = await waitUntilIdle(idle, { cwd: service.config.cwd, timeoutMs: this.deps.config().hooks.timeoutMs, signal });
        if (signal.aborted) return;
        this.deps.record({
          event: 'idle_wait', service: name, idle: result.idle, waited_s: Math.round(result.waitedMs / 100) / 10, checks: result.checks,
          reason: result.idle ? 'service idle' : `still busy after max_wait ${idle.maxWaitMs / 1000}s: restarting anyway`,
        });
      }
      await service.enqueue(async () => {
        // stopped by the user or restarted meanwhile: the failing run is gone already
        if (signal.aborted || service.starts !== startsAtRequest) return;
        await service.restartFailed(reason);
      });
    })().catch((error: Error) => this.deps.record({ event: 'watch_error', service: name, reason: `restart after ${reason} failed: ${error.message}` }))
      .finally(() => this.restarting.delete(name));
  }
}

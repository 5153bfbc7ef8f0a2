/**
 * Health probes of every service, batched by interval: one timer per distinct `health.interval`, never one per
 * service. Probes run while a service is running, pause while it stops or backs off, and a run's state starts over
 * with each start. Results of a run that has ended are dropped.
 */
import { runProbe, type ProbeResult } from './probes.ts';
import { applyCheck, applySilence, newRun, silentFor, toStatus, type HealthState, type Transition } from './verdict.ts';
import type { EventRecord, HealthConfig, HealthProbe, HealthStatus } from '../core/types.ts';

/** What the monitor needs of a service (Service fits). */
export interface ProbedService {
  readonly name: string;
  readonly state: string;
  readonly starts: number;
  readonly startedAtMs: number | null;
  readonly config: { health: HealthConfig | null };
}

export interface HealthMonitorDeps {
  services: () => Iterable<ProbedService>;
  /** Command probes run here: the config's folder. */
  cwd: () => string;
  record: (event: Omit<EventRecord, 'time'>) => void;
  changed: () => void;
  /** on_unhealthy: restart. */
  restart: (name: string, reason: string) => void;
  lastOutputAt: (name: string) => number | null;
  now?: () => number;
}

interface Run {
  starts: number;
  state: HealthState;
  inFlight: boolean;
}

export class HealthMonitor {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly runs = new Map<string, Run>();
  private closed = false;

  constructor(private readonly deps: HealthMonitorDeps) {}

  private now(): number { return (this.deps.now ?? Date.now)(); }

  /** One timer per distinct interval in use; cheap, so it runs after every state change (reloads included). */
  sync(): void {
    if (this.closed) return;
    const wanted = new Set<number>();
    const names = new Set<string>();
    for (const service of this.deps.services()) {
      names.add(service.name);
      if (service.config.health) wanted.add(service.config.health.intervalMs);
    }
    for (const [interval, timer] of this.timers) {
      if (wanted.has(interval)) continue;
      clearInterval(timer);
      this.timers.delete(interval);
    }
    for (const interval of wanted) {
      if (this.timers.has(interval)) continue;
      const timer = setInterval(() => this.tick(interval), interval);
      timer.unref();
      this.timers.set(interval, timer);
    }
    // removed services, and services whose health check was removed, forget their state
    for (const name of this.runs.keys()) if (!names.has(name)) this.runs.delete(name);
    for (const service of this.deps.services()) if (!service.config.health) this.runs.delete(service.name);
  }

  /** Whether a service has a health check: status shows `starting` before the first probe. */
  statusOf(service: ProbedService): HealthStatus | null {
    if (!service.config.health) return null;
    const run = this.runs.get(service.name);
    if (!run || run.starts !== service.starts) return { status: 'starting', failures: 0, last_check: null, last_error: null, latency_ms: null };
    return toStatus(run.state);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearInterval(timer);
    this.timers.clear();
  }

  private tick(interval: number): void {
    for (const service of this.deps.services()) {
      const health = service.config.health;
      if (!health || health.intervalMs !== interval || service.state !== 'running') continue;
      const run = this.currentRun(service);
      if (run.inFlight) continue; // a probe slower than the interval: never two at once
      const now = this.now();
      if (health.outputSilenceMs !== null && silentFor(run.state.startedAt, this.deps.lastOutputAt(service.name), now) >= health.outputSilenceMs) {
        this.settle(service, run, applySilence(run.state, health.outputSilenceMs, now), health, null);
        continue;
      }
      if (!health.probe) {
        this.settle(service, run, applyCheck(run.state, { ok: true, error: null, latencyMs: null }, health, now), health, null);
        continue;
      }
      run.inFlight = true;
      const probe = health.probe;
      void runProbe(probe, { timeoutMs: health.timeoutMs, cwd: this.deps.cwd() })
        .catch((error: Error): ProbeResult => ({ ok: false, error: error.message, latencyMs: 0 }))
        .then((result) => {
          run.inFlight = false;
          // the run ended (stop, crash, restart) or the service left: its result says nothing about the next run
          if (this.closed || this.runs.get(service.name) !== run || service.starts !== run.starts || service.state !== 'running') return;
          this.settle(service, run, applyCheck(run.state, result, health, this.now()), health, probe);
        });
    }
  }

  private currentRun(service: ProbedService): Run {
    const existing = this.runs.get(service.name);
    if (existing && existing.starts === service.starts) return existing;
    const run: Run = { starts: service.starts, state: newRun(service.startedAtMs ?? this.now(), existing?.state ?? null), inFlight: false };
    this.runs.set(service.name, run);
    return run;
  }

  private settle(service: ProbedService, run: Run, outcome: { state: HealthState; transition: Transition }, health: HealthConfig, probe: HealthProbe | null): void {
    const changedStatus = outcome.state.status !== run.state.status || outcome.state.failures !== run.state.failures;
    run.state = outcome.state;
    if (changedStatus) this.deps.changed();
    const state = outcome.state;
    if (outcome.transition === 'healthy') {
      this.deps.record({ event: 'healthy', service: service.name, latency_ms: state.latencyMs, reason: `${probeName(probe, health)} passed` });
    } else if (outcome.transition === 'unhealthy') {
      const restart = health.onUnhealthy === 'restart';
      const why = probe ? `${probeName(probe, health)} failed ${state.failures} times` : state.lastError ?? 'unhealthy';
      this.deps.record({
        event: 'unhealthy', service: service.name, failures: state.failures, error: state.lastError, latency_ms: state.latencyMs,
        will_restart: restart, reason: `unhealthy: ${why}`,
      });
      if (restart) this.deps.restart(service.name, `unhealthy: ${why}`);
    }
  }
}

/** "http probe GET http://127.0.0.1:8188/system_stats", "tcp probe 127.0.0.1:8188", "command probe ./check.sh". */
export function probeName(probe: HealthProbe | null, health: HealthConfig): string {
  if (!probe) return health.outputSilenceMs !== null ? 'output check' : 'health check';
  if (probe.kind === 'http') return `http probe GET ${probe.url}`;
  if (probe.kind === 'tcp') return `tcp probe ${probe.host}:${probe.port}`;
  return `command probe ${probe.command}`;
}

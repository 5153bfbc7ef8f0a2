/** The set of services: startup, shutdown, persistence of state, and the control requests that act on them. */
import { rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { writeFileAtomic } from '../core/atomic.ts';
import { ensurePrivateDir } from '../core/secure-fs.ts';
import type { ControlRequest, ControlResponse } from '../control/protocol.ts';
import { startControlServer } from '../control/server.ts';
import { errorMessage } from '../core/errors.ts';
import { EventLog } from '../core/events.ts';
import { WriteGuard } from '../core/write-guard.ts';
import { acquireSupervisorLock } from './lock.ts';
import { Notifier } from '../notify/notifier.ts';
import { OutputRouter } from '../logs/output.ts';
import { serviceMarker, statePaths, type StatePaths } from '../config/paths.ts';
import { procStartTime } from '../process/proc.ts';
import { Reloader } from '../reload/reloader.ts';
import type { RestartKind } from '../schedule/sequence.ts';
import { Scheduler } from '../schedule/timer.ts';
import { Service } from './service.ts';
import { CrashCauses } from './crash-cause.ts';
import { handleControlRequest } from './control-handlers.ts';
import { ServiceWatch } from '../health/watch.ts';
import { MarkerCache } from '../process/markers.ts';
import { dependencyGraph, startInOrder, stopInOrder } from './ordered.ts';
import type { Config, EventRecord } from '../core/types.ts';
import type { AttachedWeb } from '../web/attach.ts';
import type { MetricsEndpoint } from '../metrics/endpoint.ts';
import type { ResourceReader } from '../metrics/registry.ts';
import { CpuSecondsTotal } from '../metrics/cpu-total.ts';
import { mountWebMetrics, resourcesOf } from './supervisor-metrics.ts';
import { StateFileWriter } from './state-file.ts';
import { stopOneShotsAtShutdown, stopPredecessorLeftovers } from './leftovers.ts';
import { restartAllServices } from './restart-all.ts';

const NOTIFY_STATS_INTERVAL_MS = 1000;
/** Pending webhook deliveries get this long to flush at shutdown. */
const NOTIFY_FLUSH_MS = 5000;

export interface SupervisorHooks {
  /** Extra sinks (restart log, webhooks, foreground printing). */
  onEvent?: (event: EventRecord) => void;
}

export class Supervisor {
  readonly services = new Map<string, Service>();
  readonly events = new EventLog();
  readonly paths: StatePaths;
  private server: Server | null = null;
  private releaseLock: (() => Promise<void>) | null = null;
  private readonly stateFile: StateFileWriter;
  private shutdownPromise: Promise<void> | null = null;
  private readonly startedAt = new Date();
  readonly output: OutputRouter;
  readonly scheduler: Scheduler;
  readonly notifier: Notifier;
  readonly reloader: Reloader;
  private notifyStatsTimer: NodeJS.Timeout | null = null;
  private lastNotifyStats = '';
  private readonly crashCauses: CrashCauses;
  /** Never two restart sequences at once: a second request joins the running one. */
  private sequence: Promise<string[]> | null = null;
  private readonly shuttingDown = new AbortController();
  /** The web page, when `web.listen` is set; lib/web loads only then. */
  private web: AttachedWeb | null = null;
  /** Failing writes of our own files: recorded once per episode, never fatal. */
  readonly writes = new WriteGuard((event) => this.events.record(event));
  private starting: Promise<void> | null = null;
  ready = false;
  /** Loaded only when `metrics:` is configured. */
  metrics: MetricsEndpoint | null = null;
  private readonly cpuTotals = new CpuSecondsTotal();
  /** Per-service resources and health for the metrics, from the health checks and the resource sampler. */
  resourcesOf: ResourceReader = (name) => resourcesOf(name, this.services.get(name), this.watch, this.cpuTotals);
  /** The web page's sparklines: the resource sampler's latest figures for a service. */
  resourceSampleOf(name: string): { cpu_percent: number; rss_bytes: number; gpu_memory_bytes: number | null } | null {
    const service = this.services.get(name);
    return (service && this.watch.resources(service)) || null;
  }
  /** Health checks, resources and memory limits (issue #10). */
  readonly watch: ServiceWatch;
  /** Issue 11: the ordered start of the autostart services, done when each has started or was left not started. */
  startup: Promise<void> = Promise.resolve();

  constructor(public config: Config, private readonly hooks: SupervisorHooks = {}) {
    this.paths = statePaths(config.stateDir, config.logs.dir);
    this.stateFile = new StateFileWriter(this.paths, this.writes, () => {
      if (this.ready) this.watch.sync();
      return {
        supervisor: { pid: process.pid, pid_start: procStartTime(process.pid), started_at: this.startedAt.toISOString(), config: this.config.file },
        services: [...this.services.values()].map((service) => ({ ...service.snapshot(), health: this.watch.health(service), resources: this.watch.resources(service), ...this.crashCauses.snapshotFields(service.name, service.state) })),
        schedule: this.scheduler.status(),
        notify: this.notifyStats(),
        updated_at: new Date().toISOString(),
      };
    });
    this.output = new OutputRouter(config, (event) => this.events.record(event));
    this.crashCauses = new CrashCauses((service) => this.output.lastStderrLine(service));
    this.notifier = new Notifier(config.notify, {
      host: hostname(),
      cwd: dirname(config.file),
      logTail: (service) => this.output.tail(service),
      record: (event) => this.events.record(event),
    });
    this.scheduler = new Scheduler(config.schedule, config.stateDir, () => void this.restartAll('scheduled', true).catch((error) => this.reportError('scheduled restart', error)));
    this.scheduler.writes = this.writes;
    const self = this;
    this.reloader = new Reloader({
      get config() { return self.config; },
      set config(next: Config) { self.config = next; },
      services: this.services,
      createService: (service) => this.createService(service),
      record: (event) => this.events.record(event),
      changed: () => this.stateFile.schedule(),
      applyGlobals: (next) => {
        this.scheduler.reconfigure(next.schedule);
        this.notifier.reconfigure(next.notify);
        this.output.reconfigure(next);
        this.web?.reconfigure(next);
        if (next.metrics || next.web || this.metrics) void this.syncMetrics(next);
      },
      signal: this.shuttingDown.signal,
    });
    this.watch = new ServiceWatch({
      services: () => this.services.values(),
      config: () => this.config,
      markerOf: (name) => serviceMarker(this.config.stateDir, name),
      markerCache: new MarkerCache(),
      record: (event) => this.events.record(event),
      changed: () => this.stateFile.schedule(),
      signal: this.shuttingDown.signal,
    });
  }

  /** Lock, clean up what a killed predecessor left, listen, start the autostart services. A shutdown meanwhile ends it early. */
  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  /** Recorded, never thrown: the supervisor outlives its own bugs (see also lib/supervisor/last-resort.ts). */
  reportError(where: string, error: unknown): void {
    const stack = error instanceof Error ? error.stack ?? error.message : String(error);
    process.stderr.write(`restart-control: ${where}: ${stack}\n`);
    this.events.record({ event: 'supervisor_error', where, message: errorMessage(error), stack: stack.slice(0, 4000), reason: `${where}: ${errorMessage(error)}` });
  }

  private async doStart(): Promise<void> {
    const stopping = () => this.shuttingDown.signal.aborted;
    // 0700 when created; refused when another user owns one or others may write to it
    ensurePrivateDir(this.paths.dir, 'state_dir');
    ensurePrivateDir(this.paths.pidsDir, 'state_dir');
    ensurePrivateDir(this.paths.logsDir, 'logs dir');
    this.releaseLock = await acquireSupervisorLock(this.paths.lockTarget, this.paths.supervisorPid, (error) => {
      this.events.record({ event: 'lock_compromised', reason: errorMessage(error) });
    });
    if (this.hooks.onEvent) this.events.addSink(this.hooks.onEvent);
    this.output.openSupervisorLogs(this.paths.events, {
      failed: (error) => this.writes.failed('events.jsonl', this.paths.events, error),
      recovered: () => this.writes.succeeded(this.paths.events),
    });
    this.events.addSink((event) => this.output.writeEvent(event));
    this.events.addSink((event) => this.notifier.publish(event));
    this.writes.attempt('supervisor.pid', this.paths.supervisorPid, () => writeFileAtomic(this.paths.supervisorPid, `${process.pid}\n`));
    if (stopping()) return;
    // Deliveries finish in the background: persist their counters for `status --json` when they change
    this.notifyStatsTimer = setInterval(() => {
      if (JSON.stringify(this.notifier.stats()) !== this.lastNotifyStats) this.writeState();
    }, NOTIFY_STATS_INTERVAL_MS);
    this.notifyStatsTimer.unref();
    if (this.config.metrics || this.config.web) await this.syncMetrics(this.config);
    for (const service of this.config.services) this.services.set(service.name, this.createService(service));
    await stopPredecessorLeftovers(this.config.stateDir, (name) => this.services.get(name)?.config, (event) => this.events.record(event));
    if (stopping()) return;
    this.server = await startControlServer(this.paths.socket, (request) => this.handle(request));
    if (this.config.web) this.web = await (await import('../web/attach.ts')).attachWeb(this);
    mountWebMetrics(this.web, () => this.metrics);
    this.events.record({ event: 'supervisor_started', pid: process.pid, config: this.config.file });
    if (stopping()) return;
    // In dependency order; returns once the services without dependencies have spawned
    const autostart = [...this.services.values()].filter((s) => s.config.autostart);
    const startup = startInOrder(autostart, this.services, (s) => s.enqueue(() => stopping() ? Promise.resolve() : s.start('supervisor')));
    this.startup = startup.done;
    await startup.spawned;
    if (stopping()) return;
    this.scheduler.arm();
    await this.reloader.start();
    this.watch.sync();
    if (stopping()) return;
    this.ready = true;
    this.writeState();
  }

  /** Issue 11: waits for the ordered start, then for every autostart service to be ready; lines for those that are not. */
  async notReadyServices(): Promise<string[]> {
    await this.startup;
    const services = [...this.services.values()].filter((service) => service.config.autostart);
    const outcomes = await Promise.all(services.map((service) => service.readiness.whenReady()));
    return services.flatMap((service, index) => {
      const outcome = outcomes[index]!;
      return outcome.ok ? [] : [`${service.name} did not become ready: ${outcome.reason}`];
    });
  }

  /** The whole restart sequence for the schedule's services (scheduled) or every service (force-restart without names). */
  get restartRunning(): boolean {
    return this.sequence !== null;
  }

  restartAll(kind: RestartKind, waitIdle: boolean): Promise<string[]> {
    if (this.sequence) return this.sequence;
    if (this.shuttingDown.signal.aborted) return Promise.resolve(['supervisor is shutting down']);
    this.sequence = restartAllServices(this, kind, waitIdle, this.shuttingDown.signal, () => { this.sequence = null; });
    return this.sequence;
  }

  createService(config: Config['services'][number]): Service {
    return new Service(config, {
      marker: serviceMarker(this.config.stateDir, config.name),
      baseEnv: process.env,
      emit: (event) => this.events.record(this.crashCauses.annotate(event)),
      changed: () => this.stateFile.schedule(),
      attachOutput: (name: string, stdout: Readable, stderr: Readable, timestamps: boolean) => {
        this.output.attach(name, stdout, stderr, timestamps);
        this.watch.attachOutput(name, stdout, stderr);
      },
    });
  }

  writeState(): void {
    this.stateFile.write();
  }

  /** The registry exists when either `metrics:` or `web:` is set: the web page serves it at <base_path>metrics. */
  private async syncMetrics(config: Config): Promise<void> {
    const { syncMetrics } = await import('../metrics/endpoint.ts');
    this.metrics = await syncMetrics(this, this.metrics, config.metrics ?? null, Boolean(config.metrics || config.web));
  }

  /** SIGHUP: re-read the config (hot reload). Never kills the supervisor. */
  async reloadFromSignal(): Promise<void> {
    await this.reloader.reload('SIGHUP').catch((error) => this.reportError('reload on SIGHUP', error));
  }

  private notifyStats(): unknown {
    const stats = this.notifier.stats();
    this.lastNotifyStats = JSON.stringify(stats);
    return stats;
  }

  /** Control requests: see supervisor-control.ts. */
  handle(request: ControlRequest): Promise<ControlResponse> {
    return handleControlRequest(this, request);
  }

  /** Stop every service (whole trees), record, remove pid file and socket, release the lock. Idempotent. */
  shutdown(reason: string): Promise<void> {
    this.shutdownPromise ??= this.doShutdown(reason).catch((error) => this.reportError('shutdown', error));
    return this.shutdownPromise;
  }

  private async doShutdown(reason: string): Promise<void> {
    // First: a start still under way stops at its next step, watch scans end, sequences start nothing more
    this.shuttingDown.abort();
    await this.starting?.catch(() => undefined);
    // Refused at the lock (another supervisor runs): its files and services are not ours to touch
    if (!this.releaseLock) return;
    this.server?.close();
    this.watch.close();
    this.scheduler.disarm();
    // Hooks and idle checks of a sequence or a pending restart, notify commands: stopped with their trees
    const oneShots = stopOneShotsAtShutdown();
    await this.reloader.close();
    // Disposed inside the queue, right after its stop: a start queued behind it (a late `start`, `restart`) does nothing
    // Issue 11: reverse dependency order; a shutdown on a signal is an emergency and skips the drain
    const emergency = reason.startsWith('received ') || reason === 'startup failed';
    await stopInOrder([...this.services.values()], dependencyGraph(this.services.values()), (service) => service.enqueue(async () => {
      await service.stop(`supervisor shutdown (${reason})`, { emergency });
      service.dispose();
    }));
    for (const service of this.services.values()) service.dispose();
    this.events.record({ event: 'supervisor_stopped', reason });
    await this.web?.close();
    if (this.notifyStatsTimer) clearInterval(this.notifyStatsTimer);
    await this.notifier.close(NOTIFY_FLUSH_MS);
    await this.metrics?.close();
    await oneShots;
    await stopOneShotsAtShutdown(); // notify commands of the last events
    await this.output.close();
    this.writeState();
    rmSync(this.paths.socket, { force: true });
    rmSync(this.paths.supervisorPid, { force: true });
    await this.releaseLock?.().catch(() => undefined);
  }
}

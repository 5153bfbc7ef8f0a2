/** The set of services: startup, shutdown, persistence of state, and the control requests that act on them. */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { type Server } from 'node:net';
import { type Readable } from 'node:stream';
import { ensureDir, writeFileAtomic, writeJsonAtomic } from './atomic.ts';
import { type ControlRequest, type ControlResponse } from './control-protocol.ts';
import { startControlServer } from './control-server.ts';
import { ControlError, errorMessage } from './errors.ts';
import { EventLog } from './events.ts';
import { acquireSupervisorLock } from './lock.ts';
import { serviceMarker, stateDirHash, statePaths, type StatePaths } from './paths.ts';
import { procStartTime } from './proc.ts';
import { Service } from './service.ts';
import { findMarked, stopTree, MARKER_ENV } from './tree.ts';
import { readEnvVar } from './proc.ts';
import { type Config, type EventRecord, type StateFile } from './types.ts';
import { OutputRouter } from './output.ts';

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
  private eventsFd: number | null = null;
  private stateWritePending = false;
  private shutdownPromise: Promise<void> | null = null;
  private readonly startedAt = new Date();
  readonly output: OutputRouter;
  ready = false;

  constructor(public config: Config, private readonly hooks: SupervisorHooks = {}) {
    this.paths = statePaths(config.stateDir, config.logs.dir);
    this.output = new OutputRouter(config);
  }

  /** Lock, clean up what a killed predecessor left, listen, start the autostart services. */
  async start(): Promise<void> {
    ensureDir(this.paths.dir);
    ensureDir(this.paths.pidsDir);
    ensureDir(this.paths.logsDir);
    this.releaseLock = await acquireSupervisorLock(this.paths.lockTarget, this.paths.supervisorPid, (error) => {
      this.events.record({ event: 'lock_compromised', reason: errorMessage(error) });
    });
    writeFileAtomic(this.paths.supervisorPid, `${process.pid}\n`);
    this.eventsFd = openSync(this.paths.events, 'a');
    this.events.addSink((event) => this.appendEvent(event));
    if (this.hooks.onEvent) this.events.addSink(this.hooks.onEvent);
    for (const service of this.config.services) this.services.set(service.name, this.createService(service));
    await this.stopLeftovers();
    this.server = await startControlServer(this.paths.socket, (request) => this.handle(request));
    this.events.record({ event: 'supervisor_started', pid: process.pid, config: this.config.file });
    await Promise.all([...this.services.values()].filter((s) => s.config.autostart).map((s) => s.enqueue(() => s.start('supervisor'))));
    this.ready = true;
    this.writeState();
  }

  private createService(config: Config['services'][number]): Service {
    return new Service(config, {
      marker: serviceMarker(this.config.stateDir, config.name),
      baseEnv: process.env,
      emit: (event) => this.events.record(event),
      changed: () => this.scheduleStateWrite(),
      attachOutput: (name: string, stdout: Readable, stderr: Readable, timestamps: boolean) => this.output.attach(name, stdout, stderr, timestamps),
    });
  }

  /** A SIGKILLed supervisor leaves its services running: stop every tree that carries our marker. */
  private async stopLeftovers(): Promise<void> {
    const markers = new Map<string, number[]>();
    for (const pid of findMarked(`${stateDirHash(this.config.stateDir)}/`)) {
      const marker = readEnvVar(pid, MARKER_ENV);
      if (marker) markers.set(marker, [...(markers.get(marker) ?? []), pid]);
    }
    await Promise.all([...markers].map(async ([marker, pids]) => {
      const name = marker.slice(marker.indexOf('/') + 1);
      const service = this.services.get(name)?.config;
      const result = await stopTree({ pid: Math.min(...pids), startTime: procStartTime(Math.min(...pids)), marker, signal: service?.stopSignal ?? 'SIGTERM', timeoutMs: service?.stopTimeoutMs ?? 10_000 });
      this.events.record({ event: 'stopped', service: name, reason: 'left running by a previous supervisor', forced: result.forced, processes: pids.length });
    }));
  }

  private appendEvent(event: EventRecord): void {
    if (this.eventsFd === null) return;
    writeSync(this.eventsFd, `${JSON.stringify(event)}\n`);
  }

  private scheduleStateWrite(): void {
    if (this.stateWritePending) return;
    this.stateWritePending = true;
    queueMicrotask(() => {
      this.stateWritePending = false;
      this.writeState();
    });
  }

  writeState(): void {
    const state: StateFile = {
      supervisor: { pid: process.pid, pid_start: procStartTime(process.pid), started_at: this.startedAt.toISOString(), config: this.config.file },
      services: [...this.services.values()].map((service) => service.snapshot()),
      updated_at: new Date().toISOString(),
    };
    writeJsonAtomic(this.paths.state, state);
    for (const service of state.services) {
      const pidFile = `${this.paths.pidsDir}/${service.name}.pid`;
      if (service.pid) writeFileAtomic(pidFile, `${service.pid}\n`);
      else rmSync(pidFile, { force: true });
    }
  }

  /** SIGHUP: re-read the config (hot reload). Never kills the supervisor. */
  async reloadFromSignal(): Promise<void> {
    this.events.record({ event: 'reload_requested', reason: 'SIGHUP' });
  }

  /** Control requests. Unknown service names refuse the whole request before anything is done. */
  async handle(request: ControlRequest): Promise<ControlResponse> {
    switch (request.command) {
      case 'ping':
        return { ok: true, data: { pid: process.pid, ready: this.ready } };
      case 'start':
        return this.each(request, async (service) => {
          if (service.isActive()) return `${service.name} already running (pid ${service.pid})`;
          await service.start('user');
          return service.state === 'running' ? `started ${service.name} (pid ${service.pid})` : `${service.name} failed to start: ${service.snapshot().reason}`;
        });
      case 'stop':
        return this.each(request, async (service) => {
          const wasActive = service.isActive() || service.state === 'backoff';
          await service.stop('user stop');
          return wasActive ? `stopped ${service.name}` : `${service.name} was not running (${service.snapshot().state})`;
        });
      case 'restart':
      case 'force-restart':
        return this.each(request, async (service) => {
          const reason = `user ${request.command}`;
          await service.stop(reason);
          await service.start('user');
          return service.state === 'running' ? `restarted ${service.name} (pid ${service.pid})` : `${service.name} failed to start: ${service.snapshot().reason}`;
        });
      case 'shutdown':
        setImmediate(() => void this.shutdown('user shutdown').then(() => process.exit(0)));
        return { ok: true, messages: ['supervisor shutting down'] };
      default:
        return { ok: false, error: `'${request.command}' is not supported by this supervisor`, exitCode: 2 };
    }
  }

  private resolveServices(names: string[] | undefined): Service[] {
    if (!names || names.length === 0) return [...this.services.values()];
    const unknown = names.filter((name) => !this.services.has(name));
    if (unknown.length > 0) {
      throw new ControlError('control.unknown-service', `unknown service ${unknown.map((n) => `"${n}"`).join(', ')} (known: ${[...this.services.keys()].join(', ')})`, 2);
    }
    return names.map((name) => this.services.get(name)!);
  }

  private async each(request: ControlRequest, act: (service: Service) => Promise<string>): Promise<ControlResponse> {
    const services = this.resolveServices(request.services);
    const messages = await Promise.all(services.map((service) => service.enqueue(() => act(service))));
    this.writeState();
    const failed = services.some((service) => service.state === 'failed');
    return { ok: !failed || request.command === 'stop', messages, error: failed ? messages.filter((m) => m.includes('failed')).join('; ') : undefined };
  }

  /** Stop every service (whole trees), record, remove pid file and socket, release the lock. Idempotent. */
  shutdown(reason: string): Promise<void> {
    this.shutdownPromise ??= this.doShutdown(reason);
    return this.shutdownPromise;
  }

  private async doShutdown(reason: string): Promise<void> {
    this.server?.close();
    await Promise.all([...this.services.values()].map((service) => service.enqueue(() => service.stop(`supervisor shutdown (${reason})`))));
    for (const service of this.services.values()) service.dispose();
    await this.output.close();
    this.events.record({ event: 'supervisor_stopped', reason });
    this.writeState();
    rmSync(this.paths.socket, { force: true });
    rmSync(this.paths.supervisorPid, { force: true });
    if (this.eventsFd !== null) closeSync(this.eventsFd);
    this.eventsFd = null;
    await this.releaseLock?.().catch(() => undefined);
  }
}

/** Drives one service's child process through the lifecycle; decisions come from policy.ts. */
import type { ChildProcess } from 'node:child_process';
import { describeExit } from './policy.ts';
import { procStartTime } from '../process/proc.ts';
import { assertTransition } from './state.ts';
import type { StopTreeResult } from '../process/tree.ts';
import { ReadyTracker } from './ready-tracker.ts';
import { type LastExit, type ProcessExit, type ServiceConfig, type ServiceSnapshot, type ServiceState, visibleState } from '../core/types.ts';
import { crashedEvent, stoppedEvent, supervisorErrorEvent } from './service-events.ts';
import { spawnServiceProcess, whenSpawned } from './service-spawn.ts';
import { stopCrashedRun, type CrashedRun } from './crash-leftovers.ts';
import { ServiceRestarts, type StartKind } from './service-restarts.ts';
import { ServiceQueue } from './service-queue.ts';
import { stopRun, stopUnreadyRun, type TreeOwner } from './run-stop.ts';
import type { ServiceDeps } from './service-deps.ts';

export type { StartKind } from './service-restarts.ts';
export type { ServiceDeps } from './service-deps.ts';

export class Service {
  private currentState: ServiceState = 'stopped';
  private child: ChildProcess | null = null;
  private childExited: Promise<ProcessExit> | null = null;
  private pidStart: number | null = null;
  /** The last child's pid: after it died, still the process-group id of what it left behind. */
  private lastPid = 0;
  private startedAt: number | null = null;
  private readonly restarts: ServiceRestarts;
  private lastExit: LastExit | null = null;
  private reason: string | null = null;
  /** Set when a stop was asked for; cleared on entering a terminal state. */
  private manualStop: string | null = null;
  private readonly queue = new ServiceQueue((where, error) => this.deps.emit(supervisorErrorEvent(this.name, where, error)));
  /** Why a restart is waiting (reload, watch), shown by status; null when none is. */
  pendingRestart: string | null = null;
  /** The pending restart that later requests join. */
  restartRequest: Promise<void> | null = null;
  /** How many processes this service has started: tells a pending restart that a newer start made it pointless. */
  starts = 0;
  /** How many stops were asked for: tells a restart sequence that someone else stopped the service after it did. */
  stops = 0;
  /** RUN_ENV of the current run: tells its processes from a previous run's leftovers. */
  private run = '';
  private readonly disposal = new AbortController();
  /** Aborted when the service leaves the config: pending work on it must not bring it back. */
  readonly disposed: AbortSignal = this.disposal.signal;
  /** Issue 11: readiness, port hand-over, drain and state listeners of the current run. */
  readonly readiness = new ReadyTracker();

  constructor(public config: ServiceConfig, private readonly deps: ServiceDeps) {
    const self = this;
    this.restarts = new ServiceRestarts({
      get config() { return self.config; },
      get state() { return self.currentState; },
      get starts() { return self.starts; },
      now: () => this.now(),
      emit: (event) => this.deps.emit(event),
      setState: (next, reason) => this.setState(next, reason),
      queueOwn: (where, operation) => this.queue.own(where, operation),
      spawnChild: (reason) => this.spawnChild(reason),
      cleanUp: (crashed) => this.queueCleanUp(crashed),
      start: (kind) => this.start(kind),
    });
  }

  get name(): string { return this.config.name; }
  get state(): ServiceState { return this.currentState; }
  get pid(): number | null { return this.child?.pid ?? null; }
  /** When the current run entered running (ms); null before the first start. */
  get startedAtMs(): number | null { return this.startedAt; }
  private now(): number { return (this.deps.now ?? Date.now)(); }

  /** Serialises user operations on this service: they never interleave. */
  enqueue<T>(operation: () => Promise<T>): Promise<T> {
    return this.queue.enqueue(operation);
  }

  snapshot(): ServiceSnapshot {
    return {
      name: this.name,
      state: visibleState(this.currentState),
      pid: this.pid,
      pid_start: this.pidStart,
      started_at: this.startedAt === null ? null : new Date(this.startedAt).toISOString(),
      restarts: this.restarts.count,
      last_exit: this.lastExit,
      reason: this.reason,
      pending_restart: this.pendingRestart,
      ...this.readiness.snapshot(this.config),
    };
  }

  /** The one writer of the state. Clears the state's timer. */
  private setState(next: ServiceState, reason: string | null): void {
    assertTransition(this.name, this.currentState, next);
    this.restarts.clearTimer();
    this.currentState = next;
    this.reason = reason;
    this.readiness.stateChanged(next);
    if (next === 'stopped' || next === 'exited' || next === 'failed') this.manualStop = null;
    this.deps.changed();
  }

  isActive(): boolean {
    return this.currentState === 'starting' || this.currentState === 'running';
  }

  /** Starts unless running or disposed (removed from the config, supervisor gone); resolves once the process is running (or failed to spawn). */
  async start(kind: StartKind, why?: string): Promise<void> {
    if (this.disposed.aborted) return;
    if (this.isActive() || this.currentState === 'stopping' || this.currentState === 'killing') return;
    this.restarts.startAs(kind);
    await this.spawnChild(why ?? (kind === 'auto' ? 'automatic restart' : kind === 'cooldown' ? 'cool-down retry' : `${kind} start`));
  }

  private async spawnChild(reason: string): Promise<void> {
    this.startedAt = this.now(); // status counts `not ready: 41s` from here (issue 11)
    this.setState('starting', reason);
    this.starts++;
    const attempt = this.readiness.begin();
    if (this.config.port) {
      const problem = await this.readiness.handOverPort(this.config, this.deps.marker, attempt, (event) => this.deps.emit(event));
      if (attempt.signal.aborted || this.currentState !== 'starting') return; // stopped while it waited
      if (problem) return this.spawnFailed(new Error(problem), problem);
    }
    return this.spawnProcess(reason);
  }

  private async spawnProcess(reason: string): Promise<void> {
    this.run = `${process.pid}.${this.starts}`;
    let child: ChildProcess;
    try {
      child = await spawnServiceProcess(this.config, this.deps.baseEnv, { marker: this.deps.marker, run: this.run });
    } catch (error) {
      // Some failures (E2BIG, a cwd that is not a folder) throw instead of emitting 'error'
      this.spawnFailed(error as Error);
      return;
    }
    this.child = child;
    this.lastPid = child.pid ?? 0;
    this.deps.attachOutput(this.name, child.stdout!, child.stderr!, this.config.logTimestamps);
    this.childExited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    // On Linux spawn() returns a pid only once the exec has succeeded: the process runs now, not at the 'spawn' event
    if (child.pid !== undefined) return this.enterRunning(child, reason);
    return whenSpawned(child, () => this.enterRunning(child, reason), (error) => {
      if (this.currentState !== 'starting') return false;
      this.spawnFailed(error);
      return true;
    });
  }

  private spawnFailed(error: Error, why?: string): void {
    // STARTING -> FAILED: the spawn itself failed (missing executable or cwd), or its port stayed held
    this.child = null;
    const message = why ?? `spawn failed: ${(error as NodeJS.ErrnoException).code ?? error.message}`;
    this.readiness.end({ ok: false, reason: message });
    this.lastExit = { code: null, signal: null, time: new Date(this.now()).toISOString() };
    this.setState('failed', message);
    this.deps.emit(crashedEvent(this.config, null, false, message));
  }

  private onExit(exit: ProcessExit): void {
    const now = this.now();
    this.lastExit = { code: exit.code, signal: exit.signal, time: new Date(now).toISOString() };
    const uptimeMs = this.startedAt === null ? 0 : now - this.startedAt;
    this.child = null;
    this.pidStart = null;
    this.readiness.end({ ok: false, reason: describeExit(exit) });
    if (this.manualStop !== null) return; // stop() owns this exit
    this.restarts.afterExit(exit, uptimeMs, now, { pid: this.lastPid, run: this.run });
  }

  /** Through the service's queue, so a restart queued before it waits for it (see crash-leftovers.ts). */
  private queueCleanUp(crashed: CrashedRun): void {
    this.queue.own('crash clean-up', () => stopCrashedRun(crashed, () => ({ pid: this.child?.pid, run: this.run }), this.config, this.deps.marker, this.deps.processTable));
  }

  private enterRunning(child: ChildProcess, reason: string): void {
    // STARTING -> RUNNING: the process exists
    this.startedAt = this.now();
    this.pidStart = procStartTime(child.pid!);
    if (this.config.ready) {
      // Issue 11: STARTING until the ready condition holds
      this.deps.emit({ event: 'started', service: this.name, pid: child.pid, reason });
      child.once('exit', (code, signal) => this.onExit({ code, signal }));
      this.deps.changed();
      void this.readiness.watch(this.config, child, this.startedAt, {
        ready: (ms) => {
          this.setState('running', reason);
          this.deps.emit({ event: 'ready', service: this.name, pid: child.pid, ms_since_start: ms, condition: this.readiness.condition(this.config) });
        },
        notReady: (why) => this.notReady(child, why),
      });
      return;
    }
    this.setState('running', reason);
    this.readiness.end({ ok: true, ms: 0 });
    this.deps.emit({ event: 'started', service: this.name, pid: child.pid, reason });
    child.once('exit', (code, signal) => this.queue.guard('exit handling', (async () => this.onExit({ code, signal }))()));
  }

  /** Issue 11: not ready within `timeout` is a failed start: one crashed event, the tree stopped, the policy decides. */
  private async notReady(child: ChildProcess, why: string): Promise<void> {
    if (this.child !== child || this.currentState !== 'starting') return;
    this.manualStop = why;
    await stopUnreadyRun(child, { pidStart: this.pidStart, childExited: () => this.childExited }, this.treeOwner());
    if (this.currentState !== 'starting' || this.manualStop !== why) return; // a user stop took over
    this.manualStop = null;
    const now = this.now();
    this.restarts.afterNotReady(why, now - (this.startedAt ?? now), now);
  }

  /** Stops the whole tree (stop_signal, grace, SIGKILL, verify); resolves when nothing of it remains. */
  async stop(reason: string, options: { emergency?: boolean } = {}): Promise<void> {
    this.stops++;
    if (this.currentState === 'starting' && !this.child) {
      // Issue 11: waiting for its port, nothing spawned yet
      this.readiness.end({ ok: false, reason: `stopped: ${reason}` });
      this.setState('stopping', reason);
      this.setState('stopped', reason);
      this.deps.emit(stoppedEvent(this.name, reason));
      return;
    }
    if (!options.emergency && this.config.drain && this.child && (this.currentState === 'running' || this.currentState === 'starting')) {
      this.manualStop = reason; // an exit during the drain is this stop's, not a crash
      await this.readiness.drain(this.config, this.child.pid ?? null, reason, (event) => this.deps.emit(event));
    }
    const state = this.currentState;
    if (state === 'backoff' || ((state === 'failed' || state === 'exited') && this.restarts.timerPending)) {
      // BACKOFF -> STOPPED: nothing runs, cancel the pending start
      this.setState('stopped', reason);
      this.deps.emit(stoppedEvent(this.name, reason));
      return;
    }
    if (state === 'failed' || state === 'exited') {
      // FAILED|EXITED -> STOPPED: nothing runs; remember that the user wants it down (schedules leave it alone)
      this.setState('stopped', reason);
      return;
    }
    if (state !== 'running' && state !== 'starting') return;
    this.manualStop = reason;
    const result = await this.stopProcesses(reason);
    // STOPPING|KILLING -> STOPPED: verified gone
    this.setState('stopped', reason);
    this.deps.emit(stoppedEvent(this.name, reason, result));
  }

  /** RUNNING -> STOPPING (-> KILLING): stop_signal to the whole tree, SIGKILL after stop_timeout; resolves when it is gone. */
  private async stopProcesses(reason: string): Promise<StopTreeResult> {
    const child = this.child;
    this.readiness.end({ ok: false, reason: `stopped: ${reason}` });
    this.setState('stopping', reason);
    const run = { child, childExited: () => this.childExited, pidStart: this.pidStart, lastPid: this.lastPid };
    const result = await stopRun(run, this.treeOwner(), () => this.setState('killing', `${reason}: stop_timeout passed, SIGKILL`));
    this.child = null;
    this.pidStart = null;
    return result;
  }

  /**
   * A running service that fails without exiting (health check, memory limit): stop the whole tree gracefully, then
   * restart it like a crash (restart_max/restart_window, backoff, gave_up). Call it through `enqueue`.
   */
  async restartFailed(reason: string): Promise<void> {
    if (this.currentState !== 'running') return;
    const uptimeMs = this.startedAt === null ? 0 : this.now() - this.startedAt;
    this.manualStop = reason; // the exit is ours: onExit must not decide on it
    const result = await this.stopProcesses(reason);
    this.manualStop = null;
    this.deps.emit(stoppedEvent(this.name, reason, result));
    this.restarts.afterFailure(reason, uptimeMs);
  }

  /** Read at each stop: a reload may have changed stop_signal or stop_timeout since the run started. */
  private treeOwner(): TreeOwner {
    return { config: this.config, marker: this.deps.marker, table: this.deps.processTable };
  }

  /** Issue 11: a dependency failed or was not ready, so this service is not started. */
  blockedByDependency(reason: string): void {
    if (this.isActive() || this.currentState === 'stopping' || this.currentState === 'killing' || this.disposed.aborted) return;
    this.restarts.clearTimer();
    this.setState('failed', reason);
    this.readiness.fail(reason);
    this.deps.emit({ event: 'not_started', service: this.name, reason });
  }

  /** Re-reading the config (hot reload) swaps the definition; the running process keeps the old one until restarted. */
  updateConfig(config: ServiceConfig): void {
    this.config = config;
  }

  dispose(): void {
    this.disposal.abort();
    this.pendingRestart = null;
    this.restarts.clearTimer();
  }
}

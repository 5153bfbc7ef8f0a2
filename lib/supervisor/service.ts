/** Drives one service's child process through the lifecycle; decisions come from policy.ts. */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { EMPTY_HISTORY, classifyExit, decideRestart, describeExit, type RestartHistory } from './policy.ts';
import { procStartTime } from '../process/proc.ts';
import { assertTransition } from './state.ts';
import { MARKER_ENV, RUN_ENV, findLeftovers, findTree, groupHasMembers, stopTree, type MarkerCache } from '../process/tree.ts';
import { ReadyTracker } from './ready-tracker.ts';
import { type EventRecord, type LastExit, type ProcessExit, type ServiceConfig, type ServiceSnapshot, type ServiceState, visibleState } from '../core/types.ts';

export interface ServiceDeps {
  /** Value of MARKER_ENV for this service: every descendant inherits it. */
  marker: string;
  markerCache?: MarkerCache;
  baseEnv: NodeJS.ProcessEnv;
  emit: (event: Omit<EventRecord, 'time'>) => void;
  /** Called after every state or pid change, to persist state.json. */
  changed: () => void;
  attachOutput: (service: string, stdout: Readable, stderr: Readable, timestamps: boolean) => void;
  now?: () => number;
}

/** How a start was asked for: only automatic restarts keep the restart count. */
export type StartKind = 'user' | 'supervisor' | 'auto' | 'cooldown';

export class Service {
  private currentState: ServiceState = 'stopped';
  private child: ChildProcess | null = null;
  private childExited: Promise<ProcessExit> | null = null;
  private pidStart: number | null = null;
  /** The last child's pid: after it died, still the process-group id of what it left behind. */
  private lastPid = 0;
  private startedAt: number | null = null;
  private restarts = 0;
  private history: RestartHistory = EMPTY_HISTORY;
  private lastExit: LastExit | null = null;
  private reason: string | null = null;
  /** Set when a stop was asked for; cleared on entering a terminal state. */
  private manualStop: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private queue: Promise<unknown> = Promise.resolve();
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

  constructor(public config: ServiceConfig, private readonly deps: ServiceDeps) {}

  get name(): string { return this.config.name; }
  get state(): ServiceState { return this.currentState; }
  get pid(): number | null { return this.child?.pid ?? null; }
  private now(): number { return (this.deps.now ?? Date.now)(); }

  /** Serialises user operations on this service: they never interleave. */
  enqueue<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation, operation);
    this.queue = result.catch(() => undefined);
    return result;
  }

  snapshot(): ServiceSnapshot {
    return {
      name: this.name,
      state: visibleState(this.currentState),
      pid: this.pid,
      pid_start: this.pidStart,
      started_at: this.startedAt === null ? null : new Date(this.startedAt).toISOString(),
      restarts: this.restarts,
      last_exit: this.lastExit,
      reason: this.reason,
      pending_restart: this.pendingRestart,
      ...this.readiness.snapshot(this.config),
    };
  }

  /** The one writer of the state. Clears the state's timer. */
  private setState(next: ServiceState, reason: string | null): void {
    assertTransition(this.name, this.currentState, next);
    this.clearTimer();
    this.currentState = next;
    this.reason = reason;
    this.readiness.stateChanged(next);
    if (next === 'stopped' || next === 'exited' || next === 'failed') this.manualStop = null;
    this.deps.changed();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  isActive(): boolean {
    return this.currentState === 'starting' || this.currentState === 'running';
  }

  /** Starts unless running or disposed (removed from the config, supervisor gone); resolves once the process is running (or failed to spawn). */
  async start(kind: StartKind, why?: string): Promise<void> {
    if (this.disposed.aborted) return;
    if (this.isActive() || this.currentState === 'stopping' || this.currentState === 'killing') return;
    if (kind === 'user' || kind === 'supervisor') {
      this.restarts = 0;
      this.history = EMPTY_HISTORY;
    } else if (kind === 'cooldown') {
      this.history = EMPTY_HISTORY;
    }
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

  private spawnProcess(reason: string): Promise<void> {
    const { command, cwd, env } = this.config;
    const [file, args] = typeof command === 'string' ? ['/bin/sh', ['-c', command]] : [command[0]!, command.slice(1)];
    this.run = `${process.pid}.${this.starts}`;
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        cwd,
        env: { ...this.deps.baseEnv, ...env, [MARKER_ENV]: this.deps.marker, [RUN_ENV]: this.run },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      // Some failures (E2BIG, a cwd that is not a folder) throw instead of emitting 'error'
      this.spawnFailed(error as Error);
      return Promise.resolve();
    }
    this.child = child;
    this.lastPid = child.pid ?? 0;
    this.deps.attachOutput(this.name, child.stdout!, child.stderr!, this.config.logTimestamps);
    this.childExited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    // On Linux spawn() returns a pid only once the exec has succeeded: the process runs now, not at the 'spawn' event
    if (child.pid !== undefined) {
      this.enterRunning(child, reason);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      child.once('spawn', () => {
        this.enterRunning(child, reason);
        resolve();
      });
      child.once('error', (error) => {
        if (this.currentState !== 'starting') return;
        this.spawnFailed(error);
        resolve();
      });
    });
  }

  private spawnFailed(error: Error, why?: string): void {
    // STARTING -> FAILED: the spawn itself failed (missing executable or cwd), or its port stayed held
    this.child = null;
    const message = why ?? `spawn failed: ${(error as NodeJS.ErrnoException).code ?? error.message}`;
    this.readiness.end({ ok: false, reason: message });
    this.lastExit = { code: null, signal: null, time: new Date(this.now()).toISOString() };
    this.setState('failed', message);
    this.deps.emit({ event: 'crashed', service: this.name, exit_code: null, signal: null, restart_policy: this.config.restart, will_restart: false, reason: message });
  }

  private async onExit(exit: ProcessExit): Promise<void> {
    const now = this.now();
    this.lastExit = { code: exit.code, signal: exit.signal, time: new Date(now).toISOString() };
    const uptimeMs = this.startedAt === null ? 0 : now - this.startedAt;
    this.child = null;
    this.pidStart = null;
    this.readiness.end({ ok: false, reason: describeExit(exit) });
    if (this.manualStop !== null) return; // stop() owns this exit
    const decision = decideRestart({ exit, policy: this.config, history: this.history, uptimeMs, manualStop: null, now });
    this.history = decision.history;
    const willRestart = decision.action === 'restart';
    const reason = describeExit(exit);
    if (classifyExit(exit) === 'success') {
      this.deps.emit({ event: 'exited', service: this.name, exit_code: 0, restart_policy: this.config.restart, will_restart: willRestart, reason });
    } else {
      this.deps.emit({ event: 'crashed', service: this.name, exit_code: exit.code, signal: exit.signal, restart_policy: this.config.restart, will_restart: willRestart, reason });
    }
    // With a `port`, leftovers go before the new run starts (issue 11: they may hold its port)
    if (decision.action === 'restart' && decision.delayMs === 0 && !groupHasMembers(this.lastPid) && !this.config.port) {
      // Nothing is left in the process group: restart at once, and look for escapees (setsid) just after the spawn
      const previous = this.lastPid;
      this.enterBackoff(0, decision.attempt, reason);
      return this.stopLeftovers(previous);
    }
    await this.killLeftovers();
    if (this.currentState !== 'running' && this.currentState !== 'starting') return; // a stop arrived while leftovers were killed
    if (decision.action === 'restart') return this.enterBackoff(decision.delayMs, decision.attempt, reason);
    if (decision.action === 'give-up') return this.enterGaveUp(decision.reason);
    // RUNNING -> EXITED | FAILED: the policy does not restart this end
    this.setState(decision.finalState === 'exited' ? 'exited' : 'failed', decision.reason);
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
    child.once('exit', (code, signal) => this.onExit({ code, signal }));
  }

  /** Issue 11: not ready within `timeout` is a failed start: one crashed event, the tree stopped, the policy decides. */
  private async notReady(child: ChildProcess, why: string): Promise<void> {
    if (this.child !== child || this.currentState !== 'starting') return;
    this.manualStop = why;
    await stopTree({ pid: child.pid!, startTime: this.pidStart, marker: this.deps.marker, cache: this.deps.markerCache, signal: this.config.stopSignal, timeoutMs: this.config.stopTimeoutMs });
    if (this.childExited) await this.childExited;
    if (this.currentState !== 'starting' || this.manualStop !== why) return; // a user stop took over
    this.manualStop = null;
    const now = this.now();
    const decision = decideRestart({ exit: { code: null, signal: 'SIGKILL' }, policy: this.config, history: this.history, uptimeMs: now - (this.startedAt ?? now), manualStop: null, now });
    this.history = decision.history;
    this.deps.emit({ event: 'crashed', service: this.name, exit_code: null, signal: null, restart_policy: this.config.restart, will_restart: decision.action === 'restart', reason: why });
    if (decision.action === 'restart') return this.enterBackoff(decision.delayMs, decision.attempt, why);
    if (decision.action === 'give-up') return this.enterGaveUp(decision.reason);
    this.setState('failed', why);
  }

  /** Processes of the previous run that left its session (setsid) and outlived it, the new run's tree excluded. */
  private async stopLeftovers(previousPid: number): Promise<void> {
    const current = this.child?.pid;
    if (current === undefined) return this.killLeftovers(previousPid); // the spawn failed: nothing new to spare
    const leftovers = findLeftovers({ pid: previousPid, startTime: -1 }, { pid: current, run: this.run }, this.deps.marker, this.deps.markerCache);
    await Promise.all(leftovers.map((stat) => stopTree({ pid: stat.pid, startTime: stat.startTime, signal: this.config.stopSignal, timeoutMs: this.config.stopTimeoutMs })));
  }

  /** Descendants that outlived the main process: never two copies of a service. */
  private async killLeftovers(previousPid = this.lastPid): Promise<void> {
    if (findTree({ pid: previousPid, startTime: -1 }, this.deps.marker, this.deps.markerCache).length === 0) return;
    await stopTree({ pid: previousPid, startTime: -1, marker: this.deps.marker, cache: this.deps.markerCache, signal: this.config.stopSignal, timeoutMs: this.config.stopTimeoutMs });
  }

  private enterBackoff(delayMs: number, attempt: number, reason: string): void {
    // RUNNING -> BACKOFF: wait restart_sec, then start again
    this.deps.emit({
      event: 'restarting', service: this.name, restart_attempt: attempt,
      max_restarts: this.config.restartMax, delay_s: delayMs / 1000, reason,
    });
    this.setState('backoff', `${reason}, restarting in ${delayMs / 1000}s`);
    const restart = () => {
      this.timer = null;
      if (this.currentState !== 'backoff') return;
      this.restarts++;
      void this.spawnChild('automatic restart');
    };
    // restart_sec 0 means now: a timer would add at least a millisecond
    if (delayMs === 0) return restart();
    this.timer = setTimeout(restart, delayMs);
  }

  private enterGaveUp(reason: string): void {
    // RUNNING -> FAILED: the restart limit is reached; one gave_up event
    this.setState('failed', reason);
    this.deps.emit({ event: 'gave_up', service: this.name, reason, restarts: this.restarts });
    const cooldownMs = this.config.restartCooldownMs;
    if (cooldownMs === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.currentState !== 'failed') return;
      this.deps.emit({ event: 'cooldown_retry', service: this.name, reason: `cool-down of ${cooldownMs / 1000}s passed` });
      void this.start('cooldown');
    }, cooldownMs);
  }

  /** Stops the whole tree (stop_signal, grace, SIGKILL, verify); resolves when nothing of it remains. */
  async stop(reason: string, options: { emergency?: boolean } = {}): Promise<void> {
    this.stops++;
    if (this.currentState === 'starting' && !this.child) {
      // Issue 11: waiting for its port, nothing spawned yet
      this.readiness.end({ ok: false, reason: `stopped: ${reason}` });
      this.setState('stopping', reason);
      this.setState('stopped', reason);
      this.deps.emit({ event: 'stopped', service: this.name, reason });
      return;
    }
    if (!options.emergency && this.config.drain && this.child && (this.currentState === 'running' || this.currentState === 'starting')) {
      this.manualStop = reason; // an exit during the drain is this stop's, not a crash
      await this.readiness.drain(this.config, this.child.pid ?? null, reason, (event) => this.deps.emit(event));
    }
    const state = this.currentState;
    if (state === 'backoff' || ((state === 'failed' || state === 'exited') && this.timer)) {
      // BACKOFF -> STOPPED: nothing runs, cancel the pending start
      this.setState('stopped', reason);
      this.deps.emit({ event: 'stopped', service: this.name, reason });
      return;
    }
    if (state === 'failed' || state === 'exited') {
      // FAILED|EXITED -> STOPPED: nothing runs; remember that the user wants it down (schedules leave it alone)
      this.setState('stopped', reason);
      return;
    }
    if (state !== 'running' && state !== 'starting') return;
    const child = this.child;
    this.manualStop = reason;
    this.readiness.end({ ok: false, reason: `stopped: ${reason}` });
    // RUNNING -> STOPPING: stop_signal to the whole tree
    this.setState('stopping', reason);
    const result = await stopTree({
      pid: child?.pid ?? this.lastPid,
      startTime: child ? this.pidStart : -1,
      marker: this.deps.marker,
      cache: this.deps.markerCache,
      signal: this.config.stopSignal,
      timeoutMs: this.config.stopTimeoutMs,
      onEscalate: () => this.setState('killing', `${reason}: stop_timeout passed, SIGKILL`),
    });
    if (child && this.childExited) await this.childExited;
    this.child = null;
    this.pidStart = null;
    // STOPPING|KILLING -> STOPPED: verified gone
    this.setState('stopped', reason);
    this.deps.emit({ event: 'stopped', service: this.name, reason, forced: result.forced, stop_ms: Math.round(result.durationMs), survivors: result.survivors.length });
  }

  /** Issue 11: a dependency failed or was not ready, so this service is not started. */
  blockedByDependency(reason: string): void {
    if (this.isActive() || this.currentState === 'stopping' || this.currentState === 'killing' || this.disposed.aborted) return;
    this.clearTimer();
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
    this.clearTimer();
  }
}

/** Drives one service's child process through the lifecycle; decisions come from policy.ts. */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { EMPTY_HISTORY, classifyExit, decideFailureRestart, decideRestart, describeExit, type RestartHistory } from './policy.ts';
import { procStartTime } from '../process/proc.ts';
import { assertTransition } from './state.ts';
import { spawnGate } from './spawn-gate.ts';
import { MARKER_ENV, RUN_ENV, groupHasMembers, spareRun, stopTree, type SpareProcess, type StopTreeResult } from '../process/tree.ts';
import type { ProcessTable } from '../process/table.ts';
import { boundedWait, setLongTimeout, type LongTimer } from '../core/long-timer.ts';
import { describeSurvivors, formatSurvivors } from '../process/survivors.ts';

/** After the tree stop, how long the child's exit event may take to arrive (it is reaped by now, unless stuck). */
const CHILD_EXIT_WAIT_MS = 2_000;
import { ReadyTracker } from './ready-tracker.ts';
import { type EventRecord, type LastExit, type ProcessExit, type ServiceConfig, type ServiceSnapshot, type ServiceState, visibleState } from '../core/types.ts';

export interface ServiceDeps {
  /** Value of MARKER_ENV for this service: every descendant inherits it. */
  marker: string;
  /** Whose /proc snapshots stops and clean-ups read. @default sharedProcessTable() */
  processTable?: ProcessTable;
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
  private timer: LongTimer | null = null;
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
  /** When the current run entered running (ms); null before the first start. */
  get startedAtMs(): number | null { return this.startedAt; }
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
    this.timer?.clear();
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

  private async spawnProcess(reason: string): Promise<void> {
    const { command, cwd, env } = this.config;
    const [file, args] = typeof command === 'string' ? ['/bin/sh', ['-c', command]] : [command[0]!, command.slice(1)];
    this.run = `${process.pid}.${this.starts}`;
    const environment = { ...this.deps.baseEnv, ...env, [MARKER_ENV]: this.deps.marker, [RUN_ENV]: this.run };
    let child: ChildProcess;
    try {
      child = await spawnGate.run(() => spawn(file, args, { cwd, env: environment, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }));
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
    if (child.pid !== undefined) {
      this.enterRunning(child, reason);
      return;
    }
    return new Promise<void>((resolve) => {
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

  private onExit(exit: ProcessExit): void {
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
    if (classifyExit(exit) === 'success' || (exit.code !== null && this.config.successExitCodes.includes(exit.code))) {
      this.deps.emit({ event: 'exited', service: this.name, exit_code: exit.code, restart_policy: this.config.restart, will_restart: willRestart, reason });
    } else {
      // giving_up: a gave_up follows, so buses that announce a final stop (NATS `stop`) wait for it
      this.deps.emit({ event: 'crashed', service: this.name, exit_code: exit.code, signal: exit.signal, restart_policy: this.config.restart, will_restart: willRestart, reason, ...(decision.action === 'give-up' ? { giving_up: true } : {}) });
    }
    const previous = this.lastPid;
    const crashedRun = this.run;
    // Nothing left in the process group: restart at once (queued first), and look for escapees (setsid) after the spawn.
    // Otherwise the clean-up is queued first and the restart waits for it: never two copies.
    // With a `port`, leftovers go first: they may hold its port (the restart waits in the queue behind the clean-up)
    const restartFirst = decision.action === 'restart' && decision.delayMs === 0 && !groupHasMembers(previous) && !this.config.port;
    if (!restartFirst) this.queueCleanUp(previous, crashedRun);
    // Leave RUNNING now: no process runs, whatever the clean-up still has to stop (status shows no pid as running)
    if (decision.action === 'restart') this.enterBackoff(decision.delayMs, decision.attempt, reason);
    else if (decision.action === 'give-up') this.enterGaveUp(decision.reason);
    // RUNNING -> EXITED | FAILED: the policy does not restart this end
    else this.setState(decision.finalState === 'exited' ? 'exited' : 'failed', decision.reason);
    if (restartFirst) this.queueCleanUp(previous, crashedRun);
  }

  /** Work queued by the service itself: a failure must never become an unhandled rejection. */
  private queueOwn(where: string, operation: () => Promise<void>): void {
    this.guard(where, this.enqueue(operation));
  }

  /**
   * What the crashed run left behind (a setsid'd daemon, a child that outlived it), stopped through the service's
   * queue. Whatever run is current when a walk happens is spared (RUN_ENV, its session, group and descendants):
   * a restart queued before this clean-up, or a crash restart, is never killed by it.
   */
  private queueCleanUp(previousPid: number, crashedRun: string): void {
    const spare: SpareProcess = (stat, snapshot) => this.run !== crashedRun && spareRun({ pid: this.child?.pid, run: this.run })(stat, snapshot);
    this.queueOwn('crash clean-up', async () => {
      await stopTree({ pid: previousPid, startTime: -1, marker: this.deps.marker, table: this.deps.processTable, spare, signal: this.config.stopSignal, timeoutMs: this.config.stopTimeoutMs });
    });
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
    child.once('exit', (code, signal) => this.guard('exit handling', (async () => this.onExit({ code, signal }))()));
  }

  /** Issue 11: not ready within `timeout` is a failed start: one crashed event, the tree stopped, the policy decides. */
  private async notReady(child: ChildProcess, why: string): Promise<void> {
    if (this.child !== child || this.currentState !== 'starting') return;
    this.manualStop = why;
    await stopTree({ pid: child.pid!, startTime: this.pidStart, marker: this.deps.marker, table: this.deps.processTable, signal: this.config.stopSignal, timeoutMs: this.config.stopTimeoutMs });
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

  private enterBackoff(delayMs: number, attempt: number, reason: string): void {
    // RUNNING -> BACKOFF: wait restart_sec, then start again
    this.deps.emit({
      event: 'restarting', service: this.name, restart_attempt: attempt,
      max_restarts: this.config.restartMax, delay_s: delayMs / 1000, reason,
    });
    this.setState('backoff', `${reason}, restarting in ${delayMs / 1000}s`);
    const generation = this.starts;
    const restart = () => {
      this.timer = null;
      // Through the queue, after any clean-up; a start since this crash (user, schedule, reload) makes it pointless
      this.queueOwn('automatic restart', async () => {
        if (this.currentState !== 'backoff' || this.starts !== generation) return;
        this.restarts++;
        await this.spawnChild('automatic restart');
      });
    };
    // restart_sec 0 means now: a timer would add at least a millisecond
    if (delayMs === 0) return restart();
    this.timer = setLongTimeout(restart, delayMs);
  }

  private enterGaveUp(reason: string): void {
    // RUNNING -> FAILED: the restart limit is reached; one gave_up event
    this.setState('failed', reason);
    const cooldownMs = this.config.restartCooldownMs;
    const retryAt = cooldownMs === null ? {} : { retry_at: new Date(this.now() + cooldownMs).toISOString() };
    this.deps.emit({ event: 'gave_up', service: this.name, reason, restarts: this.restarts, ...retryAt });
    if (cooldownMs === null) return;
    this.timer = setLongTimeout(() => {
      this.timer = null;
      if (this.currentState !== 'failed') return;
      this.deps.emit({ event: 'cooldown_retry', service: this.name, reason: `cool-down of ${cooldownMs / 1000}s passed` });
      this.queueOwn('cool-down retry', () => this.start('cooldown'));
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
    this.manualStop = reason;
    const result = await this.stopProcesses(reason);
    // STOPPING|KILLING -> STOPPED: verified gone
    this.setState('stopped', reason);
    this.emitStopped(reason, result);
  }

  /** RUNNING -> STOPPING (-> KILLING): stop_signal to the whole tree, SIGKILL after stop_timeout; resolves when it is gone. */
  private async stopProcesses(reason: string): Promise<StopTreeResult> {
    const child = this.child;
    this.readiness.end({ ok: false, reason: `stopped: ${reason}` });
    this.setState('stopping', reason);
    const result = await stopTree({
      pid: child?.pid ?? this.lastPid,
      startTime: child ? this.pidStart : -1,
      marker: this.deps.marker,
      table: this.deps.processTable,
      signal: this.config.stopSignal,
      timeoutMs: this.config.stopTimeoutMs,
      onEscalate: () => this.setState('killing', `${reason}: stop_timeout passed, SIGKILL`),
    });
    // A child stuck in uninterruptible sleep (D) or one we may not signal never exits: wait boundedly, never forever
    if (child && this.childExited) await boundedWait(this.childExited, result.survivors.includes(child.pid ?? -1) ? 0 : CHILD_EXIT_WAIT_MS);
    this.child = null;
    this.pidStart = null;
    return result;
  }

  private emitStopped(reason: string, result: StopTreeResult): void {
    // Verified gone, or the survivors are named
    const survivors = describeSurvivors(result.survivors);
    this.deps.emit({
      event: 'stopped', service: this.name, reason: survivors.length ? `${reason}; still alive after SIGKILL: ${formatSurvivors(survivors)}` : reason,
      forced: result.forced, stop_ms: Math.round(result.durationMs), survivors: survivors.length, ...(survivors.length ? { survivor_processes: survivors } : {}),
    });
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
    this.emitStopped(reason, result);
    const decision = decideFailureRestart({ policy: this.config, history: this.history, uptimeMs, reason, now: this.now() });
    this.history = decision.history;
    if (decision.action === 'restart') return this.enterBackoff(decision.delayMs, decision.attempt, reason);
    return this.enterGaveUp(decision.reason);
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

  /** Work started from an event or a timer: a failure is recorded, never an unhandled rejection. */
  private guard(where: string, work: Promise<void>): void {
    work.catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      this.deps.emit({ event: 'supervisor_error', service: this.name, where, message, stack: error instanceof Error ? (error.stack ?? '').slice(0, 4000) : '', reason: `${this.name}: ${where} failed: ${message}` });
    });
  }

  dispose(): void {
    this.disposal.abort();
    this.pendingRestart = null;
    this.clearTimer();
  }
}

/** What follows the end of a service's run (crash, exit, not ready, failed check): the policy's decision, backoff, give-up, cool-down. */
import { setLongTimeout, type LongTimer } from '../core/long-timer.ts';
import type { ProcessExit, ServiceConfig, ServiceState } from '../core/types.ts';
import { EMPTY_HISTORY, decideFailureRestart, decideRestart, describeExit, type RestartDecision, type RestartHistory } from './policy.ts';
import { crashedEvent, exitEvent, gaveUpEvent, restartingEvent, type ServiceEvent } from './service-events.ts';
import { restartBeforeCleanUp, type CrashedRun } from './crash-leftovers.ts';

/** How a start was asked for: only automatic restarts keep the restart count. */
export type StartKind = 'user' | 'supervisor' | 'auto' | 'cooldown';

/** What the restarts need of their service (it passes closures), so this file never imports service.ts. */
export interface RestartTarget {
  readonly config: ServiceConfig;
  readonly state: ServiceState;
  /** Tells a pending restart that a newer start made it pointless. */
  readonly starts: number;
  now(): number;
  emit(event: ServiceEvent): void;
  setState(next: ServiceState, reason: string): void;
  /** Through the service's queue, a failure recorded, never thrown. */
  queueOwn(where: string, operation: () => Promise<void>): void;
  spawnChild(reason: string): Promise<void>;
  /** Queues the stop of what a crashed run left behind. */
  cleanUp(crashed: CrashedRun): void;
  start(kind: StartKind): Promise<void>;
}

export class ServiceRestarts {
  count = 0;
  private history: RestartHistory = EMPTY_HISTORY;
  private timer: LongTimer | null = null;

  constructor(private readonly service: RestartTarget) {}

  /** A backoff restart or a cool-down retry is waiting. */
  get timerPending(): boolean {
    return this.timer !== null;
  }

  clearTimer(): void {
    this.timer?.clear();
    this.timer = null;
  }

  /** A user or supervisor start begins counting anew; a cool-down retry keeps the count but forgets the crashes. */
  startAs(kind: StartKind): void {
    if (kind === 'user' || kind === 'supervisor') {
      this.count = 0;
      this.history = EMPTY_HISTORY;
    } else if (kind === 'cooldown') {
      this.history = EMPTY_HISTORY;
    }
  }

  /** A run ended on its own: one exited or crashed event, then backoff, give-up or a final state; its leftovers are stopped. */
  afterExit(exit: ProcessExit, uptimeMs: number, now: number, crashed: CrashedRun): void {
    const service = this.service;
    const decision = this.decideOnExit(exit, uptimeMs, now);
    const reason = describeExit(exit);
    service.emit(exitEvent(service.config, exit, decision.action === 'restart', reason, decision.action === 'give-up'));
    const restartFirst = restartBeforeCleanUp(decision, crashed.pid, service.config);
    if (!restartFirst) service.cleanUp(crashed);
    // Leave RUNNING now: no process runs, whatever the clean-up still has to stop (status shows no pid as running)
    if (decision.action === 'restart') this.enterBackoff(decision.delayMs, decision.attempt, reason);
    else if (decision.action === 'give-up') this.enterGaveUp(decision.reason);
    // RUNNING -> EXITED | FAILED: the policy does not restart this end
    else service.setState(decision.finalState === 'exited' ? 'exited' : 'failed', decision.reason);
    if (restartFirst) service.cleanUp(crashed);
  }

  /** Issue 11: not ready within `timeout` is a failed start, decided on like a SIGKILLed run; its tree is stopped already. */
  afterNotReady(why: string, uptimeMs: number, now: number): void {
    const decision = this.decideOnExit({ code: null, signal: 'SIGKILL' }, uptimeMs, now);
    this.service.emit(crashedEvent(this.service.config, null, decision.action === 'restart', why));
    if (decision.action === 'restart') return this.enterBackoff(decision.delayMs, decision.attempt, why);
    if (decision.action === 'give-up') return this.enterGaveUp(decision.reason);
    this.service.setState('failed', why);
  }

  /** A running service failed without exiting (health check, memory limit) and its tree is stopped: restart it like a crash. */
  afterFailure(reason: string, uptimeMs: number): void {
    const decision = decideFailureRestart({ policy: this.service.config, history: this.history, uptimeMs, reason, now: this.service.now() });
    this.history = decision.history;
    if (decision.action === 'restart') return this.enterBackoff(decision.delayMs, decision.attempt, reason);
    return this.enterGaveUp(decision.reason);
  }

  private decideOnExit(exit: ProcessExit, uptimeMs: number, now: number): RestartDecision {
    const decision = decideRestart({ exit, policy: this.service.config, history: this.history, uptimeMs, manualStop: null, now });
    this.history = decision.history;
    return decision;
  }

  private enterBackoff(delayMs: number, attempt: number, reason: string): void {
    // RUNNING -> BACKOFF: wait restart_sec, then start again
    const service = this.service;
    service.emit(restartingEvent(service.config, attempt, delayMs, reason));
    service.setState('backoff', `${reason}, restarting in ${delayMs / 1000}s`);
    const generation = service.starts;
    const restart = () => {
      this.timer = null;
      // Through the queue, after any clean-up; a start since this crash (user, schedule, reload) makes it pointless
      service.queueOwn('automatic restart', async () => {
        if (service.state !== 'backoff' || service.starts !== generation) return;
        this.count++;
        await service.spawnChild('automatic restart');
      });
    };
    // restart_sec 0 means now: a timer would add at least a millisecond
    if (delayMs === 0) return restart();
    this.timer = setLongTimeout(restart, delayMs);
  }

  private enterGaveUp(reason: string): void {
    // RUNNING -> FAILED: the restart limit is reached; one gave_up event
    const service = this.service;
    service.setState('failed', reason);
    const cooldownMs = service.config.restartCooldownMs;
    service.emit(gaveUpEvent(service.config.name, reason, this.count, cooldownMs === null ? null : service.now() + cooldownMs));
    if (cooldownMs === null) return;
    this.timer = setLongTimeout(() => {
      this.timer = null;
      if (service.state !== 'failed') return;
      service.emit({ event: 'cooldown_retry', service: service.config.name, reason: `cool-down of ${cooldownMs / 1000}s passed` });
      service.queueOwn('cool-down retry', () => service.start('cooldown'));
    }, cooldownMs);
  }
}

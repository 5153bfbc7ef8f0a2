/** Issue 11, one service's side: the current start attempt and its readiness, the port hand-over, the drain. */
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { describeReady } from '../config/readiness.ts';
import { waitUntilReady, type ReadyOutcome } from '../readiness/wait.ts';
import { drainService } from './drain.ts';
import { handOverPort } from './port-handover.ts';
import type { EventRecord, ServiceConfig, ServiceSnapshot, ServiceState } from '../core/types.ts';

type Emit = (event: Omit<EventRecord, 'time'>) => void;

interface Attempt {
  controller: AbortController;
  outcome: Promise<ReadyOutcome>;
  resolve: (outcome: ReadyOutcome) => void;
  settled: boolean;
}

export interface AttemptHandle { signal: AbortSignal }

export class ReadyTracker {
  private attempt: Attempt | null = null;
  private last: ReadyOutcome = { ok: false, reason: 'never started' };
  private readySince: number | null = null;
  private state: ServiceState = 'stopped';
  private readonly listeners = new Set<(state: ServiceState) => void>();

  /** A new start attempt; a pending one ends as superseded. */
  begin(): AttemptHandle {
    this.end({ ok: false, reason: 'superseded by a new start' });
    let resolve!: (outcome: ReadyOutcome) => void;
    const outcome = new Promise<ReadyOutcome>((settle) => { resolve = settle; });
    this.attempt = { controller: new AbortController(), outcome, resolve, settled: false };
    return { signal: this.attempt.controller.signal };
  }

  /** The current attempt's outcome; the first one counts. */
  end(outcome: ReadyOutcome): void {
    const attempt = this.attempt;
    if (!attempt || attempt.settled) return;
    attempt.settled = true;
    this.last = outcome;
    attempt.controller.abort();
    attempt.resolve(outcome);
  }

  /** No attempt was made (a dependency failed): what whenReady() reports. */
  fail(reason: string): void {
    this.end({ ok: false, reason });
    this.last = { ok: false, reason };
  }

  /** Resolves when the current start attempt is ready or has failed; at once when none is pending. */
  whenReady(): Promise<ReadyOutcome> {
    if (this.attempt && !this.attempt.settled) return this.attempt.outcome;
    if (this.state === 'running') return Promise.resolve(this.last.ok ? this.last : { ok: true, ms: 0 });
    return Promise.resolve(this.last);
  }

  /** Called by Service.setState, the one writer of the state. */
  stateChanged(next: ServiceState): void {
    this.state = next;
    if (next === 'running') this.readySince ??= Date.now();
    else this.readySince = null;
    for (const listener of [...this.listeners]) listener(next);
  }

  /** Every state change until the returned function is called. */
  onState(listener: (state: ServiceState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  condition(config: ServiceConfig): string {
    return describeReady(config.ready);
  }

  snapshot(config: ServiceConfig): Pick<ServiceSnapshot, 'ready' | 'after'> {
    return {
      ready: { since: this.readySince === null ? null : new Date(this.readySince).toISOString(), condition: describeReady(config.ready) },
      after: config.after ?? [],
    };
  }

  handOverPort(config: ServiceConfig, marker: string, attempt: AttemptHandle, emit: Emit): Promise<string | null> {
    return handOverPort({
      port: config.port!, marker, stopSignal: config.stopSignal, stopTimeoutMs: config.stopTimeoutMs,
      portWaitMs: config.portWaitMs ?? config.stopTimeoutMs, signal: attempt.signal,
      stoppedLeftover: (holder) => emit({ event: 'port_leftover_stopped', service: config.name, port: config.port, pid: holder.pid, command: holder.command, reason: `pid ${holder.pid} of the previous run holds port ${config.port}` }),
    });
  }

  /** Runs the ready check of this run; `notReady` when the timeout passes first. Never rejects. */
  async watch(config: ServiceConfig, child: ChildProcess, startedAt: number, on: { ready: (ms: number) => void; notReady: (reason: string) => void }): Promise<void> {
    const attempt = this.attempt;
    if (!attempt || attempt.settled) return;
    try {
      const outcome = await waitUntilReady(config.ready!, {
        cwd: config.cwd,
        signal: attempt.controller.signal,
        onLine: (listener) => subscribeLines([child.stdout, child.stderr], listener),
      });
      if (attempt.settled || attempt !== this.attempt) return;
      if (outcome.ok) {
        const ms = Date.now() - startedAt;
        on.ready(ms);
        this.end({ ok: true, ms });
      } else {
        this.end(outcome);
        on.notReady(outcome.reason);
      }
    } catch (error) {
      this.end({ ok: false, reason: `ready check failed: ${(error as Error).message}` });
    }
  }

  async drain(config: ServiceConfig, pid: number | null, reason: string, emit: Emit): Promise<void> {
    await drainService({ service: config.name, drain: config.drain!, waitIdle: config.waitIdle, pid, cwd: config.cwd, reason, emit })
      .catch((error: unknown) => emit({ event: 'drained', service: config.name, duration_ms: 0, ok: false, reason: String(error) }));
  }
}

/** Output lines of this run only: listeners attach to the run's own pipes. */
function subscribeLines(streams: (Readable | null)[], listener: (line: string) => void): () => void {
  const offs = streams.filter((stream): stream is Readable => stream !== null).map((stream) => {
    let partial = '';
    const onData = (data: Buffer | string) => {
      const lines = (partial + data.toString()).split('\n');
      partial = lines.pop() ?? '';
      if (partial.length > 64 * 1024) partial = '';
      lines.forEach(listener);
    };
    stream.on('data', onData);
    return () => stream.off('data', onData);
  });
  return () => offs.forEach((off) => off());
}

/** Waits until a started service is ready: its probe passes, or its log line appears; or fails after `timeout`. */
import { runCheck } from './probe.ts';
import type { ReadyConfig } from '../core/types.ts';

export type ReadyOutcome = { ok: true; ms: number } | { ok: false; reason: string };

export interface ReadyWaitOptions {
  cwd: string;
  /** Aborted when the run ends (exit, stop): the wait ends with `aborted`. */
  signal: AbortSignal;
  /** Subscribes to the run's output lines (stdout and stderr); returns the unsubscribe. */
  onLine: (listener: (line: string) => void) => () => void;
  now?: () => number;
}

/** `5m`, `2s`, `1.5s`, `250ms`: how the timeout reads in `not ready within 5m`. */
export function formatShortDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${Math.round(ms / 100) / 10}s`;
  return `${ms}ms`;
}

/** A plain substring, or a `/regex/`. */
export function lineMatcher(pattern: string): (line: string) => boolean {
  if (pattern.length > 2 && pattern.startsWith('/') && pattern.endsWith('/')) {
    const regex = new RegExp(pattern.slice(1, -1));
    return (line) => regex.test(line);
  }
  return (line) => line.includes(pattern);
}

export function waitUntilReady(ready: ReadyConfig, options: ReadyWaitOptions): Promise<ReadyOutcome> {
  const now = options.now ?? Date.now;
  const started = now();
  const timedOut = { ok: false as const, reason: `not ready within ${formatShortDuration(ready.timeoutMs)}` };
  return new Promise((resolve) => {
    let settled = false;
    const cleanups: (() => void)[] = [];
    const settle = (outcome: ReadyOutcome) => {
      if (settled) return;
      settled = true;
      cleanups.forEach((cleanup) => cleanup());
      resolve(outcome);
    };
    if (options.signal.aborted) return settle({ ok: false, reason: 'aborted' });
    const onAbort = () => settle({ ok: false, reason: 'aborted' });
    options.signal.addEventListener('abort', onAbort, { once: true });
    cleanups.push(() => options.signal.removeEventListener('abort', onAbort));
    const deadline = setTimeout(() => settle(timedOut), ready.timeoutMs);
    cleanups.push(() => clearTimeout(deadline));
    const probe = ready.probe;
    if (probe.kind === 'log_line') {
      const matches = lineMatcher(probe.pattern);
      cleanups.push(options.onLine((line) => { if (matches(line)) settle({ ok: true, ms: now() - started }); }));
      return;
    }
    const probeAbort = new AbortController();
    cleanups.push(() => probeAbort.abort());
    const attempt = async (): Promise<void> => {
      while (!settled) {
        const remaining = started + ready.timeoutMs - now();
        const result = await runCheck(probe, { cwd: options.cwd, timeoutMs: Math.max(100, Math.min(remaining, Math.max(ready.intervalMs, 1000))), signal: probeAbort.signal });
        if (result.ok) return settle({ ok: true, ms: now() - started });
        await new Promise<void>((wake) => {
          const onAbort = () => { clearTimeout(timer); wake(); };
          const timer = setTimeout(() => { probeAbort.signal.removeEventListener('abort', onAbort); wake(); }, ready.intervalMs);
          probeAbort.signal.addEventListener('abort', onAbort, { once: true });
        });
      }
    };
    attempt().catch(() => undefined);
  });
}

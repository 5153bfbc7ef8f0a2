/** Hooks and the wait-idle check: one-shot shell commands with a timeout that kills their whole process group. */
import { spawn } from 'node:child_process';
import { tsShellCommand } from '../core/shell.ts';
import { trackOneShot } from '../process/one-shots.ts';
import type { WaitIdleConfig } from '../core/types.ts';

/** Kept from the end of stdout+stderr, enough for an error message and a stack top. */
const OUTPUT_TAIL_CHARS = 2000;
/** After SIGTERM on timeout, the group gets this long before SIGKILL. */
const KILL_GRACE_MS = 500;
/** After the shell exits, a background child may still hold the pipes: read what is there, then stop waiting. */
const PIPE_DRAIN_MS = 100;

export interface HookOptions {
  cwd: string;
  timeoutMs: number;
  /** Added to the supervisor's environment. */
  env?: Record<string, string>;
  /** Aborting kills the hook like a timeout (without `timedOut`). */
  signal?: AbortSignal;
}

export interface HookResult {
  command: string;
  ok: boolean;
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  /** The last ~2000 characters of stdout and stderr, interleaved. */
  output: string;
}

/** A command whose first word is a `.ts` file runs through the project's tsx, so hooks can be TypeScript. */
export const hookShellCommand = tsShellCommand;

/** Runs `command` under /bin/sh -c in `cwd`. Never throws: a spawn failure is a failed result. */
export function runHook(command: string, options: HookOptions): Promise<HookResult> {
  const started = Date.now();
  let output = '';
  const append = (chunk: Buffer | string): void => {
    output = (output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
  };
  return new Promise((resolve) => {
    let timedOut = false;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const child = spawn('/bin/sh', ['-c', hookShellCommand(command)], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      // Its own process group, so a timeout reaches everything the hook started.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackOneShot(child, `hook: ${command}`);
    const finish = (code: number | null, signal: string | null): void => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      options.signal?.removeEventListener('abort', onAbort);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({ command, ok: code === 0 && !timedOut, code, signal, timedOut, durationMs: Date.now() - started, output });
    };
    const killGroup = (signal: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // The group is already gone.
      }
    };
    const stop = (): void => {
      killGroup('SIGTERM');
      timers.push(setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS));
    };
    function onAbort(): void {
      stop();
    }
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    child.on('error', (error) => {
      append(`${error.message}\n`);
      finish(null, null);
    });
    child.on('exit', (code, signal) => {
      // A timed-out hook's survivors (those ignoring SIGTERM) go now; a hook that ends by itself may leave a daemon on purpose.
      if (timedOut || options.signal?.aborted) killGroup('SIGKILL');
      let done = false;
      const end = (): void => {
        if (done) return;
        done = true;
        finish(code, signal);
      };
      child.once('close', end);
      timers.push(setTimeout(end, PIPE_DRAIN_MS));
    });
    timers.push(
      setTimeout(() => {
        timedOut = true;
        stop();
      }, options.timeoutMs),
    );
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs the hooks in order; a failure is recorded in its result and the next hook still runs. */
export async function runHooks(commands: string[], options: HookOptions): Promise<HookResult[]> {
  const results: HookResult[] = [];
  for (const command of commands) results.push(await runHook(command, options));
  return results;
}

export interface WaitIdleOptions {
  cwd: string;
  /** Per check. */
  timeoutMs: number;
  now?: () => number;
  signal?: AbortSignal;
  env?: Record<string, string>;
}

export interface WaitIdleResult {
  idle: boolean;
  waitedMs: number;
  checks: number;
  aborted: boolean;
}

/** Runs the idle check every pollMs until it exits 0 or maxWaitMs has passed; the caller restarts either way. */
export async function waitUntilIdle(waitIdle: WaitIdleConfig, options: WaitIdleOptions): Promise<WaitIdleResult> {
  const now = options.now ?? Date.now;
  const started = now();
  let checks = 0;
  const result = (idle: boolean): WaitIdleResult => ({ idle, waitedMs: now() - started, checks, aborted: options.signal?.aborted ?? false });
  for (;;) {
    if (options.signal?.aborted) return result(false);
    const check = await runHook(waitIdle.command, { cwd: options.cwd, timeoutMs: options.timeoutMs, env: options.env, signal: options.signal });
    checks++;
    if (check.ok) return result(true);
    const remainingMs = started + waitIdle.maxWaitMs - now();
    if (remainingMs <= 0) return result(false);
    await abortableDelay(Math.min(waitIdle.pollMs, remainingMs), options.signal);
  }
}

function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

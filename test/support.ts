/**
 * Integration-test support: a sandbox (temp dir + config + state_dir) in which a real supervisor runs through
 * ./run.ts and is driven through ./restart-control.ts. Everything a sandbox starts is killed by `cleanup()`.
 * Process checks read /proc directly (not lib/), so a bug in lib/tree.ts cannot hide a leftover.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { sendControlRequest } from '../lib/control/client.ts';
import { socketPath, stateDirHash } from '../lib/config/paths.ts';
import { type EventRecord, type StateFile } from '../lib/core/types.ts';
import { waitFor } from './helpers.ts';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const RUN = join(ROOT, 'run.ts');
export const CLI = join(ROOT, 'restart-control.ts');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const MARKER_ENV = 'RESTART_CONTROL_SERVICE';

/** Defaults that keep every integration test short. */
export const FAST = { restart_sec: 0.1, stop_timeout: 0.5 } as const;

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** The test runner's environment minus anything that would steer the entry points elsewhere. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('RESTART_CONTROL_') || key === 'NODE_TEST_CONTEXT' || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** Runs a command to completion (killed at timeoutMs) without blocking the event loop. */
export function runCommand(file: string, args: string[], options: RunOptions = {}): Promise<CommandResult> {
  const started = performance.now();
  const child = spawn(file, args, { cwd: options.cwd ?? ROOT, env: options.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  return new Promise((resolve, reject) => {
    child.once('error', (error) => { clearTimeout(timer); reject(error); });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  state: string;
  startTime: number;
}

export function procInfo(pid: number): ProcInfo | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: fields[0]!, ppid: Number(fields[1]), pgid: Number(fields[2]), sid: Number(fields[3]), startTime: Number(fields[19]) };
}

/** Exists and is not a zombie (PID 1 here reaps orphans only every 1–2 s: a zombie is dead). */
export function alive(pid: number, startTime?: number): boolean {
  const info = procInfo(pid);
  if (!info || info.state === 'Z' || info.state === 'X') return false;
  return startTime === undefined || info.startTime === startTime;
}

function markerOf(pid: number): string | null {
  try {
    const entry = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((item) => item.startsWith(`${MARKER_ENV}=`));
    return entry ? entry.slice(MARKER_ENV.length + 1) : null;
  } catch {
    return null;
  }
}

/** Live (non-zombie) processes whose marker env var starts with `prefix`. */
export function markedProcesses(prefix: string): Array<{ pid: number; marker: string }> {
  const found: Array<{ pid: number; marker: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid || !alive(pid)) continue;
    const marker = markerOf(pid);
    if (marker !== null && marker.startsWith(prefix)) found.push({ pid, marker });
  }
  return found;
}

export interface Supervisor {
  pid: number;
  /** Only for a foreground supervisor spawned by the test. */
  child: ChildProcess | null;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

export interface ServiceSpec {
  name: string;
  command: string | string[];
  [key: string]: unknown;
}

export interface SandboxOptions {
  /** state_dir as written in the config (relative to the config's folder); default "state". */
  stateDir?: string;
  /** Merged over every service: default FAST. */
  serviceDefaults?: Record<string, unknown>;
}

/** Builds the config text in block style, as users write it (`state_dir:` at the start of a line). */
export function configText(services: ServiceSpec[], stateDir = 'state', defaults: Record<string, unknown> = FAST): string {
  return stringify({ state_dir: stateDir, services: services.map((service) => ({ ...defaults, ...service })) });
}

export class Sandbox {
  readonly dir: string;
  readonly configFile: string;
  readonly stateDir: string;
  /** Every service process of this sandbox carries a marker starting with it. */
  readonly markerPrefix: string;
  private readonly supervisors: Array<{ pid: number; startTime: number | null }> = [];

  constructor(services: ServiceSpec[], private readonly options: SandboxOptions = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'rc-it-'));
    this.configFile = join(this.dir, 'restart-control.yaml');
    const stateDir = options.stateDir ?? 'state';
    this.stateDir = stateDir.startsWith('/') ? stateDir : join(this.dir, stateDir);
    this.markerPrefix = `${stateDirHash(this.stateDir)}/`;
    this.writeConfig(services);
  }

  writeConfig(services: ServiceSpec[]): void {
    writeFileSync(this.configFile, configText(services, this.options.stateDir ?? 'state', this.options.serviceDefaults ?? FAST));
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** ./restart-control.ts ARGS --config FILE */
  cli(args: string[], options: RunOptions = {}): Promise<CommandResult> {
    return runCommand(CLI, [...args, '--config', this.configFile], options);
  }

  /** ./run.ts --config FILE ARGS, to completion (for refusals and --detach). */
  run(args: string[] = [], options: RunOptions = {}): Promise<CommandResult> {
    return runCommand(RUN, ['--config', this.configFile, ...args], options);
  }

  /** Records a supervisor started some other way (--detach), so cleanup() kills it. */
  track(pid: number): void {
    this.supervisors.push({ pid, startTime: procInfo(pid)?.startTime ?? null });
  }

  /** A foreground ./run.ts; resolves once it answers `ping` with ready (its autostart services started). */
  /** `env`: extra environment for the supervisor (PATH, RESTART_CONTROL_* overrides). */
  async startSupervisor(options: { waitReady?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Supervisor> {
    const child = spawn(RUN, ['--config', this.configFile], { cwd: this.dir, env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const pid = child.pid!;
    this.track(pid);
    const supervisor: Supervisor = { pid, child, exited, output: () => output };
    if (options.waitReady === false) return supervisor;
    let gone = false;
    void exited.then(() => { gone = true; });
    await waitFor(async () => {
      if (gone) throw new Error(`the supervisor exited before it was ready:\n${output}`);
      return this.isReady();
    }, options.timeoutMs ?? 20_000, `supervisor ready\n${output}`, 25).catch((error: Error) => {
      throw new Error(`${error.message}\n--- supervisor output ---\n${output}`);
    });
    return supervisor;
  }

  async isReady(): Promise<boolean> {
    try {
      const answer = await sendControlRequest(socketPath(this.stateDir), { command: 'ping' });
      return Boolean((answer.data as { ready?: boolean } | undefined)?.ready);
    } catch {
      return false;
    }
  }

  events(): EventRecord[] {
    const file = join(this.stateDir, 'events.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as EventRecord);
  }

  eventsOf(service: string, event?: string): EventRecord[] {
    return this.events().filter((record) => record.service === service && (event === undefined || record.event === event));
  }

  state(): StateFile | null {
    try {
      return JSON.parse(readFileSync(join(this.stateDir, 'state.json'), 'utf8')) as StateFile;
    } catch {
      return null;
    }
  }

  service(name: string): StateFile['services'][number] | undefined {
    return this.state()?.services.find((service) => service.name === name);
  }

  /** Waits until state.json shows `name` in `state` (and, if running, with a live pid); returns its snapshot. */
  waitForState(name: string, state: string, timeoutMs = 10_000, extra: (s: StateFile['services'][number]) => boolean = () => true) {
    return waitFor(() => {
      const service = this.service(name);
      if (!service || service.state !== state || !extra(service)) return null;
      if (state === 'running' && (service.pid === null || !alive(service.pid))) return null;
      return service;
    }, timeoutMs, `${name} to be ${state} (last: ${JSON.stringify(this.service(name))})`, 10);
  }

  waitForEvent(service: string, event: string, count = 1, timeoutMs = 10_000): Promise<EventRecord[]> {
    return waitFor(() => {
      const found = this.eventsOf(service, event);
      return found.length >= count ? found : null;
    }, timeoutMs, `${count} ${event} event(s) of ${service}`, 10);
  }

  /**
   * The first `event` of `service` recorded at or after `since` (an ISO time taken before the action). events.jsonl is
   * written asynchronously, so an event may reach the file a moment after the CLI that caused it has returned.
   */
  waitForEventSince(service: string, event: string, since: string, timeoutMs = 5_000): Promise<EventRecord> {
    return waitFor(() => this.eventsOf(service, event).find((record) => record.time >= since), timeoutMs, `${event} event of ${service} since ${since}`, 10);
  }

  /** Live processes of this sandbox's services (optionally of one service). */
  serviceProcesses(service?: string): number[] {
    const prefix = service === undefined ? this.markerPrefix : `${this.markerPrefix}${service}`;
    return markedProcesses(prefix).filter((found) => service === undefined || found.marker === prefix).map((found) => found.pid);
  }

  /** Kills every supervisor and service process of this sandbox, removes its files. Never throws. */
  async cleanup(): Promise<void> {
    const pidFile = join(this.stateDir, 'supervisor.pid');
    try {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (pid > 0 && !this.supervisors.some((known) => known.pid === pid)) this.track(pid);
    } catch {
      // no supervisor pid file
    }
    for (const { pid, startTime } of this.supervisors) {
      if (startTime !== null && alive(pid, startTime)) killQuietly(pid, 'SIGKILL');
    }
    // A supervisor the test did not see start (a bug may spawn one): it names our config file on its command line
    for (const pid of processesMentioning(this.configFile)) killQuietly(pid, 'SIGKILL');
    // A process in the middle of fork or exec can be missed by one walk (its environ reads empty for a moment):
    // only several empty walks in a row mean nothing is left.
    let emptyWalks = 0;
    await waitFor(() => {
      const left = markedProcesses(this.markerPrefix);
      for (const { pid } of left) {
        const group = procInfo(pid)?.pgid ?? 0;
        if (group > 1 && markerOf(group)?.startsWith(this.markerPrefix)) killQuietly(-group, 'SIGKILL');
        killQuietly(pid, 'SIGKILL');
      }
      emptyWalks = left.length === 0 ? emptyWalks + 1 : 0;
      return emptyWalks >= 5;
    }, 10_000, 'service processes to die', 20).catch(() => undefined);
    rmSync(socketPath(this.stateDir), { force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Live processes (not this one) whose command line contains `text`. */
export function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(text) && alive(Number(name))) found.push(Number(name));
    } catch {
      // gone
    }
  }
  return found;
}

export function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Creates a sandbox whose cleanup runs after the test (or suite) `context`, even when it fails. */
export function sandbox(context: { after: (fn: () => Promise<void>) => void }, services: ServiceSpec[], options?: SandboxOptions): Sandbox {
  const created = new Sandbox(services, options);
  context.after(() => created.cleanup());
  return created;
}

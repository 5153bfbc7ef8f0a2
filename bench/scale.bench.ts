/**
 * N `sleep` services under restart-control and, when installed, under supervisord, side by side: idle CPU and RSS,
 * all N SIGKILLed at once (time until every service runs a new pid, ping latency meanwhile), `status --json`, and
 * shutdown (all exit at SIGTERM; and with 5 ignoring it). Both supervisors get SIGTERM for shutdown.
 * Standalone: `node --import tsx bench/scale.bench.ts [--root DIR] [--n 500] [--only rc|supervisord]` prints JSON.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sendControlRequest } from '../lib/control/client.ts';
import { processCpuTimeMs, processRssBytes, readProcStat } from '../lib/process/proc.ts';

const HERE_ROOT = fileURLToPath(new URL('..', import.meta.url));
const IGNORE_TERM = join(HERE_ROOT, 'test', 'fixtures', 'ignore-term.sh');
const IDLE_MS = 10_000;
const STOP_TIMEOUT_S = 1;
const STORM_LIMIT_MS = 180_000;
const SHUTDOWN_LIMIT_MS = 60_000;

export interface ScaleFigures {
  services: number;
  idleCpuPercent: number;
  rssMiB: number;
  stormMs: number;
  stormCpuMs: number;
  /** Worst and median ping latency during the storm (restart-control only). */
  pingMaxMs: number | null;
  pingMedianMs: number | null;
  pingFailures: number;
  statusMs: number | null;
  shutdownMs: number;
  shutdownIgnoringMs: number;
  stopTimeoutS: number;
}

interface Running {
  pid: number;
  child: ChildProcess;
  dir: string;
  ping?: () => Promise<void>;
  status?: () => number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)]!;
}

async function waitFor<T>(check: () => T | null | undefined | false, timeoutMs: number, what: string, pollMs = 5): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(pollMs);
  }
}

/** Live (non-zombie) children of `parent` that run `comm`. */
function childrenOf(parent: number, comm = 'sleep'): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const stat = readProcStat(Number(name));
    if (stat && stat.ppid === parent && stat.comm === comm && stat.state !== 'Z') found.push(stat.pid);
  }
  return found;
}

function alive(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== null && stat.state !== 'Z';
}

function rcYaml(n: number, ignoring: number): string {
  const lines = ['services:'];
  for (let i = 0; i < n; i++) {
    const command = i < ignoring ? `[${JSON.stringify(IGNORE_TERM)}]` : '[sleep, "100000"]';
    lines.push(`  - name: s${i}`, `    command: ${command}`, '    restart: always', '    restart_sec: 0', `    stop_timeout: ${STOP_TIMEOUT_S}`);
  }
  return `${lines.join('\n')}\n`;
}

async function startRc(root: string, n: number, ignoring: number): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'rc-scale-'));
  const config = join(dir, 'rc.yaml');
  writeFileSync(config, rcYaml(n, ignoring));
  const child = spawn(join(root, 'run.ts'), ['--config', config], { stdio: 'ignore' });
  const socket = join(dir, '.restart-control', 'control.sock');
  const running: Running = {
    pid: child.pid!, child, dir,
    ping: async () => { await sendControlRequest(socket, { command: 'ping' }); },
    status: () => {
      const started = performance.now();
      const result = spawnSync(join(root, 'restart-control.ts'), ['--config', config, 'status', '--json'], { stdio: 'ignore' });
      if (result.status !== 0) throw new Error(`status exited ${result.status}`);
      return performance.now() - started;
    },
  };
  await waitFor(() => childrenOf(child.pid!).length >= n - ignoring, 120_000, `${n} services under restart-control`, 100);
  await waitFor(() => { try { return readFileSync(join(dir, '.restart-control', 'events.jsonl'), 'utf8').includes('supervisor_started'); } catch { return false; } }, 30_000, 'supervisor_started', 50);
  return running;
}

function supervisordConf(dir: string, n: number, ignoring: number): string {
  const lines = [
    '[supervisord]', 'nodaemon=true', `logfile=${dir}/supervisord.log`, `pidfile=${dir}/supervisord.pid`, `childlogdir=${dir}/logs`, 'minfds=4096',
    '[unix_http_server]', `file=${dir}/supervisor.sock`,
    '[rpcinterface:supervisor]', 'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
    '[supervisorctl]', `serverurl=unix://${dir}/supervisor.sock`,
  ];
  for (let i = 0; i < n; i++) {
    lines.push(`[program:s${i}]`, `command=${i < ignoring ? IGNORE_TERM : 'sleep 100000'}`, 'autorestart=true', 'startsecs=0',
      `stopwaitsecs=${STOP_TIMEOUT_S}`, `stdout_logfile=${dir}/logs/s${i}.log`, 'redirect_stderr=true');
  }
  return `${lines.join('\n')}\n`;
}

async function startSupervisord(n: number, ignoring: number): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'rc-scale-sd-'));
  mkdirSync(join(dir, 'logs'));
  writeFileSync(join(dir, 'supervisord.conf'), supervisordConf(dir, n, ignoring));
  const child = spawn('supervisord', ['-c', join(dir, 'supervisord.conf')], { stdio: 'ignore' });
  await waitFor(() => childrenOf(child.pid!).length >= n - ignoring, 120_000, `${n} services under supervisord`, 100);
  return { pid: child.pid!, child, dir };
}

async function stopAndClean(running: Running): Promise<void> {
  if (alive(running.pid)) {
    running.child.kill('SIGTERM');
    await waitFor(() => !alive(running.pid), 60_000, 'supervisor exit', 20).catch(() => running.child.kill('SIGKILL'));
    if (alive(running.pid)) running.child.kill('SIGKILL');
  }
  rmSync(running.dir, { recursive: true, force: true });
}

async function measureIdle(running: Running): Promise<{ cpuPercent: number; rssMiB: number }> {
  await delay(2000);
  const before = processCpuTimeMs(running.pid) ?? 0;
  const started = performance.now();
  await delay(IDLE_MS);
  const cpu = (processCpuTimeMs(running.pid) ?? 0) - before;
  return { cpuPercent: (cpu / (performance.now() - started)) * 100, rssMiB: (processRssBytes(running.pid) ?? 0) / 1024 / 1024 };
}

/** SIGKILLs every service at once; resolves when each runs a new pid. Pings the supervisor meanwhile. */
async function measureStorm(running: Running, n: number): Promise<{ ms: number; cpuMs: number; pings: number[]; pingFailures: number }> {
  const old = new Set(childrenOf(running.pid));
  const cpuBefore = processCpuTimeMs(running.pid) ?? 0;
  const pings: number[] = [];
  let pingFailures = 0;
  let done = false;
  const pinger = (async () => {
    while (!done && running.ping) {
      const started = performance.now();
      try { await running.ping(); pings.push(performance.now() - started); } catch { pingFailures++; }
      await delay(20);
    }
  })();
  const started = performance.now();
  for (const pid of old) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone already */ } }
  // Given up after STORM_LIMIT_MS (main took longer than that here): reported as "> limit", not as a failure
  const ms = await waitFor(() => childrenOf(running.pid).filter((pid) => !old.has(pid)).length >= n, STORM_LIMIT_MS, 'every service on a new pid', 10)
    .then(() => performance.now() - started, () => Infinity);
  done = true;
  await pinger;
  return { ms, cpuMs: (processCpuTimeMs(running.pid) ?? 0) - cpuBefore, pings, pingFailures };
}

async function measureShutdown(running: Running): Promise<number> {
  const started = performance.now();
  running.child.kill('SIGTERM');
  // Given up after SHUTDOWN_LIMIT_MS: reported as "> limit"; stopAndClean() then SIGKILLs what is left
  return waitFor(() => !alive(running.pid), SHUTDOWN_LIMIT_MS, 'shutdown', 2).then(() => performance.now() - started, () => Infinity);
}

export async function benchScale(kind: 'rc' | 'supervisord', n: number, root = HERE_ROOT): Promise<ScaleFigures> {
  const start = (ignoring: number) => (kind === 'rc' ? startRc(root, n, ignoring) : startSupervisord(n, ignoring));
  const running = await start(0);
  let figures: Omit<ScaleFigures, 'shutdownIgnoringMs'>;
  try {
    const idle = await measureIdle(running);
    const statusRuns = running.status ? [running.status(), running.status(), running.status(), running.status(), running.status()] : [];
    const storm = await measureStorm(running, n);
    await delay(2000);
    const shutdownMs = await measureShutdown(running);
    figures = {
      services: n, idleCpuPercent: idle.cpuPercent, rssMiB: idle.rssMiB, stormMs: storm.ms, stormCpuMs: storm.cpuMs,
      pingMaxMs: storm.pings.length ? Math.max(...storm.pings) : null, pingMedianMs: storm.pings.length ? median(storm.pings) : null,
      pingFailures: storm.pingFailures, statusMs: statusRuns.length ? median(statusRuns) : null, shutdownMs, stopTimeoutS: STOP_TIMEOUT_S,
    };
  } finally {
    await stopAndClean(running);
  }
  const ignoring = await start(5);
  try {
    await delay(1000);
    return { ...figures, shutdownIgnoringMs: await measureShutdown(ignoring) };
  } finally {
    await stopAndClean(ignoring);
  }
}

export function hasSupervisord(): boolean {
  return spawnSync('supervisord', ['--version'], { stdio: 'ignore' }).status === 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { root: { type: 'string' }, n: { type: 'string' }, only: { type: 'string' } } });
  const n = Number(values.n ?? 500);
  const out: Record<string, ScaleFigures> = {};
  if (values.only !== 'supervisord') out.rc = await benchScale('rc', n, values.root ?? HERE_ROOT);
  if (values.only !== 'rc' && hasSupervisord()) out.supervisord = await benchScale('supervisord', n);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

/** One /proc walk with at least `count` processes on the machine: in one go, and the longest slice of a sliced walk. */
export async function benchWalk(count: number): Promise<{ processes: number; wholeMs: number; sliceMs: number }> {
  const { ProcessTable } = await import('../lib/process/table.ts');
  const children: ChildProcess[] = [];
  try {
    const have = new ProcessTable().walkNow().processes.length;
    for (let i = have; i < count; i++) children.push(spawn('sleep', ['1000'], { stdio: 'ignore', detached: true }));
    await delay(500);
    const table = new ProcessTable({ minIntervalMs: 0 });
    const whole: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      table.walkNow();
      whole.push(performance.now() - started);
    }
    let longest = 0;
    for (let i = 0; i < 5; i++) {
      let last = performance.now();
      const gaps: number[] = [];
      const probe = setInterval(() => { const now = performance.now(); gaps.push(now - last); last = now; }, 0);
      await table.next();
      clearInterval(probe);
      longest = Math.max(longest, median(gaps));
    }
    return { processes: table.latest?.processes.length ?? 0, wholeMs: median(whole), sliceMs: longest };
  } finally {
    for (const child of children) child.kill('SIGKILL');
  }
}

/** One service that exits at once, `restart_sec: 0`, no limit: restarts and supervisor CPU over `seconds`. */
export async function benchCrashLoop(root = HERE_ROOT, seconds = 10): Promise<{ restarts: number; cpuPercent: number; seconds: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'rc-scale-loop-'));
  const config = join(dir, 'rc.yaml');
  writeFileSync(config, 'services:\n  - name: loop\n    command: "exit 1"\n    restart: always\n    restart_sec: 0\n    restart_max: 0\n');
  const child = spawn(join(root, 'run.ts'), ['--config', config], { stdio: 'ignore' });
  const events = () => { try { return readFileSync(join(dir, '.restart-control', 'events.jsonl'), 'utf8'); } catch { return ''; } };
  try {
    await waitFor(() => events().includes('supervisor_started'), 30_000, 'supervisor_started', 50);
    await delay(1000);
    const startsBefore = events().split('"event":"started"').length;
    const cpuBefore = processCpuTimeMs(child.pid!) ?? 0;
    const started = performance.now();
    await delay(seconds * 1000);
    const cpuMs = (processCpuTimeMs(child.pid!) ?? 0) - cpuBefore;
    const elapsed = performance.now() - started;
    return { restarts: events().split('"event":"started"').length - startsBefore, cpuPercent: (cpuMs / elapsed) * 100, seconds };
  } finally {
    child.kill('SIGTERM');
    await waitFor(() => !alive(child.pid!), 30_000, 'supervisor exit', 20).catch(() => child.kill('SIGKILL'));
    rmSync(dir, { recursive: true, force: true });
  }
}

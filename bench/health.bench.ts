/**
 * Issue #10 benches. (1) 50 services with an HTTP probe every 1 s and resources sampled every 1 s: the supervisor's
 * CPU (% of one core) and RSS, against the same 50 services without them. (2) Time from a service hanging (SIGSTOP)
 * to its new pid running, with interval 1s, failures 3, stop_timeout 1s.
 * Run alone: `node --import tsx bench/health.bench.ts` (BENCH_HEALTH_SECONDS shortens the 60 s window).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { processCpuTimeMs, processRssBytes } from '../lib/process/proc.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const RUN = join(ROOT, 'run.ts');
const CLI = join(ROOT, 'restart-control.ts');
const HTTP_FIXTURE = join(ROOT, 'test', 'fixtures', 'http-health.mjs');

interface Event { event: string; service?: string; pid?: number; time: string }

function events(dir: string): Event[] {
  try {
    return readFileSync(join(dir, 'state', 'events.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Event);
  } catch {
    return [];
  }
}

async function waitFor<T>(check: () => T | undefined | null | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

async function withSupervisor<T>(yaml: string, work: (dir: string, pid: number) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'rc-bench-health-'));
  writeFileSync(join(dir, 'rc.yaml'), yaml);
  const supervisor = spawn(RUN, ['--config', join(dir, 'rc.yaml')], { stdio: 'ignore' });
  try {
    await waitFor(() => events(dir).some((e) => e.event === 'supervisor_started'), 30_000, 'supervisor');
    return await work(dir, supervisor.pid!);
  } finally {
    spawnSync(CLI, ['--config', join(dir, 'rc.yaml'), 'shutdown'], { stdio: 'ignore' });
    supervisor.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface OverheadResult { seconds: number; cpuPercent: number; rssMiB: number }

/** The supervisor's CPU over `seconds` once all 50 run, and its RSS at the end. */
async function overhead(yaml: string, seconds: number): Promise<OverheadResult> {
  return withSupervisor(yaml, async (dir, pid) => {
    await waitFor(() => events(dir).filter((e) => e.event === 'started').length >= 50, 30_000, '50 services');
    await delay(3000); // let start-up settle
    const cpuBefore = processCpuTimeMs(pid)!;
    const started = performance.now();
    await delay(seconds * 1000);
    const cpuMs = processCpuTimeMs(pid)! - cpuBefore;
    const wallMs = performance.now() - started;
    return { seconds, cpuPercent: (cpuMs / wallMs) * 100, rssMiB: (processRssBytes(pid) ?? 0) / 1024 / 1024 };
  });
}

export async function benchHealthOverhead(seconds = Number(process.env.BENCH_HEALTH_SECONDS ?? 60)): Promise<{ with: OverheadResult; without: OverheadResult }> {
  // One target answers every probe: what is measured is the supervisor's side of 50 probes per second
  const server = createServer((_request, response) => response.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const service = (i: number, health: boolean) => `  - name: s${i}\n    command: [sleep, "1000"]\n${health
      ? `    health:\n      http: http://127.0.0.1:${port}/s${i}\n      interval: 1s\n      timeout: 1s\n    max_memory: 1GB\n`
      : ''}`;
    const config = (health: boolean) => `state_dir: state\n${health ? 'resources:\n  interval: 1s\n' : 'resources:\n  interval: 1h\n'}services:\n${Array.from({ length: 50 }, (_, i) => service(i, health)).join('')}`;
    const without = await overhead(config(false), seconds);
    const withHealth = await overhead(config(true), seconds);
    return { with: withHealth, without };
  } finally {
    server.close();
  }
}

/** SIGSTOP the service (it can neither answer nor obey SIGTERM), then time until the supervisor's `started` of the new pid. */
export async function benchHangToNewPid(hangs = 3): Promise<number[]> {
  const port = 30_000 + (process.pid % 20_000);
  const yaml = [
    'state_dir: state',
    'services:',
    '  - name: web',
    `    command: [node, ${HTTP_FIXTURE}, "${port}"]`,
    '    restart_sec: 0',
    '    stop_timeout: 1s',
    '    health:',
    `      http: http://127.0.0.1:${port}/`,
    '      interval: 1s',
    '      timeout: 500ms',
    '      failures: 3',
    '',
  ].join('\n');
  return withSupervisor(yaml, async (dir) => {
    const samples: number[] = [];
    for (let i = 0; i < hangs; i++) {
      const healthy = () => events(dir).filter((e) => e.service === 'web' && (e.event === 'healthy' || e.event === 'started'));
      const started = () => events(dir).filter((e) => e.service === 'web' && e.event === 'started');
      const current = await waitFor(() => started().at(-1), 10_000, 'web started');
      const count = started().length;
      await waitFor(() => healthy().length > 0, 10_000, 'web up');
      await delay(1500); // let it pass a probe or two
      const hungAt = Date.now();
      process.kill(current.pid!, 'SIGSTOP');
      const next = await waitFor(() => (started().length > count ? started().at(-1) : undefined), 30_000, 'new pid');
      samples.push(Date.parse(next.time) - hungAt);
    }
    return samples;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const hang = await benchHangToNewPid();
  console.log(JSON.stringify({ hangToNewPidMs: hang }));
  console.log(JSON.stringify(await benchHealthOverhead()));
}

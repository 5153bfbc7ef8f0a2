/**
 * GET /metrics from a real supervisor (./run.ts, with its own V8 flags) running 50 services, over HTTP on
 * 127.0.0.1: the wall time of each scrape as Prometheus would see it, and the supervisor's RSS with metrics on.
 * Run alone: `node --import tsx bench/metrics.bench.ts` prints JSON.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { processRssBytes } from '../lib/process/proc.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

export interface MetricsBenchResult {
  services: number;
  scrapes: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  bytes: number;
  /** Supervisor RSS once its services run, metrics on, before any scrape. */
  idleRssMiB: number;
  /** After the scrapes back to back (far more often than Prometheus asks): garbage V8 has not collected yet counts. */
  rssMiB: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function scrape(url: string, agent: Agent): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    get(url, { agent }, (response) => {
      let bytes = 0;
      response.on('data', (chunk: Buffer) => { bytes += chunk.length; });
      response.on('end', () => resolve({ ms: performance.now() - started, bytes }));
    }).on('error', reject);
  });
}

export async function benchMetricsScrape(services = 50, scrapes = 100): Promise<MetricsBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rc-bench-metrics-'));
  const port = await freePort();
  const list = Array.from({ length: services }, (_, i) => `  - name: s${i}\n    command: [sleep, "1000"]\n    restart: always\n`).join('');
  writeFileSync(join(dir, 'rc.yaml'), `services:\n${list}metrics:\n  listen: 127.0.0.1:${port}\nschedule:\n  interval: 6h\n`);
  const supervisor = spawn(join(ROOT, 'run.ts'), ['--config', join(dir, 'rc.yaml')], { stdio: 'ignore' });
  const agent = new Agent({ keepAlive: true });
  const url = `http://127.0.0.1:${port}/metrics`;
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const text = await new Promise<string>((resolve) => get(url, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; }).on('end', () => resolve(body));
      }).on('error', () => resolve('')));
      if ((text.match(/^restartctl_service_up\{[^}]*\} 1$/gm) ?? []).length >= services) break;
      if (Date.now() > deadline) throw new Error('the supervisor did not start its services');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const idleRssMiB = round((processRssBytes(supervisor.pid!) ?? 0) / 1024 / 1024);
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < scrapes + 5; i++) {
      const result = await scrape(url, agent);
      if (i >= 5) times.push(result.ms); // the first few warm the code paths, as a long-running supervisor's are
      bytes = result.bytes;
    }
    times.sort((a, b) => a - b);
    await new Promise((resolve) => setTimeout(resolve, 500));
    return {
      services, scrapes,
      medianMs: round(times[Math.floor(times.length / 2)]!), p95Ms: round(times[Math.floor(times.length * 0.95)]!), maxMs: round(times.at(-1)!),
      bytes, idleRssMiB, rssMiB: round((processRssBytes(supervisor.pid!) ?? 0) / 1024 / 1024),
    };
  } finally {
    agent.destroy();
    spawnSync(join(ROOT, 'restart-control.ts'), ['--config', join(dir, 'rc.yaml'), 'shutdown'], { stdio: 'ignore' });
    supervisor.kill('SIGTERM');
    await new Promise((resolve) => supervisor.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${JSON.stringify(await benchMetricsScrape())}\n`);
}

/**
 * The web page's cost: the supervisor's RSS and idle CPU with `web.listen` set and 5 SSE clients connected (an open
 * page each, with its event stream and a log stream), against the same supervisor without `web:`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get, type ClientRequest } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processCpuTimeMs, processRssBytes } from '../lib/process/proc.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const IDLE_WINDOW_MS = 20_000;
const SETTLE_MS = 3_000;
const CLIENTS = 5;

export interface WebCost { rssMiB: number; idleCpuPercent: number }
export interface WebBenchResult { off: WebCost; on: WebCost; clients: number; windowS: number }

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => { const { port } = server.address() as AddressInfo; server.close(() => resolve(port)); });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measure(web: boolean): Promise<WebCost> {
  const dir = mkdtempSync(join(tmpdir(), 'rc-bench-web-'));
  const config = join(dir, 'rc.yaml');
  const port = await freePort();
  const services = Array.from({ length: 5 }, (_, i) => `  - name: s${i}\n    command: [sleep, "1000"]\n`).join('');
  writeFileSync(config, `services:\n${services}${web ? `web:\n  listen: 127.0.0.1:${port}\n` : ''}`);
  const supervisor = spawn(join(ROOT, 'run.ts'), ['--config', config], { stdio: 'ignore' });
  const streams: ClientRequest[] = [];
  try {
    const deadline = Date.now() + 30_000;
    while (spawnSync(join(ROOT, 'restart-control.ts'), ['--config', config, 'status']).status !== 0) {
      if (Date.now() > deadline) throw new Error('supervisor did not start');
      await sleep(100);
    }
    if (web) {
      for (let i = 0; i < CLIENTS; i++) {
        for (const path of ['api/events/stream', 'api/logs/s0/stream']) {
          const request = get(`http://127.0.0.1:${port}/${path}`, (response) => response.resume());
          request.on('error', () => undefined);
          streams.push(request);
        }
        // what a page loads first
        await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
        await fetch(`http://127.0.0.1:${port}/api/status`).then((r) => r.text());
      }
    }
    await sleep(SETTLE_MS);
    const pid = supervisor.pid!;
    const cpuBefore = processCpuTimeMs(pid) ?? 0;
    const started = performance.now();
    await sleep(IDLE_WINDOW_MS);
    const cpuMs = (processCpuTimeMs(pid) ?? 0) - cpuBefore;
    const elapsed = performance.now() - started;
    return { rssMiB: (processRssBytes(pid) ?? 0) / 1024 / 1024, idleCpuPercent: (cpuMs / elapsed) * 100 };
  } finally {
    for (const stream of streams) stream.destroy();
    spawnSync(join(ROOT, 'restart-control.ts'), ['--config', config, 'shutdown'], { stdio: 'ignore' });
    supervisor.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchWeb(): Promise<WebBenchResult> {
  const off = await measure(false);
  const on = await measure(true);
  return { off, on, clients: CLIENTS, windowS: IDLE_WINDOW_MS / 1000 };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(`${JSON.stringify(await benchWeb())}\n`);

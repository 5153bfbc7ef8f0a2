/** One health probe: HTTP GET, TCP connect or a command like a hook. Never throws, never blocks, output capped. */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { runHook } from '../schedule/hooks.ts';
import { describeRanges, statusAccepted } from './config.ts';
import type { HealthProbe } from '../core/types.ts';

export interface ProbeResult {
  ok: boolean;
  /** The failure in words; null when ok. */
  error: string | null;
  latencyMs: number;
}

export interface ProbeOptions {
  timeoutMs: number;
  /** Command probes run here (the config's folder). */
  cwd: string;
}

/** "5s", "1.5s", "500ms": how the config would write it. */
export function formatTimeout(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : ms > 1000 ? `${ms / 1000}s` : `${ms}ms`;
}

export function runProbe(probe: HealthProbe, options: ProbeOptions): Promise<ProbeResult> {
  const started = performance.now();
  const finish = (error: string | null): ProbeResult => ({ ok: error === null, error, latencyMs: Math.round(performance.now() - started) });
  switch (probe.kind) {
    case 'http': return httpProbe(probe.url, probe.expectStatus, options.timeoutMs).then(finish);
    case 'tcp': return tcpProbe(probe.host, probe.port, options.timeoutMs).then(finish);
    case 'command': return commandProbe(probe.command, options).then(finish);
    default: {
      const exhaustive: never = probe;
      return Promise.resolve(finish(`unknown probe ${JSON.stringify(exhaustive)}`));
    }
  }
}

/** A GET with the timeout on the whole exchange; redirects are not followed; the body is read and thrown away. */
async function httpProbe(url: string, expectStatus: [number, number][], timeoutMs: number): Promise<string | null> {
  // node:https brings TLS (several MB of RSS): loaded only when some probe needs it
  const send = url.startsWith('https:') ? (await import('node:https')).request : httpRequest;
  return new Promise((resolve) => {
    let settled = false;
    let req: ClientRequest | null = null;
    const done = (error: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req?.destroy();
      resolve(error === null ? null : `GET ${url}: ${error}`);
    };
    const timer = setTimeout(() => done(`timed out after ${formatTimeout(timeoutMs)}`), timeoutMs);
    try {
      req = send(url, { method: 'GET', agent: false, headers: { 'user-agent': 'restart-control health check', connection: 'close' } }, (response: IncomingMessage) => {
        const status = response.statusCode ?? 0;
        response.resume(); // never kept: memory stays flat whatever the body
        response.on('error', () => undefined);
        done(statusAccepted(status, expectStatus) ? null : `status ${status}, expected ${describeRanges(expectStatus)}`);
      });
      req.on('error', (error) => done(error.message));
      req.end();
    } catch (error) {
      done((error as Error).message);
    }
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    let settled = false;
    const socket = connect({ host, port });
    const done = (error: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(error);
    };
    const timer = setTimeout(() => done(`connect ${host}:${port}: timed out after ${formatTimeout(timeoutMs)}`), timeoutMs);
    socket.once('connect', () => done(null));
    socket.once('error', (error) => done(error.message));
  });
}

/** Like a hook: /bin/sh -c in the config's folder, own process group killed on timeout; output capped by runHook. */
async function commandProbe(command: string, options: ProbeOptions): Promise<string | null> {
  const result = await runHook(command, { cwd: options.cwd, timeoutMs: options.timeoutMs });
  if (result.ok) return null;
  if (result.timedOut) return `${command}: timed out after ${formatTimeout(options.timeoutMs)}`;
  const firstLine = result.output.split('\n').map((line) => line.trim()).find((line) => line !== '') ?? '';
  const what = result.signal ? `killed by ${result.signal}` : `exit code ${result.code ?? 'unknown'}`;
  return firstLine ? `${what}: ${firstLine.slice(0, 200)}` : what;
}

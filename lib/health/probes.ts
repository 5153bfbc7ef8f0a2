/** One health probe: HTTP GET, TCP connect or a command like a hook. Never throws, never blocks, output capped. */
import { connect, isIP } from 'node:net';
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

/**
 * A GET with the timeout on the whole exchange, judged by its status line alone: written on a plain socket (TLS for
 * https) and closed as soon as the status line is in. Redirects are not followed; no body is ever read. Lighter than
 * node:http (no parser, agent, request and response objects), which matters at 50 probes a second (bench/).
 */
async function httpProbe(url: string, expectStatus: [number, number][], timeoutMs: number): Promise<string | null> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return `GET ${url}: invalid URL`;
  }
  const secure = target.protocol === 'https:';
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(target.port || (secure ? 443 : 80));
  // node:tls brings several MB of RSS: loaded only when some probe needs it
  const socket = secure ? (await import('node:tls')).connect({ host, port, servername: isIP(host) ? undefined : host }) : connect({ host, port });
  const request = `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nUser-Agent: restart-control health check\r\nConnection: close\r\n\r\n`;
  return new Promise((resolve) => {
    let settled = false;
    let head = '';
    const done = (error: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(error === null ? null : `GET ${url}: ${error}`);
    };
    const timer = setTimeout(() => done(`timed out after ${formatTimeout(timeoutMs)}`), timeoutMs);
    socket.once(secure ? 'secureConnect' : 'connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1', 0, Math.min(chunk.length, STATUS_LINE_MAX));
      const end = head.indexOf('\r\n');
      if (end < 0 && head.length < STATUS_LINE_MAX) return;
      const match = head.slice(0, end < 0 ? STATUS_LINE_MAX : end).match(/^HTTP\/\d(?:\.\d)? (\d{3})/);
      if (!match) return done(`not an HTTP response: ${JSON.stringify(head.slice(0, 40))}`);
      const status = Number(match[1]);
      done(statusAccepted(status, expectStatus) ? null : `status ${status}, expected ${describeRanges(expectStatus)}`);
    });
    socket.once('end', () => done('connection closed before a response'));
    socket.once('error', (error) => done(error.message));
  });
}

/** A status line is short; anything longer is not HTTP. */
const STATUS_LINE_MAX = 1024;

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

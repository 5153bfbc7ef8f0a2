/** One check of a service: an HTTP GET, a TCP connect or a command, each with a timeout. Shared with health checks. */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { runHook } from '../schedule/hooks.ts';

export type CheckTarget =
  | { kind: 'http'; url: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'command'; command: string };

export interface CheckResult {
  ok: boolean;
  /** Why it failed (`connection refused`, `HTTP 503`, `exit code 1`), or what answered. */
  detail: string;
}

export interface CheckOptions {
  timeoutMs: number;
  /** For commands. */
  cwd: string;
  signal?: AbortSignal;
}

/** Never throws. */
export function runCheck(target: CheckTarget, options: CheckOptions): Promise<CheckResult> {
  if (target.kind === 'http') return checkHttp(target.url, options);
  if (target.kind === 'tcp') return checkTcp(target.host, target.port, options);
  return checkCommand(target.command, options);
}

/** A 2xx or 3xx answer is ready; the body is not read beyond what arrives. */
function checkHttp(url: string, options: CheckOptions): Promise<CheckResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: CheckResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      request.destroy();
      resolve(result);
    };
    const request = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { method: 'GET', rejectUnauthorized: false }, (response) => {
      const status = response.statusCode ?? 0;
      response.resume();
      done(status >= 200 && status < 400 ? { ok: true, detail: `HTTP ${status}` } : { ok: false, detail: `HTTP ${status}` });
    });
    const timer = setTimeout(() => done({ ok: false, detail: `no answer within ${options.timeoutMs} ms` }), options.timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => done({ ok: false, detail: describeError(error) }));
    const onAbort = () => done({ ok: false, detail: 'aborted' });
    options.signal?.addEventListener('abort', onAbort, { once: true });
    request.end();
  });
}

function checkTcp(host: string, port: number, options: CheckOptions): Promise<CheckResult> {
  return new Promise((resolve) => {
    let settled = false;
    const socket = connect({ host, port });
    const done = (result: CheckResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ ok: false, detail: `no connection within ${options.timeoutMs} ms` }), options.timeoutMs);
    socket.once('connect', () => done({ ok: true, detail: 'connected' }));
    socket.once('error', (error: NodeJS.ErrnoException) => done({ ok: false, detail: describeError(error) }));
    const onAbort = () => done({ ok: false, detail: 'aborted' });
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function checkCommand(command: string, options: CheckOptions): Promise<CheckResult> {
  const result = await runHook(command, { cwd: options.cwd, timeoutMs: options.timeoutMs, signal: options.signal });
  if (result.ok) return { ok: true, detail: 'exit code 0' };
  return { ok: false, detail: result.timedOut ? `timed out after ${options.timeoutMs} ms` : result.signal ? `killed by ${result.signal}` : `exit code ${result.code}` };
}

function describeError(error: NodeJS.ErrnoException): string {
  if (error.code === 'ECONNREFUSED') return 'connection refused';
  return error.code ?? error.message;
}

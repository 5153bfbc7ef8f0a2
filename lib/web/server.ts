/**
 * The web page's HTTP server (node:http): access rules (auth.ts), the JSON API (api.ts), live streams (sse.ts) and the
 * page's files (static.ts). Paths are taken relative to base_path, or to / when a proxy has stripped the prefix.
 * Never throws into the supervisor: a failing request gets a 500, a broken client is closed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../core/errors.ts';
import type { EventRecord, WebConfig } from '../core/types.ts';
import { followLog } from '../logs/reader.ts';
import { isLoopback } from './address.ts';
import {
  errorReply, eventsReply, logFileOf, logLinesWanted, logsReply, scheduleActionReply, serviceActionReply, statusDocument,
  unknownService, type Reply, type WebHost,
} from './api.ts';
import { NO_FAILURES, TOKEN_COOKIE, clearedTokenCookie, decideAccess, noteAuthFailure, parseCookies, tokenCookie, type AccessKind } from './auth.ts';
import type { ResourceHistory, ResourceSample } from './history.ts';
import { SseHub } from './sse.ts';
import { isStaticPath, readStatic } from './static.ts';

/** An extra read-only route mounted by another subsystem (e.g. `metrics`), under the same access rules. */
export type RouteHandler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

export interface WebServer {
  readonly port: number;
  publishEvent(event: EventRecord): void;
  publishResources(timeMs: number, samples: ReadonlyMap<string, ResourceSample>): void;
  /** `path` relative to base_path, without a leading slash: `metrics`. */
  mount(path: string, handler: RouteHandler): void;
  reconfigure(web: WebConfig): void;
  stats(): { events: ReturnType<SseHub['stats']>; logs: ReturnType<SseHub['stats']> };
  close(): Promise<void>;
}

const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'self'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};
/** Status documents are built at most this often (each reads state files and may ask nvidia-smi), and afresh after every event. */
const STATUS_CACHE_MS = 1000;
/** Each log stream polls its file (logs/follow.ts). With 5 pages open: +0.45 % idle CPU at 500 ms, +0.8 % at 250 ms. */
const LOG_FOLLOW_POLL_MS = 500;

export async function startWebServer(web: WebConfig, host: WebHost, history: ResourceHistory): Promise<WebServer> {
  let config = web;
  const events = new SseHub();
  const logs = new SseHub();
  const routes = new Map<string, RouteHandler>();
  let failures = NO_FAILURES;
  let status: { atMs: number; document: Promise<unknown> } | null = null;

  const currentStatus = (): Promise<unknown> => {
    const now = Date.now();
    if (!status || now - status.atMs > STATUS_CACHE_MS) status = { atMs: now, document: statusDocument(host.config) };
    return status.document;
  };

  const refuse = (request: IncomingMessage, decision: { status: number; message: string; wrongToken: boolean }) => {
    if (!decision.wrongToken) return;
    const noted = noteAuthFailure(failures, Date.now());
    failures = noted.limit;
    if (noted.record) {
      host.record({ event: 'web_auth_failed', reason: decision.message, count: noted.count, remote: request.socket.remoteAddress ?? null, path: new URL(request.url ?? '/', 'http://x').pathname });
    }
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const relative = relativePath(url.pathname, config.basePath);
    if (relative === null) return redirect(response, `${url.pathname.slice(url.pathname.lastIndexOf('/') + 1)}/${url.search}`);
    const segments = relative.split('/').map(safeDecode);
    const path = segments.join('/');
    const access: AccessKind = segments[0] === 'api' && (segments[1] === 'services' || segments[1] === 'schedule') ? 'action' : 'read';
    if (access === 'read' && request.method !== 'GET' && request.method !== 'HEAD') return json(response, errorReply(405, 'method_not_allowed', `${request.method} is not allowed here`));
    const cookie = parseCookies(request.headers.cookie).get(TOKEN_COOKIE) ?? null;
    const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1]?.trim() ?? null;
    const decision = decideAccess({
      method: request.method ?? 'GET', access, loopback: isLoopback(config.host), token: config.token,
      bearer, query: url.searchParams.get('token'), cookie, origin: header(request, 'origin'), hosts: hostsOf(request),
    });
    if (!decision.allow) {
      refuse(request, decision);
      if (decision.clearCookie) response.setHeader('set-cookie', clearedTokenCookie());
      return json(response, errorReply(decision.status, decision.status === 401 ? 'unauthorized' : decision.status === 405 ? 'method_not_allowed' : 'forbidden', decision.message));
    }
    if (decision.setCookie && config.token) {
      response.setHeader('set-cookie', tokenCookie(config.token));
      // The token leaves the address bar (and the history) at once
      if (path === '' || path === 'index.html') return redirect(response, path === '' ? './' : 'index.html');
    }
    const mounted = routes.get(path);
    if (mounted) return void (await mounted(request, response));
    if (segments[0] !== 'api') return serveStatic(response, path);
    return api(request, response, segments.slice(1), url.searchParams, decision.authenticated);
  };

  const api = async (request: IncomingMessage, response: ServerResponse, parts: string[], query: URLSearchParams, authenticated: boolean): Promise<void> => {
    const [first, second, third, fourth] = parts;
    if (parts.length === 1 && first === 'status') return json(response, { status: 200, body: await currentStatus() });
    if (parts.length === 1 && first === 'session') {
      return json(response, { status: 200, body: { actions: authenticated && config.token !== null, token_configured: config.token !== null, loopback: isLoopback(config.host) } });
    }
    if (parts.length === 1 && first === 'history') return json(response, { status: 200, body: { interval_ms: history.intervalMs, services: history.all() } });
    if (first === 'events' && parts.length === 1) return json(response, await eventsReply(host.config, query, Date.now()));
    if (first === 'events' && second === 'stream' && parts.length === 2) return events.open(request, response);
    if (first === 'logs' && second && parts.length === 2) return json(response, await logsReply(host, second, query));
    if (first === 'logs' && second && third === 'stream' && parts.length === 3) return streamLog(request, response, second, logLinesWanted(query));
    if (first === 'services' && second && third && parts.length === 3) return json(response, await serviceActionReply(host, second, third));
    if (first === 'services' && second && third && fourth === undefined) return json(response, errorReply(400, 'bad_action', 'expected api/services/<name>/<action>'));
    if (first === 'schedule' && second && parts.length === 2) return json(response, await scheduleActionReply(host, second));
    return json(response, errorReply(404, 'not_found', `no such endpoint: api/${parts.join('/')}`));
  };

  const streamLog = (request: IncomingMessage, response: ServerResponse, name: string, backlog: number): void => {
    const file = logFileOf(host, name);
    if (!file) return json(response, unknownService(host, name));
    const stop = new AbortController();
    logs.open(request, response, () => stop.abort());
    followLog(file, (lines) => logs.send(response, { lines }), { backlog, pollMs: LOG_FOLLOW_POLL_MS, signal: stop.signal })
      .catch((error: unknown) => { logs.send(response, { error: errorMessage(error) }, 'error'); response.end(); });
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) response.destroy();
      else json(response, errorReply(500, 'internal_error', errorMessage(error)));
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(web.port, web.host, () => { server.off('error', reject); resolve(); });
  });
  server.on('error', () => undefined);

  return {
    port: (server.address() as AddressInfo).port,
    publishEvent: (event) => {
      status = null;
      events.publish(event);
    },
    publishResources: (timeMs, samples) => events.publish({ time: new Date(timeMs).toISOString(), services: Object.fromEntries(samples) }, 'resources'),
    mount: (path, handler) => { routes.set(path.replace(/^\/+/, ''), handler); },
    reconfigure: (next) => { config = { ...next, host: config.host, port: config.port }; },
    stats: () => ({ events: events.stats(), logs: logs.stats() }),
    close: () => new Promise<void>((resolve) => {
      events.close();
      logs.close();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** The path after base_path; the whole path when a proxy already took the prefix off; null = base_path without its slash. */
export function relativePath(pathname: string, basePath: string): string | null {
  if (pathname.startsWith(basePath)) return pathname.slice(basePath.length);
  if (`${pathname}/` === basePath) return null;
  return pathname.replace(/^\/+/, '');
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function header(request: IncomingMessage, name: string): string | null {
  const value = request.headers[name];
  return typeof value === 'string' ? value : null;
}

function hostsOf(request: IncomingMessage): string[] {
  const forwarded = header(request, 'x-forwarded-host')?.split(',').map((host) => host.trim()) ?? [];
  return [header(request, 'host') ?? '', ...forwarded].filter(Boolean).map((host) => host.toLowerCase());
}

function json(response: ServerResponse, reply: Reply): void {
  const body = JSON.stringify(reply.body);
  response.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  response.end(body);
}

function redirect(response: ServerResponse, location: string): void {
  response.writeHead(303, { location, 'cache-control': 'no-store' });
  response.end();
}

async function serveStatic(response: ServerResponse, path: string): Promise<void> {
  const file = isStaticPath(path) ? await readStatic(path) : null;
  if (!file) return json(response, errorReply(404, 'not_found', `no such page: ${path}`));
  response.writeHead(200, { 'content-type': file.type, 'content-length': file.body.length, 'cache-control': 'no-cache', ...PAGE_HEADERS });
  response.end(file.body);
}

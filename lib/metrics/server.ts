/**
 * GET /metrics over HTTP. The handler stands alone so the web page's server (web.listen) can mount it too;
 * `startMetricsServer` is the server of its own for `metrics.listen`.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isLoopbackHost, listenHost } from '../config/integrations.ts';

export const METRICS_PATH = '/metrics';

export type Render = () => Promise<{ contentType: string; body: string }>;

/** Handles GET/HEAD /metrics and returns true; false for any other path (the caller answers it). */
export type MetricsHandler = (request: IncomingMessage, response: ServerResponse) => boolean;

/** Clients on loopback need no token; others need `Authorization: Bearer <token>`, and are refused when there is none. */
export function metricsHandler(render: Render, token: string | null): MetricsHandler {
  return (request, response) => {
    const path = (request.url ?? '/').split('?', 1)[0];
    if (path !== METRICS_PATH) return false;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      answer(response, 405, 'only GET /metrics\n', { allow: 'GET, HEAD' });
      return true;
    }
    if (!allowed(request, token)) {
      answer(response, token === null ? 403 : 401, token === null ? 'metrics are served to loopback clients only\n' : 'a bearer token is needed\n', token === null ? {} : { 'www-authenticate': 'Bearer' });
      return true;
    }
    render().then(
      ({ contentType, body }) => answer(response, 200, request.method === 'HEAD' ? '' : body, { 'content-type': contentType }),
      (error: unknown) => answer(response, 500, `metrics failed: ${String(error)}\n`),
    );
    return true;
  };
}

export function startMetricsServer(listen: string, handler: MetricsHandler): Promise<Server> {
  const server = createServer((request, response) => {
    if (!handler(request, response)) answer(response, 404, `not found; metrics are at ${METRICS_PATH}\n`);
  });
  // Scrapers keep connections alive; closing the server must not wait for them
  server.keepAliveTimeout = 5000;
  const host = listenHost(listen);
  const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', () => undefined);
      resolve(server);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((done) => {
    server.close(() => done());
    server.closeAllConnections();
  });
}

function allowed(request: IncomingMessage, token: string | null): boolean {
  if (isLoopbackHost(request.socket.remoteAddress ?? '')) return true;
  if (token === null) return false;
  const given = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1]?.trim() ?? '';
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function answer(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  response.end(body);
}

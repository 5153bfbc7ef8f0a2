/**
 * Who may do what on the web page: pure decisions from the request's parts, so every rule is tested without a server.
 * Reading needs no token on a loopback address; actions always need it, come as POST, and pass a CSRF check.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const TOKEN_COOKIE = 'restart_control_token';
/** At most one `web_auth_failed` event per this long: a password guesser must not flood the event stream. */
export const AUTH_EVENT_INTERVAL_MS = 60_000;

export type AccessKind = 'read' | 'action';

export interface AccessRequest {
  method: string;
  access: AccessKind;
  /** The server listens on a loopback address only. */
  loopback: boolean;
  /** The configured token; null = none (read-only page). */
  token: string | null;
  bearer: string | null;
  query: string | null;
  cookie: string | null;
  origin: string | null;
  /** Host and X-Forwarded-Host (a proxy in front), lower case. */
  hosts: string[];
}

export type AccessDecision =
  | { allow: true; authenticated: boolean; setCookie: boolean }
  | { allow: false; status: 401 | 403 | 405; message: string; wrongToken: boolean; clearCookie: boolean };

export function sameToken(presented: string, token: string): boolean {
  // Digests have one length: the comparison takes the same time whatever was sent
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

export function decideAccess(request: AccessRequest): AccessDecision {
  const refuse = (status: 401 | 403 | 405, message: string, wrongToken = false, clearCookie = false): AccessDecision =>
    ({ allow: false, status, message, wrongToken, clearCookie });
  if (request.access === 'action' && request.method !== 'POST') return refuse(405, 'actions are POST requests');
  const via = request.bearer !== null ? 'bearer' : request.query !== null ? 'query' : request.cookie !== null ? 'cookie' : null;
  const presented = request.bearer ?? request.query ?? request.cookie;
  let authenticated = false;
  if (presented !== null && request.token !== null) {
    if (!sameToken(presented, request.token)) return refuse(401, 'wrong token', true, via === 'cookie');
    authenticated = true;
  }
  if (request.access === 'read') {
    if (request.loopback || authenticated) return { allow: true, authenticated, setCookie: authenticated && via === 'query' };
    return refuse(401, 'this page needs the token: open the link printed by `restart-control web`');
  }
  if (request.token === null) return refuse(403, 'actions are off: set web.token in the config to allow them');
  if (!authenticated) return refuse(401, 'actions need the token: open the link printed by `restart-control web`, or send Authorization: Bearer');
  const csrf = checkOrigin(request.origin, request.hosts, via === 'bearer');
  if (csrf) return refuse(403, csrf);
  return { allow: true, authenticated, setCookie: via === 'query' };
}

/**
 * A browser sends Origin with every POST; a cross-site page cannot forge it. Without one, only a bearer header (which
 * browsers never attach by themselves) is trusted. null = passes.
 */
export function checkOrigin(origin: string | null, hosts: string[], bearer: boolean): string | null {
  if (origin === null || origin === '') return bearer ? null : 'refused: a POST without an Origin header needs Authorization: Bearer';
  let host: string;
  try {
    host = new URL(origin).host.toLowerCase();
  } catch {
    return `refused: malformed Origin ${JSON.stringify(origin)}`;
  }
  return hosts.includes(host) ? null : `refused: cross-site request (Origin ${origin} is not this page's host)`;
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const name = part.slice(0, at).trim();
    try {
      cookies.set(name, decodeURIComponent(part.slice(at + 1).trim()));
    } catch {
      // a cookie that is not ours may be encoded otherwise
    }
  }
  return cookies;
}

/** No Path: the browser scopes it to the page's folder, whatever prefix a proxy put in front of it. */
export function tokenCookie(token: string): string {
  return `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict`;
}

export function clearedTokenCookie(): string {
  return `${TOKEN_COOKIE}=; HttpOnly; SameSite=Strict; Max-Age=0`;
}

export interface FailureLimit {
  lastRecordedMs: number | null;
  /** Failures since the last recorded event. */
  suppressed: number;
}

export const NO_FAILURES: FailureLimit = { lastRecordedMs: null, suppressed: 0 };

/** Whether this failure is recorded as an event, and how many failures that event stands for (those held back since the last one, and this one). */
export function noteAuthFailure(limit: FailureLimit, nowMs: number, intervalMs = AUTH_EVENT_INTERVAL_MS): { record: boolean; count: number; limit: FailureLimit } {
  if (limit.lastRecordedMs === null || nowMs - limit.lastRecordedMs >= intervalMs) {
    return { record: true, count: limit.suppressed + 1, limit: { lastRecordedMs: nowMs, suppressed: 0 } };
  }
  return { record: false, count: 0, limit: { ...limit, suppressed: limit.suppressed + 1 } };
}

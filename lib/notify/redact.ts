/** Hiding the notify config's secrets (webhook URL tokens, HMAC secrets, header values) from every output. */
import type { NotifyConfig, WebhookConfig } from '../core/types.ts';

export const MASK = '***';

/** Hosts whose webhook URLs carry the secret in the path (Slack, Discord, Teams, ntfy topics): the whole path is hidden. */
const SECRET_PATH_HOSTS = [/(^|\.)hooks\.slack\.com$/, /(^|\.)discord(app)?\.com$/, /(^|\.)webhook\.office\.com$/, /(^|\.)ntfy\.sh$/];

/** Path segments shown as-is elsewhere: route words (`api`, `hooks`, `notify-v2`…) and versions. Anything else may be a token. */
const PLAIN_SEGMENT = /^(?:[a-z]{1,16}(?:[-_][a-z0-9]{1,8}){0,2}|v\d{1,2})$/;

/** Shorter values are not scrubbed from free text: replacing every "1" or "ab" would garble messages without hiding anything real. */
const MIN_SCRUBBED_LENGTH = 4;

/** Scheme and host stay; user info, query, fragment and token-like path segments become `***`. Unparseable → `***`. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return MASK;
  }
  const userInfo = parsed.username || parsed.password ? `${MASK}@` : '';
  const path = hasSecretPath(parsed) ? `/${MASK}` : parsed.pathname.split('/').map((segment) => (isPlainSegment(segment) ? segment : MASK)).join('/');
  const query = parsed.search ? `?${MASK}` : '';
  const fragment = parsed.hash ? `#${MASK}` : '';
  return `${parsed.protocol}//${userInfo}${parsed.host}${path}${query}${fragment}`;
}

/** The `notify` section as `config` output shows it. */
export function redactNotifyConfig(config: NotifyConfig): unknown {
  const secrets = collectSecrets(config);
  return {
    webhooks: config.webhooks.map((hook) => ({
      ...hook,
      url: redactUrl(hook.url),
      secret: hook.secret === null ? null : MASK,
      headers: Object.fromEntries(Object.keys(hook.headers).map((name) => [name, MASK])),
    })),
    // The command is not a secret itself, but a user may have pasted a webhook URL or token into it.
    command: config.command === null ? null : redactSecrets(config.commandShown ?? config.command, secrets),
  };
}

/** Every secret string of the config, for `redactSecrets` over error messages and log lines. */
export function collectSecrets(config: NotifyConfig): string[] {
  const secrets = config.webhooks.flatMap(webhookSecrets);
  for (const server of config.nats?.servers ?? []) secrets.push(...urlSecrets(server));
  const credentials = config.nats?.credentials;
  if (credentials?.kind === 'user') secrets.push(credentials.password);
  if (credentials?.kind === 'token') secrets.push(credentials.token);
  return [...new Set(secrets)].filter((secret) => secret.length >= MIN_SCRUBBED_LENGTH);
}

/** Replaces each secret (raw and URL-encoded) with `***`, longest first so a secret containing another one goes whole. */
export function redactSecrets(text: string, secrets: string[]): string {
  const variants = secrets.flatMap((secret) => [secret, encodeURIComponent(secret)]).filter((secret) => secret.length >= MIN_SCRUBBED_LENGTH);
  let result = text;
  for (const secret of [...new Set(variants)].sort((a, b) => b.length - a.length)) result = result.replaceAll(secret, MASK);
  return result;
}

function webhookSecrets(hook: WebhookConfig): string[] {
  const secrets = [hook.url, ...urlSecrets(hook.url)];
  if (hook.secret !== null) secrets.push(hook.secret);
  for (const value of Object.values(hook.headers)) {
    secrets.push(value);
    // "Bearer <token>": the token may show up alone.
    const lastWord = value.trim().split(/\s+/).at(-1);
    if (lastWord !== undefined && lastWord !== value) secrets.push(lastWord);
  }
  return secrets;
}

function urlSecrets(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const secrets = [parsed.username, parsed.password, decodeSafely(parsed.password)];
  if (parsed.search) secrets.push(parsed.search.slice(1));
  for (const value of parsed.searchParams.values()) secrets.push(value);
  if (parsed.hash) secrets.push(parsed.hash.slice(1));
  const segments = parsed.pathname.split('/').filter((segment) => segment !== '');
  if (hasSecretPath(parsed)) secrets.push(parsed.pathname);
  for (const segment of segments) {
    if (hasSecretPath(parsed) || !isPlainSegment(segment)) secrets.push(segment, decodeSafely(segment));
  }
  return secrets.filter((secret) => secret !== '');
}

function hasSecretPath(url: URL): boolean {
  return url.pathname !== '/' && url.pathname !== '' && SECRET_PATH_HOSTS.some((host) => host.test(url.hostname));
}

function isPlainSegment(segment: string): boolean {
  return segment === '' || PLAIN_SEGMENT.test(segment);
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Secrets that are not in the config but show up in output (a log tail, a hook's stderr): Authorization headers,
 * `Bearer` tokens, `token=`/`password:`-style assignments, user info in URLs, and well-known token shapes.
 */
const TOKEN_PATTERNS: Array<[RegExp, string]> = [
  [/\b(authorization|proxy-authorization)(["']?\s*[:=]\s*["']?)(?:(basic|bearer|token|digest)\s+)?[^\s"',;]+/gi, `$1$2$3${MASK}`],
  [/\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${MASK}`],
  [/\b([A-Za-z0-9_-]*(?:token|secret|passw(?:or)?d|api[_-]?key|access[_-]?key|private[_-]?key|auth)[A-Za-z0-9_-]*)(["']?\s*[:=]\s*["']?)(?![*]{3})[^\s"'&,;]+/gi, `$1$2${MASK}`],
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, `$1${MASK}@`],
  [/\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abpors]-[A-Za-z0-9-]{10,}|sk-[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|glpat-[A-Za-z0-9_-]{20,})\b/g, MASK],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, MASK],
];

/** Token and Authorization patterns only (no config secrets). */
export function redactTokens(text: string): string {
  let result = text;
  for (const [pattern, replacement] of TOKEN_PATTERNS) result = result.replace(pattern, replacement);
  return result;
}

/** Everything a notification may carry in free text: the config's secrets, then token patterns. */
export function redactText(text: string, secrets: string[]): string {
  return redactTokens(redactSecrets(text, secrets));
}

/** Fields that name things rather than carry output: never rewritten. */
const STRUCTURAL_FIELDS = new Set(['time', 'event', 'service', 'host', 'services']);

/** A copy of a notification payload with every free-text string (log_tail lines, hook output, reasons) redacted. */
export function redactPayload<T extends object>(payload: T, secrets: string[]): T {
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return redactText(value, secrets);
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item)]));
    return value;
  };
  return Object.fromEntries(Object.entries(payload).map(([key, value]) => [key, STRUCTURAL_FIELDS.has(key) ? value : walk(value)])) as T;
}

/** health: of one service, as written → HealthConfig: one probe kind, defaults, cross-field checks. Pure. */
import type { RawHealth } from '../config/schema.ts';
import type { HealthConfig, HealthProbe } from '../core/types.ts';

export const HEALTH_DEFAULTS = {
  intervalMs: 30_000,
  timeoutMs: 5_000,
  failures: 3,
  startPeriodMs: 0,
  expectStatus: [[200, 399]] as [number, number][],
  resourcesIntervalMs: 10_000,
} as const;

/** Shorter intervals would make the supervisor busy for nothing. */
export const MIN_HEALTH_INTERVAL_MS = 100;

/** Reports one problem at a key under `health` (e.g. `http`), with the expectation. */
export type HealthProblem = (field: string, message: string) => void;

export function normaliseHealth(raw: RawHealth | undefined, problem: HealthProblem): HealthConfig | null {
  if (!raw) return null;
  const kinds = (['http', 'tcp', 'command'] as const).filter((kind) => raw[kind] !== undefined);
  if (kinds.length > 1) problem(kinds[1]!, `expected one probe kind, got ${kinds.join(' and ')}`);
  if (kinds.length === 0 && raw.output_silence === undefined) problem('', 'expected one of http:, tcp:, command: or output_silence:');
  if (raw.expect_status !== undefined && kinds[0] !== 'http') problem('expect_status', 'expect_status applies to http probes only');
  const interval = raw.interval ?? HEALTH_DEFAULTS.intervalMs;
  if (interval < MIN_HEALTH_INTERVAL_MS) problem('interval', `expected at least ${MIN_HEALTH_INTERVAL_MS}ms`);
  if (raw.timeout !== undefined && raw.timeout <= 0) problem('timeout', 'expected a duration > 0');
  if (raw.output_silence !== undefined && raw.output_silence <= 0) problem('output_silence', 'expected a duration > 0');
  return {
    probe: buildProbe(raw, kinds[0], problem),
    intervalMs: interval,
    timeoutMs: raw.timeout ?? HEALTH_DEFAULTS.timeoutMs,
    failures: raw.failures ?? HEALTH_DEFAULTS.failures,
    startPeriodMs: raw.start_period ?? HEALTH_DEFAULTS.startPeriodMs,
    outputSilenceMs: raw.output_silence ?? null,
    onUnhealthy: raw.on_unhealthy ?? 'restart',
  };
}

function buildProbe(raw: RawHealth, kind: 'http' | 'tcp' | 'command' | undefined, problem: HealthProblem): HealthProbe | null {
  if (kind === 'http') {
    const url = raw.http!;
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('scheme');
    } catch {
      problem('http', `expected an http:// or https:// URL, got ${JSON.stringify(url)}`);
    }
    const expectStatus = raw.expect_status === undefined ? [...HEALTH_DEFAULTS.expectStatus] : parseExpectStatus(raw.expect_status);
    if (expectStatus === null) problem('expect_status', `expected a status code, a range such as 200-399, or a list, got ${JSON.stringify(raw.expect_status)}`);
    return { kind: 'http', url, expectStatus: expectStatus ?? [] };
  }
  if (kind === 'tcp') {
    const address = parseHostPort(raw.tcp!);
    if (!address) problem('tcp', `expected host:port with a port 1–65535, got ${JSON.stringify(raw.tcp)}`);
    return { kind: 'tcp', host: address?.host ?? '', port: address?.port ?? 0 };
  }
  if (kind === 'command') return { kind: 'command', command: raw.command! };
  return null;
}

/** `200`, `"200-399"`, `[200, "300-302"]` → inclusive ranges; null when any item is not a status code 100–599. */
export function parseExpectStatus(value: unknown): [number, number][] | null {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) return null;
  const ranges: [number, number][] = [];
  for (const item of items) {
    const match = String(item).trim().match(/^(\d{3})(?:\s*-\s*(\d{3}))?$/);
    if (!match) return null;
    const low = Number(match[1]);
    const high = Number(match[2] ?? match[1]);
    if (low < 100 || high > 599 || low > high) return null;
    ranges.push([low, high]);
  }
  return ranges;
}

/** `127.0.0.1:8188`, `localhost:80`, `[::1]:8188`. */
export function parseHostPort(text: string): { host: string; port: number } | null {
  const match = text.trim().match(/^(\[[^\]]+\]|[^\s:]+):(\d{1,5})$/);
  if (!match) return null;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return null;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

export function statusAccepted(code: number, ranges: [number, number][]): boolean {
  return ranges.some(([low, high]) => code >= low && code <= high);
}

export function describeRanges(ranges: [number, number][]): string {
  return ranges.map(([low, high]) => (low === high ? String(low) : `${low}-${high}`)).join(', ');
}

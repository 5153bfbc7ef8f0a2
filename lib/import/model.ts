/** What an importer produces, before it becomes YAML: services with their settings, notes and warnings. */
import { SupervisorError } from '../core/errors.ts';

export const IMPORT_FORMATS = ['pm2', 'supervisord', 'procfile'] as const;
export type ImportFormat = typeof IMPORT_FORMATS[number];

/** One service of the result. `settings` keep their insertion order, which is the order they are written in. */
export interface ImportedService {
  name: string;
  settings: Map<string, unknown>;
  /** Comment lines written above the service (settings without an equivalent, notes). */
  notes: string[];
  /** A comment written beside one setting (what differs in meaning). */
  keyNotes: Map<string, string>;
}

export interface ImportResult {
  /** Top-level settings other than services (schedule, logs). */
  top: Map<string, unknown>;
  topNotes: Map<string, string>;
  services: ImportedService[];
  /** Comment lines at the top of the file: what has no service to sit beside (a supervisord [group:x]). */
  fileNotes: string[];
  /** One line each, printed on stderr. */
  warnings: string[];
}

/** The file cannot be read as that format: exit 2, with file:line where there is one. */
export class ImportError extends SupervisorError {
  constructor(message: string) {
    super('import.invalid', message, 2);
    this.name = 'ImportError';
  }
}

export function newService(name: string): ImportedService {
  return { name, settings: new Map(), notes: [], keyNotes: new Map() };
}

export function emptyResult(): ImportResult {
  return { top: new Map(), topNotes: new Map(), services: [], fileNotes: [], warnings: [] };
}

/**
 * A setting with no equivalent: a comment beside the service and one warning line.
 * `label` is how the source tool names it (`pm2 watch_delay`).
 */
export function unmapped(result: ImportResult, service: ImportedService, label: string, value: unknown, why = 'has no equivalent'): void {
  const text = `${label}: ${formatValue(value)} ${why}`;
  service.notes.push(text);
  result.warnings.push(`${service.name}: ${text}`);
}

export function formatValue(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? String(value);
}

const SERVICE_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** A name our schema accepts: lower case, other characters become `-`. Unique among `taken`. */
export function serviceName(wanted: string, taken: Set<string>): string {
  let name = wanted.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[-_]+/, '').replace(/-+$/, '');
  if (!SERVICE_NAME.test(name)) name = `service${name ? `-${name}` : ''}`;
  let unique = name;
  for (let i = 2; taken.has(unique); i++) unique = `${name}-${i}`;
  taken.add(unique);
  return unique;
}

/** ms → the shortest duration text we accept: 1500 → "1500ms", 60000 → "1m". */
export function durationText(ms: number): string | number {
  if (ms % 1000 !== 0) return `${ms}ms`;
  const seconds = ms / 1000;
  if (seconds % 3600 === 0 && seconds >= 3600) return `${seconds / 3600}h`;
  if (seconds % 60 === 0 && seconds >= 60) return `${seconds / 60}m`;
  return seconds;
}

/** "300M", "1G", "512K", 1048576 → our size text ("300MB"), or undefined when unreadable. */
export function sizeText(value: unknown): string | number | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value !== 'string') return undefined;
  const match = value.trim().match(/^(\d+(?:\.\d+)?)\s*([kmg])?b?$/i);
  if (!match) return undefined;
  return match[2] ? `${match[1]}${match[2].toUpperCase()}B` : Number(match[1]);
}

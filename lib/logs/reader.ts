/** Reading logs for `logs` and `events`: last lines across rotated and gzipped files, and following like `tail -F`. */
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { logFiles, splitLines } from './files.ts';
import { follow, type FollowControl, type Pinned } from './follow.ts';
import { formatRestartLogEntry } from './restart-log.ts';
import type { EventRecord } from '../core/types.ts';

export { logFiles } from './files.ts';

const BLOCK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;
const EMPTY = Buffer.alloc(0);
const LOCAL_STAMP = /^\[(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\]/;
const ISO_STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)/;

/** Epoch ms at the start of a line: `[YYYY-MM-DD HH:MM:SS]` (restart.log, local time) or an ISO time (log_timestamps). */
export function parseLineTime(line: string): number | null {
  const local = LOCAL_STAMP.exec(line);
  if (local) {
    const [year, month, day, hours, minutes, seconds] = local.slice(1).map(Number) as [number, number, number, number, number, number];
    return new Date(year, month - 1, day, hours, minutes, seconds).getTime();
  }
  const iso = ISO_STAMP.exec(line);
  return iso ? Date.parse(iso[0]) : null;
}

export interface ReadOptions {
  /** Only lines at or after this epoch ms. Lines without a time are kept, but whole files last modified before it are skipped. */
  sinceMs?: number;
  parseTime?: (line: string) => number | null;
}

/** The last `n` lines (oldest first), reaching back into rotated and gzipped files as far as needed. */
export async function readLastLines(file: string, n: number, options: ReadOptions = {}): Promise<string[]> {
  return collectLines(file, n, options);
}

function collectLines(file: string, n: number, options: ReadOptions, pinned?: Pinned): Promise<string[]> {
  const parseTime = options.parseTime ?? parseLineTime;
  return collectNewest(file, n, options.sinceMs, (line) => ({ time: parseTime(line), item: line }), pinned);
}

/** Scans newest first until `limit` items are kept or a line older than `sinceMs` is met. Returns oldest first. */
async function collectNewest<T>(
  file: string, limit: number, sinceMs: number | undefined,
  scan: (line: string) => { time: number | null; item?: T }, pinned?: Pinned,
): Promise<T[]> {
  const items: T[] = [];
  if (limit <= 0) return items;
  for await (const line of allLinesNewestFirst(file, sinceMs, pinned)) {
    const { time, item } = scan(line);
    if (sinceMs !== undefined && time !== null && time < sinceMs) break;
    if (item === undefined) continue;
    items.push(item);
    if (items.length >= limit) break;
  }
  return items.reverse();
}

async function* allLinesNewestFirst(file: string, sinceMs: number | undefined, pinned?: Pinned): AsyncGenerator<string> {
  for (const path of logFiles(file).reverse()) {
    const usePinned = pinned !== undefined && path === file;
    if (sinceMs !== undefined) {
      // Lines without their own time (service logs without log_timestamps) are judged by their file's mtime.
      const mtime = usePinned ? (await pinned.handle.stat()).mtimeMs : (await stat(path).catch(() => null))?.mtimeMs;
      if (mtime !== undefined && mtime < sinceMs) return;
    }
    yield* linesNewestFirst(path, usePinned ? pinned : undefined);
  }
}

/** Plain files are read backwards in blocks (a never-rotated log may be huge); gzipped ones whole (at most max_size). */
async function* linesNewestFirst(path: string, pinned?: Pinned): AsyncGenerator<string> {
  if (path.endsWith('.gz')) {
    yield* (await readAllLines(path)).reverse();
    return;
  }
  const handle = pinned?.handle ?? (await open(path, 'r').catch(() => null));
  if (!handle) {
    // Compressed since we listed it.
    yield* (await readAllLines(`${path}.gz`)).reverse();
    return;
  }
  try {
    let position = pinned?.end ?? (await handle.stat()).size;
    let pending = EMPTY;
    let first = true;
    while (position > 0) {
      const size = Math.min(BLOCK_BYTES, position);
      position -= size;
      const block = Buffer.allocUnsafe(size);
      await readExactly(handle, block, position);
      pending = pending.length > 0 ? Buffer.concat([block, pending]) : block;
      if (first && pending[pending.length - 1] === NEWLINE) pending = pending.subarray(0, -1);
      first = false;
      for (let at = pending.lastIndexOf(NEWLINE); at >= 0; at = pending.lastIndexOf(NEWLINE)) {
        yield pending.toString('utf8', at + 1);
        pending = pending.subarray(0, at);
      }
    }
    if (!first) yield pending.toString('utf8');
  } finally {
    if (!pinned) await handle.close().catch(() => {});
  }
}

async function readExactly(handle: FileHandle, buffer: Buffer, position: number): Promise<void> {
  for (let done = 0; done < buffer.length;) {
    const { bytesRead } = await handle.read(buffer, done, buffer.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file while reading backwards at ${position + done}`);
    done += bytesRead;
  }
}

async function readAllLines(path: string): Promise<string[]> {
  const raw = await readFile(path).catch(() => null);
  return raw ? splitLines(raw, path.endsWith('.gz')) : [];
}

export interface FollowOptions extends ReadOptions, FollowControl {
  /** Lines already in the log to emit first (`-n`): read up to where following starts, so none is missed or doubled. */
  backlog?: number;
}

/**
 * Emits lines appended to `file` until `signal` aborts, like `tail -F` (polling every `pollMs`). On rotation (another
 * inode at the path) it finishes the old file through its still-open fd, reads any rotated file it skipped entirely
 * (several rotations within one poll), then reads the new file from its start: no line missed or doubled. The one gap
 * left: several rotations within one poll *and* the followed file already gzipped (its inode is gone, so the files
 * after it cannot be placed). A file that shrinks was truncated in place: reading restarts at 0.
 */
export function followLog(file: string, onLines: (lines: string[]) => void, options: FollowOptions = {}): Promise<void> {
  return follow(file, onLines, options, async (pinned) => {
    const lines = await collectLines(file, options.backlog ?? 0, options, pinned);
    if (lines.length > 0) onLines(lines);
  });
}

export interface ServiceLog { name: string; file: string }

/** `name | line` when several services are shown, the bare line for one. */
export function serviceLinePrefixer(services: ServiceLog[]): (name: string, line: string) => string {
  if (services.length <= 1) return (_name, line) => line;
  const width = Math.max(...services.map((service) => service.name.length));
  return (name, line) => `${name.padEnd(width)} | ${line}`;
}

/**
 * The last `n` lines of several services, merged by time. Lines with a timestamp (log_timestamps) sort by it; a line
 * without one takes the time of the nearest timed line before it in the same log (or after it, at the start). A log with
 * no timed line at all is placed as one block at its file's mtime: best effort, since the time each line was written is
 * not recorded.
 */
export async function interleaveServiceLogs(services: ServiceLog[], n: number, options: ReadOptions = {}): Promise<string[]> {
  const prefix = serviceLinePrefixer(services);
  const parseTime = options.parseTime ?? parseLineTime;
  const perService = await Promise.all(services.map(async (service) => ({
    service,
    lines: await readLastLines(service.file, n, options),
    mtime: (await stat(service.file).catch(() => null))?.mtimeMs ?? 0,
  })));
  perService.sort((a, b) => a.mtime - b.mtime);
  const keyed = perService.flatMap(({ service, lines, mtime }) => {
    const times = lines.map(parseTime);
    let known = times.find((time) => time !== null) ?? mtime;
    return lines.map((line, index) => {
      known = times[index] ?? known;
      return { key: known, text: prefix(service.name, line) };
    });
  });
  keyed.sort((a, b) => a.key - b.key); // stable: ties keep service and file order
  return keyed.slice(Math.max(0, keyed.length - n)).map((entry) => entry.text);
}

/** Follows several service logs at once, each line prefixed with its service when there are several. */
export async function followServiceLogs(services: ServiceLog[], onLines: (lines: string[]) => void, options: FollowOptions = {}): Promise<void> {
  const prefix = serviceLinePrefixer(services);
  let ready = 0;
  const onReady = (): void => { if (++ready === services.length) options.onReady?.(); };
  await Promise.all(services.map((service) => followLog(service.file, (lines) => onLines(lines.map((line) => prefix(service.name, line))), { ...options, backlog: 0, onReady })));
}

export interface EventFilters {
  /** Last N matching events. @default Infinity */
  n?: number;
  sinceMs?: number;
  service?: string;
  /** One type or several. */
  type?: string | string[];
}

/** Events from events.jsonl and its rotated files, oldest first. Lines that are not JSON events are skipped. */
export function readEvents(file: string, filters: EventFilters = {}): Promise<EventRecord[]> {
  return collectEvents(file, filters);
}

function collectEvents(file: string, filters: EventFilters, pinned?: Pinned): Promise<EventRecord[]> {
  const matches = eventMatcher(filters);
  return collectNewest(file, filters.n ?? Infinity, filters.sinceMs, (line) => {
    const event = parseEvent(line);
    if (!event) return { time: null };
    return { time: Date.parse(event.time), item: matches(event) ? event : undefined };
  }, pinned);
}

/** Follows events.jsonl; `filters.n` (if set) is the backlog of matching events emitted first. */
export function followEvents(
  file: string, onEvents: (events: EventRecord[]) => void,
  options: { filters?: EventFilters; pollMs?: number; signal?: AbortSignal; onReady?: () => void } = {},
): Promise<void> {
  const filters = options.filters ?? {};
  const matches = eventMatcher(filters);
  const onLines = (lines: string[]): void => {
    const events = lines.map(parseEvent).filter((event): event is EventRecord => event !== null && matches(event));
    if (events.length > 0) onEvents(events);
  };
  return follow(file, onLines, options, async (pinned) => {
    const events = await collectEvents(file, { ...filters, n: filters.n ?? 0 }, pinned);
    if (events.length > 0) onEvents(events);
  });
}

/** What `events` prints for one event: the restart.log lines, or the raw JSON line with --json. */
export function formatEventOutput(event: EventRecord, options: { json: boolean }): string {
  return options.json ? `${JSON.stringify(event)}\n` : formatRestartLogEntry(event);
}

function eventMatcher(filters: EventFilters): (event: EventRecord) => boolean {
  const types = filters.type === undefined ? null : new Set([filters.type].flat());
  return (event) => (filters.service === undefined || event.service === filters.service) && (types === null || types.has(event.event));
}

function parseEvent(line: string): EventRecord | null {
  try {
    const value: unknown = JSON.parse(line);
    if (value && typeof value === 'object' && typeof (value as EventRecord).event === 'string' && typeof (value as EventRecord).time === 'string') return value as EventRecord;
  } catch {
    // A torn or foreign line: skip it.
  }
  return null;
}

/** A service's stdout and stderr, read through pipes, into one log file: whole lines, in order of arrival, with backpressure. */
import type { Readable } from 'node:stream';

/**
 * Prefix of every stderr line in `<service>.log` (after the timestamp when `log_timestamps` is on).
 * Find them with `grep -F '[stderr] ' comfyui.log`; stdout lines are written exactly as the service wrote them.
 */
export const STDERR_TAG = '[stderr] ';

/** What capture needs from a sink: RotatingLog fits. */
export interface LineSink {
  write(lines: Buffer, callback?: () => void): boolean;
  on(event: 'drain', listener: () => void): unknown;
  off(event: 'drain', listener: () => void): unknown;
}

export type StreamName = 'stdout' | 'stderr';

export interface CaptureOptions {
  stdout: Readable | null;
  stderr: Readable | null;
  log: LineSink;
  /** Prefix each line with the ISO time it arrived (`log_timestamps: true`). */
  timestamps: boolean;
  /** Each line without its newline, tag or timestamp (e.g. to keep a LineRing for notifications). */
  onLine?: (line: string, stream: StreamName) => void;
  /** A line still without a newline after this many bytes is written as if it had one (bounds memory). @default 8 MiB */
  maxLineBytes?: number;
  now?: () => Date;
}

const NEWLINE = 0x0a;
const NEWLINE_BUFFER = Buffer.from('\n');
const DEFAULT_MAX_LINE_BYTES = 8 << 20;

interface CaptureContext {
  log: LineSink;
  timestamps: boolean;
  onLine: CaptureOptions['onLine'];
  maxLineBytes: number;
  now: () => Date;
  paused: Set<Readable>;
}

/**
 * Starts reading both streams. A source is paused while the sink is over its high-water mark (the service then blocks
 * on its own write) and resumed on 'drain'. `done` resolves when both streams have ended and every line, including a
 * final line without a newline (written with one added), has been handed to the sink; `log.flush()` puts it on disk.
 * `stop()` ends the capture now (e.g. the service exited but an escaped grandchild still holds the pipes): it writes
 * any held partial line, destroys both streams and resolves `done`.
 */
export function captureOutput(options: CaptureOptions): { done: Promise<void>; stop: () => void } {
  const context: CaptureContext = {
    log: options.log,
    timestamps: options.timestamps,
    onLine: options.onLine,
    maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
    now: options.now ?? (() => new Date()),
    paused: new Set(),
  };
  const onDrain = (): void => {
    for (const stream of context.paused) stream.resume();
    context.paused.clear();
  };
  context.log.on('drain', onDrain);
  const sources = ([[options.stdout, 'stdout'], [options.stderr, 'stderr']] as const)
    .filter((source): source is readonly [Readable, StreamName] => source[0] !== null);
  const captures = sources.map(([stream, name]) => ({ stream, ...captureStream(stream, name, context) }));
  const done = Promise.all(captures.map((capture) => capture.done)).then(() => { context.log.off('drain', onDrain); });
  const stop = (): void => {
    for (const capture of captures) {
      capture.end();
      capture.stream.destroy();
    }
  };
  return { done, stop };
}

function captureStream(stream: Readable, name: StreamName, context: CaptureContext): { done: Promise<void>; end: () => void } {
  let partial: Buffer | null = null;
  let ended = false;
  const emit = (complete: Buffer): void => {
    if (context.onLine) reportLines(complete, name, context.onLine);
    if (!context.log.write(formatLines(complete, name, context))) {
      stream.pause();
      context.paused.add(stream);
    }
  };
  const onData = (data: Buffer | string): void => {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    const lastNewline = chunk.lastIndexOf(NEWLINE);
    if (lastNewline < 0) {
      partial = partial ? Buffer.concat([partial, chunk]) : chunk;
      if (partial.length >= context.maxLineBytes) { emit(Buffer.concat([partial, NEWLINE_BUFFER])); partial = null; }
      return;
    }
    const head = chunk.subarray(0, lastNewline + 1);
    const complete = partial ? Buffer.concat([partial, head]) : head;
    partial = lastNewline + 1 < chunk.length ? chunk.subarray(lastNewline + 1) : null;
    emit(complete);
  };
  stream.on('data', onData);
  let resolve!: () => void;
  const done = new Promise<void>((settle) => { resolve = settle; });
  const end = (): void => {
    if (ended) return;
    ended = true;
    stream.off('data', onData);
    if (partial) emit(Buffer.concat([partial, NEWLINE_BUFFER]));
    partial = null;
    context.paused.delete(stream);
    resolve();
  };
  stream.once('end', end);
  stream.once('close', end);
  // A broken pipe ends the capture; the exit of the service is reported elsewhere.
  stream.on('error', end);
  return { done, end };
}

/** stdout without timestamps passes through untouched; otherwise each line gets its prefix. */
function formatLines(complete: Buffer, name: StreamName, context: CaptureContext): Buffer {
  if (name === 'stdout' && !context.timestamps) return complete;
  const prefix = `${context.timestamps ? `${context.now().toISOString()} ` : ''}${name === 'stderr' ? STDERR_TAG : ''}`;
  // latin1 maps bytes to chars one to one, so any bytes (even invalid UTF-8) survive the round trip.
  const body = complete.toString('latin1', 0, complete.length - 1);
  return Buffer.from(`${prefix}${body.replaceAll('\n', `\n${prefix}`)}\n`, 'latin1');
}

function reportLines(complete: Buffer, name: StreamName, onLine: NonNullable<CaptureOptions['onLine']>): void {
  for (const line of complete.toString('utf8', 0, complete.length - 1).split('\n')) onLine(line, name);
}

/** The last `size` lines seen, oldest first: the output tail a crash notification shows. */
export class LineRing {
  private readonly buffer: string[] = [];
  private next = 0;

  constructor(readonly size = 20) {}

  push(line: string): void {
    if (this.size <= 0) return;
    if (this.buffer.length < this.size) this.buffer.push(line);
    else this.buffer[this.next] = line;
    this.next = (this.next + 1) % this.size;
  }

  lines(): string[] {
    if (this.buffer.length < this.size) return [...this.buffer];
    return [...this.buffer.slice(this.next), ...this.buffer.slice(0, this.next)];
  }
}

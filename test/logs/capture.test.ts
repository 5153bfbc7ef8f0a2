import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { PassThrough, type Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { captureOutput, LineRing, STDERR_TAG, type LineSink } from '../../lib/logs/capture.ts';
import { logFiles } from '../../lib/logs/reader.ts';
import { RotatingLog } from '../../lib/logs/rotating-log.ts';
import { makeTempDir, waitFor } from '../helpers.ts';

const WRITER = fileURLToPath(new URL('../fixtures/numbered-lines.mjs', import.meta.url));
const LINE = /^line (\d{8}) x+$/;
const temp = makeTempDir('rc-capture-');
const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
  temp.remove();
});
const freshDir = temp.fresh;

function startWriter(count: number, ...flags: string[]): ChildProcess & { stdout: Readable; stderr: Readable } {
  const child = spawn(process.execPath, [WRITER, String(count), ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child as ChildProcess & { stdout: Readable; stderr: Readable };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Reads every retained file (oldest first) and checks the numbers: each exactly once, in order, no torn line. */
function checkNumberedFiles(file: string, count: number, maxSize: number): { files: number } {
  const files = logFiles(file);
  const numbers: number[] = [];
  for (const path of files) {
    const raw = readFileSync(path);
    if (!path.endsWith('.gz')) assert.ok(statSync(path).size <= maxSize + 20, `${path}: ${statSync(path).size} bytes > max_size + one line`);
    const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    assert.ok(text.endsWith('\n'), `${path} ends with a whole line`);
    for (const line of text.slice(0, -1).split('\n')) {
      const match = LINE.exec(line);
      assert.ok(match, `torn or foreign line in ${path}: ${JSON.stringify(line)}`);
      numbers.push(Number(match[1]));
    }
  }
  assert.equal(numbers.length, count, 'line count');
  for (let i = 0; i < numbers.length; i++) if (numbers[i] !== i + 1) assert.fail(`position ${i}: expected ${i + 1}, got ${numbers[i]}`);
  return { files: files.length };
}

describe('capture into a rotating log', () => {
  test('200,000 lines from a real child, >= 20 rotations: every number once, in order, no split line, no file too big', async () => {
    const file = join(freshDir(), 'svc.log');
    const maxSize = 128 * 1024;
    const log = new RotatingLog({ file, maxSizeBytes: maxSize, keep: 1000, compress: false });
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const child = startWriter(200_000);
    const { done } = captureOutput({ stdout: child.stdout, stderr: child.stderr, log, timestamps: false });
    assert.equal(await exited(child), 0);
    await done;
    await log.close();
    lag.disable();
    const { files } = checkNumberedFiles(file, 200_000, maxSize);
    assert.ok(files >= 21, `${files} files`);
    // The supervisor's loop stays responsive while 4 MB go through it (generous: 2 cores shared with other tests).
    assert.ok(lag.max / 1e6 < 1000, `event loop blocked for ${lag.max / 1e6} ms`);
  });

  test('the same with compress: rotated files are gzipped and still hold every line once', async () => {
    const file = join(freshDir(), 'svc.log');
    const maxSize = 16 * 1024;
    const log = new RotatingLog({ file, maxSizeBytes: maxSize, keep: 1000, compress: true });
    const child = startWriter(30_000);
    const { done } = captureOutput({ stdout: child.stdout, stderr: child.stderr, log, timestamps: false });
    await done;
    await log.close();
    const { files } = checkNumberedFiles(file, 30_000, maxSize);
    assert.ok(files >= 21);
    assert.ok(logFiles(file).slice(0, -1).every((path) => path.endsWith('.gz')));
  });

  test('stderr lines are tagged, timestamps prefix every line, a partial last line gets its newline', async () => {
    const file = join(freshDir(), 'svc.log');
    const log = new RotatingLog({ file, maxSizeBytes: 0, keep: 1, compress: false });
    const ring = new LineRing(5);
    const seen: string[] = [];
    const child = startWriter(999, '--stderr-every', '10', '--no-final-newline'); // line 999 (stdout) has no newline
    const { done } = captureOutput({
      stdout: child.stdout, stderr: child.stderr, log, timestamps: true,
      onLine: (line) => { seen.push(line); ring.push(line); },
    });
    await done;
    await log.close();
    const lines = readFileSync(file, 'utf8').split('\n');
    assert.equal(lines.pop(), '', 'file ends with a newline');
    assert.equal(lines.length, 999);
    const stamp = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (.*)$/;
    const stdout: number[] = [];
    const stderr: number[] = [];
    for (const line of lines) {
      const [, time, rest] = stamp.exec(line) ?? assert.fail(`no timestamp: ${line}`);
      assert.ok(Math.abs(Date.parse(time!) - Date.now()) < 60_000);
      if (rest!.startsWith(STDERR_TAG)) stderr.push(Number(rest!.slice(STDERR_TAG.length).split(' ')[1]));
      else stdout.push(Number(rest!.split(' ')[1]));
    }
    assert.deepEqual(stderr, Array.from({ length: 99 }, (_, i) => (i + 1) * 10));
    assert.deepEqual(stdout, Array.from({ length: 999 }, (_, i) => i + 1).filter((n) => n % 10 !== 0));
    assert.ok(lines.some((line) => line.endsWith(' line 00000999 xxxxx')), 'the partial last line is written whole');
    assert.equal(seen.length, 999);
    assert.deepEqual(ring.lines(), seen.slice(-5));
  });
});

/** A sink that takes 2 ms per chunk and pushes back past `highWaterMark` bytes. */
class SlowSink extends EventEmitter implements LineSink {
  readonly chunks: Buffer[] = [];
  pending = 0;
  maxPending = 0;
  refusals = 0;
  constructor(private readonly highWaterMark: number) { super(); }
  write(lines: Buffer): boolean {
    this.pending += lines.length;
    this.maxPending = Math.max(this.maxPending, this.pending);
    setTimeout(() => {
      this.chunks.push(lines);
      this.pending -= lines.length;
      if (this.pending === 0) this.emit('drain');
    }, 2);
    if (this.pending < this.highWaterMark) return true;
    this.refusals++;
    return false;
  }
}

describe('backpressure', () => {
  test('a slow sink pauses the source (the child blocks on its own write) and loses nothing', async () => {
    const sink = new SlowSink(4096);
    const child = startWriter(50_000); // 1 MB: far more than the pipe holds
    const { done } = captureOutput({ stdout: child.stdout, stderr: child.stderr, log: sink, timestamps: false });
    let sawPaused = false;
    const probe = setInterval(() => { sawPaused ||= child.stdout.isPaused(); }, 1);
    await done;
    clearInterval(probe);
    assert.ok(sink.refusals > 0 && sawPaused, 'the source was paused');
    // Memory stays bounded: what is buffered never passes the mark by more than the stream's read-ahead (at most two
    // 64 KB reads: one being handled, one the readable already held). Unbounded growth would reach the whole 1 MB.
    assert.ok(sink.maxPending <= 4096 + 2 * 65536, `max pending ${sink.maxPending}`);
    await waitFor(() => sink.pending === 0, 5000, 'sink to finish');
    const numbers = Buffer.concat(sink.chunks).toString('utf8').trimEnd().split('\n').map((line) => Number(line.split(' ')[1]));
    assert.equal(numbers.length, 50_000);
    assert.ok(numbers.every((n, i) => n === i + 1));
  });

  test('a RotatingLog with a tiny high-water mark: pauses and resumes on drain, nothing lost', async () => {
    const file = join(freshDir(), 'svc.log');
    const log = new RotatingLog({ file, maxSizeBytes: 64 * 1024, keep: 100, compress: false, highWaterMark: 1024 });
    let refusals = 0;
    const write = log.write.bind(log);
    log.write = (lines, callback) => { const ok = write(lines, callback); if (!ok) refusals++; return ok; };
    const child = startWriter(40_000);
    const { done } = captureOutput({ stdout: child.stdout, stderr: child.stderr, log, timestamps: false });
    await done;
    await log.close();
    assert.ok(refusals > 0);
    checkNumberedFiles(file, 40_000, 64 * 1024);
  });
});

describe('unwritable log dir', () => {
  test('the child keeps running, one onError, bounded buffer with counted drops, recovery when the dir is back', async () => {
    const dir = join(freshDir(), 'logs');
    const file = join(dir, 'svc.log');
    const errors: Error[] = [];
    const recoveries: number[] = [];
    const log = new RotatingLog({
      file, maxSizeBytes: 256 * 1024, keep: 3, compress: false, retryMs: 50, checkMs: 50, maxBufferBytes: 64 * 1024,
      onError: (error) => errors.push(error), onRecover: ({ droppedLines }) => recoveries.push(droppedLines),
    });
    log.writeLine('before');
    await log.flush();
    // chmod would not stop root; a regular file where the directory was does (ENOTDIR/EEXIST for everyone).
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'not a directory');
    await waitFor(() => errors.length > 0, 5000, 'onError');

    const child = startWriter(100_000); // 2 MB while at most 64 KB can be held
    const { done } = captureOutput({ stdout: child.stdout, stderr: child.stderr, log, timestamps: false });
    assert.equal(await exited(child), 0, 'the child wrote everything and exited: it was never blocked');
    await done;
    assert.equal(errors.length, 1, 'one onError for the whole episode');
    assert.equal(recoveries.length, 0);

    rmSync(dir);
    await waitFor(() => recoveries.length > 0, 5000, 'onRecover');
    log.writeLine('after');
    await log.close();
    assert.equal(errors.length, 1);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const kept = lines.slice(0, -2).map((line) => Number(LINE.exec(line)?.[1]));
    assert.ok(kept.length > 0 && kept.every((n, i) => n === i + 1), 'the buffered lines are a contiguous prefix');
    assert.equal(recoveries[0], 100_000 - kept.length, 'every other line is counted as dropped');
    assert.match(lines.at(-2)!, new RegExp(`${recoveries[0]} lines dropped`));
    assert.equal(lines.at(-1), 'after');
  });
});

/** Records what the capture hands over, as text. */
class MemorySink extends EventEmitter implements LineSink {
  text = '';
  write(lines: Buffer): boolean { this.text += lines.toString('utf8'); return true; }
}

describe('line splitting (in-memory streams)', () => {
  test('lines split across chunks are joined; UTF-8 survives tagging; each stream keeps its own partial line', async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const sink = new MemorySink();
    const { done } = captureOutput({ stdout, stderr, log: sink, timestamps: true, now: () => new Date(Date.UTC(2026, 7, 27, 20, 30)) });
    const stamp = '2026-08-27T20:30:00.000Z';
    stdout.write('hel');
    stderr.write(Buffer.from('gr\u00fc'.normalize(), 'utf8').subarray(0, 3)); // "gr" + the first byte of "ü"
    stdout.write('lo\nwor');
    stderr.write(Buffer.from('\u00fc', 'utf8').subarray(1));
    stderr.write('n\n');
    stdout.end('ld');
    stderr.end();
    await done;
    assert.equal(sink.text, `${stamp} hello\n${stamp} ${STDERR_TAG}gr\u00fcn\n${stamp} world\n`);
  });

  test('stop() writes the held partial line, destroys the streams and resolves done', async () => {
    const stdout = new PassThrough();
    const sink = new MemorySink();
    const { done, stop } = captureOutput({ stdout, stderr: null, log: sink, timestamps: false });
    stdout.write('a\nheld');
    await waitFor(() => sink.text === 'a\n', 2000, 'first line');
    stop();
    await done;
    assert.equal(sink.text, 'a\nheld\n');
    assert.equal(stdout.destroyed, true);
  });
});

describe('LineRing', () => {
  test('keeps the last N lines, oldest first', () => {
    const ring = new LineRing(3);
    assert.deepEqual(ring.lines(), []);
    for (const line of ['a', 'b']) ring.push(line);
    assert.deepEqual(ring.lines(), ['a', 'b']);
    for (const line of ['c', 'd', 'e']) ring.push(line);
    assert.deepEqual(ring.lines(), ['c', 'd', 'e']);
    assert.deepEqual(new LineRing().size, 20);
  });
});

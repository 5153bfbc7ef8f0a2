import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { logFiles } from '../../lib/logs/reader.ts';
import { RotatingLog, type RotatingLogOptions } from '../../lib/logs/rotating-log.ts';
import { makeTempDir, waitFor } from '../helpers.ts';

const temp = makeTempDir('rc-logs-');
after(() => temp.remove());
const freshDir = temp.fresh;

function makeLog(options: Partial<RotatingLogOptions> & { file: string }): RotatingLog {
  return new RotatingLog({ maxSizeBytes: 0, keep: 5, compress: false, retryMs: 20, checkMs: 20, ...options });
}

/** Every retained line, oldest first, reading .gz files too. */
function retainedLines(file: string): string[] {
  return logFiles(file).flatMap((path) => {
    const raw = readFileSync(path);
    const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    assert.ok(text === '' || text.endsWith('\n'), `${path} ends with a whole line`);
    return text === '' ? [] : text.slice(0, -1).split('\n');
  });
}

describe('rotation', () => {
  test('rotates at line boundaries before a line would pass max_size; nothing lost, split or doubled', async () => {
    const file = join(freshDir(), 'svc.log');
    const log = makeLog({ file, maxSizeBytes: 1000, keep: 1000 });
    const lines = Array.from({ length: 3000 }, (_, i) => `${i} ${'x'.repeat((i * 7919) % 61)}`);
    for (let i = 0; i < lines.length; i += 37) log.write(`${lines.slice(i, i + 37).join('\n')}\n`);
    await log.close();
    const files = logFiles(file);
    assert.ok(files.length > 20, `expected many rotations, got ${files.length} files`);
    for (const path of files) assert.ok(statSync(path).size <= 1000, `${path} is ${statSync(path).size} bytes`);
    assert.deepEqual(retainedLines(file), lines);
    assert.ok(existsSync(`${file}.1`) && !existsSync(`${file}.0`));
  });

  test('a line longer than max_size goes alone into its own file', async () => {
    const file = join(freshDir(), 'svc.log');
    const log = makeLog({ file, maxSizeBytes: 50, keep: 10 });
    const long = 'L'.repeat(120);
    log.write('short one\nshort two\n');
    log.write(`${long}\nafter\n`);
    await log.close();
    const contents = logFiles(file).map((path) => readFileSync(path, 'utf8'));
    assert.deepEqual(contents, ['short one\nshort two\n', `${long}\n`, 'after\n']);
  });

  test('keeps `keep` rotated files, newest = .1, and deletes older ones', async () => {
    const dir = freshDir();
    const file = join(dir, 'svc.log');
    const log = makeLog({ file, maxSizeBytes: 20, keep: 2 });
    for (let i = 1; i <= 6; i++) log.write(`line ${i} ${'.'.repeat(10)}\n`); // 19 bytes: one line per file
    await log.close();
    assert.deepEqual(readdirSync(dir).sort(), ['svc.log', 'svc.log.1', 'svc.log.2']);
    assert.deepEqual(retainedLines(file).map((line) => line.split(' ')[1]), ['4', '5', '6']);
  });

  test('compress gzips rotated files in the background', async () => {
    const file = join(freshDir(), 'svc.log');
    const log = makeLog({ file, maxSizeBytes: 200, keep: 100, compress: true });
    const lines = Array.from({ length: 400 }, (_, i) => `compressed line ${i}`);
    for (const line of lines) log.writeLine(line);
    await log.close();
    const files = logFiles(file);
    assert.ok(files.length > 10);
    assert.ok(files.slice(0, -1).every((path) => path.endsWith('.gz')), `rotated files: ${files.join(' ')}`);
    assert.deepEqual(retainedLines(file), lines);
    assert.ok(!readdirSync(join(file, '..')).some((name) => name.endsWith('.tmp')), 'no temp file left');
  });

  test('a gzipped file keeps the mtime of its content (logs --since skips whole files by it)', async () => {
    const file = join(freshDir(), 'svc.log');
    const log = makeLog({ file, compress: true });
    log.writeLine('an hour old');
    await log.flush();
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(file, hourAgo, hourAgo);
    await log.rotate();
    await log.close();
    assert.ok(Math.abs(statSync(`${file}.1.gz`).mtimeMs - hourAgo.getTime()) < 1000);
    assert.deepEqual(retainedLines(file), ['an hour old']);
  });

  test('rotate() starts a new file, and does nothing on an empty file', async () => {
    const file = join(freshDir(), 'svc.log');
    const log = makeLog({ file, maxSizeBytes: 0 });
    await log.rotate();
    assert.equal(existsSync(`${file}.1`), false);
    log.writeLine('before restart');
    await log.rotate();
    log.writeLine('after restart');
    await log.close();
    assert.equal(readFileSync(`${file}.1`, 'utf8'), 'before restart\n');
    assert.equal(readFileSync(file, 'utf8'), 'after restart\n');
  });

  test('writeLine and write add a missing final newline; write callbacks fire once on disk', async () => {
    const file = join(freshDir(), 'svc.log');
    const log = makeLog({ file });
    log.writeLine('one');
    log.writeLine('two\n');
    let called = false;
    log.write('three', () => { called = readFileSync(file, 'utf8').endsWith('three\n'); });
    await log.flush();
    assert.equal(called, true);
    await log.close();
    await log.close(); // idempotent
    log.writeLine('after close is dropped');
    assert.equal(readFileSync(file, 'utf8'), 'one\ntwo\nthree\n');
  });
});

describe('backpressure', () => {
  test('write() returns false past the high-water mark and emits drain once it is written', async () => {
    const file = join(freshDir(), 'svc.log');
    const log = makeLog({ file, highWaterMark: 100 });
    assert.equal(log.write(`${'a'.repeat(60)}\n`), true);
    assert.equal(log.write(`${'b'.repeat(60)}\n`), false);
    await new Promise((resolve) => log.once('drain', resolve));
    await log.close();
    assert.equal(readFileSync(file, 'utf8').length, 122);
  });
});

describe('failures', () => {
  // A symlink to /dev/full used to give ENOSPC here; logs are now opened with O_NOFOLLOW, so the same symlink is a
  // refused path (ELOOP): the failure episode (one onError, bounded buffer, drops, recovery) is the same.
  test('a file that cannot be written (a symlink, refused): one onError, bounded buffer, counted drops, recovery', async () => {
    const file = join(freshDir(), 'svc.log');
    symlinkSync('/dev/full', file);
    const errors: Error[] = [];
    const recoveries: number[] = [];
    const log = makeLog({ file, maxBufferBytes: 200, onError: (error) => errors.push(error), onRecover: ({ droppedLines }) => recoveries.push(droppedLines) });
    const line = (i: number): string => `line ${String(i).padStart(4, '0')} .........\n`; // 20 bytes
    for (let i = 1; i <= 5; i++) log.write(line(i));
    await waitFor(() => errors.length > 0, 5000, 'onError');
    assert.match(errors[0]!.message, /symbolic link/);
    for (let i = 6; i <= 40; i++) assert.equal(log.write(line(i)), true, 'never pushes back while failing');
    await delay(150); // several retry periods: still one error
    assert.equal(errors.length, 1);
    assert.equal(recoveries.length, 0);

    unlinkSync(file);
    writeFileSync(file, '');
    await waitFor(() => recoveries.length > 0, 5000, 'onRecover');
    log.write(line(41));
    await log.close();
    const kept = readFileSync(file, 'utf8').split('\n').slice(0, -1);
    // 200 bytes buffered = lines 1..10; 11..40 dropped and marked where they were.
    assert.deepEqual(recoveries, [30]);
    assert.deepEqual(kept.slice(0, 10), Array.from({ length: 10 }, (_, i) => line(i + 1).trimEnd()));
    assert.match(kept[10]!, /30 lines dropped/);
    assert.equal(kept[11], line(41).trimEnd());
    assert.equal(errors.length, 1);
  });

  test('log dir replaced by a regular file (root cannot write through that either): one onError, recovery when the dir is back', async () => {
    const dir = join(freshDir(), 'logs');
    const file = join(dir, 'svc.log');
    const errors: Error[] = [];
    const recoveries: number[] = [];
    const log = makeLog({ file, onError: (error) => errors.push(error), onRecover: ({ droppedLines }) => recoveries.push(droppedLines) });
    log.writeLine('before');
    await log.flush();
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'not a directory');
    await waitFor(() => errors.length > 0, 5000, 'onError'); // the periodic check notices the path no longer names our file
    log.writeLine('while broken 1');
    log.writeLine('while broken 2');
    await delay(100);
    assert.equal(errors.length, 1);
    rmSync(dir);
    await waitFor(() => recoveries.length > 0, 5000, 'onRecover'); // the directory is recreated by the log itself
    log.writeLine('after');
    await log.close();
    assert.deepEqual(recoveries, [0]);
    assert.equal(readFileSync(file, 'utf8'), 'while broken 1\nwhile broken 2\nafter\n');
  });

  test('custom recoveryNote (e.g. a JSON line for events.jsonl) and close() while failing does not hang', async () => {
    const file = join(freshDir(), 'events.jsonl');
    symlinkSync('/dev/full', file);
    let errors = 0;
    const log = makeLog({ file, maxBufferBytes: 0, onError: () => errors++, recoveryNote: ({ droppedLines }) => JSON.stringify({ event: 'log_recovered', dropped_lines: droppedLines }) });
    log.writeLine('{"event":"a"}');
    await waitFor(() => errors > 0, 5000, 'onError');
    log.writeLine('{"event":"b"}');
    unlinkSync(file);
    writeFileSync(file, '');
    await waitFor(() => readFileSync(file, 'utf8').includes('log_recovered'), 5000, 'recovery note');
    // "a" was queued before the failure was known, so it was kept; "b" found the (zero-byte) buffer full.
    assert.equal(readFileSync(file, 'utf8'), '{"event":"a"}\n{"event":"log_recovered","dropped_lines":1}\n');

    const broken = join(freshDir(), 'broken.log');
    symlinkSync('/dev/full', broken);
    const failing = makeLog({ file: broken, onError: () => {} });
    failing.writeLine('lost');
    await log.close();
    await failing.close();
  });
});

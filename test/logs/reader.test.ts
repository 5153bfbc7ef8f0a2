import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, renameSync, statSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  followEvents, followLog, followServiceLogs, interleaveServiceLogs, logFiles, parseLineTime, readEvents, readLastLines,
} from '../../lib/logs/reader.ts';
import { readRotatedBetween } from '../../lib/logs/follow.ts';
import { RotatingLog } from '../../lib/logs/rotating-log.ts';
import { formatRestartLogEntry } from '../../lib/logs/restart-log.ts';
import { type EventRecord } from '../../lib/core/types.ts';
import { makeTempDir, waitFor } from '../helpers.ts';

const temp = makeTempDir('rc-reader-');
const aborts = new Set<AbortController>();
after(() => {
  for (const controller of aborts) controller.abort();
  temp.remove();
});
const freshDir = temp.fresh;

const numbered = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`);

/** Starts followLog and resolves once it is following, with a way to stop it. */
async function startFollowing(file: string, options: { backlog?: number; pollMs?: number } = {}) {
  const seen: string[] = [];
  const controller = new AbortController();
  aborts.add(controller);
  let ready = false;
  const running = followLog(file, (lines) => seen.push(...lines), { pollMs: 10, ...options, signal: controller.signal, onReady: () => { ready = true; } });
  await waitFor(() => ready, 5000, 'follower ready');
  return { seen, stop: async () => { controller.abort(); await running; } };
}

describe('logFiles', () => {
  test('oldest first, gz included, the plain file preferred while both exist, other names ignored', () => {
    const dir = freshDir();
    const file = join(dir, 'svc.log');
    for (const name of ['svc.log', 'svc.log.1', 'svc.log.2.gz', 'svc.log.10.gz', 'svc.log.3', 'svc.log.3.gz', 'svc.log.bak', 'other.log.1', '.svc.log.1.gz.tmp']) {
      writeFileSync(join(dir, name), '');
    }
    assert.deepEqual(logFiles(file).map((path) => path.slice(dir.length + 1)), ['svc.log.10.gz', 'svc.log.3', 'svc.log.2.gz', 'svc.log.1', 'svc.log']);
    assert.deepEqual(logFiles(join(dir, 'missing', 'x.log')), []);
  });
});

describe('readLastLines', () => {
  test('reaches back into rotated and gzipped files', async () => {
    const file = join(freshDir(), 'svc.log');
    const log = new RotatingLog({ file, maxSizeBytes: 300, keep: 100, compress: true });
    const lines = numbered(1, 500);
    for (const line of lines) log.writeLine(line);
    await log.close();
    assert.ok(logFiles(file).some((path) => path.endsWith('.gz')));
    assert.deepEqual(await readLastLines(file, 120), lines.slice(-120));
    assert.deepEqual(await readLastLines(file, 10_000), lines);
    assert.deepEqual(await readLastLines(file, 0), []);
  });

  test('reads a large plain file backwards, with long lines, UTF-8 and a last line without newline', async () => {
    const file = join(freshDir(), 'big.log');
    const lines = [...numbered(1, 20_000), 'é'.repeat(100_000), 'ü tail', 'no newline'];
    writeFileSync(file, lines.join('\n'));
    assert.deepEqual(await readLastLines(file, 3), lines.slice(-3));
    assert.deepEqual(await readLastLines(file, 20_003), lines);
    writeFileSync(file, '\n\nlast\n');
    assert.deepEqual(await readLastLines(file, 5), ['', '', 'last']);
    writeFileSync(file, '');
    assert.deepEqual(await readLastLines(file, 5), []);
  });

  test('--since on restart.log uses the [local time] of each line', async () => {
    const file = join(freshDir(), 'restart.log');
    const base = new Date(2026, 7, 27, 20, 0, 0).getTime();
    const entries = [0, 10, 20, 30].map((minutes) => formatRestartLogEntry({ time: new Date(base + minutes * 60_000).toISOString(), event: 'started', service: 'api', pid: minutes }));
    writeFileSync(`${file}.1`, entries.slice(0, 2).join(''));
    writeFileSync(file, entries.slice(2).join(''));
    const since = await readLastLines(file, Infinity, { sinceMs: base + 15 * 60_000 });
    assert.deepEqual(since, ['[2026-08-27 20:20:00] api started (pid 20)', '[2026-08-27 20:30:00] api started (pid 30)']);
    assert.equal((await readLastLines(file, Infinity, { sinceMs: base + 5 * 60_000 })).length, 3);
    assert.equal((await readLastLines(file, 1, { sinceMs: base })).length, 1);
  });

  test('--since on service logs without timestamps skips whole files by mtime', async () => {
    const file = join(freshDir(), 'svc.log');
    writeFileSync(`${file}.2`, 'old 1\nold 2\n');
    writeFileSync(`${file}.1.gz`, gzipSync('middle\n'));
    writeFileSync(file, 'new\n');
    const now = Date.now();
    utimesSync(`${file}.2`, new Date(now - 7200_000), new Date(now - 7200_000));
    assert.deepEqual(await readLastLines(file, Infinity, { sinceMs: now - 3600_000 }), ['middle', 'new']);
    assert.deepEqual(await readLastLines(file, Infinity), ['old 1', 'old 2', 'middle', 'new']);
  });

  test('parseLineTime understands restart.log and ISO prefixes', () => {
    assert.equal(parseLineTime('[2026-08-27 20:30:00] x'), new Date(2026, 7, 27, 20, 30, 0).getTime());
    assert.equal(parseLineTime('2026-08-27T20:30:00.123Z [stderr] boom'), Date.UTC(2026, 7, 27, 20, 30, 0, 123));
    assert.equal(parseLineTime('plain output'), null);
  });
});

describe('followLog', () => {
  test('started before a rotation, it sees every line written after it started, across the rotation', async () => {
    const file = join(freshDir(), 'svc.log');
    const log = new RotatingLog({ file, maxSizeBytes: 300, keep: 1000, compress: false });
    for (const line of numbered(1, 50)) log.writeLine(line);
    await log.flush();
    const follower = await startFollowing(file);
    const lines = numbered(51, 400);
    for (const line of lines.slice(0, 50)) log.writeLine(line);
    await log.flush();
    await log.rotate();
    for (const line of lines.slice(50)) log.writeLine(line);
    await log.close();
    // Generous: on a loaded machine each 100 ms poll may come late; a missed line never arrives at all
    await waitFor(() => follower.seen.length >= lines.length, 20_000, 'all lines followed');
    await follower.stop();
    assert.deepEqual(follower.seen, lines);
    assert.ok(logFiles(file).length > 5, 'several rotations happened');
  });

  for (const exists of [true, false]) test(`rotations faster than polling miss nothing (file ${exists ? 'exists' : 'created after following starts'})`, async () => {
    const file = join(freshDir(), 'svc.log');
    const log = new RotatingLog({ file, maxSizeBytes: 2000, keep: 1000, compress: false });
    if (exists) await log.flush();
    const follower = await startFollowing(file, { pollMs: 100 });
    const lines = numbered(1, 5000);
    for (let i = 0; i < lines.length; i += 100) {
      for (const line of lines.slice(i, i + 100)) log.writeLine(line);
      await log.flush();
    }
    await log.close();
    // Generous: on a loaded machine each 100 ms poll may come late; a missed line never arrives at all
    await waitFor(() => follower.seen.length >= lines.length, 20_000, 'all lines followed');
    await follower.stop();
    assert.deepEqual(follower.seen, lines);
  });

  test('backlog emits the last lines first, then new ones, none doubled; a missing file is waited for', async () => {
    const dir = freshDir();
    const file = join(dir, 'svc.log');
    writeFileSync(`${file}.1`, 'a\nb\n');
    writeFileSync(file, 'c\n');
    const follower = await startFollowing(file, { backlog: 2 });
    assert.deepEqual(follower.seen, ['b', 'c']);
    appendFileSync(file, 'd\ne');
    await waitFor(() => follower.seen.includes('d'), 5000, 'd');
    appendFileSync(file, '\n');
    await waitFor(() => follower.seen.includes('e'), 5000, 'e');
    truncateSync(file, 0); // copytruncate-style rotation
    appendFileSync(file, 'f\n');
    await waitFor(() => follower.seen.includes('f'), 5000, 'f after truncation');
    await follower.stop();
    assert.deepEqual(follower.seen, ['b', 'c', 'd', 'e', 'f']);

    const later = join(dir, 'later.log');
    const waiting = await startFollowing(later);
    writeFileSync(later, 'first\n');
    await waitFor(() => waiting.seen.length > 0, 5000, 'file to appear');
    await waiting.stop();
    assert.deepEqual(waiting.seen, ['first']);
  });
});

describe('several services', () => {
  test('interleaveServiceLogs merges timestamped lines by time and prefixes the name', async () => {
    const dir = freshDir();
    const t = (second: number): string => new Date(Date.UTC(2026, 7, 27, 20, 0, second)).toISOString();
    writeFileSync(join(dir, 'api.log'), `${t(1)} api one\n${t(3)} [stderr] api two\n${t(5)} api three\n`);
    writeFileSync(join(dir, 'web.log'), `${t(2)} web one\n${t(4)} web two\n`);
    const services = [{ name: 'api', file: join(dir, 'api.log') }, { name: 'web', file: join(dir, 'web.log') }];
    assert.deepEqual(await interleaveServiceLogs(services, 4), [
      `web | ${t(2)} web one`,
      `api | ${t(3)} [stderr] api two`,
      `web | ${t(4)} web two`,
      `api | ${t(5)} api three`,
    ]);
    assert.deepEqual(await interleaveServiceLogs(services.slice(0, 1), 1), [`${t(5)} api three`]);
  });

  test('logs without timestamps are placed as blocks by file mtime (best effort)', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'db.log'), 'db 1\ndb 2\n');
    writeFileSync(join(dir, 'cache.log'), 'cache 1\n');
    const now = Date.now() / 1000;
    utimesSync(join(dir, 'db.log'), now - 10, now - 10);
    const services = [{ name: 'cache', file: join(dir, 'cache.log') }, { name: 'db', file: join(dir, 'db.log') }];
    assert.deepEqual(await interleaveServiceLogs(services, 10), ['db    | db 1', 'db    | db 2', 'cache | cache 1']);
  });

  test('followServiceLogs prefixes each service', async () => {
    const dir = freshDir();
    const services = [{ name: 'a', file: join(dir, 'a.log') }, { name: 'bb', file: join(dir, 'bb.log') }];
    const seen: string[] = [];
    const controller = new AbortController();
    aborts.add(controller);
    let ready = false;
    const running = followServiceLogs(services, (lines) => seen.push(...lines), { pollMs: 10, signal: controller.signal, onReady: () => { ready = true; } });
    await waitFor(() => ready, 5000, 'ready');
    writeFileSync(services[0]!.file, 'x\n');
    writeFileSync(services[1]!.file, 'y\n');
    await waitFor(() => seen.length === 2, 5000, 'both lines');
    controller.abort();
    await running;
    assert.deepEqual(seen.sort(), ['a  | x', 'bb | y']);
  });
});

describe('events', () => {
  const at = (minute: number): string => new Date(Date.UTC(2026, 7, 27, 20, minute)).toISOString();
  const events: EventRecord[] = [
    { time: at(0), event: 'supervisor_started', pid: 1 },
    { time: at(1), event: 'started', service: 'api', pid: 10 },
    { time: at(2), event: 'crashed', service: 'api', exit_code: 1 },
    { time: at(3), event: 'started', service: 'web', pid: 11 },
    { time: at(4), event: 'restarting', service: 'api', delay_s: 1 },
  ];

  test('readEvents filters by service, type, n and since across rotated files, skipping torn lines', async () => {
    const file = join(freshDir(), 'events.jsonl');
    writeFileSync(`${file}.1`, `${events.slice(0, 3).map((e) => JSON.stringify(e)).join('\n')}\n{"torn":\n`);
    writeFileSync(file, `${events.slice(3).map((e) => JSON.stringify(e)).join('\n')}\n`);
    assert.deepEqual(await readEvents(file), events);
    assert.deepEqual(await readEvents(file, { service: 'api' }), [events[1], events[2], events[4]]);
    assert.deepEqual(await readEvents(file, { type: 'started' }), [events[1], events[3]]);
    assert.deepEqual(await readEvents(file, { type: ['crashed', 'restarting'], n: 1 }), [events[4]]);
    assert.deepEqual(await readEvents(file, { sinceMs: Date.parse(at(2)), service: 'api' }), [events[2], events[4]]);
  });

  test('followEvents emits the backlog then new matching events only', async () => {
    const file = join(freshDir(), 'events.jsonl');
    writeFileSync(file, `${events.slice(0, 3).map((e) => JSON.stringify(e)).join('\n')}\n`);
    const seen: EventRecord[] = [];
    const controller = new AbortController();
    aborts.add(controller);
    let ready = false;
    const running = followEvents(file, (batch) => seen.push(...batch), {
      filters: { service: 'api', n: 1 }, pollMs: 10, signal: controller.signal, onReady: () => { ready = true; },
    });
    await waitFor(() => ready, 5000, 'ready');
    appendFileSync(file, `${events.slice(3).map((e) => JSON.stringify(e)).join('\n')}\n`);
    await waitFor(() => seen.length >= 2, 5000, 'new event');
    controller.abort();
    await running;
    assert.deepEqual(seen, [events[2], events[4]]);
  });
});

describe('catching up after rotations when rotated files were gzipped meanwhile', () => {
  /** Rotation as RotatingLog does it, then compression keeping the mtime. */
  function rotateAndGzip(file: string, lines: string[]): void {
    const rotated = (n: number, gz = false) => `${file}.${n}${gz ? '.gz' : ''}`;
    for (let n = 9; n >= 1; n--) if (existsSync(rotated(n, true))) renameSync(rotated(n, true), rotated(n + 1, true));
    renameSync(file, rotated(1));
    const { mtime, atime } = statSync(rotated(1));
    writeFileSync(rotated(1, true), gzipSync(readFileSync(rotated(1))));
    utimesSync(rotated(1, true), atime, mtime);
    unlinkSync(rotated(1));
    writeFileSync(file, `${lines.join('\n')}\n`);
  }

  test('the file read last is recognised in its .gz copy, and every file after it is read once, oldest first', async () => {
    const file = join(freshDir(), 'svc.log');
    writeFileSync(file, `${numbered(1, 6).join('\n')}\n`);
    const info = statSync(file);
    // What a follower knows of the file it has read to the end
    const read = { id: `${info.dev}:${info.ino}`, mtimeMs: Math.floor(info.mtimeMs), size: info.size };
    rotateAndGzip(file, numbered(7, 9));
    rotateAndGzip(file, numbered(10, 12));
    rotateAndGzip(file, numbered(13, 15));
    const current = statSync(file);
    const seen: string[] = [];
    await readRotatedBetween(file, read, `${current.dev}:${current.ino}`, (lines) => seen.push(...lines));
    assert.deepEqual(seen, numbered(7, 12));
  });
});

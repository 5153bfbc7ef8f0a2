import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { MARKER_ENV, RUN_ENV } from '../../lib/process/markers.ts';
import { procStartTime, type ProcStat } from '../../lib/process/proc.ts';
import { ProcessTable, sharedProcessTable } from '../../lib/process/table.ts';
import { signalTree, stopTree } from '../../lib/process/tree.ts';
import { waitFor } from '../helpers.ts';

const stat = (pid: number, ppid: number, pgid: number, sid: number, startTime = 100, state = 'S'): ProcStat => ({ pid, ppid, pgid, sid, state, startTime, comm: 'x' });

/** A table over a fixed, changeable list of processes (no /proc), counting what it reads. */
function fakeTable(processes: ProcStat[], options: { minIntervalMs?: number; sliceSize?: number } = {}) {
  const reads = { stats: 0 };
  let current = processes;
  const table = new ProcessTable({
    ...options,
    listPids: () => current.map((p) => p.pid),
    readStat: (pid) => { reads.stats++; return current.find((p) => p.pid === pid) ?? null; },
  });
  return { table, reads, set: (next: ProcStat[]) => { current = next; } };
}

const spawned: number[] = [];
after(() => signalTree(spawned, 'SIGKILL'));

describe('ProcessTable', () => {
  test('indexes by pid, ppid, pgid and session; live() checks exit and start time', () => {
    const { table } = fakeTable([stat(10, 1, 10, 10), stat(11, 10, 10, 10), stat(12, 11, 12, 10), stat(13, 1, 13, 13, 100, 'Z')]);
    const snapshot = table.walkNow();
    assert.equal(snapshot.get(11)?.ppid, 10);
    assert.deepEqual(snapshot.children(10).map((p) => p.pid), [11]);
    assert.deepEqual(snapshot.group(10).map((p) => p.pid), [10, 11]);
    assert.deepEqual(snapshot.session(10).map((p) => p.pid), [10, 11, 12]);
    assert.deepEqual(snapshot.children(999), []);
    assert.equal(snapshot.live(13), undefined, 'a zombie is not live');
    assert.equal(snapshot.live(12, 100)?.pid, 12);
    assert.equal(snapshot.live(12, 101), undefined, 'another start time is another process');
  });

  test('one walk per tick, shared by every concurrent user', async () => {
    const { table, reads } = fakeTable([stat(10, 1, 10, 10), stat(11, 10, 10, 10)], { minIntervalMs: 0 });
    const snapshots = await Promise.all(Array.from({ length: 50 }, () => table.next()));
    assert.equal(table.walks, 1);
    assert.equal(reads.stats, 2);
    assert.ok(snapshots.every((snapshot) => snapshot === snapshots[0]));
    // Asked again after that walk: a new walk, never the old snapshot
    const later = await table.next();
    assert.equal(table.walks, 2);
    assert.notEqual(later, snapshots[0]);
  });

  test('walks at least minIntervalMs apart; a caller never joins a walk that started before it asked', async () => {
    const { table, reads } = fakeTable([stat(10, 1, 10, 10), stat(11, 10, 10, 10)], { minIntervalMs: 40, sliceSize: 1 });
    const first = table.next();
    while (reads.stats === 0) await new Promise((resolve) => setImmediate(resolve)); // the walk has started
    const second = table.next();
    const [a, b] = await Promise.all([first, second]);
    assert.notEqual(a, b);
    assert.ok(b.takenAt - a.takenAt >= 35, `${b.takenAt - a.takenAt} ms apart`);
  });

  test('reads in slices: a walk of thousands of processes yields to the event loop between slices', async () => {
    const many = Array.from({ length: 2000 }, (_, i) => stat(1000 + i, 1, 1000 + i, 1000 + i));
    const { table } = fakeTable(many, { minIntervalMs: 0, sliceSize: 200 });
    let turns = 0;
    const counter = setInterval(() => turns++, 0);
    const snapshot = await table.next();
    clearInterval(counter);
    assert.equal(snapshot.processes.length, 2000);
    assert.ok(turns >= 2, `timers ran ${turns} times during the walk`);
  });

  test('pid reuse: a new start time is a new process, whose environ is read again', () => {
    const processes = [stat(process.pid, 1, process.pid, process.pid, procStartTime(process.pid)!)];
    const { table, set } = fakeTable(processes, { minIntervalMs: 0 });
    table.walkNow().marked('anything');
    table.walkNow().marked('anything');
    assert.equal(table.markers.reads, 1, 'environ read once per process life');
    set([{ ...processes[0]!, startTime: processes[0]!.startTime + 1 }]);
    table.walkNow().marked('anything');
    assert.equal(table.markers.reads, 2, 'same pid, new start time: read again');
  });

  test('the marker index finds real marked processes, and their run ids', async () => {
    const marker = `rc-table-${randomUUID()}/svc`;
    const child = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore', env: { ...process.env, [MARKER_ENV]: marker, [RUN_ENV]: 'run-7' } });
    spawned.push(child.pid!);
    const table = new ProcessTable();
    const snapshot = await waitFor(async () => { const s = await table.next(); return s.marked(marker).length === 1 ? s : null; }, 5000, 'the marked sleep');
    const [found] = snapshot.marked(marker);
    assert.equal(found!.pid, child.pid);
    assert.equal(snapshot.markersOf(found!).run, 'run-7');
    assert.deepEqual(snapshot.markedWithPrefix(marker.slice(0, -3)).map((p) => p.pid), [child.pid]);
    process.kill(child.pid!, 'SIGKILL');
  });

  test('20 concurrent tree stops share the walks of the shared table', async () => {
    const children = Array.from({ length: 20 }, () => spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' }));
    spawned.push(...children.map((child) => child.pid!));
    await waitFor(() => children.every((child) => procStartTime(child.pid!) !== null), 5000, 'the sleeps');
    const table = sharedProcessTable();
    const before = table.walks;
    const started = performance.now();
    const results = await Promise.all(children.map((child) => stopTree({ pid: child.pid!, signal: 'SIGTERM', timeoutMs: 5000 })));
    assert.ok(results.every((result) => !result.forced && result.survivors.length === 0));
    const walks = table.walks - before;
    assert.ok(walks <= 6, `${walks} walks for 20 stops in ${Math.round(performance.now() - started)} ms`);
  });
});

describe('walk cost at 2,000 processes (measured, printed)', () => {
  test('one slice never holds the event loop for long', async (t) => {
    const table = new ProcessTable({ minIntervalMs: 0 });
    const count = table.walkNow().processes.length;
    const started = performance.now();
    table.walkNow();
    const perProcessMs = (performance.now() - started) / Math.max(1, count);
    t.diagnostic(`${count} processes: ${(perProcessMs * 1000).toFixed(1)} µs each, ~${(perProcessMs * 2000).toFixed(1)} ms for 2,000 in one go, ~${(perProcessMs * 200).toFixed(1)} ms per slice of 200`);
    assert.ok(perProcessMs * 200 < 50, 'a slice stays far below a blocking pause even on a loaded machine');
  });
});

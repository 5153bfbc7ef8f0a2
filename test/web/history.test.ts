import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceHistory } from '../../lib/web/history.ts';
import { treeMembers } from '../../lib/web/sampler.ts';

const sample = (value: number) => ({ cpu_percent: value, rss_bytes: value * 1000, gpu_memory_bytes: null });

test('the ring keeps the last hour and never grows', () => {
  const history = new ResourceHistory(1000, 10_000);
  assert.equal(history.capacity, 10);
  for (let i = 0; i < 25; i++) history.record(i * 1000, new Map([['a', sample(i)]]));
  assert.equal(history.length('a'), 10);
  const columns = history.columns('a')!;
  assert.deepEqual(columns.cpu_percent, [15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
  assert.deepEqual(columns.time, [15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
  assert.deepEqual(columns.gpu_memory_bytes, Array(10).fill(null));
});

test('heap stays flat over a long uptime', () => {
  const history = new ResourceHistory(5000);
  const round = (i: number) => history.record(i * 5000, new Map(Array.from({ length: 20 }, (_, s) => [`s${s}`, sample(i)])));
  for (let i = 0; i < 2000; i++) round(i);
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 2000; i < 40_000; i++) round(i);
  global.gc?.();
  assert.ok(process.memoryUsage().heapUsed - before < 4 * 1024 * 1024, 'heap grew');
  assert.equal(history.length('s0'), history.capacity);
});

test('services gone from a round are forgotten', () => {
  const history = new ResourceHistory(1000);
  history.record(0, new Map([['a', sample(1)], ['b', sample(1)]]));
  history.record(1000, new Map([['a', sample(2)]]));
  assert.equal(history.columns('b'), null);
  assert.deepEqual(Object.keys(history.all()), ['a']);
});

test('treeMembers: root, group, session and descendants', () => {
  const stat = (pid: number, ppid: number, pgid: number, sid: number) => ({ pid, ppid, pgid, sid, state: 'S', startTime: 1, comm: 'x' });
  const live = [stat(10, 1, 10, 10), stat(11, 10, 10, 10), stat(12, 11, 12, 12), stat(13, 1, 10, 10), stat(20, 1, 20, 20)];
  assert.deepEqual(treeMembers(10, live).sort(), [10, 11, 12, 13]);
});

import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { isAlive, procStartTime, readEnvVar, readProcStat } from '../../lib/process/proc.ts';
import { findLeftovers, findMarked, findTree, MARKER_ENV, RUN_ENV, signalTree, stopTree } from '../../lib/process/tree.ts';
import { makeTempDir, waitFor } from '../helpers.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
/** Every marker of this run starts with it, so after() can find any leftover. */
const MARKER_PREFIX = `rc-test-${randomUUID()}/`;
const TIMEOUT_MS = 500;
/** The bound: a stop returns within timeoutMs + 1 s. */
const STOP_BOUND_MS = TIMEOUT_MS + 1000;

const temp = makeTempDir('rc-tree-');
/** Roots spawned without a marker, to kill in after(). */
const unmarkedRoots: Array<{ pid: number; startTime: number | null }> = [];

after(async () => {
  for (const root of unmarkedRoots) {
    if (isAlive(root.pid, root.startTime)) signalTree([root.pid], 'SIGKILL', root.pid);
  }
  signalTree(findMarked(MARKER_PREFIX), 'SIGKILL');
  temp.remove();
});

interface Member {
  pid: number;
  role: string;
  startTime: number | null;
}

interface Started {
  pid: number;
  startTime: number;
  marker: string | undefined;
}

/** Fixtures that change their signal handling print "ready" once they have: a signal sent earlier hits the default. */
const SAYS_READY = new Set(['ignore-term.sh', 'fork-on-term.sh']);

async function startFixture(name: string, args: string[] = [], options: { marked?: boolean; env?: Record<string, string> } = {}): Promise<Started> {
  const marker = options.marked === false ? undefined : `${MARKER_PREFIX}${randomUUID()}`;
  const env = { ...process.env, ...options.env, ...(marker ? { [MARKER_ENV]: marker } : {}) };
  const saysReady = SAYS_READY.has(name);
  const child = spawn(join(FIXTURES, name), args, { detached: true, stdio: ['ignore', saysReady ? 'pipe' : 'ignore', 'ignore'], env });
  assert.ok(child.pid);
  const pid = child.pid;
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  // procStartTime right after spawn may read the pre-exec fork; the start time does not change across exec.
  const startTime = await waitFor(() => procStartTime(pid), 5000, `${name} to start`);
  if (!marker) unmarkedRoots.push({ pid, startTime });
  if (saysReady) await waitFor(() => output.includes('ready\n'), 10_000, `${name} to install its traps`);
  child.stdout?.destroy();
  child.unref();
  return { pid, startTime, marker };
}

/** tree.sh with `size` descendants; resolves once all of them recorded themselves. */
async function startTree(size: number, ignoring: number): Promise<Started & { members: Member[] }> {
  const file = join(temp.path, `tree-${randomUUID()}`);
  const root = await startFixture('tree.sh', [String(size), String(ignoring)], { env: { TREE_PIDS_FILE: file } });
  const lines = await waitFor(() => {
    const recorded = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
    return recorded.length >= size + 1 ? recorded : null;
  }, 10_000, `${size} members of tree.sh`);
  const members = lines.map((line) => {
    const [pid, role] = line.split(' ');
    return { pid: Number(pid), role: role!, startTime: procStartTime(Number(pid)) };
  });
  assert.ok(members.every((member) => member.startTime !== null), 'every member alive once recorded');
  // The orphans' short-lived parents may still be exiting: wait until only recorded members remain.
  await waitFor(() => findTree(root, root.marker).length === members.length, 5000, 'transient parents to exit');
  return { ...root, members };
}

function aliveMembers(members: Member[]): Member[] {
  return members.filter((member) => isAlive(member.pid, member.startTime));
}

function byRole(members: Member[], role: string): Member[] {
  return members.filter((member) => member.role === role);
}

describe('findTree', () => {
  test('finds every member: nested, setsid, re-parented; escapees only through the marker', async () => {
    const tree = await startTree(12, 3);
    const found = findTree({ pid: tree.pid, startTime: tree.startTime }, tree.marker);
    assert.deepEqual([...found].sort(), tree.members.map((member) => member.pid).sort());
    assert.ok(!found.includes(process.pid) && !found.includes(1));

    // The orphan left the session and lost its parent: only the marker leads to it.
    const [escapee] = byRole(tree.members, 'setsid-orphan');
    const withoutMarker = findTree({ pid: tree.pid, startTime: tree.startTime });
    assert.ok(escapee && !withoutMarker.includes(escapee.pid));
    assert.equal(withoutMarker.length, tree.members.length - 1);

    await stopTree({ pid: tree.pid, startTime: tree.startTime, marker: tree.marker, signal: 'SIGKILL', timeoutMs: TIMEOUT_MS });
  });

  test('a reused pid (other start time) yields nothing but marked processes', async () => {
    const root = await startFixture('forever.sh', [], { marked: false });
    await waitFor(() => findTree({ pid: root.pid }).length >= 2, 5000, 'the sleep of forever.sh');
    assert.deepEqual(findTree({ pid: root.pid, startTime: root.startTime + 1 }), []);
    assert.deepEqual(findTree(null), []);
    process.kill(-root.pid, 'SIGKILL');
  });
});

describe('findMarked', () => {
  test('finds re-parented orphans after their root is gone', async () => {
    const tree = await startTree(10, 2);
    const orphans = [...byRole(tree.members, 'orphan'), ...byRole(tree.members, 'setsid-orphan')];
    assert.equal(orphans.length, 2);
    for (const orphan of orphans) assert.notEqual(readProcStat(orphan.pid)?.ppid, tree.pid, 're-parented');

    process.kill(tree.pid, 'SIGKILL'); // as if the supervisor and its child had died
    await waitFor(() => !isAlive(tree.pid), 5000, 'the root to die');
    const marked = findMarked(MARKER_PREFIX);
    for (const orphan of orphans) assert.ok(marked.includes(orphan.pid), `${orphan.role} ${orphan.pid} found`);
    assert.deepEqual(findMarked(tree.marker!).sort(), aliveMembers(tree.members).map((member) => member.pid).sort());

    await stopTree({ pid: tree.pid, startTime: tree.startTime, marker: tree.marker, signal: 'SIGKILL', timeoutMs: TIMEOUT_MS });
    assert.deepEqual(findMarked(tree.marker!), []);
  });
});

describe('stopTree', () => {
  test('stops a tree that ignores SIGTERM, setsid and orphans included, within timeoutMs + 1 s', async () => {
    const tree = await startTree(12, 3);
    let escalations = 0;
    const result = await stopTree({ pid: tree.pid, startTime: tree.startTime, marker: tree.marker, signal: 'SIGTERM', timeoutMs: TIMEOUT_MS, onEscalate: () => escalations++ });
    assert.equal(result.forced, true);
    assert.equal(escalations, 1);
    assert.deepEqual(result.survivors, []);
    assert.ok(result.durationMs >= TIMEOUT_MS - 20, `waited for the timeout, ${result.durationMs} ms`);
    assert.ok(result.durationMs < STOP_BOUND_MS, `${result.durationMs} ms`);
    assert.ok(result.signalled >= tree.members.length, `signalled ${result.signalled}`);
    assert.deepEqual(aliveMembers(tree.members), []);
    assert.deepEqual(findMarked(tree.marker!), []);
  });

  test('without a marker, keeps members found once after they are re-parented', async () => {
    const tree = await startTree(12, 3);
    // The setsid leaf ignores SIGTERM; once the root dies it has neither parent link nor group nor session in common.
    const result = await stopTree({ pid: tree.pid, startTime: tree.startTime, signal: 'SIGTERM', timeoutMs: TIMEOUT_MS });
    assert.deepEqual(result.survivors, []);
    assert.deepEqual(aliveMembers(tree.members).map((member) => member.role), ['setsid-orphan']);
    signalTree(findMarked(tree.marker!), 'SIGKILL');
  });

  test('returns long before the timeout when the tree exits on SIGTERM', async () => {
    const root = await startFixture('forever.sh');
    await waitFor(() => findTree({ pid: root.pid }).length >= 2, 5000, 'the sleep of forever.sh');
    const members = findTree({ pid: root.pid }).map((pid) => ({ pid, role: '', startTime: procStartTime(pid) }));
    const result = await stopTree({ pid: root.pid, startTime: root.startTime, marker: root.marker, signal: 'SIGTERM', timeoutMs: 10_000 });
    assert.equal(result.forced, false);
    assert.ok(result.durationMs < 2000, `${result.durationMs} ms`);
    assert.deepEqual(aliveMembers(members), []);
  });

  test('signals members forked during the stop', async () => {
    const root = await startFixture('fork-on-term.sh');
    await waitFor(() => findTree({ pid: root.pid }).length >= 2, 5000, 'the sleep of fork-on-term.sh');
    const result = await stopTree({ pid: root.pid, startTime: root.startTime, marker: root.marker, signal: 'SIGTERM', timeoutMs: 10_000 });
    // Unsignalled, the late sleep would have lived until the SIGKILL at the timeout.
    assert.equal(result.forced, false);
    assert.ok(result.signalled >= 3, `signalled ${result.signalled}`);
    assert.deepEqual(findMarked(root.marker!), []);
  });

  test('escalates to SIGKILL for ignore-term.sh', async () => {
    const root = await startFixture('ignore-term.sh');
    const result = await stopTree({ pid: root.pid, startTime: root.startTime, marker: root.marker, signal: 'SIGTERM', timeoutMs: 200 });
    assert.equal(result.forced, true);
    assert.deepEqual(result.survivors, []);
    assert.ok(result.durationMs < 200 + 1000, `${result.durationMs} ms`);
    assert.equal(isAlive(root.pid, root.startTime), false);
  });

  test('never signals a live process whose start time differs (pid reuse)', async () => {
    const stranger = await startFixture('forever.sh', [], { marked: false });
    await waitFor(() => findTree({ pid: stranger.pid }).length >= 2, 5000, 'the sleep of forever.sh');
    const strangerTree = findTree({ pid: stranger.pid });
    const result = await stopTree({ pid: stranger.pid, startTime: stranger.startTime - 1, signal: 'SIGTERM', timeoutMs: TIMEOUT_MS });
    assert.deepEqual(result, { ...result, forced: false, survivors: [], signalled: 0 });
    assert.ok(result.durationMs < TIMEOUT_MS, 'nothing to wait for');
    // forever.sh dies on SIGTERM, so its group surviving proves neither it nor -pid was signalled.
    for (const pid of strangerTree) assert.equal(isAlive(pid), true, `pid ${pid} untouched`);
    process.kill(-stranger.pid, 'SIGKILL');
  });

  test('counts zombies as dead', async () => {
    const childFile = join(temp.path, 'zombie-child');
    const root = await startFixture('zombie.sh', [childFile]);
    const zombie = await waitFor(() => Number(readFileSync(childFile, 'utf8')), 5000, 'the child pid');
    await waitFor(() => readProcStat(zombie)?.state === 'Z', 5000, 'the unreaped child');
    assert.deepEqual(findTree({ pid: root.pid, startTime: root.startTime }, root.marker), [root.pid]);
    const result = await stopTree({ pid: root.pid, startTime: root.startTime, marker: root.marker, signal: 'SIGTERM', timeoutMs: 10_000 });
    assert.equal(result.forced, false);
    assert.ok(result.durationMs < 2000, `${result.durationMs} ms`);
  });

  test('returns at once for a root that is already gone', async () => {
    const result = await stopTree({ pid: 2 ** 22 + 1, signal: 'SIGTERM', timeoutMs: TIMEOUT_MS });
    assert.deepEqual(result, { ...result, forced: false, survivors: [], signalled: 0 });
  });

  test('the tree-kill fallback stops a tree without /proc', async () => {
    const root = await startFixture('forever.sh');
    await waitFor(() => findTree({ pid: root.pid }).length >= 2, 5000, 'the sleep of forever.sh');
    const members = findTree({ pid: root.pid }).map((pid) => ({ pid, role: '', startTime: procStartTime(pid) }));
    // Without /proc a zombie looks alive, so a killed orphan may hold the group up to PID 1's 1–2 s reaping interval.
    const result = await stopTree({ pid: root.pid, signal: 'SIGTERM', timeoutMs: 5000, useProc: false });
    assert.deepEqual(result.survivors, []);
    assert.deepEqual(aliveMembers(members), []);
  });
});

describe('findLeftovers', () => {
  test('finds the previous run\'s escapee and never a process of the current run, even one that daemonized', async () => {
    const marker = `${MARKER_PREFIX}${randomUUID()}`;
    const env = (run: string) => ({ ...process.env, [MARKER_ENV]: marker, [RUN_ENV]: run });
    // setsid -f forks, the child calls setsid and execs, the parent exits: a new session, re-parented to init
    spawnSync('setsid', ['-f', 'sleep', '1000'], { env: env('previous'), stdio: 'ignore' });
    const current = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore', env: env('current') });
    spawnSync('setsid', ['-f', 'sleep', '1001'], { env: env('current'), stdio: 'ignore' });
    const marked = await waitFor(() => { const found = findMarked(marker); return found.length === 3 ? found : null; }, 5000, 'three marked processes');
    const runOf = (pid: number) => readEnvVar(pid, RUN_ENV);
    const daemon = marked.find((pid) => pid !== current.pid && runOf(pid) === 'current')!;
    assert.notEqual(readProcStat(daemon)!.sid, current.pid, 'the current run\'s daemon left its session');
    const leftovers = findLeftovers({ pid: 4_194_303, startTime: -1 }, { pid: current.pid!, run: 'current' }, marker);
    assert.deepEqual(leftovers.map((stat) => runOf(stat.pid)), ['previous']);
  });
});

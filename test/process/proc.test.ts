import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import {
  hasProc,
  isAlive,
  listProcesses,
  parseProcStat,
  processCpuTimeMs,
  processRssBytes,
  procStartTime,
  readEnvVar,
  readProcStat,
} from '../../lib/process/proc.ts';
import { makeTempDir, waitFor } from '../helpers.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
/** Above the kernel's highest possible pid_max (2^22): never a process. */
const NO_SUCH_PID = 2 ** 22 + 1;

const temp = makeTempDir('rc-proc-');
const children: ChildProcess[] = [];

function start(command: string, args: string[], env: Record<string, string> = {}): ChildProcess & { pid: number } {
  const child = spawn(command, args, { detached: true, stdio: 'ignore', env: { ...process.env, ...env } });
  children.push(child);
  assert.ok(child.pid, `spawned ${command}`);
  return child as ChildProcess & { pid: number };
}

after(() => {
  for (const child of children) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  temp.remove();
});

describe('parseProcStat', () => {
  test('splits at the last ")" so comm may hold spaces and parentheses', () => {
    const tail = 'S 10 20 30 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 123456 2000000 100 18446744073709551615';
    const stat = parseProcStat(`42 (a) b (c) ${tail}\n`);
    assert.deepEqual(stat, { pid: 42, ppid: 10, pgid: 20, sid: 30, state: 'S', startTime: 123456, comm: 'a) b (c' });
  });

  test('rejects text that is not a stat line', () => {
    assert.equal(parseProcStat(''), null);
    assert.equal(parseProcStat('42 (truncated) S 1 2'), null);
  });
});

describe('readProcStat', () => {
  test('reads a real process whose name holds spaces and parentheses', async () => {
    const binary = join(temp.path, 'a) b (c');
    copyFileSync('/bin/sleep', binary);
    const child = spawn(binary, ['30'], { stdio: 'ignore' });
    children.push(child);
    const stat = await waitFor(() => {
      const current = readProcStat(child.pid!);
      return current?.comm === 'a) b (c' ? current : null;
    }, 5000, 'the exec of "a) b (c"');
    assert.equal(stat.pid, child.pid);
    assert.equal(stat.ppid, process.pid);
    assert.match(stat.state, /^[RS]$/);
    assert.ok(stat.startTime > 0);
    assert.equal(procStartTime(child.pid!), stat.startTime);
    child.kill('SIGKILL');
  });

  test('returns null for a pid that does not exist', () => {
    assert.equal(readProcStat(NO_SUCH_PID), null);
    assert.equal(procStartTime(NO_SUCH_PID), null);
  });

  test('sees this process in its own group and session fields', () => {
    const stat = readProcStat(process.pid);
    assert.ok(stat);
    assert.equal(stat.ppid, process.ppid);
    // A group or session led from outside this pid namespace (a CI container) reads as 0.
    assert.ok(Number.isInteger(stat.pgid) && stat.pgid >= 0 && Number.isInteger(stat.sid) && stat.sid >= 0);
  });

  test('reads a detached child as the leader of its own group and session', () => {
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    try {
      const stat = readProcStat(child.pid!);
      assert.ok(stat);
      assert.equal(stat.pgid, child.pid);
      assert.equal(stat.sid, child.pid);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('isAlive', () => {
  test('is true for a live process, false with another start time or no process', () => {
    const child = start('sleep', ['30']);
    const startTime = procStartTime(child.pid);
    assert.ok(startTime !== null);
    assert.equal(isAlive(child.pid), true);
    assert.equal(isAlive(child.pid, startTime), true);
    assert.equal(isAlive(child.pid, null), true);
    assert.equal(isAlive(child.pid, startTime + 1), false);
    assert.equal(isAlive(NO_SUCH_PID), false);
    child.kill('SIGKILL');
  });

  test('counts a zombie as dead', async () => {
    const childFile = join(temp.path, 'zombie-child');
    const parent = start(join(FIXTURES, 'zombie.sh'), [childFile]);
    const zombie = await waitFor(() => Number(readFileSync(childFile, 'utf8')), 5000, 'the child pid');
    await waitFor(() => readProcStat(zombie)?.state === 'Z', 5000, 'the child to become a zombie');
    assert.equal(isAlive(zombie), false);
    assert.equal(isAlive(zombie, procStartTime(zombie)), false);
    assert.equal(isAlive(parent.pid), true);
    process.kill(-parent.pid, 'SIGKILL');
  });
});

describe('listProcesses', () => {
  test('lists this process and a child, each parsed', () => {
    const child = start('sleep', ['30']);
    const stats = listProcesses();
    const self = stats.find((stat) => stat.pid === process.pid);
    assert.ok(self);
    assert.equal(stats.find((stat) => stat.pid === child.pid)?.ppid, process.pid);
    assert.ok(stats.every((stat) => Number.isInteger(stat.pid) && stat.pid > 0 && stat.state.length === 1));
    child.kill('SIGKILL');
  });
});

describe('readEnvVar', () => {
  test('reads a variable from the environment the process started with', async () => {
    const child = start('sleep', ['30'], { XRC_VALUE: 'suffix-match', RC_VALUE: 'svc/a b=c', RC_EMPTY: '' });
    await waitFor(() => readProcStat(child.pid)?.comm === 'sleep', 5000, 'the exec of sleep');
    assert.equal(readEnvVar(child.pid, 'RC_VALUE'), 'svc/a b=c');
    assert.equal(readEnvVar(child.pid, 'XRC_VALUE'), 'suffix-match');
    assert.equal(readEnvVar(child.pid, 'RC_EMPTY'), '');
    assert.equal(readEnvVar(child.pid, 'VALUE'), null);
    assert.equal(readEnvVar(child.pid, 'RC_MISSING'), null);
    child.kill('SIGKILL');
  });

  test('returns null for a pid that does not exist', () => {
    assert.equal(readEnvVar(NO_SUCH_PID, 'PATH'), null);
  });
});

describe('resource readers', () => {
  test('hasProc is true on Linux', () => {
    assert.equal(hasProc(), true);
  });

  test('report rss and cpu time of this process, null for none', () => {
    const rss = processRssBytes(process.pid);
    assert.ok(rss !== null && rss > 1024 * 1024, `rss ${rss}`);
    const cpu = processCpuTimeMs(process.pid);
    assert.ok(cpu !== null && cpu > 0 && cpu % 10 === 0, `cpu ${cpu}`);
    assert.equal(processRssBytes(NO_SUCH_PID), null);
    assert.equal(processCpuTimeMs(NO_SUCH_PID), null);
  });
});

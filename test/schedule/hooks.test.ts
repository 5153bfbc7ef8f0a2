import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runHook, runHooks, waitUntilIdle } from '../../lib/schedule/hooks.ts';
import { makeTempDir, waitFor } from '../helpers.ts';

/** A reparented orphan lingers as a zombie until init reaps it: count that as dead. */
function isDead(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').startsWith('Z');
  } catch {
    return true;
  }
}

function readPid(file: string): number {
  return Number(readFileSync(file, 'utf8').trim());
}

let dir: ReturnType<typeof makeTempDir>;
before(() => {
  dir = makeTempDir('rc-hooks-');
});
after(() => dir.remove());

describe('runHook', () => {
  test('runs under /bin/sh in cwd with the extra env, capturing stdout and stderr', async () => {
    const result = await runHook('echo "$HOOK_VAR in $(pwd)"; echo oops >&2', { cwd: dir.path, timeoutMs: 5000, env: { HOOK_VAR: 'hello' } });
    assert.equal(result.ok, true);
    assert.equal(result.code, 0);
    assert.equal(result.signal, null);
    assert.equal(result.timedOut, false);
    assert.match(result.output, new RegExp(`^hello in ${dir.path}\n`));
    assert.match(result.output, /oops\n$/);
  });

  test('a failing hook reports its exit code', async () => {
    const result = await runHook('echo bad; exit 3', { cwd: dir.path, timeoutMs: 5000 });
    assert.deepEqual([result.ok, result.code, result.output], [false, 3, 'bad\n']);
  });

  test('keeps only the tail of a long output', async () => {
    const result = await runHook(`node -e "process.stdout.write('a'.repeat(5000) + 'END')"`, { cwd: dir.path, timeoutMs: 10_000 });
    assert.equal(result.output.length, 2000);
    assert.ok(result.output.endsWith('aEND'));
  });

  test('a missing cwd is a failed result, not a throw', async () => {
    const result = await runHook('true', { cwd: join(dir.path, 'nope'), timeoutMs: 5000 });
    assert.equal(result.ok, false);
    assert.equal(result.code, null);
    assert.match(result.output, /ENOENT/);
  });

  test('timeout kills the whole process group quickly and leaves no process', async () => {
    const shPid = join(dir.path, 'sh.pid');
    const bgPid = join(dir.path, 'bg.pid');
    const result = await runHook(`echo $$ > sh.pid; sleep 30 & echo $! > bg.pid; sleep 30`, { cwd: dir.path, timeoutMs: 300 });
    assert.equal(result.timedOut, true);
    assert.equal(result.ok, false);
    assert.ok(result.durationMs < 5000, `took ${result.durationMs} ms`);
    await waitFor(() => isDead(readPid(shPid)) && isDead(readPid(bgPid)), 3000, 'the hook and its background child to die');
  });

  test('timeout escalates to SIGKILL when the hook ignores SIGTERM', async () => {
    const result = await runHook(`trap '' TERM; echo $$ > trap.pid; sleep 30`, { cwd: dir.path, timeoutMs: 1000 });
    assert.equal(result.timedOut, true);
    assert.ok(result.durationMs < 5000, `took ${result.durationMs} ms`);
    await waitFor(() => isDead(readPid(join(dir.path, 'trap.pid'))), 3000, 'the SIGTERM-ignoring hook to die');
  });

  test('a .ts hook runs through the project tsx, with its arguments', async () => {
    writeFileSync(join(dir.path, 'hook.ts'), `const answer: number = 42;\nconsole.log(\`ts hook \${answer} \${process.argv.slice(2).join(',')}\`);\n`);
    const result = await runHook('./hook.ts one two', { cwd: dir.path, timeoutMs: 15_000 });
    assert.equal(result.output, 'ts hook 42 one,two\n');
    assert.equal(result.ok, true);
  });

  test('an abort signal kills the hook', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const result = await runHook('sleep 30', { cwd: dir.path, timeoutMs: 30_000, signal: controller.signal });
    assert.equal(result.ok, false);
    assert.equal(result.timedOut, false);
    assert.ok(result.durationMs < 5000, `took ${result.durationMs} ms`);
  });
});

describe('runHooks', () => {
  test('runs in order and continues after a failure', async () => {
    const results = await runHooks(['echo first >> order.txt', 'echo second >> order.txt; exit 7', 'echo third >> order.txt'], {
      cwd: dir.path,
      timeoutMs: 5000,
    });
    assert.deepEqual(readFileSync(join(dir.path, 'order.txt'), 'utf8'), 'first\nsecond\nthird\n');
    assert.deepEqual(
      results.map((r) => [r.command, r.ok, r.code]),
      [
        ['echo first >> order.txt', true, 0],
        ['echo second >> order.txt; exit 7', false, 7],
        ['echo third >> order.txt', true, 0],
      ],
    );
  });

  test('no hooks, no results', async () => {
    assert.deepEqual(await runHooks([], { cwd: dir.path, timeoutMs: 1000 }), []);
  });
});

describe('waitUntilIdle', () => {
  test('succeeds once the check passes (a flag file appears)', async () => {
    const timer = setTimeout(() => writeFileSync(join(dir.path, 'flag'), ''), 300);
    const result = await waitUntilIdle({ command: 'test -f flag', pollMs: 50, maxWaitMs: 20_000 }, { cwd: dir.path, timeoutMs: 5000 });
    clearTimeout(timer);
    assert.equal(result.idle, true);
    assert.equal(result.aborted, false);
    assert.ok(result.checks >= 2, `${result.checks} checks`);
    assert.ok(result.waitedMs >= 250 && result.waitedMs < 15_000, `waited ${result.waitedMs} ms`);
  });

  test('idle at the first check when already idle', async () => {
    const result = await waitUntilIdle({ command: 'true', pollMs: 10_000, maxWaitMs: 60_000 }, { cwd: dir.path, timeoutMs: 5000 });
    assert.deepEqual([result.idle, result.checks], [true, 1]);
  });

  test('gives up at maxWait', async () => {
    const result = await waitUntilIdle({ command: 'false', pollMs: 50, maxWaitMs: 400 }, { cwd: dir.path, timeoutMs: 5000 });
    assert.equal(result.idle, false);
    assert.equal(result.aborted, false);
    assert.ok(result.checks >= 2, `${result.checks} checks`);
    assert.ok(result.waitedMs >= 400 && result.waitedMs < 10_000, `waited ${result.waitedMs} ms`);
  });

  test('the clock is injectable: maxWait measured on it', async () => {
    let fake = 0;
    const now = (): number => (fake += 1000);
    const result = await waitUntilIdle({ command: 'false', pollMs: 1, maxWaitMs: 5000 }, { cwd: dir.path, timeoutMs: 5000, now });
    assert.equal(result.idle, false);
    assert.ok(result.checks <= 5, `${result.checks} checks`);
  });

  test('abort stops waiting early', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const result = await waitUntilIdle({ command: 'false', pollMs: 50, maxWaitMs: 60_000 }, { cwd: dir.path, timeoutMs: 5000, signal: controller.signal });
    assert.deepEqual([result.idle, result.aborted], [false, true]);
    assert.ok(Date.now() - started < 10_000);
  });
});

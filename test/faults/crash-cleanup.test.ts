/**
 * A restart during crash clean-up (issue #16). The crashed run leaves a process behind whose SIGTERM trap blocks on a
 * fifo: the clean-up is held open exactly as long as the test wants, with no sleeps deciding the race. While it is
 * held, a user `start` and `restart` land. The clean-up must go through the service's queue (they wait for it), spare
 * the run that replaces the crashed one, and the service must never look `running` without a pid.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers.ts';
import { alive, Sandbox } from '../support.ts';

const SUITE = { timeout: 90_000 };

/** First run: a background child whose TERM trap blocks reading the fifo, then exit 1. Later runs: a plain sleep. */
function crashingService(dir: string): string {
  const leftover = `trap 'touch ${dir}/trapped; read line < ${dir}/release; exit 0' TERM; touch ${dir}/leftover-ready; while :; do sleep 0.05; done`;
  return [
    `if [ -e ${dir}/first.done ]; then exec sleep 1000; fi`,
    `touch ${dir}/first.done`,
    `sh -c "${leftover}" &`,
    `until [ -e ${dir}/leftover-ready ]; do sleep 0.01; done`,
    'exit 1',
  ].join('\n');
}

describe('a restart during crash clean-up', SUITE, () => {
  let box: Sandbox;
  before(async () => {
    box = new Sandbox([]);
    spawnSync('mkfifo', [box.path('release')]);
    box.writeConfig([{ name: 'svc', command: crashingService(box.dir), restart: 'always', restart_sec: 0, stop_timeout: 60 }]);
    await box.startSupervisor();
  });
  after(() => box?.cleanup());

  test('start and restart wait for the clean-up, never answer "pid null", and the new run is spared', async () => {
    await waitFor(() => existsSync(box.path('trapped')), 20_000, 'the clean-up to reach the leftover (its trap blocks on the fifo)');
    // state.json is written at most every 50 ms: the crash reaches it shortly after the clean-up's first signal
    const pidless: string[] = [];
    const during = await waitFor(() => {
      const seen = box.service('svc')!;
      if (seen.state === 'running' && seen.pid === null) pidless.push(JSON.stringify(seen));
      return seen.restarts > 0 || seen.last_exit !== null ? seen : null;
    }, 2_000, 'state.json to record the crash');
    assert.deepEqual(pidless, [], 'status never shows running without a pid');
    assert.notEqual(during.state, 'running', `no process of the service runs: it is not running: ${JSON.stringify(during)}`);
    const statusJson = await box.cli(['status', 'svc', '--json']);
    const shown = (JSON.parse(statusJson.stdout) as { services: Array<{ state: string; pid: number | null }> }).services[0]!;
    assert.ok(!(shown.state === 'running' && shown.pid === null), `status --json: ${statusJson.stdout}`);

    const start = box.cli(['start', 'svc'], { timeoutMs: 60_000 });
    const restart = box.cli(['restart', 'svc'], { timeoutMs: 60_000 });
    // Held by the fifo: nothing may start beside the leftover while the clean-up runs
    await delay(300);
    assert.equal(existsSync(box.path('trapped')), true);
    assert.equal(box.eventsOf('svc', 'started').length, 1, 'no run starts while the clean-up is under way');

    writeFileSync(box.path('release'), 'go\n'); // unblocks the trap: the leftover exits, the clean-up ends
    const [started, restarted] = await Promise.all([start, restart]);
    assert.doesNotMatch(started.stdout + started.stderr, /pid null/);
    assert.match(restarted.stdout, /^restarted svc \(pid \d+\)/m);
    const running = await box.waitForState('svc', 'running');
    const pid = running.pid!;
    assert.equal(Number(/pid (\d+)/.exec(restarted.stdout)![1]), pid);
    // The sweep of the crashed run is over and never reached the new run: one copy, and it stays
    await delay(500);
    assert.ok(alive(pid), 'the run that replaced the crashed one is alive');
    assert.deepEqual(box.serviceProcesses('svc'), [pid], 'exactly one process of the service');
    assert.equal(box.eventsOf('svc', 'crashed').length, 1, 'one crash, no storm');
    assert.ok(box.eventsOf('svc', 'started').length <= 3, `initial + automatic restart + user restart at most: ${box.eventsOf('svc', 'started').length}`);
  });
});

/** Why a service crashed, where the user looks: its last stderr line on the console, in events and in `status`. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers.ts';
import { Sandbox, type Supervisor } from '../support.ts';

describe('the last stderr line of a crash', { timeout: 90_000 }, () => {
  let box: Sandbox;
  let supervisor: Supervisor;
  before(async () => {
    box = new Sandbox([
      // A typo in the program: the shell says so on stderr and exits 127; it gives up, then waits out its cool-down
      { name: 'web', command: 'pyhton3-rc-typo -m http.server', restart: 'on-failure', restart_max: 1, restart_cooldown: '10m' },
      // stderr first, stdout after: the cause is the stderr line, with log_timestamps' prefix left out
      { name: 'worker', command: 'echo "boom: bad input" >&2; echo "after the error"; sleep 0.2; exit 3', log_timestamps: true, restart: 'no' },
      { name: 'quiet', command: 'exec sleep 1000' },
    ]);
    supervisor = await box.startSupervisor();
  });
  after(() => box?.cleanup());

  test('crashed and gave_up events carry it, and so does the console line', async () => {
    const [gaveUp] = await box.waitForEvent('web', 'gave_up');
    assert.match(String(gaveUp!.last_stderr), /pyhton3-rc-typo: (command )?not found/);
    for (const crashed of box.eventsOf('web', 'crashed')) assert.equal(crashed.last_stderr, gaveUp!.last_stderr);
    assert.ok(typeof gaveUp!.retry_at === 'string' && Date.parse(gaveUp!.retry_at) > Date.now() + 9 * 60_000, JSON.stringify(gaveUp));
    await waitFor(() => /web restart limit 1 in 60s reached - giving up until .* \(restart_cooldown\) - stderr: \S.*pyhton3-rc-typo: (command )?not found/.test(supervisor.output()),
      5_000, `the console line\n${supervisor.output()}`);
    const [workerCrash] = await box.waitForEvent('worker', 'crashed');
    assert.equal(workerCrash!.last_stderr, 'boom: bad input');
    assert.match(supervisor.output(), /worker exited unexpectedly \(exit code 3\) - not restarting.* - stderr: boom: bad input\n/);
  });

  test('status shows it under the table, with when a cooled-down service is tried again', async () => {
    await box.waitForState('worker', 'failed');
    await box.waitForState('web', 'failed');
    const status = await box.cli(['status']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^web\s+failed \(retry at \d\d:\d\d:\d\d, in (9m \d+s|10m 0s)\)\s+-/m);
    assert.match(status.stdout, /^web failed: exit code 127: \S.*pyhton3-rc-typo: (command )?not found$/m);
    assert.match(status.stdout, /^worker failed: exit code 3: boom: bad input$/m);
    assert.doesNotMatch(status.stdout, /^quiet (failed|crashed)/m);
    const json = JSON.parse((await box.cli(['status', '--json'])).stdout) as { services: Array<{ name: string; last_stderr: string | null; retry_at: string | null }> };
    const byName = new Map(json.services.map((service) => [service.name, service]));
    assert.equal(byName.get('worker')!.last_stderr, 'boom: bad input');
    assert.equal(byName.get('worker')!.retry_at, null, 'no cool-down: no retry time');
    assert.ok(byName.get('web')!.retry_at);
    assert.equal(byName.get('quiet')!.last_stderr, null);
  });

  test('a user start ends the wait; a stop forgets the cause', async () => {
    const started = await box.cli(['start', 'worker']);
    assert.equal(started.code, 0, started.stderr);
    const stopped = await box.cli(['stop', 'web']);
    assert.equal(stopped.code, 0, stopped.stderr);
    await box.waitForState('web', 'stopped');
    const web = box.service('web')!;
    assert.equal(web.retry_at, null);
    const status = await box.cli(['status']);
    assert.doesNotMatch(status.stdout, /^web (failed|crashed)/m);
  });
});

/** output_silence end to end: a silent service turns unhealthy at once; a chatty one stays healthy; the restart resets it. */
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { waitFor } from '../helpers.ts';
import { FAST, Sandbox, type ServiceSpec } from '../support.ts';

describe('output_silence', { timeout: 60_000 }, () => {
  let box: Sandbox;
  const services: ServiceSpec[] = [
    { name: 'quiet', command: 'echo hello; exec sleep 1000', health: { output_silence: '1s', interval: '200ms', on_unhealthy: 'none' } },
    { name: 'chatty', command: 'while true; do echo tick; sleep 0.2; done', health: { output_silence: '1s', interval: '200ms' } },
    { name: 'restarted', command: 'exec sleep 1000', restart_sec: 0.2, health: { output_silence: '1s', interval: '200ms' } },
  ];
  before(async () => {
    box = new Sandbox(services);
    writeFileSync(box.configFile, stringify({ state_dir: 'state', services: services.map((service) => ({ ...FAST, ...service })) }));
    await box.startSupervisor();
  });
  after(() => box?.cleanup());

  test('no output line for output_silence: unhealthy at once, once, with the words of the issue', async () => {
    const [event] = await box.waitForEvent('quiet', 'unhealthy', 1, 10_000);
    assert.equal(event!.error, 'no output for 1s');
    assert.equal(event!.failures, 1);
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.equal(box.eventsOf('quiet', 'unhealthy').length, 1);
    assert.equal(box.service('quiet')!.health!.status, 'unhealthy');
  });
  test('output every 200 ms keeps it healthy', async () => {
    await waitFor(() => box.service('chatty')?.health?.status === 'healthy', 5_000, 'chatty healthy');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(box.eventsOf('chatty', 'unhealthy').length, 0);
  });
  test('on_unhealthy: restart restarts a silent service, and each run gets the full silence again', async () => {
    await box.waitForEvent('restarted', 'restarting', 2, 15_000);
    const [first, second] = box.eventsOf('restarted', 'unhealthy');
    assert.ok(Date.parse(second!.time) - Date.parse(first!.time) >= 1000, `${first!.time} → ${second!.time}`);
  });
});

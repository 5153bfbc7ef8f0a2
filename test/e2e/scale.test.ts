/**
 * 200 services SIGKILLed at once through the real supervisor (issue #17): every one back on a new pid within a
 * generous bound, no duplicates, every crash in events.jsonl, and the control socket answering during the storm.
 * The bounds are loose on purpose (2 cores shared with other suites); speed targets live in bench/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { sendControlRequest } from '../../lib/control/client.ts';
import { socketPath } from '../../lib/config/paths.ts';
import { waitFor } from '../helpers.ts';
import { alive, markedProcesses, Sandbox } from '../support.ts';

const COUNT = 200;
const SUITE = { timeout: 240_000 };

describe(`${COUNT} services killed at once`, SUITE, () => {
  let box: Sandbox;
  before(async () => {
    box = new Sandbox(Array.from({ length: COUNT }, (_, i) => ({ name: `s${i}`, command: ['sleep', '1000'], restart: 'always', restart_sec: 0, min_uptime: '1s', stop_timeout: 5 })));
    await box.startSupervisor({ timeoutMs: 120_000 });
  });
  after(() => box?.cleanup());

  const runningPids = (): Map<string, number> | null => {
    const services = box.state()?.services ?? [];
    if (services.length !== COUNT || services.some((service) => service.state !== 'running' || service.pid === null)) return null;
    return new Map(services.map((service) => [service.name, service.pid!]));
  };

  test('all back on new pids, one copy each, every crash recorded, the socket answering throughout', async () => {
    const before = await waitFor(runningPids, 60_000, `${COUNT} services running`, 50);
    await delay(1_200); // past min_uptime: the restarts are immediate, not crash-loop paced
    const pings: number[] = [];
    let failures = 0;
    let storming = true;
    const pinger = (async () => {
      while (storming) {
        const started = performance.now();
        try {
          await sendControlRequest(socketPath(box.stateDir), { command: 'ping' });
          pings.push(performance.now() - started);
        } catch {
          failures++;
        }
        await delay(25);
      }
    })();
    const killedAt = performance.now();
    for (const pid of before.values()) process.kill(pid, 'SIGKILL');
    const after = await waitFor(() => {
      const now = runningPids();
      return now && [...now].every(([name, pid]) => pid !== before.get(name) && alive(pid)) ? now : null;
    }, 90_000, `every service on a new pid`, 50);
    const stormMs = performance.now() - killedAt;
    storming = false;
    await pinger;

    assert.equal(failures, 0, `every ping answered (${pings.length} answered)`);
    assert.ok(pings.length >= 1, 'pinged during the storm');
    const byMarker = new Map<string, number[]>();
    for (const { pid, marker } of markedProcesses(box.markerPrefix)) byMarker.set(marker, [...(byMarker.get(marker) ?? []), pid]);
    assert.equal(byMarker.size, COUNT, 'one marker per service');
    for (const [name, pid] of after) assert.deepEqual(byMarker.get(`${box.markerPrefix}${name}`), [pid], `${name}: exactly one process, the one in state.json`);
    await waitFor(() => box.events().filter((event) => event.event === 'crashed').length >= COUNT, 10_000, 'every crash in events.jsonl');
    const crashes = box.events().filter((event) => event.event === 'crashed');
    assert.equal(crashes.length, COUNT);
    assert.deepEqual(new Set(crashes.map((event) => event.service)).size, COUNT);
    assert.ok(crashes.every((event) => event.signal === 'SIGKILL' && event.will_restart === true));
    const ping = [...pings].sort((a, b) => a - b);
    process.stdout.write(`# ${COUNT} services back in ${Math.round(stormMs)} ms; ${ping.length} pings, median ${Math.round(ping[ping.length >> 1]!)} ms, max ${Math.round(ping.at(-1)!)} ms\n`);
  });
});

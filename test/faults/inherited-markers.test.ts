/**
 * A supervisor started from inside a managed service (a Jupyter cell, jupyterlab supervised) inherits that service's
 * RESTART_CONTROL_SERVICE / RESTART_CONTROL_RUN. Its hooks, probes and notify commands must not carry them, or they
 * look like members of that service's tree and die with its stops.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { test } from 'node:test';
import { waitFor } from '../helpers.ts';
import { Sandbox } from '../support.ts';

test('the supervisor drops inherited markers: its notify commands and hooks do not carry them', async (t) => {
  const box = new Sandbox([]);
  t.after(() => box.cleanup());
  const notifyEnv = box.path('notify.env');
  const hookEnv = box.path('hook.env');
  writeFileSync(box.configFile, stringify({
    state_dir: 'state',
    services: [{ name: 'api', command: ['sleep', '1000'], stop_timeout: 0.5 }],
    hooks: { pre_restart: [`env > ${hookEnv}`] },
    notify: { command: `env > ${notifyEnv}` },
  }));
  const supervisor = await box.startSupervisor({ env: { RESTART_CONTROL_SERVICE: 'outer-hash/jupyterlab', RESTART_CONTROL_RUN: '4242.7' } });
  assert.equal((await box.cli(['force-restart'], { timeoutMs: 60_000 })).code, 0);
  await waitFor(() => existsSync(hookEnv) && existsSync(notifyEnv), 15_000, 'hook and notify command ran');
  for (const file of [hookEnv, notifyEnv]) {
    const env = readFileSync(file, 'utf8');
    assert.doesNotMatch(env, /^RESTART_CONTROL_SERVICE=outer-hash/m, `${file} carries the inherited marker`);
    assert.doesNotMatch(env, /^RESTART_CONTROL_RUN=4242\.7$/m, `${file} carries the inherited run`);
  }
  // The service itself carries its own marker, not the inherited one
  const pid = (await box.waitForState('api', 'running')).pid!;
  const serviceEnv = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  assert.ok(serviceEnv.some((entry) => entry.startsWith(`RESTART_CONTROL_SERVICE=${box.markerPrefix}api`)));
  supervisor.child!.kill('SIGTERM');
  assert.equal((await supervisor.exited).code, 0);
});

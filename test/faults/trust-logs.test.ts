/**
 * Faults: logs that a reload must reach, and the detached supervisor's own log. Real ./run.ts, real files, /proc fds.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { stringify } from 'yaml';
import { waitFor } from '../helpers.ts';
import { FAST, sandbox, type Sandbox } from '../support.ts';

const SUITE = { timeout: 120_000 };
const TALKER = `i=0; while true; do i=$((i+1)); echo "line $i of forty bytes ........."; sleep 0.02; done`;

function writeConfig(box: Sandbox, doc: Record<string, unknown>): void {
  writeFileSync(box.configFile, stringify({ state_dir: 'state', ...doc }));
}

/** Paths the process has open. */
function openFiles(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try { return readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { return ''; }
  });
}

describe('reloading the logs section', SUITE, () => {
  test('max_size and keep apply to the open file at once, dir moves it, and a removed service\'s log is closed', async (t) => {
    const box = sandbox(t, []);
    const services = [{ name: 'a', command: TALKER, ...FAST }, { name: 'b', command: TALKER, ...FAST }];
    writeConfig(box, { services, logs: { compress: false } });
    const supervisor = await box.startSupervisor();
    const logs = join(box.stateDir, 'logs');
    await waitFor(() => existsSync(join(logs, 'a.log')) && statSync(join(logs, 'a.log')).size > 3000, 10_000, 'a.log over 3 KB');
    // Rotated files from an earlier, longer keep
    for (const index of [3, 4, 5]) writeFileSync(join(logs, `a.log.${index}`), 'old\n');

    writeConfig(box, { services, logs: { compress: false, max_size: 1000, keep: 2 } });
    assert.equal((await box.cli(['reload'])).code, 0);
    await waitFor(() => !existsSync(join(logs, 'a.log.3')) && !existsSync(join(logs, 'a.log.5')), 5_000, 'rotated files past keep 2 deleted');
    // The file already over the new max_size rotated at once (whole, as it was); the next ones hold ≤ 1000 bytes each
    const sizes = () => ['a.log', 'a.log.1', 'a.log.2'].map((name) => (existsSync(join(logs, name)) ? statSync(join(logs, name)).size : -1));
    await waitFor(() => sizes().every((size) => size >= 0 && size <= 1000), 10_000, `every file at the new max_size (${sizes()})`);
    assert.equal(existsSync(join(logs, 'a.log.3')), false, 'never more than keep');

    // b leaves the config, and the logs move to another folder
    writeConfig(box, { services: [services[0]], logs: { compress: false, max_size: 1000, keep: 2, dir: 'logs2' } });
    assert.equal((await box.cli(['reload'])).code, 0);
    const moved = join(box.stateDir, 'logs2', 'a.log');
    await waitFor(() => existsSync(moved) && /line \d+/.test(readFileSync(moved, 'utf8')), 5_000, 'a writes into logs2/');
    await waitFor(() => !openFiles(supervisor.pid).some((path) => path.endsWith('/b.log')), 5_000, 'b.log closed');
    await waitFor(() => !openFiles(supervisor.pid).some((path) => path === join(logs, 'a.log')), 5_000, 'the old a.log closed');
    const sizeThen = statSync(join(logs, 'a.log')).size;
    await delay(300);
    assert.equal(statSync(join(logs, 'a.log')).size, sizeThen, 'the old path no longer grows');
    process.kill(supervisor.pid, 'SIGTERM');
    await supervisor.exited;
  });
});

describe('supervisor.log', SUITE, () => {
  test('a detached supervisor\'s own output rotates at logs.max_size and keeps logs.keep files', async (t) => {
    const box = sandbox(t, []);
    writeConfig(box, {
      services: [{ name: 'crash', command: 'exit 1', restart: 'always', restart_sec: 0.05, stop_timeout: 0.5 }],
      logs: { compress: false, max_size: 1500, keep: 2 },
    });
    const started = await box.run(['--detach']);
    assert.equal(started.code, 0, started.stderr);
    const pid = Number(readFileSync(join(box.stateDir, 'supervisor.pid'), 'utf8'));
    box.track(pid);
    const file = join(box.stateDir, 'supervisor.log');
    await waitFor(() => existsSync(`${file}.2`), 20_000, 'supervisor.log rotated twice');
    await delay(500);
    for (const name of ['supervisor.log', 'supervisor.log.1', 'supervisor.log.2']) {
      const path = join(box.stateDir, name);
      if (existsSync(path)) assert.ok(statSync(path).size <= 1500, `${name}: ${statSync(path).size} bytes`);
    }
    assert.equal(existsSync(`${file}.3`), false, 'keep 2');
    assert.match(readFileSync(`${file}.1`, 'utf8'), /crash/);
    assert.equal((await box.cli(['shutdown'])).code, 0);
    await waitFor(() => !existsSync(join(box.stateDir, 'supervisor.pid')), 15_000, 'supervisor gone');
  });
});

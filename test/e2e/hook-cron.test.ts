/**
 * install-hook / uninstall-hook cron through ./restart-control.ts, against the real crontab program in a private mount
 * namespace, so the machine's own crontab is never touched. Skipped, saying why, where that is not possible.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findProgram } from '../../lib/boot/exec.ts';
import { makeTempDir } from '../helpers.ts';
import { RUN, Sandbox, cleanEnv, runCommand } from '../support.ts';

const temp = makeTempDir('rc-hook-cron-');
after(() => temp.remove());

/**
 * A `crontab` first on PATH that runs the real /usr/bin/crontab with a private spool folder bind-mounted over
 * /var/spool/cron/crontabs (unshare -m): real crontab parsing and files, and the machine's crontab untouched.
 * null when that is not possible here (no crontab, or no permission to unshare).
 */
function isolatedCrontab(): { path: string; crontab: (args: string[], input?: string) => { code: number | null; stdout: string } } | null {
  const real = findProgram('crontab', { PATH: '/usr/bin:/bin' });
  const unshare = findProgram('unshare', { PATH: '/usr/bin:/bin' });
  if (!real || !unshare || !existsSync('/var/spool/cron/crontabs')) return null;
  if (spawnSync(unshare, ['-m', 'true']).status !== 0) return null;
  const dir = temp.fresh();
  const spool = join(dir, 'spool');
  mkdirSync(spool, { mode: 0o1730 });
  spawnSync('chgrp', ['crontab', spool]);
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const wrapper = join(bin, 'crontab');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${unshare} -m /bin/sh -c 'mount --bind "$0" /var/spool/cron/crontabs && exec ${real} "$@"' '${spool}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  const path = `${bin}:${process.env.PATH}`;
  return {
    path,
    crontab: (args, input) => {
      const result = spawnSync(wrapper, args, { input: input ?? '', encoding: 'utf8' });
      return { code: result.status, stdout: result.stdout };
    },
  };
}

describe('install-hook cron', () => {
  const USER_CRONTAB = 'MAILTO=""\n# my own jobs\n0 1 * * *  echo "nightly 100\\%"  >/dev/null\n@hourly /usr/bin/true # restart-control: not a path of ours\n';

  it('keeps every other line byte for byte, is idempotent, two configs coexist, uninstall removes exactly its own', async (t) => {
    const cron = isolatedCrontab();
    if (!cron) {
      t.skip('crontab (Debian package cron) or unshare -m is not available: cannot test without touching the machine\'s crontab');
      return;
    }
    assert.equal(cron.crontab(['-'], USER_CRONTAB).code, 0);
    const env = { PATH: cron.path };
    const a = new Sandbox([{ name: 'a', command: 'exec sleep 100' }]);
    const b = new Sandbox([{ name: 'b', command: 'exec sleep 100' }]);
    t.after(() => a.cleanup());
    t.after(() => b.cleanup());

    const dry = await a.cli(['install-hook', 'cron', '--dry-run'], { env: cleanEnv(env) });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /dry run, nothing changed/);
    assert.equal(cron.crontab(['-l']).stdout, USER_CRONTAB);

    for (const sandbox of [a, a, b]) {
      const result = await sandbox.cli(['install-hook', 'cron'], { env: cleanEnv(env) });
      assert.equal(result.code, 0, result.stderr);
    }
    const installed = cron.crontab(['-l']).stdout;
    assert.ok(installed.startsWith(USER_CRONTAB), installed);
    const added = installed.slice(USER_CRONTAB.length).split('\n').filter(Boolean);
    assert.equal(added.length, 4, `two lines per config, once each:\n${installed}`);
    for (const sandbox of [a, b]) {
      const own = added.filter((line) => line.endsWith(` # restart-control: ${sandbox.configFile}`));
      assert.deepEqual(own.map((line) => line.split(' mkdir')[0]), ['@reboot', '*/5 * * * *']);
      assert.ok(own.every((line) => line.includes(`'${RUN}' --config '${sandbox.configFile}' --detach >> '${join(sandbox.stateDir, 'hook.log')}' 2>&1`)));
    }
    const again = await a.cli(['install-hook', 'cron'], { env: cleanEnv(env) });
    assert.match(again.stdout, /already installed/);

    const removedA = await a.cli(['uninstall-hook', 'cron'], { env: cleanEnv(env) });
    assert.equal(removedA.code, 0, removedA.stderr);
    const afterA = cron.crontab(['-l']).stdout;
    assert.ok(afterA.startsWith(USER_CRONTAB));
    assert.equal(afterA.split('\n').filter((line) => line.includes(a.configFile)).length, 0);
    assert.equal(afterA.split('\n').filter((line) => line.includes(b.configFile)).length, 2);
    await b.cli(['uninstall-hook', 'cron'], { env: cleanEnv(env) });
    assert.equal(cron.crontab(['-l']).stdout, USER_CRONTAB, 'the crontab is back to its original bytes');
  });

  it('the line starts the supervisor from cron\'s bare environment before state_dir exists; a second run does nothing', async (t) => {
    const cron = isolatedCrontab();
    if (!cron) {
      t.skip('crontab (Debian package cron) or unshare -m is not available');
      return;
    }
    const sandbox = new Sandbox([{ name: 'sleeper', command: 'exec sleep 100' }]);
    t.after(() => sandbox.cleanup());
    const installed = await sandbox.cli(['install-hook', 'cron'], { env: cleanEnv({ PATH: cron.path }) });
    assert.equal(installed.code, 0, installed.stderr);
    const line = cron.crontab(['-l']).stdout.split('\n').find((item) => item.startsWith('*/5 * * * * '))!;
    // What cron does with it: the five time fields off, \% back to %, /bin/sh -c in $HOME with PATH=/usr/bin:/bin
    const command = line.replace(/^(\S+\s+){5}/, '').replaceAll('\\%', '%');
    assert.equal(existsSync(sandbox.stateDir), false);
    const bare = ['-i', 'PATH=/usr/bin:/bin', `HOME=${temp.path}`, 'SHELL=/bin/sh', '/bin/sh', '-c', command];
    const first = await runCommand('/usr/bin/env', bare, { cwd: temp.path, env: {} });
    assert.equal(first.code, 0, first.stderr);
    await sandbox.waitForState('sleeper', 'running');
    const log = join(sandbox.stateDir, 'hook.log');
    assert.match(readFileSync(log, 'utf8'), /supervisor started \(pid \d+\)/);
    const second = await runCommand('/usr/bin/env', bare, { cwd: temp.path, env: {} });
    assert.equal(second.code, 0);
    assert.match(readFileSync(log, 'utf8'), /already running \(pid \d+\)/);
    await sandbox.cli(['uninstall-hook', 'cron'], { env: cleanEnv({ PATH: cron.path }) });
  });

  it('without a crontab command: exit 1, one line naming the cron package and the other hooks', async () => {
    const bin = temp.fresh();
    symlinkSync(process.execPath, join(bin, 'node'));
    const sandbox = new Sandbox([{ name: 'x', command: 'true' }]);
    after(() => sandbox.cleanup());
    const result = await sandbox.cli(['install-hook', 'cron'], { env: cleanEnv({ PATH: bin }) });
    assert.equal(result.code, 1);
    assert.equal(result.stderr.split('\n').filter(Boolean).length, 1, result.stderr);
    assert.match(result.stderr, /^error: no crontab command found: install the Debian package cron .*install-hook jupyter or install-hook systemd/);
  });
});

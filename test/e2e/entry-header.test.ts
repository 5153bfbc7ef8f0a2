/**
 * Line 2 of the entry points, run by real shells (dash as /bin/sh, and bash) with NODE pointing at a fake node that
 * prints what it was given: which file runs (bundle or sources through tsx) and whether NODE_EXTRA_CA_CERTS survives.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTempDir } from '../helpers.ts';
import { ROOT } from '../support.ts';

const temp = makeTempDir('rc-header-');
after(() => temp.remove());

const FAKE_NODE = '#!/bin/sh\nprintf "ca=%s args=%s\\n" "${NODE_EXTRA_CA_CERTS:-}" "$*"\n';
const SHELLS = ['/bin/sh', 'bash'].filter((shell) => spawnSync(shell, ['-c', 'true']).status === 0);

const MINUTE_AGO = () => new Date(Date.now() - 60_000);
const TWO_MINUTES_AGO = () => new Date(Date.now() - 120_000);

/**
 * A project folder with the two entry points, a lib file at the top and one in a subfolder, and `dist` as asked.
 * Every time is set explicitly and far apart: a "newer" file written in the same millisecond as the bundle is not newer.
 */
function project(options: { dist: 'none' | 'fresh' | 'stale' | 'stale-subfolder' | 'same-time' }): string {
  const dir = temp.fresh();
  for (const entry of ['run.ts', 'restart-control.ts']) copyFileSync(join(ROOT, entry), join(dir, entry));
  mkdirSync(join(dir, 'lib', 'logs'), { recursive: true });
  writeFileSync(join(dir, 'lib', 'cli.ts'), 'export {};\n');
  writeFileSync(join(dir, 'lib', 'logs', 'rotate.ts'), 'export {};\n');
  writeFileSync(join(dir, 'node'), FAKE_NODE);
  chmodSync(join(dir, 'node'), 0o755);
  const sources = ['run.ts', 'restart-control.ts', 'lib/cli.ts', 'lib/logs/rotate.ts'];
  for (const file of sources) utimesSync(join(dir, file), TWO_MINUTES_AGO(), TWO_MINUTES_AGO());
  if (options.dist === 'none') return dir;
  mkdirSync(join(dir, 'dist'));
  const bundleTime = MINUTE_AGO();
  for (const bundle of ['run.cjs', 'restart-control.cjs']) {
    writeFileSync(join(dir, 'dist', bundle), '');
    utimesSync(join(dir, 'dist', bundle), bundleTime, bundleTime);
  }
  const touch = (file: string, time: Date) => utimesSync(join(dir, file), time, time);
  if (options.dist === 'stale') touch('lib/cli.ts', new Date());
  if (options.dist === 'stale-subfolder') touch('lib/logs/rotate.ts', new Date());
  if (options.dist === 'same-time') touch('lib/cli.ts', bundleTime);
  return dir;
}

function runEntry(shell: string, dir: string, entry: string, args: string[]): string {
  const result = spawnSync(shell, [join(dir, entry), ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, NODE: join(dir, 'node'), NODE_EXTRA_CA_CERTS: '/etc/ca.pem' },
  });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim();
}

describe('the entry points\' /bin/sh header', () => {
  for (const shell of SHELLS) {
    test(`${shell}: the bundle when it is fresh, the sources through tsx when it is missing, older than lib/ or a subfolder, or tied`, () => {
      const fresh = project({ dist: 'fresh' });
      assert.match(runEntry(shell, fresh, 'restart-control.ts', ['status']), new RegExp(`args=${fresh}/dist/restart-control\\.cjs status$`));
      assert.match(runEntry(shell, fresh, 'run.ts', ['--detach']), new RegExp(`args=--max-semi-space-size=1 --no-turbofan ${fresh}/dist/run\\.cjs --detach$`));
      for (const dist of ['none', 'stale', 'stale-subfolder', 'same-time'] as const) {
        const dir = project({ dist });
        const printed = runEntry(shell, dir, 'restart-control.ts', ['status']);
        assert.match(printed, new RegExp(`--import ${dir}/node_modules/tsx/dist/loader\\.mjs ${dir}/restart-control\\.ts status$`), `dist ${dist}`);
      }
    });

    test(`${shell}: the CLI drops NODE_EXTRA_CA_CERTS except for notify; the supervisor keeps it`, () => {
      const dir = project({ dist: 'fresh' });
      assert.match(runEntry(shell, dir, 'restart-control.ts', ['status', '--json']), /^ca= /);
      assert.match(runEntry(shell, dir, 'restart-control.ts', ['--config', 'x.yaml', 'notify', 'test']), /^ca=\/etc\/ca\.pem /);
      assert.match(runEntry(shell, dir, 'run.ts', []), /^ca=\/etc\/ca\.pem /);
    });
  }
});

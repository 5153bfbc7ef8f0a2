/** `status`'s fast path (lib/cli.ts plainStatus) and the commander path it hands everything else to. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { plainStatus } from '../../lib/cli/main.ts';
import { CLI, runCommand } from '../support.ts';
import { makeTempDir } from '../helpers.ts';

describe('plainStatus', () => {
  test('takes status with names, --json and --config before or after the subcommand', () => {
    assert.deepEqual(plainStatus(['status']), { names: [], json: false, config: undefined });
    assert.deepEqual(plainStatus(['status', '--json']), { names: [], json: true, config: undefined });
    assert.deepEqual(plainStatus(['--config', 'a.yaml', 'status', 'web', 'worker_2']), { names: ['web', 'worker_2'], json: false, config: 'a.yaml' });
    assert.deepEqual(plainStatus(['status', 'web', '--json', '--config=b c.yaml']), { names: ['web'], json: true, config: 'b c.yaml' });
  });

  test('leaves every other shape to commander', () => {
    for (const argv of [
      [], ['logs'], ['stop', 'status'], ['status', '--help'], ['status', '-h'], ['status', '--json', '--json'],
      ['status', '-x'], ['status', '--'], ['status', 'Web'], ['--config', 'a', '--config', 'b', 'status'],
      ['status', '--config'], ['status', '--config', '--json'], ['--config=', 'status'], ['status', 'status'],
    ]) {
      const parsed = plainStatus(argv);
      // `status status` asks for a service named "status": a name, not a second subcommand
      if (argv.join(' ') === 'status status') assert.deepEqual(parsed, { names: ['status'], json: false, config: undefined });
      else assert.equal(parsed, null, argv.join(' '));
    }
  });
});

describe('status through the CLI', { timeout: 30_000 }, () => {
  const temp = makeTempDir('rc-cli-status-');
  after(() => temp.remove());

  test('help and usage errors still come from commander', async () => {
    const help = await runCommand(CLI, ['status', '--help'], { cwd: temp.fresh() });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: restart-control status \[options\] \[service\.\.\.\]/);
    const bad = await runCommand(CLI, ['status', '-x'], { cwd: temp.fresh() });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown option '-x'/);
  });

  test('without a supervisor: exit 3 and the JSON shape, through the fast path', async () => {
    const cwd = temp.fresh();
    writeFileSync(join(cwd, 'idle.yaml'), 'services:\n  - name: web\n    command: sleep 1000\n');
    const result = await runCommand(CLI, ['status', '--json', '--config', 'idle.yaml'], { cwd });
    assert.equal(result.code, 3, result.stderr);
    const report = JSON.parse(result.stdout) as { supervisor: { running: boolean; pid: number | null }; services: unknown[] };
    assert.deepEqual(report.supervisor, { running: false, pid: null });
    assert.deepEqual(report.services, []);
  });
});

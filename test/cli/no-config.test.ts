/** No config file: every command says so, naming the paths it tried, exit 2; "not running" (exit 3) only with a config. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../helpers.ts';
import { CLI, RUN, Sandbox, cleanEnv, runCommand } from '../support.ts';

const temp = makeTempDir('rc-no-config-');
after(() => temp.remove());

function assertNoConfig(result: { code: number | null; stdout: string; stderr: string }, ...named: RegExp[]): void {
  assert.equal(result.code, 2, `exit 2\n${result.stdout}${result.stderr}`);
  assert.doesNotMatch(result.stdout, /not running/);
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, /^no config file: /);
  for (const pattern of named) assert.match(lines[0]!, pattern);
}

describe('no config file', { timeout: 60_000 }, () => {
  // A supervisor for another config runs meanwhile: it must not make `status` here answer "not running"
  let other: Sandbox;
  before(async () => {
    other = new Sandbox([{ name: 'web', command: 'exec sleep 1000' }]);
    await other.startSupervisor();
  });
  after(() => other?.cleanup());

  test('status in a folder without restart-control.yaml names all three places, exit 2', async () => {
    const cwd = temp.fresh();
    for (const args of [['status'], ['status', '--json'], ['status', 'web']]) {
      const result = await runCommand(CLI, args, { cwd });
      assertNoConfig(result, /--config/, /\$RESTART_CONTROL_CONFIG/, /\.\/restart-control\.yaml/, new RegExp(`${cwd}/restart-control\\.yaml`));
    }
  });

  test('--config and $RESTART_CONTROL_CONFIG that point nowhere are named', async () => {
    const cwd = temp.fresh();
    assertNoConfig(await runCommand(CLI, ['status', '--config', 'missing.yaml'], { cwd }), new RegExp(`${cwd}/missing\\.yaml \\(--config\\)`));
    const env = cleanEnv({ RESTART_CONTROL_CONFIG: join(cwd, 'from-env.yaml') });
    assertNoConfig(await runCommand(CLI, ['status'], { cwd, env }), /from-env\.yaml \(\$RESTART_CONTROL_CONFIG/);
  });

  test('every other command, and ./run.ts, says the same', async () => {
    const cwd = temp.fresh();
    for (const args of [['stop', 'web'], ['restart'], ['shutdown'], ['logs'], ['events'], ['config', '--check'], ['enable'], ['next']]) {
      assertNoConfig(await runCommand(CLI, args, { cwd }), /\.\/restart-control\.yaml/);
    }
    assertNoConfig(await runCommand(RUN, [], { cwd }), /\.\/restart-control\.yaml/);
    const next = await runCommand(CLI, ['next', '--cron', '0 * * * *', '--count', '1'], { cwd });
    assert.equal(next.code, 0, `next --cron needs no config\n${next.stderr}`);
  });

  test('with a config and no supervisor, status still exits 3; a config moved away keeps its state reachable', async () => {
    const cwd = temp.fresh();
    writeFileSync(join(cwd, 'restart-control.yaml'), 'services:\n  - name: web\n    command: sleep 1000\n');
    const idle = await runCommand(CLI, ['status'], { cwd });
    assert.equal(idle.code, 3, idle.stderr);
    assert.match(idle.stdout, /supervisor: not running/);
    // The running sandbox's file is moved away: its state_dir, given by the environment, still answers
    renameSync(other.configFile, `${other.configFile}.moved`);
    try {
      const env = cleanEnv({ RESTART_CONTROL_STATE_DIR: other.stateDir });
      const running = await runCommand(CLI, ['status', '--config', other.configFile], { cwd, env });
      assert.equal(running.code, 0, running.stderr);
      assert.match(running.stdout, /web\s+running/);
    } finally {
      renameSync(`${other.configFile}.moved`, other.configFile);
    }
  });
});

/** Every unknown key in one run, each with a "did you mean"; empty argv elements; the one edit-distance function. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText } from '../../lib/config/load.ts';
import { closestMatch, editDistance } from '../../lib/core/suggest.ts';
import { ConfigError } from '../../lib/core/errors.ts';
import { makeTempDir, waitFor } from '../helpers.ts';
import { CLI, runCommand, sandbox } from '../support.ts';

function problems(text: string): string[] {
  try {
    parseConfigText(text, '/tmp/rc.yaml', {});
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('unknown keys', () => {
  const text = [
    'stat_dir: state', //                   1
    'services:', //                          2
    '  - name: web', //                      3
    '    command: sleep 1000', //            4
    '    restrat: always', //                5
    '    restart_secs: 5', //                6
    '    colour: blue', //                   7
    '  - name: worker', //                   8
    '    command: sleep 1000', //            9
    '    stop_timout: 3', //                 10
    '    wait_idle: { comand: "true" }', //  11
    'schedule:', //                          12
    '  intervall: 6h', //                    13
    'notify:', //                            14
    '  webhooks:', //                        15
    '    - url: http://127.0.0.1:9/x', //    16
    '      retry: 3', //                     17
    '',
  ].join('\n');

  test('every one is named, each with the known key it is probably a typo of', () => {
    assert.deepEqual(problems(text), [
      'rc.yaml:1: stat_dir: unknown key (did you mean state_dir?)',
      'rc.yaml:5: services[0].restrat: unknown key (did you mean restart?)',
      'rc.yaml:6: services[0].restart_secs: unknown key (did you mean restart_sec?)',
      'rc.yaml:7: services[0].colour: unknown key',
      'rc.yaml:10: services[1].stop_timout: unknown key (did you mean stop_timeout?)',
      'rc.yaml:11: services[1].wait_idle.command: required key is missing',
      'rc.yaml:11: services[1].wait_idle.comand: unknown key (did you mean command?)',
      'rc.yaml:13: schedule.intervall: unknown key (did you mean interval?)',
      'rc.yaml:17: notify.webhooks[0].retry: unknown key (did you mean retries?)',
    ]);
  });

  test('config --check prints them all in one run and exits 2', async (t) => {
    const dir = makeTempDir('rc-unknown-');
    t.after(() => dir.remove());
    const file = join(dir.path, 'restart-control.yaml');
    writeFileSync(file, text);
    const result = await runCommand(CLI, ['config', '--check', '--config', file], { cwd: dir.path });
    assert.equal(result.code, 2, result.stderr);
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 9, result.stderr);
    assert.ok(lines.includes('restart-control.yaml:5: services[0].restrat: unknown key (did you mean restart?)'), result.stderr);
    assert.ok(lines.includes('restart-control.yaml:6: services[0].restart_secs: unknown key (did you mean restart_sec?)'), result.stderr);
  });

  test('keys of free maps (env, headers) are never unknown', () => {
    assert.deepEqual(problems([
      'services:',
      '  - name: web',
      '    command: sleep 1000',
      '    env: { RESTRAT: "1", restart: "2" }',
      'notify:',
      '  webhooks:',
      '    - url: http://127.0.0.1:9/x',
      '      headers: { X-Anything: y }',
      '',
    ].join('\n')), []);
  });
});

describe('argv lists', () => {
  test('an empty argument is a valid argv element', () => {
    const { config } = parseConfigText('services:\n  - name: cache\n    command: [sh, -c, "exit 0", sh, --save, ""]\n', '/tmp/rc.yaml', { PATH: process.env.PATH });
    assert.deepEqual(config.services[0]!.command, ['sh', '-c', 'exit 0', 'sh', '--save', '']);
  });

  test('a service started with an empty argument gets it', async (t) => {
    const box = sandbox(t, [{ name: 'args', command: ['/bin/sh', '-c', 'printf "%s args, last [%s]\\n" "$#" "$2"; exec sleep 100', 'sh', '--save', ''] }]);
    const check = await box.cli(['config', '--check']);
    assert.equal(check.code, 0, check.stderr);
    await box.startSupervisor();
    await waitFor(() => {
      try { return readFileSync(join(box.stateDir, 'logs', 'args.log'), 'utf8').includes('2 args, last []'); } catch { return false; }
    }, 10_000, 'the service to print its arguments');
  });

  test('only the program may not be empty', () => {
    assert.deepEqual(problems('services:\n  - name: cache\n    command: ["", --save]\n'), [
      'rc.yaml:3: services[0].command: expected the program (the first element of the list) to be non-empty',
    ]);
    assert.equal(problems('services:\n  - name: cache\n    command: []\n').length, 1);
  });
});

describe('closestMatch', () => {
  test('typos, swaps, missing and extra letters find their key; unrelated words find none', () => {
    assert.equal(editDistance('restrat', 'restart'), 1);
    assert.equal(closestMatch('restrat', ['restart', 'restart_sec']), 'restart');
    assert.equal(closestMatch('stop_timout', ['stop_signal', 'stop_timeout']), 'stop_timeout');
    assert.equal(closestMatch('retry', ['retries', 'timeout']), 'retries');
    assert.equal(closestMatch('colour', ['name', 'command', 'cwd', 'env']), null);
    assert.equal(closestMatch('x', ['cwd', 'env']), null);
  });
});

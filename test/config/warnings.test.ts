/** `config --check` warns (exit 0) when a string command's program is no executable on PATH or relative to cwd. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { programOfShellCommand } from '../../lib/config/warnings.ts';
import { makeTempDir } from '../helpers.ts';
import { CLI, runCommand } from '../support.ts';

describe('programOfShellCommand', () => {
  test('the first word, after assignments and exec; null where shell syntax could hide the program', () => {
    assert.equal(programOfShellCommand('pyhton3 app.py'), 'pyhton3');
    assert.equal(programOfShellCommand('  A=1 B=2 exec ./run.sh --x'), './run.sh');
    assert.equal(programOfShellCommand('"$VENV/bin/python" x'), null);
    assert.equal(programOfShellCommand('~/bin/x'), null);
    assert.equal(programOfShellCommand('(cd x && y)'), null);
  });
});

describe('config --check warnings', () => {
  test('a mistyped program is a warning naming file, line and key; the check still passes', async (t) => {
    const dir = makeTempDir('rc-warn-');
    t.after(() => dir.remove());
    writeFileSync(join(dir.path, 'ok.sh'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(dir.path, 'ok.sh'), 0o755);
    const file = join(dir.path, 'rc.yaml');
    writeFileSync(file, [
      'services:',
      '  - name: web', //                                          2
      '    command: pyhton3 -m http.server', //                    3
      '  - name: local', //                                        4
      '    command: ./ok.sh && ./missing.sh', //                   5
      '  - name: gone', //                                         6
      '    command: ./missing.sh', //                              7
      '  - name: shell', //                                        8
      '    command: while true; do sleep 1; done', //              9
      '  - name: venv', //                                         10
      '    command: exec "$VENV/bin/python" main.py', //           11
      '  - name: plain', //                                        12
      '    command: sleep 100', //                                 13
      '',
    ].join('\n'));
    const result = await runCommand(CLI, ['config', '--check', '--config', file], { cwd: '/' });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stderr.trimEnd().split('\n'), [
      'rc.yaml:3: services[0].command: warning: pyhton3: no such executable on PATH (only a warning: shell syntax may hide the real program)',
      `rc.yaml:7: services[2].command: warning: ./missing.sh: no such executable relative to ${dir.path} (only a warning: shell syntax may hide the real program)`,
    ]);
  });
});

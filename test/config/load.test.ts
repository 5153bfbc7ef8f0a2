/**
 * Config: bad files refused with one `file:line: key: message` line per problem (exit 2, no stack) by both entry
 * points; good files accepted; durations and sizes; a broken copy never disturbs a running supervisor.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../lib/config/load.ts';
import { parseDurationMs, parseSizeBytes } from '../../lib/config/duration.ts';
import { socketPath } from '../../lib/config/paths.ts';
import { makeTempDir } from '../helpers.ts';
import { CLI, ROOT, RUN, Sandbox, alive, cleanEnv, type Supervisor } from '../support.ts';

const temp = makeTempDir('rc-config-');
after(() => temp.remove());

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runSync(file: string, args: string[]): Ran {
  const result = spawnSync(file, args, { cwd: ROOT, env: cleanEnv(), encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function writeCase(name: string, text: string): string {
  const file = join(temp.path, name);
  writeFileSync(file, text);
  return file;
}

/** stderr lines; asserts the refusal shape shared by every bad config. */
function refusalLines(result: Ran, what: string): string[] {
  assert.equal(result.code, 2, `${what}: exit code\n${result.stdout}${result.stderr}`);
  assert.doesNotMatch(result.stderr, /^\s+at /m, `${what}: no stack trace`);
  assert.doesNotMatch(result.stderr, /\b(ConfigError|ZodError|YAMLParseError|TypeError)\b/, `${what}: no error class names`);
  return result.stderr.trimEnd().split('\n');
}

/** Each case: the file's text and, per problem, the exact start of its line (sorted: the order is free). */
const BAD_CONFIGS: Array<{ name: string; text: string; lines: string[] }> = [
  {
    name: 'bad-duration.yaml',
    text: [
      'state_dir: state',
      'services:',
      '  - name: web',
      '    command: sleep 1000',
      '  - name: worker',
      '    command: sleep 1000',
      '    restart_sec: abc',
    ].join('\n'),
    lines: ['bad-duration.yaml:7: services[1].restart_sec: expected a duration such as 5, "500ms" or "2m"'],
  },
  {
    name: 'unknown-key.yaml',
    text: [
      'stat_dir: state',
      'services:',
      '  - name: web',
      '    command: sleep 1000',
      '    restart_secs: 5',
    ].join('\n'),
    lines: ['unknown-key.yaml:1: stat_dir: unknown key', 'unknown-key.yaml:5: services[0].restart_secs: unknown key'],
  },
  {
    name: 'wrong-type.yaml',
    text: [
      'services:',
      '  - name: web',
      '    command: sleep 1000',
      '    restart_max: "three"',
      '    autostart: maybe',
    ].join('\n'),
    lines: ['wrong-type.yaml:4: services[0].restart_max: expected a whole number', 'wrong-type.yaml:5: services[0].autostart: expected true or false'],
  },
  {
    name: 'duplicate.yaml',
    text: [
      'services:',
      '  - name: web',
      '    command: sleep 1000',
      '  - name: web',
      '    command: sleep 2000',
    ].join('\n'),
    lines: ['duplicate.yaml:4: services[1].name: duplicate service name "web"'],
  },
  {
    name: 'missing-command.yaml',
    text: [
      'services:',
      '  - name: web',
      '    command: sleep 1000',
      '  - name: worker',
      '    restart: always',
    ].join('\n'),
    lines: ['missing-command.yaml:4: services[1].command: '],
  },
  {
    name: 'missing-cwd.yaml',
    text: [
      'services:',
      '  - name: web',
      '    command: sleep 1000',
      '    cwd: ./does-not-exist',
    ].join('\n'),
    lines: ['missing-cwd.yaml:4: services[0].cwd: '],
  },
  {
    name: 'syntax.yaml',
    text: [
      'services:',
      '  - name: web',
      '    command: sleep 1000',
      '    env: { A: 1',
      '    restart: always',
    ].join('\n'),
    lines: ['syntax.yaml:'],
  },
  {
    name: 'bad-policy.yaml',
    text: [
      'services:',
      '  - name: web',
      '    command: sleep 1000',
      '    restart: sometimes',
    ].join('\n'),
    lines: ['bad-policy.yaml:4: services[0].restart: expected one of no|on-failure|on-abnormal|always'],
  },
  {
    name: 'bad-size.yaml',
    text: [
      'services:',
      '  - name: web',
      '    command: sleep 1000',
      'logs:',
      '  max_size: 10XB',
    ].join('\n'),
    lines: ['bad-size.yaml:5: logs.max_size: expected a size such as'],
  },
];

describe('bad configs are refused: one file:line: key: message line per problem, exit 2, no stack trace', () => {
  for (const bad of BAD_CONFIGS) {
    test(bad.name, () => {
      const file = writeCase(bad.name, `${bad.text}\n`);
      const check = runSync(CLI, ['config', '--check', '--config', file]);
      const checkLines = refusalLines(check, 'config --check');
      const run = runSync(RUN, ['--config', file]);
      const runLines = refusalLines(run, './run.ts');
      assert.equal(run.stdout, '', './run.ts prints nothing else');
      assert.deepEqual([...runLines].sort(), [...checkLines].sort(), 'both entry points say the same');
      assert.equal(checkLines.length, bad.lines.length, `one line per problem:\n${check.stderr}`);
      for (const line of checkLines) {
        assert.match(line, /^[\w.-]+\.yaml:\d+: [^:]+: \S/, 'file:line: key: message');
      }
      const sorted = [...checkLines].sort();
      [...bad.lines].sort().forEach((start, index) => {
        assert.ok(sorted[index]!.startsWith(start), `expected a line starting with\n  ${start}\ngot\n  ${sorted[index]}`);
      });
      assert.equal(existsSync(join(temp.path, 'state')), false, 'a refused config creates no state');
    });
  }

  test('the bad duration line is exactly as documented', () => {
    const file = writeCase('bad-duration.yaml', `${BAD_CONFIGS[0]!.text}\n`);
    const [line] = refusalLines(runSync(CLI, ['--config', file, 'config', '--check']), '--config before the subcommand');
    assert.equal(line, 'bad-duration.yaml:7: services[1].restart_sec: expected a duration such as 5, "500ms" or "2m", got "abc"');
  });

  test('the YAML syntax error names the line and says it is YAML', () => {
    const file = writeCase('syntax.yaml', `${BAD_CONFIGS.find((bad) => bad.name === 'syntax.yaml')!.text}\n`);
    const lines = refusalLines(runSync(CLI, ['config', '--check', '--config', file]), 'syntax');
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /^syntax\.yaml:[45]: YAML\b.*\S/);
  });

  test('a missing config file: exit 2, one line, no stack', () => {
    const lines = refusalLines(runSync(CLI, ['config', '--check', '--config', join(temp.path, 'absent.yaml')]), 'missing file');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /absent\.yaml/);
    assert.equal(runSync(RUN, ['--config', join(temp.path, 'absent.yaml')]).code, 2);
  });
});

describe('good configs', () => {
  test('config --check accepts a good config (exit 0), --config before or after the subcommand', () => {
    const file = writeCase('good.yaml', [
      'state_dir: state',
      'services:',
      '  - name: web',
      '    command: [sleep, "1000"]',
      '    restart: on-failure',
      '    restart_sec: 500ms',
      '    restart_max: 3',
      '    restart_window: 2m',
      '    restart_cooldown: 15m',
      '    stop_timeout: 5',
      '  - name: worker',
      '    command: sleep 1000',
      '',
    ].join('\n'));
    const after = runSync(CLI, ['config', '--check', '--config', file]);
    assert.equal(after.code, 0, after.stderr);
    const before = runSync(CLI, ['--config', file, 'config', '--check']);
    assert.equal(before.code, 0, before.stderr);
    assert.equal(existsSync(join(temp.path, 'state')), false, 'checking creates no state');
  });

  test('the shipped templates/example.yaml is valid', () => {
    const result = runSync(CLI, ['config', '--check', '--config', join(ROOT, 'templates', 'example.yaml')]);
    assert.equal(result.code, 0, result.stderr);
  });

  test('restart: no written unquoted is the policy no (YAML 1.2), not false', () => {
    const text = 'services:\n  - name: web\n    command: sleep 1000\n    restart: no\n';
    const { config } = parseConfigText(text, join(temp.path, 'no.yaml'), {});
    assert.equal(config.services[0]!.restart, 'no');
    const file = writeCase('no.yaml', text);
    const check = runSync(CLI, ['config', '--check', '--config', file]);
    assert.equal(check.code, 0, check.stderr);
    const shown = runSync(CLI, ['config', '--config', file]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^\s+restart: ("no"|no)$/m);
  });

  test('durations, sizes and defaults are resolved', () => {
    const text = [
      'services:',
      '  - name: web',
      '    command: sleep 1000',
      '    restart_sec: "500ms"',
      '    restart_window: 6h',
      '    stop_timeout: 2m',
      '    min_uptime: 5',
      '    restart_sec_max: 1.5',
      '  - name: plain',
      '    command: sleep 1000',
      'logs:',
      '  max_size: 10KB',
      '',
    ].join('\n');
    const { config } = parseConfigText(text, join(temp.path, 'durations.yaml'), {});
    const [web, plain] = config.services;
    assert.deepEqual([web!.restartSecMs, web!.restartWindowMs, web!.stopTimeoutMs, web!.minUptimeMs, web!.restartSecMaxMs], [500, 21_600_000, 120_000, 5_000, 1_500]);
    assert.equal(config.logs.maxSizeBytes, 10 * 1024);
    assert.equal(config.stateDir, join(temp.path, '.restart-control'), 'state_dir defaults beside the config file');
    assert.equal(plain!.cwd, temp.path, 'cwd defaults to the config file folder');
    assert.deepEqual(
      [plain!.restart, plain!.restartSecMs, plain!.restartMax, plain!.restartWindowMs, plain!.stopSignal, plain!.stopTimeoutMs, plain!.autostart, plain!.restartCooldownMs],
      ['no', 5_000, 0, 60_000, 'SIGTERM', 10_000, true, null],
    );
  });
});

describe('lib/duration.ts', () => {
  test('parseDurationMs: a number is seconds; ms, s, m, h suffixes', () => {
    const cases: Array<[unknown, number]> = [
      [5, 5_000], [0, 0], [0.5, 500], ['5', 5_000], ['500ms', 500], ['5s', 5_000], ['2m', 120_000], ['6h', 21_600_000],
      ['1.5s', 1_500], [' 5s ', 5_000], ['1h30m', 5_400_000],
    ];
    for (const [input, expected] of cases) assert.equal(parseDurationMs(input), expected, JSON.stringify(input));
  });

  test('parseDurationMs: anything else is undefined', () => {
    for (const input of ['abc', '', '5x', '-5', 's', 'ms5', -1, Number.NaN, Number.POSITIVE_INFINITY, null, undefined, true, {}, []]) {
      assert.equal(parseDurationMs(input), undefined, JSON.stringify(input));
    }
  });

  test('parseSizeBytes: bytes or KB/MB/GB, 1024-based', () => {
    const cases: Array<[unknown, number]> = [
      [0, 0], [1_048_576, 1_048_576], ['512', 512], ['10KB', 10_240], ['10kb', 10_240], ['10MB', 10_485_760], ['1GB', 1_073_741_824],
    ];
    for (const [input, expected] of cases) assert.equal(parseSizeBytes(input), expected, JSON.stringify(input));
  });

  test('parseSizeBytes: anything else is undefined', () => {
    for (const input of ['10XB', 'abc', '', '-1', -1, 1.5, null, true]) assert.equal(parseSizeBytes(input), undefined, JSON.stringify(input));
  });
});

describe('checking a broken copy never disturbs a running supervisor', { timeout: 60_000 }, () => {
  let box: Sandbox;
  let supervisor: Supervisor;
  before(async () => {
    box = new Sandbox([{ name: 'web', command: 'exec sleep 1000' }]);
    supervisor = await box.startSupervisor();
  });
  after(() => box?.cleanup());

  test('config --check and ./run.ts on a broken copy with the same state_dir exit 2 and change nothing', async () => {
    await box.waitForEvent('web', 'started'); // events.jsonl is written asynchronously
    const broken = box.path('broken.yaml');
    writeFileSync(broken, readFileSync(box.configFile, 'utf8').replace(/stop_timeout: .*/, 'stop_timeout: soon'));
    const pid = box.service('web')!.pid!;
    const events = box.events().length;
    const state = readFileSync(join(box.stateDir, 'state.json'), 'utf8');

    refusalLines(runSync(CLI, ['config', '--check', '--config', broken]), 'config --check');
    refusalLines(runSync(RUN, ['--config', broken]), './run.ts');
    refusalLines(runSync(RUN, ['--detach', '--config', broken]), './run.ts --detach');

    assert.ok(alive(supervisor.pid), 'the supervisor runs');
    assert.ok(alive(pid), 'its service runs');
    assert.equal(box.service('web')!.pid, pid);
    assert.equal(box.events().length, events, 'no event recorded');
    assert.equal(readFileSync(join(box.stateDir, 'state.json'), 'utf8'), state, 'state.json untouched');
    assert.equal(readFileSync(join(box.stateDir, 'supervisor.pid'), 'utf8').trim(), String(supervisor.pid));
    assert.ok(existsSync(socketPath(box.stateDir)));
    const status = runSync(CLI, ['status', '--json', '--config', box.configFile]);
    assert.equal(status.code, 0, status.stderr);
  });
});

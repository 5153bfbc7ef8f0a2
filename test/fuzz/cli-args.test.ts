/**
 * Property-based fuzzing of the command-line parsers (fast-check), in process: 10,000 generated argument lists for
 * the control CLI (`main`, its fast status path and commander) and for run.ts (`parseRunArgs`). Allowed: the
 * documented exit codes (0 ok, 2 usage or config error with a message; 1 failed and 3 no supervisor running for
 * commands that need one). Never a stack trace or an error class name, never an unhandled rejection, never a hang
 * (each call has a deadline). `-f/--follow` is left out: following is meant to run until Ctrl-C.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { main } from '../../lib/cli/main.ts';
import { parseRunArgs } from '../../lib/supervisor/main.ts';

const RUNS = 10_000;
const CALL_DEADLINE_MS = 10_000;

const dir = mkdtempSync(join(tmpdir(), 'rc-fuzz-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const configFile = join(dir, 'restart-control.yaml');
writeFileSync(configFile, 'state_dir: state\nservices:\n  - name: api\n    command: sleep 1000\nschedule:\n  interval: 6h\n');
mkdirSync(join(dir, 'sub'));
writeFileSync(join(dir, 'garbage.yaml'), 'services: [\n  - {name: x\n');

const COMMANDS = ['status', 'start', 'stop', 'restart', 'force-restart', 'reload', 'shutdown', 'config', 'enable', 'disable', 'next', 'logs', 'events', 'notify', 'test', 'help', 'bogus'];
const OPTIONS = ['--json', '--config', `--config=${configFile}`, '--check', '--show-origin', '--count', '--cron', '--interval', '--timezone', '-n', '--since', '--service', '--type',
  '--timeout', '--wait-idle', '--event', '--help', '-h', '--version', '-V', '--', '-', '--unknown', '-x', '--config='];
const VALUES = ['api', 'worker', 'API', '0', '-1', '5', '99999999999', '1e9', 'NaN', '1h', '30d', '99999999999999999d', '0s', '', ' ', 'UTC', 'Mars/Olympus', '*/5 * * * *',
  '61 * * * *', 'crashed', 'nonsense', configFile, join(dir, 'missing.yaml'), join(dir, 'sub'), join(dir, 'sub', '..', 'garbage.yaml'), 'sub/../garbage.yaml', 'ü', '${HOME}', '\n'];
// Paths stay inside `dir`: `enable`/`disable` create the state_dir next to whatever --config names
const token = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...COMMANDS) },
  { weight: 4, arbitrary: fc.constantFrom(...OPTIONS) },
  { weight: 4, arbitrary: fc.constantFrom(...VALUES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
const argv = fc.array(token, { maxLength: 6 });

function withDeadline<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`hang: ${what} did not finish in ${CALL_DEADLINE_MS} ms`)), CALL_DEADLINE_MS); });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

const STACK = /^\s+at |\b(TypeError|RangeError|ReferenceError|SyntaxError|CommanderError|ConfigError)\b/m;

test('the control CLI parser: 10,000 generated argument lists end in a documented exit code with a message, no stack, no hang', { timeout: 120_000 }, async () => {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  const codes = new Map<number, number>();
  const started = Date.now();
  try {
    await fc.assert(fc.asyncProperty(argv, async (args) => {
      let stdout = '';
      let stderr = '';
      const io = { stdout: (text: string) => { stdout += text; }, stderr: (text: string) => { stderr += text; }, env: { PATH: process.env.PATH, HOME: dir, RESTART_CONTROL_CONFIG: configFile }, cwd: dir };
      const code = await withDeadline(main(args.filter((arg) => arg !== '-f' && arg !== '--follow'), io), JSON.stringify(args));
      codes.set(code, (codes.get(code) ?? 0) + 1);
      assert.ok([0, 1, 2, 3].includes(code), `exit ${code} for ${JSON.stringify(args)}`);
      assert.doesNotMatch(stderr, STACK, `a stack trace for ${JSON.stringify(args)}:\n${stderr}`);
      assert.doesNotMatch(stdout, /^\s+at .*\(.*:\d+:\d+\)$/m, `a stack trace on stdout for ${JSON.stringify(args)}`);
      if (code !== 0) assert.ok((stderr + stdout).trim().length > 0, `exit ${code} without a message for ${JSON.stringify(args)}`);
    }), { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 1612), endOnFailure: true, includeErrorInReport: true });
  } finally {
    process.off('unhandledRejection', onRejection);
  }
  process.stdout.write(`# cli fuzz: exit codes ${JSON.stringify(Object.fromEntries(codes))}, ${Date.now() - started} ms\n`);
  assert.deepEqual(rejections, [], 'no unhandled rejection');
});

test('the run.ts parser: 10,000 generated argument lists give options, 0 (help) or 2 with a message, nothing else', () => {
  const runToken = fc.oneof(fc.constantFrom('--config', '--detach', '--help', '-h', '--', '-', '--config=', `--config=${configFile}`, '--detach=1', '--bogus', '-x', configFile, ''), fc.string({ maxLength: 10 }));
  fc.assert(fc.property(fc.array(runToken, { maxLength: 6 }), (args) => {
    let stdout = '';
    let stderr = '';
    const result = parseRunArgs(args, { stdout: (text) => { stdout += text; }, stderr: (text) => { stderr += text; } });
    if (typeof result === 'number') {
      assert.ok(result === 0 || result === 2, `exit ${result}`);
      if (result === 2) assert.match(stderr, /^error: \S[\s\S]*\nUsage: run\.ts/);
      else assert.match(stdout, /^Usage: run\.ts/);
    } else {
      assert.ok(result.config === undefined || typeof result.config === 'string');
    }
    assert.doesNotMatch(stderr, STACK);
  }), { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 1612), includeErrorInReport: true });
});

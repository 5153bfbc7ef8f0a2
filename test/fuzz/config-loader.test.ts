/**
 * Property-based fuzzing of the config loader (fast-check): 10,000 generated documents. The only outcomes allowed
 * are a config (exit 0) or a ConfigError (exit 2) whose every line is `file:LINE: ...`. Never another exception
 * (a stack trace), never a hang: the whole run has a deadline.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseConfigText } from '../../lib/config/load.ts';
import { ConfigError } from '../../lib/core/errors.ts';

const RUNS = 10_000;
const FILE = '/tmp/rc-fuzz/fuzz.yaml';
const PROBLEM_LINE = /^fuzz\.yaml:\d+: \S/;

const durationText = fc.oneof(
  fc.nat({ max: 100_000 }).map(String),
  fc.tuple(fc.nat({ max: 100_000 }), fc.constantFrom('ms', 's', 'm', 'h', 'd')).map(([n, unit]) => `${n}${unit}`),
  fc.constantFrom('30d', '25d', '24d', '9999999999999999999999d', '1e400', '-5s', '0', '1h30m', ' 5 s ', '', 'NaN', 'Infinity', '1.5.5s', '7x'),
);
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 12 }), durationText,
  fc.constantFrom('SIGFOO', 'sometimes', '${UNSET_VAR}', '../..', '/', 'Mars/Olympus', [], {}, [1, 'a'], { a: { b: null } }, 'x'.repeat(300), 'Bad Name', '61 * * * *', 'nonsense', '30d', 'echo ${HOME}'),
);
/** Mostly a valid value, sometimes anything. */
const mostly = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 40, arbitrary: valid }, { weight: 1, arbitrary: junk });
const duration = mostly(fc.oneof(fc.nat({ max: 3600 }), fc.constantFrom('500ms', '2m', '1h', '1h30m')));

const service = fc.record({
  name: mostly(fc.constantFrom('api', 'worker', 'web', 'db')),
  command: mostly(fc.constantFrom('sleep 1000', ['sleep', '1000'], 'echo hi')),
  restart: mostly(fc.constantFrom('always', 'on-failure', 'no')),
  restart_sec: duration, restart_max: mostly(fc.nat({ max: 20 })), restart_window: duration, restart_cooldown: mostly(fc.oneof(duration, fc.constant(null))),
  restart_backoff: mostly(fc.constantFrom('fixed', 'exponential')), restart_sec_max: duration, min_uptime: duration,
  stop_signal: mostly(fc.constantFrom('SIGTERM', 'SIGINT', 'SIGKILL')), stop_timeout: duration, autostart: mostly(fc.boolean()),
  log_timestamps: mostly(fc.boolean()), watch: mostly(fc.constantFrom(['src'], ['*.py', 'lib/**/*.ts'], [])), watch_debounce: duration,
  env: mostly(fc.dictionary(fc.constantFrom('A', 'B', 'PATH'), fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean()), { maxKeys: 2 })),
  wait_idle: mostly(fc.record({ command: mostly(fc.constant('true')), poll: duration, max_wait: duration }, { requiredKeys: ['command'] })),
  bogus_key: fc.option(junk, { freq: 30, nil: undefined }),
}, { requiredKeys: ['name', 'command'] });

const document = fc.record({
  state_dir: mostly(fc.constant('state')),
  services: mostly(fc.uniqueArray(service, { maxLength: 3, selector: (one) => one.name })),
  schedule: mostly(fc.record({ interval: fc.option(duration, { nil: undefined }), cron: fc.option(mostly(fc.constantFrom('0 4 * * *', '*/5 * * * *')), { freq: 3, nil: undefined }), timezone: mostly(fc.constantFrom('UTC', 'Europe/Paris')), enabled: mostly(fc.boolean()), services: mostly(fc.constant(['api'])) }, { requiredKeys: [] })),
  hooks: mostly(fc.record({ pre_restart: mostly(fc.constant(['true'])), post_stop: mostly(fc.constant([])), timeout: duration }, { requiredKeys: [] })),
  gpu: mostly(fc.record({ cleanup: mostly(fc.constantFrom('auto', 'off')), max_used_mb: mostly(fc.nat()) }, { requiredKeys: [] })),
  logs: mostly(fc.record({ max_size: mostly(fc.constantFrom('10MB', '1GB', 1024)), keep: mostly(fc.nat({ max: 10 })), compress: mostly(fc.boolean()), rotate_on_restart: mostly(fc.boolean()) }, { requiredKeys: [] })),
  notify: mostly(fc.record({ command: mostly(fc.constant('cat >/dev/null')), webhooks: mostly(fc.array(fc.record({ url: mostly(fc.constant('http://127.0.0.1:9/h')), timeout: duration, format: mostly(fc.constantFrom('json', 'slack', 'discord')), retries: mostly(fc.nat({ max: 5 })) }, { requiredKeys: ['url'] }), { maxLength: 2 })) }, { requiredKeys: [] })),
  auto_reload: mostly(fc.boolean()),
  reload_debounce: duration,
  unknown_top: fc.option(junk, { freq: 30, nil: undefined }),
}, { requiredKeys: ['services'] });

/** Structured documents, the same with random damage to the text, and plain random text. */
const text = fc.oneof(
  { weight: 6, arbitrary: document.map((doc) => stringify(doc)) },
  { weight: 3, arbitrary: fc.tuple(document.map((doc) => stringify(doc)), fc.nat(), fc.constantFrom(':', '-', '  ', '\n', '"', "'", '[', '{', '&a', '*a', '!!binary', '\t', '#', '<<: *a', '%YAML 1.2\n---\n', '\u0000')).map(([doc, at, insert]) => doc.slice(0, at % (doc.length + 1)) + insert + doc.slice(at % (doc.length + 1))) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
);

test('the config loader: 10,000 generated documents give a config or file:line problems, nothing else, in under 60 s', { timeout: 60_000 }, () => {
  const started = Date.now();
  let accepted = 0;
  let refused = 0;
  fc.assert(fc.property(text, (source) => {
    try {
      parseConfigText(source, FILE, {}, 'flag --config');
      accepted++;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw new Error(`not a ConfigError (a stack trace for the user): ${(error as Error)?.stack ?? String(error)}`);
      assert.ok(error.problems.length > 0, 'a refusal names at least one problem');
      for (const problem of error.problems) assert.match(problem, PROBLEM_LINE, `a problem without file:line: ${JSON.stringify(problem)}`);
      assert.doesNotMatch(error.problems.join('\n'), /\n\s+at /, 'no stack in the message');
      refused++;
    }
  }), { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 1612), endOnFailure: true, includeErrorInReport: true });
  const elapsed = Date.now() - started;
  process.stdout.write(`# config fuzz: ${accepted} accepted, ${refused} refused, ${elapsed} ms\n`);
  assert.ok(accepted > 50, `the generator reaches valid configs too (${accepted})`);
  assert.ok(elapsed < 60_000);
});

/** Unit: the pure reload diff. Configs come from real YAML text through parseConfigText, as a reload reads them. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../lib/config/load.ts';
import { canonical, diffServices, unappliableChanges } from '../../lib/reload/diff.ts';
import { type Config } from '../../lib/core/types.ts';

/** Any existing folder works: string commands are not looked up, and cwd defaults to the config's folder. */
const FILE = join(tmpdir(), 'restart-control.yaml');

function parse(text: string): Config {
  return parseConfigText(text, FILE, { PATH: process.env.PATH }).config;
}

const names = (diff: ReturnType<typeof diffServices>) => ({
  added: diff.added.map((service) => service.name),
  removed: diff.removed,
  changed: diff.changed.map((service) => service.name),
  unchanged: diff.unchanged,
});

const BASE = `
state_dir: state
services:
  - name: api
    command: node server.js
    env:
      PORT: "8080"
      MODE: prod
    restart: always
    restart_sec: 1s
    stop_timeout: 5s
    watch: [src]
  - name: worker
    command: ["/bin/sleep", "1000"]
    restart: on-failure
`;

describe('diffServices', () => {
  test('an identical config changes nothing', () => {
    assert.deepEqual(names(diffServices(parse(BASE).services, parse(BASE).services)), { added: [], removed: [], changed: [], unchanged: ['api', 'worker'] });
  });

  test('an env change marks only that service changed, and hands over its new definition', () => {
    const next = parse(BASE.replace('PORT: "8080"', 'PORT: "9090"'));
    const diff = diffServices(parse(BASE).services, next.services);
    assert.deepEqual(names(diff), { added: [], removed: [], changed: ['api'], unchanged: ['worker'] });
    assert.equal(diff.changed[0]!.env.PORT, '9090');
  });

  test('comments, key order, quoting, flow vs block style and equivalent durations are not changes', () => {
    const rewritten = `
# reformatted by hand
services:          # same two services
  - command: node server.js   # moved above name
    name: api
    stop_timeout: 5000ms
    restart_sec: 1
    watch:
      - src
    restart: "always"
    env: { MODE: "prod", PORT: 8080 }
  # the worker
  - restart: on-failure
    command:
      - /bin/sleep
      - "1000"
    name: worker
state_dir: "state"
`;
    assert.deepEqual(names(diffServices(parse(BASE).services, parse(rewritten).services)), { added: [], removed: [], changed: [], unchanged: ['api', 'worker'] });
  });

  test('moving a service to another position in the list is not a change', () => {
    const swapped = `
state_dir: state
services:
  - name: worker
    command: ["/bin/sleep", "1000"]
    restart: on-failure
  - name: api
    command: node server.js
    env: {PORT: "8080", MODE: prod}
    restart: always
    restart_sec: 1s
    stop_timeout: 5s
    watch: [src]
`;
    assert.deepEqual(names(diffServices(parse(BASE).services, parse(swapped).services)).changed, []);
  });

  test('every effective setting counts: command, cwd, restart and stop fields, watch, wait_idle, autostart', () => {
    const edits: Array<[string, string]> = [
      ['command: node server.js', 'command: node other.js'],
      ['restart: always', 'restart: on-failure'],
      ['restart_sec: 1s', 'restart_sec: 2s'],
      ['stop_timeout: 5s', 'stop_timeout: 6s'],
      ['watch: [src]', 'watch: [src, lib]'],
      ['watch: [src]', 'watch: [src]\n    watch_ignore: ["**/*.log"]'],
      ['watch: [src]', 'watch: [src]\n    watch_debounce: 2s'],
      ['watch: [src]', 'watch: [src]\n    wait_idle: {command: "true"}'],
      ['watch: [src]', 'watch: [src]\n    autostart: false'],
      ['watch: [src]', 'watch: [src]\n    stop_signal: SIGINT'],
      ['watch: [src]', 'watch: [src]\n    cwd: /'],
      ['    env:\n      PORT: "8080"\n      MODE: prod\n', '    env:\n      PORT: "8080"\n      MODE: prod\n      EXTRA: "1"\n'],
    ];
    for (const [from, to] of edits) {
      assert.ok(BASE.includes(from), from);
      const diff = diffServices(parse(BASE).services, parse(BASE.replace(from, to)).services);
      assert.deepEqual(names(diff).changed, ['api'], `${from} -> ${to}`);
      assert.deepEqual(diff.unchanged, ['worker'], `${from} -> ${to}`);
    }
  });

  test('added and removed services, the others untouched', () => {
    const next = parse(`
state_dir: state
services:
  - name: api
    command: node server.js
    env: {PORT: "8080", MODE: prod}
    restart: always
    restart_sec: 1s
    stop_timeout: 5s
    watch: [src]
  - name: cron
    command: ./cron.sh
`);
    const diff = diffServices(parse(BASE).services, next.services);
    assert.deepEqual(names(diff), { added: ['cron'], removed: ['worker'], changed: [], unchanged: ['api'] });
    assert.equal(diff.added[0]!.command, './cron.sh');
  });

  test('everything removed, everything added', () => {
    assert.deepEqual(names(diffServices(parse(BASE).services, [])), { added: [], removed: ['api', 'worker'], changed: [], unchanged: [] });
    assert.deepEqual(names(diffServices([], parse(BASE).services)), { added: ['api', 'worker'], removed: [], changed: [], unchanged: [] });
  });

  test('a global section change (schedule, logs, notify, auto_reload) changes no service', () => {
    const globals = `${BASE}
schedule:
  interval: 1h
logs:
  keep: 2
notify:
  command: echo hi
auto_reload: true
reload_debounce: 100ms
`;
    assert.deepEqual(names(diffServices(parse(BASE).services, parse(globals).services)).changed, []);
  });
});

describe('canonical', () => {
  test('key order does not matter, at any depth', () => {
    assert.equal(canonical({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } }), canonical({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }));
    assert.equal(canonical({ b: 1, a: 2 }), '{"a":2,"b":1}');
  });

  test('values, list order and types do matter', () => {
    assert.notEqual(canonical({ a: 1 }), canonical({ a: 2 }));
    assert.notEqual(canonical({ a: [1, 2] }), canonical({ a: [2, 1] }));
    assert.notEqual(canonical({ a: '1' }), canonical({ a: 1 }));
    assert.notEqual(canonical({ a: null }), canonical({}));
    assert.notEqual(canonical({ a: 1 }), canonical({ a: 1, b: 1 }));
  });

  test('scalars and lists pass through as JSON', () => {
    assert.equal(canonical(['x', 1, null, true]), '["x",1,null,true]');
    assert.equal(canonical('text'), '"text"');
    assert.equal(canonical(null), 'null');
  });
});

describe('unappliableChanges', () => {
  test('only a new state_dir needs a supervisor restart', () => {
    assert.deepEqual(unappliableChanges(parse(BASE), parse(`${BASE}\nschedule: {interval: 2h}\n`)), []);
    const warnings = unappliableChanges(parse(BASE), parse(BASE.replace('state_dir: state', 'state_dir: other')));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /state_dir changed .*restart the supervisor/);
  });
});

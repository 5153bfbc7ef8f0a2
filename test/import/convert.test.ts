/** The importers' mappings, in process: each documented-format example, the expected notes and warnings, bad files. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parse } from 'yaml';
import { convertFile } from '../../lib/import/convert.ts';
import { ImportError } from '../../lib/import/model.ts';
import { expandPercent } from '../../lib/import/ini.ts';
import { parseKeyValuePairs, shlexSplit } from '../../lib/import/shlex.ts';
import { FIXTURES } from '../support.ts';

const DIR = join(FIXTURES, 'import');
type Service = Record<string, unknown> & { name: string };

async function imported(format: 'pm2' | 'supervisord' | 'procfile', file: string, options = {}) {
  const { yaml, warnings } = await convertFile(format, join(DIR, file), options);
  const config = parse(yaml) as { services: Service[]; schedule?: Record<string, unknown>; logs?: Record<string, unknown> };
  const service = (name: string) => config.services.find((item) => item.name === name) ?? assert.fail(`no service ${name} in\n${yaml}`);
  return { yaml, warnings, config, service };
}

describe('import pm2', () => {
  it('maps every documented key of ecosystem.config.js', async () => {
    const { yaml, warnings, config, service } = await imported('pm2', 'ecosystem.config.js');
    const api = service('api');
    assert.equal(api.command, 'node --max-old-space-size=256 ./server.js --port 3000');
    assert.equal(api.cwd, DIR);
    assert.deepEqual(api.env, { NODE_ENV: 'development', PORT: '3000' });
    assert.equal(api.restart, 'always');
    assert.equal(api.restart_max, 10);
    assert.equal(api.min_uptime, 5);
    assert.equal(api.restart_sec, 4);
    assert.equal(api.stop_timeout, 3);
    assert.equal(api.stop_signal, 'SIGINT');
    assert.equal(api.max_memory, '300MB');
    assert.deepEqual(api.watch, ['src']);
    assert.deepEqual(api.watch_ignore, ['node_modules', 'logs']);
    assert.equal(api.log_timestamps, true);
    assert.deepEqual(config.schedule, { enabled: true, cron: '0 3 * * *', services: ['api'] });
    assert.match(yaml, /# pm2 watch_delay: 1000 has no equivalent\n\s+- name: api\n/);
    assert.match(yaml, /# pm2 env_production: not used \(choose it with --env production\)/);
    // instances: 2 → worker-0, worker-1, one warning for the app
    assert.deepEqual(config.services.map((item) => item.name), ['api', 'worker-0', 'worker-1', 'once']);
    const worker = service('worker-1');
    assert.equal(worker.command, 'python worker.py');
    assert.equal(worker.restart, 'on-failure');
    assert.deepEqual(worker.success_exit_codes, [3]);
    assert.equal(worker.restart_backoff, 'exponential');
    assert.equal(worker.restart_sec, '100ms');
    assert.deepEqual(worker.env, { NODE_APP_INSTANCE: '1' });
    const once = service('once');
    assert.equal(once.command, 'echo done \'for now\'');
    assert.equal(once.restart, 'no');
    assert.equal(once.autostart, false);
    assert.deepEqual(warnings, [
      'api: pm2 watch_delay: 1000 has no equivalent',
      'worker: pm2 instances: 2 became 2 services worker-0…worker-1: cluster mode has no equivalent (they do not share a port)',
      'worker-0: pm2 instance_var: INSTANCE_ID has no equivalent',
    ]);
  });

  it('--env NAME merges env_NAME over env', async () => {
    const { service } = await imported('pm2', 'ecosystem.config.js', { env: 'production' });
    assert.deepEqual(service('api').env, { NODE_ENV: 'production', PORT: '3000' });
  });

  it('reads .json and .yaml ecosystem files', async () => {
    const json = await imported('pm2', 'ecosystem.config.json');
    assert.deepEqual(json.service('api'), {
      name: 'api', command: 'node server.js', cwd: DIR, env: { PORT: '3000' }, restart: 'always', restart_max: 3, stop_signal: 'SIGINT', stop_timeout: '1600ms',
    });
    assert.deepEqual(json.warnings, []);
    const yaml = await imported('pm2', 'ecosystem.config.yaml');
    assert.deepEqual(yaml.service('api').watch, ['.']);
    assert.equal(yaml.service('api').restart_sec, '500ms');
  });
});

describe('import supervisord', () => {
  it('maps every documented key, expands %(ENV_X)s and %(here)s, follows [include] and numprocs', async () => {
    process.env.WEB_PORT = '8123';
    const { warnings, config, service, yaml } = await imported('supervisord', 'supervisord.conf');
    const web = service('web');
    assert.equal(web.command, '/usr/bin/env python3 -m http.server 8123 --bind 127.0.0.1');
    assert.equal(web.cwd, DIR);
    assert.deepEqual(web.env, { SHARED: 'from supervisord', GREETING: 'hello, world', LEVEL: '2' });
    assert.equal(web.autostart, true);
    assert.equal(web.restart, 'on-failure');
    assert.deepEqual(web.success_exit_codes, [2]);
    assert.equal(web.restart_max, 5);
    assert.equal(web.min_uptime, 3);
    assert.equal(web.stop_signal, 'SIGINT');
    assert.equal(web.stop_timeout, 7);
    assert.deepEqual(config.logs, { max_size: '20MB', keep: 4 });
    assert.match(yaml, /# supervisord stopasgroup: true \(noted: we always stop the whole tree\)/);
    assert.deepEqual(config.services.map((item) => item.name), ['web', 'worker_00', 'worker_01', 'extra']);
    assert.deepEqual(service('worker_01').command, ['sh', '-c', 'echo worker 1; exec sleep 1000']);
    assert.equal(service('worker_01').restart, 'always');
    assert.equal(service('extra').restart, 'no');
    assert.equal(service('extra').cwd, join(DIR, 'conf.d'));
    assert.deepEqual(warnings, ['web: supervisord stdout_logfile: /var/log/web.log has no equivalent', 'web: supervisord priority: 10 has no equivalent']);
  });
});

describe('import procfile', () => {
  it('one service per line with restart: on-failure; .env beside it is every service\'s env', async () => {
    const { config, warnings } = await imported('procfile', 'Procfile');
    assert.deepEqual(config.services, [
      { name: 'web', command: 'python3 -m http.server $PORT --bind 127.0.0.1', cwd: DIR, env: { GREETING: 'hello world', LEVEL: '2', PORT: '5000' }, restart: 'on-failure' },
      { name: 'worker', command: 'sh -c "echo working; exec sleep 1000"', cwd: DIR, env: { GREETING: 'hello world', LEVEL: '2' }, restart: 'on-failure' },
    ]);
    assert.deepEqual(warnings, []);
  });
});

describe('files that cannot be read as the format', () => {
  const cases: Array<[format: 'pm2' | 'supervisord' | 'procfile', file: string, message: RegExp]> = [
    ['pm2', 'bad/bad.json', /^bad\.json:3: not valid JSON/],
    ['pm2', 'bad/bad.yaml', /^bad\.yaml:\d+: not valid YAML/],
    ['pm2', 'bad/no-apps.json', /^no-apps\.json: expected an ecosystem file with an apps: list$/],
    ['pm2', 'bad/throws.config.js', /^throws\.config\.js:6: evaluating it failed: broken on purpose$/],
    ['pm2', 'bad/exits.config.js', /^exits\.config\.js: evaluating it failed: exit code 5$/],
    ['supervisord', 'bad/supervisord.conf', /^supervisord\.conf:3: expected "key = value" or a \[section\]/],
    ['supervisord', 'bad/missing-env.conf', /^missing-env\.conf:2: command: %\(ENV_RC_TEST_SURELY_UNSET\)s cannot be expanded/],
    ['supervisord', 'bad/no-command.conf', /^no-command\.conf:1: \[program:web\] command: required key is missing$/],
    ['procfile', 'bad/Procfile', /^Procfile:2: expected "name: command"/],
    ['procfile', 'bad/missing-file', /^missing-file: cannot read it: ENOENT$/],
  ];
  for (const [format, file, message] of cases) {
    it(`${format} ${file}: ImportError (exit 2) ${message}`, async () => {
      await assert.rejects(convertFile(format, join(DIR, file)), (error: unknown) => {
        assert.ok(error instanceof ImportError, String(error));
        assert.equal(error.exitCode, 2);
        assert.match(error.message, message);
        return true;
      });
    });
  }
});

describe('supervisord value syntax', () => {
  it('expands Python %-formats like supervisord', () => {
    assert.equal(expandPercent('%(program_name)s_%(process_num)02d %% %(n)3d', { program_name: 'w', process_num: 3, n: 7 }, 'x'), 'w_03 %   7');
    assert.throws(() => expandPercent('%(ENV_NOPE)s', {}, 'f:1'), /f:1: %\(ENV_NOPE\)s cannot be expanded \(NOPE is not set\)/);
  });
  it('splits commands like shlex and environment like supervisord', () => {
    assert.deepEqual(shlexSplit(`a "b c" 'd e' f\\ g "h\\"i"`), ['a', 'b c', 'd e', 'f g', 'h"i']);
    assert.equal(shlexSplit('"unclosed'), null);
    assert.deepEqual(parseKeyValuePairs('A="x, y",B=2, C=\'z\''), { A: 'x, y', B: '2', C: 'z' });
    assert.equal(parseKeyValuePairs('A'), null);
  });
});

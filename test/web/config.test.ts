import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../lib/config/load.ts';
import { configToDisplay } from '../../lib/config/display.ts';
import { diffServices, unappliableChanges } from '../../lib/reload/diff.ts';
import { ConfigError } from '../../lib/core/errors.ts';

const FILE = '/tmp/rc.yaml';
const config = (web: string, env: NodeJS.ProcessEnv = {}) => parseConfigText(`services:\n  - name: a\n    command: sleep 1\n${web}`, FILE, env).config;
const problems = (web: string, env: NodeJS.ProcessEnv = {}) => {
  try {
    config(web, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail('expected a config error');
};

test('web: off when absent; defaults; ${VAR} in the token', () => {
  assert.equal(config('').web, null);
  assert.deepEqual(config('web:\n  listen: 127.0.0.1:7070\n').web, { host: '127.0.0.1', port: 7070, basePath: '/', token: null });
  assert.deepEqual(config('web:\n  listen: 0.0.0.0:7070\n  base_path: proxy/7070\n  token: ${T}\n', { T: 'abc' }).web, { host: '0.0.0.0', port: 7070, basePath: '/proxy/7070/', token: 'abc' });
});

test('a non-loopback listen without a token, a bad address, a missing variable: file:line problems', () => {
  assert.deepEqual(problems('web:\n  listen: 0.0.0.0:7070\n'), ['rc.yaml:5: web.listen: 0.0.0.0 is not a loopback address: set web.token (e.g. token: ${RESTART_CONTROL_WEB_TOKEN}) or listen on 127.0.0.1']);
  assert.match(problems('web:\n  listen: 10.0.0.1:80\n  token: ""\n')[0]!, /^rc\.yaml:5: web\.listen: 10\.0\.0\.1 is not a loopback address/);
  assert.deepEqual(problems('web:\n  listen: here\n'), ['rc.yaml:5: web.listen: expected host:port such as 127.0.0.1:7070, got "here"']);
  assert.deepEqual(problems('web:\n  listen: 127.0.0.1:1\n  token: ${NOT_SET}\n'), ['rc.yaml:6: web.token: environment variable NOT_SET is not set']);
  assert.match(problems('web:\n  port: 1\n')[0]!, /web\.port: unknown key|web\.listen/);
});

test('the token is never displayed; a new listen address needs a restart', () => {
  const withToken = config('web:\n  listen: 127.0.0.1:7070\n  token: ${T}\n', { T: 'very-secret' });
  assert.deepEqual(configToDisplay(withToken).web, { listen: '127.0.0.1:7070', base_path: '/', token: '***' });
  const moved = config('web:\n  listen: 127.0.0.1:7071\n');
  assert.deepEqual(unappliableChanges(withToken, moved), ['web.listen changed (127.0.0.1:7070 -> 127.0.0.1:7071): restart the supervisor to apply it']);
  assert.deepEqual(diffServices(withToken.services, moved.services).changed, []);
});

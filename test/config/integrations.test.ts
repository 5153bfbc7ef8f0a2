/** notify.nats and metrics in the config: defaults, credential forms, ${VAR}s, and refusals with file:line. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseConfigText } from '../../lib/config/load.ts';
import { ConfigError } from '../../lib/core/errors.ts';
import { configToDisplay } from '../../lib/config/display.ts';
import { makeTempDir } from '../helpers.ts';

const temp = makeTempDir('rc-integrations-');
after(() => temp.remove());

const SERVICES = 'services:\n  - name: a\n    command: sleep 1\n';

function load(text: string, env: NodeJS.ProcessEnv = {}) {
  return parseConfigText(SERVICES + text, join(temp.path, 'rc.yaml'), env).config;
}

function problems(text: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    load(text, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail('expected the config to be refused');
}

describe('notify.nats', () => {
  test('defaults: prefix svc.registry, service_id {service}, the issue\'s event list, no credentials', () => {
    const nats = load('notify:\n  nats:\n    url: nats://127.0.0.1:4222\n').notify.nats!;
    assert.deepEqual(nats.servers, ['nats://127.0.0.1:4222']);
    assert.equal(nats.subjectPrefix, 'svc.registry');
    assert.equal(nats.serviceId, '{service}');
    assert.deepEqual(nats.events, ['crashed', 'restarting', 'stopped', 'gave_up', 'started', 'ready', 'unhealthy', 'scheduled_restart', 'restart_completed']);
    assert.equal(nats.credentials, null);
  });

  test('several servers, ${VAR} expansion, and each credentials form', () => {
    const creds = join(temp.path, 'user.creds');
    writeFileSync(creds, 'fake');
    const env = { NATS_URLS: 'nats://a:4222, nats://b:4222', NATS_CREDS_FILE: creds, PW: 'pa:ss' };
    const nats = (credentials: string) => load(`notify:\n  nats:\n    url: \${NATS_URLS}\n    credentials: ${credentials}\n`, env).notify.nats!;
    assert.deepEqual(nats('${NATS_CREDS_FILE}').servers, ['nats://a:4222', 'nats://b:4222']);
    assert.deepEqual(nats('${NATS_CREDS_FILE}').credentials, { kind: 'creds', file: creds });
    assert.deepEqual(nats('"scope:${PW}"').credentials, { kind: 'user', user: 'scope', password: 'pa:ss' });
    assert.deepEqual(nats('s3cr3t-token').credentials, { kind: 'token', token: 's3cr3t-token' });
    assert.deepEqual(nats('{user: scope, password: "${PW}"}').credentials, { kind: 'user', user: 'scope', password: 'pa:ss' });
    assert.deepEqual(nats('{token: abc}').credentials, { kind: 'token', token: 'abc' });
  });

  test('secrets are hidden from `config` output', () => {
    const config = load('notify:\n  nats:\n    url: nats://scope:pw-in-url@127.0.0.1:4222\n    credentials: {user: scope, password: hidden-pw}\n');
    const shown = JSON.stringify(configToDisplay(config));
    assert.ok(!shown.includes('hidden-pw') && !shown.includes('pw-in-url'), shown);
  });

  test('refusals name file:line and key', () => {
    assert.match(problems('notify:\n  nats:\n    url: http://x\n'), /rc\.yaml:\d+: notify\.nats\.url: expected nats:\/\/host:port, got "http:\/\/x"/);
    assert.match(problems('notify:\n  nats:\n    url: nats://x:4222\n    subject_prefix: "svc.*"\n'), /rc\.yaml:\d+: notify\.nats\.subject_prefix: expected subject tokens/);
    assert.match(problems('notify:\n  nats:\n    url: nats://x:4222\n    credentials: ./missing.creds\n'), /rc\.yaml:\d+: notify\.nats\.credentials: creds file not found: .*missing\.creds/);
    assert.match(problems('notify:\n  nats:\n    url: ${NOPE}\n'), /notify\.nats\.url: environment variable NOPE is not set/);
  });
});

describe('metrics', () => {
  test('listen with and without a token', () => {
    assert.deepEqual(load('metrics:\n  listen: 127.0.0.1:9464\n').metrics, { listen: '127.0.0.1:9464', token: null });
    assert.deepEqual(load('metrics:\n  listen: 0.0.0.0:9464\n  token: ${T}\n', { T: 'tok' }).metrics, { listen: '0.0.0.0:9464', token: 'tok' });
    assert.equal(load('').metrics, undefined);
  });

  test('refusals: not host:port, a port out of range, off loopback without a token', () => {
    assert.match(problems('metrics:\n  listen: "9464"\n'), /rc\.yaml:\d+: metrics\.listen: expected host:port/);
    assert.match(problems('metrics:\n  listen: 127.0.0.1:70000\n'), /metrics\.listen: expected a port from 0 to 65535/);
    assert.match(problems('metrics:\n  listen: "[::]:9464"\n'), /metrics\.listen: \[::\]:9464 is reachable from other machines/);
  });
});

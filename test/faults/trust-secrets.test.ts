/**
 * Faults: secrets and config values that defeat protection. `${VAR}` values with shell characters run through a real
 * /bin/sh; payloads go to a real HTTP endpoint on 127.0.0.1; configs are checked by the real CLI.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { expandShellCommand } from '../../lib/config/expand-shell.ts';
import { Notifier } from '../../lib/notify/notifier.ts';
import type { NotifyConfig } from '../../lib/core/types.ts';
import { makeTempDir, waitFor } from '../helpers.ts';
import { FAST, cleanEnv, sandbox, type Sandbox } from '../support.ts';

const SUITE = { timeout: 90_000 };
const NASTY = `a; touch pwned1 && echo $(touch pwned2) \`touch pwned3\` "dq" 'sq' \\ end`;

function writeConfig(box: Sandbox, doc: Record<string, unknown>): void {
  writeFileSync(box.configFile, stringify({ state_dir: 'state', ...doc }));
}

describe('${VAR} in a /bin/sh -c string', SUITE, () => {
  test('a value with shell characters is data, unquoted, in double quotes and in single quotes', (t) => {
    const cwd = makeTempDir('rc-shell-');
    t.after(() => cwd.remove());
    const env = { NASTY };
    for (const command of ['printf %s ${NASTY}', 'printf %s "${NASTY}"', "printf %s '${NASTY}'", 'printf %s "x${NASTY}y"']) {
      const expanded = expandShellCommand(command, env, () => assert.fail('not missing'));
      const printed = execFileSync('/bin/sh', ['-c', expanded], { cwd: cwd.path, encoding: 'utf8' });
      const wrapped = command.includes('x${NASTY}y') ? `x${NASTY}y` : NASTY;
      assert.equal(printed, wrapped, command);
    }
    for (const file of ['pwned1', 'pwned2', 'pwned3']) assert.equal(existsSync(join(cwd.path, file)), false, file);
  });

  test('the supervisor\'s notify command runs a nasty variable as data; `config` shows the command with the value masked', async (t) => {
    const box = sandbox(t, []);
    writeConfig(box, {
      services: [{ name: 'a', command: 'exec sleep 1000', ...FAST }],
      notify: { command: 'printf "%s\\n" ${NASTY} >> got.txt; cat > /dev/null' },
    });
    const env = { NASTY, API_TOKEN: 'tok-0123456789abcdef' };
    const shown = await box.cli(['config'], { env: cleanEnv(env) });
    assert.equal(shown.code, 0, shown.stderr);
    assert.ok(!shown.stdout.includes('touch pwned'), shown.stdout);
    assert.match(shown.stdout, /command: printf "%s\\n" '\*\*\*' >> got.txt/);
    const origins = await box.cli(['config', '--show-origin'], { env: cleanEnv(env) });
    assert.ok(!origins.stdout.includes('touch pwned'), origins.stdout);

    const supervisor = await box.startSupervisor({ env });
    await waitFor(() => existsSync(box.path('got.txt')) && readFileSync(box.path('got.txt'), 'utf8').includes(NASTY), 10_000, 'the notify command ran');
    for (const file of ['pwned1', 'pwned2', 'pwned3']) assert.equal(existsSync(box.path(file)), false, `${file}: shell code in a variable ran`);
    process.kill(supervisor.pid, 'SIGTERM');
    await supervisor.exited;
  });
});

describe('webhook payloads are redacted', SUITE, () => {
  const bodies: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => { bodies.push(Buffer.concat(chunks).toString()); response.end('ok'); });
  });
  let url = '';
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('log_tail and hook_failed output: config secrets, Authorization headers, bearer and token patterns', async () => {
    const config: NotifyConfig = {
      webhooks: [{ url, format: 'json', events: null, services: null, secret: null, headers: { Authorization: 'Bearer cfg-header-token-777' }, timeoutMs: 5000, retries: 0 }],
      command: null,
    };
    const tail = [
      'GET /api Authorization: Bearer live-bearer-abcdef123456',
      'using cfg-header-token-777 from the config',
      'curl -H "authorization: token ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"',
      'export HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz1234',
      'db url postgres://app:db-pass-9876@localhost/app',
      'password: hunter2hunter2',
      'an ordinary line stays as it is',
    ];
    const notifier = new Notifier(config, { host: 'test', cwd: '/tmp', logTail: () => tail, record: () => undefined });
    notifier.publish({ time: new Date().toISOString(), event: 'crashed', service: 'svc', exit_code: 1, reason: 'exit code 1' });
    notifier.publish({ time: new Date().toISOString(), event: 'hook_failed', stage: 'pre_restart', hook: './deploy.sh', code: 1, reason: 'exit code 1', output: 'error: api_key=sk-abcdefghijklmnopqrstuvwxyz0123 rejected\nX-Api-Token: zzz-secret-zzz' });
    await notifier.close(5000);
    assert.equal(bodies.length, 2);
    const secrets = ['live-bearer-abcdef123456', 'cfg-header-token-777', 'ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345', 'hf_abcdefghijklmnopqrstuvwxyz1234', 'db-pass-9876', 'hunter2hunter2', 'sk-abcdefghijklmnopqrstuvwxyz0123', 'zzz-secret-zzz'];
    for (const body of bodies) for (const secret of secrets) assert.ok(!body.includes(secret), `${secret} leaked: ${body}`);
    const crashed = JSON.parse(bodies[0]!) as { log_tail: string[]; service: string };
    assert.equal(crashed.service, 'svc');
    assert.equal(crashed.log_tail.at(-1), 'an ordinary line stays as it is');
    assert.match(crashed.log_tail[0]!, /Authorization: .*\*\*\*/);
    assert.match(JSON.parse(bodies[1]!).output as string, /api_key=\*\*\* rejected/);
  });
});

describe('config values that defeat protection', SUITE, () => {
  test('restart_window 0 with restart_max > 0, and a service name over 64 characters: exit 2 with file:line', async (t) => {
    const box = sandbox(t, []);
    writeConfig(box, { services: [{ name: 'a', command: 'true', restart_max: 3, restart_window: 0 }, { name: 'n'.repeat(65), command: 'true' }] });
    const checked = await box.cli(['config', '--check']);
    assert.equal(checked.code, 2, checked.stdout);
    assert.match(checked.stderr, /restart-control\.yaml:\d+: services\[1\]\.name: expected at most 64 characters, got 65/);
    assert.match(checked.stderr, /restart-control\.yaml:\d+: services\[0\]\.restart_window: expected more than 0/, 'both problems in one run');
    writeConfig(box, { services: [{ name: 'a', command: 'true', restart_max: 3, restart_window: 0 }, { name: 'n'.repeat(64), command: 'true' }] });
    const window = await box.cli(['config', '--check']);
    assert.equal(window.code, 2);
    assert.match(window.stderr, /restart-control\.yaml:\d+: services\[0\]\.restart_window: expected more than 0 when restart_max is set/);
    writeConfig(box, { services: [{ name: 'a', command: 'true', restart_max: 0, restart_window: 0 }, { name: 'n'.repeat(64), command: 'true' }] });
    assert.equal((await box.cli(['config', '--check'])).code, 0, 'no limit: a 0 window is harmless');
  });

  test('exponential backoff with restart_sec 0 starts from the 100 ms floor', async (t) => {
    const box = sandbox(t, []);
    writeConfig(box, { services: [{ name: 'crash', command: 'exit 1', restart: 'always', restart_sec: 0, restart_backoff: 'exponential', restart_sec_max: '1s', stop_timeout: 0.5 }] });
    const supervisor = await box.startSupervisor({ waitReady: false });
    const events = await box.waitForEvent('crash', 'restarting', 4, 15_000);
    assert.deepEqual(events.slice(0, 4).map((event) => event.delay_s), [0.1, 0.2, 0.4, 0.8]);
    process.kill(supervisor.pid, 'SIGTERM');
    await supervisor.exited;
  });
});

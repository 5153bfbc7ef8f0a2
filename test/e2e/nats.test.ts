/**
 * End to end: events from a real supervisor (./run.ts) on a real nats-server (Debian's package, started here on a
 * free port), read by a real subscriber on `svc.registry.>`; `notify test` and `status --json` through
 * ./restart-control.ts. Skips, saying why, when nats-server is not installed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credsAuthenticator } from '@nats-io/transport-node';
import { after, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { waitFor } from '../helpers.ts';
import { NatsServer, Subscriber, natsServerPath } from '../nats-server.ts';
import { Sandbox, cleanEnv, configText, type ServiceSpec } from '../support.ts';
import { operatorSetup } from '../nats-creds.ts';

const SUITE = { timeout: 120_000 };
const BINARY = natsServerPath();
const SKIP = BINARY === null ? 'nats-server is not installed (Debian package nats-server)' : false;

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function server(config = ''): Promise<NatsServer> {
  const started = await NatsServer.start(BINARY!, config);
  cleanups.push(() => started.dispose());
  return started;
}

async function subscriber(url: string, auth: Parameters<typeof Subscriber.open>[2] = {}): Promise<Subscriber> {
  const opened = await Subscriber.open(url, 'svc.registry.>', auth);
  cleanups.push(() => opened.close());
  return opened;
}

function box(services: ServiceSpec[], nats: Record<string, unknown>): Sandbox {
  const created = new Sandbox(services);
  cleanups.push(() => created.cleanup());
  writeFileSync(created.configFile, configText(services) + stringify({ notify: { nats } }));
  return created;
}

async function statusNats(sandbox: Sandbox): Promise<Record<string, number> | undefined> {
  const result = await sandbox.cli(['status', '--json']);
  return (JSON.parse(result.stdout) as { notify?: { nats?: Record<string, number> } }).notify?.nats;
}

describe('NATS: the seed subjects for a crash, restart, give-up sequence', { ...SUITE, skip: SKIP }, () => {
  test('a subscriber on svc.registry.> receives crashed, restarting and stop with their fields; status --json counts them', async () => {
    const nats = await server();
    const sub = await subscriber(nats.url);
    const sandbox = box([{ name: 'dome', command: 'echo closing the dome; exit 3', restart: 'on-failure', restart_max: 2, restart_window: '60s' }], { url: nats.url });
    await sandbox.startSupervisor();
    await waitFor(() => sub.of('svc.registry.stop.').length > 0, 15_000, `a stop message\n${JSON.stringify(sub.messages)}`);
    const seed = sub.messages.filter((message) => /^svc\.registry\.(crashed|restarting|stop)\./.test(message.subject));
    assert.deepEqual(seed.map((message) => message.subject), [
      'svc.registry.crashed.dome', 'svc.registry.restarting.dome',
      'svc.registry.crashed.dome', 'svc.registry.restarting.dome',
      'svc.registry.crashed.dome', 'svc.registry.stop.dome',
    ]);
    const [crashed, restarting] = seed;
    assert.deepEqual(pick(crashed!.data, ['event', 'service_id', 'exit_code', 'restart_policy', 'will_restart']), { event: 'crashed', service_id: 'dome', exit_code: 3, restart_policy: 'on-failure', will_restart: true });
    assert.deepEqual(pick(restarting!.data, ['event', 'service_id', 'restart_attempt', 'max_restarts']), { event: 'restarting', service_id: 'dome', restart_attempt: 1, max_restarts: 2 });
    assert.equal(seed[4]!.data.will_restart, false, 'the last crash is not restarted');
    assert.deepEqual(pick(seed[5]!.data, ['event', 'service_id', 'reason']), { event: 'stop', service_id: 'dome', reason: 'gave_up' });
    // Our fields beside theirs
    assert.equal(typeof crashed!.data.time, 'string');
    assert.equal(typeof crashed!.data.host, 'string');
    assert.equal(crashed!.data.reason, 'exit code 3');
    assert.deepEqual(crashed!.data.log_tail, ['closing the dome']);
    assert.ok(sub.of('svc.registry.gave_up.dome').length === 1, 'gave_up has its own subject too');
    assert.ok(sub.of('svc.registry.started.dome').length === 3, 'started is in the default events');
    const counts = await waitFor(async () => {
      const found = await statusNats(sandbox);
      return found && found.sent >= sub.messages.length - 1 ? found : null;
    }, 10_000, 'status --json notify.nats');
    assert.equal(counts.failed, 0);
    assert.equal(counts.dropped, 0);
  });

  test('a user stop and a clean exit publish stop with user_stop and exit_code_0; a custom prefix and service_id', async () => {
    const nats = await server();
    const sub = await subscriber(nats.url, {});
    const sandbox = box([
      { name: 'camera', command: 'exec sleep 1000' },
      { name: 'once', command: 'sleep 0.2; exit 0', restart: 'on-failure' },
    ], { url: nats.url, subject_prefix: 'svc.registry', service_id: '{service}@{host}' });
    await sandbox.startSupervisor();
    await waitFor(() => sub.messages.some((message) => message.subject.startsWith('svc.registry.stop.once@')), 10_000, 'stop of once');
    const stopOnce = sub.messages.find((message) => message.subject.startsWith('svc.registry.stop.once@'))!;
    assert.equal(stopOnce.data.reason, 'exit_code_0');
    assert.match(String(stopOnce.data.service_id), /^once@/);
    const stopped = await sandbox.cli(['stop', 'camera']);
    assert.equal(stopped.code, 0, stopped.stderr);
    const stopCamera = await waitFor(() => sub.messages.find((message) => message.subject.startsWith('svc.registry.stop.camera@')), 10_000, 'stop of camera');
    assert.equal(stopCamera.data.reason, 'user_stop');
    const restarted = await sandbox.cli(['start', 'camera']);
    assert.equal(restarted.code, 0, restarted.stderr);
    const force = await sandbox.cli(['restart', 'camera']);
    assert.equal(force.code, 0, force.stderr);
    await waitFor(() => sub.messages.filter((message) => message.subject.startsWith('svc.registry.started.camera@')).length >= 3, 10_000, 'three starts of camera');
    assert.equal(sub.messages.filter((message) => message.subject.startsWith('svc.registry.stop.camera@')).length, 1, 'a restart is not a stop');
  });
});

describe('NATS: hot reload', { ...SUITE, skip: SKIP }, () => {
  test('a reload adds the sink to a running supervisor, and another removes it', async () => {
    const nats = await server();
    const sub = await subscriber(nats.url);
    const services = [{ name: 'cam', command: 'exec sleep 1000' }];
    const sandbox = new Sandbox(services);
    cleanups.push(() => sandbox.cleanup());
    await sandbox.startSupervisor();
    writeFileSync(sandbox.configFile, configText(services) + stringify({ notify: { nats: { url: nats.url } } }));
    assert.equal((await sandbox.cli(['reload'])).code, 0);
    assert.equal((await sandbox.cli(['restart', 'cam'])).code, 0);
    await waitFor(() => sub.of('svc.registry.started.cam').length === 1, 10_000, 'the start after the reload');
    writeFileSync(sandbox.configFile, configText(services));
    assert.equal((await sandbox.cli(['reload'])).code, 0);
    assert.equal((await sandbox.cli(['restart', 'cam'])).code, 0);
    await sandbox.waitForEvent('cam', 'started', 3);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(sub.of('svc.registry.started.cam').length, 1, 'nothing published once removed');
    assert.equal(await statusNats(sandbox), undefined);
  });
});

describe('NATS: an outage of the server', { ...SUITE, skip: SKIP }, () => {
  test('restarts stay on time while nats-server is down for 10 s; one notify_failed; delivery resumes', async () => {
    const nats = await server();
    const restartSec = 0.3;
    const sandbox = box([{ name: 'flappy', command: 'sleep 0.3; exit 1', restart: 'always', restart_sec: restartSec, restart_max: 0 }], { url: nats.url, events: ['crashed', 'restarting', 'started'] });
    await sandbox.startSupervisor();
    await sandbox.waitForEvent('flappy', 'started', 3);
    await waitFor(async () => ((await statusNats(sandbox))?.sent ?? 0) > 0, 10_000, 'a first delivery');

    await nats.stop();
    const downAt = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const upAt = new Date().toISOString();
    await nats.start();
    const sub = await subscriber(nats.url);

    // On time: every restart during the outage came restart_sec after its crash, give or take scheduling noise
    const during = sandbox.events().filter((event) => event.service === 'flappy' && event.time > downAt && event.time < upAt);
    const crashes = during.filter((event) => event.event === 'crashed');
    assert.ok(crashes.length >= 5, `kept crashing and restarting during the outage (${crashes.length} crashes)`);
    for (const crash of crashes.slice(0, -1)) {
      const next = during.find((event) => event.event === 'started' && event.time > crash.time);
      assert.ok(next, `a start after the crash at ${crash.time}`);
      const gapMs = Date.parse(next.time) - Date.parse(crash.time);
      assert.ok(gapMs < restartSec * 1000 + 1500, `restart ${gapMs} ms after the crash (restart_sec ${restartSec}s)`);
    }
    const failures = sandbox.events().filter((event) => event.event === 'notify_failed' && String(event.sink).startsWith('nats '));
    assert.equal(failures.length, 1, `one notify_failed for the outage: ${JSON.stringify(failures)}`);

    // Resumes: events recorded during the outage arrive (queued), and new ones keep coming
    await waitFor(() => sub.messages.some((message) => message.subject === 'svc.registry.crashed.flappy' && String(message.data.time) < upAt && String(message.data.time) > downAt), 20_000, `a crash from the outage delivered\n${sub.messages.length} messages`);
    await waitFor(() => sub.messages.some((message) => message.subject === 'svc.registry.started.flappy' && String(message.data.time) > upAt), 20_000, 'a start after the outage');
    const counts = await waitFor(async () => {
      const found = await statusNats(sandbox);
      return found && found.sent > 0 && found.queued === 0 ? found : null;
    }, 15_000, 'queue drained');
    assert.equal(counts.failed, 0, 'nothing failed: it waited');
  });
});

describe('NATS: credentials', { ...SUITE, skip: SKIP }, () => {
  const USERS = 'authorization { users = [ { user: "telescope", password: "dome-s3cret" } ] }';

  test('user and password: notify test publishes; a wrong password: "Authorization Violation", exit 1, password not shown', async () => {
    const nats = await server(USERS);
    const sub = await subscriber(nats.url, { user: 'telescope', pass: 'dome-s3cret' });
    const good = box([{ name: 'idle', command: 'exec sleep 1000' }], { url: nats.url, credentials: 'telescope:dome-s3cret' });
    const ok = await good.cli(['notify', 'test']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^OK\s+nats nats:\/\/127\.0\.0\.1:\d+/m);
    await waitFor(() => sub.messages.find((message) => message.data.test === true), 5000, 'the test event on the bus');

    const bad = box([{ name: 'idle', command: 'exec sleep 1000' }], { url: nats.url, credentials: { user: 'telescope', password: 'wrong-pass' } });
    const refused = await bad.cli(['notify', 'test']);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stdout, /^FAIL\s+nats nats:\/\/127\.0\.0\.1:\d+\s+.*Authorization Violation/mi);
    assert.ok(!(refused.stdout + refused.stderr).includes('wrong-pass'), 'the password is not shown');
  });

  test('a token; a wrong token in a running supervisor: notify_failed once, naming the error, while events keep failing', async () => {
    const nats = await server('authorization { token: "t0ken-for-dome" }');
    const good = box([{ name: 'idle', command: 'exec sleep 1000' }], { url: nats.url, credentials: 't0ken-for-dome' });
    const ok = await good.cli(['notify', 'test']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);

    const bad = box([{ name: 'flappy', command: 'sleep 0.2; exit 1', restart: 'always', restart_sec: 0.2 }], { url: nats.url, credentials: 'not-the-token' });
    await bad.startSupervisor();
    await bad.waitForEvent('flappy', 'started', 4);
    const counts = await waitFor(async () => {
      const found = await statusNats(bad);
      return found && found.failed >= 3 ? found : null;
    }, 15_000, 'failed deliveries counted');
    assert.ok(counts.failed >= 3);
    const failures = bad.events().filter((event) => event.event === 'notify_failed');
    assert.equal(failures.length, 1, `one notify_failed while the credentials stay wrong: ${JSON.stringify(failures)}`);
    assert.match(String(failures[0]!.error), /authorization violation/i);
    assert.ok(!JSON.stringify(failures).includes('not-the-token'), 'the token is not shown');
  });
});

describe('NATS: a creds file (operator mode, JWTs made by test/nats-creds.ts)', { ...SUITE, skip: SKIP }, () => {
  test('a valid creds file publishes, from the config and through ${NATS_CREDS_FILE}; one signed by an unknown account is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rc-creds-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const setup = operatorSetup(dir);
    const nats = await server(setup.serverConfig);
    const sub = await Subscriber.open(nats.url, 'svc.registry.>', { authenticator: credsAuthenticator(readFileSync(setup.credsFile)) });
    cleanups.push(() => sub.close());
    const good = box([{ name: 'idle', command: 'exec sleep 1000' }], { url: nats.url, credentials: '${NATS_CREDS_FILE}' });
    const ok = await good.cli(['notify', 'test', '--event', 'gave_up'], { env: cleanEnv({ NATS_CREDS_FILE: setup.credsFile }) });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const received = await waitFor(() => sub.messages.find((message) => message.data.test === true), 5000, 'the test event');
    assert.equal(received.subject, 'svc.registry.gave_up.example');

    const stranger = box([{ name: 'idle', command: 'exec sleep 1000' }], { url: nats.url, credentials: { creds_file: setup.wrongCredsFile } });
    const refused = await stranger.cli(['notify', 'test']);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stdout, /^FAIL\s+nats nats:\/\/127\.0\.0\.1:\d+\s+.*Authorization Violation/mi);
  });
});

function pick(data: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((key) => [key, data[key]]));
}

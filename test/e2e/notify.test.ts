/**
 * End to end: webhooks from a real supervisor (./run.ts) to a real HTTP server on 127.0.0.1, and `notify test`
 * through ./restart-control.ts. Secrets come from environment variables through ${VAR}.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { waitFor } from '../helpers.ts';
import { RUN, Sandbox, alive, cleanEnv, configText, type ServiceSpec } from '../support.ts';

const SUITE = { timeout: 90_000 };

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
  at: number;
  /** When our answer was flushed (undefined: not answered, or the client went away first). */
  answeredAt?: number;
}

/**
 * Routes by the first path segment: /ok → 200; /jitter → 200 after 0–40 ms; /hang → never answers;
 * /fail → 500 with a body that echoes the URL and Authorization header (an endpoint that leaks secrets back);
 * /slow → 200 after 1 s.
 */
class Endpoint {
  readonly received: Received[] = [];
  base = '';
  private readonly server: Server;
  private readonly open = new Set<ServerResponse>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor() {
    this.server = createServer((request, response) => {
      this.open.add(response);
      response.once('close', () => this.open.delete(response));
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(body) as Record<string, unknown>;
        } catch {
          // not JSON: the assertions say so
        }
        const received: Received = { path: request.url ?? '', headers: request.headers, body, json, at: Date.now() };
        this.received.push(received);
        response.once('finish', () => { received.answeredAt = Date.now(); });
        this.route(received, response);
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const response of this.open) response.destroy();
    this.server.closeAllConnections();
    await new Promise((done) => this.server.close(done));
  }

  at(prefix: string): Received[] {
    return this.received.filter((request) => request.path.startsWith(prefix));
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => { this.timers.delete(timer); fn(); }, ms);
    this.timers.add(timer);
  }

  private route(received: Received, response: ServerResponse): void {
    const kind = received.path.split(/[/?]/)[1];
    if (kind === 'ok') return void response.end('ok');
    if (kind === 'jitter') return this.later(Math.floor(Math.random() * 40), () => response.end('ok'));
    if (kind === 'hang') return;
    if (kind === 'slow') return this.later(1000, () => response.end('ok'));
    if (kind === 'fail') return void response.writeHead(500).end(`boom: you sent ${received.path} with ${received.headers.authorization ?? 'no auth'}`);
    response.writeHead(404).end();
  }
}

interface RunningSupervisor {
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  output: () => string;
}

/** Like Sandbox.startSupervisor, but with extra environment variables (the ${VAR}s of the config). */
async function startSupervisor(box: Sandbox, env: NodeJS.ProcessEnv = {}): Promise<RunningSupervisor> {
  const child = spawn(RUN, ['--config', box.configFile], { cwd: box.dir, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  let gone = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => child.once('exit', (code, signal) => {
    gone = true;
    resolve({ code, signal, at: Date.now() });
  }));
  box.track(child.pid!);
  await waitFor(() => gone || box.isReady(), 20_000, 'supervisor ready', 25);
  if (gone) throw new Error(`the supervisor exited before it was ready:\n${output}`);
  return { pid: child.pid!, exited, output: () => output };
}

/** The sandbox's config with extra top-level sections (notify, logs…). */
function writeConfig(box: Sandbox, services: ServiceSpec[], extra: Record<string, unknown> = {}): void {
  // Sandbox wrote a services-only config in its constructor; this replaces it before anything reads it.
  writeFileSync(box.configFile, configText(services) + (Object.keys(extra).length > 0 ? stringify(extra) : ''));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const endpoint = new Endpoint();
const boxes: Sandbox[] = [];
before(() => endpoint.start());
after(async () => {
  await Promise.all(boxes.map((box) => box.cleanup()));
  await endpoint.stop();
});

function newBox(services: ServiceSpec[], extra: Record<string, unknown> = {}): Sandbox {
  const box = new Sandbox(services);
  boxes.push(box);
  writeConfig(box, services, extra);
  return box;
}

const SECRETS = {
  RC_E2E_TOKEN: `qtok${randomBytes(6).toString('hex')}`,
  RC_E2E_SECRET: `hmac${randomBytes(6).toString('hex')}`,
  RC_E2E_BEARER: `bear${randomBytes(6).toString('hex')}`,
};
const SECRET_ENV = cleanEnv(SECRETS);
const SLEEPER = 'exec sleep 1000';
/** Prints three stdout lines and one stderr line naming its run, then exits 3. */
const CRASHER = 'n=$(cat runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > runs; echo "run $n line 1"; echo "run $n line 2"; echo "run $n line 3"; echo "run $n oops" >&2; exit 3';

function assertNoSecrets(text: string, where: string): void {
  for (const [name, value] of Object.entries(SECRETS)) assert.ok(!text.includes(value), `${where} shows the value of ${name}:\n${text}`);
}

function signatureOf(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function eventKey(event: Record<string, unknown>): string {
  return `${String(event.time)} ${String(event.event)} ${String(event.service ?? '-')}`;
}

async function statusJson(box: Sandbox): Promise<Record<string, unknown> & { notify?: { webhooks: Array<Record<string, unknown>> } }> {
  const result = await box.cli(['status', '--json'], { env: SECRET_ENV });
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

describe('a crash loop, delivered to webhooks', SUITE, () => {
  let box: Sandbox;
  let supervisor: RunningSupervisor;
  const crashEvents = new Set(['crashed', 'restarting', 'gave_up']);

  before(async () => {
    const services = [{ name: 'crasher', command: CRASHER, restart: 'on-failure', restart_max: 2, restart_window: '60s', restart_sec: 0.1 }];
    box = newBox(services, {
      notify: {
        webhooks: [
          { url: `${endpoint.base}/ok/hook?token=\${RC_E2E_TOKEN}`, secret: '${RC_E2E_SECRET}', headers: { Authorization: 'Bearer ${RC_E2E_BEARER}' } },
          { url: `${endpoint.base}/jitter/order`, events: ['started', 'crashed', 'restarting', 'gave_up'] },
          { url: `${endpoint.base}/fail/hook?key=\${RC_E2E_TOKEN}`, headers: { Authorization: 'Bearer ${RC_E2E_BEARER}' }, retries: 0 },
        ],
      },
    });
    supervisor = await startSupervisor(box, SECRETS);
    await box.waitForEvent('crasher', 'gave_up', 1, 20_000);
  });

  test('crashed, restarting and gave_up arrive as recorded, with host, log_tail and a valid HMAC signature', async () => {
    const got = await waitFor(() => {
      const list = endpoint.at('/ok/hook').filter((request) => request.json.service === 'crasher' && crashEvents.has(String(request.json.event)));
      return list.length >= 6 ? list : null;
    }, 10_000, 'six crash-loop deliveries to /ok/hook');
    assert.deepEqual(got.map((request) => request.json.event), ['crashed', 'restarting', 'crashed', 'restarting', 'crashed', 'gave_up']);
    const recorded = box.eventsOf('crasher').filter((event) => crashEvents.has(event.event));
    assert.equal(recorded.length, 6, `recorded: ${JSON.stringify(recorded)}`);
    for (const [index, request] of got.entries()) {
      const { host, log_tail: _tail, ...event } = request.json;
      assert.deepEqual(event, recorded[index], 'the body is the event as recorded, plus host and log_tail');
      assert.equal(host, hostname());
      assert.equal(request.headers['content-type'], 'application/json');
      assert.equal(request.headers['x-restart-control-signature'], signatureOf(request.body, SECRETS.RC_E2E_SECRET), 'HMAC-SHA256 of the exact body');
      assert.equal(request.headers.authorization, `Bearer ${SECRETS.RC_E2E_BEARER}`, 'the header, with ${VAR} expanded');
    }
    const crashed = got.filter((request) => request.json.event === 'crashed').map((request) => request.json);
    assert.deepEqual(crashed.map((event) => [event.exit_code, event.signal, event.restart_policy, event.will_restart, event.reason]), [
      [3, null, 'on-failure', true, 'exit code 3'],
      [3, null, 'on-failure', true, 'exit code 3'],
      [3, null, 'on-failure', false, 'exit code 3'],
    ]);
    const restarting = got.filter((request) => request.json.event === 'restarting').map((request) => request.json);
    assert.deepEqual(restarting.map((event) => [event.restart_attempt, event.max_restarts, event.delay_s, event.reason, event.log_tail]), [
      [1, 2, 0.1, 'exit code 3', undefined],
      [2, 2, 0.1, 'exit code 3', undefined],
    ]);
    const gaveUp = got.at(-1)!.json;
    assert.match(String(gaveUp.reason), /restart limit 2 /);
    assert.equal(gaveUp.restarts, 2);
    // The tail is the service's last output lines at the time of the event: the run that just crashed ends it.
    const runLines = (run: number) => [`run ${run} line 1`, `run ${run} line 2`, `run ${run} line 3`, `run ${run} oops`].sort();
    for (const [index, event] of [...crashed, gaveUp].entries()) {
      const run = Math.min(index + 1, 3);
      const tail = event.log_tail as string[];
      assert.ok(Array.isArray(tail) && tail.length <= 20, `${String(event.event)} #${index + 1}: log_tail is an array of ≤ 20 lines: ${JSON.stringify(tail)}`);
      assert.deepEqual([...tail.slice(-4)].sort(), runLines(run), `${String(event.event)} #${index + 1}: log_tail ends with run ${run}'s output: ${JSON.stringify(tail)}`);
      assert.ok(!tail.some((line) => line.startsWith(`run ${run + 1} `)), 'nothing from a later run');
    }
  });

  test('order is preserved per webhook (one endpoint answers after a random 0–40 ms)', async () => {
    const wantedByJitter = new Set(['started', 'crashed', 'restarting', 'gave_up']);
    const expectedJitter = () => box.events().filter((event) => wantedByJitter.has(event.event)).map(eventKey);
    assert.equal(expectedJitter().length, 9, 'three starts, three crashes, two restarts, one gave_up');
    await waitFor(() => endpoint.at('/jitter/order').length >= 9, 10_000, 'nine deliveries to /jitter/order');
    assert.deepEqual(endpoint.at('/jitter/order').map((request) => eventKey(request.json)), expectedJitter());
    // /ok/hook gets every event but `started` (and not its own notify_failed); whatever arrived so far is a prefix, in order.
    const receivedOk = endpoint.at('/ok/hook').map((request) => eventKey(request.json));
    assert.ok(receivedOk.length >= 7, `supervisor_started and six crash-loop events at least, got ${receivedOk.length}`);
    // events.jsonl is written asynchronously: a delivery may beat its own line to the file.
    const expectedOk = await waitFor(() => {
      const list = box.events().filter((event) => event.event !== 'started' && !(event.event === 'notify_failed' && String(event.sink).includes('/ok/hook'))).map(eventKey);
      return list.length >= receivedOk.length ? list : null;
    }, 5_000, 'events.jsonl to catch up');
    assert.deepEqual(receivedOk, expectedOk.slice(0, receivedOk.length));
  });

  test('status --json shows per-webhook counts: sent, failed, dropped (persisted within ~1 s)', async () => {
    let last: unknown;
    const hooks = await waitFor(async () => {
      const status = await statusJson(box);
      last = status.notify;
      const list = status.notify?.webhooks ?? [];
      const find = (part: string) => list.find((hook) => String(hook.sink).includes(part));
      const [ok, jitter, fail] = [find('/ok/hook'), find('/jitter/order'), find('/fail/hook')];
      if (!ok || !jitter || !fail || list.some((hook) => hook.queued !== 0)) return null;
      if (ok.sent !== endpoint.at('/ok/hook').length || jitter.sent !== endpoint.at('/jitter/order').length) return null;
      if (fail.failed !== endpoint.at('/fail/hook').length) return null;
      return { ok, jitter, fail };
    }, 10_000, 'status counts matching what the endpoint received').catch((error: Error) => {
      throw new Error(`${error.message}\nlast status notify: ${JSON.stringify(last)}`);
    });
    assert.ok(Number(hooks.fail.failed) >= 7, `every event sent to /fail failed: ${JSON.stringify(hooks.fail)}`);
    assert.equal(hooks.fail.sent, 0);
    assert.equal(hooks.ok.failed, 0);
    for (const hook of Object.values(hooks)) assert.equal(hook.dropped, 0, `nothing dropped: ${JSON.stringify(hook)}`);
    assert.match(String(hooks.ok.sink), /\/ok\/hook\?\*\*\*$/, 'the sink is named by its redacted URL');
    assert.equal(box.events().filter((event) => event.event === 'notify_failed').length, Number(hooks.fail.failed), 'one notify_failed per failed delivery');
  });

  test('secrets never show: config, config --show-origin, restart.log, logs, events.jsonl, status --json, supervisor output', async () => {
    await waitFor(() => box.events().some((event) => event.event === 'notify_failed'), 10_000, 'a notify_failed event');
    const config = await box.cli(['config'], { env: SECRET_ENV });
    assert.equal(config.code, 0, config.stderr);
    assertNoSecrets(config.stdout, '`config`');
    assert.ok(config.stdout.includes(`${endpoint.base}/ok/hook?***`), `the URL keeps its host and path:\n${config.stdout}`);
    assert.match(config.stdout, /secret: "?\*\*\*"?/);
    assert.match(config.stdout, /Authorization: "?\*\*\*"?/);

    const origins = await box.cli(['config', '--show-origin'], { env: SECRET_ENV });
    assert.equal(origins.code, 0, origins.stderr);
    assertNoSecrets(origins.stdout, '`config --show-origin`');
    assert.match(origins.stdout, /^notify\.webhooks\[0\]\.secret = "\*\*\*"/m);
    assert.match(origins.stdout, /^notify\.webhooks\[0\]\.url = ".*\?\*\*\*"/m);

    const restartLog = readFileSync(join(box.stateDir, 'logs', 'restart.log'), 'utf8');
    assertNoSecrets(restartLog, 'restart.log');
    assert.match(restartLog, /Notification to http:\/\/127\.0\.0\.1:\d+\/fail\/hook\?\*\*\* failed - HTTP 500/, 'the failure is logged, redacted');
    const logs = await box.cli(['logs', '-n', '1000'], { env: SECRET_ENV });
    assert.equal(logs.code, 0, logs.stderr);
    assertNoSecrets(logs.stdout, '`logs`');
    assert.ok(logs.stdout.includes('***'), '`logs` shows the masked values');

    assertNoSecrets(readFileSync(join(box.stateDir, 'events.jsonl'), 'utf8'), 'events.jsonl');
    const status = await box.cli(['status', '--json'], { env: SECRET_ENV });
    assertNoSecrets(status.stdout, '`status --json`');
    assert.ok(status.stdout.includes('***'));
    assertNoSecrets(supervisor.output(), 'the supervisor\'s own output');
  });
});

describe('a hung endpoint never delays a crash restart', SUITE, () => {
  const CRASHES = 9;

  test(`crash-to-new-pid, median of ${CRASHES} SIGKILLs each: a hung webhook adds < 50 ms`, async (t) => {
    const service = { name: 'victim', command: SLEEPER, restart: 'always', restart_sec: 0 };
    const plain = newBox([service]);
    const hung = newBox([service], { notify: { webhooks: [{ url: `${endpoint.base}/hang/victim`, timeout: '60s', retries: 0 }] } });
    await Promise.all([startSupervisor(plain), startSupervisor(hung)]);
    const measure = async (box: Sandbox): Promise<{ total: number; detect: number }> => {
      const before = await box.waitForState('victim', 'running');
      const since = new Date().toISOString();
      const killedAt = Date.now();
      process.kill(before.pid!, 'SIGKILL');
      const started = await box.waitForEventSince('victim', 'started', since, 5_000);
      const crashed = box.eventsOf('victim', 'crashed').find((event) => event.time >= since);
      await box.waitForState('victim', 'running', 5_000, (s) => s.pid === started.pid);
      return { total: Date.parse(started.time) - killedAt, detect: crashed ? Date.parse(crashed.time) - killedAt : NaN };
    };
    const samples = { plain: [] as number[], hung: [] as number[] };
    for (let round = 0; round < CRASHES; round++) {
      // Alternate which goes first, so a burst of load elsewhere hits both alike.
      const order = round % 2 === 0 ? (['plain', 'hung'] as const) : (['hung', 'plain'] as const);
      for (const which of order) samples[which].push((await measure(which === 'plain' ? plain : hung)).total);
    }
    const [plainMedian, hungMedian] = [median(samples.plain), median(samples.hung)];
    t.diagnostic(`crash-to-new-pid ms, no webhook: ${samples.plain.join(', ')} (median ${plainMedian})`);
    t.diagnostic(`crash-to-new-pid ms, hung webhook: ${samples.hung.join(', ')} (median ${hungMedian})`);
    assert.ok(endpoint.at('/hang/victim').length >= 1, 'the hung endpoint got a request (and never answered)');
    assert.ok(hungMedian - plainMedian < 250, `a hung webhook (30 s) added ${hungMedian - plainMedian} ms (no webhook ${plainMedian} ms, hung ${hungMedian} ms)`);
    assert.equal(hung.serviceProcesses('victim').length, 1, 'one copy');
  });
});

describe('config errors', SUITE, () => {
  test('a missing ${VAR} is a config error naming it: config --check and run.ts exit 2', async () => {
    const box = newBox([{ name: 'idle', command: SLEEPER }], {
      notify: { webhooks: [{ url: '${RC_E2E_MISSING_URL}', secret: '${RC_E2E_MISSING_SECRET}' }] },
    });
    const check = await box.cli(['config', '--check'], { env: SECRET_ENV });
    assert.equal(check.code, 2, `config --check: ${check.stdout}${check.stderr}`);
    assert.match(check.stderr, /RC_E2E_MISSING_URL/);
    assert.match(check.stderr, /RC_E2E_MISSING_SECRET/);
    assert.match(check.stderr, /notify\.webhooks\[0\]\.url: environment variable RC_E2E_MISSING_URL is not set/);
    const run = await box.run([], { env: SECRET_ENV, timeoutMs: 15_000 });
    assert.equal(run.code, 2, `run.ts: ${run.stdout}${run.stderr}`);
    assert.match(run.stderr, /RC_E2E_MISSING_URL is not set/);
    assert.ok(!existsSync(join(box.stateDir, 'supervisor.pid')), 'no supervisor started');
  });
});

describe('notify test', SUITE, () => {
  test('a working endpoint: OK with the status code and the time taken, exit 0, without a supervisor', async () => {
    const box = newBox([{ name: 'idle', command: SLEEPER }], {
      notify: { webhooks: [{ url: `${endpoint.base}/ok/notify-test?token=\${RC_E2E_TOKEN}`, secret: '${RC_E2E_SECRET}' }] },
    });
    assert.equal(await box.isReady(), false, 'no supervisor running');
    const result = await box.cli(['notify', 'test'], { env: SECRET_ENV });
    assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
    assert.match(result.stdout, /^OK\s+http:\/\/127\.0\.0\.1:\d+\/ok\/notify-test\?\*\*\*\s+200 in \d+ ms$/m);
    assertNoSecrets(result.stdout + result.stderr, '`notify test`');
    const [request] = endpoint.at('/ok/notify-test');
    assert.ok(request, 'the endpoint got the test event');
    assert.equal(request.json.test, true);
    assert.equal(request.json.host, hostname());
    assert.equal(request.headers['x-restart-control-signature'], signatureOf(request.body, SECRETS.RC_E2E_SECRET));
  });

  test('a failing endpoint (500) next to a working one: an error line for it, exit non-zero', async () => {
    const box = newBox([{ name: 'idle', command: SLEEPER }], {
      notify: { webhooks: [{ url: `${endpoint.base}/ok/notify-test-2` }, { url: `${endpoint.base}/fail/notify-test?key=\${RC_E2E_TOKEN}`, retries: 3 }] },
    });
    const result = await box.cli(['notify', 'test', '--event', 'gave_up'], { env: SECRET_ENV });
    assert.notEqual(result.code, 0, `${result.stdout}${result.stderr}`);
    assert.match(result.stdout, /^OK\s+http:\/\/127\.0\.0\.1:\d+\/ok\/notify-test-2\s+200 in \d+ ms$/m);
    assert.match(result.stdout + result.stderr, /^FAIL\s+http:\/\/127\.0\.0\.1:\d+\/fail\/notify-test\?\*\*\*\s+HTTP 500.*\(\d+ ms\)$/m);
    assertNoSecrets(result.stdout + result.stderr, '`notify test`');
    assert.equal(endpoint.at('/fail/notify-test').length, 1, 'one try per sink');
    assert.equal(endpoint.at('/ok/notify-test-2')[0]?.json.event, 'gave_up', '--event picks the type');
  });
});

describe('RESTART_CONTROL_WEBHOOK_URL alone', SUITE, () => {
  test('adds a JSON webhook with the default event filter, without a notify section', async () => {
    const box = newBox([{ name: 'once', command: 'if [ -e ran ]; then exec sleep 1000; fi; touch ran; echo about to crash; exit 1', restart: 'on-failure' }]);
    await startSupervisor(box, { RESTART_CONTROL_WEBHOOK_URL: `${endpoint.base}/ok/env-hook` });
    await box.waitForEvent('once', 'started', 2);
    const got = await waitFor(() => {
      const list = endpoint.at('/ok/env-hook');
      return list.some((request) => request.json.event === 'restarting') ? list : null;
    }, 10_000, 'crashed and restarting at /ok/env-hook');
    for (const request of got) assert.equal(request.headers['content-type'], 'application/json');
    assert.deepEqual(got.map((request) => request.json.event), ['supervisor_started', 'crashed', 'restarting'], '`started` is filtered out by default');
    const crashed = got[1]!.json;
    assert.equal(crashed.service, 'once');
    assert.equal(crashed.exit_code, 1);
    assert.equal(crashed.host, hostname());
    assert.deepEqual(crashed.log_tail, ['about to crash']);
    assert.equal(got[0]!.headers['x-restart-control-signature'], undefined, 'no secret, no signature');
  });
});

describe('shutdown', SUITE, () => {
  test('SIGTERM: pending deliveries to a slow endpoint (answers after 1 s) are still delivered', async () => {
    const box = newBox([{ name: 'idle', command: SLEEPER }], { notify: { webhooks: [{ url: `${endpoint.base}/slow/shutdown` }] } });
    const supervisor = await startSupervisor(box);
    // supervisor_started is in flight or answered; let it finish so what is pending at SIGTERM is only the shutdown's events
    await waitFor(() => endpoint.at('/slow/shutdown')[0]?.answeredAt, 5_000, 'supervisor_started answered');
    const termAt = Date.now();
    process.kill(supervisor.pid, 'SIGTERM');
    const exit = await Promise.race([supervisor.exited, new Promise<null>((done) => setTimeout(() => done(null), 15_000))]);
    assert.ok(exit, 'the supervisor exits within 15 s');
    assert.equal(exit.code, 0, supervisor.output());
    const got = endpoint.at('/slow/shutdown');
    assert.deepEqual(got.map((request) => `${String(request.json.event)}${request.json.service ? `:${String(request.json.service)}` : ''}`),
      ['supervisor_started', 'stopped:idle', 'supervisor_stopped']);
    for (const request of got.slice(1)) {
      assert.ok(request.answeredAt !== undefined && request.answeredAt <= exit.at, `${String(request.json.event)} answered before the supervisor exited`);
    }
    const waited = exit.at - termAt;
    assert.ok(waited >= 1500 && waited < 8000, `the supervisor waited for two 1 s deliveries, within its 5 s budget: ${waited} ms`);
    assert.ok(!alive(supervisor.pid));
  });
});

/** The web page's API against a real supervisor (./run.ts), compared with ./restart-control.ts. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { waitFor } from '../helpers.ts';
import { Sandbox } from '../support.ts';
import { webSandbox } from '../web/support.ts';

const TOKEN = 'e2e-token-0123456789';

describe('web page API through ./run.ts', { timeout: 90_000 }, () => {
  let box: Sandbox;
  let base: string;
  before(async () => {
    const made = await webSandbox([
      { name: 'steady', command: 'echo steady up; exec sleep 1000' },
      { name: 'crashy', command: 'exec sleep 1000', restart: 'always' },
    ], { token: TOKEN });
    box = made.box;
    base = `http://127.0.0.1:${made.port}/`;
    await box.startSupervisor();
  });
  after(() => box?.cleanup());

  test('api/status is the document status --json prints', async () => {
    const cli = JSON.parse((await box.cli(['status', '--json'])).stdout) as Record<string, unknown>;
    const web = await (await fetch(`${base}api/status`)).json() as Record<string, unknown>;
    assert.deepEqual(Object.keys(web).sort(), Object.keys(cli).sort());
    const pick = (report: Record<string, unknown>) => (report.services as { name: string; state: string; pid: number }[]).map(({ name, state, pid }) => ({ name, state, pid }));
    assert.deepEqual(pick(web), pick(cli));
    assert.deepEqual(web.supervisor, cli.supervisor);
  });

  test('a POST restart with the token goes through the control handlers: a new pid', async () => {
    const before = box.service('steady')!.pid;
    const refused = await fetch(`${base}api/services/steady/restart`, { method: 'POST' });
    assert.equal(refused.status, 401);
    const response = await fetch(`${base}api/services/steady/restart`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(response.status, 200);
    const body = await response.json() as { messages: string[] };
    assert.match(body.messages[0]!, /^restarted steady \(pid \d+\)$/);
    const after = box.service('steady')!.pid;
    assert.notEqual(after, before);
    assert.equal((await fetch(`${base}api/services/ghost/restart`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status, 404);
  });

  test('the event stream carries a crash as it is written to events.jsonl', async () => {
    const response = await fetch(`${base}api/events/stream`);
    const reader = response.body!.getReader();
    const victim = box.service('crashy')!.pid!;
    process.kill(victim, 'SIGKILL');
    let text = '';
    await waitFor(async () => { text += new TextDecoder().decode((await reader.read()).value); return /"event":"started","service":"crashy"/.test(text); }, 10_000, 'crashed and started over SSE');
    await reader.cancel();
    const line = text.split('\n').find((l) => l.includes('"event":"crashed"'))!.slice('data: '.length);
    const crashed = box.eventsOf('crashy', 'crashed').at(-1)!;
    assert.deepEqual(JSON.parse(line), crashed);
  });

  test('GET metrics on web.listen: the Prometheus registry, free on loopback', async () => {
    const response = await fetch(`${base}metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const body = await response.text();
    assert.match(body, /^restartctl_build_info\{version="[^"]+"\} 1$/m);
    assert.match(body, /^restartctl_service_up\{service="steady"\} 1$/m);
  });

  test('a wrong token is counted in the events once', async () => {
    for (let i = 0; i < 3; i++) await fetch(`${base}api/status`, { headers: { authorization: 'Bearer nope' } });
    const failure = await waitFor(() => box.events().find((e) => e.event === 'web_auth_failed'), 5000, 'web_auth_failed');
    // events.jsonl is written asynchronously: a second event, had there been one, is there once the next is
    await fetch(`${base}api/schedule/disable`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    await waitFor(() => box.events().some((e) => e.event === 'web_auth_failed') && box.events().at(-1)!.time > failure.time, 5000, 'a later event');
    assert.equal(box.events().filter((e) => e.event === 'web_auth_failed').length, 1);
    assert.equal(failure.reason, 'wrong token');
  });

  test('restart-control web prints the URL and the token link', async () => {
    const result = await box.cli(['web']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`web page: ${base.replace(/[.]/g, '\\.')}\n`));
    assert.ok(result.stdout.includes(`${base}?token=${TOKEN}`), result.stdout);
    assert.match(result.stdout, /answering now/);
  });
});

describe('web config checks', { timeout: 30_000 }, () => {
  test('a non-loopback listen without a token is refused at config check, with file:line (exit 2)', async (t) => {
    const box = new Sandbox([{ name: 'a', command: 'sleep 1' }]);
    t.after(() => box.cleanup());
    writeFileSync(box.configFile, 'services:\n  - name: a\n    command: sleep 1\nweb:\n  listen: 0.0.0.0:7070\n');
    const check = await box.cli(['config', '--check']);
    assert.equal(check.code, 2);
    assert.match(check.stderr, /restart-control\.yaml:5: web\.listen: 0\.0\.0\.0 is not a loopback address: set web\.token/);
    const run = await box.run();
    assert.equal(run.code, 2);
    assert.match(run.stderr, /restart-control\.yaml:5: web\.listen/);
  });

  test('a port already taken: the supervisor runs on without the page, and says why', async (t) => {
    const { createServer } = await import('node:net');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    t.after(() => taken.close());
    const port = (taken.address() as { port: number }).port;
    const box = new Sandbox([{ name: 'a', command: 'exec sleep 1000' }]);
    t.after(() => box.cleanup());
    writeFileSync(box.configFile, `${readFileSync(box.configFile, 'utf8')}web:\n  listen: 127.0.0.1:${port}\n`);
    await box.startSupervisor();
    const error = await waitFor(() => box.events().find((e) => e.event === 'web_error'), 5000, 'web_error');
    assert.match(error.reason!, /EADDRINUSE/);
    assert.equal(box.service('a')!.state, 'running');
  });

  test('without web: the command says the page is off', async (t) => {
    const box = new Sandbox([{ name: 'a', command: 'sleep 1' }]);
    t.after(() => box.cleanup());
    const result = await box.cli(['web']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /the web page is off: add a web: section/);
  });
});

/**
 * The web server at HTTP level, on 127.0.0.1 with a real config and state files; the supervisor's control handlers
 * are stood in for (test/e2e/web.test.ts drives the real ones through ./run.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parseConfigText } from '../../lib/config/load.ts';
import type { ControlRequest } from '../../lib/control/protocol.ts';
import type { Config, EventRecord } from '../../lib/core/types.ts';
import { ResourceHistory } from '../../lib/web/history.ts';
import { startWebServer, type WebServer } from '../../lib/web/server.ts';
import { makeTempDir, waitFor } from '../helpers.ts';

const TOKEN = 'test-token-123';
const temp = makeTempDir('rc-web-');

interface Harness { server: WebServer; base: string; recorded: Omit<EventRecord, 'time'>[]; requests: ControlRequest[]; config: Config }

async function harness(web: string, basePath = '/'): Promise<Harness> {
  const dir = temp.fresh();
  const file = join(dir, 'rc.yaml');
  const text = `state_dir: state\nservices:\n  - name: api\n    command: sleep 1\n  - name: worker\n    command: sleep 1\nweb:\n${web}\n`;
  writeFileSync(file, text);
  const { config } = parseConfigText(text, file, { ...process.env, WEB_TOKEN: TOKEN });
  mkdirSync(config.logs.dir, { recursive: true });
  writeFileSync(join(config.stateDir, 'events.jsonl'), [
    { time: new Date(Date.now() - 3 * 3600_000).toISOString(), event: 'crashed', service: 'api', reason: 'old crash' },
    { time: new Date(Date.now() - 60_000).toISOString(), event: 'crashed', service: 'worker', reason: 'exit code 1' },
  ].map((e) => JSON.stringify(e)).join('\n') + '\n');
  writeFileSync(join(config.logs.dir, 'api.log'), Array.from({ length: 300 }, (_, i) => `line ${i}`).join('\n') + '\n');
  writeFileSync(config.logs.restartLog, '[2026-01-01 00:00:00] api started (pid 1)\n');
  const recorded: Omit<EventRecord, 'time'>[] = [];
  const requests: ControlRequest[] = [];
  const history = new ResourceHistory(1000);
  history.record(Date.now(), new Map([['api', { cpu_percent: 1.5, rss_bytes: 1000, gpu_memory_bytes: null }]]));
  const server = await startWebServer({ ...config.web!, port: 0 }, {
    config,
    handle: async (request) => { requests.push(request); return { ok: true, messages: [`${request.command} done`] }; },
    record: (event) => { recorded.push(event); },
    serviceNames: () => ['api', 'worker'],
  }, history);
  return { server, base: `http://127.0.0.1:${server.port}${config.web!.basePath}`, recorded, requests, config };
}

const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers, redirect: 'manual' });
const post = (url: string, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', headers, redirect: 'manual' });

describe('web server, loopback with a token', () => {
  let h: Harness;
  before(async () => { h = await harness('  listen: 127.0.0.1:1\n  token: ${WEB_TOKEN}'); });
  after(() => h.server.close());

  test('the page and its files, served locally with relative links', async () => {
    const page = await get(h.base);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /text\/html/);
    assert.match(page.headers.get('content-security-policy')!, /default-src 'self'/);
    const html = await page.text();
    for (const link of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
      assert.ok(!link[1]!.startsWith('/') && !/^https?:/.test(link[1]!), `relative link: ${link[1]}`);
      if (link[1]!.startsWith('data:')) continue;
      assert.equal((await get(new URL(link[1]!, h.base).href)).status, 200, link[1]);
    }
  });

  test('api/status is the status --json document', async () => {
    const body = await (await get(`${h.base}api/status`)).json() as Record<string, unknown>;
    for (const key of ['supervisor', 'services', 'events', 'schedule', 'system']) assert.ok(key in body, key);
  });

  test('api/events with since, api/logs with n, api/history', async () => {
    const recent = await (await get(`${h.base}api/events?since=1h`)).json() as { events: EventRecord[] };
    assert.deepEqual(recent.events.map((e) => e.reason), ['exit code 1']);
    const all = await (await get(`${h.base}api/events?since=${encodeURIComponent(new Date(Date.now() - 86_400_000).toISOString())}`)).json() as { events: EventRecord[] };
    assert.equal(all.events.length, 2);
    assert.equal((await get(`${h.base}api/events?since=yesterday-ish`)).status, 400);
    const logs = await (await get(`${h.base}api/logs/api?n=5`)).json() as { lines: string[] };
    assert.deepEqual(logs.lines, ['line 295', 'line 296', 'line 297', 'line 298', 'line 299']);
    assert.equal(((await (await get(`${h.base}api/logs/api`)).json()) as { lines: string[] }).lines.length, 200);
    const restartLog = await (await get(`${h.base}api/logs/restart.log`)).json() as { lines: string[] };
    assert.equal(restartLog.lines.length, 1);
    const history = await (await get(`${h.base}api/history`)).json() as { services: Record<string, { cpu_percent: number[] }> };
    assert.deepEqual(history.services.api!.cpu_percent, [1.5]);
  });

  test('errors are JSON with a message and the right status', async () => {
    for (const [response, status] of [
      [await get(`${h.base}api/logs/nope`), 404],
      [await post(`${h.base}api/services/nope/restart`, { authorization: `Bearer ${TOKEN}` }), 404],
      [await post(`${h.base}api/services/api/dance`, { authorization: `Bearer ${TOKEN}` }), 400],
      [await post(`${h.base}api/schedule/dance`, { authorization: `Bearer ${TOKEN}` }), 400],
      [await get(`${h.base}api/nothing`), 404],
      [await get(`${h.base}api/logs/api?n=-1`), 400],
      [await post(`${h.base}api/status`), 405],
    ] as const) {
      assert.equal(response.status, status, response.url);
      const body = await response.json() as { error: string; message: string };
      assert.equal(typeof body.message, 'string');
      assert.equal(typeof body.error, 'string');
    }
  });

  test('actions: the token by bearer or cookie, POST only, CSRF refused', async () => {
    const before = h.requests.length;
    assert.equal((await post(`${h.base}api/services/api/restart`)).status, 401);
    assert.equal((await get(`${h.base}api/services/api/restart`, { authorization: `Bearer ${TOKEN}` })).status, 405);
    const ok = await post(`${h.base}api/services/api/restart`, { authorization: `Bearer ${TOKEN}` });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { ok: true, messages: ['restart done'] });
    const cookie = `restart_control_token=${TOKEN}`;
    const host = new URL(h.base).host;
    assert.equal((await post(`${h.base}api/services/worker/stop`, { cookie, origin: `http://${host}` })).status, 200);
    assert.equal((await post(`${h.base}api/services/worker/stop`, { cookie, origin: 'http://evil.example' })).status, 403);
    assert.equal((await post(`${h.base}api/services/worker/stop`, { cookie })).status, 403);
    assert.equal((await post(`${h.base}api/schedule/disable`, { authorization: `Bearer ${TOKEN}` })).status, 200);
    assert.deepEqual(h.requests.slice(before), [
      // service actions answer once spawned: the page shows readiness live (issue 11)
      { command: 'restart', services: ['api'], options: { noWait: true } }, { command: 'stop', services: ['worker'], options: { noWait: true } }, { command: 'disable' },
    ]);
  });

  test('?token= sets an HttpOnly SameSite=Strict cookie and takes the token out of the address', async () => {
    const response = await get(`${h.base}?token=${TOKEN}`);
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), './');
    const cookie = response.headers.get('set-cookie')!;
    assert.match(cookie, /^restart_control_token=/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const session = await (await get(`${h.base}api/session`, { cookie: cookie.split(';')[0]! })).json();
    assert.deepEqual(session, { actions: true, token_configured: true, loopback: true });
    assert.equal(((await (await get(`${h.base}api/session`)).json()) as { actions: boolean }).actions, false);
  });

  test('a wrong token: 401, and web_auth_failed at most once a minute', async () => {
    const before = h.recorded.length;
    for (let i = 0; i < 5; i++) assert.equal((await get(`${h.base}api/status`, { authorization: 'Bearer guess' })).status, 401);
    const wrongCookie = await get(`${h.base}api/status`, { cookie: 'restart_control_token=old' });
    assert.equal(wrongCookie.status, 401);
    assert.match(wrongCookie.headers.get('set-cookie')!, /Max-Age=0/);
    const failures = h.recorded.slice(before).filter((e) => e.event === 'web_auth_failed');
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.remote, '127.0.0.1');
  });

  test('SSE: events as events.jsonl lines, resources as their own type', async () => {
    const response = await get(`${h.base}api/events/stream`);
    assert.match(response.headers.get('content-type')!, /text\/event-stream/);
    const reader = response.body!.getReader();
    let text = '';
    await waitFor(() => h.server.stats().events.clients === 1, 5000, 'client registered');
    h.server.publishEvent({ time: '2026-01-01T00:00:00.000Z', event: 'crashed', service: 'api', reason: 'exit code 1' });
    h.server.publishResources(0, new Map([['api', { cpu_percent: 2, rss_bytes: 3, gpu_memory_bytes: null }]]));
    await waitFor(async () => { text += new TextDecoder().decode((await reader.read()).value); return text.includes('event: resources'); }, 5000, 'messages');
    assert.match(text, /data: \{"time":"2026-01-01T00:00:00.000Z","event":"crashed","service":"api","reason":"exit code 1"\}/);
    await reader.cancel();
  });

  test('a log stream: the last lines, then new ones', async () => {
    const response = await get(`${h.base}api/logs/api/stream?n=3`);
    const reader = response.body!.getReader();
    let text = '';
    const readUntil = (needle: string) => waitFor(async () => { text += new TextDecoder().decode((await reader.read()).value); return text.includes(needle); }, 5000, needle);
    await readUntil('line 299');
    assert.match(text, /"lines":\["line 297","line 298","line 299"\]/);
    writeFileSync(join(h.config.logs.dir, 'api.log'), 'fresh line\n', { flag: 'a' });
    await readUntil('fresh line');
    await reader.cancel();
    assert.equal((await get(`${h.base}api/logs/nope/stream`)).status, 404);
  });
});

describe('SSE under load', () => {
  let h: Harness;
  before(async () => { h = await harness('  listen: 127.0.0.1:1'); });
  after(() => h.server.close());

  test('a client that stops reading is dropped, and does not slow the others', async () => {
    const { port } = new URL(h.base);
    const slow = connect(Number(port), '127.0.0.1');
    slow.on('error', () => undefined);
    let closed = false;
    slow.on('close', () => { closed = true; });
    await new Promise((resolve) => slow.once('connect', resolve));
    slow.write('GET /api/events/stream HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => h.server.stats().events.clients === 1, 5000, 'slow client registered');
    slow.pause(); // reads nothing from now on
    const big = 'x'.repeat(16 * 1024);
    const started = performance.now();
    for (let i = 0; i < 400 && h.server.stats().events.dropped === 0; i++) {
      h.server.publishEvent({ time: new Date().toISOString(), event: 'log_line', reason: big });
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(h.server.stats().events.dropped, 1, 'the slow client was dropped');
    assert.ok(performance.now() - started < 5000, 'publishing stayed fast');
    // The server still answers at once
    const answered = performance.now();
    assert.equal((await get(`${h.base}api/session`)).status, 200);
    assert.ok(performance.now() - answered < 1000);
    assert.equal(h.server.stats().events.clients, 0);
    slow.resume(); // what the server had sent drains, then the end of the connection shows
    await waitFor(() => closed, 5000, 'the slow socket closed');
    slow.destroy();
  });

  test('200 clients at once all get every event', async () => {
    const clients = await Promise.all(Array.from({ length: 200 }, async () => {
      const response = await get(`${h.base}api/events/stream`);
      return response.body!.getReader();
    }));
    await waitFor(() => h.server.stats().events.clients === 200, 10_000, '200 clients');
    h.server.publishEvent({ time: new Date().toISOString(), event: 'crashed', service: 'api', reason: 'for everyone' });
    const got = await Promise.all(clients.map(async (reader) => {
      let text = '';
      await waitFor(async () => { text += new TextDecoder().decode((await reader.read()).value); return text.includes('for everyone'); }, 10_000, 'event');
      await reader.cancel();
      return true;
    }));
    assert.equal(got.length, 200);
  });
});

describe('web server behind a base path', () => {
  let h: Harness;
  before(async () => { h = await harness('  listen: 127.0.0.1:1\n  base_path: /proxy/7070', '/proxy/7070/'); });
  after(() => h.server.close());

  test('served under the base path, and without it when a proxy strips the prefix', async () => {
    assert.ok(h.base.endsWith('/proxy/7070/'));
    assert.equal((await get(h.base)).status, 200);
    assert.equal((await get(`${h.base}api/status`)).status, 200);
    const root = h.base.replace('/proxy/7070/', '/');
    assert.equal((await get(`${root}api/status`)).status, 200);
    const bare = await get(h.base.slice(0, -1));
    assert.equal(bare.status, 303);
    assert.equal(bare.headers.get('location'), '7070/');
  });

  test('extra routes can be mounted (e.g. metrics) under the same access rules', async () => {
    h.server.mount('metrics', (_request, response) => { response.writeHead(200, { 'content-type': 'text/plain' }); response.end('up 1\n'); });
    assert.equal(await (await get(`${h.base}metrics`)).text(), 'up 1\n');
  });

  test('actions are off without a token', async () => {
    const response = await post(`${h.base}api/services/api/restart`, { authorization: 'Bearer anything' });
    assert.equal(response.status, 403);
  });
});

describe('web server beyond loopback', () => {
  let h: Harness;
  before(async () => { h = await harness('  listen: 0.0.0.0:1\n  token: ${WEB_TOKEN}'); });
  after(() => h.server.close());

  test('everything needs the token', async () => {
    assert.equal((await get(h.base)).status, 401);
    assert.equal((await get(`${h.base}api/status`)).status, 401);
    assert.equal((await get(`${h.base}api/events/stream`)).status, 401);
    assert.equal((await get(`${h.base}api/status`, { authorization: `Bearer ${TOKEN}` })).status, 200);
    assert.equal((await get(`${h.base}api/status`, { cookie: `restart_control_token=${TOKEN}` })).status, 200);
  });
});

after(() => temp.remove());

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Notifier, QUEUE_LIMIT, sendTestNotification, type NotifierDeps } from '../../lib/notify/notifier.ts';
import { formatEventText } from '../../lib/notify/format.ts';
import { type EventRecord, type NotifyConfig, type WebhookConfig } from '../../lib/core/types.ts';
import { makeTempDir, waitFor } from '../helpers.ts';

const SINK_FIXTURE = fileURLToPath(new URL('../fixtures/notify-sink.ts', import.meta.url));
const TAIL = Array.from({ length: 25 }, (_, i) => `line ${i + 1}`);

interface Received { path: string; headers: IncomingHttpHeaders; body: string; json: Record<string, unknown> }

/**
 * Routes: /ok/* → 200; /flaky/<id> → 500, 500, then 200; /status/<code>/* → that code, echoing the request URL;
 * /hang/* → never answers; /gate/* → answers once `openGate()` is called.
 */
class TestEndpoint {
  readonly received: Received[] = [];
  private readonly server: Server;
  private readonly hanging: ServerResponse[] = [];
  private gated: ServerResponse[] = [];
  private gateOpen = false;
  private readonly flakyCounts = new Map<string, number>();
  base = '';

  constructor() {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        const path = request.url ?? '';
        this.received.push({ path, headers: request.headers, body, json: body ? JSON.parse(body) : {} });
        this.route(path, response);
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const response of [...this.hanging, ...this.gated]) response.destroy();
    this.server.closeAllConnections();
    await new Promise((done) => this.server.close(done));
  }

  openGate(): void {
    this.gateOpen = true;
    for (const response of this.gated.splice(0)) response.end('ok');
  }

  at(prefix: string): Received[] {
    return this.received.filter((request) => request.path.startsWith(prefix));
  }

  private route(path: string, response: ServerResponse): void {
    const [, kind, arg] = path.split(/[/?]/);
    if (kind === 'ok') return void response.end('ok');
    if (kind === 'hang') return void this.hanging.push(response);
    if (kind === 'gate') return void (this.gateOpen ? response.end('ok') : this.gated.push(response));
    if (kind === 'status') return void response.writeHead(Number(arg)).end(`you sent ${path}`);
    if (kind === 'flaky') {
      const count = (this.flakyCounts.get(path) ?? 0) + 1;
      this.flakyCounts.set(path, count);
      return void response.writeHead(count <= 2 ? 500 : 200).end();
    }
    response.writeHead(404).end();
  }
}

const endpoint = new TestEndpoint();
const notifiers: Notifier[] = [];
const temp = makeTempDir('rc-notify-');
before(() => endpoint.start());
after(async () => {
  await Promise.all(notifiers.map((notifier) => notifier.close(0)));
  await endpoint.stop();
  temp.remove();
});

function hook(path: string, overrides: Partial<WebhookConfig> = {}): WebhookConfig {
  return { url: `${endpoint.base}${path}`, format: 'json', events: null, services: null, secret: null, headers: {}, timeoutMs: 2000, retries: 0, ...overrides };
}

function makeNotifier(config: Partial<NotifyConfig>, deps: Partial<NotifierDeps> = {}): { notifier: Notifier; records: Array<Omit<EventRecord, 'time'>> } {
  const records: Array<Omit<EventRecord, 'time'>> = [];
  const notifier = new Notifier({ webhooks: [], command: null, ...config }, {
    host: 'gpu-box', cwd: temp.path, logTail: () => TAIL, record: (event) => records.push(event), retryBaseMs: 10, ...deps,
  });
  notifiers.push(notifier);
  return { notifier, records };
}

function event(type: string, fields: Record<string, unknown> = {}): EventRecord {
  return { time: new Date().toISOString(), event: type, service: 'comfyui', ...fields };
}

async function receivedAt(prefix: string, count: number, timeoutMs = 5000): Promise<Received[]> {
  await waitFor(() => endpoint.at(prefix).length >= count, timeoutMs, `${count} requests to ${prefix}`);
  return endpoint.at(prefix);
}

const idle = (notifier: Notifier) => () => notifier.stats().every((sink) => sink.queued === 0);

describe('json webhooks', () => {
  it('receives crashed, restarting and gave_up with their fields, log tails and a valid HMAC signature', async () => {
    const { notifier } = makeNotifier({ webhooks: [hook('/ok/json', { secret: 's3cret-key' })] });
    notifier.publish(event('started'));
    notifier.publish(event('crashed', { code: 1, signal: null, delay_ms: 5000 }));
    notifier.publish(event('restarting', { reason: 'crash' }));
    notifier.publish(event('gave_up', { restarts: 5 }));
    const got = await receivedAt('/ok/json', 3);
    assert.deepEqual(got.map((request) => request.json.event), ['crashed', 'restarting', 'gave_up'], '`started` is not in the default filter');
    const [crashed, restarting, gaveUp] = got.map((request) => request.json);
    assert.equal(crashed!.service, 'comfyui');
    assert.equal(crashed!.code, 1);
    assert.equal(crashed!.delay_ms, 5000);
    assert.equal(crashed!.host, 'gpu-box');
    assert.match(String(crashed!.time), /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(crashed!.log_tail, TAIL.slice(-20));
    assert.deepEqual(gaveUp!.log_tail, TAIL.slice(-20));
    assert.equal(restarting!.log_tail, undefined);
    assert.equal(restarting!.reason, 'crash');
    for (const request of got) {
      const expected = `sha256=${createHmac('sha256', 's3cret-key').update(request.body).digest('hex')}`;
      assert.equal(request.headers['x-restart-control-signature'], expected);
      assert.equal(request.headers['content-type'], 'application/json');
    }
    await waitFor(() => notifier.stats()[0]?.queued === 0, 5000, 'the third answer to be counted');
    assert.deepEqual(notifier.stats(), [{ sink: `${endpoint.base}/ok/json`, sent: 3, failed: 0, dropped: 0, queued: 0 }]);
  });

  it('sends custom headers and honours the events and services filters', async () => {
    const { notifier } = makeNotifier({ webhooks: [hook('/ok/filter', { events: ['crashed'], services: ['comfyui'], headers: { Authorization: 'Bearer tok-123' } })] });
    notifier.publish(event('crashed', { service: 'other' }));
    notifier.publish(event('restarting'));
    notifier.publish(event('crashed', { marker: 'last' }));
    // Deliveries keep order, so once the last one arrived nothing filtered-in can still be pending.
    await waitFor(() => endpoint.at('/ok/filter').some((request) => request.json.marker === 'last'), 5000, 'the last event');
    const got = endpoint.at('/ok/filter');
    assert.equal(got.length, 1);
    assert.equal(got[0]!.headers.authorization, 'Bearer tok-123');
  });

  it('preserves order per webhook (50 events)', async () => {
    const { notifier } = makeNotifier({ webhooks: [hook('/ok/order')] });
    for (let seq = 0; seq < 50; seq++) notifier.publish(event('restarting', { seq }));
    await waitFor(() => endpoint.at('/ok/order').length === 50, 10_000, '50 deliveries');
    assert.deepEqual(endpoint.at('/ok/order').map((request) => request.json.seq), Array.from({ length: 50 }, (_, i) => i));
  });
});

describe('retries and failures', () => {
  it('delivers after retries when the endpoint answers 500 twice then 200', async () => {
    const { notifier, records } = makeNotifier({ webhooks: [hook('/flaky/a', { retries: 3 })] });
    notifier.publish(event('crashed', { code: 2 }));
    await waitFor(() => notifier.stats()[0]!.sent === 1, 5000, 'delivery');
    assert.equal(endpoint.at('/flaky/a').length, 3);
    assert.deepEqual(records, []);
  });

  it('records one notify_failed after the last retry, with the status and a redacted error', async () => {
    const failing = hook('/status/503/x?token=supersecret', { retries: 2 });
    const healthy = hook('/ok/fail-watch');
    const { notifier, records } = makeNotifier({ webhooks: [failing, healthy] });
    notifier.publish(event('crashed', { code: 1 }));
    await waitFor(() => notifier.stats()[0]!.failed === 1, 5000, 'failure');
    await waitFor(idle(notifier), 5000, 'idle queues');
    assert.equal(endpoint.at('/status/503/x').length, 3, 'one try and two retries');
    assert.equal(records.length, 1);
    const record = records[0]!;
    assert.equal(record.event, 'notify_failed');
    assert.equal(record.service, 'comfyui');
    assert.equal(record.sink, `${endpoint.base}/status/***/x?***`, 'numbers in the path may be ids: hidden');
    assert.equal(record.failed_event, 'crashed');
    assert.equal(record.status, 503);
    assert.equal(record.tries, 3);
    assert.match(String(record.error), /^HTTP 503/);
    assert.doesNotMatch(String(record.error), /supersecret/);

    // The lead's record() publishes it back: the failing webhook must not get it, the healthy one must.
    notifier.publish({ ...record, time: new Date().toISOString() } as EventRecord);
    await waitFor(() => endpoint.at('/ok/fail-watch').some((request) => request.json.event === 'notify_failed'), 5000, 'notify_failed on the healthy hook');
    await waitFor(idle(notifier), 5000, 'idle queues');
    assert.equal(endpoint.at('/status/503/x').length, 3);
    assert.deepEqual(notifier.stats().map(({ sent, failed }) => ({ sent, failed })), [{ sent: 0, failed: 1 }, { sent: 2, failed: 0 }]);
  });

  it('does not retry a 404, retries network errors', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/gone`;
    await new Promise((done) => closed.close(done));
    const { notifier, records } = makeNotifier({ webhooks: [hook('/status/404/nr', { retries: 3 }), { ...hook(''), url: deadUrl, retries: 2 }] });
    notifier.publish(event('crashed'));
    await waitFor(() => records.length === 2, 5000, 'two failures');
    assert.equal(endpoint.at('/status/404/nr').length, 1);
    const network = records.find((record) => record.sink === deadUrl)!;
    assert.equal(network.tries, 3);
    assert.match(String(network.error), /ECONNREFUSED/);
  });
});

describe('never blocking', () => {
  it('publish returns at once with a hung endpoint queued, and a healthy webhook still gets its events promptly', async () => {
    const { notifier } = makeNotifier({ webhooks: [hook('/hang/a', { timeoutMs: 30_000, retries: 3 }), hook('/ok/beside-hung')] });
    notifier.publish(event('crashed', { seq: -1 }));
    await waitFor(() => endpoint.at('/hang/a').length === 1, 5000, 'the hung request');
    const durations: number[] = [];
    for (let seq = 0; seq < 20; seq++) {
      const started = performance.now();
      notifier.publish(event('crashed', { seq }));
      durations.push(performance.now() - started);
    }
    assert.ok(Math.max(...durations) < 100, `publish never waits for the hung request (30 s): it took ${Math.max(...durations).toFixed(2)} ms`);
    const started = Date.now();
    await waitFor(() => endpoint.at('/ok/beside-hung').length === 21, 3000, 'the healthy webhook');
    assert.ok(Date.now() - started < 3000);
    assert.equal(notifier.stats()[0]!.queued, 21);

    const closeStarted = Date.now();
    await notifier.close(200);
    assert.ok(Date.now() - closeStarted < 2000, 'close() does not wait for the hung endpoint');
    assert.deepEqual(notifier.stats()[0], { sink: `${endpoint.base}/hang/a`, sent: 0, failed: 0, dropped: 21, queued: 0 });
  });

  it('overflow drops the oldest and counts them', async () => {
    const { notifier } = makeNotifier({ webhooks: [hook('/gate/overflow')] }, { queueLimit: 5 });
    for (let seq = 0; seq < 10; seq++) notifier.publish(event('restarting', { seq }));
    assert.deepEqual(notifier.stats()[0], { sink: `${endpoint.base}/gate/overflow`, sent: 0, failed: 0, dropped: 4, queued: 6 });
    endpoint.openGate();
    await waitFor(() => notifier.stats()[0]!.sent === 6, 5000, '6 deliveries');
    assert.deepEqual(endpoint.at('/gate/overflow').map((request) => request.json.seq), [0, 5, 6, 7, 8, 9]);
  });

  it('bounds each queue at 1,000 by default', async () => {
    assert.equal(QUEUE_LIMIT, 1000);
    const { notifier } = makeNotifier({ webhooks: [hook('/hang/bound', { timeoutMs: 30_000 })] });
    for (let seq = 0; seq < 1010; seq++) notifier.publish(event('restarting', { seq }));
    assert.deepEqual(notifier.stats()[0], { sink: `${endpoint.base}/hang/bound`, sent: 0, failed: 0, dropped: 9, queued: 1001 });
    await notifier.close(0);
    assert.equal(notifier.stats()[0]!.dropped, 1010);
  });
});

describe('close', () => {
  it('flushes pending deliveries within its limit, is idempotent and ignores later events', async () => {
    const { notifier } = makeNotifier({ webhooks: [hook('/ok/close')] });
    for (let seq = 0; seq < 20; seq++) notifier.publish(event('restarting', { seq }));
    const closing = notifier.close(5000);
    assert.equal(notifier.close(), closing);
    await closing;
    assert.equal(endpoint.at('/ok/close').length, 20);
    notifier.publish(event('restarting', { seq: 99 }));
    assert.deepEqual(notifier.stats()[0], { sink: `${endpoint.base}/ok/close`, sent: 20, failed: 0, dropped: 0, queued: 0 });
  });
});

describe('chat formats', () => {
  it('sends one readable message to slack and discord, with the log tail in a code block', async () => {
    const longTail = Array.from({ length: 20 }, (_, i) => `\x1b[31m${'x'.repeat(150)} ${i}\x1b[0m`);
    const { notifier } = makeNotifier({ webhooks: [hook('/ok/slack', { format: 'slack' }), hook('/ok/discord', { format: 'discord' })] }, { logTail: () => longTail });
    notifier.publish(event('crashed', { code: 1, signal: null, delay_ms: 5000 }));
    const [slack] = await receivedAt('/ok/slack', 1);
    const [discord] = await receivedAt('/ok/discord', 1);
    assert.deepEqual(Object.keys(slack!.json), ['text']);
    const text = String(slack!.json.text);
    assert.ok(text.startsWith(':red_circle: comfyui crashed on host gpu-box — exit code 1, restarting in 5s\n```\n'), text);
    assert.ok(text.endsWith(`${'x'.repeat(150)} 19\n\`\`\``));
    assert.doesNotMatch(text, /\x1b/);
    assert.deepEqual(Object.keys(discord!.json), ['content']);
    const content = String(discord!.json.content);
    assert.ok(content.startsWith('🔴 comfyui crashed on host gpu-box — exit code 1, restarting in 5s\n```\n'), content);
    assert.ok(content.length <= 2000, `discord message is ${content.length} characters`);
    assert.ok(content.endsWith('19\n```'), 'the newest lines are kept');
  });

  it('formats one sentence per event', () => {
    assert.equal(formatEventText(event('crashed', { code: 1, delay_ms: 5000 }), 'gpu-box'), 'comfyui crashed on host gpu-box — exit code 1, restarting in 5s');
    assert.equal(formatEventText(event('gave_up', { code: null, signal: 'SIGKILL', restarts: 5, host: 'h' })), 'comfyui gave up restarting on host h — signal SIGKILL, after 5 restarts');
    assert.equal(formatEventText(event('scheduled_restart', { reason: 'cron 0 4 * * *' })), 'comfyui scheduled restart — cron 0 4 * * *');
    assert.equal(formatEventText({ time: '', event: 'config_reloaded' }), 'restart-control config reloaded');
    assert.equal(formatEventText({ time: '', event: 'some_new_thing', service: 'a' }), 'a some new thing');
  });
});

describe('command sink', () => {
  it('runs a shell command in the config folder with the event JSON on stdin, in order', async () => {
    const { notifier } = makeNotifier({ command: 'cat >> events.jsonl' });
    for (let seq = 0; seq < 5; seq++) notifier.publish(event('crashed', { seq }));
    await waitFor(() => notifier.stats()[0]!.sent === 5, 10_000, '5 command runs');
    const lines = readFileSync(join(temp.path, 'events.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(lines.map((line) => line.seq), [0, 1, 2, 3, 4]);
    assert.equal(lines[0].host, 'gpu-box');
    assert.deepEqual(lines[0].log_tail, TAIL.slice(-20));
    assert.equal(notifier.stats()[0]!.sink, 'command');
  });

  it('runs a .ts command through tsx', async () => {
    const { notifier } = makeNotifier({ command: `${SINK_FIXTURE} ts-sink.jsonl` });
    notifier.publish(event('gave_up', { restarts: 3 }));
    await waitFor(() => notifier.stats()[0]!.sent === 1 || notifier.stats()[0]!.failed === 1, 10_000, 'the .ts command');
    const line = JSON.parse(readFileSync(join(temp.path, 'ts-sink.jsonl'), 'utf8'));
    assert.equal(line.event, 'gave_up');
    assert.equal(line.restarts, 3);
  });

  it('records a failing command as notify_failed', async () => {
    const { notifier, records } = makeNotifier({ command: 'echo "no route to ntfy" >&2; exit 3' });
    notifier.publish(event('crashed'));
    await waitFor(() => records.length === 1, 5000, 'notify_failed');
    assert.deepEqual({ ...records[0], error: undefined }, { event: 'notify_failed', service: 'comfyui', sink: 'command', failed_event: 'crashed', status: 3, tries: 1, error: undefined });
    assert.equal(records[0]!.error, 'exit code 3: no route to ntfy');
  });
});

describe('reconfigure', () => {
  it('keeps the queue and counters of unchanged sinks and drops removed ones', async () => {
    const kept = hook('/ok/keep');
    const { notifier } = makeNotifier({ webhooks: [kept, hook('/ok/removed')] });
    notifier.publish(event('crashed'));
    await waitFor(() => notifier.stats().every((sink) => sink.sent === 1), 5000, 'first deliveries');
    notifier.reconfigure({ webhooks: [{ ...kept, events: ['crashed'] }, hook('/ok/added')], command: null });
    assert.deepEqual(notifier.stats().map(({ sink, sent }) => ({ sink, sent })), [{ sink: `${endpoint.base}/ok/keep`, sent: 1 }, { sink: `${endpoint.base}/ok/added`, sent: 0 }]);
    notifier.publish(event('restarting'));
    notifier.publish(event('crashed'));
    await waitFor(() => notifier.stats()[0]!.sent === 2 && notifier.stats()[1]!.sent === 2, 5000, 'deliveries after reload');
  });
});

describe('sendTestNotification', () => {
  it('sends one test event to every sink and reports status, time or error', async () => {
    const config: NotifyConfig = { webhooks: [hook('/ok/test', { events: ['crashed'] }), hook('/status/404/test?key=abcd1234')], command: 'cat > test-event.json' };
    const results = await sendTestNotification(config, { host: 'gpu-box', cwd: temp.path, eventType: 'crashed' });
    assert.equal(results.length, 3);
    const [ok, notFound, command] = results;
    assert.deepEqual({ ...ok, durationMs: 0 }, { sink: `${endpoint.base}/ok/test`, ok: true, status: 200, durationMs: 0 });
    assert.ok(ok!.durationMs >= 0);
    assert.equal(notFound!.ok, false);
    assert.equal(notFound!.status, 404);
    assert.match(notFound!.error!, /^HTTP 404/);
    assert.doesNotMatch(notFound!.error!, /abcd1234/);
    assert.equal(notFound!.sink, `${endpoint.base}/status/***/test?***`);
    assert.deepEqual({ sink: command!.sink, ok: command!.ok }, { sink: 'command', ok: true });
    const sent = endpoint.at('/ok/test')[0]!.json;
    assert.equal(sent.event, 'crashed');
    assert.equal(sent.test, true);
    assert.equal(sent.host, 'gpu-box');
    assert.equal(JSON.parse(readFileSync(join(temp.path, 'test-event.json'), 'utf8')).event, 'crashed');
  });
});

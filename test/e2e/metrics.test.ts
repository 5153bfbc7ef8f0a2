/**
 * End to end: GET /metrics from a real supervisor (./run.ts) on metrics.listen; counters move as services crash and
 * are restarted through ./restart-control.ts; Debian's promtool accepts a live scrape; who may read it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { after, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { waitFor } from '../helpers.ts';
import { freePort } from '../nats-server.ts';
import { Sandbox, configText, type ServiceSpec } from '../support.ts';

const SUITE = { timeout: 90_000 };
const boxes: Sandbox[] = [];
after(async () => {
  for (const box of boxes) await box.cleanup();
});

function box(services: ServiceSpec[], extra: Record<string, unknown>): Sandbox {
  const created = new Sandbox(services);
  boxes.push(created);
  writeFileSync(created.configFile, configText(services) + stringify(extra));
  return created;
}

function get(url: string, headers: Record<string, string> = {}, localAddress?: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, ...(localAddress ? { localAddress } : {}) }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, type: String(response.headers['content-type']) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function externalAddress(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) if (entry.family === 'IPv4' && !entry.internal) return entry.address;
  }
  return null;
}

describe('GET /metrics on metrics.listen', SUITE, () => {
  test('counters move with crashes and a user restart; promtool accepts a live scrape', async (t) => {
    const port = await freePort();
    const services = [
      { name: 'flappy', command: 'if [ -e ran ]; then exec sleep 1000; fi; touch ran; exit 7', restart: 'on-failure' },
      { name: 'steady', command: 'exec sleep 1000' },
    ];
    const sandbox = box(services, { metrics: { listen: `127.0.0.1:${port}` } });
    await sandbox.startSupervisor();
    const url = `http://127.0.0.1:${port}/metrics`;
    const first = await waitFor(async () => {
      const scrape = await get(url);
      return sample(scrape.body, 'restartctl_service_restarts_total{service="flappy",reason="crash"}') === 1 ? scrape : null;
    }, 10_000, 'the crash restart counted');
    assert.equal(first.status, 200);
    assert.match(first.type, /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(first.body, 'restartctl_service_last_exit_code{service="flappy"}'), 7);
    assert.equal(sample(first.body, 'restartctl_service_up{service="steady"}'), 1);
    assert.equal(sample(first.body, 'restartctl_service_state{service="steady",state="running"}'), 1);
    assert.equal(sample(first.body, 'restartctl_service_restarts_total{service="steady",reason="manual"}'), 0);
    assert.ok(sample(first.body, 'restartctl_service_start_time_seconds{service="steady"}')! > Date.now() / 1000 - 60);
    assert.match(first.body, /^restartctl_build_info\{version="[^"]+"\} 1$/m);
    assert.match(first.body, /^process_resident_memory_bytes \d+/m);

    const restarted = await sandbox.cli(['restart', 'steady']);
    assert.equal(restarted.code, 0, restarted.stderr);
    const second = await get(url);
    assert.equal(sample(second.body, 'restartctl_service_restarts_total{service="steady",reason="manual"}'), 1);
    assert.equal(sample(second.body, 'restartctl_service_restarts_total{service="flappy",reason="crash"}'), 1);

    assert.equal((await get(`http://127.0.0.1:${port}/other`)).status, 404);
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: second.body, encoding: 'utf8' });
    if (checked.error) return t.skip('promtool is not installed (Debian package prometheus)');
    assert.equal(checked.status, 0, `${checked.stdout}${checked.stderr}`);
    assert.equal(`${checked.stdout}${checked.stderr}`.trim(), '');
  });

  test('a reload that moves metrics.listen moves the endpoint; the counters carry over', async () => {
    const [first, second] = [await freePort(), await freePort()];
    const services = [{ name: 'steady', command: 'exec sleep 1000' }];
    const sandbox = box(services, { metrics: { listen: `127.0.0.1:${first}` } });
    await sandbox.startSupervisor();
    assert.equal((await sandbox.cli(['restart', 'steady'])).code, 0);
    writeFileSync(sandbox.configFile, configText(services) + stringify({ metrics: { listen: `127.0.0.1:${second}` } }));
    const reloaded = await sandbox.cli(['reload']);
    assert.equal(reloaded.code, 0, reloaded.stdout + reloaded.stderr);
    const scrape = await waitFor(() => get(`http://127.0.0.1:${second}/metrics`).catch(() => null), 5000, 'the new address');
    assert.equal(sample(scrape.body, 'restartctl_service_restarts_total{service="steady",reason="manual"}'), 1);
    await assert.rejects(get(`http://127.0.0.1:${first}/metrics`), /ECONNREFUSED/);
  });

  test('off loopback: refused without the token, served with it; a non-loopback listen without a token is a config error', async (t) => {
    const services = [{ name: 'steady', command: 'exec sleep 1000' }];
    const open = box(services, { metrics: { listen: '0.0.0.0:9464' } });
    const refused = await open.run();
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /restart-control\.yaml:\d+: metrics\.listen: 0\.0\.0\.0:9464 is reachable from other machines: set metrics\.token/);

    const address = externalAddress();
    if (!address) return t.skip('no non-loopback IPv4 address on this machine');
    const port = await freePort();
    const guarded = box(services, { metrics: { listen: `0.0.0.0:${port}`, token: 'scrape-t0ken' } });
    await guarded.startSupervisor();
    const url = `http://${address}:${port}/metrics`;
    assert.equal((await get(url, {}, address)).status, 401);
    assert.equal((await get(url, { authorization: 'Bearer wrong-token!' }, address)).status, 401);
    const allowed = await get(url, { authorization: 'Bearer scrape-t0ken' }, address);
    assert.equal(allowed.status, 200);
    assert.match(allowed.body, /restartctl_service_up\{service="steady"\} 1/);
    assert.equal((await get(`http://127.0.0.1:${port}/metrics`)).status, 200, 'loopback needs no token');
  });
});

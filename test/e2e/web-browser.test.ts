/**
 * The web page in a real browser: playwright-core driving Debian's chromium against a real supervisor (./run.ts).
 * Skipped, saying why, where chromium is not installed. Screenshots go to test/artifacts/ (ignored by git).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { waitFor } from '../helpers.ts';
import { ROOT, Sandbox } from '../support.ts';
import { webSandbox } from '../web/support.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test', 'artifacts');
const TOKEN = 'browser-token-0123456789';
const BASE_PATH = '/lab/rc/';
const missing = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found (Debian package chromium): the browser tests cannot run`;

/** playwright gives every launch a fresh, temporary --user-data-dir of its own (and refuses one in `args`). */
async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/** A page that records console errors, uncaught exceptions and every request that leaves its origin. */
async function openPage(browser: Browser, width = 1280): Promise<{ page: Page; problems: string[]; foreign: string[] }> {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  const foreign: string[] = [];
  page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`); });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('request', (request) => { if (!request.url().startsWith('http://127.0.0.1:') && !request.url().startsWith('data:')) foreign.push(request.url()); });
  return { page, problems, foreign };
}

const pidCell = (page: Page, service: string) => page.locator(`tr[data-service="${service}"] td[data-label="PID"]`);
const stateCell = (page: Page, service: string) => page.locator(`tr[data-service="${service}"] td[data-label="State"]`);

/** A small stand-in for jupyter-server-proxy: /lab/rc/* goes upstream whole, /strip/* with the prefix taken off. */
function startProxy(upstreamPort: number): Promise<Server> {
  const server = createServer((incoming, outgoing) => {
    const url = incoming.url ?? '/';
    const path = url.startsWith('/strip/') ? url.slice('/strip'.length) : url;
    const upstream = httpRequest({
      host: '127.0.0.1', port: upstreamPort, path, method: incoming.method,
      headers: { ...incoming.headers, host: `127.0.0.1:${upstreamPort}`, 'x-forwarded-host': incoming.headers.host ?? '' },
    }, (response) => {
      outgoing.writeHead(response.statusCode ?? 502, response.headers);
      response.pipe(outgoing);
      response.once('close', () => outgoing.destroy()); // the upstream went away mid-stream: so does this
    });
    upstream.on('error', () => { outgoing.writeHead(502); outgoing.end(); });
    incoming.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('the web page in chromium', { timeout: 180_000, skip: missing }, () => {
  let box: Sandbox;
  let browser: Browser;
  let proxy: Server;
  let direct: string;
  let proxied: string;

  before(async () => {
    const made = await webSandbox([
      { name: 'steady', command: 'echo steady is up; exec sleep 1000' },
      { name: 'crashy', command: 'echo crashy is up; exec sleep 1000', restart: 'always' },
      { name: 'idle', command: 'sleep 1000', autostart: false },
    ], { token: TOKEN, basePath: BASE_PATH, extra: 'schedule:\n  interval: 6h\n' });
    box = made.box;
    direct = `http://127.0.0.1:${made.port}${BASE_PATH}`;
    await box.startSupervisor();
    proxy = await startProxy(made.port);
    proxied = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    browser = await launch();
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    proxy?.close();
    await box?.cleanup();
  });

  test('loads without console errors, shows every service with its state as a word, and follows a crash within 2 s', async () => {
    const { page, problems, foreign } = await openPage(browser);
    await page.goto(direct);
    for (const [service, state] of [['steady', 'running'], ['crashy', 'running'], ['idle', 'stopped']]) {
      await waitFor(async () => (await stateCell(page, service!).innerText()).trim() === state, 10_000, `${service} ${state} on the page`);
    }
    await waitFor(async () => (await page.locator('#connection').innerText()) === 'live', 10_000, 'event stream live');
    const before = box.service('crashy')!.pid!;
    assert.equal(await pidCell(page, 'crashy').innerText(), String(before));
    const killedAt = Date.now();
    process.kill(before, 'SIGKILL');
    const shown = await waitFor(async () => {
      const text = (await pidCell(page, 'crashy').innerText()).trim();
      return /^\d+$/.test(text) && Number(text) !== before ? Number(text) : null;
    }, 5_000, 'a new pid on the page', 20);
    const took = Date.now() - killedAt;
    assert.ok(took <= 2000, `the page showed the new pid after ${took} ms`);
    await waitFor(() => box.service('crashy')?.pid === shown, 5000, 'the shown pid is the real one');
    // The crash is on the timeline; hovering it shows why
    const mark = page.locator('.mark.kind-crash').last();
    await mark.waitFor({ timeout: 5000 });
    await mark.focus();
    assert.match(await page.locator('#timeline-tip').innerText(), /^crash of crashy at .*SIGKILL/);
    // Marks close in time overlap: the pointer gets the one on top, and the tip says what it is
    const top = page.locator('.mark').last();
    await top.hover();
    assert.equal(await page.locator('#timeline-tip').innerText(), await top.getAttribute('aria-label'));
    // The schedule's countdown ticks in the page
    assert.match(await page.locator('#countdown').innerText(), /^in 5h 59m \d+s$/);
    // Buttons are disabled without the token, and say why
    const restart = page.locator('tr[data-service="steady"] button[data-action="restart"]');
    assert.equal(await restart.isDisabled(), true);
    assert.match((await restart.getAttribute('title'))!, /needs the token/);
    // The log tail of a service
    await page.selectOption('#log-source', 'steady');
    await waitFor(async () => (await page.locator('#log').innerText()).includes('steady is up'), 5000, 'steady log on the page');
    // The sparklines have a few points once the resource samples arrive (every 5 s)
    await waitFor(async () => /MB|KB/.test(await page.locator('tr[data-service="steady"] td[data-label="RSS"]').innerText()), 15_000, 'an RSS figure');
    await waitFor(async () => /%/.test(await page.locator('tr[data-service="steady"] td[data-label="CPU"]').innerText()), 15_000, 'a CPU figure (two samples)');
    await page.screenshot({ path: join(ARTIFACTS, 'web-wide.png'), fullPage: true });
    await page.setViewportSize({ width: 360, height: 800 });
    await page.waitForTimeout(300); // one layout pass for the narrow layout's screenshot
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(overflow <= 360, `no sideways scrolling at 360 px (width ${overflow})`);
    await page.screenshot({ path: join(ARTIFACTS, 'web-360.png'), fullPage: true });
    assert.deepEqual(problems, []);
    assert.deepEqual(foreign, []);
    await page.context().close();
  });

  test('with the token link, a restart button changes the pid', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${direct}?token=${TOKEN}`);
    assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
    const restart = page.locator('tr[data-service="steady"] button[data-action="restart"]');
    await waitFor(async () => !(await restart.isDisabled()), 10_000, 'restart enabled');
    const before = box.service('steady')!.pid!;
    await restart.click();
    const after = await waitFor(() => { const pid = box.service('steady')?.pid; return pid && pid !== before ? pid : null; }, 15_000, 'a new pid');
    await waitFor(async () => (await pidCell(page, 'steady').innerText()).trim() === String(after), 5000, 'the new pid on the page');
    assert.match(await page.locator('#action-result').innerText(), /restarted steady \(pid \d+\)/);
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  test('works under a base path behind a proxy, both with the prefix kept and stripped, and reconnects after a supervisor restart', async () => {
    const { page, problems, foreign } = await openPage(browser);
    await page.goto(`${proxied}/strip/?token=${TOKEN}`);
    await waitFor(async () => (await stateCell(page, 'steady').innerText()).trim() === 'running', 10_000, 'steady through the stripping proxy');
    await page.goto(`${proxied}${BASE_PATH}?token=${TOKEN}`);
    await waitFor(async () => (await stateCell(page, 'steady').innerText()).trim() === 'running', 10_000, 'steady through the proxy');
    await waitFor(async () => (await page.locator('#connection').innerText()) === 'live', 10_000, 'event stream live through the proxy');
    // An action through the proxy passes the CSRF check (the proxy forwards its host)
    const restart = page.locator('tr[data-service="crashy"] button[data-action="restart"]');
    await waitFor(async () => !(await restart.isDisabled()), 10_000, 'restart enabled');
    const before = box.service('crashy')!.pid!;
    await restart.click();
    await waitFor(async () => { const text = (await pidCell(page, 'crashy').innerText()).trim(); return /^\d+$/.test(text) && Number(text) !== before; }, 15_000, 'new pid through the proxy');
    // The supervisor goes away and comes back: the page reconnects by itself
    assert.equal((await box.cli(['shutdown'])).code, 0);
    await waitFor(async () => (await page.locator('#connection').innerText()) !== 'live', 10_000, 'the page notices');
    await box.startSupervisor();
    const fresh = box.service('steady')!.pid!;
    await waitFor(async () => (await pidCell(page, 'steady').innerText()).trim() === String(fresh), 20_000, 'the page reconnected');
    assert.deepEqual(foreign, []);
    // A dropped connection shows as a network error in the console while the supervisor is down: nothing else
    assert.deepEqual(problems.filter((problem) => !/ERR_CONNECTION_REFUSED|502|Failed to load resource/.test(problem)), []);
    await page.context().close();
  });
});

// The restart-control page. It talks only to the JSON API beside it (relative URLs, so any base path or proxy
// prefix works), follows the event stream over Server-Sent Events, and polls nothing: the server pushes events and
// resource samples, and the clocks (uptime, countdown) tick in the page.
import { $ } from './format.js';
import { followLog, updateLogChoices } from './log.js';
import { kindOf, renderSchedule, renderSystem, renderTimeline } from './panels.js';
import { actionsOffReason, addSamples, renderServices, tickClocks } from './services.js';
import { DAY_MS, RECONNECT_MS, SILENT_STREAM_MS, page } from './state.js';

async function getJson(path) {
  const response = await fetch(path, { cache: 'no-store', credentials: 'same-origin' });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(body.message || `${path}: HTTP ${response.status}`), { status: response.status });
  return body;
}

function notice(text) {
  const node = $('#notice');
  node.hidden = !text;
  node.textContent = text || '';
}

async function refreshStatus() {
  try {
    page.status = await getJson('api/status');
    page.statusAt = Date.now();
    notice('');
    render();
  } catch (error) {
    if (error.status === 401) notice(`${error.message}.`);
  }
}

/** Many events in a burst (a crash and its restart) give one refresh. */
function scheduleRefresh(delay = 150) {
  if (page.refreshTimer) return;
  page.refreshTimer = setTimeout(() => { page.refreshTimer = null; void refreshStatus(); }, delay);
}

async function refreshAll() {
  const since = new Date(Date.now() - DAY_MS).toISOString();
  const [session, history, events] = await Promise.all([
    getJson('api/session').catch(() => page.session),
    getJson('api/history').catch(() => ({ services: {} })),
    getJson(`api/events?since=${encodeURIComponent(since)}&n=5000`).catch(() => ({ events: [] })),
  ]);
  page.session = session;
  page.history = history.services || {};
  page.events = events.events || [];
  await refreshStatus();
  renderTimeline();
  renderAccess();
}

function render() {
  const status = page.status;
  if (!status) return;
  const supervisor = $('#supervisor');
  supervisor.textContent = status.supervisor.running ? `supervisor running (pid ${status.supervisor.pid})` : 'supervisor not running';
  supervisor.className = `pill ${status.supervisor.running ? 'live' : 'down'}`;
  renderServices(status.services);
  renderSchedule(status.schedule);
  renderSystem(status.system);
  updateLogChoices(status.services.map((service) => service.name));
}

async function act(path, what) {
  const result = $('#action-result');
  page.busy = true;
  setButtonsDisabled(true);
  result.textContent = `${what}…`;
  try {
    const response = await fetch(path, { method: 'POST', credentials: 'same-origin' });
    const body = await response.json().catch(() => ({}));
    result.textContent = response.ok ? (body.messages || []).join('; ') || 'done' : `${what} failed: ${body.message || response.status}`;
  } catch (error) {
    result.textContent = `${what} failed: ${error.message}`;
  } finally {
    page.busy = false;
    await refreshStatus();
    setButtonsDisabled(false);
  }
}

function setButtonsDisabled(busy) {
  for (const button of document.querySelectorAll('button[data-action], button[data-schedule]')) button.disabled = busy || !page.session.actions;
}

function renderAccess() {
  const access = $('#access');
  access.textContent = page.session.actions ? 'actions enabled' : 'read-only';
  access.title = page.session.actions ? '' : actionsOffReason();
  setButtonsDisabled(page.busy);
}

function connect() {
  page.eventStream?.close();
  const stream = new EventSource('api/events/stream');
  page.eventStream = stream;
  const connection = $('#connection');
  stream.onopen = () => {
    connection.textContent = 'live';
    connection.className = 'pill live';
    // After a reconnect (a supervisor restart) everything may have changed
    void refreshAll();
  };
  stream.onmessage = (message) => {
    const event = JSON.parse(message.data);
    page.events.push(event);
    if (page.events.length > 5000) page.events.splice(0, page.events.length - 5000);
    if (kindOf(event)) renderTimeline();
    scheduleRefresh();
  };
  stream.addEventListener('resources', (message) => addSamples(JSON.parse(message.data)));
  page.lastHeard = Date.now();
  for (const type of ['message', 'resources', 'ping']) stream.addEventListener(type, () => { page.lastHeard = Date.now(); });
  stream.onerror = () => {
    connection.textContent = 'reconnecting…';
    connection.className = 'pill down';
    if (stream.readyState === EventSource.CLOSED) setTimeout(() => { if (page.eventStream === stream) connect(); }, RECONNECT_MS);
  };
}

for (const button of document.querySelectorAll('button[data-schedule]')) {
  button.addEventListener('click', () => act(`api/schedule/${button.dataset.schedule}`, `${button.dataset.schedule} scheduled restarts`));
}
$('#log-source').addEventListener('change', (event) => { page.logSource = event.target.value; followLog(); });
setInterval(tickClocks, 1000);
// The server pings every 20 s: a stream silent for longer is dead even if no error says so (a proxy holding it)
setInterval(() => { if (page.eventStream && Date.now() - page.lastHeard > SILENT_STREAM_MS) connect(); }, SILENT_STREAM_MS / 3);
setInterval(renderTimeline, 60_000);
page.act = act;
connect();
followLog();

// The restart-control page. It talks only to the JSON API beside it (relative URLs, so any base path or proxy
// prefix works), follows the event stream over Server-Sent Events, and polls nothing: the server pushes events and
// resource samples, and the clocks (uptime, countdown) tick in the page.
'use strict';

(() => {
  const HISTORY_POINTS = 720;
  const LOG_LINES = 200;
  const DAY_MS = 24 * 3600 * 1000;
  const ACTIONS = ['start', 'stop', 'restart', 'force-restart'];
  const RECONNECT_MS = 2000;
  const SILENT_STREAM_MS = 50_000;

  const $ = (selector) => document.querySelector(selector);
  const page = {
    status: null, statusAt: 0, session: { actions: false, token_configured: false }, history: {}, events: [],
    rows: new Map(), charts: new Map(), busy: false, logSource: 'restart.log', logLines: [], logStream: null,
    eventStream: null, refreshTimer: null,
  };

  // ---- formatting ----
  const fmtBytes = (bytes) => {
    if (bytes === null || bytes === undefined) return '—';
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
    return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
  };
  const fmtDuration = (seconds) => {
    if (seconds === null || seconds === undefined) return '—';
    const s = Math.max(0, Math.floor(seconds));
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    if (d > 0) return `${d}d ${h}h ${m}m`;
    if (h > 0) return `${h}h ${m}m ${sec}s`;
    if (m > 0) return `${m}m ${sec}s`;
    return `${sec}s`;
  };
  const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
  const fmtClock = (iso) => new Date(iso).toLocaleTimeString();
  const fmtExit = (exit) => {
    if (!exit) return '—';
    const what = exit.signal ? exit.signal : exit.code === null ? 'spawn error' : `code ${exit.code}`;
    return `${what} at ${fmtClock(exit.time)}`;
  };
  const el = (tag, props = {}, children = []) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('data-') || key.startsWith('aria-') || key === 'role' || key === 'title') node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) node.append(child);
    return node;
  };

  // ---- the API ----
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

  // ---- services ----
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

  function renderServices(services) {
    const body = $('#services tbody');
    const seen = new Set();
    for (const service of services) {
      seen.add(service.name);
      let row = page.rows.get(service.name);
      if (!row) {
        row = buildRow(service.name);
        page.rows.set(service.name, row);
        body.append(row.tr);
      }
      fillRow(row, service);
    }
    for (const [name, row] of page.rows) {
      if (seen.has(name)) continue;
      row.tr.remove();
      page.rows.delete(name);
      for (const field of ['cpu_percent', 'rss_bytes', 'gpu_memory_bytes']) page.charts.get(`${name}/${field}`)?.destroy();
    }
  }

  function buildRow(name) {
    const cell = (label, cls = '') => el('td', { 'data-label': label, class: cls });
    const cells = {
      name: cell('Service', 'name'), state: cell('State'), health: cell('Health'), pid: cell('PID', 'num'), uptime: cell('Uptime', 'num'),
      restarts: cell('Restarts', 'num'), exit: cell('Last exit', 'exit'), cpu: cell('CPU'), rss: cell('RSS'), gpu: cell('GPU memory'), actions: cell('Actions'),
    };
    cells.name.textContent = name;
    const tr = el('tr', { 'data-service': name }, Object.values(cells));
    const metrics = {};
    for (const [key, field] of [['cpu', 'cpu_percent'], ['rss', 'rss_bytes'], ['gpu', 'gpu_memory_bytes']]) {
      const value = el('span', { class: 'value', text: '—' });
      const spark = el('div', { class: 'spark', 'aria-hidden': 'true' });
      cells[key].append(el('div', { class: 'metric' }, [value, spark]));
      metrics[field] = value;
      page.charts.set(`${name}/${field}`, makeSpark(spark, field));
    }
    const buttons = el('div', { class: 'actions' });
    for (const action of ACTIONS) {
      buttons.append(el('button', { type: 'button', text: action, 'data-action': action, 'aria-label': `${action} ${name}`, onclick: () => act(`api/services/${encodeURIComponent(name)}/${action}`, `${action} ${name}`) }));
    }
    cells.actions.append(buttons);
    return { tr, cells, metrics, name };
  }

  function fillRow(row, service) {
    const { cells } = row;
    const state = el('span', { class: `state state-${service.state}`, text: service.state });
    if (service.pending_restart) state.title = `restart pending: ${service.pending_restart}`;
    // One child per cell: on narrow screens a cell is a two-column grid (label, value)
    cells.state.replaceChildren(el('div', {}, service.pending_restart ? [state, el('small', { class: 'muted', text: ' restart pending' })] : [state]));
    cells.health.textContent = service.health ? String(service.health.state ?? service.health) : '—';
    cells.pid.textContent = service.pid === null ? '—' : String(service.pid);
    row.uptime = service.uptime_s;
    cells.restarts.textContent = String(service.restarts);
    const exit = el('div', { text: fmtExit(service.last_exit) });
    if (service.reason) exit.append(el('small', { text: service.reason }));
    cells.exit.replaceChildren(exit);
    for (const button of cells.actions.querySelectorAll('button')) {
      button.disabled = !page.session.actions || page.busy;
      button.title = page.session.actions ? '' : actionsOffReason();
    }
    updateMetrics(row.name);
  }

  function actionsOffReason() {
    return page.session.token_configured
      ? 'needs the token: open the link printed by `restart-control web`'
      : 'actions are off: set web.token in the config';
  }

  function tickClocks() {
    if (!page.status) return;
    const elapsed = (Date.now() - page.statusAt) / 1000;
    for (const row of page.rows.values()) row.cells.uptime.textContent = row.uptime === null || row.uptime === undefined ? '—' : fmtDuration(row.uptime + elapsed);
    const countdown = $('#countdown');
    const next = page.status.schedule?.next_restart;
    if (countdown && next) countdown.textContent = `in ${fmtDuration((Date.parse(next) - Date.now()) / 1000)}`;
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

  // ---- sparklines (uPlot) ----
  const SPARK_COLOURS = { cpu_percent: '#0969da', rss_bytes: '#8250df', gpu_memory_bytes: '#1a7f37' };

  function makeSpark(container, field) {
    if (typeof uPlot !== 'function') return null;
    return new uPlot({
      width: 110, height: 28, pxAlign: false, cursor: { show: false }, legend: { show: false }, select: { show: false },
      scales: { x: { time: false }, y: { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(max ?? 1, field === 'cpu_percent' ? 5 : 1)] } },
      axes: [{ show: false }, { show: false }],
      series: [{}, { stroke: SPARK_COLOURS[field], fill: `${SPARK_COLOURS[field]}22`, width: 1.5, points: { show: false }, spanGaps: false }],
    }, [[], []], container);
  }

  function updateMetrics(name) {
    const row = page.rows.get(name);
    const columns = page.history[name];
    if (!row) return;
    for (const field of ['cpu_percent', 'rss_bytes', 'gpu_memory_bytes']) {
      const values = columns ? columns[field] : [];
      const last = values.length ? values[values.length - 1] : null;
      row.metrics[field].textContent = last === null ? '—' : field === 'cpu_percent' ? `${last.toFixed(1)} %` : fmtBytes(last);
      page.charts.get(`${name}/${field}`)?.setData([columns ? columns.time : [], values]);
    }
  }

  function addSamples(message) {
    const time = Date.parse(message.time) / 1000;
    for (const [name, sample] of Object.entries(message.services)) {
      const columns = page.history[name] || (page.history[name] = { time: [], cpu_percent: [], rss_bytes: [], gpu_memory_bytes: [] });
      columns.time.push(time);
      for (const field of ['cpu_percent', 'rss_bytes', 'gpu_memory_bytes']) columns[field].push(sample[field]);
      if (columns.time.length > HISTORY_POINTS) for (const key of Object.keys(columns)) columns[key].splice(0, columns[key].length - HISTORY_POINTS);
      updateMetrics(name);
    }
  }

  // ---- schedule and system ----
  function facts(container, pairs) {
    container.replaceChildren(...pairs.flatMap(([term, detail]) => [el('dt', { text: term }), el('dd', {}, [detail])]));
  }

  function renderSchedule(schedule) {
    const last = [...page.events].reverse().find((event) => event.event === 'restart_completed');
    const steps = last && last.durations ? Object.entries(last.durations).map(([step, ms]) => `${step} ${ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`}`).join(', ') : '—';
    if (!schedule) {
      facts($('#schedule'), [['Scheduled restarts', 'not configured']]);
    } else {
      const next = schedule.next_restart
        ? el('span', {}, [document.createTextNode(`${fmtTime(schedule.next_restart)} `), el('span', { id: 'countdown', class: 'countdown' })])
        : 'none planned';
      facts($('#schedule'), [
        ['Scheduled restarts', `${schedule.enabled ? 'enabled' : 'disabled'} (${schedule.mode}: ${schedule.expression})`],
        ['Next restart', next],
        ['Last restart', last ? `${fmtTime(last.time)}` : '—'],
        ['Its steps', steps],
      ]);
    }
    $('#schedule-enable').hidden = !schedule || schedule.enabled;
    $('#schedule-disable').hidden = !schedule || !schedule.enabled;
    tickClocks();
  }

  function usage(used, total) {
    if (!total) return 'unknown';
    const meter = el('meter', { min: 0, max: total, value: used, 'aria-hidden': 'true' });
    return el('span', {}, [document.createTextNode(`${fmtBytes(used)} of ${fmtBytes(total)} (${Math.round((used / total) * 100)} %)`), meter]);
  }

  function renderSystem(system) {
    if (!system) return;
    const pairs = [['Memory', usage(system.memory.used, system.memory.total)], ['Disk', usage(system.disk.used, system.disk.total)]];
    if (system.gpus.length === 0) pairs.push(['GPU', 'none found']);
    system.gpus.forEach((gpu, index) => pairs.push([`GPU ${index} ${gpu.name}`, usage(gpu.memory_used, gpu.memory_total)]));
    facts($('#system'), pairs);
  }

  // ---- timeline ----
  function kindOf(event) {
    const name = event.event;
    if (name === 'crashed') return 'crash';
    if (name === 'gave_up') return 'gave_up';
    if (name === 'scheduled_restart') return 'scheduled';
    if (name.startsWith('health') || name === 'unhealthy') return 'health';
    if (name.startsWith('memory')) return 'memory';
    if (name === 'restarting' || name === 'force_restart' || name === 'watch_restart' || name === 'cooldown_retry') return 'restart';
    if (name === 'started' && /restart/.test(event.reason || '')) return 'restart';
    return null;
  }

  function describe(event, kind) {
    const who = event.service ? ` of ${event.service}` : '';
    return `${kind.replace('_', ' ')}${who} at ${fmtTime(event.time)}: ${event.reason || event.event}`;
  }

  function renderTimeline() {
    const now = Date.now();
    const list = $('#timeline');
    const marks = [];
    for (const event of page.events) {
      const kind = kindOf(event);
      const at = Date.parse(event.time);
      if (!kind || now - at > DAY_MS) continue;
      const text = describe(event, kind);
      const mark = el('button', { type: 'button', class: `mark kind-${kind}`, 'aria-label': text, title: text, 'data-kind': kind });
      const show = () => { $('#timeline-tip').textContent = text; };
      mark.addEventListener('mouseenter', show);
      mark.addEventListener('focus', show);
      marks.push(el('li', { style: `left: ${(100 * (1 - (now - at) / DAY_MS)).toFixed(3)}%` }, [mark]));
    }
    list.replaceChildren(...marks);
  }

  // ---- log tail ----
  function updateLogChoices(names) {
    const select = $('#log-source');
    const have = new Set([...select.options].map((option) => option.value));
    for (const name of names) if (!have.has(name)) select.append(el('option', { value: name, text: name }));
  }

  function followLog() {
    page.logStream?.close();
    page.logLines = [];
    $('#log').textContent = '';
    const source = page.logSource;
    const stream = new EventSource(`api/logs/${encodeURIComponent(source)}/stream?n=${LOG_LINES}`);
    page.logStream = stream;
    stream.onopen = () => { $('#log-state').textContent = 'following'; };
    stream.onmessage = (message) => {
      const { lines } = JSON.parse(message.data);
      if (!lines) return;
      const view = $('#log');
      const atBottom = view.scrollHeight - view.scrollTop - view.clientHeight < 40;
      page.logLines.push(...lines);
      if (page.logLines.length > LOG_LINES) page.logLines.splice(0, page.logLines.length - LOG_LINES);
      view.textContent = page.logLines.join('\n');
      if (atBottom) view.scrollTop = view.scrollHeight;
    };
    stream.onerror = () => {
      $('#log-state').textContent = 'reconnecting…';
      if (stream.readyState === EventSource.CLOSED && page.logStream === stream) setTimeout(() => { if (page.logStream === stream) followLog(); }, RECONNECT_MS);
    };
  }

  // ---- the event stream ----
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
  connect();
  followLog();
})();

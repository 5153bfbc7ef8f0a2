// The services table: one row per service, its sparklines (uPlot), and the clocks that tick in the page.
import { $, el, fmtBytes, fmtDuration, fmtExit } from './format.js';
import { ACTIONS, HISTORY_POINTS, page } from './state.js';

export function renderServices(services) {
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
    buttons.append(el('button', { type: 'button', text: action, 'data-action': action, 'aria-label': `${action} ${name}`, onclick: () => page.act(`api/services/${encodeURIComponent(name)}/${action}`, `${action} ${name}`) }));
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

export function actionsOffReason() {
  return page.session.token_configured
    ? 'needs the token: open the link printed by `restart-control web`'
    : 'actions are off: set web.token in the config';
}

export function tickClocks() {
  if (!page.status) return;
  const elapsed = (Date.now() - page.statusAt) / 1000;
  for (const row of page.rows.values()) row.cells.uptime.textContent = row.uptime === null || row.uptime === undefined ? '—' : fmtDuration(row.uptime + elapsed);
  const countdown = $('#countdown');
  const next = page.status.schedule?.next_restart;
  if (countdown && next) countdown.textContent = `in ${fmtDuration((Date.parse(next) - Date.now()) / 1000)}`;
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

export function updateMetrics(name) {
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

export function addSamples(message) {
  const time = Date.parse(message.time) / 1000;
  for (const [name, sample] of Object.entries(message.services)) {
    const columns = page.history[name] || (page.history[name] = { time: [], cpu_percent: [], rss_bytes: [], gpu_memory_bytes: [] });
    columns.time.push(time);
    for (const field of ['cpu_percent', 'rss_bytes', 'gpu_memory_bytes']) columns[field].push(sample[field]);
    if (columns.time.length > HISTORY_POINTS) for (const key of Object.keys(columns)) columns[key].splice(0, columns[key].length - HISTORY_POINTS);
    updateMetrics(name);
  }
}

// The schedule, system and timeline panels.
import { $, el, fmtBytes, fmtTime } from './format.js';
import { tickClocks } from './services.js';
import { DAY_MS, page } from './state.js';

function facts(container, pairs) {
  container.replaceChildren(...pairs.flatMap(([term, detail]) => [el('dt', { text: term }), el('dd', {}, [detail])]));
}

export function renderSchedule(schedule) {
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

export function renderSystem(system) {
  if (!system) return;
  const pairs = [['Memory', usage(system.memory.used, system.memory.total)], ['Disk', usage(system.disk.used, system.disk.total)]];
  if (system.gpus.length === 0) pairs.push(['GPU', 'none found']);
  system.gpus.forEach((gpu, index) => pairs.push([`GPU ${index} ${gpu.name}`, usage(gpu.memory_used, gpu.memory_total)]));
  facts($('#system'), pairs);
}

// ---- timeline ----
export function kindOf(event) {
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

export function renderTimeline() {
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

// The live log tail: the selected service's log or the restart log, the last lines, then new ones.
import { $, el } from './format.js';
import { LOG_LINES, RECONNECT_MS, page } from './state.js';

export function updateLogChoices(names) {
  const select = $('#log-source');
  const have = new Set([...select.options].map((option) => option.value));
  for (const name of names) if (!have.has(name)) select.append(el('option', { value: name, text: name }));
}

export function followLog() {
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

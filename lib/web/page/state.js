// Shared state and constants of the page.
export const HISTORY_POINTS = 720;
export const LOG_LINES = 200;
export const DAY_MS = 24 * 3600 * 1000;
export const ACTIONS = ['start', 'stop', 'restart', 'force-restart'];
export const RECONNECT_MS = 2000;
export const SILENT_STREAM_MS = 50_000;

export const page = {
  status: null, statusAt: 0, session: { actions: false, token_configured: false }, history: {}, events: [],
  rows: new Map(), charts: new Map(), busy: false, logSource: 'restart.log', logLines: [], logStream: null,
  eventStream: null, refreshTimer: null, lastHeard: 0,
  /** Set by app.js: what an action button does. */
  act: null,
};

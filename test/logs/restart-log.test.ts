import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatEventLines, formatLocalTime, formatRestartLogEntry } from '../../lib/logs/restart-log.ts';
import { type EventRecord } from '../../lib/core/types.ts';

const GB = 1024 ** 3;
/** 2026-08-27 20:30:00 local time, whatever the machine's zone. */
const LOCAL = new Date(2026, 7, 27, 20, 30, 0);
const NEXT = new Date(2026, 7, 28, 2, 30, 0).toISOString();
const SYSTEM = {
  memory: { used: 8.2 * GB, total: 16 * GB },
  disk: { path: '/', used: 45 * GB, total: 100 * GB },
  gpus: [{ name: 'RTX 4090', memory_used: 20480 * 1024 * 1024, memory_total: 24564 * 1024 * 1024 }],
};

function event(name: string, fields: Record<string, unknown> = {}): EventRecord {
  return { time: LOCAL.toISOString(), event: name, ...fields };
}

const CASES: Array<[EventRecord, string[]]> = [
  [event('supervisor_started', { pid: 42, config: '/etc/rc.yaml' }), ['Supervisor started (pid 42, config /etc/rc.yaml)']],
  [event('supervisor_stopped', { reason: 'SIGTERM' }), ['Supervisor stopped (SIGTERM)']],
  [event('started', { service: 'comfyui', pid: 1234 }), ['comfyui started (pid 1234)']],
  [event('exited', { service: 'comfyui', exit_code: 0 }), ['comfyui exited (exit code 0)']],
  [event('crashed', { service: 'comfyui', exit_code: 1, signal: null, restart_policy: 'on-failure', will_restart: true, reason: 'policy on-failure' }),
    ['comfyui exited unexpectedly (exit code 1) - will restart (policy on-failure)']],
  [event('crashed', { service: 'comfyui', exit_code: null, signal: 'SIGKILL', will_restart: false, reason: 'policy no' }),
    ['comfyui exited unexpectedly (killed by SIGKILL) - not restarting (policy no)']],
  [event('crashed', { service: 'comfyui', exit_code: 1, delay_s: 5, restart_attempt: 2, max_restarts: 5 }),
    ['comfyui exited unexpectedly (exit code 1) - restarting in 5s (attempt 2/5)']],
  [event('restarting', { service: 'comfyui', restart_attempt: 2, max_restarts: 5, delay_s: 5, reason: 'crashed' }), ['comfyui restarting in 5s (attempt 2/5) - crashed']],
  [event('restarting', { service: 'api', restart_attempt: 7, max_restarts: 0, delay_s: 0.5 }), ['api restarting in 0.5s (attempt 7)']],
  [event('stopped', { service: 'api', reason: 'stop command' }), ['api stopped (stop command)']],
  [event('gave_up', { service: 'comfyui', reason: 'restart limit reached (5 in 300s)' }), ['comfyui restart limit reached (5 in 300s) - giving up']],
  [event('cooldown_retry', { service: 'comfyui' }), ['comfyui cooldown over - trying again']],
  [event('scheduled_restart', { next_restart: NEXT, system: SYSTEM }), [
    'Scheduled restart initiated - next restart at 2026-08-28 02:30:00',
    'System status - memory 8.2GB/16GB, storage 45GB/100GB (45% used)',
    'GPU 0 RTX 4090 - memory 20GB/24GB',
  ]],
  [event('force_restart', { service: 'comfyui', reason: 'force-restart command', system: { memory: { used: GB, total: 2 * GB } } }), [
    'Forced restart initiated for comfyui (force-restart command)',
    'System status - memory 1GB/2GB',
  ]],
  [event('restart_completed', { service: 'comfyui', durations: { stop: 2100, gpu_cleanup: 500, start: 9700 }, next_restart: NEXT }),
    ['comfyui restart completed in 12.3s (stop 2.1s, gpu_cleanup 0.5s, start 9.7s) - next restart at 2026-08-28 02:30:00']],
  [event('gpu_cleanup', { before: [{ name: 'RTX 4090', memory_used: 20480 * 1024 * 1024, memory_total: 0 }], after: [{ name: 'RTX 4090', memory_used: 512 * 1024 * 1024, memory_total: 0 }], killed: [12, 13], leak: true }), [
    'GPU cleanup - GPU memory 20GB -> 512MB, killed 2 leftover process(es) (12, 13)',
    'GPU memory still in use after cleanup',
  ]],
  [event('hook_failed', { hook: 'pre_restart', code: 3, reason: 'disk check failed' }), ['hook pre_restart failed (exit code 3) - disk check failed']],
  [event('idle_wait', { service: 'comfyui', idle: true, waited_s: 12 }), ['comfyui idle after 12s - proceeding']],
  [event('idle_wait', { service: 'comfyui', idle: false, waited_s: 600 }), ['comfyui still busy after 600s - proceeding anyway']],
  [event('config_reloaded', { added: ['web'], removed: [], changed: ['api'], unchanged: ['db', 'cache'] }),
    ['Config reloaded - added: web, removed: none, changed: api, unchanged: db, cache']],
  [event('config_error', { message: 'services.api.restart: expected one of no|always\nservices.web.command: required' }),
    ['Config error - services.api.restart: expected one of no|always', '  services.web.command: required']],
  [event('watch_restart', { service: 'api', paths: ['a.py', 'b.py', 'c.py', 'd.py', 'e.py', 'f.py', 'g.py'] }),
    ['api files changed (a.py, b.py, c.py, d.py, e.py +2 more) - restarting']],
  [event('log_error', { service: 'api', message: 'ENOSPC: no space left on device' }),
    ['api log writing failed - ENOSPC: no space left on device (output is buffered, then dropped and counted, until writing works again)']],
  [event('log_recovered', { service: 'api', dropped_lines: 120 }), ['api log writing resumed - 120 lines were dropped']],
  [event('notify_failed', { sink: 'slack', error: 'HTTP 500' }), ['Notification to slack failed - HTTP 500']],
  [event('schedule_enabled', { next_restart: NEXT }), ['Scheduled restarts enabled - next restart at 2026-08-28 02:30:00']],
  [event('schedule_disabled'), ['Scheduled restarts disabled']],
  [event('something_new', { service: 'api', count: 3, detail: { a: 1 }, note: 'hi' }), ['api something_new (count=3, detail={"a":1}, note=hi)']],
];

describe('formatEventLines', () => {
  for (const [input, expected] of CASES) {
    test(`${input.event}${input.service ? ` (${input.service})` : ''}`, () => {
      assert.deepEqual(formatEventLines(input), expected);
    });
  }

  test('a newline inside a field becomes its own line', () => {
    assert.deepEqual(formatEventLines(event('stopped', { service: 'api', reason: 'one\ntwo' })), ['api stopped (one', 'two)']);
  });
});

describe('formatRestartLogEntry', () => {
  test('every line gets the local [YYYY-MM-DD HH:MM:SS] prefix; the entry ends with a newline', () => {
    const entry = formatRestartLogEntry(event('scheduled_restart', { next_restart: NEXT, system: SYSTEM }));
    assert.equal(entry, [
      '[2026-08-27 20:30:00] Scheduled restart initiated - next restart at 2026-08-28 02:30:00',
      '[2026-08-27 20:30:00] System status - memory 8.2GB/16GB, storage 45GB/100GB (45% used)',
      '[2026-08-27 20:30:00] GPU 0 RTX 4090 - memory 20GB/24GB',
      '',
    ].join('\n'));
  });

  test('formatLocalTime pads, and returns an unparseable time as it is', () => {
    assert.equal(formatLocalTime(new Date(2026, 0, 2, 3, 4, 5)), '2026-01-02 03:04:05');
    assert.equal(formatLocalTime('not a time'), 'not a time');
  });
});

/** Subjects and payloads on the bus: the telescope services' seed shapes, our fields beside theirs, final-stop reasons. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { finalStopReason, natsAccepts, natsMessages, subjectToken } from '../../lib/notify/nats-format.ts';
import { NATS_DEFAULTS } from '../../lib/config/integrations.ts';
import type { EventRecord, NatsConfig } from '../../lib/core/types.ts';

const config: NatsConfig = { servers: ['nats://127.0.0.1:4222'], subjectPrefix: 'svc.registry', serviceId: '{service}', events: [...NATS_DEFAULTS.events], credentials: null };
const at = '2026-12-07T20:00:00.000Z';
const rec = (fields: Omit<EventRecord, 'time'>): EventRecord & { host: string } => ({ time: at, host: 'scope1', ...fields } as EventRecord & { host: string });

describe('NATS messages', () => {
  test('crashed keeps their fields and adds ours', () => {
    const [message, ...rest] = natsMessages(config, rec({ event: 'crashed', service: 'dome', exit_code: 1, signal: null, restart_policy: 'always', will_restart: true, reason: 'exit code 1', log_tail: ['x'] }));
    assert.equal(rest.length, 0);
    assert.equal(message!.subject, 'svc.registry.crashed.dome');
    assert.deepEqual(Object.keys(message!.payload).slice(0, 5), ['event', 'service_id', 'exit_code', 'restart_policy', 'will_restart']);
    assert.deepEqual(message!.payload, { event: 'crashed', service_id: 'dome', exit_code: 1, restart_policy: 'always', will_restart: true, time: at, host: 'scope1', service: 'dome', signal: null, reason: 'exit code 1', log_tail: ['x'] });
  });

  test('restarting: restart_attempt and max_restarts', () => {
    const [message] = natsMessages(config, rec({ event: 'restarting', service: 'dome', restart_attempt: 2, max_restarts: 5, delay_s: 1, reason: 'exit code 1' }));
    assert.equal(message!.subject, 'svc.registry.restarting.dome');
    assert.deepEqual(message!.payload, { event: 'restarting', service_id: 'dome', restart_attempt: 2, max_restarts: 5, time: at, host: 'scope1', service: 'dome', delay_s: 1, reason: 'exit code 1' });
  });

  test('a final stop adds a `stop` message; its reason is their word, ours goes to reason_text', () => {
    const messages = natsMessages(config, rec({ event: 'stopped', service: 'ccd', reason: 'user stop', forced: false }));
    assert.deepEqual(messages.map((message) => message.subject), ['svc.registry.stopped.ccd', 'svc.registry.stop.ccd']);
    assert.deepEqual(messages[1]!.payload, { event: 'stop', service_id: 'ccd', reason: 'user_stop', time: at, host: 'scope1', service: 'ccd', forced: false, reason_text: 'user stop', source_event: 'stopped' });
  });

  test('final-stop reasons', () => {
    assert.equal(finalStopReason(rec({ event: 'exited', service: 'a', exit_code: 0, will_restart: false })), 'exit_code_0');
    assert.equal(finalStopReason(rec({ event: 'crashed', service: 'a', exit_code: 4, signal: null, will_restart: false })), 'exit_code_4');
    assert.equal(finalStopReason(rec({ event: 'crashed', service: 'a', exit_code: null, signal: 'SIGKILL', will_restart: false })), 'signal_SIGKILL');
    assert.equal(finalStopReason(rec({ event: 'crashed', service: 'a', exit_code: 4, will_restart: false, giving_up: true })), null, 'the gave_up that follows says it');
    assert.equal(finalStopReason(rec({ event: 'gave_up', service: 'a' })), 'gave_up');
    assert.equal(finalStopReason(rec({ event: 'crashed', service: 'a', exit_code: 4, will_restart: true })), null);
    assert.equal(finalStopReason(rec({ event: 'stopped', service: 'a', reason: 'supervisor shutdown (received SIGTERM)' })), 'supervisor_shutdown');
    assert.equal(finalStopReason(rec({ event: 'stopped', service: 'a', reason: 'scheduled restart' })), null, 'a restart is not a stop');
    assert.equal(finalStopReason(rec({ event: 'stopped', service: 'a', reason: 'user restart' })), null);
  });

  test('events without a service go to .supervisor; service_id expands {service} and {host}; tokens stay tokens', () => {
    const [message] = natsMessages({ ...config, events: ['config_reloaded'] }, rec({ event: 'config_reloaded', reason: 'SIGHUP' }));
    assert.equal(message!.subject, 'svc.registry.config_reloaded.supervisor');
    const custom = { ...config, subjectPrefix: 'lab.svc', serviceId: '{host}-{service}' };
    const [named] = natsMessages(custom, { ...rec({ event: 'started', service: 'cam', pid: 1 }), host: 'gpu.lab.org' });
    assert.equal(named!.subject, 'lab.svc.started.gpu_lab_org-cam');
    assert.equal(named!.payload.service_id, 'gpu.lab.org-cam');
    assert.equal(subjectToken('a b*c>d'), 'a_b_c_d');
  });

  test('the events list filters; stop follows stopped', () => {
    const only = { events: ['crashed'] };
    assert.equal(natsAccepts(only, rec({ event: 'started', service: 'a' })), false);
    assert.equal(natsAccepts(only, rec({ event: 'gave_up', service: 'a' })), false);
    assert.equal(natsAccepts({ events: ['stop'] }, rec({ event: 'gave_up', service: 'a' })), true);
    assert.deepEqual(natsMessages({ ...config, events: ['stop'] }, rec({ event: 'gave_up', service: 'a' })).map((m) => m.subject), ['svc.registry.stop.a']);
  });
});

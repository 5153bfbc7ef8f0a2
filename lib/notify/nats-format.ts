/**
 * What goes on the bus: subjects and payloads, shaped exactly like the telescope services' own
 * (`svc.registry.crashed.<id>`, `.restarting.<id>`, `.stop.<id>`), our fields beside theirs. Pure.
 */
import type { EventRecord, NatsConfig } from '../core/types.ts';

export interface NatsMessage {
  subject: string;
  payload: Record<string, unknown>;
}

/** Subject for events that concern no service. */
export const SUPERVISOR_ID = 'supervisor';

/** The telescope software's word for a service that is down and will stay down. */
export const STOP_EVENT = 'stop';

/** Our `stopped` reasons that end with the service down; the other stops (restarts, leftovers) are followed by a start. */
const FINAL_STOP_REASONS: Array<[RegExp, string]> = [
  [/^user stop$/, 'user_stop'],
  [/^supervisor shutdown/, 'supervisor_shutdown'],
  [/^removed from the config$/, 'removed'],
];

/** `{service}` and `{host}` expanded. */
export function serviceId(template: string, service: string, host: string): string {
  return template.replaceAll('{service}', service).replaceAll('{host}', host);
}

/** A subject token cannot hold dots, spaces or wildcards (a host name such as gpu.lab.org would split it). */
export function subjectToken(text: string): string {
  const token = text.replace(/[\s.*>]/g, '_');
  return token === '' ? '_' : token;
}

/** Whether the sink wants this event: its own name is listed, or it ends in a final stop and `stop`/`stopped` is listed. */
export function natsAccepts(config: Pick<NatsConfig, 'events'>, event: EventRecord): boolean {
  if (config.events.includes(event.event)) return true;
  return finalStopReason(event) !== null && (config.events.includes(STOP_EVENT) || config.events.includes('stopped'));
}

/** The messages for one event (a final stop adds a `stop` message), in the order they are published. */
export function natsMessages(config: NatsConfig, event: EventRecord & { host?: unknown }): NatsMessage[] {
  const host = typeof event.host === 'string' ? event.host : '';
  const id = event.service === undefined ? SUPERVISOR_ID : serviceId(config.serviceId, event.service, host);
  const subject = (name: string) => `${config.subjectPrefix}.${subjectToken(name)}.${subjectToken(id)}`;
  const messages: NatsMessage[] = [];
  if (config.events.includes(event.event)) messages.push({ subject: subject(event.event), payload: ownPayload(event, id) });
  const stop = finalStopReason(event);
  if (stop !== null && (config.events.includes(STOP_EVENT) || config.events.includes('stopped'))) {
    const { event: _event, reason, ...ours } = event;
    messages.push({
      subject: subject(STOP_EVENT),
      payload: { event: STOP_EVENT, service_id: id, reason: stop, ...withoutTheirs(ours), ...(typeof reason === 'string' ? { reason_text: reason } : {}), source_event: event.event },
    });
  }
  return messages;
}

/** Their fields first, exactly named; ours beside them. */
function ownPayload(event: EventRecord, id: string): Record<string, unknown> {
  const { event: name, ...ours } = event;
  switch (name) {
    case 'crashed':
      return { event: name, service_id: id, exit_code: event.exit_code ?? null, restart_policy: event.restart_policy ?? null, will_restart: event.will_restart ?? false, ...withoutTheirs(ours) };
    case 'restarting':
      return { event: name, service_id: id, restart_attempt: event.restart_attempt ?? null, max_restarts: event.max_restarts ?? null, ...withoutTheirs(ours) };
    default:
      return { event: name, service_id: id, ...withoutTheirs(ours) };
  }
}

const THEIR_FIELDS = new Set(['event', 'service_id', 'exit_code', 'restart_policy', 'will_restart', 'restart_attempt', 'max_restarts']);

function withoutTheirs(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([key]) => !THEIR_FIELDS.has(key)));
}

/**
 * `exit_code_N`, `signal_SIGKILL`, `user_stop`, `gave_up`…: why a service is down for good; null when it is not
 * (a restart follows). A crash that gives up is announced by the gave_up that follows it, not twice.
 */
export function finalStopReason(event: EventRecord): string | null {
  switch (event.event) {
    case 'gave_up':
      return 'gave_up';
    case 'exited':
    case 'crashed': {
      if (event.will_restart !== false || event.giving_up === true) return null;
      if (typeof event.signal === 'string') return `signal_${event.signal}`;
      if (typeof event.exit_code === 'number') return `exit_code_${event.exit_code}`;
      return 'spawn_failed';
    }
    case 'stopped': {
      if (typeof event.reason !== 'string') return null;
      for (const [pattern, word] of FINAL_STOP_REASONS) if (pattern.test(event.reason)) return word;
      return null;
    }
    default:
      return null;
  }
}

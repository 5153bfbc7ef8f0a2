/** One human line per event, for the foreground supervisor's stdout (the restart log formats its own). */
import { type EventRecord } from './types.ts';

export function formatEventLine(event: EventRecord): string {
  const { time, event: name, service, reason, ...rest } = event;
  const fields = Object.entries(rest).filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => `${key}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`).join(' ');
  return `[${time}] ${service ? `${service}: ` : ''}${name}${reason ? ` (${reason})` : ''}${fields ? ` ${fields}` : ''}`;
}

/** The event stream: every event goes to events.jsonl and to every sink (restart log, webhooks) from one place. */
import type { EventRecord } from './types.ts';

export type EventSink = (event: EventRecord) => void;

export class EventLog {
  private readonly sinks: EventSink[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  addSink(sink: EventSink): void {
    this.sinks.push(sink);
  }

  record(event: Omit<EventRecord, 'time'>): EventRecord {
    const full = { time: new Date(this.now()).toISOString(), ...event } as EventRecord;
    for (const sink of this.sinks) {
      try {
        sink(full);
      } catch (error) {
        // A failing sink must not break supervision or the other sinks
        process.stderr.write(`restart-control: event sink failed: ${String(error)}\n`);
      }
    }
    return full;
  }
}

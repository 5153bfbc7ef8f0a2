/** The event stream: every event goes to events.jsonl and to every sink (restart log, webhooks) from one place. */
import type { EventRecord } from './types.ts';

export type EventSink = (event: EventRecord) => void;

export class EventLog {
  private readonly sinks: EventSink[] = [];
  private pending: EventRecord[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  addSink(sink: EventSink): void {
    this.sinks.push(sink);
  }

  /**
   * Stamps the event now and hands it to the sinks at the end of the current task, in order: a crash restart records
   * crashed and restarting before its spawn, and their formatting and writing must not delay that spawn.
   */
  record(event: Omit<EventRecord, 'time'>): EventRecord {
    const full = { time: new Date(this.now()).toISOString(), ...event } as EventRecord;
    this.pending.push(full);
    if (this.pending.length === 1) queueMicrotask(() => this.flush());
    return full;
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    for (const event of batch) {
      for (const sink of this.sinks) {
        try {
          sink(event);
        } catch (error) {
          // A failing sink must not break supervision or the other sinks
          process.stderr.write(`restart-control: event sink failed: ${String(error)}\n`);
        }
      }
    }
  }
}

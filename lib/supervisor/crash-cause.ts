/**
 * Why a service crashed, where the user looks: the last line it wrote to stderr goes into its `crashed` and `gave_up`
 * events (`last_stderr`: the console line, restart.log, webhooks) and into state.json (`status`). Kept in memory only.
 */
import type { EventRecord } from '../core/types.ts';

/** A longer line (a minified stack, a progress bar) is cut here: status and console lines stay readable. */
const MAX_LINE_CHARS = 300;

type Event = Omit<EventRecord, 'time'>;

export class CrashCauses {
  private readonly causes = new Map<string, string>();
  /** When a service that gave up is tried again (`restart_cooldown`), from its gave_up event. */
  private readonly retries = new Map<string, string>();

  /** `lastStderrLine`: the last non-empty stderr line of the service's current (or just ended) run. */
  constructor(private readonly lastStderrLine: (service: string) => string | null) {}

  /** The event to record: a crash or give-up with the cause added; a clean end or a stop forgets the cause. */
  annotate(event: Event): Event {
    const service = typeof event.service === 'string' ? event.service : null;
    if (service === null) return event;
    if (event.event === 'gave_up' && typeof event.retry_at === 'string') this.retries.set(service, event.retry_at);
    else this.retries.delete(service); // anything else that happens to it ends the wait
    if (event.event === 'crashed' || event.event === 'gave_up') {
      const line = this.lastStderrLine(service);
      if (line !== null) this.causes.set(service, shorten(line));
      else if (event.event === 'crashed') this.causes.delete(service); // a run that said nothing on stderr
      const cause = this.causes.get(service);
      return cause === undefined ? event : { ...event, last_stderr: cause };
    }
    if (event.event === 'exited' || event.event === 'stopped') this.causes.delete(service);
    return event;
  }

  /**
   * For state.json: `last_stderr` is null when the last end was not a crash, or the crash said nothing on stderr;
   * `retry_at` is set while a failed service waits out its restart_cooldown.
   */
  snapshotFields(service: string, state: string): { last_stderr: string | null; retry_at: string | null } {
    return { last_stderr: this.causes.get(service) ?? null, retry_at: state === 'failed' ? this.retries.get(service) ?? null : null };
  }
}

function shorten(line: string): string {
  const trimmed = line.trim();
  return trimmed.length > MAX_LINE_CHARS ? `${trimmed.slice(0, MAX_LINE_CHARS - 1)}…` : trimmed;
}

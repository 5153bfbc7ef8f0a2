/** One service's operation queue: its operations never interleave, and failures of work it starts itself are recorded, never thrown. */

export class ServiceQueue {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly reportFailure: (where: string, error: unknown) => void) {}

  enqueue<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.tail.then(operation, operation);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Work queued by the service itself: a failure must never become an unhandled rejection. */
  own(where: string, operation: () => Promise<void>): void {
    this.guard(where, this.enqueue(operation));
  }

  /** Work started from an event or a timer: a failure is recorded, never an unhandled rejection. */
  guard(where: string, work: Promise<void>): void {
    work.catch((error: unknown) => this.reportFailure(where, error));
  }
}

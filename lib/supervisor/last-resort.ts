/**
 * The last line of defence: an error nothing else caught (an unhandled rejection, an exception thrown in a timer) is
 * written with its stack to stderr (supervisor.log when detached), recorded as a `supervisor_error` event, and the
 * supervisor keeps running. Dying would leave every service unsupervised, and those writing output die of SIGPIPE.
 */
import type { EventRecord } from '../core/types.ts';

type Record = (event: Omit<EventRecord, 'time'>) => void;

/** Errors in a burst beyond this many per minute are counted, not recorded one by one (a loop must not flood). */
const MAX_RECORDED_PER_MINUTE = 20;

export function installLastResortHandlers(record: Record, write: (text: string) => void = (text) => void process.stderr.write(text)): () => void {
  let windowStart = Date.now();
  let inWindow = 0;
  const handle = (kind: 'unhandledRejection' | 'uncaughtException') => (error: unknown): void => {
    try {
      const stack = error instanceof Error ? error.stack ?? `${error.name}: ${error.message}` : `non-error value: ${String(error)}`;
      const message = error instanceof Error ? error.message : String(error);
      write(`restart-control: ${kind} (the supervisor keeps running): ${stack}\n`);
      if (Date.now() - windowStart > 60_000) {
        windowStart = Date.now();
        inWindow = 0;
      }
      if (++inWindow > MAX_RECORDED_PER_MINUTE) return;
      record({ event: 'supervisor_error', where: kind, message, stack: stack.slice(0, 4000), reason: `${kind}: ${message}` });
    } catch {
      // nothing more can be done, and throwing here would end the process
    }
  };
  const onRejection = handle('unhandledRejection');
  const onException = handle('uncaughtException');
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}

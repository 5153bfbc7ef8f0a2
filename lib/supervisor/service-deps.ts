/** What a service is given by the supervisor that owns it: its marker and environment, and where its events, changes and output go. */
import type { Readable } from 'node:stream';
import type { EventRecord } from '../core/types.ts';
import type { ProcessTable } from '../process/table.ts';

export interface ServiceDeps {
  /** Value of MARKER_ENV for this service: every descendant inherits it. */
  marker: string;
  /** Whose /proc snapshots stops and clean-ups read. @default sharedProcessTable() */
  processTable?: ProcessTable;
  baseEnv: NodeJS.ProcessEnv;
  emit: (event: Omit<EventRecord, 'time'>) => void;
  /** Called after every state or pid change, to persist state.json. */
  changed: () => void;
  attachOutput: (service: string, stdout: Readable, stderr: Readable, timestamps: boolean) => void;
  now?: () => number;
}

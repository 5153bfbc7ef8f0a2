/** Every log the supervisor writes: each service's output, events.jsonl and the restart log, all rotating line-safely. */
import type { Readable } from 'node:stream';
import { captureOutput, LineRing } from './capture.ts';
import { RotatingLog, rotationOptions, serviceLogFile } from './rotating-log.ts';
import { formatRestartLogEntry } from './restart-log.ts';
import { reconfigureSupervisorLog } from './supervisor-log.ts';
import type { Config, EventRecord } from '../core/types.ts';

/** Output lines kept per service for crash notifications. */
const TAIL_LINES = 20;

type Record = (event: Omit<EventRecord, 'time'>) => void;

export class OutputRouter {
  private readonly serviceLogs = new Map<string, RotatingLog>();
  private readonly tails = new Map<string, LineRing>();
  /** Per service, the last non-empty stderr line of its current run: why it crashed, for events and status. */
  private readonly lastStderr = new Map<string, string>();
  private readonly captures = new Set<{ done: Promise<void>; stop: () => void; service: string }>();
  /** Logs of services a reload removed, closing once their last output is in. */
  private readonly retiring = new Set<Promise<void>>();
  private eventsLog: RotatingLog | null = null;
  private restartLog: RotatingLog | null = null;

  constructor(private config: Config, private readonly record: Record = () => undefined) {}

  /** events.jsonl and restart.log; `eventsFile` lives in state_dir, and its failures may be reported as state writes. */
  openSupervisorLogs(eventsFile: string, eventsFailures?: { failed: (error: Error) => void; recovered: () => void }): void {
    this.eventsLog = eventsFailures
      ? new RotatingLog({ file: eventsFile, ...rotationOptions(this.config.logs), onError: eventsFailures.failed, onRecover: eventsFailures.recovered })
      : this.open(eventsFile);
    this.restartLog = this.open(this.config.logs.restartLog);
  }

  /** One event, to events.jsonl and (formatted) to the restart log: the two never disagree. */
  writeEvent(event: EventRecord): void {
    this.eventsLog?.writeLine(JSON.stringify(event));
    if (this.restartLog) this.restartLog.write(formatRestartLogEntry(event));
  }

  attach(service: string, stdout: Readable, stderr: Readable, timestamps: boolean): void {
    let log = this.serviceLogs.get(service);
    if (!log) {
      log = this.open(serviceLogFile(this.config.logs, service), service);
      this.serviceLogs.set(service, log);
    }
    let tail = this.tails.get(service);
    if (!tail) {
      tail = new LineRing(TAIL_LINES);
      this.tails.set(service, tail);
    }
    const ring = tail;
    this.lastStderr.delete(service);
    const onLine = (line: string, stream: 'stdout' | 'stderr') => {
      ring.push(line);
      if (stream === 'stderr' && line.trim() !== '') this.lastStderr.set(service, line);
    };
    const capture = { ...captureOutput({ stdout, stderr, log, timestamps, onLine }), service };
    this.captures.add(capture);
    void capture.done.finally(() => this.captures.delete(capture));
  }

  /** `service`: whose output this file holds (named in log_error events); none for the supervisor's own logs. */
  private open(file: string, service?: string): RotatingLog {
    return new RotatingLog({
      file,
      ...rotationOptions(this.config.logs),
      onError: (error) => this.record({ event: 'log_error', service, file, message: error.message, reason: `cannot write ${file}: ${error.message}` }),
      onRecover: ({ droppedLines }) => this.record({ event: 'log_recovered', service, file, dropped_lines: droppedLines, reason: `writing ${file} again` }),
    });
  }

  tail(service: string): string[] {
    return this.tails.get(service)?.lines() ?? [];
  }

  lastStderrLine(service: string): string | null {
    return this.lastStderr.get(service) ?? null;
  }

  /**
   * A reload: the logs section applies to the open files at once (max_size, keep, compress, dir); the logs of removed
   * services close, with their timers and compressions, once the output of their last run is in.
   */
  reconfigure(config: Config): void {
    this.config = config;
    const rotation = rotationOptions(config.logs);
    const names = new Set(config.services.map((service) => service.name));
    for (const [service, log] of this.serviceLogs) {
      if (names.has(service)) void log.reconfigure({ file: serviceLogFile(config.logs, service), ...rotation });
      else this.retire(service, log);
    }
    if (this.eventsLog) void this.eventsLog.reconfigure({ file: this.eventsLog.file, ...rotation });
    if (this.restartLog) void this.restartLog.reconfigure({ file: config.logs.restartLog, ...rotation });
    reconfigureSupervisorLog(rotation);
  }

  private retire(service: string, log: RotatingLog): void {
    this.serviceLogs.delete(service);
    this.tails.delete(service);
    const captures = [...this.captures].filter((capture) => capture.service === service);
    const closing = Promise.all(captures.map((capture) => capture.done)).then(() => log.close());
    this.retiring.add(closing);
    void closing.finally(() => this.retiring.delete(closing));
  }

  /** Services whose log is open (tests, and the soak bench's fd count). */
  openServiceLogs(): string[] {
    return [...this.serviceLogs.keys()];
  }

  /** logs.rotate_on_restart: between stop and start, so each run starts a fresh file. */
  async rotateAll(): Promise<void> {
    await Promise.all([...this.serviceLogs.values()].map((log) => log.rotate()));
  }

  async close(): Promise<void> {
    // Escaped grandchildren may still hold the pipes: don't wait for them to close
    for (const capture of this.captures) capture.stop();
    const logs = [...this.serviceLogs.values(), this.eventsLog, this.restartLog].filter((log): log is RotatingLog => log !== null);
    await Promise.all([...logs.map((log) => log.close()), ...this.retiring]);
    this.serviceLogs.clear();
  }
}

/** Thin, synchronous readers of Linux /proc. Every reader returns null when the process is gone or unreadable. */
import { readdirSync, readFileSync } from 'node:fs';

const PROC_ROOT = '/proc';
/** USER_HZ, the unit of /proc/PID/stat times: 100 on every architecture Node runs on (1024 was Alpha/ia64 only). */
const CLOCK_TICKS_PER_SECOND = 100;
/** States of a process that has exited: zombie (waiting to be reaped) and dead (being torn down). */
const EXITED_STATES = new Set(['Z', 'X', 'x']);

export interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  /** One letter: R, S, D, T, Z, X… */
  state: string;
  /** Clock ticks since boot (field 22): with the pid, it names one process across pid reuse. */
  startTime: number;
  comm: string;
}

interface StatFields {
  pid: number;
  comm: string;
  /** Fields 3.. of /proc/PID/stat, so field n is at index n - 3. */
  rest: string[];
}

/** comm may hold spaces and parentheses, so it ends at the LAST ')'. */
function splitStat(text: string): StatFields | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  if (!Number.isInteger(pid)) return null;
  return { pid, comm: text.slice(open + 1, close), rest: text.slice(close + 2).trim().split(' ') };
}

function statField(fields: StatFields, field: number): number {
  return Number(fields.rest[field - 3]);
}

/** Parses the text of /proc/PID/stat. */
export function parseProcStat(text: string): ProcStat | null {
  const fields = splitStat(text);
  if (!fields || fields.rest.length < 20) return null;
  const stat: ProcStat = {
    pid: fields.pid,
    ppid: statField(fields, 4),
    pgid: statField(fields, 5),
    sid: statField(fields, 6),
    state: fields.rest[0]!,
    startTime: statField(fields, 22),
    comm: fields.comm,
  };
  return Number.isFinite(stat.startTime) && Number.isFinite(stat.ppid) ? stat : null;
}

function readProcText(pid: number, file: string): string | null {
  try {
    return readFileSync(`${PROC_ROOT}/${pid}/${file}`, 'utf8');
  } catch {
    return null;
  }
}

export function readProcStat(pid: number): ProcStat | null {
  const text = readProcText(pid, 'stat');
  return text === null ? null : parseProcStat(text);
}

export function procStartTime(pid: number): number | null {
  return readProcStat(pid)?.startTime ?? null;
}

/** A zombie has exited: PID 1 here reaps orphans only every 1–2 s, so zombies must count as dead. */
export function isExited(stat: ProcStat): boolean {
  return EXITED_STATES.has(stat.state);
}

/** Exists, has not exited, and, when `startTime` is given, is the same process (not a reused pid). */
export function isAlive(pid: number, startTime?: number | null): boolean {
  const stat = readProcStat(pid);
  if (!stat || isExited(stat)) return false;
  return startTime === undefined || startTime === null || stat.startTime === startTime;
}

/** Every process, zombies included; a process that vanishes mid-walk is skipped. */
export function listProcesses(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const name of readdirSync(PROC_ROOT)) {
    const code = name.charCodeAt(0);
    if (code < 48 || code > 57) continue;
    const stat = readProcStat(Number(name));
    if (stat) stats.push(stat);
  }
  return stats;
}

/** The value of `name` in the environment the process was started with; null if unset or unreadable (EACCES, ENOENT). */
export function readEnvVar(pid: number, name: string): string | null {
  let environ: Buffer;
  try {
    environ = readFileSync(`${PROC_ROOT}/${pid}/environ`);
  } catch {
    return null;
  }
  const key = Buffer.from(`${name}=`);
  for (let at = environ.indexOf(key); at >= 0; at = environ.indexOf(key, at + 1)) {
    // A match must start an entry, or FOO_MARKER= would match MARKER=.
    if (at > 0 && environ[at - 1] !== 0) continue;
    const end = environ.indexOf(0, at);
    return environ.toString('utf8', at + key.length, end < 0 ? environ.length : end);
  }
  return null;
}

/** Several variables from one read of /proc/PID/environ; null when the file is unreadable (gone, EACCES), undefined when it is empty (mid-exec). */
export function readEnvVars(pid: number, names: readonly string[]): Map<string, string> | null | undefined {
  let environ: Buffer;
  try {
    environ = readFileSync(`${PROC_ROOT}/${pid}/environ`);
  } catch {
    return null;
  }
  // Empty while the process is between fork and exec (or a zombie): nothing settled to read yet
  if (environ.length === 0) return undefined;
  const found = new Map<string, string>();
  for (const name of names) {
    const key = Buffer.from(`${name}=`);
    for (let at = environ.indexOf(key); at >= 0; at = environ.indexOf(key, at + 1)) {
      if (at > 0 && environ[at - 1] !== 0) continue;
      const end = environ.indexOf(0, at);
      found.set(name, environ.toString('utf8', at + key.length, end < 0 ? environ.length : end));
      break;
    }
  }
  return found;
}

/** Whether /proc is mounted and readable (false on macOS, or in sandboxes without procfs). */
export function hasProc(): boolean {
  return readProcStat(process.pid) !== null;
}

/** Resident set size from /proc/PID/status (VmRSS), in bytes; 0 for a zombie, null if gone. */
export function processRssBytes(pid: number): number | null {
  const status = readProcText(pid, 'status');
  if (status === null) return null;
  const match = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
  return match ? Number(match[1]) * 1024 : 0;
}

/** User + system CPU time (fields 14 and 15 of /proc/PID/stat), in ms; null if gone. */
export function processCpuTimeMs(pid: number): number | null {
  const text = readProcText(pid, 'stat');
  const fields = text === null ? null : splitStat(text);
  if (!fields) return null;
  const ticks = statField(fields, 14) + statField(fields, 15);
  return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_SECOND : null;
}

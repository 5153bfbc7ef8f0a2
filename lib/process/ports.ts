/** Who listens on a TCP port: /proc/net/tcp and tcp6 give the socket inodes, /proc/PID/fd maps them to pids. */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

const LISTEN = '0A';
const COMMAND_SHOWN_CHARS = 60;

export interface PortHolder {
  pid: number;
  /** The command line, cut to ~60 characters. */
  command: string;
}

/** Inodes of listening sockets on `port`, any local address, IPv4 and IPv6. Pure on the file texts. */
export function listeningInodes(tables: string[], port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of tables) {
    for (const line of table.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (fields.length < 10 || fields[3] !== LISTEN) continue;
      const localPort = parseInt(fields[1]!.split(':')[1] ?? '', 16);
      if (localPort === port && fields[9] !== '0') inodes.add(fields[9]!);
    }
  }
  return inodes;
}

function readTables(): string[] {
  return ['/proc/net/tcp', '/proc/net/tcp6'].map((file) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  });
}

/** True when some socket listens on the port (whether or not its process is visible to us). */
export function portInUse(port: number): boolean {
  return listeningInodes(readTables(), port).size > 0;
}

/** Processes holding a listening socket on `port`. Processes of other users cannot be read: they are missing here. */
export function portHolders(port: number): PortHolder[] {
  const inodes = listeningInodes(readTables(), port);
  if (inodes.size === 0) return [];
  const holders: PortHolder[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) {
        holders.push({ pid: Number(entry), command: commandLine(Number(entry)) });
        break;
      }
    }
  }
  return holders;
}

export function commandLine(pid: number): string {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return text.length > COMMAND_SHOWN_CHARS ? `${text.slice(0, COMMAND_SHOWN_CHARS)} ...` : text;
  } catch {
    return '?';
  }
}

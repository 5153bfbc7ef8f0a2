/** A log's files on disk: the current one and its rotated, maybe gzipped, predecessors (`<file>.N`, `<file>.N.gz`). */
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';


export function rotatedName(file: string, index: number, gzipped = false): string {
  return `${file}.${index}${gzipped ? '.gz' : ''}`;
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Current + rotated files, oldest first (`.N` … `.1`, then the file itself); `.gz` ones included. */
export function logFiles(file: string): string[] {
  const directory = dirname(file);
  const base = basename(file);
  let names: string[];
  try { names = readdirSync(directory); } catch { return []; }
  const pattern = new RegExp(`^${escapeRegExp(base)}\\.(\\d+)(\\.gz)?$`);
  const byIndex = new Map<number, string>();
  for (const name of names) {
    const match = pattern.exec(name);
    if (!match) continue;
    // `.N` and `.N.gz` coexist only while a compression finishes; both hold the same lines, so take the plain one.
    if (match[2] === undefined || !byIndex.has(Number(match[1]))) byIndex.set(Number(match[1]), name);
  }
  const rotated = [...byIndex].sort((a, b) => b[0] - a[0]).map(([, name]) => join(directory, name));
  return names.includes(base) ? [...rotated, file] : rotated;
}

export async function splitLines(raw: Buffer, gzipped: boolean): Promise<string[]> {
  const text = (gzipped ? await promisify((await import('node:zlib')).gunzip)(raw) : raw).toString('utf8');
  if (text === '') return [];
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

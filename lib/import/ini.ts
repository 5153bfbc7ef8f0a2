/**
 * supervisord.conf as supervisord reads it (Python's RawConfigParser): sections, `key = value` or `key: value`,
 * `;`/`#` comment lines, inline comments after whitespace, indented continuation lines, `%(here)s` per file,
 * `[include] files =` globs followed relative to the including file.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ImportError } from './model.ts';

export interface IniValue {
  value: string;
  file: string;
  line: number;
}

export interface IniSection {
  name: string;
  file: string;
  line: number;
  /** Keys lower-cased, as RawConfigParser does. `%(here)s` is already expanded. */
  options: Map<string, IniValue>;
}

const SECTION = /^\[([^\]]+)\]\s*(?:[;#].*)?$/;
const OPTION = /^([^=:\s][^=:]*?)\s*[=:]\s?(.*)$/;
const MAX_INCLUDE_DEPTH = 10;

export function readSupervisordConf(file: string): IniSection[] {
  const sections: IniSection[] = [];
  readInto(resolve(file), sections, 0);
  return sections;
}

function readInto(file: string, sections: IniSection[], depth: number): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ImportError(`${file}: cannot read it: ${(error as Error).message}`);
  }
  const own = parseIni(file, text);
  // A section seen again (here or in an included file) adds to the first, as RawConfigParser(strict=False) does
  for (const section of own) {
    const seen = sections.find((item) => item.name === section.name);
    if (!seen) sections.push(section);
    else for (const [key, value] of section.options) seen.options.set(key, value);
  }
  const include = own.find((section) => section.name === 'include')?.options.get('files');
  if (!include) return;
  if (depth >= MAX_INCLUDE_DEPTH) throw new ImportError(`${basename(file)}:${include.line}: [include] nested more than ${MAX_INCLUDE_DEPTH} deep`);
  for (const pattern of include.value.split(/\s+/).filter(Boolean)) {
    for (const path of globFiles(resolve(dirname(file), pattern))) readInto(path, sections, depth + 1);
  }
}

export function parseIni(file: string, text: string): IniSection[] {
  const name = basename(file);
  const here = dirname(resolve(file));
  const sections: IniSection[] = [];
  let section: IniSection | null = null;
  let last: { value: IniValue; indent: number } | null = null;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith(';') || trimmed.startsWith('#')) return;
    const indent = raw.length - raw.trimStart().length;
    const content = stripInlineComment(trimmed);
    if (last && indent > last.indent) {
      last.value.value += `\n${content.replaceAll('%(here)s', here)}`;
      return;
    }
    const header = trimmed.match(SECTION);
    if (header) {
      section = { name: header[1]!.trim(), file, line, options: new Map() };
      sections.push(section);
      last = null;
      return;
    }
    const option = content.match(OPTION);
    if (!section) throw new ImportError(`${name}:${line}: expected a [section] header before ${JSON.stringify(trimmed)}`);
    if (!option) throw new ImportError(`${name}:${line}: expected "key = value" or a [section], got ${JSON.stringify(trimmed)}`);
    const value: IniValue = { value: option[2]!.trim().replaceAll('%(here)s', here), file, line };
    (section as IniSection).options.set(option[1]!.trim().toLowerCase(), value);
    last = { value, indent };
  });
  return sections;
}

/** `;` or `#` after whitespace starts a comment (supervisord sets inline_comment_prefixes). */
function stripInlineComment(text: string): string {
  const match = text.match(/\s[;#]/);
  return match ? text.slice(0, match.index).trimEnd() : text;
}

/** `*`, `?` and `[...]` in the last path part (`conf.d/*.conf`), sorted like Python's glob + supervisord. */
function globFiles(pattern: string): string[] {
  const folder = dirname(pattern);
  const last = basename(pattern);
  if (!/[*?[]/.test(last)) return existsSync(pattern) ? [pattern] : [];
  if (!existsSync(folder)) return [];
  const regex = new RegExp(`^${last.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return readdirSync(folder).filter((entry) => !entry.startsWith('.') && regex.test(entry)).sort().map((entry) => join(folder, entry));
}

/**
 * Python %-formatting as supervisord applies it: `%(name)s`, `%(process_num)02d`, `%%`. An unknown name is an error
 * (supervisord refuses the file too).
 */
export function expandPercent(text: string, vars: Record<string, string | number>, where: string): string {
  return text.replace(/%(?:%|\(([^)]+)\)([-#0 +]*)(\d*)(?:\.\d+)?([sdirf]))/g, (whole, key: string | undefined, flags: string, width: string, type: string) => {
    if (whole === '%%') return '%';
    const value = vars[key!];
    if (value === undefined) throw new ImportError(`${where}: %(${key})${type} cannot be expanded${key!.startsWith('ENV_') ? ` (${key!.slice(4)} is not set)` : ''}`);
    let out = type === 's' || type === 'r' ? String(value) : String(Math.trunc(Number(value)));
    const size = Number(width || 0);
    if (out.length < size) out = flags.includes('-') ? out.padEnd(size) : flags.includes('0') && type !== 's' ? out.padStart(size, '0') : out.padStart(size);
    return out;
  });
}

/**
 * Idempotent edits of text files we share with the user (a crontab, jupyter_server_config.py): our lines carry a tag,
 * everything else is kept byte for byte.
 */

export interface Edit {
  text: string;
  changed: boolean;
  /** What went away, for --dry-run and the report. */
  removed: string[];
}

/** Lines of `text` without the final newline's empty element; `final` says whether the text ended with one. */
function splitLines(text: string): { lines: string[]; final: boolean } {
  if (text === '') return { lines: [], final: true };
  const lines = text.split('\n');
  const final = lines.at(-1) === '';
  if (final) lines.pop();
  return { lines, final };
}

function joinLines(lines: string[], final: boolean): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}${final ? '\n' : ''}`;
}

/**
 * Puts `wanted` where our tagged lines were (or at the end), removing every tagged line. Unchanged when they are
 * already exactly there. A text without a final newline gets one before appended lines.
 */
export function replaceTaggedLines(text: string, isOurs: (line: string) => boolean, wanted: string[]): Edit {
  const { lines, final } = splitLines(text);
  const ours = lines.filter(isOurs);
  if (ours.length === wanted.length && ours.every((line, i) => line === wanted[i]) && isContiguous(lines, isOurs)) {
    return { text, changed: false, removed: [] };
  }
  const first = lines.findIndex(isOurs);
  const kept = lines.filter((line) => !isOurs(line));
  const at = first < 0 ? kept.length : first;
  kept.splice(at, 0, ...wanted);
  return { text: joinLines(kept, final || first < 0), changed: true, removed: ours };
}

function isContiguous(lines: string[], isOurs: (line: string) => boolean): boolean {
  const indexes = lines.flatMap((line, i) => (isOurs(line) ? [i] : []));
  return indexes.every((index, i) => i === 0 || index === indexes[i - 1]! + 1);
}

/** Block markers: `# >>> TAG >>>` ... `# <<< TAG <<<`. */
export function blockMarkers(tag: string): { start: string; end: string } {
  return { start: `# >>> ${tag} >>>`, end: `# <<< ${tag} <<<` };
}

/** Replaces (or appends) the block between our markers; `block` includes both marker lines. */
export function replaceBlock(text: string, tag: string, block: string[]): Edit {
  const { lines, final } = splitLines(text);
  const range = findBlock(lines, tag);
  if (range && lines.slice(range.start, range.end + 1).join('\n') === block.join('\n')) return { text, changed: false, removed: [] };
  if (!range) return { text: joinLines([...lines, ...block], true), changed: true, removed: [] };
  const removed = lines.splice(range.start, range.end - range.start + 1, ...block);
  return { text: joinLines(lines, final), changed: true, removed };
}

export function removeBlock(text: string, tag: string): Edit {
  const { lines, final } = splitLines(text);
  const range = findBlock(lines, tag);
  if (!range) return { text, changed: false, removed: [] };
  const removed = lines.splice(range.start, range.end - range.start + 1);
  return { text: joinLines(lines, final), changed: true, removed };
}

function findBlock(lines: string[], tag: string): { start: number; end: number } | null {
  const { start, end } = blockMarkers(tag);
  const first = lines.indexOf(start);
  if (first < 0) return null;
  const last = lines.indexOf(end, first);
  // A start marker without its end (a hand edit): take the start line alone rather than eat the rest of the file
  return { start: first, end: last < 0 ? first : last };
}

/** Python's shlex.split (POSIX mode), which supervisord uses on `command`: quotes and backslashes, no shell. */
export function shlexSplit(text: string): string[] | null {
  const words: string[] = [];
  let word: string | null = null;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quote === "'") {
      if (char === "'") quote = null;
      else word += char;
    } else if (quote === '"') {
      if (char === '"') quote = null;
      else if (char === '\\' && i + 1 < text.length && '\\"$`\n'.includes(text[i + 1]!)) word += text[++i];
      else word += char;
    } else if (/\s/.test(char)) {
      if (word !== null) words.push(word);
      word = null;
    } else if (char === "'" || char === '"') {
      quote = char;
      word ??= '';
    } else if (char === '\\') {
      if (i + 1 >= text.length) return null;
      word = (word ?? '') + text[++i];
    } else {
      word = (word ?? '') + char;
    }
  }
  if (quote) return null;
  if (word !== null) words.push(word);
  return words;
}

/** supervisord's `environment=KEY="val",KEY2=val2`: commas inside quotes belong to the value. */
export function parseKeyValuePairs(text: string): Record<string, string> | null {
  const pairs: Record<string, string> = {};
  const parts: string[] = [];
  let current = '';
  let quote: string | null = null;
  for (const char of text) {
    if (quote) {
      if (char === quote) quote = null;
      current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      current += char;
    } else if (char === ',') {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  if (quote) return null;
  parts.push(current);
  for (const part of parts) {
    if (part.trim() === '') continue;
    const match = part.trim().match(/^([^=\s]+)\s*=\s*([\s\S]*)$/);
    if (!match) return null;
    pairs[match[1]!] = match[2]!.trim().replace(/^(["'])([\s\S]*)\1$/, '$2');
  }
  return pairs;
}

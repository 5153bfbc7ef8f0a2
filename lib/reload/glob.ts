/** Glob patterns for watch/watch_ignore: `**` any depth, `*` within a segment, `?` one char, `{a,b}` literal alternatives, `[abc]` / `[!abc]` classes. */
const SPECIAL = /[*?{[]/;

export function isGlob(pattern: string): boolean {
  return SPECIAL.test(pattern);
}

/** The folder part before the first segment with a wildcard: what to watch for a glob. */
export function globBase(pattern: string): string {
  const segments = pattern.split('/');
  const index = segments.findIndex((segment) => isGlob(segment));
  if (index < 0) return pattern;
  if (index === 1 && segments[0] === '') return '/';
  return segments.slice(0, index).join('/') || '.';
}

export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '{') {
      const end = pattern.indexOf('}', i);
      if (end < 0) { source += '\\{'; continue; }
      source += `(?:${pattern.slice(i + 1, end).split(',').map(escape).join('|')})`;
      i = end;
    } else if (char === '[' && pattern.indexOf(']', i + 2) > 0) {
      const end = pattern.indexOf(']', i + 2);
      const body = pattern.slice(i + 1, end);
      source += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`.replace(/\\/g, '\\\\');
      i = end;
    } else source += escape(char);
  }
  return new RegExp(`^${source}$`);
}

function escape(text: string): string {
  return text.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
}

/** A relative path matches when the pattern matches it or, for a pattern without a slash, its last segment. */
export function matchesAny(relativePath: string, patterns: RegExp[], basenamePatterns: RegExp[]): boolean {
  const name = relativePath.slice(relativePath.lastIndexOf('/') + 1);
  return patterns.some((pattern) => pattern.test(relativePath)) || basenamePatterns.some((pattern) => pattern.test(name));
}

/**
 * `${VAR}` in text that `/bin/sh -c` runs (notify.command): each value is quoted for the place it lands in, so shell
 * characters in a variable (`;`, `$(...)`, quotes, newlines) are always data, never code.
 */

type QuoteState = 'none' | 'single' | 'double';

const VARIABLE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}/;

/** A value that reads back as exactly itself where the shell is in `state`. */
export function quoteForShell(value: string, state: QuoteState): string {
  switch (state) {
    case 'single':
      // Close the single quotes, add an escaped quote, reopen: 'it'\''s'
      return value.replaceAll("'", `'\\''`);
    case 'double':
      // Inside "...", only $ ` \ " (and a newline after \) are special
      return value.replace(/[$`\\"]/g, '\\$&');
    default:
      return `'${value.replaceAll("'", `'\\''`)}'`;
  }
}

/**
 * Expands `${VAR}` from `env`, quoting each value for its context. `present` turns a value into what is spliced in
 * (`() => '***'` gives the text `config` shows). A missing variable is reported through `missing` and expands to ''.
 */
export function expandShellCommand(
  command: string, env: NodeJS.ProcessEnv, missing: (variable: string) => void, present: (value: string) => string = (value) => value,
): string {
  let state: QuoteState = 'none';
  let out = '';
  for (let i = 0; i < command.length; i++) {
    const char = command[i]!;
    const variable = char === '$' && state !== 'single' ? VARIABLE.exec(command.slice(i)) : null;
    // In single quotes the shell would never expand it, but users write '${TOKEN}' and mean the value: quote it there too
    const literalVariable = char === '$' && state === 'single' ? VARIABLE.exec(command.slice(i)) : null;
    const match = variable ?? literalVariable;
    if (match) {
      const value = env[match[1]!];
      if (value === undefined) missing(match[1]!);
      out += quoteForShell(present(value ?? ''), state);
      i += match[0].length - 1;
      continue;
    }
    out += char;
    if (char === '\\' && state !== 'single' && i + 1 < command.length) {
      out += command[++i];
      continue;
    }
    if (char === "'" && state !== 'double') state = state === 'single' ? 'none' : 'single';
    else if (char === '"' && state !== 'single') state = state === 'double' ? 'none' : 'double';
  }
  return out;
}

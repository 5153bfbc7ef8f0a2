/**
 * Reads a PM2 ecosystem file into a plain value. A `.js`/`.cjs`/`.mjs` file is a program: it is evaluated in a child
 * Node process with a timeout, never in the CLI's own process (it could hang, exit, or write anywhere).
 */
import { execFile } from 'node:child_process';
import { basename, dirname, extname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ImportError } from './model.ts';

export const PM2_EVAL_TIMEOUT_MS = 10_000;
const MARKER = '\n@@restart-control-import@@';

/** Runs in the child: import the file, print MARKER + a JSON envelope. console.log goes to stderr so it cannot mix in. */
const EVALUATE = `
const file = process.argv[1];
const marker = ${JSON.stringify(MARKER)};
console.log = console.info = console.error;
const url = (await import('node:url')).pathToFileURL(file).href;
const reply = (envelope) => process.stdout.write(marker + JSON.stringify(envelope) + '\\n');
try {
  const mod = await import(url);
  const value = mod.default !== undefined ? mod.default : { ...mod };
  reply({ ok: true, value });
} catch (error) {
  const stack = String(error && error.stack || error);
  let line = null;
  for (const where of [url, file]) {
    const index = stack.indexOf(where + ':');
    if (index >= 0 && line === null) line = Number(stack.slice(index + where.length + 1).match(/^\\d+/)?.[0] ?? NaN) || null;
  }
  reply({ ok: false, message: String(error && error.message || error).split('\\n')[0], line });
}
`;

export async function loadEcosystem(file: string, text: string): Promise<unknown> {
  const name = basename(file);
  const extension = extname(file).toLowerCase();
  if (extension === '.json') return parseJson(name, text);
  if (extension === '.yaml' || extension === '.yml') return parseYaml(name, text);
  if (['.js', '.cjs', '.mjs'].includes(extension)) return evaluateInChild(file);
  throw new ImportError(`${name}: expected an ecosystem file ending in .js, .cjs, .mjs, .json, .yaml or .yml`);
}

function parseJson(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const position = Number((error as Error).message.match(/at position (\d+)/)?.[1] ?? NaN);
    const line = Number.isNaN(position) ? 1 : text.slice(0, position).split('\n').length;
    throw new ImportError(`${name}:${line}: not valid JSON: ${(error as Error).message}`);
  }
}

function parseYaml(name: string, text: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const error = doc.errors[0];
  if (error) throw new ImportError(`${name}:${lineCounter.linePos(error.pos[0]).line}: not valid YAML: ${error.message.split('\n')[0]}`);
  return doc.toJS();
}

function evaluateInChild(file: string): Promise<unknown> {
  const name = basename(file);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', EVALUATE, file], {
      cwd: dirname(file),
      timeout: PM2_EVAL_TIMEOUT_MS,
      killSignal: 'SIGKILL',
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, NODE_OPTIONS: '' },
    }, (error, stdout, stderr) => {
      const at = stdout.lastIndexOf(MARKER);
      if (at < 0) {
        const why = error && (error as { killed?: boolean }).killed
          ? `evaluating it took longer than ${PM2_EVAL_TIMEOUT_MS / 1000}s`
          : `evaluating it failed: ${(stderr.trim().split('\n').pop() ?? '') || `exit code ${String((error as { code?: unknown } | null)?.code)}`}`;
        reject(new ImportError(`${name}: ${why}`));
        return;
      }
      const envelope = JSON.parse(stdout.slice(at + MARKER.length)) as { ok: boolean; value?: unknown; message?: string; line?: number | null };
      if (envelope.ok) {
        resolve(envelope.value);
        return;
      }
      // pm2 itself require()s the file: CommonJS in a "type": "module" package needs the .cjs name
      const hint = /module is not defined in ES module scope/.test(envelope.message ?? '') ? ' (rename it to .cjs, as pm2 asks for ES-module packages)' : '';
      reject(new ImportError(`${name}${envelope.line ? `:${envelope.line}` : ''}: evaluating it failed: ${envelope.message}${hint}`));
    });
  });
}

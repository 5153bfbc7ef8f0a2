#!/usr/bin/env node
// `npm run build`: bundles the entry points into CommonJS files in dist/ (what their /bin/sh headers run when no
// source is newer). Measured on the CLI's `status`, whose wall time is a target: an ES-module entry loads ~12 ms
// slower than a CommonJS one, an external commander ~20 ms slower than a bundled one, and V8 pre-parses the whole
// file it loads, so the commands other than plain `status` (commander and the rest) are a bundle of their own,
// dist/cli-program.cjs, that `status` never reads. Modules reached through import() stay lazy inside a bundle, and
// every dependency but commander stays external, loaded when first used.
import { build } from 'esbuild';
import { readFileSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

process.chdir(fileURLToPath(new URL('..', import.meta.url)));
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const BUNDLED = new Set(['commander']);

/** lib/cli/main.ts loads the program with import('./program.ts'): in dist/ that is the separate bundle. */
const programBundle = {
  name: 'program-bundle',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^\.\/program\.ts$/ }, () => ({ path: './cli-program.cjs', external: true }));
  },
};

rmSync('dist.new', { recursive: true, force: true });
await build({
  entryPoints: [
    { in: 'run.ts', out: 'run' },
    { in: 'restart-control.ts', out: 'restart-control' },
    { in: 'lib/cli/program.ts', out: 'cli-program' },
  ],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outdir: 'dist.new',
  outExtension: { '.js': '.cjs' },
  external: Object.keys(pkg.dependencies).filter((name) => !BUNDLED.has(name)),
  plugins: [programBundle],
  // lib/ finds the project's files from import.meta.url by walking up to package.json (lib/core/shell.ts), so the
  // bundles in dist/ find them too.
  // A getter: building the URL costs ~1 ms at every start, and most commands never ask.
  define: { 'import.meta.url': '__bundleUrl.href' },
  banner: { js: "const __bundleUrl = { get href() { return require('node:url').pathToFileURL(__filename).href; } };" },
  logLevel: 'warning',
});
rmSync('dist', { recursive: true, force: true });
renameSync('dist.new', 'dist');

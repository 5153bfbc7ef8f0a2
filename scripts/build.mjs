#!/usr/bin/env node
// `npm run build`: bundles each entry point into one CommonJS file in dist/ (what their /bin/sh headers run when it is
// fresh). Measured on the CLI's `status`: an ES-module entry costs ~12 ms more to load than a CommonJS one, and an
// external commander ~20 ms more than a bundled one. Modules reached only through import() stay lazy in the bundle
// (esbuild wraps them), and every other dependency stays external, loaded when first used.
import { build } from 'esbuild';
import { readFileSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

process.chdir(fileURLToPath(new URL('..', import.meta.url)));
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const BUNDLED = new Set(['commander']);

rmSync('dist.new', { recursive: true, force: true });
await build({
  entryPoints: ['run.ts', 'restart-control.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outdir: 'dist.new',
  outExtension: { '.js': '.cjs' },
  external: Object.keys(pkg.dependencies).filter((name) => !BUNDLED.has(name)),
  // lib/ finds the project's files from import.meta.url; dist/ sits beside lib/, so the same relative paths hold
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
rmSync('dist', { recursive: true, force: true });
renameSync('dist.new', 'dist');

#!/bin/sh
//bin/true; D=$(dirname "$(readlink -f "$0")"); command -v "${NODE:-node}" >/dev/null || PATH="$PATH:/usr/local/bin"; B="$D/dist/$(basename "$0" .ts).mjs"; [ -f "$B" ] && [ -z "$(find "$D/lib" "$0" -newer "$B" -print -quit 2>/dev/null)" ] && exec "${NODE:-node}" --max-semi-space-size=1 "$B" "$@"; exec "${NODE:-node}" --max-semi-space-size=1 --import "$D/node_modules/tsx/dist/loader.mjs" "$0" "$@"
// Line 2 is for /bin/sh (TypeScript sees a comment): run the prebuilt bundle when it is fresh, else through tsx.
// A 1 MB young generation keeps the long-lived supervisor's RSS ~5 MB smaller.
import { runMain } from './lib/run-main.ts';

const code = await runMain(process.argv.slice(2));
process.exit(code);

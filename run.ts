#!/bin/sh
//bin/true; S=$0; [ -L "$S" ] && S=$(readlink -f "$S"); case $S in */*) D=${S%/*};; *) D=.;; esac; N=${S##*/}; B=$D/dist/${N%.ts}.cjs; command -v "${NODE:-node}" >/dev/null || PATH="$PATH:/usr/local/bin"; F=$B; [ -f "$B" ] || F=; for f in "$D"/lib/*.ts "$S" "$D/package-lock.json" "$D/scripts/build.mjs"; do [ "$f" -nt "$B" ] && F= && break; done; [ -n "$F" ] && exec "${NODE:-node}" --max-semi-space-size=1 --no-turbofan "$F" "$@"; exec "${NODE:-node}" --max-semi-space-size=1 --no-turbofan --import "$D/node_modules/tsx/dist/loader.mjs" "$S" "$@"
// Line 2 is for /bin/sh (TypeScript sees a comment): run the prebuilt bundle when no source is newer, else through tsx.
// A 1 MB young generation and no optimizing compiler keep the long-lived, mostly idle supervisor's RSS ~10 MB smaller
// (TurboFan's own code pages alone are ~5 MB); log capture's hot loops are native Buffer work.
import { runMain } from './lib/run-main.ts';

void runMain(process.argv.slice(2)).then((code) => process.exit(code));

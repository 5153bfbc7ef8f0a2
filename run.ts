#!/bin/sh
//bin/true; S=$0; [ -L "$S" ] && S=$(readlink -f "$S"); case $S in */*) D=${S%/*};; *) D=.;; esac; N=${S##*/}; B=$D/dist/${N%.ts}.cjs; command -v "${NODE:-node}" >/dev/null || PATH="$PATH:/usr/local/bin"; F=$B; for f in "$D"/lib/*.ts "$D"/lib/*/*.ts "$S" "$D/package-lock.json" "$D/scripts/build.mjs"; do [ -e "$f" ] || continue; [ "$B" -nt "$f" ] || { F=; break; }; done; [ -n "$F" ] && exec "${NODE:-node}" --max-semi-space-size=1 --no-turbofan "$F" "$@"; exec "${NODE:-node}" --max-semi-space-size=1 --no-turbofan --import "$D/node_modules/tsx/dist/loader.mjs" "$S" "$@"
// Line 2 is for /bin/sh (TypeScript sees a comment): run the prebuilt bundle only when it is strictly newer than every
// source (lib/ and its folders), else the sources through tsx; a tie counts as stale, for shells whose -nt sees whole seconds.
// A 1 MB young generation and no optimizing compiler keep the long-lived, mostly idle supervisor's RSS ~10 MB smaller
// (TurboFan's own code pages alone are ~5 MB); log capture's hot loops are native Buffer work.
import { runMain } from './lib/supervisor/main.ts';

void runMain(process.argv.slice(2)).then((code) => process.exit(code));

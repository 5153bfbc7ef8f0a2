#!/bin/sh
//bin/true; S=$0; [ -L "$S" ] && S=$(readlink -f "$S"); case $S in */*) D=${S%/*};; *) D=.;; esac; N=${S##*/}; B=$D/dist/${N%.ts}.cjs; command -v "${NODE:-node}" >/dev/null || PATH="$PATH:/usr/local/bin"; F=$B; for f in "$D"/lib/*.ts "$D"/lib/*/*.ts "$S" "$D/package-lock.json" "$D/scripts/build.mjs"; do [ -e "$f" ] || continue; [ "$B" -nt "$f" ] || { F=; break; }; done; case " $* " in *" notify "*) ;; *) unset NODE_EXTRA_CA_CERTS;; esac; [ -n "$F" ] && exec "${NODE:-node}" "$F" "$@"; exec "${NODE:-node}" --import "$D/node_modules/tsx/dist/loader.mjs" "$S" "$@"
// Line 2 is for /bin/sh (TypeScript sees a comment): run the prebuilt bundle only when it is strictly newer than every
// source (lib/ and its folders; a tie counts as stale, for shells whose -nt sees whole seconds), else through tsx;
// no forks on the way (status is timed with the process start). Only `notify` makes TLS connections: the other
// commands skip Node's ~40 ms parse of NODE_EXTRA_CA_CERTS.
import { main } from './lib/cli/main.ts';

void main(process.argv.slice(2)).then((code) => { process.exitCode = code; });

#!/bin/sh
# Notebook start-up hook: installs restart-control's dependencies when missing, then starts the supervisor in
# the background. Safe to run any number of times: a running supervisor is left alone.
#
#   Paperspace Gradient: put `sh /notebooks/restart-control/templates/notebook-startup.sh` in the notebook's
#                        start command, or run it from a Jupyter cell:
#   Jupyter cell:        !sh /notebooks/restart-control/templates/notebook-startup.sh [CONFIG]
#
# CONFIG defaults to $RESTART_CONTROL_CONFIG, else restart-control.yaml in the restart-control folder.
# The supervisor runs in its own session: interrupting the cell or restarting the kernel does not stop it.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
CONFIG=${1:-${RESTART_CONTROL_CONFIG:-$ROOT/restart-control.yaml}}
case $CONFIG in
  /*) ;;
  *) CONFIG=$(pwd -P)/$CONFIG ;;   # relative to where we were called from, before the cd below
esac

if ! command -v "${NODE:-node}" >/dev/null 2>&1; then
  echo "notebook-startup: node not found; install Node.js 20.19 or newer (e.g. from nodesource or nvm)" >&2
  exit 1
fi
# Notebook images often ship an old Node: say so now rather than fail later with a syntax error.
if ! "${NODE:-node}" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "notebook-startup: Node.js $("${NODE:-node}" --version) is too old; restart-control needs 20.19 or newer" >&2
  exit 1
fi
if [ ! -f "$CONFIG" ]; then
  echo "notebook-startup: no config at $CONFIG (copy one of $ROOT/templates/*.yaml there)" >&2
  exit 1
fi

cd "$ROOT"
# The entry points run through tsx from node_modules: its loader is the file that must be there.
if [ ! -f node_modules/tsx/dist/loader.mjs ]; then
  echo "notebook-startup: installing dependencies (npm ci)..."
  npm ci --no-audit --no-fund
fi

exec ./run.ts --config "$CONFIG" --detach

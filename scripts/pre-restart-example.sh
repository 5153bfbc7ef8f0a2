#!/bin/sh
# An example pre_restart hook: runs after wait_idle and before the services stop.
#
#   hooks:
#     pre_restart: ["./scripts/pre-restart-example.sh"]
#     timeout: 60s
#
# Hooks run under /bin/sh in the config file's folder. A failure (non-zero exit, timeout) is recorded as a
# `hook_failed` event and the restart goes on anyway, so never block here: keep every step short and bounded.
# Copy this file, keep the steps you need, delete the rest.
set -u

COMFYUI_URL=${COMFYUI_URL:-http://127.0.0.1:8188}
BACKUP_DIR=${BACKUP_DIR:-/tmp/comfyui-queue-backup}
STAMP=$(date +%Y%m%d-%H%M%S)
status=0

# 1. Save ComfyUI's queue and recent history: a prompt still pending is lost with the process, and this JSON
#    lets you re-submit it afterwards (POST each prompt back to /prompt). --max-time keeps a hung server from
#    eating the hook's whole timeout.
if command -v curl >/dev/null 2>&1; then
  mkdir -p "$BACKUP_DIR"
  for what in queue history; do
    if curl -fsS --max-time 5 "$COMFYUI_URL/$what" -o "$BACKUP_DIR/$what-$STAMP.json"; then
      echo "saved $what to $BACKUP_DIR/$what-$STAMP.json"
    else
      echo "could not save $what from $COMFYUI_URL (not running?)" >&2
      rm -f "$BACKUP_DIR/$what-$STAMP.json"
    fi
  done
  # Keep the 20 newest backups of each kind (file names sort by time).
  for what in queue history; do
    ls -1 "$BACKUP_DIR"/"$what"-*.json 2>/dev/null | sort -r | tail -n +21 | while IFS= read -r old; do rm -f "$old"; done
  done
else
  echo "curl not found: queue not saved" >&2
fi

# 2. Flush a cache: for example tell an app to write its in-memory state out. Replace with your own command, e.g.
#    curl -fsS --max-time 10 -X POST http://127.0.0.1:8000/admin/flush || status=1
#    redis-cli -p 6379 SAVE || status=1

# 3. Push written data to disk: outputs on network storage (/storage, /notebooks) must survive a kill.
sync || status=1

exit $status

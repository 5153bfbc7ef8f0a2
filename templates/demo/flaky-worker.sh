#!/bin/sh
# Demo service: a worker that does "jobs" and crashes now and then, so restarts are visible.
n=0
while :; do
  n=$((n + 1))
  echo "worker $$: job $n done"
  if [ $((n % 7)) -eq 0 ]; then echo "worker $$: simulated crash" >&2; exit 3; fi
  sleep 2
done

#!/usr/bin/env bash
# Stops the server start.sh started on PORT (by its pid file) and waits until it is gone.
# Usage: stop.sh PORT   (env FERRY_S3_HOME, default $HOME/.cache/ferry-h8-py)
set -euo pipefail
PORT=${1:?usage: stop.sh PORT}
RUN=${FERRY_S3_HOME:-$HOME/.cache/ferry-h8-py}/run-$PORT
[ -f "$RUN/pid" ] || exit 0
PID=$(cat "$RUN/pid")
kill "$PID" 2>/dev/null || true
for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -9 "$PID" 2>/dev/null || true
rm -f "$RUN/pid"

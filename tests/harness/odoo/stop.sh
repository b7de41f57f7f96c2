#!/usr/bin/env bash
# Stops the server start.sh started on PORT (by its pid file).
set -euo pipefail
PORT=${1:?usage: stop.sh PORT}
RUN=${FERRY_ODOO_HOME:-$HOME/.cache/ferry-odoo-harness}/run-$PORT
[ -f "$RUN/pid" ] && kill "$(cat "$RUN/pid")" 2>/dev/null || true
rm -f "$RUN/pid"

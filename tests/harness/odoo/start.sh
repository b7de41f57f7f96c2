#!/usr/bin/env bash
# Starts the Odoo test server (server.py) on 127.0.0.1 over the restored Odoo 19 demo
# database (restore.sh; restored only when missing). Idempotent.
# Usage: start.sh PORT [--copy NAME | --serve NAME]
#   stdout: the server URL (http://127.0.0.1:PORT/DB); progress on stderr.
#   --copy NAME: serve a fresh copy of the demo database, NAME (dropped and made again
#   from the restored database on every start, so a test that writes starts clean).
#   --serve NAME: serve the existing database NAME as it is, restarting the server so
#   that it reads the model catalogue again (after a test changed ir_model_fields).
# Env: FERRY_ODOO_HOME (default $HOME/.cache/ferry-odoo-harness) for pid and log files,
#      FERRY_ODOO_DB, FERRY_ODOO_DUMP, PGHOST/PGPORT/PGUSER: see restore.sh.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PORT=${1:?usage: start.sh PORT [--copy NAME | --serve NAME]}
COPY=
SERVE=
if [ "${2:-}" = "--copy" ]; then
    COPY=${3:?usage: start.sh PORT --copy NAME}
    [[ "$COPY" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "start.sh: bad database name $COPY" >&2; exit 2; }
elif [ "${2:-}" = "--serve" ]; then
    SERVE=${3:?usage: start.sh PORT --serve NAME}
    [[ "$SERVE" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "start.sh: bad database name $SERVE" >&2; exit 2; }
fi
HOME_DIR=${FERRY_ODOO_HOME:-$HOME/.cache/ferry-odoo-harness}
RUN=$HOME_DIR/run-$PORT
mkdir -p "$RUN"
exec 9>"$HOME_DIR/.start-$PORT.lock"
flock -w 900 9
DB=$("$HERE/restore.sh")
PSQL=(psql -XAtq -v ON_ERROR_STOP=1 -h "${PGHOST:-127.0.0.1}" -p "${PGPORT:-5432}" -U "${PGUSER:-postgres}" -d postgres)
if [ -n "$COPY" ]; then
    [ "$COPY" != "$DB" ] || { echo "start.sh: --copy names the demo database itself" >&2; exit 2; }
    # A fresh copy each time: stop whatever this port served first (our own pid file).
    [ -f "$RUN/pid" ] && kill "$(cat "$RUN/pid")" 2>/dev/null || true
    rm -f "$RUN/pid"
    "${PSQL[@]}" -c "DROP DATABASE IF EXISTS \"$COPY\" WITH (FORCE)"
    # CREATE DATABASE … TEMPLATE fails while another session (a server reading the demo
    # database for another test) is connected to it; such sessions are one query long.
    for i in $(seq 1 120); do
        if err=$("${PSQL[@]}" -c "CREATE DATABASE \"$COPY\" TEMPLATE \"$DB\"" 2>&1); then break; fi
        [ "$i" = 120 ] && { echo "start.sh: could not copy $DB: $err" >&2; exit 1; }
        sleep 0.25
    done
    DB=$COPY
elif [ -n "$SERVE" ]; then
    if [ -f "$RUN/pid" ]; then
        OLD=$(cat "$RUN/pid")
        kill "$OLD" 2>/dev/null || true
        # The port is free once the old server is gone.
        for _ in $(seq 1 50); do kill -0 "$OLD" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$RUN/pid"
    DB=$SERVE
fi
URL="http://127.0.0.1:$PORT/$DB"
answers() {
    curl -s --max-time 5 -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/jsonrpc" \
        -d '{"jsonrpc":"2.0","method":"call","id":1,"params":{"service":"db","method":"list","args":[]}}' \
        | grep -q "\"$DB\""
}
if [ -f "$RUN/pid" ] && kill -0 "$(cat "$RUN/pid")" 2>/dev/null && answers; then
    echo "$URL"; exit 0
fi
[ -f "$RUN/pid" ] && kill "$(cat "$RUN/pid")" 2>/dev/null || true
nohup python3 "$HERE/server.py" --port "$PORT" --db "$DB" \
    --pg-host "${PGHOST:-127.0.0.1}" --pg-port "${PGPORT:-5432}" --pg-user "${PGUSER:-postgres}" \
    < /dev/null > "$RUN/server.log" 2>&1 9>&- &
echo $! > "$RUN/pid"
for _ in $(seq 1 100); do
    if answers; then echo "$URL"; exit 0; fi
    kill -0 "$(cat "$RUN/pid")" 2>/dev/null || { tail -20 "$RUN/server.log" >&2; rm -f "$RUN/pid"; exit 1; }
    sleep 0.3
done
echo "start.sh: the Odoo test server did not answer in 30 s" >&2; exit 1

#!/usr/bin/env bash
# Starts a seeded Tryton server on 127.0.0.1 for ferry's tests (idempotent).
# Usage: start.sh PORT                  the seeded database; stdout: its URL
#        start.sh PORT --targets A,B   a fresh server whose databases A, B… are
#                                      copies of the empty target; stdout: the base URL
# Progress goes to stderr.
# Env: FERRY_TRYTON_HOME (default $HOME/.cache/ferry-h5-tryton), FERRY_TRYTON_PASSWORD (default admin)
#
# Two templates are built once (per version of these files):
#   ferrytest   the seeded data set (seed.py)
#   ferryempty  modules, company and accounts only (seed.py --setup-only): what an
#               administrator sets up before a migration loads anything
# Each start copies them into a new folder, so a database file is never overwritten
# while some server still has it open (SQLite would call it malformed). trytond
# only serves the databases named with -d at its start.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PORT=${1:?usage: start.sh PORT}
HOME_DIR=${FERRY_TRYTON_HOME:-$HOME/.cache/ferry-h5-tryton}
PASSWORD=${FERRY_TRYTON_PASSWORD:-admin}
DB=ferrytest
TARGETS=
if [ "${2:-}" = --targets ]; then
    TARGETS=${3:?usage: start.sh PORT --targets A,B}
    [[ $TARGETS =~ ^[A-Za-z0-9_]+(,[A-Za-z0-9_]+)*$ ]] || { echo "start.sh: bad names: $TARGETS" >&2; exit 2; }
    DB=${TARGETS%%,*}
fi
VENV=$("$HERE/venv.sh")
RUN=$HOME_DIR/run-$PORT
mkdir -p "$RUN"
exec 9>"$HOME_DIR/.start.lock"
flock -w 900 9
STAMP=$( (echo "templates-v2 scale ${FERRY_TRYTON_SEED_SCALE:-1}"; cat "$HERE/seed.py" "$HERE/requirements.txt") | sha256sum | cut -c1-16)
TEMPLATES=$HOME_DIR/templates-$STAMP
login() {
    curl -s --max-time 30 -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/$DB/rpc/" \
        -d "{\"id\":1,\"method\":\"common.db.login\",\"params\":[\"admin\",{\"password\":\"$PASSWORD\"},\"en\"]}" \
        | grep -q '"result"'
}
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
conf() { # conf FILE DBDIR
    printf '[database]\nuri = sqlite://\npath = %s\nlanguage = en\n[web]\nlisten = 127.0.0.1:%s\n[session]\ntimeout = 86400\n' \
        "$2" "$PORT" > "$1"
}

if [ -z "$TARGETS" ] && [ -f "$RUN/pid" ] && kill -0 "$(cat "$RUN/pid")" 2>/dev/null && login; then
    echo "http://127.0.0.1:$PORT/$DB"; exit 0
fi
# Our own server that no longer answers: stop it before its files go.
if [ -f "$RUN/pid" ]; then
    OLD=$(cat "$RUN/pid")
    kill "$OLD" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$OLD" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$OLD" 2>/dev/null || true
    rm -f "$RUN/pid"
fi
if port_taken; then
    echo "start.sh: 127.0.0.1:$PORT is taken by a process this harness did not start;" \
         "stop it or choose another port (FERRY_TRYTON_PORT)" >&2
    exit 1
fi

if [ ! -d "$TEMPLATES" ]; then
    echo "start.sh: building the database templates (about two minutes)" >&2
    BUILD=$HOME_DIR/build-$$
    rm -rf "$BUILD"; mkdir -p "$BUILD"
    conf "$BUILD/trytond.conf" "$BUILD"
    PF=$(mktemp); printf '%s\n' "$PASSWORD" > "$PF"
    for NAME in ferryempty $DB; do
        touch "$BUILD/$NAME.sqlite"
        TRYTONPASSFILE=$PF "$VENV/bin/trytond-admin" -c "$BUILD/trytond.conf" -d "$NAME" \
            -u party product sale purchase account_invoice stock --activate-dependencies \
            --email admin@example.com > "$BUILD/admin-$NAME.log" 2>&1 \
            || { rm -f "$PF"; tail -20 "$BUILD/admin-$NAME.log" >&2; exit 1; }
    done
    rm -f "$PF"
    "$VENV/bin/python" "$HERE/seed.py" "$BUILD/trytond.conf" ferryempty --setup-only >&2
    "$VENV/bin/python" "$HERE/seed.py" "$BUILD/trytond.conf" "$DB" >&2
    mkdir -p "$BUILD/out"
    mv "$BUILD/ferryempty.sqlite" "$BUILD/$DB.sqlite" "$BUILD/out/"
    mv "$BUILD/out" "$TEMPLATES"
    rm -rf "$BUILD"
fi

# The previous server is gone: its folders can go too.
rm -rf "$RUN"/db-*
DBDIR=$RUN/db-$(date +%s)-$$
mkdir -p "$DBDIR"
if [ -n "$TARGETS" ]; then
    for NAME in ${TARGETS//,/ }; do cp "$TEMPLATES/ferryempty.sqlite" "$DBDIR/$NAME.sqlite"; done
else
    cp "$TEMPLATES/$DB.sqlite" "$DBDIR/"
fi
conf "$RUN/trytond.conf" "$DBDIR"
# shellcheck disable=SC2086
nohup "$VENV/bin/trytond" -c "$RUN/trytond.conf" -d ${TARGETS//,/ } $([ -z "$TARGETS" ] && echo "$DB") < /dev/null > "$RUN/trytond.log" 2>&1 9>&- &
echo $! > "$RUN/pid"
for _ in $(seq 1 300); do
    if login; then
        if [ -n "$TARGETS" ]; then echo "http://127.0.0.1:$PORT"; else echo "http://127.0.0.1:$PORT/$DB"; fi
        exit 0
    fi
    kill -0 "$(cat "$RUN/pid")" 2>/dev/null || { tail -20 "$RUN/trytond.log" >&2; rm -f "$RUN/pid"; exit 1; }
    sleep 0.3
done
echo "start.sh: trytond did not answer in 90 s" >&2; exit 1

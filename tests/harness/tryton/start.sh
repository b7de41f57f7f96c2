#!/usr/bin/env bash
# Starts a seeded Tryton server on 127.0.0.1 for ferry's tests (idempotent).
# Usage: start.sh PORT      stdout: the server URL; progress on stderr.
# Env: FERRY_TRYTON_HOME (default $HOME/.cache/ferry-h5-tryton), FERRY_TRYTON_PASSWORD (default admin)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PORT=${1:?usage: start.sh PORT}
HOME_DIR=${FERRY_TRYTON_HOME:-$HOME/.cache/ferry-h5-tryton}
PASSWORD=${FERRY_TRYTON_PASSWORD:-admin}
DB=ferrytest
VENV=$("$HERE/venv.sh")
RUN=$HOME_DIR/run-$PORT
mkdir -p "$RUN" "$HOME_DIR/db"
exec 9>"$HOME_DIR/.start.lock"
flock -w 900 9
CONF=$RUN/trytond.conf
printf '[database]\nuri = sqlite://\npath = %s\nlanguage = en\n[web]\nlisten = 127.0.0.1:%s\n[session]\ntimeout = 86400\n' \
    "$HOME_DIR/db" "$PORT" > "$CONF"
STAMP=$(cat "$HERE/seed.py" "$HERE/requirements.txt" | sha256sum | cut -c1-16)
TEMPLATE=$HOME_DIR/db/template-$STAMP.sqlite
login() {
    curl -s --max-time 5 -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/$DB/rpc/" \
        -d "{\"id\":1,\"method\":\"common.db.login\",\"params\":[\"admin\",{\"password\":\"$PASSWORD\"},\"en\"]}" \
        | grep -q '"result"'
}
if [ -f "$RUN/pid" ] && kill -0 "$(cat "$RUN/pid")" 2>/dev/null && login; then
    echo "http://127.0.0.1:$PORT/$DB"; exit 0
fi
if [ ! -f "$TEMPLATE" ]; then
    echo "start.sh: building database template (about a minute)" >&2
    rm -f "$HOME_DIR/db/$DB.sqlite"
    touch "$HOME_DIR/db/$DB.sqlite"
    PF=$(mktemp); printf '%s\n' "$PASSWORD" > "$PF"
    TRYTONPASSFILE=$PF "$VENV/bin/trytond-admin" -c "$CONF" -d "$DB" \
        -u party product sale purchase account_invoice stock --activate-dependencies \
        --email admin@example.com > "$RUN/admin.log" 2>&1 || { rm -f "$PF"; tail -20 "$RUN/admin.log" >&2; exit 1; }
    rm -f "$PF"
    "$VENV/bin/python" "$HERE/seed.py" "$CONF" "$DB" >&2
    cp "$HOME_DIR/db/$DB.sqlite" "$TEMPLATE.tmp" && mv "$TEMPLATE.tmp" "$TEMPLATE"
fi
cp "$TEMPLATE" "$HOME_DIR/db/$DB.sqlite"
nohup "$VENV/bin/trytond" -c "$CONF" -d "$DB" < /dev/null > "$RUN/trytond.log" 2>&1 9>&- &
echo $! > "$RUN/pid"
for _ in $(seq 1 300); do
    if login; then echo "http://127.0.0.1:$PORT/$DB"; exit 0; fi
    kill -0 "$(cat "$RUN/pid")" 2>/dev/null || { tail -20 "$RUN/trytond.log" >&2; exit 1; }
    sleep 0.3
done
echo "start.sh: trytond did not answer in 90 s" >&2; exit 1

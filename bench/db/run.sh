#!/usr/bin/env bash
# Live databases -> Parquet on the ERP-like schema (schema_pg.sql / schema_mysql.sql):
# ferry vs ConnectorX (with and without partition_num) vs dlt sql_database (pyarrow
# backend) vs the raw binary COPY into /dev/null (PostgreSQL's physical limit); then
# MariaDB: ferry vs ConnectorX. Every tool reads the same four tables in one run.
#   bash bench/db/run.sh [LINES]        (default 5,000,000 order lines)
# Env: FERRY (release binary), VENV (peers: connectorx, dlt, pyarrow), WORK, SKIP_GEN=1.
set -euo pipefail
LINES=${1:-5000000}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FERRY=${FERRY:-$HOME/.cache/ferry-release/release/ferry}
VENV=${VENV:-$HOME/.cache/ferry-bench-dlt}
WORK=${WORK:-$(mktemp -d /tmp/ferry-bench-db.XXXXXX)}
DB=ferry_bench
M="python3 $ROOT/bench/measure.py --"
PG="postgresql://postgres@127.0.0.1:5432/$DB"
MY="mysql://root@127.0.0.1:3306/$DB"
results=$WORK/results.jsonl
: > "$results"
run() { # label command...
    local label=$1; shift
    rm -rf "$WORK/out"
    local r; r=$($M "$@")
    echo "$r" | python3 -c "import json,sys; r=json.load(sys.stdin); r['label']=sys.argv[1]; print(json.dumps(r))" "$label" | tee -a "$results"
}
if [ "${SKIP_GEN:-0}" != 1 ]; then
    echo "generating $LINES order lines in PostgreSQL and MariaDB" >&2
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
    psql -h 127.0.0.1 -U postgres -d $DB -q -v lines="$LINES" -f "$HERE/schema_pg.sql"
    mariadb -h 127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB CHARACTER SET utf8mb4"
    sed -e "s/@LINES@/$LINES/g" -e "s/@ORDERS@/$((LINES / 10))/g" \
        -e "s/@PRODUCTS@/$((LINES / 100))/g" -e "s/@PARTNERS@/$((LINES / 50))/g" "$HERE/schema_mysql.sql" \
        | mariadb -h 127.0.0.1 -uroot --default-character-set=utf8mb4 -D $DB
fi
TABLES="res_partner product sale_order sale_order_line"
echo "== PostgreSQL" >&2
copy_all="for t in $TABLES; do psql -h 127.0.0.1 -U postgres -d $DB -qAt -c \"COPY \$t TO STDOUT (FORMAT binary)\" > /dev/null; done"
run "pg: COPY binary to /dev/null" bash -c "$copy_all"
run "pg: ferry extract" "$FERRY" extract "$PG" --out "$WORK/out" --quiet
run "pg: ConnectorX" "$VENV/bin/python" "$HERE/peers.py" connectorx "$PG" "$WORK/out"
run "pg: ConnectorX partition_num=2" "$VENV/bin/python" "$HERE/peers.py" connectorx "$PG" "$WORK/out" 2
run "pg: dlt sql_database (pyarrow)" "$VENV/bin/python" "$HERE/peers.py" dlt "postgresql+psycopg2://postgres@127.0.0.1:5432/$DB" "$WORK/out"
echo "== MariaDB" >&2
run "mariadb: ferry extract" "$FERRY" extract "$MY" --out "$WORK/out" --quiet
run "mariadb: ConnectorX" "$VENV/bin/python" "$HERE/peers.py" connectorx "$MY" "$WORK/out"
run "mariadb: ConnectorX partition_num=2" "$VENV/bin/python" "$HERE/peers.py" connectorx "$MY" "$WORK/out" 2
python3 "$HERE/report.py" "$results" "$LINES" > "$ROOT/bench/results/db.md"
cp "$results" "$ROOT/bench/results/db.jsonl"
cat "$ROOT/bench/results/db.md"

#!/usr/bin/env bash
# Dump extraction benchmark on the ERP-like schema of bench/db (run bench/db/run.sh
# first, or SKIP_GEN=0 here to generate it): a real plain pg_dump of database
# ferry_bench, then
#   ferry:    ferry extract dump.sql --out … (all four tables to Parquet)
#   peer (a): DuckDB converting the same rows, exported as CSV, to Parquet
#   peer (b): psql restoring the dump into a fresh database, then ConnectorX reading
#             the four tables to Arrow and pyarrow writing Parquet
# Then the memory goal: a generated dump above 2 GB (gen_pg_dump.py) through ferry.
#   bash bench/dumps/run.sh [BIG_LINES]     (default 25,000,000 lines ≈ 2.3 GB)
set -euo pipefail
BIG_LINES=${1:-25000000}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FERRY=${FERRY:-$HOME/.cache/ferry-release/release/ferry}
VENV=${VENV:-$HOME/.cache/ferry-bench-dlt}
WORK=${WORK:-$(mktemp -d /tmp/ferry-bench-dumps.XXXXXX)}
DB=ferry_bench
M="python3 $ROOT/bench/measure.py --"
TABLES="res_partner product sale_order sale_order_line"
results=$WORK/results.jsonl
: > "$results"
run() { # label command...
    local label=$1; shift
    local r; r=$($M "$@")
    echo "$r" | python3 -c "import json,sys; r=json.load(sys.stdin); r['label']=sys.argv[1]; print(json.dumps(r))" "$label" | tee -a "$results"
}
if [ "${SKIP_GEN:-1}" != 1 ]; then
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
    psql -h 127.0.0.1 -U postgres -d $DB -q -v lines=5000000 -f "$ROOT/bench/db/schema_pg.sql"
fi
pg_dump -h 127.0.0.1 -U postgres -d $DB -f "$WORK/dump.sql"
for t in $TABLES; do
    psql -h 127.0.0.1 -U postgres -d $DB -qc "\\copy $t TO '$WORK/$t.csv' (FORMAT csv, HEADER)"
done
ROWS=$(for t in $TABLES; do psql -h 127.0.0.1 -U postgres -d $DB -Atc "SELECT count(*) FROM $t"; done | paste -sd+ | bc)
ls -l "$WORK"/dump.sql "$WORK"/*.csv >&2
run "ferry extract dump.sql" "$FERRY" extract "$WORK/dump.sql" --out "$WORK/ferry-out" --quiet
run "DuckDB CSV → Parquet" "$VENV/bin/python" -c "
import duckdb
for t in '$TABLES'.split():
    duckdb.sql(f\"COPY (SELECT * FROM read_csv('$WORK/{t}.csv', header=true)) TO '$WORK/duck-{t}.parquet' (FORMAT parquet, COMPRESSION zstd)\")
"
RESTORED=ferry_bench_restore
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $RESTORED" -c "CREATE DATABASE $RESTORED"
run "psql restore" psql -h 127.0.0.1 -U postgres -q -d $RESTORED -f "$WORK/dump.sql"
run "ConnectorX extract of the restored database" "$VENV/bin/python" "$ROOT/bench/db/peers.py" connectorx \
    "postgresql://postgres@127.0.0.1:5432/$RESTORED" "$WORK/cx-out"
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $RESTORED"
rm -f "$WORK"/*.csv
echo "generating a dump of $BIG_LINES order lines" >&2
python3 "$HERE/gen_pg_dump.py" "$BIG_LINES" "$WORK/big.sql" /dev/null
BIG_BYTES=$(stat -c %s "$WORK/big.sql")
run "ferry extract big.sql ($BIG_BYTES bytes)" "$FERRY" extract "$WORK/big.sql" --out "$WORK/big-out" --quiet
python3 - "$results" "$ROWS" "$BIG_LINES" "$BIG_BYTES" > "$ROOT/bench/results/dumps.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
n, big, big_bytes = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
by = {r["label"]: r for r in rows}
f = rows[0]
print(f"# pg_dump → Parquet: {n:,} rows in 4 tables (5,000,000 order lines), one run\n")
print("| step | exit | seconds | rows/s | peak RSS (MB) |")
print("| --- | --- | --- | --- | --- |")
for r in rows[:4]:
    print(f"| {r['label']} | {r['exit']} | {r['seconds']:.2f} | {n / r['seconds']:,.0f} | {r['peak_rss_mb']} |")
duck = rows[1]["seconds"]
restore = rows[2]["seconds"] + rows[3]["seconds"]
print(f"\nferry vs DuckDB CSV→Parquet: **{duck / f['seconds']:.2f}×** its speed (goal ≥ 1); "
      f"vs restore-then-extract ({restore:.1f} s): **{restore / f['seconds']:.1f}×** faster (goal ≥ 10).")
b = rows[4]
print(f"\nMemory: a generated dump of {big_bytes / 2**30:.2f} GiB ({big:,} order lines) extracted in "
      f"{b['seconds']:.1f} s with peak RSS **{b['peak_rss_mb']} MB** (goal < 200 MB), exit {b['exit']}.")
PY
cp "$results" "$ROOT/bench/results/dumps.jsonl"
cat "$ROOT/bench/results/dumps.md"
rm -rf "$WORK"

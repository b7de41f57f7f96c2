#!/usr/bin/env bash
# ferry reading a plain pg_dump vs DuckDB CSV->Parquet on the same rows vs
# restore-with-psql-then-extract-with-ConnectorX. Needs a release ferry, python3 with
# duckdb (and connectorx for peer b), and PostgreSQL on 127.0.0.1:5432.
#   bash bench/dumps/run.sh 5000000
set -euo pipefail
LINES=${1:-5000000}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${WORK:-$(mktemp -d)}
FERRY=${FERRY:-${CARGO_TARGET_DIR:-$ROOT/target}/release/ferry}
PY=${PY:-$HOME/.cache/ferry-test-venv/bin/python}
echo "work dir: $WORK" >&2
python3 "$HERE/gen_pg_dump.py" "$LINES" "$WORK/dump.sql" "$WORK/lines.csv"
ls -l "$WORK/dump.sql" "$WORK/lines.csv" >&2
M="python3 $ROOT/bench/measure.py --"
echo "ferry extract (all 4 tables):"
$M "$FERRY" extract "$WORK/dump.sql" --out "$WORK/ferry-out" --quiet
echo "duckdb CSV->Parquet (order lines only):"
$M "$PY" -c "import duckdb,sys; duckdb.sql(\"COPY (SELECT * FROM read_csv('$WORK/lines.csv', header=true)) TO '$WORK/duck.parquet' (FORMAT parquet, COMPRESSION zstd)\")"
if "$PY" -c "import connectorx" 2>/dev/null; then
  DB=ferry_bench_$$
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB"
  echo "psql restore:"
  $M psql -h 127.0.0.1 -U postgres -q -d "$DB" -f "$WORK/dump.sql"
  echo "connectorx extract (4 tables to Parquet):"
  $M "$PY" -c "
import connectorx as cx, pyarrow.parquet as pq
for t in ['res_partner','product_product','sale_order','sale_order_line']:
    pq.write_table(cx.read_sql('postgresql://postgres@127.0.0.1:5432/$DB', f'SELECT * FROM {t}', return_type='arrow'), '$WORK/cx-'+t+'.parquet')
"
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $DB"
else
  echo "connectorx not installed in $PY: peer (b) skipped" >&2
fi

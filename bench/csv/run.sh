#!/usr/bin/env bash
# CSV → Parquet: ferry vs DuckDB on the same generated ≥1 GiB file, one run each.
# Usage: bench/csv/run.sh [BYTES]   (results: bench/results/csv.json and .md)
set -euo pipefail
cd "$(dirname "$0")/../.."
bytes="${1:-1073741824}"
data=bench/data; mkdir -p "$data" bench/results
# A release build in its own folder, so it never locks the test build cache.
export CARGO_TARGET_DIR="${FERRY_RELEASE_DIR:-$HOME/.cache/ferry-release}"
cargo build --release -p ferry-cli >&2
ferry="$CARGO_TARGET_DIR/release/ferry"
venv="$HOME/.cache/ferry-bench-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import duckdb' 2>/dev/null || "$venv/bin/pip" install -q duckdb pyarrow
csv="$data/order_lines.csv"
if [ ! -f "$csv" ] || [ "$(stat -L -c %s "$csv")" -lt "$bytes" ]; then
  rows=$(python3 bench/csv/gen.py "$csv" "$bytes"); echo "generated $rows rows" >&2
fi
rm -rf "$data/ferry-out" "$data/duckdb.parquet"
f=$(python3 bench/measure.py -- "$ferry" extract "$csv" --out "$data/ferry-out" --quiet)
d=$(python3 bench/measure.py -- "$venv/bin/python" -c "import duckdb; duckdb.sql(\"COPY (SELECT * FROM read_csv('$csv')) TO '$data/duckdb.parquet' (FORMAT parquet)\")")
rows=$("$venv/bin/python" -c "import pyarrow.parquet as pq,glob; print(sum(pq.ParquetFile(p).metadata.num_rows for p in glob.glob('$data/ferry-out/order_lines/*.parquet')))")
python3 - "$f" "$d" "$rows" "$(stat -L -c %s "$csv")" <<'PY'
import json, sys
f, d, rows, size = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
res = {"csv_bytes": size, "rows": rows, "ferry": f, "duckdb": d,
       "ferry_rows_per_s": round(rows / f["seconds"]), "time_ratio_ferry_over_duckdb": round(f["seconds"] / d["seconds"], 2)}
json.dump(res, open("bench/results/csv.json", "w"), indent=2)
md = f"""# CSV → Parquet ({size / 2**30:.2f} GiB, {rows:,} rows), one run each

| tool | seconds | rows/s | peak RSS (MB) |
| --- | --- | --- | --- |
| ferry extract | {f['seconds']} | {rows / f['seconds']:,.0f} | {f['peak_rss_mb']} |
| DuckDB COPY … (FORMAT parquet) | {d['seconds']} | {rows / d['seconds']:,.0f} | {d['peak_rss_mb']} |

Time ratio ferry / DuckDB: **{f['seconds'] / d['seconds']:.2f}** (goal ≤ 2). Peak RSS goal: < 300 MB.
"""
open("bench/results/csv.md", "w").write(md)
print(md)
PY

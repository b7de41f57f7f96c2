#!/usr/bin/env bash
# API benchmark: RECORDS records from server.py (LATENCY ms added to every request), read by
#   1. ferry with its default concurrency, capped at RATE requests/s,
#   2. ferry with concurrency 1 (sequential paging),
#   3. dlt's rest_api source (PyPI, in the venv VENV) into DuckDB.
# Each run's wall time and peak RSS (../measure.py) and the server's own request counts
# (total, most started in any one-second window) go to bench/results/api.{md,jsonl}.
#   bash bench/api/run.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FERRY=${FERRY:-$HOME/.cache/ferry-release/release/ferry}
VENV=${VENV:-$HOME/.cache/ferry-bench-dlt}
PORT=${PORT:-8899}
RECORDS=${RECORDS:-100000}
LATENCY=${LATENCY:-20}
RATE=${RATE:-300}
WORK=$(mktemp -d /tmp/ferry-bench-api.XXXXXX)
python3 "$HERE/server.py" --port "$PORT" --records "$RECORDS" --latency-ms "$LATENCY" &
SERVER=$!
trap 'kill $SERVER; rm -rf "$WORK"' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/stats" >/dev/null && break; sleep 0.1; done
job() { # name http-table
    cat > "$WORK/$1.toml" <<TOML
[source]
kind = "rest"
description_file = "$HERE/items.yaml"
url = "http://127.0.0.1:$PORT/"
http = $2
[sink]
kind = "parquet"
path = "$WORK/out-$1"
TOML
    echo "$WORK/$1.toml"
}
results=$WORK/results.jsonl
run() { # label command...
    local label=$1; shift
    curl -sf "http://127.0.0.1:$PORT/reset" >/dev/null
    local r s
    r=$(python3 "$ROOT/bench/measure.py" -- "$@")
    s=$(curl -sf "http://127.0.0.1:$PORT/stats")
    python3 -c "import json,sys; r=json.loads(sys.argv[1]); r.update(label=sys.argv[2], server=json.loads(sys.argv[3])); print(json.dumps(r))" \
        "$r" "$label" "$s" | tee -a "$results"
}
run "ferry, default concurrency, at most $RATE requests/s" "$FERRY" run --quiet "$(job default "{ max_requests_per_second = $RATE }")"
run "ferry, concurrency 1" "$FERRY" run --quiet "$(job seq "{ max_concurrency = 1 }")"
run "dlt rest_api" "$VENV/bin/python" "$HERE/dlt_items.py" "$PORT" "$WORK/dlt"
python3 - "$results" "$RECORDS" "$LATENCY" "$RATE" > "$ROOT/bench/results/api.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
records, latency, rate = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
print(f"# REST API → Parquet: {records:,} records, 100 per page, {latency} ms added per request, one run\n")
print("| tool | exit | seconds | records/s | peak RSS (MB) | requests | most requests started in 1 s |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    print(f"| {r['label']} | {r['exit']} | {r['seconds']:.2f} | {records / r['seconds']:,.0f} | {r['peak_rss_mb']} | {r['server']['requests']} | {r['server']['max_per_second']} |")
f, s, d = rows[0]["seconds"], rows[1]["seconds"], rows[2]["seconds"]
print(f"\nferry default vs sequential: **{s / f:.1f}×** (goal ≥ 4); ferry vs dlt: **{d / f:.1f}×** (goal ≥ 10).")
print(f"Rate cap {rate}/s; the server saw at most {rows[0]['server']['max_per_second']} requests start in any one-second window.")
PY
cp "$results" "$ROOT/bench/results/api.jsonl"
cat "$ROOT/bench/results/api.md"

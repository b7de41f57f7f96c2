#!/usr/bin/env bash
# API benchmark: 100k records from server.py (20 ms per request), read by
#   1. ferry, default concurrency (8) and a rate limit of 100 requests/s,
#   2. ferry with concurrency 1,
#   3. dlt's rest_api source (pip install dlt[duckdb] in a venv under ~/.cache).
# Prints wall time, peak RSS (../measure.py) and the server's request counts.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
FERRY=${FERRY:-$HERE/../../target/release/ferry}
PORT=${PORT:-8899}
RECORDS=${RECORDS:-100000}
WORK=$(mktemp -d)
python3 "$HERE/server.py" --port "$PORT" --records "$RECORDS" --latency-ms 20 &
SERVER=$!
trap 'kill $SERVER; rm -rf "$WORK"' EXIT
sleep 1
job() { # concurrency rate
    cat > "$WORK/job-$1.toml" <<TOML
[source]
kind = "rest"
description_file = "$HERE/items.yaml"
url = "http://127.0.0.1:$PORT/"
http = { max_concurrency = $1, max_requests_per_second = $2 }
[sink]
kind = "parquet"
path = "$WORK/out-$1"
TOML
    echo "$WORK/job-$1.toml"
}
stats() { curl -s "http://127.0.0.1:$PORT/stats"; echo; }
echo "== ferry, concurrency 8, at most 100 requests/s"
python3 "$HERE/../measure.py" -- "$FERRY" run --quiet "$(job 8 100)"; stats
echo "== ferry, concurrency 1"
python3 "$HERE/../measure.py" -- "$FERRY" run --quiet "$(job 1 100)"; stats
VENV=$HOME/.cache/ferry-bench-dlt
[ -x "$VENV/bin/python" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet "dlt[duckdb]"; }
echo "== dlt rest_api"
python3 "$HERE/../measure.py" -- "$VENV/bin/python" "$HERE/dlt_items.py" "$PORT" "$WORK/dlt"; stats

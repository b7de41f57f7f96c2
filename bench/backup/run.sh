#!/usr/bin/env bash
# Incremental backups (issue 8): how long `ferry backup` takes when little or nothing
# changed, against the first (full) backup of the same source.
#   bash bench/backup/run.sh [LINES]     (default 5,000,000 order lines)
# Source: the ERP-like schema of bench/db (schema_pg.sql: partners, products, orders,
# order lines; integer keys, write_date timestamptz) in PostgreSQL database
# ferry_bench_backup. One job, cursor write_date on every table, four runs:
#   1 first backup (full)   2 nothing changed
#   3 1 % of the order lines changed, scattered (id % 100 = 0)
#   4 1 % changed, clustered (the most recent 1 %: id > LINES * 0.99)
# Each run is measured by bench/measure.py (wall time, peak RSS); the per-stream
# counts come from ferry's --json report. The changes are made (and vacuumed)
# between runs, outside the measured time.
# Writes bench/results/backup.md and backup.jsonl, then prints the md.
# Env: FERRY (default $HOME/.cache/ferry-target/debug/ferry, the debug build .ci/run
#      makes; point it at a release build for figures worth quoting), WORK (job, state,
#      backup folder; default a new /tmp/ferry-bench-backup.*), SKIP_GEN=1 (reuse the
#      database), WRITE_DATE_INDEX=1 (index write_date on every table first: the
#      schema has none, like Odoo's tables), KEEP_WORK=1 (keep the backup folder).
set -euo pipefail
LINES=${1:-5000000}
[[ $LINES =~ ^[0-9]+$ ]] && [ "$LINES" -ge 100 ] || { echo "run.sh: LINES must be a number >= 100" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FERRY=${FERRY:-$HOME/.cache/ferry-target/debug/ferry}
[ -x "$FERRY" ] || { echo "run.sh: no ferry binary at $FERRY (run .ci/run, or set FERRY)" >&2; exit 1; }
if [ -n "${WORK:-}" ]; then mkdir -p "$WORK"; MADE_WORK=0
else WORK=$(mktemp -d /tmp/ferry-bench-backup.XXXXXX); MADE_WORK=1; fi
DB=ferry_bench_backup
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
PSQL=(psql -XAtq -v ON_ERROR_STOP=1 -h 127.0.0.1 -p 5432 -U postgres)
JOB=$WORK/job.toml
BACKUP=$WORK/backup
results=$WORK/results.jsonl
: > "$results"
case "$FERRY" in
    */release/*) BUILD=release ;;
    */debug/*) BUILD=debug ;;
    *) BUILD=unknown ;;
esac

if [ "${SKIP_GEN:-0}" != 1 ]; then
    echo "generating $LINES order lines in PostgreSQL database $DB" >&2
    "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
    "${PSQL[@]}" -d $DB -v lines="$LINES" -f "$ROOT/bench/db/schema_pg.sql"
fi
if [ "${WRITE_DATE_INDEX:-0}" = 1 ]; then
    for t in res_partner product sale_order sale_order_line; do
        "${PSQL[@]}" -d $DB -c "CREATE INDEX IF NOT EXISTS ${t}_write_date ON $t (write_date)"
    done
fi
"${PSQL[@]}" -d $DB -c "VACUUM ANALYZE"

cat > "$JOB" <<TOML
streams = ["public.*"]
cursors = { "*" = "write_date" }

[source]
spec = "postgresql://postgres@127.0.0.1:5432/$DB"

[backup]
path = "$BACKUP"
TOML
# A new job: no backup folder, no incremental state.
rm -rf "$BACKUP" "$WORK/job.state.json" "$WORK/job.toml.state.json"

FAILED=0
run() { # run STEP LABEL EXPECTED_UPDATED_LINES
    local step=$1 label=$2 expected=$3 out=$WORK/report-$1.json err=$WORK/stderr-$1.log
    echo "== $step: $label" >&2
    # measure.py drops the command's stdout: the exec'd ferry writes its report to a file
    # (exec: the measured process is ferry itself, so its peak RSS is ferry's).
    local m; m=$(python3 "$ROOT/bench/measure.py" -- bash -c 'o=$0 e=$1; shift; exec "$@" > "$o" 2> "$e"' "$out" "$err" \
        "$FERRY" backup "$JOB" --json --quiet)
    local bytes; bytes=$(du -sb "$BACKUP" 2>/dev/null | cut -f1 || echo 0)
    python3 - "$m" "$step" "$label" "$expected" "$out" "$bytes" "$FERRY backup $JOB --json --quiet" "$results" <<'PY'
import json, sys
m, step, label, expected, out, size, cmd, results = sys.argv[1:]
r = json.loads(m)
r["cmd"] = cmd
try:
    report = json.load(open(out))
except (OSError, ValueError):
    report = None
line = {"step": int(step), "label": label, "expected_updated_lines": int(expected),
        **r, "backup_bytes": int(size or 0), "report": report}
with open(results, "a") as f:
    f.write(json.dumps(line) + "\n")
print(f"   exit {r['exit']}, {r['seconds']:.2f} s, peak RSS {r['peak_rss_mb']} MB", file=sys.stderr)
PY
    if [ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["exit"])' "$m")" != 0 ]; then
        echo "run.sh: step $step exited non-zero; its stderr:" >&2; tail -20 "$err" >&2
        FAILED=1
    fi
}
change() { # change SQL: between runs, not measured
    "${PSQL[@]}" -d $DB -c "$1" -c "VACUUM ANALYZE sale_order_line"
}

run 1 "first backup (full)" 0
run 2 "nothing changed" 0
change "UPDATE sale_order_line SET price_unit = price_unit + 1, write_date = now() WHERE id % 100 = 0"
run 3 "1 % of lines changed, scattered (id % 100 = 0)" $((LINES / 100))
change "UPDATE sale_order_line SET price_unit = price_unit + 1, write_date = now() WHERE id > $((LINES - LINES / 100))"
run 4 "1 % of lines changed, clustered (newest 1 %)" $((LINES / 100))

VERSION=$("$FERRY" --version 2>/dev/null | cut -d' ' -f2 || true)
python3 "$HERE/report.py" "$results" "$LINES" "$FERRY" "$BUILD" "${VERSION:-?}" > "$ROOT/bench/results/backup.md"
cp "$results" "$ROOT/bench/results/backup.jsonl"
if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work folder kept: $WORK" >&2
elif [ "$MADE_WORK" = 1 ]; then rm -rf "$WORK"
else rm -rf "$BACKUP"; fi
cat "$ROOT/bench/results/backup.md"
exit "$FAILED"

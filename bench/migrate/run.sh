#!/usr/bin/env bash
# Loading speed into Tryton: ferry's batches vs one record per call.
#
# The source is the tests' Tryton data set at 10x its size (FERRY_TRYTON_SEED_SCALE=10:
# 90 parties, 120 products, 50 sales, 30 purchases, 30 invoices with their lines and
# addresses), on its own server; the targets are two empty databases of a second
# server (company, currency and accounts only). `ferry migrate` runs the same job into
# each, once with batch_size = 50 and once with batch_size = 1, and the load step's
# own timing (report: load_seconds) is compared.
#
# Usage: bench/migrate/run.sh
# Env:   FERRY (default: the binary `.ci/run` builds, $HOME/.cache/ferry-target/debug/ferry;
#        the time goes to Tryton's side of each call, so the build profile hardly
#        matters), SCALE (default 10), SOURCE_PORT (8785), TARGET_PORT (8786)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SCALE=${SCALE:-10}
SOURCE_PORT=${SOURCE_PORT:-8785}
TARGET_PORT=${TARGET_PORT:-8786}
export FERRY_TRYTON_HOME=$HOME/.cache/ferry-bench-tryton
export FERRY_TRYTON_PASSWORD=bench-pw
FERRY=${FERRY:-$HOME/.cache/ferry-target/debug/ferry}
[ -x "$FERRY" ] || { echo "no ferry binary at $FERRY (run .ci/run or set FERRY)" >&2; exit 1; }
SRC=$(FERRY_TRYTON_SEED_SCALE=$SCALE "$ROOT/tests/harness/tryton/start.sh" "$SOURCE_PORT")
BASE=$(FERRY_TRYTON_SEED_SCALE=$SCALE "$ROOT/tests/harness/tryton/start.sh" "$TARGET_PORT" --targets bench_batch,bench_single)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
run() { # run NAME BATCH
    cat > "$WORK/$1.toml" <<TOML
[source]
kind = "tryton"
url = "${SRC/http:/tryton+http:}"
user = "admin"
password_env = "FERRY_TRYTON_PASSWORD"

[migrate]
from = "tryton"
streams = ["party.party", "party.address", "party.contact_mechanism", "party.identifier", "product.product", "product.template", "product.uom", "product.uom.category", "product.category", "currency.currency", "company.company", "country.country", "sale.sale", "sale.line", "purchase.purchase", "purchase.line", "account.invoice", "account.invoice.line", "account.account", "account.account.type"]
batch_size = $2

[target]
kind = "tryton"
url = "${BASE/http:/tryton+http:}/$1"
user = "admin"
password_env = "FERRY_TRYTON_PASSWORD"
TOML
    "$FERRY" migrate "$WORK/$1.toml" --json --quiet > "$WORK/$1.json"
    python3 - "$WORK/$1.json" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["migration"]
n = sum(l["created"] for l in r["loaded"])
print(f"batch_size={sys.argv[2]:>3}: {n} records in {r['load_seconds']:.2f} s = {n / r['load_seconds']:.1f} records/s, complete={r['complete']}")
PY
}
echo "ferry $("$FERRY" --version | cut -d' ' -f2), scale $SCALE, $(nproc) cores, $(date -u +%FT%TZ)"
run bench_batch 50
run bench_single 1
"$ROOT/tests/harness/tryton/stop.sh" "$SOURCE_PORT"
"$ROOT/tests/harness/tryton/stop.sh" "$TARGET_PORT"

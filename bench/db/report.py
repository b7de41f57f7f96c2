"""Turns the JSON lines of bench/db/run.sh into a Markdown table with ratios."""
import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
lines = int(sys.argv[2])
total = lines + lines // 50 + lines // 100 + lines // 10
by = {r["label"]: r for r in rows}
print(f"# Live database → Parquet, {total:,} rows in 4 tables ({lines:,} order lines), one run\n")
print("| tool | exit | seconds | rows/s | peak RSS (MB) | time vs ferry |")
print("| --- | --- | --- | --- | --- | --- |")
for r in rows:
    system = r["label"].split(":")[0]
    ferry = by.get(f"{system}: ferry extract")
    ratio = f"{r['seconds'] / ferry['seconds']:.2f}×" if ferry else ""
    print(f"| {r['label']} | {r['exit']} | {r['seconds']:.2f} | {total / r['seconds']:,.0f} | {r['peak_rss_mb']} | {ratio} |")
copy = by.get("pg: COPY binary to /dev/null")
ferry = by.get("pg: ferry extract")
if copy and ferry:
    print(f"\nferry reaches **{copy['seconds'] / ferry['seconds']:.2f}×** the raw binary COPY rate (goal ≥ 0.8).")

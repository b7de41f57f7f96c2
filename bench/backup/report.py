#!/usr/bin/env python3
"""Turns the JSON lines of bench/backup/run.sh into Markdown: one row per backup run
with its time against the first (full) run and the issue's goals, then ferry's
per-stream counts.

    python3 report.py RESULTS.jsonl LINES FERRY_PATH BUILD VERSION
"""
import datetime
import json
import os
import sys

GOALS = {2: 0.10, 3: 0.20, 4: 0.20}  # issue 8: unchanged < 10 % of the first; 1 % changed < 20 %


def mb(n):
    return f"{n / 1e6:,.1f}"


def main():
    path, lines, ferry, build, version = sys.argv[1:6]
    lines = int(lines)
    rows = [json.loads(l) for l in open(path) if l.strip()]
    total = lines + lines // 50 + lines // 100 + lines // 10
    first = next((r for r in rows if r["step"] == 1), None)
    print(f"# `ferry backup`: incremental runs on {total:,} rows in 4 tables ({lines:,} order lines), one run each\n")
    note = {
        "debug": "a **debug build** (dependencies optimised, as `.ci/run` builds it); a release build is faster, so the ratios matter more than the seconds",
        "release": "a release build",
    }.get(build, "a build of unknown profile")
    print(f"ferry {version} at `{ferry}`: {note}. PostgreSQL on the same machine, "
          f"{os.cpu_count()} cores, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. "
          f"Wall time and peak RSS by `bench/measure.py`; the changes are made between runs, outside the measured time.\n")
    print("| run | exit | seconds | vs first | goal | peak RSS (MB) | rows read | inserted | updated | deleted | order lines updated (expected) | backup size (MB) |")
    print("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    verdicts = []
    for r in rows:
        streams = (r.get("report") or {}).get("streams") or []
        s = lambda k: sum(x.get(k) or 0 for x in streams) if streams else None
        fmt = lambda v: "—" if v is None else f"{v:,}"
        ratio = goal = ""
        if first and first["exit"] == 0 and first["seconds"] > 0 and r["step"] != 1:
            q = r["seconds"] / first["seconds"]
            ratio = f"{q:.1%}"
            if r["step"] in GOALS:
                limit = GOALS[r["step"]]
                met = r["exit"] == 0 and q < limit
                goal = f"< {limit:.0%}: {'**met**' if met else '**missed**'}"
                verdicts.append(f"{r['label']}: {q:.1%} of the first run (goal < {limit:.0%}, {'met' if met else 'missed'})")
        lines_row = next((x for x in streams if x.get("name", "").endswith("sale_order_line")), None)
        upd = "—" if lines_row is None else f"{lines_row.get('updated', 0):,}"
        print(f"| {r['step']}. {r['label']} | {r['exit']} | {r['seconds']:.2f} | {ratio} | {goal} | {r['peak_rss_mb']} | "
              f"{fmt(s('rows_read'))} | {fmt(s('inserted'))} | {fmt(s('updated'))} | {fmt(s('deleted'))} | "
              f"{upd} ({r['expected_updated_lines']:,}) | {mb(r.get('backup_bytes', 0))} |")
    if verdicts:
        print("\n" + "\n".join(f"- {v}" for v in verdicts))
    print("\n## Per stream\n")
    print("| run | stream | status | rows read | inserted | updated | deleted | version | key scan | seconds |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for r in rows:
        rep = r.get("report")
        if not rep:
            print(f"| {r['step']} | (no JSON report: exit {r['exit']}) | | | | | | | | |")
            continue
        for x in rep.get("streams") or []:
            v = x.get("version")
            sec = x.get("seconds")
            print(f"| {r['step']} | {x.get('name')} | {x.get('status')} | {x.get('rows_read', 0):,} | {x.get('inserted', 0):,} | "
                  f"{x.get('updated', 0):,} | {x.get('deleted', 0):,} | {'—' if v is None else v} | "
                  f"{'yes' if x.get('key_scan') else 'no'} | {'' if sec is None else f'{sec:.2f}'} |")


if __name__ == "__main__":
    main()

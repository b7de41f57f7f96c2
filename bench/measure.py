#!/usr/bin/env python3
"""Runs a command and prints its wall time and peak RSS (of the process tree's largest
member, from wait4) as JSON. Used by every benchmark so peers are measured alike.

    python3 bench/measure.py -- ferry extract data.csv --out out/
"""
import json
import os
import subprocess
import sys
import time


def measure(cmd, env=None):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux.
    return {"cmd": " ".join(cmd), "exit": code, "seconds": round(wall, 3), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--":
        args = args[1:]
    print(json.dumps(measure(args)))

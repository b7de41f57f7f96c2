#!/usr/bin/env python3
"""Reads a Delta table with the `deltalake` package (delta-rs's Python binding, so
independent of ferry's own reader) and prints it as JSON lines, for tests that check
what ferry wrote. Tables with deletion vectors are read by the package's DataFusion
scan (pyarrow's dataset reader refuses them), the others by pyarrow.

    $HOME/.cache/ferry-h8-py/venv/bin/python tests/harness/s3/read_delta.py TABLE_URI \
        [--version N] [--endpoint http://127.0.0.1:PORT]

TABLE_URI: a local folder or s3://bucket/prefix/table. With --endpoint (start.sh's
server) the S3 options are set for it (key test/test, region us-east-1, plain HTTP);
without it deltalake takes them from the usual AWS_* environment variables.

Output, one JSON value per line:
  {"schema": [[name, type], ...]}   first; type is the Delta type as the table's log
                                    writes it: "long", "string", "decimal(16,2)",
                                    "timestamp", ... or an object for struct, array, map
  {"col": value, ...}               then one per row, keys in schema order, rows sorted
                                    by the tuple of their columns' JSON texts

Values: NULL -> null; decimal -> string with exactly the column's scale ("12.50");
timestamp -> ISO 8601 in UTC with its offset ("2024-03-01T00:00:01+00:00", with
".ffffff" only when there are microseconds); timestamp_ntz -> ISO 8601 without offset;
date -> "YYYY-MM-DD"; binary -> base64 string; float NaN/Infinity -> "NaN", "Infinity",
"-Infinity"; struct -> object; array -> list; map -> list of [key, value].
"""
import argparse
import base64
import datetime
import decimal
import json
import math
import sys


def plain(v):
    """A pyarrow Python value as a JSON-ready value (see the module doc)."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if isinstance(v, decimal.Decimal):
        return format(v, "f")  # keeps the scale's trailing zeros, never an exponent
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc)
        return v.isoformat()
    if isinstance(v, (datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, datetime.timedelta):
        return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, tuple):  # a map entry (key, value)
        return [plain(x) for x in v]
    if isinstance(v, list):
        return [plain(x) for x in v]
    raise TypeError(f"read_delta.py: no JSON form for {type(v).__name__}: {v!r}")


def text(v):
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def storage_options(endpoint):
    if not endpoint:
        return None
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true" if endpoint.startswith("http:") else "false",
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("table_uri")
    ap.add_argument("--version", type=int, help="read this version of the table (default: the latest)")
    ap.add_argument("--endpoint", help="S3 endpoint URL, e.g. http://127.0.0.1:PORT (start.sh's server)")
    a = ap.parse_args()
    from deltalake import DeltaTable

    try:
        dt = DeltaTable(a.table_uri, version=a.version, storage_options=storage_options(a.endpoint))
    except Exception as e:  # TableNotFoundError, a missing version, an unreachable endpoint
        sys.exit(f"read_delta.py: cannot open {a.table_uri}" + (f" version {a.version}" if a.version is not None else "") + f": {type(e).__name__}: {e}")
    fields = json.loads(dt.schema().to_json())["fields"]
    names = [f["name"] for f in fields]
    out = sys.stdout
    out.write(text({"schema": [[f["name"], f["type"]] for f in fields]}) + "\n")
    protocol = dt.protocol()
    if "deletionVectors" in (protocol.reader_features or []):
        # pyarrow's dataset reader refuses deletion vectors; delta-rs's own engine
        # (this package's build of it, not ferry's) applies them.
        import pyarrow

        batches = list(pyarrow.RecordBatchReader.from_stream(dt.scan(columns=names)))
    else:
        batches = dt.to_pyarrow_table(columns=names).to_batches()
    rows = []
    for batch in batches:
        cols = [batch.column(n).to_pylist() for n in names]
        for i in range(batch.num_rows):
            values = [plain(c[i]) for c in cols]
            rows.append(([text(v) for v in values], values))
    rows.sort(key=lambda r: r[0])
    for _, values in rows:
        out.write(text(dict(zip(names, values))) + "\n")


if __name__ == "__main__":
    main()

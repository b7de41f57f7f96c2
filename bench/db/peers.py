"""The peers of the database benchmark, one per invocation, each writing Parquet.

    peers.py connectorx URL OUT [PARTITIONS]   read_sql to Arrow, then Parquet
    peers.py dlt URL OUT                        dlt sql_database (pyarrow backend) to Parquet files
"""
import sys

TABLES = ["res_partner", "product", "sale_order", "sale_order_line"]


def connectorx(url, out, partitions=None):
    import os

    import connectorx as cx
    import pyarrow.parquet as pq

    os.makedirs(out, exist_ok=True)
    for t in TABLES:
        kw = {}
        if partitions:
            kw = {"partition_on": "id", "partition_num": int(partitions)}
        table = cx.read_sql(url, f"SELECT * FROM {t}", return_type="arrow", **kw)
        pq.write_table(table, f"{out}/{t}.parquet", compression="zstd")


def dlt_run(url, out):
    import dlt
    from dlt.sources.sql_database import sql_database

    source = sql_database(url, table_names=TABLES, backend="pyarrow")
    pipeline = dlt.pipeline(
        pipeline_name="ferry_bench_db",
        destination=dlt.destinations.filesystem(f"file://{out}"),
        pipelines_dir=f"{out}-pipelines",
        dataset_name="bench",
    )
    pipeline.run(source, loader_file_format="parquet")


if __name__ == "__main__":
    tool, url, out, *rest = sys.argv[1:]
    if tool == "connectorx":
        connectorx(url, out, *rest)
    elif tool == "dlt":
        dlt_run(url, out)
    else:
        sys.exit(f"unknown peer {tool}")

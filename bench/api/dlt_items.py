"""dlt's rest_api source on the benchmark server (offset paging, 100 per page) into DuckDB."""
import sys

import dlt
from dlt.sources.rest_api import rest_api_source

port, out = sys.argv[1], sys.argv[2]
source = rest_api_source({
    "client": {"base_url": f"http://127.0.0.1:{port}/"},
    "resources": [{
        "name": "items",
        "endpoint": {
            "path": "items",
            "data_selector": "data",
            "paginator": {"type": "offset", "limit": 100, "offset_param": "offset",
                          "limit_param": "limit", "total_path": "total"},
        },
    }],
})
pipeline = dlt.pipeline(pipeline_name="bench_items", destination=dlt.destinations.duckdb(f"{out}.duckdb"),
                        pipelines_dir=f"{out}-pipelines")
print(pipeline.run(source))

"""A REST test server for the API benchmark: N records, offset paging, added latency.

    python3 server.py --port 8899 --records 100000 --latency-ms 20

GET /items?offset=O&limit=L -> {"data": [...], "total": N}. Every answer waits
--latency-ms. The server counts requests and the largest number started in any
one-second window; GET /stats returns them as JSON, GET /reset zeroes them.
"""
import argparse
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.Lock()
STARTS = deque()
STATS = {"requests": 0, "max_per_second": 0}


def record(i):
    return {"id": i, "name": f"Customer {i} – Société", "amount": f"{i % 997}.{i % 100:02d}",
            "qty": (i % 13) + 0.5, "active": i % 7 != 0,
            "created": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00Z",
            "address": {"city": "Lyon", "zip": f"{69000 + i % 10}"}}


class Handler(BaseHTTPRequestHandler):
    # Keep-alive, as real APIs do (HTTP/1.0 would make every page a new connection).
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes: without this, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every keep-alive answer.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/stats":
            body = json.dumps(STATS).encode()
        elif url.path == "/reset":
            with LOCK:
                STATS.update(requests=0, max_per_second=0)
                STARTS.clear()
            body = b"{}"
        else:
            now = time.monotonic()
            with LOCK:
                STATS["requests"] += 1
                STARTS.append(now)
                while STARTS and now - STARTS[0] >= 1.0:
                    STARTS.popleft()
                STATS["max_per_second"] = max(STATS["max_per_second"], len(STARTS))
            q = parse_qs(url.query)
            offset = int(q.get("offset", ["0"])[0])
            limit = int(q.get("limit", ["100"])[0])
            time.sleep(ARGS.latency_ms / 1000)
            data = [record(i) for i in range(offset + 1, min(offset + limit, ARGS.records) + 1)]
            body = json.dumps({"data": data, "total": ARGS.records}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=8899)
    p.add_argument("--records", type=int, default=100000)
    p.add_argument("--latency-ms", type=float, default=20)
    ARGS = p.parse_args()
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128
    ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler).serve_forever()

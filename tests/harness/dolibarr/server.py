#!/usr/bin/env python3
"""A Dolibarr 20 REST API replaying the recorded answers of a real server.

    server.py SAMPLES_DIR [--port N] [--key KEY]

SAMPLES_DIR holds the recordings (`../shared/samples/dolibarr20/samples/*.json`: each
file has `endpoint` ("GET /api/index.php/thirdparties?limit=3"), `http_status` and
`response`). Python 3 standard library only. Prints the base URL
(`http://127.0.0.1:PORT/api/index.php`) on stdout once it listens, then serves until
killed.

How it answers, as the recorded server did:

- `DOLAPIKEY` (header, or `DOLAPIKEY=` in the query as Dolibarr also accepts) must be
  KEY: none gives the recorded "no key" 401, another key the recorded "bad key" 401.
- A GET whose path and query equal a recording's (parameter order aside) gets that
  recording's status and body, verbatim.
- Otherwise a list `GET /api/index.php/<resource>` is answered from the records the
  recordings hold for that resource: the union, by id, of every recorded 200 answer to
  a list or single-record GET of it (list answers win over single ones; answers cut
  down with `properties=` are left out, as they are not whole records). Dolibarr's
  query is `ORDER BY <sortfield> <sortorder> LIMIT limit OFFSET limit*page` with
  `limit` 100 and `page` 0 by default; `sortfield` must be `t.rowid` (the only order
  the records can be put in without the database); `pagination_data=true` wraps the
  page as `{"data": [...], "pagination": {...}}`. A page holding no record is HTTP 404
  with Dolibarr's error body (the recorded one for thirdparties; the same shape with
  the resource's name for the others), which is how the real server ends a list.
- `GET /api/index.php/<resource>/<id>` gives the record, or 404.
- `sqlfilters` other than a recorded query is refused with 501: the replay has no SQL.

The records are exactly what the real server sent; nothing is invented, so a test can
compute what a client must read from the same files, independently of this server.
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

PREFIX = "/api/index.php"


def load(samples):
    """(exact answers, records by resource, 401 bodies, 404 bodies)."""
    exact = {}
    lists = {}
    singles = {}
    errors = {}
    for name in sorted(os.listdir(samples)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(samples, name), encoding="utf-8") as f:
            rec = json.load(f)
        method, _, target = rec["endpoint"].partition(" ")
        if method != "GET":
            continue
        parts = urlsplit(target)
        path = unquote(parts.path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        status, body = rec["http_status"], rec["response"]
        note = rec.get("note") or ""
        if status == 401:
            errors["bad_key" if "wrong" in note else "no_key"] = body
            continue
        exact[(path, tuple(sorted(query)))] = (status, body)
        if status == 404 and "past the end" in note:
            errors["past_end"] = body
        if status != 200 or not path.startswith(PREFIX + "/"):
            continue
        if any(k == "properties" for k, _ in query):
            continue
        segments = path[len(PREFIX) + 1 :].split("/")
        if len(segments) == 1:
            items = body["data"] if isinstance(body, dict) and "data" in body else body
            if isinstance(items, list):
                for r in items:
                    lists.setdefault(segments[0], {}).setdefault(str(r["id"]), r)
        elif len(segments) == 2 and segments[1].isdigit() and isinstance(body, dict):
            singles.setdefault(segments[0], {}).setdefault(segments[1], body)
    records = {}
    for resource in set(lists) | set(singles):
        merged = dict(singles.get(resource, {}))
        merged.update(lists.get(resource, {}))
        records[resource] = [merged[k] for k in sorted(merged, key=int)]
    return exact, records, errors


def not_found(errors, resource, single):
    if resource == "thirdparties" and not single and "past_end" in errors:
        return errors["past_end"]
    what = resource.capitalize()
    return {
        "error": {"code": 404, "message": f"Not Found: {what} not found"},
        "debug": {"source": "replay", "stages": {"failure": ["call", "message"]}},
    }


class Handler(BaseHTTPRequestHandler):
    server_version = "Apache"
    sys_version = ""

    def log_message(self, fmt, *args):
        if os.environ.get("DOLIBARR_REPLAY_LOG"):
            sys.stderr.write("replay: " + fmt % args + "\n")

    def answer(self, status, body):
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # Clients that fetch pages ahead close them once they know where the end is.
            pass

    def do_GET(self):
        st = self.server.state
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        with st["lock"]:
            st["requests"] += 1
        key = self.headers.get("DOLAPIKEY")
        if key is None:
            key = next((v for k, v in query if k == "DOLAPIKEY"), None)
        query = [(k, v) for k, v in query if k != "DOLAPIKEY"]
        if key is None:
            return self.answer(401, st["errors"]["no_key"])
        if key != st["key"]:
            return self.answer(401, st["errors"]["bad_key"])
        hit = st["exact"].get((path, tuple(sorted(query))))
        if hit is not None:
            return self.answer(*hit)
        if not path.startswith(PREFIX + "/"):
            return self.answer(404, {"error": {"code": 404, "message": "Not Found"}})
        segments = path[len(PREFIX) + 1 :].split("/")
        resource = segments[0]
        records = st["records"].get(resource)
        if records is None:
            return self.answer(404, {"error": {"code": 404, "message": "Not Found"}})
        if len(segments) == 2:
            found = [r for r in records if str(r["id"]) == segments[1]]
            if found:
                return self.answer(200, found[0])
            return self.answer(404, not_found(st["errors"], resource, True))
        if len(segments) != 1:
            return self.answer(404, {"error": {"code": 404, "message": "Not Found"}})
        q = dict(query)
        if q.get("sqlfilters"):
            return self.answer(
                501,
                {"error": {"code": 501, "message": "replay: sqlfilters not recorded"}},
            )
        if q.get("sortfield", "t.rowid") != "t.rowid":
            return self.answer(
                501,
                {"error": {"code": 501, "message": "replay: only sortfield=t.rowid"}},
            )
        try:
            limit = int(q.get("limit", "100") or 100)
            page = int(q.get("page", "0") or 0)
        except ValueError:
            return self.answer(400, {"error": {"code": 400, "message": "Bad Request"}})
        ordered = records
        if q.get("sortorder", "ASC").upper() == "DESC":
            ordered = list(reversed(records))
        chunk = ordered[limit * page : limit * page + limit] if limit > 0 else ordered
        if not chunk:
            return self.answer(404, not_found(st["errors"], resource, False))
        if q.get("pagination_data") in ("true", "1"):
            total = len(records)
            pages = -(-total // limit) if limit > 0 else 1
            body = {
                "data": chunk,
                "pagination": {"total": total, "page": page, "page_count": pages, "limit": limit},
            }
            return self.answer(200, body)
        return self.answer(200, chunk)


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    samples = args[0]
    port = 0
    key = "doli-e2e-key"
    i = 1
    while i < len(args):
        if args[i] == "--port":
            port = int(args[i + 1])
            i += 2
        elif args[i] == "--key":
            key = args[i + 1]
            i += 2
        else:
            sys.exit(f"unknown argument {args[i]!r}")
    exact, records, errors = load(samples)
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    httpd.daemon_threads = True
    httpd.state = {
        "key": key,
        "exact": exact,
        "records": records,
        "errors": errors,
        "requests": 0,
        "lock": threading.Lock(),
    }
    print(f"http://127.0.0.1:{httpd.server_address[1]}{PREFIX}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

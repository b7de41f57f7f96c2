#!/usr/bin/env bash
# Starts a local S3-compatible server (moto in server mode) on 127.0.0.1:PORT for
# ferry's tests. Idempotent: a server this harness started on PORT that still answers
# is kept (with its buckets: tests use their own bucket names); one that no longer
# answers is stopped and replaced. moto keeps everything in memory only.
# Usage: start.sh PORT [--fresh]
#   --fresh: always stop this harness's server on PORT and start an empty one.
#   stdout: the endpoint URL (http://127.0.0.1:PORT); progress on stderr.
# Env: FERRY_S3_HOME (default $HOME/.cache/ferry-h8-py): the virtualenv (venv.sh), and
#      run-PORT/ with the pid file and server.log.
# Clients: any access key and secret (e.g. test/test), region us-east-1, path-style
# addressing, plain HTTP. Make a bucket with mkbucket.py or
# `curl -fsS -X PUT http://127.0.0.1:PORT/BUCKET`. Stop with stop.sh PORT.
# Safe to run concurrently for different ports.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PORT=${1:?usage: start.sh PORT [--fresh]}
FRESH=0
case "${2:-}" in
    "") ;;
    --fresh) FRESH=1 ;;
    *) echo "usage: start.sh PORT [--fresh]" >&2; exit 2 ;;
esac
[[ $PORT =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] \
    || { echo "start.sh: bad port $PORT" >&2; exit 2; }
HOME_DIR=${FERRY_S3_HOME:-$HOME/.cache/ferry-h8-py}
VENV=$(FERRY_S3_HOME=$HOME_DIR "$HERE/venv.sh")
RUN=$HOME_DIR/run-$PORT
mkdir -p "$RUN"
exec 9>"$RUN/.start.lock"
flock -w 120 9 || { echo "start.sh: another start.sh on port $PORT held its lock for 2 minutes" >&2; exit 1; }
URL="http://127.0.0.1:$PORT"
answers() { # moto answers GET / with a ListAllMyBuckets document
    curl -s --max-time 2 "$URL/" 2>/dev/null | grep -q ListAllMyBucketsResult
}
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

if [ "$FRESH" = 0 ] && [ -f "$RUN/pid" ] && kill -0 "$(cat "$RUN/pid")" 2>/dev/null && answers; then
    echo "$URL"; exit 0
fi
# Our own earlier server on this port that no longer answers (or --fresh): stop it and
# wait until it is gone.
if [ -f "$RUN/pid" ]; then
    OLD=$(cat "$RUN/pid")
    kill "$OLD" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$OLD" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$OLD" 2>/dev/null || true
    rm -f "$RUN/pid"
    for _ in $(seq 1 50); do port_taken || break; sleep 0.1; done
fi
if port_taken; then
    echo "start.sh: 127.0.0.1:$PORT is taken by a process this harness did not start;" \
         "stop it or choose another port" >&2
    exit 1
fi
nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" < /dev/null > "$RUN/server.log" 2>&1 9>&- &
echo $! > "$RUN/pid"
for _ in $(seq 1 150); do
    if answers; then echo "$URL"; exit 0; fi
    if ! kill -0 "$(cat "$RUN/pid")" 2>/dev/null; then
        echo "start.sh: moto_server exited before it answered on $URL; its log:" >&2
        tail -20 "$RUN/server.log" >&2; rm -f "$RUN/pid"; exit 1
    fi
    sleep 0.2
done
echo "start.sh: moto_server did not answer on $URL in 30 s (log: $RUN/server.log)" >&2
kill "$(cat "$RUN/pid")" 2>/dev/null || true
rm -f "$RUN/pid"
exit 1

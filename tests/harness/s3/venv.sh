#!/usr/bin/env bash
# Creates (once, under a lock) the virtualenv with moto, boto3, deltalake and pyarrow
# for ferry's S3 tests and prints its path. The installed versions go to
# $VENV/versions.txt. Safe to run concurrently (flock).
# Usage: venv.sh   (env FERRY_S3_HOME, default $HOME/.cache/ferry-h8-py)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HOME_DIR=${FERRY_S3_HOME:-$HOME/.cache/ferry-h8-py}
VENV=$HOME_DIR/venv
mkdir -p "$HOME_DIR"
STAMP=$(sha256sum "$HERE/requirements.txt" | cut -c1-16)
exec 9>"$HOME_DIR/.venv.lock"
flock -w 900 9 || { echo "venv.sh: another venv.sh held $HOME_DIR/.venv.lock for 15 minutes" >&2; exit 1; }
if [ ! -x "$VENV/bin/moto_server" ] || [ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$STAMP" ]; then
    echo "venv.sh: creating $VENV (moto, boto3, deltalake, pyarrow)" >&2
    rm -rf "$VENV"
    python3 -m venv "$VENV" >&2
    if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt" >&2; then
        echo "venv.sh: pip install failed; $VENV removed" >&2
        rm -rf "$VENV"; exit 1
    fi
    "$VENV/bin/python" -m pip freeze --disable-pip-version-check > "$VENV/versions.txt"
    echo "$STAMP" > "$VENV/.stamp"
fi
echo "$VENV"

#!/usr/bin/env bash
# Creates (once) the virtualenv with trytond for ferry's tests and prints its path.
# Usage: venv.sh   (env FERRY_TRYTON_HOME, default $HOME/.cache/ferry-h5-tryton)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HOME_DIR=${FERRY_TRYTON_HOME:-$HOME/.cache/ferry-h5-tryton}
VENV=$HOME_DIR/venv
mkdir -p "$HOME_DIR"
STAMP=$(sha256sum "$HERE/requirements.txt" | cut -c1-16)
exec 9>"$HOME_DIR/.venv.lock"
flock -w 900 9
if [ ! -x "$VENV/bin/trytond" ] || [ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$STAMP" ]; then
    rm -rf "$VENV"
    python3 -m venv "$VENV" >&2
    "$VENV/bin/python" -m pip install --quiet -r "$HERE/requirements.txt" >&2
    echo "$STAMP" > "$VENV/.stamp"
fi
echo "$VENV"

#!/usr/bin/env bash
# Runs the Google Python client suite against a freshly started emulator.
# VENV: virtualenv to create or reuse (default <repo>/target/venv).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../../../.." && pwd)"
VENV="${VENV:-$REPO/target/venv}"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import googleapiclient, google.oauth2, google_auth_httplib2, pytest" 2>/dev/null; then
  "$VENV/bin/pip" install --quiet -r "$HERE/requirements.txt"
fi

cargo build --quiet -p gcal-emulator --bin gcal-emulator --manifest-path "$REPO/Cargo.toml"
BIN="$TARGET_DIR/debug/gcal-emulator"

# shellcheck source=scripts/emulator.sh
. "$REPO/scripts/emulator.sh"
start_emulator "$BIN"
export EMULATOR_URL="$BASE"
echo "emulator at $EMULATOR_URL"
"$VENV/bin/python" -m pytest -q "$HERE/test_google_client.py" "$@"

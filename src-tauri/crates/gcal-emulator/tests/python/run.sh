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

OUT="$(mktemp)"
"$BIN" --port 0 >"$OUT" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -f "$OUT"' EXIT
for _ in $(seq 1 100); do
  if [ -s "$OUT" ]; then break; fi
  sleep 0.1
done
LINE="$(head -n 1 "$OUT")"
case "$LINE" in
  "listening on "*) ;;
  *) echo "emulator did not start: $LINE" >&2; exit 1 ;;
esac
export EMULATOR_URL="${LINE#listening on }"
echo "emulator at $EMULATOR_URL"
"$VENV/bin/python" -m pytest -q "$HERE/test_google_client.py" "$@"

#!/usr/bin/env bash
# Opens Bookline with sample appointments (`bookline demo`). Without a display it runs
# under Xvfb, says so, and saves a screenshot of the virtual screen so the run is visible.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

cargo build -p bookline
app="${CARGO_TARGET_DIR:-$ROOT/target}/debug/bookline"

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$app" demo "$@"
fi

mkdir -p target
shot="$ROOT/target/demo-screenshot.png"
echo "No display found (\$DISPLAY is empty): running Bookline under Xvfb, a virtual screen."
echo "A screenshot of it will be saved to $shot in a few seconds. Stop with Ctrl-C."
xvfb-run -a -s "-screen 0 1366x900x24" bash -c '
  app=$1 shot=$2
  shift 2
  "$app" demo "$@" &
  pid=$!
  trap "kill $pid 2>/dev/null" INT TERM
  sleep 6
  if kill -0 "$pid" 2>/dev/null && import -window root "$shot"; then
    echo "Screenshot saved: $shot"
  fi
  wait "$pid"
' bash "$app" "$shot" "$@"

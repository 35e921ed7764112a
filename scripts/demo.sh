#!/usr/bin/env bash
# Opens Bookline. With no Google OAuth client configured (BOOKLINE_GOOGLE_CLIENT_ID unset
# and no google-client.json in the data dir) it is `bookline demo`: the built-in Google
# emulator with demo data and sample appointments; with a client, the normal app.
# Without a display it runs under Xvfb, says so, and saves a screenshot of the virtual
# screen so the run is visible.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

cargo build -p bookline
app="${CARGO_TARGET_DIR:-$ROOT/target}/debug/bookline"

# The same default data dir as the app (paths::data_dir).
if [ -n "${BOOKLINE_DATA_DIR:-}" ]; then
  data_dir=$BOOKLINE_DATA_DIR
elif [ "$(uname)" = Darwin ]; then
  data_dir="$HOME/Library/Application Support/bookline"
else
  data_dir="${XDG_DATA_HOME:-$HOME/.local/share}/bookline"
fi
if [ -n "${BOOKLINE_GOOGLE_CLIENT_ID:-}" ] || [ -f "$data_dir/google-client.json" ]; then
  echo "A Google OAuth client is configured: opening Bookline on your data in $data_dir."
  mode=()
else
  echo "No Google OAuth client configured: opening the demo (built-in Google emulator)."
  mode=(demo)
fi

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$app" "${mode[@]}" "$@"
fi

mkdir -p target
shot="$ROOT/target/demo-screenshot.png"
echo "No display found (\$DISPLAY is empty): running Bookline under Xvfb, a virtual screen."
echo "A screenshot of it will be saved to $shot in a few seconds. Stop with Ctrl-C."
# A session bus of its own when there is none, and on it a minimal desktop with a system
# tray (scripts/desktop-session.sh), so the screenshot shows the tray icon too.
session=()
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then session=(dbus-run-session --); fi
"${session[@]}" xvfb-run -a -s "-screen 0 1366x900x24" bash -c '
  app=$1 shot=$2 root=$3
  shift 3
  if command -v xfce4-panel >/dev/null && command -v openbox >/dev/null; then
    . "$root/scripts/desktop-session.sh"
    DESKTOP_LOG_DIR="$root/target/demo-desktop" start_desktop || echo "(no tray: the desktop did not start)"
  fi
  "$app" "$@" &
  pid=$!
  trap "kill $pid 2>/dev/null" INT TERM
  sleep 6
  if kill -0 "$pid" 2>/dev/null && import -window root "$shot"; then
    echo "Screenshot saved: $shot"
  fi
  wait "$pid"
' bash "$app" "$shot" "$ROOT" "${mode[@]}" "$@"

#!/usr/bin/env bash
# A real screenshot of Bookline's tray icon with its menu open, under Xvfb with a minimal
# desktop (openbox + xfce4-panel's system tray, see desktop-session.sh): the demo connects
# to its built-in Google emulator, syncs, the window is closed to the tray, and the tray
# icon is right-clicked with xdotool. Writes docs/tray-menu.png (or the path given); then
# the emulator revokes the grant: docs/tray-notification.png shows the notification and the
# needs-attention icon, docs/tray-attention.png the menu then. The menus also as
# *-screen.png, the whole screen.
#   scripts/tray-screenshot.sh [OUT.png]        BOOKLINE_APP=path/to/bookline to skip the build
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(realpath -m "${1:-$ROOT/docs/tray-menu.png}")
say() { printf '\033[1mtray-screenshot:\033[0m %s\n' "$*"; }

if [ -z "${BOOKLINE_TRAY_SESSION:-}" ]; then
  need=(xvfb xauth dbus-x11 gnome-keyring openbox xfce4-panel wmctrl xdotool notification-daemon imagemagick x11-xserver-utils)
  missing=()
  for pkg in "${need[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    say "installing ${missing[*]}"
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  fi
  if [ -z "${BOOKLINE_APP:-}" ]; then
    (cd "$ROOT" && cargo build -p bookline)
    BOOKLINE_APP="${CARGO_TARGET_DIR:-$ROOT/target}/debug/bookline"
  fi
  export BOOKLINE_APP OUT
  # Its own session bus (keyring, tray, notifications) and its own virtual screen.
  exec dbus-run-session -- env BOOKLINE_TRAY_SESSION=1 \
    xvfb-run -a -s "-screen 0 1024x600x24" "$0" "$OUT"
fi

work=$(mktemp -d)
# The keyring daemon outlives the script by a moment and may still hold files in $work.
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work" 2>/dev/null || true' EXIT
export XDG_DATA_HOME="$work/xdg-data" HOME="$work/home"
mkdir -p "$XDG_DATA_HOME" "$HOME"
# shellcheck source=keyring-session.sh
. "$ROOT/scripts/keyring-session.sh"
start_throwaway_keyring bookline-demo "$XDG_DATA_HOME"
# shellcheck source=desktop-session.sh
. "$ROOT/scripts/desktop-session.sh"
DESKTOP_LOG_DIR="$work/desktop" start_desktop
xsetroot -solid "#35556f"

data="$work/data"
say "connecting the demo account (built-in emulator, automatic consent)"
"$BOOKLINE_APP" demo --headless --data-dir "$data" >/dev/null
# A 2 s poll, so the revoked grant below is noticed at once.
BOOKLINE_POLL_INTERVAL_MS=2000 BOOKLINE_LOG="info,bookline_core::runtime=debug" \
  "$BOOKLINE_APP" demo --data-dir "$data" >"$work/app.out" 2>&1 &
app=$!

wait_log() {
  for _ in $(seq 600); do
    grep -qs "$1" "$data"/logs/* && return 0
    kill -0 "$app" 2>/dev/null || { say "the app exited"; cat "$work/app.out"; return 1; }
    sleep 0.1
  done
  say "gave up waiting for '$1' in the log"
  return 1
}
wait_log "window loaded after"
wait_log "sync pass"
# Closed the way a user closes it: the window manager's close (WM_DELETE_WINDOW).
wmctrl -c "Bookline"
sleep 1
# The system tray is the panel's last item, at the top right corner of the screen.
read -r width _ < <(xdotool getdisplaygeometry)
xdotool mousemove $((width - 15)) 15 click 3
sleep 2
# The whole screen (the window is gone: closed to the tray), and the corner with the menu.
import -window root "${OUT%.png}-screen.png"
convert "${OUT%.png}-screen.png" -crop 420x190+$((width - 420))+0 +repage "$OUT"
say "saved $OUT and ${OUT%.png}-screen.png"

# Google revokes the grant: the icon turns to needs-attention, the status line says what
# to do, and the notification daemon shows the notification.
xdotool key Escape
xdotool mousemove 200 400   # no tooltip over the tray
sleep 1
base=$(grep -o 'demo emulator listening url="[^"]*"' "$data"/logs/* | head -n1 | sed 's/.*url="//; s/"$//')
curl -fsS -X POST "$base/_emulator/faults" -H 'content-type: application/json' \
  -d '{"revoke_grants_for": ["demo@example.com"]}' >/dev/null
curl -fsS -X POST "$base/_emulator/tokens" -H 'content-type: application/json' \
  -d '{"expire_now": true}' >/dev/null
wait_log "state=Attention"
sleep 1
notice="$(dirname "$OUT")/tray-notification.png"
import -window root "$work/notice.png"
convert "$work/notice.png" -crop 420x190+$((width - 420))+0 +repage "$notice"
say "saved $notice"
xdotool mousemove $((width - 15)) 15 click 3
sleep 2
attention="$(dirname "$OUT")/tray-attention.png"
import -window root "${attention%.png}-screen.png"
convert "${attention%.png}-screen.png" -crop 420x190+$((width - 420))+0 +repage "$attention"
say "saved $attention and ${attention%.png}-screen.png"

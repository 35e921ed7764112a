#!/usr/bin/env bash
# Idle cost of the tray app: the real app (window closed to the tray), connected to the
# Google emulator, with a shortened poll clock, left alone for a while. Prints the passes
# it ran, the Calendar API requests the emulator saw (the claim: one events.list per
# calendar per poll, nothing else), the CPU time of the app and its WebKit processes, and
# the resident memory of all its processes at the end (in the tray).
#   scripts/idle.sh [SECONDS=600] [POLL_MS=2000]      BOOKLINE_APP=path/to/bookline to skip the build
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${1:-600}
POLL_MS=${2:-2000}
say() { printf '\033[1midle:\033[0m %s\n' "$*"; }

if [ -z "${BOOKLINE_IDLE_SESSION:-}" ]; then
  if [ -z "${BOOKLINE_APP:-}" ]; then
    (cd "$ROOT" && cargo build -p bookline)
    BOOKLINE_APP="${CARGO_TARGET_DIR:-$ROOT/target}/debug/bookline"
  fi
  export BOOKLINE_APP
  exec dbus-run-session -- env BOOKLINE_IDLE_SESSION=1 \
    xvfb-run -a -s "-screen 0 1280x800x24" "$0" "$DURATION" "$POLL_MS"
fi

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work" 2>/dev/null || true' EXIT
export XDG_DATA_HOME="$work/xdg-data" HOME="$work/home"
mkdir -p "$XDG_DATA_HOME" "$HOME"
# shellcheck source=keyring-session.sh
. "$ROOT/scripts/keyring-session.sh"
start_throwaway_keyring bookline-idle "$XDG_DATA_HOME"
# shellcheck source=desktop-session.sh
. "$ROOT/scripts/desktop-session.sh"
DESKTOP_LOG_DIR="$work/desktop" start_desktop

# The emulator in a process of its own, so its work is not counted as the app's.
"$BOOKLINE_APP" emulator --port 0 --seed-demo >"$work/emulator.out" 2>&1 &
for _ in $(seq 300); do
  base=$(sed -n 's/^listening on //p' "$work/emulator.out")
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { say "the emulator did not start"; cat "$work/emulator.out"; exit 1; }
curl -fsS -X POST "$base/_emulator/consent" -d '{"auto":"allow"}' >/dev/null

data="$work/data"
export BOOKLINE_GOOGLE_BASE_URL=$base
export BOOKLINE_GOOGLE_CLIENT_ID=bookline-idle.apps.googleusercontent.com
export BOOKLINE_GOOGLE_CLIENT_SECRET=bookline-idle-secret
# Connect With Google, the script playing the browser (the emulator consents at once).
"$BOOKLINE_APP" --data-dir "$data" connect --no-browser >"$work/connect.out" 2>&1 &
connect=$!
for _ in $(seq 300); do
  url=$(sed -n 's/^Open this URL: //p' "$work/connect.out")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { say "connect printed no URL"; cat "$work/connect.out"; exit 1; }
curl -sSL --max-time 30 -o /dev/null "$url"
wait "$connect" || { say "connect failed"; cat "$work/connect.out"; exit 1; }
BOOKLINE_POLL_INTERVAL_MS=$POLL_MS BOOKLINE_LOG="info,bookline_core::runtime=debug" \
  "$BOOKLINE_APP" --data-dir "$data" >"$work/app.out" 2>&1 &
app=$!

passes() { cat "$data"/logs/* 2>/dev/null | grep -c "sync pass" || true; }
for _ in $(seq 600); do
  [ "$(passes)" -ge 2 ] && break
  kill -0 "$app" 2>/dev/null || { say "the app exited"; cat "$work/app.out"; exit 1; }
  sleep 0.1
done
if [ "$(passes)" -lt 2 ]; then
  say "no sync passes after 60 s; the app's log:"
  cat "$data"/logs/* "$work/app.out"
  exit 1
fi
wmctrl -c Bookline   # to the tray, as a user leaves it

# The app and everything it started (WebKit's web and network processes).
tree() {
  local pids=$1 next=$1
  while [ -n "$next" ]; do
    next=$(for p in $next; do cat /proc/"$p"/task/*/children 2>/dev/null; done | tr '\n' ' ' | xargs)
    pids="$pids $next"
  done
  echo "$pids"
}
ticks() {
  local sum=0
  for p in $(tree "$app"); do
    [ -r /proc/"$p"/stat ] || continue
    # utime + stime: fields 14 and 15, counted after the ")" closing the command name.
    sum=$((sum + $(sed 's/.*) //' /proc/"$p"/stat | awk '{print $12 + $13}')))
  done
  echo "$sum"
}

# A consistent start: no pass is logged while the stats are reset. (A pass whose request
# came just before the reset and its log line just after would count one pass too many:
# a chance of about pass time / poll interval, well under 1 %. The end-to-end test
# brackets its count with Pause instead, which is exact.)
while :; do
  p0=$(passes)
  curl -fsS -X POST "$base/_emulator/stats/reset" >/dev/null
  [ "$(passes)" = "$p0" ] && break
done
t0=$(ticks)
s0=$(date +%s.%N)
say "idle for ${DURATION}s with a ${POLL_MS} ms poll (pid $app: $(tree "$app" | wc -w) processes)"
sleep "$DURATION"
while :; do
  p1=$(passes)
  curl -fsS "$base/_emulator/stats" >"$work/stats.json"
  [ "$(passes)" = "$p1" ] && break
done
t1=$(ticks)
s1=$(date +%s.%N)
for p in $(tree "$app"); do
  [ -r /proc/"$p"/stat ] || continue
  say "  $(tr '\0' ' ' </proc/"$p"/cmdline | cut -c1-60): $(sed 's/.*) //' /proc/"$p"/stat | awk '{print $12 + $13}') ticks since start"
done
# What the app costs in memory while it waits in the tray (issue 19): every process of its
# tree (WebKit's would be counted too; closing the window ended them), and the private part.
rss=0 anon=0
for p in $(tree "$app"); do
  rss=$((rss + $(awk '/^VmRSS/ {print $2}' /proc/"$p"/status 2>/dev/null || echo 0)))
  anon=$((anon + $(awk '/^RssAnon/ {print $2}' /proc/"$p"/status 2>/dev/null || echo 0)))
done
echo "in the tray: $((rss / 1024)) MiB resident, all $(tree "$app" | wc -w) processes ($((anon / 1024)) MiB private/anon)"
hz=$(getconf CLK_TCK)
python3 - "$work/stats.json" "$((p1 - p0))" "$((t1 - t0))" "$hz" "$s0" "$s1" <<'PY'
import json, sys
stats = json.load(open(sys.argv[1]))
passes, ticks, hz = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
wall = float(sys.argv[6]) - float(sys.argv[5])
cpu = ticks / hz
lists = stats["by_route"].get("events.list", 0)
print(f"wall {wall:.1f} s, passes {passes}, requests {stats['total']} {stats['by_route']}")
print(f"events.list {lists} = passes {passes} x 1 calendar: {'yes' if lists == passes else 'NO'}")
print(f"CPU {cpu:.2f} s of {wall:.0f} s = {100 * cpu / wall:.3f} % (app + WebKit processes)")
PY

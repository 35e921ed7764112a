#!/usr/bin/env bash
# What Bookline costs in the tray (issue 19): the real app on a minimal desktop, connected
# to the Google emulator (a process of its own, not counted), with a shortened poll clock.
# Prints the resident memory of ALL Bookline processes — the app and everything it started
# (the window process and its WebKit web and network processes), summed over its process
# tree — at each step:
#   window open (empty) → closed to the tray → a 10,000-event import from Google while in
#   the tray → an hour's worth of idle polls → reopened (time from the request to the
#   first list paint, and from a second start) → 20 open/close cycles.
# Then the same app with BOOKLINE_KEEP_WINDOW=1 (closing only hides the window, as before
# issue 19: the window process stays, hidden) on the same 10,000 appointments: the
# "before" figure of the same run; and started at login (never opened). In the tray it
# also prints where each process's memory is, mapping by mapping.
#   scripts/tray-bench.sh [--debug]     BOOKLINE_APP=path/to/bookline to skip the build
# Env: EVENTS (10000), POLL_MS (500), POLLS (120: an hour at a 30 s poll), CYCLES (20).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EVENTS=${EVENTS:-10000}
POLL_MS=${POLL_MS:-500}
POLLS=${POLLS:-120}
CYCLES=${CYCLES:-20}
say() { printf '\033[1mtray-bench:\033[0m %s\n' "$*"; }

if [ -z "${BOOKLINE_TRAY_BENCH_SESSION:-}" ]; then
  if [ -z "${BOOKLINE_APP:-}" ]; then
    profile=release
    if [ "${1:-}" = "--debug" ]; then
      profile=debug
      (cd "$ROOT" && cargo build -p bookline)
    else
      (cd "$ROOT" && cargo build --release -p bookline)
    fi
    BOOKLINE_APP="${CARGO_TARGET_DIR:-$ROOT/target}/$profile/bookline"
  fi
  export BOOKLINE_APP EVENTS POLL_MS POLLS CYCLES
  exec dbus-run-session -- env BOOKLINE_TRAY_BENCH_SESSION=1 \
    xvfb-run -a -s "-screen 0 1366x900x24" "$0"
fi

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; sleep 0.5; rm -rf "$work" 2>/dev/null || true' EXIT
export XDG_DATA_HOME="$work/xdg-data" HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
mkdir -p "$XDG_DATA_HOME" "$HOME"
# shellcheck source=keyring-session.sh
. "$ROOT/scripts/keyring-session.sh"
start_throwaway_keyring bookline-tray-bench "$XDG_DATA_HOME"
# shellcheck source=desktop-session.sh
. "$ROOT/scripts/desktop-session.sh"
DESKTOP_LOG_DIR="$work/desktop" start_desktop

"$BOOKLINE_APP" emulator --port 0 >"$work/emulator.out" 2>&1 &
for _ in $(seq 300); do
  base=$(sed -n 's/^listening on //p' "$work/emulator.out" 2>/dev/null || true)
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { say "the emulator did not start"; cat "$work/emulator.out"; exit 1; }
email=tray-bench@example.com
curl -fsS -X POST "$base/_emulator/accounts" -d "{\"email\":\"$email\"}" >/dev/null
curl -fsS -X POST "$base/_emulator/consent" -d '{"auto":"allow"}' >/dev/null

data="$work/data"
export BOOKLINE_GOOGLE_BASE_URL=$base
export BOOKLINE_GOOGLE_CLIENT_ID=bookline-tray-bench.apps.googleusercontent.com
export BOOKLINE_GOOGLE_CLIENT_SECRET=bookline-tray-bench-secret
export BOOKLINE_POLL_INTERVAL_MS=$POLL_MS BOOKLINE_LOG="info,bookline_core::runtime=debug"
"$BOOKLINE_APP" --data-dir "$data" connect --no-browser >"$work/connect.out" 2>&1 &
connect=$!
for _ in $(seq 300); do
  url=$(sed -n 's/^Open this URL: //p' "$work/connect.out" 2>/dev/null || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { say "connect printed no URL"; cat "$work/connect.out"; exit 1; }
curl -sSL --max-time 30 -o /dev/null "$url"
wait "$connect" || { say "connect failed"; cat "$work/connect.out"; exit 1; }

log() { cat "$data"/logs/bookline.*.log 2>/dev/null; }
count() { log | grep -c "$1" || true; }
# The app and everything it started, however deep (bwrap, WebKit's processes).
tree() {
  local pids=$1 next=$1
  while [ -n "$next" ]; do
    next=$(for p in $next; do cat /proc/"$p"/task/*/children 2>/dev/null; done | tr '\n' ' ' | xargs)
    pids="$pids $next"
  done
  echo "$pids"
}
rss_kib() {
  local sum=0 p kb
  for p in $(tree "$1"); do
    kb=$(awk '/VmRSS/ {print $2}' /proc/"$p"/status 2>/dev/null || true)
    sum=$((sum + ${kb:-0}))
  done
  echo "$sum"
}
# The private part (heap, stacks): what the processes cost beyond shared library pages,
# which RSS also counts and the kernel can drop and reread.
anon_kib() {
  local sum=0 p kb
  for p in $(tree "$1"); do
    kb=$(awk '/RssAnon/ {print $2}' /proc/"$p"/status 2>/dev/null || true)
    sum=$((sum + ${kb:-0}))
  done
  echo "$sum"
}
webkit_count() {
  local n=0 p
  for p in $(tree "$1"); do
    grep -qs WebKit /proc/"$p"/comm && n=$((n + 1))
  done
  echo "$n"
}
mib() { echo $(( $1 / 1024 )); }
# Where the resident memory of each process of the tree is, by mapping (/proc/PID/smaps):
# the binary, each library's file pages (shared with other programs, dropped and reread by
# the kernel under pressure), heap and anonymous memory (private), shared buffers.
breakdown() { # PID [TOP]
  python3 - "${2:-12}" $(tree "$1") <<'PY'
import collections, sys
top = int(sys.argv[1])
for pid in sys.argv[2:]:
    try:
        comm = open(f"/proc/{pid}/comm").read().strip()
        lines = open(f"/proc/{pid}/smaps").read().splitlines()
    except OSError:
        continue
    by, name = collections.defaultdict(collections.Counter), None
    for line in lines:
        f = line.split()
        if f and "-" in f[0] and not f[0].endswith(":"):
            name = f[5] if len(f) > 5 else "[anon]"
            if name.startswith("/memfd:"):
                name = "memfd (shared buffers)"
        elif f and f[0] in ("Rss:", "Anonymous:"):
            by[name][f[0][:-1]] += int(f[1])
    total = sum(by.values(), collections.Counter())
    print(f"    pid {pid} {comm}: {total['Rss'] // 1024} MiB resident, "
          f"{total['Anonymous'] // 1024} MiB anon, {(total['Rss'] - total['Anonymous']) // 1024} MiB file/shared")
    for mapping, c in sorted(by.items(), key=lambda kv: -kv[1]["Rss"])[:top]:
        print(f"      {c['Rss'] / 1024:6.1f} MiB (anon {c['Anonymous'] / 1024:5.1f})  {mapping}")
PY
}
wait_for() { # WHAT SECONDS COMMAND...
  local what=$1 secs=$2
  shift 2
  for _ in $(seq $((secs * 10))); do
    "$@" && return 0
    sleep 0.1
  done
  say "gave up waiting for $what"
  log | tail -20
  exit 1
}
has_window() { wmctrl -l | grep -q "Bookline"; }
no_window() { ! has_window; }
no_webkit() { [ "$(webkit_count "$app")" = 0 ]; }
shown_more_than() { [ "$(count "list shown after")" -gt "$1" ]; }
close_window() {
  wmctrl -c Bookline
  wait_for "the window to close" 30 no_window
}
# A second start hands over to the running app (its single-instance callback opens the
# window): the way a user reopens from a launcher. Prints the wall time to the first list
# paint and the app's own figure (from the request to the paint).
reopen() {
  local before t0 t1 own
  before=$(count "list shown after")
  t0=$(date +%s%N)
  "$BOOKLINE_APP" --data-dir "$data" >/dev/null 2>&1
  wait_for "the list to paint" 60 shown_more_than "$before"
  t1=$(date +%s%N)
  own=$(log | grep -o "list shown after [0-9]* ms" | tail -1 | grep -o "[0-9]*")
  echo "$(((t1 - t0) / 1000000)) $own"
}
db_count() {
  python3 - "$data/bookline.sqlite3" <<'PY'
import sqlite3, sys
c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
print(c.execute("SELECT COUNT(*) FROM appointments a JOIN links l ON l.appointment_id = a.id").fetchone()[0])
PY
}
imported() { [ "$(db_count 2>/dev/null || echo 0)" -ge "$EVENTS" ]; }
passes() { count "sync pass"; }
passes_at_least() { [ "$(passes)" -ge "$1" ]; }
row() { printf '  %-52s %6s MiB (anon %4s)  %s\n' "$1" "$(mib "$2")" "$(mib "$(anon_kib "$app")")" "${3:-}"; }

start_app() {
  "$BOOKLINE_APP" --data-dir "$data" >"$work/app.out" 2>&1 &
  app=$!
}

# ---- after: closing frees the window --------------------------------------------------
say "app: $BOOKLINE_APP, poll ${POLL_MS} ms, $EVENTS events"
start_app
wait_for "the first list paint" 120 shown_more_than 0
sleep 3
echo "after (closing frees the window):"
row "window open, empty" "$(rss_kib "$app")" "($(webkit_count "$app") WebKit processes)"
close_window
wait_for "the WebKit processes to end" 30 no_webkit
sleep 3
row "in the tray, empty" "$(rss_kib "$app")" "($(webkit_count "$app") WebKit processes)"

# Google gets EVENTS new events (after the connection: ongoing sync imports them).
# The app's polls import them while they are being added.
t0=$(date +%s)
python3 - "$base" "$email" "$EVENTS" <<'PY'
import http.client, json, sys, datetime
from urllib.parse import urlparse, quote
base, cal, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
u = urlparse(base)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
start = datetime.datetime(2027, 1, 4, 9, tzinfo=datetime.timezone.utc)
for i in range(n):
    s = start + datetime.timedelta(hours=i % 9, days=i // 9)
    body = json.dumps({
        "summary": f"Meeting with lead {i}",
        "location": "Office",
        "description": f"Notes for lead {i}",
        "start": {"dateTime": s.isoformat(), "timeZone": "Europe/Berlin"},
        "end": {"dateTime": (s + datetime.timedelta(minutes=45)).isoformat(), "timeZone": "Europe/Berlin"},
    })
    conn.request("POST", "/_emulator/events/" + quote(cal, safe=""), body=body,
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse(); r.read()
    if r.status != 200:
        sys.exit(f"seeding event {i}: HTTP {r.status}")
PY
wait_for "the $EVENTS events in SQLite" 900 imported
say "$EVENTS events added in Google and imported in the tray in $(($(date +%s) - t0)) s"
sleep 10
row "in the tray, after the $EVENTS-event import" "$(rss_kib "$app")" "($(db_count) linked)"
p0=$(passes)
wait_for "$POLLS polls" $((POLLS * POLL_MS / 1000 * 3 + 60)) passes_at_least $((p0 + POLLS))
row "in the tray, after $POLLS more polls" "$(rss_kib "$app")" "($(webkit_count "$app") WebKit processes)"
tray_after=$(rss_kib "$app")
breakdown "$app" "${TOP:-15}"

read -r wall own <<<"$(reopen)"
sleep 2
row "reopened by a second start" "$(rss_kib "$app")" "(first list paint: ${own} ms from the request, ${wall} ms from the second start; target < 1000)"
close_window
wait_for "the WebKit processes to end" 30 no_webkit
sleep 10
row "closed again, 10 s later" "$(rss_kib "$app")"

first="" last="" max=0 walls="" owns=""
for i in $(seq "$CYCLES"); do
  read -r wall own <<<"$(reopen)"
  walls="$walls $wall"
  owns="$owns $own"
  close_window
  wait_for "the WebKit processes to end" 30 no_webkit
  sleep 2
  kb=$(rss_kib "$app")
  [ -z "$first" ] && first=$kb
  last=$kb
  [ "$kb" -gt "$max" ] && max=$kb
done
sleep 8
printf '  %-52s %6s MiB, after the last %s MiB (max %s MiB; 10 s later %s MiB)\n' \
  "$CYCLES open/close cycles: in the tray after the 1st" "$(mib "$first")" "$(mib "$last")" "$(mib "$max")" "$(mib "$(rss_kib "$app")")"
printf '  %-52s %s\n' "reopen to first list paint (ms, app's clock)" "$(echo "$owns" | xargs -n1 | sort -n | awk '{a[NR]=$1} END {print "min " a[1] ", median " a[int((NR+1)/2)] ", max " a[NR]}')"
printf '  %-52s %s\n' "second start to first list paint (ms)" "$(echo "$walls" | xargs -n1 | sort -n | awk '{a[NR]=$1} END {print "min " a[1] ", median " a[int((NR+1)/2)] ", max " a[NR]}')"
kill -TERM "$app"
wait "$app" || true

# ---- before: closing only hides the window ---------------------------------------------
BOOKLINE_KEEP_WINDOW=1 start_app
shown=$(count "list shown after")
wait_for "the list to paint" 120 shown_more_than "$shown"
sleep 3
echo "before (BOOKLINE_KEEP_WINDOW=1: closing hides the window), the same $EVENTS appointments:"
row "window open" "$(rss_kib "$app")" "($(webkit_count "$app") WebKit processes)"
close_window
sleep 10
p0=$(passes)
wait_for "$POLLS polls" $((POLLS * POLL_MS / 1000 * 3 + 60)) passes_at_least $((p0 + POLLS))
tray_before=$(rss_kib "$app")
row "in the tray (hidden), after $POLLS polls" "$tray_before" "($(webkit_count "$app") WebKit processes)"
breakdown "$app" 6
kill -TERM "$app"
wait "$app" || true

# ---- started at login: no window until one is opened ---------------------------------
"$BOOKLINE_APP" --data-dir "$data" --minimized >"$work/app.out" 2>&1 &
app=$!
p0=$(passes)
wait_for "$POLLS polls" $((POLLS * POLL_MS / 1000 * 3 + 60)) passes_at_least $((p0 + POLLS))
echo "started at login (--minimized), the same $EVENTS appointments:"
row "in the tray, never opened, after $POLLS polls" "$(rss_kib "$app")" "($(webkit_count "$app") WebKit processes)"
breakdown "$app" "${TOP:-15}"
kill -TERM "$app"
wait "$app" || true
echo "in the tray with $EVENTS linked appointments: before $(mib "$tray_before") MiB, after $(mib "$tray_after") MiB (target <= 100 MiB)"

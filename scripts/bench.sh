#!/usr/bin/env bash
# The issue-3 benchmark: 10,000 appointments in SQLite (insert, first page, search, a
# weekly series over a year — the store's own benchmark), then the app started on that
# database: time until its window has loaded, and its resident memory.
# Release build by default; `scripts/bench.sh --debug` measures the debug build.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "(no display: running under Xvfb, a virtual screen)"
  exec xvfb-run -a -s "-screen 0 1366x900x24" "$0" "$@"
fi

profile=release
cargo_profile=(--release)
if [ "${1:-}" = "--debug" ]; then
  profile=debug
  cargo_profile=()
fi
target="${CARGO_TARGET_DIR:-$ROOT/target}"
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

echo "== store: 10,000 appointments ($profile)"
cargo run -q "${cargo_profile[@]}" -p bookline-core --example store_bench -- --keep "$data"
# The benchmark names its file bench.sqlite3; the app opens bookline.sqlite3.
for suffix in "" -wal -shm; do
  if [ -f "$data/bench.sqlite3$suffix" ]; then
    mv "$data/bench.sqlite3$suffix" "$data/bookline.sqlite3$suffix"
  fi
done

echo "== app: start-up and memory with 10,000 appointments ($profile)"
cargo build -q "${cargo_profile[@]}" -p bookline
app="$target/$profile/bookline"

measure() {
  local log="$data/logs"
  local t0 pid loaded="" own_ms
  t0=$(date +%s%N)
  "$app" --data-dir "$data" &
  pid=$!
  for _ in $(seq 1 1500); do
    if grep -qs "window loaded after" "$log"/bookline.*.log; then
      loaded=$(date +%s%N)
      break
    fi
    sleep 0.01
  done
  if [ -z "$loaded" ]; then
    kill "$pid" 2>/dev/null || true
    echo "the window did not load within 15 s" >&2
    return 1
  fi
  own_ms=$(grep -ho "window loaded after [0-9]* ms" "$log"/bookline.*.log | tail -1 | grep -o "[0-9]*")
  # Let the list query and the first paint settle before reading memory.
  sleep 3
  local children rss_app rss_all
  children=$(pgrep -P "$pid" | tr '\n' ' ')
  rss_app=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  rss_all=$rss_app
  for child in $children; do
    rss_all=$((rss_all + $(awk '/VmRSS/ {print $2}' "/proc/$child/status" 2>/dev/null || echo 0)))
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  printf 'window loaded:         %5d ms after launch (%d ms by the app'"'"'s own clock; target < 1500 ms)\n' \
    "$(((loaded - t0) / 1000000))" "$own_ms"
  printf 'resident memory:       %5d MiB app process, %d MiB with its WebKit processes\n' \
    "$((rss_app / 1024))" "$((rss_all / 1024))"
}

measure

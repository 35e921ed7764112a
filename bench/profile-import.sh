#!/usr/bin/env bash
# Where an import's CPU goes: `perf record` of sync_bench's import-N case against the
# emulator, RUNS times, then the samples taken while the import was timed summed by part
# (bench/profile_parts.py).
#
#   bench/profile-import.sh                 # import-10000, 3 runs, this checkout
#   EVENTS=1000 RUNS=5 bench/profile-import.sh
#
# Builds a release sync_bench with symbols and line tables into target/profile (its own
# directory: the flags differ from a plain release build, so they do not rebuild each
# other). Needs `perf` (Debian: linux-perf) and bench/run.sh's venv (target/venv).
# Env: EVENTS (10000), RUNS (3), FREQ (2000 samples/s), PROFILE_DIR (target/profile: the
# build), OUT ($PROFILE_DIR/import: perf.data files).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
EVENTS="${EVENTS:-10000}"
RUNS="${RUNS:-3}"
FREQ="${FREQ:-2000}"
PROFILE_DIR="${PROFILE_DIR:-$REPO/target/profile}"
OUT="${OUT:-$PROFILE_DIR/import}"
PY="${VENV:-$REPO/target/venv}/bin/python"
command -v perf >/dev/null || { echo "perf is not installed (Debian: apt install linux-perf)" >&2; exit 1; }
[ -x "$PY" ] || { echo "no venv at $PY: run bench/run.sh once first" >&2; exit 1; }
mkdir -p "$(dirname "$OUT")"

CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
  CARGO_TARGET_DIR="$PROFILE_DIR" \
  cargo build --quiet --release -p bookline-core --example sync_bench -p gcal-emulator \
  --bin gcal-emulator --manifest-path "$REPO/Cargo.toml"
BENCH="$PROFILE_DIR/release/examples/sync_bench"
EMU="$PROFILE_DIR/release/gcal-emulator"

# shellcheck source=bench/emulator.sh
. "$HERE/emulator.sh"
start_emulator "$EMU" /dev/null

files=()
for run in $(seq 1 "$RUNS"); do
  read -r token cal <<<"$(fresh "$EVENTS" 0 60000)"
  # Stamped on the wall clock, as sync_bench's `timed_unix_s` is: only the import counts.
  perf record -q -k realtime -F "$FREQ" --call-graph dwarf,16384 -o "$OUT-$run.data" -- \
    "$BENCH" --case "import-$EVENTS" --base-url "$BASE" --token "$token" --calendar "$cal" --json \
    >"$OUT-$run.json" 2>/dev/null
  "$PY" -c 'import json,sys; s=json.load(open(sys.argv[1]))["bookline_s"]; print("run %s: import %.3f s under perf" % (sys.argv[2], s))' "$OUT-$run.json" "$run"
  window="$("$PY" -c 'import json,sys; print("%.6f,%.6f" % tuple(json.load(open(sys.argv[1]))["timed_unix_s"]))' "$OUT-$run.json")"
  files+=("$OUT-$run.data@$window")
done
python3 "$HERE/profile_parts.py" --freq "$FREQ" "${files[@]}"

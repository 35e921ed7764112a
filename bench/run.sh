#!/usr/bin/env bash
# Bookline's benchmarks against the gcal-emulator, side by side with Google's Python client.
#
#   bench/run.sh                      # all cases
#   READ_SIZES="1000" INSERT_COUNT=500 bench/run.sh   # smaller
#
# Writes target/bench/results.json (one object per case: name, bookline_s, peer_s,
# requests, quota_rejections, rss_mb, plus the raw peer and Bookline answers; import cases
# also storage_floor_s, the same rows copied into a fresh database by INSERT ... SELECT,
# the least any import into this schema pays) and prints a table. The Bookline column comes from `cargo run --release -p bookline-core --example
# sync_bench -- --case NAME --base-url URL --token T --calendar CAL --json` (it must print
# one JSON object with at least `bookline_s`; `requests`, `quota_rejections`, `rss_mb` if
# it has them). Until that example exists, the column says "not yet available".
#
# Env: VENV (default target/venv), READ_SIZES (default "1000 10000"), IMPORT_REPEATS (5: runs
# of each side per import case, medians reported), INSERT_COUNT (2000),
# QUOTA (600 per window), WINDOW_MS (6000: Google's minute shortened so a run takes seconds),
# GROWTH_SIZES (default "1000 10000 50000": calendars for the incremental case),
# LATENCY_MS (200) and LATENCY_SIZES ("10000"): imports with a network-like delay per request,
# IDLE_SIZE (10000), IDLE_POLLS (120), IDLE_POLL_MS (500).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
VENV="${VENV:-$REPO/target/venv}"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
OUT_DIR="$REPO/target/bench"
READ_SIZES="${READ_SIZES:-1000 10000}"
INSERT_COUNT="${INSERT_COUNT:-2000}"
IMPORT_REPEATS="${IMPORT_REPEATS:-5}"
QUOTA="${QUOTA:-600}"
WINDOW_MS="${WINDOW_MS:-6000}"
GROWTH_SIZES="${GROWTH_SIZES:-1000 10000 50000}"
IDLE_SIZE="${IDLE_SIZE:-10000}"
export IDLE_POLLS="${IDLE_POLLS:-120}" IDLE_POLL_MS="${IDLE_POLL_MS:-500}"
# The loopback emulator answers a page of 2,500 events in ~20 ms; Google takes a good
# fraction of a second. The import-N-latency-Lms cases add LATENCY_MS to every request,
# for both clients, so the read costs what a network read costs and writes that overlap
# it show (LATENCY_SIZES="" skips them).
LATENCY_MS="${LATENCY_MS:-200}"
LATENCY_SIZES="${LATENCY_SIZES:-10000}"
mkdir -p "$OUT_DIR"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import googleapiclient, google.oauth2, google_auth_httplib2" 2>/dev/null; then
  "$VENV/bin/pip" install --quiet -r "$REPO/src-tauri/crates/gcal-emulator/tests/python/requirements.txt"
fi
PY="$VENV/bin/python"

cargo build --quiet --release -p gcal-emulator --bin gcal-emulator --manifest-path "$REPO/Cargo.toml"
BIN="$TARGET_DIR/release/gcal-emulator"

HAVE_BOOKLINE=0
BOOKLINE_NOTE="no src-tauri/crates/core/examples/sync_bench.rs"
if [ -f "$REPO/src-tauri/crates/core/examples/sync_bench.rs" ]; then
  cargo build --quiet --release -p bookline-core --example sync_bench --manifest-path "$REPO/Cargo.toml"
  # Only a sync_bench that runs one named case against a given emulator fits here.
  if "$TARGET_DIR/release/examples/sync_bench" --help 2>&1 | grep -q -- "--case"; then
    HAVE_BOOKLINE=1
  else
    BOOKLINE_NOTE="sync_bench does not take --case/--base-url yet"
  fi
fi
export BOOKLINE_NOTE

# shellcheck source=bench/emulator.sh
. "$HERE/emulator.sh"
start_emulator "$BIN" /dev/null
echo "emulator at $BASE"

# After seeding (which would pay it too): the network-like delay of a -latency-Lms case.
with_latency() {
  case "$1" in
    *-latency-*ms)
      local ms="${1##*-latency-}"
      post faults "{\"latency_ms\": ${ms%ms}}" >/dev/null
      ;;
  esac
}

CASES_FILE="$OUT_DIR/cases.jsonl"
: >"$CASES_FILE"

# run_case NAME SEED QUOTA WINDOW PEER_ARGS...   (no PEER_ARGS: Bookline only)
run_case() {
  local name="$1" seed_events="$2" quota="$3" window="$4"
  shift 4
  local token cal peer='null' bookline
  if [ $# -gt 0 ]; then
    read -r token cal <<<"$(fresh "$seed_events" "$quota" "$window")"
    with_latency "$name"
    echo "· $name: peer…" >&2
    peer="$("$PY" "$HERE/peer.py" --base-url "$BASE" --token "$token" --calendar "$cal" "$@")"
  fi
  bookline='null'
  if [ "$HAVE_BOOKLINE" = 1 ]; then
    read -r token cal <<<"$(fresh "$seed_events" "$quota" "$window")"
    with_latency "$name"
    echo "· $name: bookline…" >&2
    bookline="$("$TARGET_DIR/release/examples/sync_bench" --case "$name" --base-url "$BASE" \
      --token "$token" --calendar "$cal" --json)"
  fi
  printf '{"name": "%s", "peer": %s, "bookline": %s}\n' "$name" "$peer" "$bookline" >>"$CASES_FILE"
}

# run_import_case NAME SEED: an import is short (25 ms for 1,000 events on loopback) and
# one run of either side varies by up to ±15 % on a shared 2-core machine, more than the
# differences the ratios are read for. So the peer's read and Bookline's import run
# IMPORT_REPEATS times each, alternating on one seeded calendar (an import only reads
# Google: every run sees the same events), and the case reports each side's median run,
# with the storage floor's median; every run is kept (`runs_s`, `storage_floor_runs_s`).
run_import_case() {
  local name="$1" seed_events="$2"
  local token cal runs_file
  runs_file="$(mktemp)"
  read -r token cal <<<"$(fresh "$seed_events" 0 60000)"
  with_latency "$name"
  for r in $(seq 1 "$IMPORT_REPEATS"); do
    echo "· $name ($r/$IMPORT_REPEATS): peer…" >&2
    curl -sf -X POST "$BASE/_emulator/stats/reset" >/dev/null
    printf '{"side": "peer", "run": %s}\n' \
      "$("$PY" "$HERE/peer.py" --base-url "$BASE" --token "$token" --calendar "$cal" read --events "$seed_events")" \
      >>"$runs_file"
    if [ "$HAVE_BOOKLINE" = 1 ]; then
      echo "· $name ($r/$IMPORT_REPEATS): bookline…" >&2
      curl -sf -X POST "$BASE/_emulator/stats/reset" >/dev/null
      printf '{"side": "bookline", "run": %s}\n' \
        "$("$TARGET_DIR/release/examples/sync_bench" --case "$name" --base-url "$BASE" \
          --token "$token" --calendar "$cal" --json)" >>"$runs_file"
    fi
  done
  "$PY" - "$name" "$runs_file" >>"$CASES_FILE" <<'PYEOF'
import json, statistics, sys
name, runs_file = sys.argv[1], sys.argv[2]
runs = {"peer": [], "bookline": []}
for line in open(runs_file):
    r = json.loads(line)
    runs[r["side"]].append(r["run"])
def median_run(side, key):
    rs = sorted(runs[side], key=lambda r: r[key])
    if not rs:
        return None
    # An odd count has a middle run; an even one takes the lower middle (a real run).
    m = dict(rs[(len(rs) - 1) // 2])
    m["runs_s"] = [r[key] for r in runs[side]]
    floors = [r["storage_floor_s"] for r in runs[side] if r.get("storage_floor_s") is not None]
    if floors:
        m["storage_floor_s"] = statistics.median(floors)
        m["storage_floor_runs_s"] = floors
    return m
print(json.dumps({"name": name, "peer": median_run("peer", "peer_s"),
                  "bookline": median_run("bookline", "bookline_s")}))
PYEOF
  rm -f "$runs_file"
}

for n in $READ_SIZES; do
  run_import_case "import-$n" "$n"
done
for n in $LATENCY_SIZES; do
  run_import_case "import-$n-latency-${LATENCY_MS}ms" "$n"
done
if [ "$INSERT_COUNT" -gt 0 ]; then
  run_case "push-$INSERT_COUNT-one-by-one" 0 "$QUOTA" "$WINDOW_MS" insert-one-by-one --count "$INSERT_COUNT"
  run_case "push-$INSERT_COUNT-batch-50" 0 "$QUOTA" "$WINDOW_MS" insert-batch --count "$INSERT_COUNT" --batch 50
fi
# One change among N events: what a pass costs should follow the changes, not N.
for n in $GROWTH_SIZES; do
  run_case "incremental-$n" "$n" 0 60000 incremental --events "$n"
done
if [ "$IDLE_SIZE" -gt 0 ]; then
  run_case "idle-$IDLE_SIZE" "$IDLE_SIZE" 0 60000
fi

"$PY" - "$CASES_FILE" "$OUT_DIR/results.json" "$HAVE_BOOKLINE" <<'PYEOF'
import json, sys
cases_file, out, have = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
results = []
for line in open(cases_file):
    c = json.loads(line)
    peer, bl = c["peer"] or {}, c["bookline"] or {}
    def pick(key):
        # Bookline's own counts when it ran; the peer's otherwise (labelled in `peer`).
        return bl.get(key, peer.get(key)) if bl else peer.get(key)
    r = {
        "name": c["name"],
        "bookline_s": bl.get("bookline_s"),
        "peer_s": peer.get("peer_s"),
        "requests": pick("requests"),
        "quota_rejections": pick("quota_rejections"),
        "rss_mb": bl.get("rss_mb"),
        "peer": c["peer"],
        "bookline": c["bookline"],
    }
    for extra in ("cpu_percent", "cpu_percent_at_60s_poll", "requests_per_hour_at_60s_poll",
                  "storage_floor_s"):
        if extra in bl:
            r[extra] = bl[extra]
    results.append(r)
json.dump({"cases": results}, open(out, "w"), indent=2)

def num(v, f="{:.3f}"):
    return f.format(v) if isinstance(v, (int, float)) else "-"

fmt = "{:<26} {:>11} {:>9} {:>7} {:>9} {:>9} {:>11} {:>8} {:>9}"
print(fmt.format("case", "bookline_s", "peer_s", "ratio", "bl reqs", "peer reqs", "quota✗ b/p", "bl rss",
                 "peer rss"))
for r in results:
    b, p = r["bookline_s"], r["peer_s"]
    peer = r["peer"] or {}
    bl = r["bookline"] or {}
    ratio = f"{b / p:.2f}x" if b is not None and p else "-"
    rej = f"{bl.get('quota_rejections', '-')}/{peer.get('quota_rejections', '-')}"
    print(fmt.format(r["name"], num(b), num(p), ratio, bl.get("requests", "-"), peer.get("requests", "-"),
                     rej, num(r["rss_mb"], "{:.0f} MB"), num(peer.get("rss_mb"), "{:.0f} MB")))
    if r["name"].startswith("import-") and r["rss_mb"] is not None and peer.get("rss_mb"):
        print(f"    peak RSS: Bookline {r['rss_mb']:.0f} MB = {r['rss_mb'] / peer['rss_mb']:.2f}x the peer's "
              f"{peer['rss_mb']:.0f} MB")
    if bl.get("runs_s") and peer.get("runs_s"):
        bs, ps = bl["runs_s"], peer["runs_s"]
        print(f"    medians of {len(bs)} runs each, alternating: Bookline {min(bs):.3f}–{max(bs):.3f} s, "
              f"peer {min(ps):.3f}–{max(ps):.3f} s")
    if r.get("storage_floor_s") is not None and p:
        f = r["storage_floor_s"]
        print(f"    storage floor: {f:.3f} s = {f / p:.2f}x the bare read (the same rows copied into "
              f"a fresh database by INSERT ... SELECT); Bookline = {b / f:.2f}x the floor, "
              f"{b / (p + f):.2f}x read + floor")
    if "cpu_percent" in r:
        print(f"    idle: {r['requests_per_hour_at_60s_poll']:.0f} requests/hour at the 60 s poll, "
              f"CPU {r['cpu_percent']:.2f}% polling every {bl['poll_interval_ms']} ms "
              f"({r['cpu_percent_at_60s_poll']:.4f}% at 60 s), RSS {num(r['rss_mb'], '{:.0f}')} MB")
if not have:
    import os
    print("Bookline: not yet available (" + os.environ.get("BOOKLINE_NOTE", "") + ")")
print(f"written {out}")
PYEOF

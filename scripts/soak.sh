#!/usr/bin/env bash
# The fault and crash soak (#9), bounded and reproducible:
#   (a) SOAK_MINUTES simulated minutes of use — edits in Bookline and in Google (a second
#       client through the emulator's API), every fault kind the emulator has, a sync pass
#       a minute, sync tokens expired now and then — then converge and compare both sides
#       field by field, check nothing was lost and every conflict is in the activity log;
#   (b) SOAK_KILLS SIGKILLs at random points of a backfill and of sync passes, converging
#       after each restart without duplicates; SQLite's integrity_check at the end.
# Then the crash tests of #6/#7 (2,000-item backfill killed repeatedly, with and without
# rate-limit and 5xx faults; sync push; the real `bookline` during import and pull).
#
#   SOAK_SEED=N     the seed of every random choice (default 1): same seed, same run
#   SOAK_MINUTES=N  simulated minutes (default 30)
#   SOAK_KILLS=N    SIGKILLs in (b) (default 50)
#   CRASH_KILLS=N   SIGKILLs per crash test (default 20)
#   CRASH_TRACE=1   print every run: when it was to be killed, where it was, how long it ran
#
# The tests need a Secret Service: like scripts/test.sh this runs inside its own D-Bus
# session with a throwaway, unlocked gnome-keyring.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

if [ -z "${BOOKLINE_SOAK_SESSION:-}" ]; then
  exec dbus-run-session -- env BOOKLINE_SOAK_SESSION=1 "$0" "$@"
fi

# shellcheck source=scripts/keyring-session.sh
source "$ROOT/scripts/keyring-session.sh"
start_throwaway_keyring bookline-soak
trap 'rm -rf "$XDG_DATA_HOME"' EXIT

export SOAK_SEED=${SOAK_SEED:-1}
export SOAK_MINUTES=${SOAK_MINUTES:-30}
export SOAK_KILLS=${SOAK_KILLS:-50}
export SOAK_OLD_CRM=${SOAK_OLD_CRM:-1000}
export SOAK_OLD_GOOGLE=${SOAK_OLD_GOOGLE:-500}
export CRASH_KILLS=${CRASH_KILLS:-20}
printf 'soak: seed %s, %s simulated minutes, %s kills (crash tests: %s kills each)\n' \
  "$SOAK_SEED" "$SOAK_MINUTES" "$SOAK_KILLS" "$CRASH_KILLS"

# The same package selection as scripts/test.sh, so the test binary is not rebuilt
# with other features. One test at a time: the kill schedules are timed.
start=$SECONDS
set +e
xvfb-run -a -s "-screen 0 1366x900x24" \
  cargo test --workspace --test app -- crash:: --test-threads 1 --nocapture
status=$?
set -e
printf 'soak: %ds wall time, exit %d\n' "$((SECONDS - start))" "$status"
exit "$status"

# Sourced, not run: starting a gcal-emulator for a script (bench/run.sh and
# bench/profile-import.sh through bench/emulator.sh, the Python client suite's run.sh).

# start_emulator BIN [STDERR]: starts the emulator BIN on a free port of 127.0.0.1, sets
# BASE to its address, and stops it when the calling script exits. Its stderr goes to the
# file STDERR when given (the benchmarks: /dev/null), else to the caller's.
start_emulator() {
  EMU_LOG="$(mktemp)"
  if [ $# -gt 1 ]; then
    "$1" --port 0 >"$EMU_LOG" 2>"$2" &
  else
    "$1" --port 0 >"$EMU_LOG" &
  fi
  EMU_PID=$!
  trap 'kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; rm -f "$EMU_LOG"' EXIT
  for _ in $(seq 1 100); do
    if [ -s "$EMU_LOG" ]; then break; fi
    sleep 0.1
  done
  local line
  line="$(head -n 1 "$EMU_LOG")"
  case "$line" in
    "listening on "*) ;;
    *) echo "emulator did not start: $line" >&2; exit 1 ;;
  esac
  BASE="${line#listening on }"
}

# Shared by bench/run.sh and bench/profile-import.sh (sourced): one gcal-emulator on
# 127.0.0.1 (start_emulator, from scripts/emulator.sh), and fresh state for a case. Needs
# HERE (this directory) and PY (the venv's python, for peer.py).

# shellcheck source=scripts/emulator.sh
. "$HERE/../scripts/emulator.sh"

post() { curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "$BASE/_emulator/$1"; }

# Fresh emulator state for one case: empty, one account, the quota, N seeded events.
# Prints "TOKEN CALENDAR".
fresh() {
  local seed_events="$1" quota="$2" window="$3"
  post reset '{}' >/dev/null
  local acct token cal
  acct="$(post accounts '{"email":"bench@example.com"}')"
  token="$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])' <<<"$acct")"
  cal="$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["calendar_id"])' <<<"$acct")"
  post quota "{\"per_user_per_minute\": $quota, \"per_project_per_minute\": 0, \"window_ms\": $window}" >/dev/null
  if [ "$seed_events" -gt 0 ]; then
    "$PY" "$HERE/peer.py" --base-url "$BASE" --token "$token" --calendar "$cal" seed --events "$seed_events" >/dev/null
  fi
  curl -sf -X POST "$BASE/_emulator/stats/reset" >/dev/null
  echo "$token $cal"
}

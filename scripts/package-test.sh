#!/usr/bin/env bash
# The installed package, the way a salesperson gets it (CI's last step, `make test`):
#   1. builds the .deb (scripts/package.sh; PACKAGE_PROFILE=debug bundles the debug binary
#      the tests built instead of a release build; PACKAGE_TEST_SKIP_BUILD=1 reuses the
#      last package),
#   2. installs it with `apt-get install ./Bookline_….deb` (apt resolves its dependencies),
#   3. in a home of its own, on a private D-Bus session with a real Secret Service
#      (gnome-keyring) and a minimal desktop under Xvfb (openbox, xfce4-panel's tray):
#      turns on start at login, starts the installed /usr/bin/bookline, sees its window and
#      its tray icon, checks the login item starts /usr/bin/bookline, quits it by SIGTERM,
#   4. removes the package and checks the user's data is still there.
# Needs root or sudo (apt-get). Screenshots and logs go to target/package-test/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
say() { printf '\033[1mpackage-test:\033[0m [%3ds] %s\n' "$SECONDS" "$*"; }
fail() {
  printf '\033[1mpackage-test:\033[0m FAILED: %s\n' "$*" >&2
  exit 1
}
OUT="${CARGO_TARGET_DIR:-$ROOT/target}/package-test"
INSTALLED=/usr/bin/bookline

# Step 3 runs in a session of its own: this script calls itself with --inside.
if [ "${1:-}" = "--inside" ]; then
  # shellcheck source=scripts/keyring-session.sh
  source "$ROOT/scripts/keyring-session.sh"
  # The keyring's files and Bookline's data dir in the default place of this home.
  start_throwaway_keyring package-test "$HOME/.local/share"
  export XDG_CONFIG_HOME="$HOME/.config"
  # shellcheck source=scripts/desktop-session.sh
  . "$ROOT/scripts/desktop-session.sh"
  DESKTOP_LOG_DIR="$OUT/desktop" start_desktop

  "$INSTALLED" settings --start-at-login true
  "$INSTALLED" >"$OUT/app.log" 2>&1 &
  pid=$!

  window=""
  for _ in $(seq 600); do
    kill -0 "$pid" 2>/dev/null || fail "the installed app exited: $(cat "$OUT/app.log")"
    # The window is the app's window process (`bookline window-process`, its child).
    window_pid=$(pgrep -P "$pid" -f window-process | head -n1 || true)
    window=$(wmctrl -l -p | awk -v pid="${window_pid:-none}" '$3 == pid && /Bookline/ {print $1; exit}')
    [ -n "$window" ] && break
    sleep 0.1
  done
  [ -n "$window" ] || fail "no Bookline window within 60 s"
  say "window: $(wmctrl -l -p | awk -v id="$window" '$1 == id {$1=$2=$3=$4=""; sub(/^ +/, ""); print}')"

  # The tray host's list of StatusNotifierItems holds one owned by the app's process, with
  # the app's menu (Linux delivers no clicks on tray icons: the menu is the tray).
  tray_menu() {
    local items item service path owner menu
    items=$(busctl --user --json=short -- get-property org.kde.StatusNotifierWatcher \
      /StatusNotifierWatcher org.kde.StatusNotifierWatcher RegisteredStatusNotifierItems \
      2>/dev/null | jq -r '.data[]') || return 1
    for item in $items; do
      service=${item%%/*}
      path=/${item#*/}
      owner=$(busctl --user --json=short -- call org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus GetConnectionUnixProcessID s "$service" | jq '.data[0]')
      [ "$owner" = "$pid" ] || continue
      menu=$(busctl --user --json=short -- get-property "$service" "$path" \
        org.kde.StatusNotifierItem Menu | jq -r '.data')
      busctl --user --json=short -- call "$service" "$menu" com.canonical.dbusmenu GetLayout \
        iias 0 -1 0 | jq -r '.data[1][2][].data[1].label.data // empty'
      return 0
    done
    return 1
  }
  labels=""
  for _ in $(seq 300); do
    labels=$(tray_menu || true)
    grep -q "Open Bookline" <<<"$labels" && break
    sleep 0.1
  done
  grep -q "Open Bookline" <<<"$labels" || fail "no tray icon with Bookline's menu within 30 s"
  say "tray menu: $(paste -sd '|' <<<"$labels")"
  import -window root "$OUT/installed.png" || true

  login_item=$(ls "$XDG_CONFIG_HOME"/autostart/*.desktop 2>/dev/null | head -n1 || true)
  [ -n "$login_item" ] || fail "start at login is on but there is no login item in $XDG_CONFIG_HOME/autostart"
  exec_line=$(grep '^Exec=' "$login_item" | head -n1)
  say "login item $login_item: $exec_line"
  # Quoted or not, the command is the installed binary, started hidden in the tray.
  [[ "$exec_line" =~ ^Exec=\"?$INSTALLED\"?\ --minimized ]] ||
    fail "the login item does not start $INSTALLED --minimized: $exec_line"

  kill -TERM "$pid"
  status=0
  wait "$pid" || status=$?
  [ "$status" -eq 0 ] || fail "the installed app exited with $status after SIGTERM"
  # The window process goes with it (a zombie waiting for its reaper has gone).
  for _ in $(seq 50); do
    case "$(ps -o stat= -p "$window_pid" 2>/dev/null || true)" in "" | Z*) break ;; esac
    sleep 0.1
  done
  case "$(ps -o stat= -p "$window_pid" 2>/dev/null || true)" in
    "" | Z*) ;;
    *) fail "the window process (pid $window_pid) outlived the app" ;;
  esac
  [ -f "$HOME/.local/share/bookline/bookline.sqlite3" ] || fail "no database in the default data dir"
  ls "$HOME"/.local/share/bookline/logs/*.log >/dev/null || fail "no log file in the data dir"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
mkdir -p "$OUT"
started=$SECONDS

if [ "${PACKAGE_TEST_SKIP_BUILD:-0}" != 1 ]; then
  scripts/package.sh
fi
built=$SECONDS
deb=$(ls "${CARGO_TARGET_DIR:-$ROOT/target}/${PACKAGE_PROFILE:-release}"/bundle/deb/*.deb)

if dpkg-query -W -f='${Status}' bookline 2>/dev/null | grep -q "install ok installed"; then
  say "removing the Bookline package installed before"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get remove -y bookline >/dev/null
fi
say "apt-get install $deb"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "$deb"
[ "$(command -v bookline)" = "$INSTALLED" ] || fail "bookline on the PATH is $(command -v bookline), not $INSTALLED"
say "$("$INSTALLED" --version)"

home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
HOME=$home dbus-run-session -- xvfb-run -a -s "-screen 0 1366x900x24" \
  "$ROOT/scripts/package-test.sh" --inside

say "apt-get remove bookline"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get remove -y bookline
[ ! -e "$INSTALLED" ] || fail "$INSTALLED is still there after apt-get remove"
[ -f "$home/.local/share/bookline/bookline.sqlite3" ] ||
  fail "the user's data dir lost its database when the package was removed"
say "the user's data is still there: $(ls "$home/.local/share/bookline" | paste -sd ' ')"
say "passed: build $((built - started)) s, install/run/remove $((SECONDS - built)) s"

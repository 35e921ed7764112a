# Sourced by scripts/test.sh and scripts/soak.sh, which already run inside their own
# dbus-run-session: a throwaway, unlocked gnome-keyring as that session's Secret Service.
#
#   start_throwaway_keyring PASSWORD [DIR]
#       exports XDG_DATA_HOME (DIR, else a new temp dir the caller removes on exit) and
#       the daemon's variables, then waits for the daemon on the bus.
#
# gnome-keyring keeps its files under XDG_DATA_HOME; HOME stays as it is so cargo and
# rustup keep finding their caches.
start_throwaway_keyring() {
  XDG_DATA_HOME=${2:-$(mktemp -d)}
  export XDG_DATA_HOME
  mkdir -p "$XDG_DATA_HOME"
  eval "$(printf '%s' "$1" | gnome-keyring-daemon --daemonize --unlock --components=secrets | sed 's/^/export /')"
  # The daemon registers org.freedesktop.secrets a moment after --daemonize returns; a
  # test that asks before then makes D-Bus start a second, locked daemon. Wait for it.
  local _
  for _ in $(seq 50); do
    dbus-send --session --dest=org.freedesktop.DBus --print-reply /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
      | grep -q 'boolean true' && return 0
    sleep 0.1
  done
}

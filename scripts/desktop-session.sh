# Sourced, not run: `start_desktop` turns a bare Xvfb display + private D-Bus session into
# a minimal desktop, so the app's tray icon, window-manager close and notifications are real:
# - openbox: a window manager (a close from it sends WM_DELETE_WINDOW, as a user's click);
# - xfce4-panel with only its system tray (+ clock): it is a StatusNotifierWatcher/host, which
#   Tauri's tray icon (libayatana-appindicator, StatusNotifierItem on D-Bus) needs to show;
# - notification-daemon: owns org.freedesktop.Notifications, so notifications are delivered.
# Everything ends with the X server and the session bus. Needs DISPLAY and
# DBUS_SESSION_BUS_ADDRESS set.

desktop_wait_for_name() {
  local name=$1
  for _ in $(seq 100); do
    if dbus-send --session --dest=org.freedesktop.DBus --print-reply /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner "string:$name" 2>/dev/null | grep -q 'boolean true'; then
      return 0
    fi
    sleep 0.1
  done
  echo "desktop: $name did not appear on the session bus" >&2
  return 1
}

start_desktop() {
  local here logs
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  logs=${DESKTOP_LOG_DIR:-$(mktemp -d)}
  mkdir -p "$logs"
  # The panel's settings in a config dir of their own: xfconfd reads the channel from
  # XDG_CONFIG_HOME, so it is started here (not D-Bus-activated with the bus's environment).
  DESKTOP_CONFIG=$(mktemp -d)
  mkdir -p "$DESKTOP_CONFIG/xfce4/xfconf/xfce-perchannel-xml"
  cp "$here/xfce4-panel.xml" "$DESKTOP_CONFIG/xfce4/xfconf/xfce-perchannel-xml/xfce4-panel.xml"
  local xfconfd="" candidate
  for candidate in /usr/lib/*/xfce4/xfconf/xfconfd /usr/lib/xfce4/xfconf/xfconfd; do
    if [ -x "$candidate" ]; then xfconfd=$candidate; break; fi
  done
  XDG_CONFIG_HOME=$DESKTOP_CONFIG "$xfconfd" >"$logs/xfconfd.log" 2>&1 &
  desktop_wait_for_name org.xfce.Xfconf
  XDG_CONFIG_HOME=$DESKTOP_CONFIG openbox >"$logs/openbox.log" 2>&1 &
  for _ in $(seq 100); do
    wmctrl -m >/dev/null 2>&1 && break
    sleep 0.1
  done
  XDG_CONFIG_HOME=$DESKTOP_CONFIG xfce4-panel >"$logs/panel.log" 2>&1 &
  desktop_wait_for_name org.kde.StatusNotifierWatcher
  /usr/lib/notification-daemon/notification-daemon >"$logs/notifications.log" 2>&1 &
  desktop_wait_for_name org.freedesktop.Notifications
}

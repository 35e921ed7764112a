#!/usr/bin/env bash
# Installs what Bookline needs to build, run and test on Debian/Ubuntu — only what is
# missing, so a second run does nothing and takes a second. Used by `make demo` and
# `make test`; safe to run by hand.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Tauri 2 on Linux (architecture.md), plus what the tests and demo use: Xvfb for a
# display, WebKitWebDriver for end-to-end tests, a real Secret Service (gnome-keyring on
# a private D-Bus session), ImageMagick for screenshots, a Python venv for the emulator's
# compatibility suite; and a minimal desktop for the tray tests and screenshot
# (scripts/desktop-session.sh): openbox, xfce4-panel's system tray (a StatusNotifierItem
# host), wmctrl/xdotool to close windows and click the tray, a notification daemon; and
# desktop-file-validate and jq for the package and its test (scripts/package*.sh).
APT_PACKAGES=(
  build-essential curl ca-certificates pkg-config
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev
  libssl-dev libxdo-dev libdbus-1-dev
  xvfb xauth webkit2gtk-driver
  gnome-keyring libsecret-tools dbus-x11
  imagemagick python3-venv
  openbox xfce4-panel wmctrl xdotool notification-daemon x11-xserver-utils
  gcc-mingw-w64-x86-64
  desktop-file-utils jq
)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing system packages: ${missing[*]}"
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# Rust: Debian's packaged toolchain is too old for Tauri 2, so use rustup.
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  say "installing Rust (rustup, stable, minimal profile)"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
    sh -s -- -y --profile minimal --component rustfmt,clippy
  export PATH="$HOME/.cargo/bin:$PATH"
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    say "adding the Rust component $component"
    rustup component add "$component"
  fi
done

# ---- Windows check (issue #20) ----------------------------------------------------------
# test.sh checks and lints the workspace for Windows: the MinGW cross compiler (above, for
# the C in the dependencies, e.g. SQLite) and the target's standard library from rustup.
# Where rustup cannot fetch it (offline, a mirror without it), setup goes on and test.sh
# skips the Windows check with a loud line.
WINDOWS_TARGET=x86_64-pc-windows-gnu
if command -v rustup >/dev/null 2>&1 &&
  ! rustup target list --installed 2>/dev/null | grep -qx "$WINDOWS_TARGET"; then
  say "adding the Rust target $WINDOWS_TARGET (the Windows check)"
  rustup target add "$WINDOWS_TARGET" ||
    say "WARNING: could not add the Rust target $WINDOWS_TARGET; make test will skip the Windows check"
fi
# ---- end Windows check --------------------------------------------------------------------

# Node: Vite needs Node >= 20.19; older distributions ship less, so fall back to the
# official build under ~/.local/node.
node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'
}
if ! node_ok && [ -x "$HOME/.local/node/bin/node" ]; then
  export PATH="$HOME/.local/node/bin:$PATH"
fi
if ! node_ok; then
  NODE_VERSION=v20.19.5
  say "installing Node.js $NODE_VERSION into ~/.local/node"
  mkdir -p "$HOME/.local/node"
  curl -fsSL "https://nodejs.org/dist/$NODE_VERSION/node-$NODE_VERSION-linux-x64.tar.xz" |
    tar -xJ -C "$HOME/.local/node" --strip-components=1
  export PATH="$HOME/.local/node/bin:$PATH"
fi

# The UI's dependencies, reinstalled only when package-lock.json changed since the last
# install (npm records the installed tree in node_modules/.package-lock.json).
if [ -f "$ROOT/ui/package-lock.json" ]; then
  stamp="$ROOT/ui/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$ROOT/ui/package-lock.json" -nt "$stamp" ]; then
    say "installing the UI's npm dependencies (npm ci)"
    (cd "$ROOT/ui" && npm ci --no-audit --no-fund)
  fi
fi

# The WebDriver bridge for the end-to-end tests.
if ! command -v tauri-driver >/dev/null 2>&1; then
  say "installing tauri-driver"
  cargo install tauri-driver --version '^2' --locked
fi

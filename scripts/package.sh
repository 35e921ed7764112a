#!/usr/bin/env bash
# `make package`: Bookline's Linux packages, built by Tauri's bundler through the Tauri CLI
# from npm (@tauri-apps/cli, pinned in ui/package.json: a prebuilt binary, nothing to
# compile), from a release build.
#
#   scripts/package.sh              .deb and .rpm in target/release/bundle/{deb,rpm}/
#   APPIMAGE=1 scripts/package.sh   also an AppImage, when the tools the bundler downloads
#                                   for it (linuxdeploy, from GitHub) can be fetched;
#                                   otherwise it says so and the run still succeeds
#   PACKAGE_PROFILE=debug scripts/package.sh
#                                   bundles the debug binary the tests already built
#                                   (target/debug/bookline) into target/debug/bundle/ —
#                                   the same bundler and package, without a release build
#                                   (CI's package test: a release build would add many
#                                   minutes on two cores)
#
# A publisher builds the Google OAuth client in with BOOKLINE_GOOGLE_CLIENT_ID and
# BOOKLINE_GOOGLE_CLIENT_SECRET set in the environment of this script (see the README).
#
# Each package is checked before the script ends: its .desktop entry passes
# desktop-file-validate, every file lands under /usr (nothing in a user's home), and the
# file list and size are printed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
say() { printf '\033[1mpackage:\033[0m %s\n' "$*"; }

TAURI="$ROOT/ui/node_modules/.bin/tauri"
if [ ! -x "$TAURI" ]; then
  echo "package: the Tauri CLI is missing; run scripts/setup.sh (npm ci in ui/)" >&2
  exit 1
fi
PROFILE=${PACKAGE_PROFILE:-release}
BUNDLE_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE/bundle"
# The UI is built here (or, for debug, was built before the binary); the CLI would run
# beforeBuildCommand from ui/ (the directory of the package.json it finds), where
# `npm --prefix ui` does not resolve.
NO_BEFORE_BUILD='{"build":{"beforeBuildCommand":""}}'

started=$SECONDS
rm -rf "$BUNDLE_DIR/deb" "$BUNDLE_DIR/rpm"
case "$PROFILE" in
  release)
    say "building the UI"
    npm --prefix ui run build
    say "release build and .deb + .rpm ($("$TAURI" --version))"
    "$TAURI" build --ci --bundles deb,rpm --config "$NO_BEFORE_BUILD"
    ;;
  debug)
    binary="${CARGO_TARGET_DIR:-$ROOT/target}/debug/bookline"
    [ -x "$binary" ] || { echo "package: no $binary; build it first (cargo build)" >&2; exit 1; }
    say ".deb + .rpm of the debug binary built before ($("$TAURI" --version))"
    "$TAURI" bundle --ci --debug --bundles deb,rpm --config "$NO_BEFORE_BUILD"
    ;;
  *)
    echo "package: PACKAGE_PROFILE is release or debug, not $PROFILE" >&2
    exit 2
    ;;
esac
say "built in $((SECONDS - started)) s"

if [ "${APPIMAGE:-0}" = 1 ]; then
  # The bundler downloads linuxdeploy and its plugins from GitHub, outside any package
  # registry: where that is not reachable there is no AppImage, and that is not an error.
  say "AppImage (downloads linuxdeploy from GitHub)"
  debug_flag=()
  [ "$PROFILE" = debug ] && debug_flag=(--debug)
  if "$TAURI" bundle --ci "${debug_flag[@]}" --bundles appimage --config "$NO_BEFORE_BUILD"; then
    say "AppImage: $(ls "$BUNDLE_DIR"/appimage/*.AppImage)"
  else
    say "AppImage skipped: the bundler could not fetch or run its AppImage tools" \
      "(linuxdeploy from github.com); the .deb and .rpm are complete."
  fi
fi

deb=$(ls "$BUNDLE_DIR"/deb/*.deb)
rpm=$(ls "$BUNDLE_DIR"/rpm/*.rpm)

# What the .deb installs, checked.
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
dpkg-deb -x "$deb" "$unpacked"
# (Paths in the archive are relative: `usr/bin/bookline`, or `./usr/…` from other tools.)
outside=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./||' | grep -v '^$' | grep -v '^usr\(/\|$\)' || true)
if [ -n "$outside" ]; then
  echo "package: files outside /usr in $deb:" >&2
  echo "$outside" >&2
  exit 1
fi
[ -x "$unpacked/usr/bin/bookline" ] || { echo "package: no /usr/bin/bookline in $deb" >&2; exit 1; }
desktop_files=("$unpacked"/usr/share/applications/*.desktop)
[ -f "${desktop_files[0]}" ] || { echo "package: no .desktop entry in $deb" >&2; exit 1; }
desktop-file-validate "${desktop_files[@]}"
ls "$unpacked"/usr/share/icons/hicolor/*/apps/bookline.png >/dev/null

say "$deb ($(du -k "$deb" | cut -f1) KiB)"
dpkg-deb -f "$deb" Package Version Architecture Depends Recommends Installed-Size |
  sed 's/^/  /'
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {printf "  %10d  /%s\n", $3, $6}'
say "$rpm ($(du -k "$rpm" | cut -f1) KiB)"
say "done in $((SECONDS - started)) s"

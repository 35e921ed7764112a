#!/usr/bin/env bash
# Regenerates the app and tray icons (RGBA PNG, as Tauri requires) with ImageMagick.
# The PNGs are committed; run this only after changing the drawing below.
set -euo pipefail
cd "$(dirname "$0")/../icons"

# The app icon: a calendar page (blue header, two binding rings) with a check mark.
draw_app() { # size outfile
  local s=$1 out=$2
  convert -size 512x512 xc:none \
    -fill '#1f6feb' -draw 'roundrectangle 40,64 472,472 64,64' \
    -fill white -draw 'roundrectangle 72,168 440,440 28,28' \
    -fill '#0b3d91' -draw 'roundrectangle 140,32 188,120 20,20' \
    -fill '#0b3d91' -draw 'roundrectangle 324,32 372,120 20,20' \
    -stroke '#1f6feb' -strokewidth 44 -fill none \
    -draw 'stroke-linejoin round stroke-linecap round polyline 166,304 232,370 354,236' \
    -resize "${s}x${s}" -define png:color-type=6 "PNG32:$out"
}

draw_app 32 32x32.png
draw_app 128 128x128.png
draw_app 256 128x128@2x.png
draw_app 512 icon.png

# Tray icons: one per sync state, the same calendar with a state badge, so the state is
# readable at 22–32 px on any panel.
tray() { # name badge-colour badge-drawing
  local name=$1 colour=$2 badge=$3
  convert -size 64x64 xc:none \
    -fill '#1f6feb' -draw 'roundrectangle 4,8 56,58 8,8' \
    -fill white -draw 'roundrectangle 9,20 51,53 4,4' \
    -fill "$colour" -stroke white -strokewidth 3 -draw 'circle 46,46 46,30' \
    -stroke white -strokewidth 4 -fill none -draw "stroke-linejoin round stroke-linecap round $badge" \
    -define png:color-type=6 "PNG32:tray-$name.png"
}

tray synced '#2da44e' 'polyline 39,46 44,51 53,41'
tray syncing '#1f6feb' 'arc 38,38 54,54 200,520'
tray paused '#6e7781' 'line 42,40 42,52 line 50,40 50,52'
tray attention '#d1242f' 'line 46,38 46,48 point 46,53'

# Windows and macOS icons, from the drawing above at each size the OS asks for.
# icon.ico: tauri_build embeds it in the Windows binary (the build fails without it);
# ImageMagick writes the 256 px entry as PNG and the small ones as bitmaps.
ico_pngs=()
for s in 16 32 48 64 128 256; do
  draw_app "$s" "ico-$s.png"
  ico_pngs+=("ico-$s.png")
done
convert "${ico_pngs[@]}" icon.ico
rm -f ico-*.png

# icon.icns for the macOS bundle. Debian's icnsutils is not needed: an .icns is a header
# and PNG chunks tagged by size (ic07 128, ic08 256, ic09 512, ic10 1024 = 512@2x,
# ic11 32 = 16@2x, ic12 64 = 32@2x, ic13 256 = 128@2x, ic14 512 = 256@2x), which a few
# lines of Python write.
declare -A icns_types=([ic11]=32 [ic12]=64 [ic07]=128 [ic13]=256 [ic08]=256 [ic14]=512 [ic09]=512 [ic10]=1024)
for type in "${!icns_types[@]}"; do draw_app "${icns_types[$type]}" "icns-$type.png"; done
python3 - "${!icns_types[@]}" <<'PY'
import struct, sys
chunks = b""
for icns_type in sorted(sys.argv[1:]):
    with open(f"icns-{icns_type}.png", "rb") as png:
        data = png.read()
    chunks += icns_type.encode("ascii") + struct.pack(">I", 8 + len(data)) + data
with open("icon.icns", "wb") as out:
    out.write(b"icns" + struct.pack(">I", 8 + len(chunks)) + chunks)
PY
rm -f icns-*.png

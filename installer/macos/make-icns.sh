#!/usr/bin/env bash
# Rebuild resources/icons/hearth.icns with Apple's iconutil (macOS only). On any system,
# `python packaging/make_icons.py` writes the same file without it; this is the Apple-tool way.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ICONS=$ROOT/resources/icons
SET=$(mktemp -d)/hearth.iconset
trap 'rm -rf "$(dirname "$SET")"' EXIT
mkdir -p "$SET"
for size in 16 32 128 256 512; do
  cp "$ICONS/hearth-$size.png" "$SET/icon_${size}x${size}.png"
  double=$((size * 2))
  if [ -f "$ICONS/hearth-$double.png" ]; then
    cp "$ICONS/hearth-$double.png" "$SET/icon_${size}x${size}@2x.png"
  else  # 512@2x = 1024 px: render it from the SVG source
    sips -s format png -z "$double" "$double" "$ICONS/hearth.svg" --out "$SET/icon_${size}x${size}@2x.png" >/dev/null
  fi
done
iconutil --convert icns --output "$ICONS/hearth.icns" "$SET"
echo "$ICONS/hearth.icns"

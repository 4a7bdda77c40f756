#!/usr/bin/env bash
# Add (or with --remove, take away) a menu entry and icon for a portable Hearth, for this user
# only: ~/.local/share/applications and ~/.local/share/icons. Run it from the unpacked folder.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
DESKTOP=$DATA/applications/hearth.desktop
ICON=$DATA/icons/hicolor/256x256/apps/hearth.png

if [ "${1:-}" = "--remove" ]; then
  rm -f "$DESKTOP" "$ICON"
  echo "Removed Hearth's menu entry."
  exit 0
fi
if [ ! -x "$HERE/hearth" ]; then
  echo "Run this script from the unpacked Hearth folder (no ./hearth next to it)." >&2
  exit 1
fi
mkdir -p "$(dirname "$DESKTOP")" "$(dirname "$ICON")"
install -m 0644 "$HERE/hearth.png" "$ICON"
# Point Exec/TryExec at this folder's executable; quote it in case the path has spaces.
sed -e "s|^Exec=.*|Exec=\"$HERE/hearth\"|" -e "s|^TryExec=.*|TryExec=$HERE/hearth|" \
  "$HERE/hearth.desktop" > "$DESKTOP"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$DATA/applications" || true
echo "Added Hearth to your applications menu ($DESKTOP)."

#!/usr/bin/env bash
# Portable Linux tarball of the bundle: unpack anywhere, run ./hearth. (make tarball)
#
#   installer/linux/make-tarball.sh     # dist/hearth -> dist/hearth-<version>-linux-<arch>.tar.gz
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUNDLE=${BUNDLE:-$ROOT/dist/hearth}
OUT=${OUT:-$ROOT/dist}
if [ ! -x "$BUNDLE/hearth" ]; then
  echo "No Hearth bundle at $BUNDLE. Build it first with: make package" >&2
  exit 1
fi

VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$ROOT/app/__init__.py")
ARCH=$(uname -m)
NAME=hearth-$VERSION-linux-$ARCH
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT

cp -a "$BUNDLE" "$STAGE/$NAME"
install -m 0644 "$ROOT/resources/hearth.desktop" "$STAGE/$NAME/hearth.desktop"
install -m 0644 "$ROOT/resources/icons/hearth-256.png" "$STAGE/$NAME/hearth.png"
install -m 0755 "$ROOT/installer/linux/install-desktop-entry.sh" "$STAGE/$NAME/install-desktop-entry.sh"
cat > "$STAGE/$NAME/README.txt" <<TXT
Hearth $VERSION — portable Linux build

Run:            ./hearth              (the desktop app)
                ./hearth --help       (the command line)
Menu entry:     ./install-desktop-entry.sh    (adds Hearth to your applications menu, for you only;
                ./install-desktop-entry.sh --remove   takes it away again)
Keep all data next to the app (a USB stick):
                HEARTH_HOME="\$PWD/data" ./hearth

Qt needs a few system libraries most desktops already have (Debian/Ubuntu names):
libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
libxcb-render-util0 libxcb-shape0 libxcb-randr0 libegl1 libgl1 fontconfig.
Third-party notices: _internal/resources/NOTICES.md
TXT

mkdir -p "$OUT"
TARBALL="$OUT/$NAME.tar.gz"
tar -C "$STAGE" --owner=0 --group=0 -czf "$TARBALL" "$NAME"
echo "$TARBALL"

#!/usr/bin/env bash
# Build a Debian/Ubuntu package from the PyInstaller bundle (make deb runs this after make package).
#
#   installer/linux/build-deb.sh            # dist/hearth -> dist/hearth_<version>_<arch>.deb
#   BUNDLE=/path/to/hearth OUT=/tmp DEB_COMPRESSION=gzip:1 installer/linux/build-deb.sh
#
# Layout: the bundle in /opt/hearth, /usr/bin/hearth -> ../../opt/hearth/hearth (relative, so a
# package unpacked with dpkg -x also works in place), the .desktop entry, AppStream metadata
# (software centres), hicolor icons, and the copyright file. dpkg's triggers refresh the menu and icon caches; no maintainer scripts needed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUNDLE=${BUNDLE:-$ROOT/dist/hearth}
OUT=${OUT:-$ROOT/dist}
MAINTAINER=${HEARTH_DEB_MAINTAINER:-"The Hearth developers <maintainers@hearth.invalid>"}
# xz level 6 packs the bundle to ~60 MB in 1.5-2.5 minutes on two cores; tests use gzip:1.
COMPRESSION=${DEB_COMPRESSION:-xz:6}

if [ ! -x "$BUNDLE/hearth" ]; then
  echo "No Hearth bundle at $BUNDLE. Build it first with: make package" >&2
  exit 1
fi
command -v dpkg-deb >/dev/null || { echo "dpkg-deb is missing: install the dpkg package." >&2; exit 1; }

VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$ROOT/app/__init__.py")
ARCH=$(dpkg --print-architecture)
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
PKG=$STAGE/hearth_${VERSION}_${ARCH}

mkdir -p "$PKG/DEBIAN" "$PKG/opt" "$PKG/usr/bin" "$PKG/usr/share/applications" \
  "$PKG/usr/share/doc/hearth" "$PKG/usr/share/icons/hicolor/scalable/apps"
cp -a "$BUNDLE" "$PKG/opt/hearth"
ln -s ../../opt/hearth/hearth "$PKG/usr/bin/hearth"
install -m 0644 "$ROOT/resources/hearth.desktop" "$PKG/usr/share/applications/hearth.desktop"
install -D -m 0644 "$ROOT/resources/app.hearth.Hearth.metainfo.xml" \
  "$PKG/usr/share/metainfo/app.hearth.Hearth.metainfo.xml"
for size in 16 24 32 48 64 128 256 512; do
  dir="$PKG/usr/share/icons/hicolor/${size}x${size}/apps"
  mkdir -p "$dir"
  install -m 0644 "$ROOT/resources/icons/hearth-$size.png" "$dir/hearth.png"
done
install -m 0644 "$ROOT/resources/icons/hearth.svg" "$PKG/usr/share/icons/hicolor/scalable/apps/hearth.svg"
{
  echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
  echo "Upstream-Name: Hearth"
  echo
  echo "Files: *"
  echo "Copyright: The Hearth developers"
  echo "License: Apache-2.0"
  echo " On Debian systems, the full text is in /usr/share/common-licenses/Apache-2.0."
  echo " Third-party components and their licences: /opt/hearth/_internal/resources/NOTICES.md"
} > "$PKG/usr/share/doc/hearth/copyright"

# Files readable by all, directories and executables 0755; dpkg-deb makes root the owner.
find "$PKG" -type d -exec chmod 0755 {} +
find "$PKG" -type f -exec chmod go-w,a+r {} +
find "$PKG/opt/hearth/_internal" -type f -name '*.so*' -exec chmod 0644 {} +  # libraries: not programs

# The newest glibc symbol version any bundled binary needs (glibc is never bundled).
GLIBC=$(find "$PKG/opt/hearth" -type f \( -name '*.so*' -o -name hearth \) -print0 \
  | xargs -0 readelf -V --wide 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' \
  | sed 's/GLIBC_//' | sort -uV | tail -1)
INSTALLED_KB=$(du -sk --apparent-size "$PKG" | cut -f1)

# What the bundle takes from the system: glibc, the GL/EGL driver stack, the X connection
# library, and the xcb helper libraries Qt's xcb platform plugin needs (listed even though the
# build machine's copies are bundled, so a bundle built without them still starts).
cat > "$PKG/DEBIAN/control" <<CONTROL
Package: hearth
Version: $VERSION
Section: utils
Priority: optional
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $INSTALLED_KB
Depends: libc6 (>= ${GLIBC:-2.28}), libgl1, libegl1, libxcb1, libx11-6, libx11-xcb1, libxcb-cursor0, libxkbcommon0, libxkbcommon-x11-0, libxcb-icccm4, libxcb-keysyms1, libxcb-image0, libxcb-render-util0, libxcb-shape0, libxcb-randr0, libxcb-xkb1, libfontconfig1, libdbus-1-3
Recommends: fonts-dejavu-core
Description: chat with gpt-oss on your own computer, fully offline
 Hearth is a desktop app for chatting with OpenAI's open-weight gpt-oss
 models locally through llama.cpp. Conversations never leave the computer;
 the model is downloaded once from Hugging Face.
 .
 This package contains the self-contained Hearth bundle (CPU build of
 llama.cpp unless built otherwise) in /opt/hearth and the hearth command.
CONTROL

mkdir -p "$OUT"
DEB="$OUT/hearth_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group "-Z${COMPRESSION%%:*}" "-z${COMPRESSION##*:}" --build "$PKG" "$DEB" >/dev/null
echo "$DEB"

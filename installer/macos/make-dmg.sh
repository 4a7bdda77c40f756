#!/usr/bin/env bash
# Make a drag-to-Applications disk image of Hearth.app (macOS only: needs hdiutil).
#
#   make package                       # on a Mac: builds dist/Hearth.app (PyInstaller BUNDLE)
#   installer/macos/make-dmg.sh        # -> dist/Hearth-<version>-macos-<arch>.dmg
#
# Signing and notarisation (optional, for distribution outside your own machines):
#   CODESIGN_IDENTITY="Developer ID Application: ..." make package   # the spec signs the bundle
#   NOTARY_PROFILE=<keychain profile from `xcrun notarytool store-credentials`> installer/macos/make-dmg.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
APP=${APP:-$ROOT/dist/Hearth.app}
OUT=${OUT:-$ROOT/dist}
if [ "$(uname)" != Darwin ]; then
  echo "make-dmg.sh runs on macOS only (it needs hdiutil)." >&2
  exit 1
fi
if [ ! -d "$APP" ]; then
  echo "No app bundle at $APP. Build it first with: make package" >&2
  exit 1
fi

VERSION=$(/usr/libexec/PlistBuddy -c "Print :CFBundleShortVersionString" "$APP/Contents/Info.plist")
ARCH=$(uname -m)
DMG="$OUT/Hearth-$VERSION-macos-$ARCH.dmg"
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT

# Check the app starts before packing it.
"$APP/Contents/MacOS/hearth" --version

cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
mkdir -p "$OUT"
rm -f "$DMG"
hdiutil create -volname "Hearth $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  codesign --force --sign "$CODESIGN_IDENTITY" --timestamp "$DMG"
fi
if [ -n "${NOTARY_PROFILE:-}" ]; then
  xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_PROFILE" --wait
  xcrun stapler staple "$DMG"
fi
echo "$DMG"

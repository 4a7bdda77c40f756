#!/usr/bin/env bash
# Screenshot of the installed app, started the way a desktop starts it: install the .deb, read
# the Exec line of /usr/share/applications/hearth.desktop, run it on a virtual X display (Xvfb),
# capture the screen to docs/installed-app.png, then remove the package again.
#
#   make deb && sudo packaging/screenshot-installed.sh [path/to/hearth_*.deb]
#   ABOUT_OUT=docs/installed-about.png ...   also captures the About dialog (F1)
#
# Needs (Debian names): xvfb xdotool imagemagick and the xcb libraries the .deb depends on.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEB=${1:-$(ls -t "$ROOT"/dist/hearth_*.deb | head -1)}
OUT=${OUT:-$ROOT/docs/installed-app.png}
DISPLAY_NUM=${DISPLAY_NUM:-:87}
HOME_DIR=$(mktemp -d)
XVFB_PID=
APP_PID=

cleanup() {
  set +e  # a killed app's exit status must not stop the clean-up half way
  [ -n "$APP_PID" ] && kill "$APP_PID" 2>/dev/null && wait "$APP_PID" 2>/dev/null
  [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null
  if [ -z "${KEEP_INSTALLED:-}" ]; then dpkg -r hearth >/dev/null || echo "Could not remove the hearth package: dpkg -r hearth" >&2; fi
  rm -rf "$HOME_DIR"
}
trap cleanup EXIT

dpkg -i "$DEB" >/dev/null
EXEC=$(sed -n 's/^Exec=//p' /usr/share/applications/hearth.desktop | sed 's/ %[fFuU]//g')
echo "Installed $(dpkg-query -W -f='${Package} ${Version}' hearth); Exec line: $EXEC"

# A saved conversation, so the window shows what a person who has used Hearth sees. A tiny
# test model stands in for gpt-oss (no weights are downloaded here).
export HEARTH_HOME=$HOME_DIR
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin  # the installed hearth, not a venv's
if [ -n "${TINY_MODEL:-}" ]; then
  hearth chat --model "$TINY_MODEL" --max-tokens 40 --seed 3 "What makes a good hearth fire?" \
    >/dev/null 2>&1 || true
fi

Xvfb "$DISPLAY_NUM" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
XVFB_PID=$!
export DISPLAY=$DISPLAY_NUM
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

env -u QT_QPA_PLATFORM sh -c "exec $EXEC" >"$HOME_DIR/app.log" 2>&1 &
APP_PID=$!
if ! WINDOW=$(timeout 60 xdotool search --sync --onlyvisible --name Hearth | head -1); then
  echo "No Hearth window appeared within 60 s. App output:" >&2
  cat "$HOME_DIR/app.log" >&2
  exit 1
fi
sleep "${SETTLE_S:-4}"  # let the first paint, fonts and the engine warm-up message settle
mkdir -p "$(dirname "$OUT")"
import -window "$WINDOW" "$OUT"  # the window itself (there is no window manager)
echo "Saved $OUT"

# The About dialog (F1) of the installed app: icon, versions and notices from the bundle.
if [ -n "${ABOUT_OUT:-}" ]; then
  xdotool windowfocus --sync "$WINDOW" key F1
  if ABOUT=$(timeout 20 xdotool search --sync --onlyvisible --name "About Hearth" | head -1); then
    sleep 1
    import -window "$ABOUT" "$ABOUT_OUT"
    echo "Saved $ABOUT_OUT"
  else
    echo "The About dialog did not open on F1." >&2
  fi
fi
grep -i -E "error|traceback|warning" "$HOME_DIR/app.log" | head -5 || true

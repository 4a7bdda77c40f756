#!/usr/bin/env bash
# Qt (even offscreen) needs a few shared libraries from the system; llama.cpp needs a compiler and
# cmake for its first build. Install what is missing when we can (root + apt), otherwise say what to do.
set -u
need=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
have_lib 'libEGL.so.1'        || need+=(libegl1)
have_lib 'libGL.so.1'         || need+=(libgl1)
have_lib 'libxkbcommon.so.0'  || need+=(libxkbcommon0)
have_lib 'libfontconfig.so.1' || need+=(libfontconfig1)
have_lib 'libdbus-1.so.3'     || need+=(libdbus-1-3)
have_lib 'libglib-2.0.so.0'   || need+=(libglib2.0-0)
fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)
command -v cmake >/dev/null || need+=(cmake)
command -v c++ >/dev/null || need+=(g++)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(uname)" = Linux ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "Installing system packages Hearth needs: ${need[*]}"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "Hearth needs these system packages (Debian/Ubuntu names): ${need[*]}" >&2
  echo "Install them with: sudo apt-get install ${need[*]}" >&2
fi
exit 0

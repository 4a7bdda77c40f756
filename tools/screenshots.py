"""Take the README's screenshots: the real app under Xvfb, light and dark.

    .venv/bin/python tools/screenshots.py            # writes docs/screenshot-light.png, -dark.png

Needs (Debian/Ubuntu): xvfb xdotool imagemagick libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4
libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xinerama0 libxcb-shape0 libxcb-randr0
libegl1 libgl1 fonts-dejavu-core. Each shot starts the app on a prepared store (a conversation
with thinking, code and a table: tools/demo_store.py) with the tiny test model loaded, then
captures the X screen with ImageMagick. Waiting with sleep is fine here: this drives a person's
view of the app, it is not a test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.shotlib import on_virtual_screen  # noqa: E402

W, H = 1280, 820


def _run(cmd: list[str], env: dict[str, str], check: bool = True) -> str:
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=check)
    return out.stdout.strip()


_POSITION = r"""
import sys
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.ui.prefs import UiPrefs
from app.ui.window import MainWindow
win = MainWindow(prefs=UiPrefs(last_conversation=int(sys.argv[1])), load_engine=False,
                 first_run=False)
win.resize(int(sys.argv[2]), int(sys.argv[3]))
win.show()
for _ in range(5):
    app.processEvents()
toggle = win.chat.last_assistant().thinking.toggle
p = toggle.mapTo(win, QPoint(toggle.width() // 2, toggle.height() // 2))
print(p.x(), p.y())
win.shutdown()
"""


def _toggle_position(home: Path, cid: int) -> tuple[int, int]:
    """Where the thinking toggle is: the same window laid out offscreen (same fonts)."""
    env = dict(os.environ, HEARTH_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    out = subprocess.run(
        [sys.executable, "-c", _POSITION, str(cid), str(W), str(H)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
    )
    x, y = out.stdout.split()[-2:]
    return int(x), int(y)


def shoot(theme: str, out: Path, model: Path) -> None:
    from app.store import Store
    from tools.demo_store import build

    home = Path(tempfile.mkdtemp(prefix="hearth-shot-"))
    env = dict(os.environ, HEARTH_HOME=str(home), QT_QPA_PLATFORM="xcb")  # on_virtual_screen's
    env.pop("QT_SCALE_FACTOR", None)
    os.environ["HEARTH_HOME"] = str(home)
    with Store.open() as store:
        cid = build(store)
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "ui.json").write_text(json.dumps({"theme": theme, "last_conversation": cid}))
    app = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "hearth"), "gui", "--model", str(model)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wid = _run(["xdotool", "search", "--sync", "--onlyvisible", "--name", "Hearth"], env)
        wid = wid.splitlines()[0]
        _run(["xdotool", "windowmove", wid, "0", "0"], env)
        _run(["xdotool", "windowsize", wid, str(W), str(H)], env)
        time.sleep(4)  # the model loads and the layout settles
        # Expand the "Thought for 3 s" section so the shot shows the reasoning too.
        x, y = _toggle_position(home, cid)
        _run(["xdotool", "mousemove", "--sync", str(x), str(y), "click", "1"], env)
        _run(["xdotool", "mousemove", "--sync", str(W - 5), str(H - 60)], env)
        time.sleep(1)
        _run(["import", "-window", "root", "-crop", f"{W}x{H}+0+0", "+repage", str(out)], env)
    finally:
        app.terminate()
        try:
            app.wait(15)
        except subprocess.TimeoutExpired:
            app.kill()
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    for tool in ("Xvfb", "xdotool", "import"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: install xvfb, xdotool and imagemagick.", file=sys.stderr)
            return 1
    return on_virtual_screen("hearth-shots-", W, H, _shoot_themes)


def _shoot_themes(work: Path) -> int:
    from tests.helpers.tinymodel import write_tiny_gptoss

    model = write_tiny_gptoss(work / "gpt-oss-tiny.gguf")
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    for theme in ("light", "dark"):
        target = docs / f"screenshot-{theme}.png"
        shoot(theme, target, model)
        print(f"wrote {target}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

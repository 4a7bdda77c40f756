"""What the screenshot scripts share: a virtual screen (Xvfb on a display no one else uses), a
person's keys and typing (xdotool), waiting while the app runs, and a capture of the screen's
top-left corner (ImageMagick's ``import``).

Waiting with sleep is fine here: these scripts show a person's view of the app; they are not tests.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def free_display() -> str:
    """An X display no one else uses (another screenshot run may hold one)."""
    n = next(n for n in range(120, 400) if not Path(f"/tmp/.X{n}-lock").exists())
    return f":{n}"


def on_virtual_screen(prefix: str, width: int, height: int, shoot: Callable[[Path], int]) -> int:
    """Run ``shoot(work)`` with the app's data in a fresh folder and Qt on a new Xvfb screen."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    display = free_display()
    os.environ.update(HEARTH_HOME=str(work / "home"), DISPLAY=display, QT_QPA_PLATFORM="xcb")
    os.environ.pop("QT_SCALE_FACTOR", None)
    xvfb = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1)
        return shoot(work)
    finally:
        xvfb.terminate()
        xvfb.wait(10)


def wait(app: Any, cond: Callable[[], bool], seconds: float) -> bool:
    """Let the app run until ``cond()`` or ``seconds`` have passed; whether ``cond()`` holds."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        app.processEvents()
        time.sleep(0.02)
    return bool(cond())


def capture(app: Any, out: Path, width: int, height: int, settle: float = 1.0) -> None:
    """The screen's top-left ``width`` x ``height``, once the app has painted, into ``out``."""
    wait(app, lambda: False, settle)
    crop = f"{width}x{height}+0+0"
    subprocess.run(["import", "-window", "root", "-crop", crop, "+repage", str(out)], check=True)
    print(f"wrote {out}")


def keys(app: Any, *names: str) -> None:
    """Press keys as a person would (xdotool into the focused window)."""
    for name in names:
        subprocess.run(["xdotool", "key", "--clearmodifiers", name], check=True)
        wait(app, lambda: False, 0.15)


def type_text(app: Any, text: str, delay_ms: int = 5) -> None:
    subprocess.run(["xdotool", "type", "--delay", str(delay_ms), text], check=True)
    wait(app, lambda: False, 0.3)


def open_window(width: int, height: int) -> tuple[Any, Any]:
    """The app (QApplication) and its real main window, light theme, shown at the screen's
    top-left corner and ``width`` x ``height``, no model loaded yet."""
    from PySide6.QtWidgets import QApplication

    from app.ui.prefs import UiPrefs
    from app.ui.window import MainWindow

    app = QApplication([])
    win = MainWindow(load_engine=False, first_run=False, prefs=UiPrefs(theme="light"))
    win.move(0, 0)
    win.resize(width, height)
    win.show()
    win.activateWindow()
    return app, win

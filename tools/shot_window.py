"""Screenshots of the window at 1400x900 and 800x600, driven from the keyboard (xdotool keys
into the real app under Xvfb): long words that wrap, the Chat settings panel in a small window,
a chat written and used with the keyboard only (focus shown in the dark theme), the ⋯ menu and
Settings → General.

    .venv/bin/python tools/shot_window.py   # writes docs/window-*.png, docs/keyboard-*.png, …

The real window, engine host (the tiny test model, its replies scripted) and store. Waiting with
sleep is fine here: this shows a person's view of the app; it is not a test. Needs what
tools/screenshots.py needs.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.shotlib import (  # noqa: E402
    capture,
    keys,
    on_virtual_screen,
    open_window,
    type_text,
    wait,
)

W, H = 1400, 900
B64 = base64.b64encode(bytes(range(200))).decode()
URL = "https://example.com/download?token=" + "a1b2c3d4e5" * 12
LONG_ANSWER = (
    "Here is the key, as one unbroken line:\n\n"
    f"{B64}\n\n"
    f"and the link it came from: {URL}\n\n"
    "这是一个很长的中文句子，用来测试在小窗口中换行是否正确显示所有的文字。\n\n"
    "هذه جملة عربية طويلة لاختبار الالتفاف من اليمين إلى اليسار.\n\n"
    "Every line above wraps inside the column: nothing runs past its edge."
)
KEYBOARD_REPLY = (
    "<|channel|>analysis<|message|>A short example with a generator.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>Read the file **a chunk at a time**:\n\n"
    "```python\nimport pandas as pd\n\nfor chunk in pd.read_csv('big.csv', chunksize=100_000):\n"
    "    print(len(chunk))\n```\n\nEach chunk is a DataFrame of at most 100,000 rows.<|return|>"
)


def main() -> int:
    return on_virtual_screen("hearth-windowshot-", W, H, _shoot)


def _tab_to(app: Any, target: Any, limit: int = 60) -> None:
    """Tab until ``target`` has the focus (the keys are the user's; looking is ours)."""
    from PySide6.QtWidgets import QApplication

    for _ in range(limit):
        if QApplication.focusWidget() is target:
            return
        keys(app, "Tab")
    raise RuntimeError(f"Tab never reached {target}")


def _shoot(work: Path) -> int:
    from PySide6.QtCore import QTimer

    from app.engine.options import LoadOptions
    from app.store import Store
    from tests.helpers.gui import script_next
    from tests.helpers.tinymodel import write_tiny_gptoss

    docs = ROOT / "docs"
    model = write_tiny_gptoss(work / "gpt-oss-tiny.gguf")
    with Store.open() as store:
        older = store.create_conversation("Plan a three-day trip to Lisbon")
        store.add_message(older.id, "user", "Plan a three-day trip to Lisbon in May.")
        store.add_message(older.id, "assistant", "Day 1: Alfama and the castle. …")
        c = store.create_conversation("A key and a link that do not fit a line")
        store.add_message(c.id, "user", f"Why does {URL} not open?")
        store.add_message(
            c.id,
            "assistant",
            LONG_ANSWER,
            stats={"generated_tokens": 412, "generation_tps": 2045.5, "ttft_s": 0.02},
        )
        cid = c.id
    app, win = open_window(W, H)
    win.load_model(LoadOptions(model_path=str(model), n_ctx=8192, n_threads=1))
    wait(app, lambda: win.engine.ready, 60)
    win.conversations.open(cid)
    capture(app, docs / "window-1400x900.png", W, H)

    # 800x600: the settings panel open, the sidebar folded away to leave the chat room.
    win.resize(800, 600)
    wait(app, lambda: win.width() == 800, 5)
    win.composer.focus()
    keys(app, "ctrl+comma")
    capture(app, docs / "window-800x600-settings.png", 800, 600)
    keys(app, "ctrl+comma")

    # One chat from the keyboard only, in the dark theme: new chat, type, send, then Tab to the
    # reply's actions.
    win.set_theme("dark")
    keys(app, "ctrl+n")
    script_next(win, KEYBOARD_REPLY)
    type_text(app, "How do I read a large CSV file in Python?")
    keys(app, "Return")
    wait(app, lambda: not win.busy and len(win.chat.widgets) == 2, 60)
    reply = win.chat.widgets[-1]
    _tab_to(app, reply.copy_button)
    capture(app, docs / "keyboard-focus-dark.png", 800, 600)
    keys(app, "Return")  # Copy: "Copied"
    assert reply.thinking is not None
    keys(app, "shift+Tab")  # back to the reply's Thinking toggle …
    _tab_to(app, reply.thinking.toggle)
    keys(app, "space")  # … which opens
    capture(app, docs / "keyboard-thinking-dark.png", 800, 600)

    # The ⋯ menu, opened from the keyboard, and Settings → General.
    win.set_theme("light")
    _tab_to(app, win.chrome.menu_button)

    def capture_menu() -> None:  # runs inside the open menu's own event loop
        capture(app, docs / "window-menu.png", 800, 600)
        subprocess.run(["xdotool", "key", "Escape"], check=True)

    QTimer.singleShot(500, capture_menu)
    keys(app, "space")  # returns once the menu has closed
    win.resize(1000, 700)
    wait(app, lambda: win.width() == 1000, 5)

    def show_general() -> None:
        from app.ui.settings.dialog import SettingsDialog

        dialog = SettingsDialog(win, "General")
        dialog.move(0, 0)
        dialog.resize(760, 640)
        dialog.show()
        capture(app, docs / "settings-general.png", 760, 640)
        dialog.close()

    show_general()
    win.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

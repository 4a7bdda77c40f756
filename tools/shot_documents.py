"""Your files and your maths, tried as a user would, in the real app under Xvfb:

1. attach the PDF of a paper with the paperclip (the file dialog typed into) and ask about it;
2. add a notes folder in Settings → Library, allow it in the chat's header, ask a question whose
   answer is in one note, see the citation and click it (the viewer opens at the lines);
3. ask for the quadratic formula and see it typeset.

    .venv/bin/python tools/shot_documents.py   # writes docs/attach-*.png, library-*.png, maths.png

The real window, engine host, store, library index and renderer; the model is the tiny test model
(it writes gibberish), so its replies are scripted (``tests.helpers.gui.script_next``), searches
and all. Typing and clicks go through xdotool like a person's. Waiting with sleep is fine here:
this is a person's view of the app, not a test. Needs what tools/screenshots.py needs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.shotlib import capture, on_virtual_screen, open_window, wait  # noqa: E402

W, H = 1280, 860


DOCS = ROOT / "docs"

PAPER = [
    [
        "Banked Fires: Keeping Local Language Models Warm Between Sessions",
        "A. Ember and C. Hearthstone",
        "",
        "Abstract",
        "A chat with a local language model is read again from its first token each time it",
        "is reopened. We measure what this costs on consumer hardware and show that saving the",
        "model's attention cache to disk after each reply, keyed by the tokens it holds, lets a",
        "reopened chat answer after reading only the new message. On a laptop CPU a 6,000-token",
        "chat answers in 1.4 s instead of 38 s; the cache costs 48 KiB per token on disk.",
        "",
        "1 Introduction",
        "Local models keep conversations private, but every restart throws away the work the",
        "model did to read them. Servers keep a warm cache in memory; a desktop app cannot.",
    ],
    [
        "2 Method",
        "After each reply we write the key/value cache of the prompt prefix that the next",
        "request will share. The file is named by a hash of the model file, the load options",
        "that shape the cache and the token sequence. A mismatch in any of them means the",
        "file is ignored and the chat is read again: the cache is never a source of truth.",
        "",
        "3 Results",
        "Reopening a 6,000-token chat: 38.2 s without the cache, 1.4 s with it (27x faster).",
        "Disk use grows by 48 KiB per token; an LRU budget of 2 GB keeps about 40 chats warm.",
        "",
        "4 Limitations",
        "The cache is tied to one build of the inference library: an upgrade invalidates it.",
    ],
]

NOTES = {
    "car/tyres.md": (
        "# Tyres\n\nBought four all-season tyres in March (Fitters & Sons, 412 EUR).\n\n"
        "Pressure, cold:\n- front: 2.3 bar\n- rear: 2.5 bar (2.8 bar fully loaded)\n\n"
        "Rotate front and rear every 10,000 km.\n"
    ),
    "house/boiler.md": (
        "# Boiler\n\nService every autumn; last done in October.\n"
        "Pressure when cold should be 1.0 to 1.5 bar.\n"
    ),
    "garden/bulbs.md": "# Bulbs\n\nPlant tulips in October, six inches deep.\n",
    "kitchen/bread.md": "# Bread\n\n500 g flour, 350 g water, 10 g salt, 5 g yeast.\n",
    "travel/ferry.md": "# Ferry\n\nThe ferry to the island leaves at 07:40 and 16:10.\n",
}

PAPER_ANSWER = (
    "<|channel|>analysis<|message|>The user attached a paper; summarise its claim and numbers."
    "<|end|><|start|>assistant<|channel|>final<|message|>"
    "**Banked Fires** argues that a local chat app should save the model's attention (KV) "
    "cache to disk after each reply, so a reopened chat reads only the new message.\n\n"
    "- **Method:** the cache of the prompt prefix the next request shares is written to a file "
    "named by a hash of the model, the cache-shaping load options and the tokens; any mismatch "
    "means the chat is simply read again.\n"
    "- **Result:** reopening a 6,000-token chat takes **1.4 s instead of 38.2 s** (27x), at "
    "48 KiB of disk per token; a 2 GB budget keeps about 40 chats warm.\n"
    "- **Limitation:** the files are tied to one build of the inference library.<|return|>"
)
SEARCH = (
    "<|channel|>analysis<|message|>The answer should be in the user's notes.<|end|>"
    "<|start|>assistant<|channel|>analysis to=browser.search code<|message|>"
    '{"query": "front tyre pressure"}<|call|>'
)
OPEN = (
    "<|channel|>analysis<|message|>The tyres note matches; open it.<|end|>"
    "<|start|>assistant<|channel|>analysis to=browser.open code<|message|>"
    '{"id": 0}<|call|>'
)
NOTES_ANSWER = (
    "<|channel|>analysis<|message|>Lines 5-7 give the pressures.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>Your tyres note says **2.3 bar** for the "
    "front tyres (cold) 【1†L5-L7】. The rear ones take 2.5 bar, or 2.8 bar fully loaded."
    "<|return|>"
)
MATHS_ANSWER = (
    "<|channel|>analysis<|message|>State the formula and the discriminant.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>For $ax^2 + bx + c = 0$ with $a \\neq 0$, "
    "the solutions are\n\n$$x = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}$$\n\n"
    "The **discriminant** $\\Delta = b^2 - 4ac$ says how many real roots there are:\n\n"
    "- $\\Delta > 0$: two, $x_{1,2} = \\frac{-b \\pm \\sqrt{\\Delta}}{2a}$\n"
    "- $\\Delta = 0$: one, $x = -\\frac{b}{2a}$\n"
    "- $\\Delta < 0$: none (two complex ones)\n\n"
    "For example $x^2 - 5x + 6 = 0$ gives $x = \\frac{5 \\pm 1}{2}$, so $x = 3$ or $x = 2$."
    "<|return|>"
)


def xdo(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=30)


def later(seconds: float, *commands: list[str]) -> subprocess.Popen[bytes]:
    """Run xdotool commands after a pause, while the app sits in a dialog's own event loop."""
    script = f"sleep {seconds}; " + "; ".join(
        "xdotool " + " ".join(f"'{a}'" for a in c) for c in commands
    )
    return subprocess.Popen(["sh", "-c", script])


def main() -> int:
    return on_virtual_screen("hearth-docshot-", W, H, _try)


def _capture(app: Any, name: str) -> None:
    capture(app, DOCS / name, W, H, settle=1.2)


def _click(app: Any, widget: Any, x: int | None = None, y: int | None = None) -> None:
    from PySide6.QtCore import QPoint

    p = widget.mapToGlobal(
        QPoint(widget.width() // 2 if x is None else x, widget.height() // 2 if y is None else y)
    )
    xdo("mousemove", str(p.x()), str(p.y()))
    xdo("click", "1")
    wait(app, lambda: False, 0.3)


def _type(app: Any, widget: Any, text: str) -> None:
    _click(app, widget)  # no window manager: click into the field before typing
    xdo("type", "--delay", "15", text)
    wait(app, lambda: False, 0.3)


def _try(work: Path) -> int:

    from app.engine.options import LoadOptions
    from app.ui.markdown_view import RichLabel
    from app.ui.settings.dialog import SettingsDialog
    from tests.attachments.pdfgen import write_pdf
    from tests.helpers.gui import script_next
    from tests.helpers.tinymodel import write_tiny_gptoss

    files = work / "Documents"
    files.mkdir()
    paper = write_pdf(files / "banked-fires.pdf", PAPER)
    notes = files / "notes"
    for rel, text in NOTES.items():
        (notes / rel).parent.mkdir(parents=True, exist_ok=True)
        (notes / rel).write_text(text)
    model = write_tiny_gptoss(work / "gpt-oss-tiny.gguf", context_length=65536)

    app, win = open_window(W, H)
    win.load_model(LoadOptions(model_path=str(model), n_ctx=16384, n_threads=1))
    wait(app, lambda: win.engine.ready, 90)

    # 1. A paper, attached with the paperclip: the file dialog opens, the path is typed.
    typing = later(2.5, ["type", "--delay", "10", str(paper)], ["key", "Return"])
    _click(app, win.composer.attach_button)
    typing.wait(30)
    bar = win.composer.attachments
    wait(app, lambda: len(bar.chips) == 1 and not bar.reading, 60)
    _type(app, win.composer.edit, "What does this paper claim, and how big is the speed-up?")
    _capture(app, "attach-chips.png")
    script_next(win, PAPER_ANSWER)
    xdo("key", "Return")
    wait(app, lambda: win.busy, 10)
    wait(app, lambda: not win.busy, 120)
    _capture(app, "attach-answer.png")

    # 2. A notes folder: Settings → Library → Add folder… (the folder dialog typed into).
    win.conversations.new_chat()
    dialog = SettingsDialog(win, "Library")
    dialog.move(160, 90)
    dialog.show()
    page = dialog.page("Library")
    typing = later(2.5, ["type", "--delay", "10", str(notes)], ["key", "Return"])
    _click(app, page.add_button)  # type: ignore[attr-defined]
    typing.wait(30)
    wait(app, lambda: bool(win.library.folders()), 10)
    wait(app, lambda: not win.library.busy, 60)
    _capture(app, "library-settings.png")
    dialog.close()
    # Allow it in this chat: the header's Library button, the folder ticked in its menu.
    picking = later(1.5, ["key", "Down"], ["key", "Return"])
    _click(app, win.folders_button)
    picking.wait(30)
    wait(app, lambda: win.folders_button.text() == "Library: notes", 10)
    script_next(win, SEARCH, OPEN, NOTES_ANSWER)
    _type(app, win.composer.edit, "What pressure should my front tyres be?")
    xdo("key", "Return")
    wait(app, lambda: win.busy, 10)
    wait(app, lambda: not win.busy, 120)
    win.chat.scroll_to_bottom()
    _capture(app, "library-answer.png")
    # Click the citation like a person: where its text is in the answer's paragraph.
    reply = win.chat.widgets[-1]
    label = next(w for w in reply.markdown.blocks() if isinstance(w, RichLabel))
    fm = label.fontMetrics()
    before = "Your tyres note says 2.3 bar for the front tyres (cold) "
    x = fm.horizontalAdvance(before) + fm.horizontalAdvance(" L5–7 ") // 2
    if x < label.width():
        _click(app, label, x, fm.height() // 2 + 1)
    if win.library.viewer is None:
        print("the click missed the citation; opening it as a click would")
        label.linkActivated.emit("cite:1:5:7")
    viewer = win.library.viewer
    assert viewer is not None
    viewer.move(260, 120)
    wait(app, lambda: False, 0.5)
    _capture(app, "library-citation.png")
    print("cited lines shown:", viewer.highlighted(), [viewer.line_text(n) for n in (5, 6, 7)])
    viewer.close()

    # 3. Maths.
    win.conversations.new_chat()
    script_next(win, MATHS_ANSWER)
    _type(app, win.composer.edit, "What is the quadratic formula?")
    xdo("key", "Return")
    wait(app, lambda: win.busy, 10)
    wait(app, lambda: not win.busy, 120)
    wait(app, lambda: False, 2.0)  # formulas typeset on their thread
    _capture(app, "maths.png")
    win.set_theme("dark")
    wait(app, lambda: False, 2.0)
    _capture(app, "maths-dark.png")
    win.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

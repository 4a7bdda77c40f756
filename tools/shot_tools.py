"""Screenshots of a tool call in the real app under Xvfb: the model asks to run Python (the card
asks for consent), then the plot, the output and the answer.

    .venv/bin/python tools/shot_tools.py      # writes docs/tool-consent.png, docs/tool-plot.png

The real window, engine host (the tiny test model, its replies scripted: it cannot plot by
itself), sandboxed kernel and store. Waiting with sleep is fine here: this shows a person's view
of the app; it is not a test. Needs what tools/screenshots.py needs.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.shotlib import capture, on_virtual_screen, open_window, wait  # noqa: E402

W, H = 1280, 860
CODE = """import numpy as np
import matplotlib.pyplot as plt

x = np.linspace(0, 2 * np.pi, 400)
plt.figure(figsize=(6, 3))
plt.plot(x, np.sin(x), label="sin(x)")
plt.axhline(0.5, color="gray", linestyle="--", label="0.5")
plt.legend()
plt.show()

# where sin(x) = 0.5 on [0, 2π]
roots = [np.pi / 6, 5 * np.pi / 6]
print([round(float(r), 4) for r in roots], np.sin(roots).round(6))"""
CALL = (
    "<|channel|>analysis<|message|>I will plot sin(x) and mark where it crosses 0.5.<|end|>"
    f"<|start|>assistant<|channel|>analysis to=python code<|message|>{CODE}<|call|>"
)
ANSWER = (
    "<|channel|>analysis<|message|>The roots are pi/6 and 5pi/6.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>The plot is above. On $[0, 2\\pi]$, "
    "$\\sin x = 0.5$ at two points:\n\n"
    "- $x = \\frac{\\pi}{6} \\approx 0.5236$\n- $x = \\frac{5\\pi}{6} \\approx 2.618$\n<|return|>"
)


def main() -> int:
    return on_virtual_screen("hearth-toolshot-", W, H, _shoot)


def _capture(app, out: Path) -> None:  # type: ignore[no-untyped-def]
    capture(app, out, W, H)


def _shoot(work: Path) -> int:

    from app.engine.options import LoadOptions
    from app.tools.settings import ToolSettings
    from tests.helpers.gui import script_next
    from tests.helpers.tinymodel import write_tiny_gptoss

    settings = ToolSettings()
    settings.python.mode = "ask"
    settings.save()
    model = write_tiny_gptoss(work / "gpt-oss-tiny.gguf")
    app, win = open_window(W, H)
    win.load_model(LoadOptions(model_path=str(model), n_ctx=8192, n_threads=1))
    wait(app, lambda: win.engine.ready, 60)
    script_next(win, CALL, ANSWER)
    win.conversations.send("Plot sin(x) from 0 to 2π and tell me where it is 0.5.")

    def card():  # type: ignore[no-untyped-def]
        w = win.turns.streaming
        c = w.pending_card() if w is not None else None
        return c if c is not None and c.waiting else None

    wait(app, lambda: card() is not None, 120)
    docs = ROOT / "docs"
    _capture(app, docs / "tool-consent.png")
    pending = card()
    assert pending is not None
    pending.run_button.click()
    wait(app, lambda: not win.busy, 120)
    reply = win.chat.widgets[-1]
    reply.cards[0].set_expanded(True)
    wait(app, lambda: False, 1.5)
    win.chat.scroll_to_bottom()
    _capture(app, docs / "tool-plot.png")
    win.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

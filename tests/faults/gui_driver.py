"""The real desktop app, driven like a person would, for the SIGKILL trials.

Run as ``python -m tests.faults.gui_driver MODEL PROMPT [THINKING [ANSWER]]`` under its own
``HEARTH_HOME`` with ``QT_QPA_PLATFORM=offscreen`` (PROMPT ``--check``: only start, report and
quit; THINKING: that many tokens of analysis before the answer; ANSWER: the answer's tokens,
30,000 unless given). It builds the app as ``hearth gui`` does (``run_app``'s QApplication and
MainWindow, the store opened by the window, the engine host as a child process), reports what the
window shows at start (one JSON line: the chats listed, the last chat's reply status and text
length in the view), loads MODEL, sends PROMPT and reports every on-screen update of the reply
(``{"t": monotonic seconds, "c": characters shown, "r": thinking characters shown}``) until it
is killed.

The reply is forced to a run of words (the engine's scripted-reply testing aid), so its text and
length are known.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

WORDS = ["Hello", "Ġworld"]


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def script(thinking: int, answer: int = 30000) -> list[str]:
    """``thinking`` word tokens of analysis (none: straight to the answer), then ``answer``."""
    head: list[str] = []
    if thinking:
        head = ["<|channel|>", "analysis", "<|message|>", *(WORDS * (thinking // 2))]
        head += ["<|end|>", "<|start|>", "assistant"]
    return [*head, "<|channel|>", "final", "<|message|>", *(WORDS * (answer // 2))]


def main() -> int:
    model, prompt = sys.argv[1], sys.argv[2]
    thinking = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    answer = int(sys.argv[4]) if len(sys.argv) > 4 else 30000
    from PySide6.QtWidgets import QApplication

    from app.engine.options import LoadOptions
    from app.ui.prefs import UiPrefs
    from app.ui.window import MainWindow

    app = QApplication(sys.argv[:1])
    # first_run=False: the welcome panel probes hardware, which is the model manager's to test.
    win = MainWindow(load_engine=False, prefs=UiPrefs(theme="light"), first_run=False)
    win.show()
    app.processEvents()
    store = win.store
    assert store is not None
    convs = store.list_conversations()
    last_status = None
    shown = {"c": 0, "r": 0}
    if convs:
        win.conversations.open(convs[0].id)
        reply = win.chat.last_assistant()
        last_status = None if reply is None else reply.data.status
        label = "" if reply is None else reply.status_label.text()
        if reply is not None:
            shown = {"c": len(reply.data.content), "r": len(reply.data.reasoning)}
    else:
        label = ""
    emit(
        {
            "start": True,
            "visible": win.isVisible(),
            "rows": win.sidebar.model.rowCount(),
            "last_status": last_status,
            "last_label": label,
            "last_shown": shown,
            "recovered": store.recovered,
            "readonly": store.readonly,
            "banner": win.banner.label.text() if win.banner.isVisible() else "",
        }
    )

    if prompt == "--check":  # only report how the app starts
        win.shutdown()
        return 0

    def hook(req: Any) -> None:
        req.script = script(thinking, answer)
        req.sampling.max_tokens = thinking + answer + 1000

    win.turns.request_hook = hook

    from app.engine.events import ContentEvent, PreambleEvent, ReasoningEvent

    seen = {"r": 0, "c": 0}

    def on_progress(events: Any) -> None:
        for ev in events:
            if isinstance(ev, ReasoningEvent):
                seen["r"] += len(ev.text)
            elif isinstance(ev, ContentEvent | PreambleEvent):
                seen["c"] += len(ev.text)
        emit({"t": time.monotonic(), "c": seen["c"], "r": seen["r"]})

    def on_loaded(_info: Any) -> None:
        win.conversations.new_chat()
        win.conversations.send(prompt)
        assert win.turns.worker is not None, win.banner.label.text()
        # Connected after the window's own slot: this runs once the text is on screen.
        win.turns.worker.progress.connect(on_progress)

    def on_failed(kind: str, message: str) -> None:
        emit({"error": f"{kind}: {message}"})
        app.exit(3)

    win.engine.loaded.connect(on_loaded)
    win.engine.failed.connect(on_failed)
    win.load_model(LoadOptions(model_path=model, n_ctx=32768, n_threads=1))
    app.aboutToQuit.connect(win.shutdown)
    return int(app.exec())


if __name__ == "__main__":
    raise SystemExit(main())

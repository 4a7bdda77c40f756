"""What the window tests share (tests/ui, tests/faults): scripted replies through the real engine,
loading the tiny model into a window, waiting for a reply, and the threads a window left."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QThread

from app.engine.client import GenerateRequest
from app.engine.options import LoadOptions

if TYPE_CHECKING:
    from app.ui.window import MainWindow

# A reply that thinks, then answers with Markdown (the engine forces these tokens).
THINK = "The user greets me. Reply briefly."
ANSWER = "Hello **there**.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nprint('hi')\n```\n"


def harmony_reply(answer: str, thinking: str = "") -> str:
    head = f"<|channel|>analysis<|message|>{thinking}<|end|><|start|>assistant" if thinking else ""
    return f"{head}<|channel|>final<|message|>{answer}<|return|>"


def load(qtbot, win: MainWindow, model: Path, n_ctx: int = 4096) -> None:  # type: ignore[no-untyped-def]
    win.load_model(LoadOptions(model_path=str(model), n_ctx=n_ctx, n_threads=1))
    qtbot.waitUntil(lambda: not win.engine.busy, timeout=60_000)
    assert win.engine.ready, win.banner.label.text()


def script_next(win: MainWindow, *replies: str) -> list[GenerateRequest]:
    """Force the next replies' tokens (in order); returns the requests as they were sent."""
    queue = list(replies)
    sent: list[GenerateRequest] = []

    def hook(req: GenerateRequest) -> None:
        if queue:
            req.script = queue.pop(0)
        sent.append(req)

    win.turns.request_hook = hook
    return sent


def wait_reply(qtbot, win: MainWindow, timeout: int = 30_000) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not win.busy, timeout=timeout)


def running_qthreads() -> list[QThread]:
    """Every QThread object still alive and running."""
    return [o for o in gc.get_objects() if isinstance(o, QThread) and o.isRunning()]

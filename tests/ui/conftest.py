"""Fixtures for the desktop app's tests: a real window over a real store, and the real engine
(child process, llama.cpp) on the tiny gpt-oss model with scripted replies for exact content."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QThread

from app.engine.client import GenerateRequest
from app.engine.options import LoadOptions
from app.store import Store

# A reply that thinks, then answers with Markdown (the engine forces these tokens).
THINK = "The user greets me. Reply briefly."
ANSWER = "Hello **there**.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nprint('hi')\n```\n"


def harmony_reply(answer: str, thinking: str = "") -> str:
    head = f"<|channel|>analysis<|message|>{thinking}<|end|><|start|>assistant" if thinking else ""
    return f"{head}<|channel|>final<|message|>{answer}<|return|>"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The offscreen platform plugin warns about a window-manager feature it lacks; that is the
    # test platform talking, not the app (every other Qt warning still fails the test).
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.qt_log_ignore("propagateSizeHints"))


@pytest.fixture
def make_window(qtbot, store: Store) -> Iterator[Callable[..., object]]:  # type: ignore[no-untyped-def]
    """Build the real main window (offscreen); shut down at the end, checking no thread is left."""
    from app.ui.prefs import UiPrefs
    from app.ui.window import MainWindow

    made: list[MainWindow] = []

    def make(**kw: object) -> MainWindow:
        kw.setdefault("prefs", UiPrefs(theme="light"))
        kw.setdefault("first_run", False)  # its hardware probe is the model manager's to test
        win = MainWindow(store, load_engine=False, **kw)  # type: ignore[arg-type]
        qtbot.addWidget(win)
        win.show()
        # Shortcuts only fire in the active window.
        win.activateWindow()
        qtbot.waitUntil(win.isActiveWindow, timeout=5000)
        made.append(win)
        return win

    yield make
    for win in made:
        win.shutdown()
        assert win.turns.worker is None and win.turns.worker_thread is None
        assert win.engine._thread is None
        assert win.engine.client is None
    # Every QThread we started has finished (their objects are gone or stopped).
    assert not [t for t in _qthreads() if t.isRunning()]


def _qthreads() -> list[QThread]:
    import gc

    return [o for o in gc.get_objects() if isinstance(o, QThread)]


@pytest.fixture
def window(make_window):  # type: ignore[no-untyped-def]
    return make_window()


def load(qtbot, win, model: Path, n_ctx: int = 4096) -> None:  # type: ignore[no-untyped-def]
    win.load_model(LoadOptions(model_path=str(model), n_ctx=n_ctx, n_threads=1))
    qtbot.waitUntil(lambda: not win.engine.busy, timeout=60_000)
    assert win.engine.ready, win.banner.label.text()


@pytest.fixture
def ready_window(qtbot, window, tiny_model: Path):  # type: ignore[no-untyped-def]
    load(qtbot, window, tiny_model)
    return window


def script_next(win, *replies: str) -> list[GenerateRequest]:  # type: ignore[no-untyped-def]
    """Force the next replies' tokens (in order); returns the requests as they were sent."""
    queue = list(replies)
    sent: list[GenerateRequest] = []

    def hook(req: GenerateRequest) -> None:
        if queue:
            req.script = queue.pop(0)
        sent.append(req)

    win.turns.request_hook = hook
    return sent


def wait_reply(qtbot, win, timeout: int = 30_000) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not win.busy, timeout=timeout)

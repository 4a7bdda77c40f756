"""Shared fixtures: every test gets its own HEARTH_HOME; one tiny gpt-oss GGUF per session; the
real main window (tests/ui, tests/faults)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from app.store import Store
    from app.ui.window import MainWindow

# Qt and Hugging Face read these at import time: set them before anything imports them.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests that talk to the fake hub turn this off

# Fixtures shared across folders live beside their helpers: the fake hub and the tiny model
# served by it (the model manager's tests, its CLI's, the hostile-hub faults), the `hearth`
# command in a home of its own (the tools' tests and their CLI's).
pytest_plugins = ["tests.helpers.fakehub", "tests.helpers.hub", "tests.helpers.tools"]


@pytest.fixture(autouse=True)
def hearth_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HEARTH_HOME (and HF cache) for each test, so no test sees another's files."""
    home = tmp_path_factory.mktemp("hearth-home")
    monkeypatch.setenv("HEARTH_HOME", str(home))
    monkeypatch.setenv("HF_HOME", str(home / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hf" / "hub"))
    return home


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real gpt-oss-architecture GGUF (a few hundred KB) that llama.cpp loads and runs."""
    from tests.helpers.tinymodel import write_tiny_gptoss

    return write_tiny_gptoss(tmp_path_factory.mktemp("models") / "tiny-gpt-oss.gguf")


@pytest.fixture(scope="session")
def long_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with a long context, so a reply streams for seconds (stop, kill, overflow)."""
    from tests.helpers.tinymodel import write_tiny_gptoss

    return write_tiny_gptoss(
        tmp_path_factory.mktemp("models-long") / "tiny-long.gguf", context_length=65536
    )


@pytest.fixture
def db_path(hearth_home: Path) -> Path:
    """Where this test's store lives (in its HEARTH_HOME)."""
    from app import paths

    return paths.database_path()


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """The real store (a real SQLite file) in this test's HEARTH_HOME."""
    from app.store import Store

    s = Store.open(db_path)
    yield s
    s.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Qt's offscreen platform plugin warns that it lacks a window-manager feature: the test
    # platform talking, not the app (every other Qt warning still fails the test).
    for item in items:
        item.add_marker(pytest.mark.qt_log_ignore("propagateSizeHints"))


@pytest.fixture
def make_window(qtbot, store: Store) -> Iterator[Callable[..., MainWindow]]:  # type: ignore[no-untyped-def]
    """Build the real main window (offscreen) over the real store; at the end shut it down and
    check that no reply, engine or other QThread was left running."""
    from app.ui.prefs import UiPrefs
    from app.ui.window import MainWindow
    from tests.helpers.gui import running_qthreads

    made: list[MainWindow] = []

    def make(**kw: Any) -> MainWindow:
        kw.setdefault("prefs", UiPrefs(theme="light"))
        kw.setdefault("first_run", False)  # its hardware probe is the model manager's to test
        win = MainWindow(store, load_engine=False, **kw)
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
    assert not running_qthreads()


@pytest.fixture
def window(make_window: Callable[..., MainWindow]) -> MainWindow:
    return make_window()

"""Fault-injection helpers: a real window fixture and a way to run code without root's power."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import Store

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Qt's offscreen plugin warns that it lacks a window-manager feature: the test platform
    # talking, not the app (every other Qt warning still fails the test).
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.qt_log_ignore("propagateSizeHints"))


def unprivileged(cmd: list[str]) -> list[str]:
    """``cmd`` run without root's power to ignore file permissions.

    Tests run as root in CI containers, where chmod means nothing; dropping every capability
    (setpriv) makes the permission bits apply again, as for a normal user."""
    if os.geteuid() != 0:
        return cmd
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be tested")
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all", *cmd]


def run_python(code: str, *args: str, unprivileged_: bool = True, timeout: float = 120) -> str:
    """Run ``code`` in a fresh Python (without root's file powers); returns its stdout."""
    cmd = [sys.executable, "-c", code, *args]
    if unprivileged_:
        cmd = unprivileged(cmd)
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


@pytest.fixture
def window(qtbot, store: Store) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """The real main window (offscreen) over the real store; shut down and checked at the end."""
    from app.ui.prefs import UiPrefs
    from app.ui.window import MainWindow

    win = MainWindow(store, load_engine=False, prefs=UiPrefs(theme="light"), first_run=False)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.shutdown()
    assert win.turns.worker is None and win.turns.worker_thread is None
    assert win.engine._thread is None and win.engine.client is None

"""The window's engine controller: closing never waits on a host that stopped answering."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from app.engine.options import LoadOptions
from app.ui.engine_control import EngineController

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")


def test_close_during_a_load_on_a_frozen_host_ends_it(qtbot, tiny_model: Path) -> None:  # type: ignore[no-untyped-def]
    ctl = EngineController()
    failures: list[tuple[str, str]] = []
    ctl.failed.connect(lambda kind, msg: failures.append((kind, msg)))
    ctl.load(LoadOptions(model_path=str(tiny_model), n_ctx=512, n_threads=1))
    qtbot.waitUntil(lambda: ctl.ready, timeout=60_000)
    client = ctl.client
    assert client is not None and client.pid
    pid = client.pid

    os.kill(pid, signal.SIGSTOP)  # the host now never answers
    try:
        ctl.load(LoadOptions(model_path=str(tiny_model), n_ctx=512, n_threads=1))
        assert ctl.busy
        ctl.close()
    finally:
        if ctl.client is not None:  # only when close() did not do its job
            os.kill(pid, signal.SIGKILL)
    assert ctl.client is None and not ctl.busy
    assert (
        not Path(f"/proc/{pid}").exists() or "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
    )
    qtbot.wait(50)  # let any queued signal arrive: a closed controller reports nothing
    assert failures == []

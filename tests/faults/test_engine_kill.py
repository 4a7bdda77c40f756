"""SIGKILL of the engine host, mid-reply and during a load, in the real window (pytest-qt).

One window, one store, the real engine host on the tiny model. Each mid-reply trial streams a
long scripted reply, kills the host after a random amount of text, and checks: the window is
still there, the banner explains it with "Reload engine", the partial reply is kept (on screen
and on disk, marked error), and Reload brings a fresh host that answers. Each during-load trial
freezes the host, asks for a load, kills it while the load is in flight, and checks the banner
and that "Try again" loads the model.
"""

from __future__ import annotations

import array
import os
import random
import signal
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.engine.options import LoadOptions
from tests.helpers.tinymodel import WORD_TOKENS

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")

MID_REPLY_TRIALS = 10
DURING_LOAD_TRIALS = 5
LONG = ["<|channel|>", "final", "<|message|>", *(WORD_TOKENS[:2] * 12000)]


def _pending(client) -> int:  # type: ignore[no-untyped-def]
    """Bytes written to the host's stdin that it has not read yet (Linux: FIONREAD on a pipe)."""
    import fcntl
    import termios

    buf = array.array("i", [0])
    fcntl.ioctl(client._proc.stdin.fileno(), termios.FIONREAD, buf)
    return int(buf[0])


def _stopped(pid: int) -> bool:
    """All threads of ``pid`` are in the stopped state (Linux /proc)."""
    states = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        stat = (task / "stat").read_text()
        states.append(stat[stat.rindex(")") + 2])
    return bool(states) and all(st == "T" for st in states)


def _options(model: Path) -> LoadOptions:
    return LoadOptions(model_path=str(model), n_ctx=32768, n_threads=1)


def _send(qtbot, win, text: str) -> None:  # type: ignore[no-untyped-def]
    win.composer.edit.setFocus()
    win.composer.edit.setPlainText(text)
    qtbot.keyClick(win.composer.edit, Qt.Key.Key_Return)


def test_engine_host_killed_mid_reply_and_during_load(qtbot, window, store, long_model) -> None:  # type: ignore[no-untyped-def]
    seed = int(os.environ.get("HEARTH_CRASH_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    win = window
    win.load_model(_options(long_model))
    qtbot.waitUntil(lambda: win.engine.ready, timeout=60_000)
    queue: list[object] = []

    def hook(req) -> None:  # type: ignore[no-untyped-def]
        req.script = queue.pop(0) if queue else LONG
        req.sampling.max_tokens = 30000

    win.request_hook = hook
    kept = []
    for trial in range(MID_REPLY_TRIALS):
        queue[:] = [LONG]
        win.new_chat()
        _send(qtbot, win, f"Trial {trial}: keep going")
        need = rng.randint(1, 4000)  # characters on screen before the kill
        qtbot.waitUntil(
            lambda need=need: bool(win._streaming and len(win._streaming.data.content) >= need),
            timeout=30_000,
        )
        pid = win.engine.client.pid
        os.kill(pid, signal.SIGKILL)
        qtbot.waitUntil(lambda: not win.busy, timeout=30_000)

        assert win.isVisible(), f"trial {trial}"
        assert win.banner.isVisible() and "engine" in win.banner.label.text().lower()
        assert "Reload engine" in win.banner.buttons, f"trial {trial}"
        reply = win.chat.last_assistant()
        assert reply is not None and reply.data.status == "error", f"trial {trial}"
        stored = store.get_message(reply.data.id)
        assert stored.status == "error" and len(stored.content) > 0, f"trial {trial}"
        assert stored.content.startswith("Hello world")
        assert reply.data.content.startswith(stored.content), f"trial {trial}"
        kept.append(len(stored.content))

        win.banner.buttons["Reload engine"].click()
        qtbot.waitUntil(lambda: win.engine.ready, timeout=60_000)
        assert not win.banner.isVisible()
        assert win.engine.client.pid != pid
        queue[:] = ["<|channel|>final<|message|>Back again.<|return|>"]
        _send(qtbot, win, "Are you back?")
        qtbot.waitUntil(lambda: not win.busy, timeout=30_000)
        assert win.chat.last_assistant().data.content == "Back again.", f"trial {trial}"

    for _trial in range(DURING_LOAD_TRIALS):
        client = win.engine.client
        pid = client.pid
        os.kill(pid, signal.SIGSTOP)  # the load request arrives at a frozen host
        # Every thread really stopped first: a reader thread woken by the signal but not yet
        # run could still take the request from the pipe before it stops.
        qtbot.waitUntil(lambda pid=pid: _stopped(pid), timeout=10_000)
        win.load_model(_options(long_model))
        assert win.engine.busy
        # Kill only once the request is in flight (in the host's stdin pipe), so the host dies
        # during the load and not before it was asked.
        qtbot.waitUntil(lambda client=client: _pending(client) > 0, timeout=10_000)
        qtbot.wait(rng.randint(0, 30))
        os.kill(pid, signal.SIGKILL)
        qtbot.waitUntil(lambda: not win.engine.busy, timeout=30_000)
        assert win.isVisible()
        text = win.banner.label.text()
        assert win.banner.isVisible() and "Couldn't load tiny-long.gguf" in text, text
        assert "engine stopped unexpectedly" in text, text
        assert "Try again" in win.banner.buttons and "Choose another model" in win.banner.buttons
        assert not win.composer.can_send
        win.banner.buttons["Try again"].click()
        qtbot.waitUntil(lambda: win.engine.ready, timeout=60_000)
        assert win.composer.can_send and not win.banner.isVisible()

    # Every chat and every partial reply is still in the store.
    convs = store.list_conversations()
    assert len(convs) == MID_REPLY_TRIALS and all(c.message_count == 4 for c in convs)
    partial = [store.active_path(c.id)[1] for c in convs]
    assert sorted(len(m.content) for m in partial if m.status == "error") == sorted(kept)
    print(
        f"\nengine host SIGKILL trials: {MID_REPLY_TRIALS} mid-reply + {DURING_LOAD_TRIALS} "
        f"during load, failures: 0, seed {seed}, partial replies kept: "
        f"{min(kept)}-{max(kept)} chars"
    )

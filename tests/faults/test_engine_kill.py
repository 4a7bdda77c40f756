"""SIGKILL of the engine host, mid-reply and during a load, in the real window (pytest-qt).

The real window over the real store, with the real engine host. Each mid-reply trial streams a
scripted reply of known length on the tiny model, kills the host at a seeded random point of it
(one trial in each tenth of it, first token to end), and checks: the window is still there, the
banner explains it with "Reload engine", the partial reply is kept whole (on screen and on disk,
marked error; a kill that lands after the last token, the screen running behind the engine, finds
the reply complete and the watchdog reports the dead engine), and Reload brings a fresh host that
answers.

Each during-load trial asks for a load of a model with gpt-oss's full-size vocabulary (about a
second to load here), waits for llama.cpp's loader to write its first log line, kills the host at
a seeded random point of the load, and proves from the host's logs that the load had begun and
had not finished. It then checks the banner and that "Try again" loads the model.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app import paths
from app.engine.options import LoadOptions
from app.ui import engine_control
from tests.helpers.crash import LoadWatch, slow_load_model, spread, trial_rng
from tests.helpers.tinymodel import WORD_TOKENS

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")

MID_REPLY_TRIALS = 10
DURING_LOAD_TRIALS = 5
REPLY_TOKENS = 2000  # "Hello world" x 1,000: about a second of reply on a quiet machine
REPLY = "Hello world" * (REPLY_TOKENS // 2)
LONG = ["<|channel|>", "final", "<|message|>", *(WORD_TOKENS[:2] * (REPLY_TOKENS // 2))]
# Kills land this far into a load, measured from llama.cpp's first log line to the load being
# done (the quickest full load seen so far): short of the end, as loads take varying time.
LOAD_REACH = 0.6


def _options(model: Path) -> LoadOptions:
    return LoadOptions(model_path=str(model), n_ctx=32768, n_threads=1)


def _send(qtbot, win, text: str) -> None:  # type: ignore[no-untyped-def]
    win.composer.edit.setFocus()
    win.composer.edit.setPlainText(text)
    qtbot.keyClick(win.composer.edit, Qt.Key.Key_Return)


def _timed_load(qtbot, win, model: Path) -> float:  # type: ignore[no-untyped-def]
    """Load ``model`` (or press the button that does) and return how long the load took from
    llama.cpp's first log line to the window being ready."""
    watch = LoadWatch(paths.log_dir())
    if "Try again" in win.banner.buttons and win.banner.isVisible():
        win.banner.buttons["Try again"].click()
    else:
        win.load_model(_options(model))
    qtbot.waitUntil(lambda: watch.begun() or win.engine.ready, timeout=60_000)
    t0 = time.monotonic()
    qtbot.waitUntil(lambda: win.engine.ready, timeout=60_000)
    span = time.monotonic() - t0
    assert watch.finished(), "engine.log no longer says 'loaded': the trials' proof needs it"
    return span


def test_engine_host_killed_mid_reply(qtbot, window, store, long_model) -> None:  # type: ignore[no-untyped-def]
    seed, rng = trial_rng("engine host SIGKILL trials mid-reply", MID_REPLY_TRIALS)
    win = window
    win.load_model(_options(long_model))
    qtbot.waitUntil(lambda: win.engine.ready, timeout=60_000)
    queue: list[object] = []

    def hook(req) -> None:  # type: ignore[no-untyped-def]
        req.script = queue.pop(0) if queue else LONG
        req.sampling.max_tokens = REPLY_TOKENS + 100

    win.turns.request_hook = hook
    kept, ahead = [], []  # ahead: how far the engine was ahead of the screen at the kill
    after_end = 0
    for trial, frac in enumerate(spread(rng, MID_REPLY_TRIALS)):
        queue[:] = [LONG]
        win.conversations.new_chat()
        _send(qtbot, win, f"Trial {trial}: keep going")
        need = max(1, math.ceil(frac * len(REPLY)))  # characters on screen at the kill

        def reached(need: int = need) -> bool:
            streaming = win.turns.streaming
            return not win.busy or bool(streaming and len(streaming.data.content) >= need)

        qtbot.waitUntil(reached, timeout=30_000)
        pid = win.engine.client.pid
        os.kill(pid, signal.SIGKILL)
        qtbot.waitUntil(lambda: not win.busy, timeout=30_000)
        reply = win.chat.last_assistant()
        assert reply is not None, f"trial {trial}"
        if reply.data.status == "done":
            # The screen runs behind the engine: a kill aimed at the last characters can find
            # the reply complete and the engine idle. The watchdog notices the dead engine.
            after_end += 1
            assert reply.data.content == REPLY, f"trial {trial}"
            qtbot.waitUntil(win.banner.isVisible, timeout=30_000)
        else:
            assert reply.data.status == "error", f"trial {trial}: {reply.data.status}"
            assert REPLY.startswith(reply.data.content), f"trial {trial}: not the reply's text"
            assert len(reply.data.content) >= need, f"trial {trial}: shown text went missing"
            kept.append(len(reply.data.content))
            ahead.append(len(reply.data.content) - need)
        assert win.isVisible(), f"trial {trial}"
        assert win.banner.isVisible() and "engine" in win.banner.label.text().lower()
        assert "Reload engine" in win.banner.buttons, f"trial {trial}"
        # The window outlived the engine: everything it showed is on disk, nothing lost.
        stored = store.get_message(reply.data.id)
        assert stored.status == reply.data.status, f"trial {trial}"
        shown, saved = len(reply.data.content), len(stored.content)
        assert stored.content == reply.data.content, f"trial {trial}: {shown} shown, {saved} saved"

        win.banner.buttons["Reload engine"].click()
        qtbot.waitUntil(lambda: win.engine.ready, timeout=60_000)
        assert not win.banner.isVisible()
        assert win.engine.client.pid != pid
        queue[:] = ["<|channel|>final<|message|>Back again.<|return|>"]
        _send(qtbot, win, "Are you back?")
        qtbot.waitUntil(lambda: not win.busy, timeout=30_000)
        assert win.chat.last_assistant().data.content == "Back again.", f"trial {trial}"

    # Every chat and every partial reply is still in the store.
    convs = store.list_conversations()
    assert len(convs) == MID_REPLY_TRIALS and all(c.message_count == 4 for c in convs)
    partial = [store.active_path(c.id)[1] for c in convs]
    assert sorted(len(m.content) for m in partial if m.status == "error") == sorted(kept)
    print(
        f"engine host SIGKILL trials mid-reply: {MID_REPLY_TRIALS}, failures: 0, seed {seed}; "
        f"partial replies kept whole: {min(kept, default=0)}-{max(kept, default=0)} of "
        f"{len(REPLY)} chars, "
        f"{after_end} kill(s) after the reply's end; the engine was at most "
        f"{max(ahead, default=0)} chars ahead of the screen at the kill"
    )


def test_engine_host_killed_during_load(  # type: ignore[no-untyped-def]
    qtbot, window, tmp_path_factory, monkeypatch
) -> None:
    monkeypatch.delenv("HEARTH_DEBUG", raising=False)  # llama.cpp's log must go to llama.log
    seed, rng = trial_rng("engine host SIGKILL trials during a load", DURING_LOAD_TRIALS)
    win = window
    # The load replaces the loaded model in its host (as when two real models do not fit in
    # memory at once), so the kill lands on the host that is loading.
    monkeypatch.setattr(engine_control, "room_beside", lambda new, current: False)
    slow = slow_load_model(tmp_path_factory.getbasetemp())
    spans = [_timed_load(qtbot, win, slow)]
    landed = []
    for trial, frac in enumerate(spread(rng, DURING_LOAD_TRIALS)):
        pid = win.engine.client.pid
        watch = LoadWatch(paths.log_dir())
        win.load_model(_options(slow))
        assert win.engine.busy
        qtbot.waitUntil(watch.begun, timeout=30_000)  # the host is loading: llama.cpp has begun
        delay = frac * LOAD_REACH * min(spans)
        qtbot.wait(int(delay * 1000))
        assert watch.begun(), f"trial {trial}: the kill would come before the load began"
        os.kill(pid, signal.SIGKILL)
        qtbot.waitUntil(lambda: not win.engine.busy, timeout=30_000)
        assert not watch.finished(), (
            f"trial {trial}: the kill {delay:.2f} s into a load came after it (loads took "
            f"{min(spans):.2f}-{max(spans):.2f} s)"
        )
        landed.append(f"{delay:.2f} s ({watch.step()})")
        assert win.isVisible()
        text = win.banner.label.text()
        assert win.banner.isVisible() and "Couldn't load slow-load.gguf" in text, text
        assert "engine stopped unexpectedly" in text, text
        assert "Try again" in win.banner.buttons and "Choose another model" in win.banner.buttons
        assert not win.composer.can_send
        spans.append(_timed_load(qtbot, win, slow))  # "Try again" (timed for the next kills)
        assert win.engine.client.pid != pid
        assert win.composer.can_send and not win.banner.isVisible()
    print(
        f"engine host SIGKILL trials during a load: {DURING_LOAD_TRIALS}, failures: 0, "
        f"seed {seed}; kills at {', '.join(landed)} after llama.cpp's loader began, in loads "
        f"of {min(spans):.2f}-{max(spans):.2f} s"
    )

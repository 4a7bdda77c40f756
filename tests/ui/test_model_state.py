"""The window follows the engine's state (issue 16 #3, #5): the composer's hint as painted, a
failed model switch that keeps the model in use (or offers it back in one click), and speed
figures that belong to no model."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

from PySide6.QtCore import QEvent, QObject

from app.engine.options import LoadOptions
from app.ui import engine_control
from tests.helpers.gui import harmony_reply, load, script_next, wait_reply


class PaintedHints(QObject):
    """The composer's placeholder each time its box was painted (what the user saw)."""

    def __init__(self, owner) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        composer = getattr(owner, "composer", owner)  # the window or the composer itself
        self.edit = composer.edit
        self.seen: list[str] = []
        self.edit.viewport().installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.seen.append(self.edit.placeholderText())
        return False

    def shows(self, words: str) -> bool:
        return bool(self.seen) and words in self.seen[-1]


def _broken(tmp_path: Path) -> Path:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)  # a header and nothing behind it
    return bad


def _reply(qtbot, win, text: str) -> None:  # type: ignore[no-untyped-def]
    script_next(win, harmony_reply(text))
    win.conversations.send("hello")
    wait_reply(qtbot, win)


def test_a_new_hint_is_painted_at_once(qtbot) -> None:  # type: ignore[no-untyped-def]
    # QPlainTextEdit repaints its placeholder only when it appears or disappears, not when its
    # words change: "Loading the model…" stayed on screen after the load.
    from app.ui.composer import Composer

    composer = Composer()
    qtbot.addWidget(composer)
    composer.show()
    hints = PaintedHints(composer)
    composer.set_can_send(False, "Loading the model…")
    qtbot.waitUntil(lambda: hints.shows("Loading"))
    composer.set_can_send(True)
    qtbot.waitUntil(lambda: hints.shows("Message"))
    composer.set_can_send(False, "Load a model to start chatting")
    qtbot.waitUntil(lambda: hints.shows("Load a model"))


def test_the_hint_as_painted_follows_every_engine_change(
    qtbot, window, tiny_model, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    win = window
    hints = PaintedHints(win)
    qtbot.waitUntil(lambda: hints.shows("Load a model"))
    win.load_model(LoadOptions(model_path=str(tiny_model), n_ctx=1024, n_threads=1))
    qtbot.waitUntil(lambda: hints.shows("Loading"))
    qtbot.waitUntil(lambda: win.engine.ready, timeout=60_000)
    qtbot.waitUntil(lambda: hints.shows("Message"))  # it said "Loading the model…"
    # The host dies while idle: no model.
    client = win.engine.client
    assert client is not None and client.pid
    os.kill(client.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: not client.is_alive, timeout=10_000)
    win.models.check_engine()
    qtbot.waitUntil(lambda: hints.shows("Load a model") or hints.shows("Reload"))
    win.banner.buttons["Reload engine"].click()
    qtbot.waitUntil(lambda: win.engine.ready, timeout=60_000)
    qtbot.waitUntil(lambda: hints.shows("Message"))  # it said "Load a model to start chatting"
    # A failed load with nothing to keep: no model, and the hint says so.
    win.engine.close()
    win.engine.info = None
    win.models.refresh()
    win.load_model(LoadOptions(model_path=str(_broken(tmp_path)), n_ctx=1024, n_threads=1))
    qtbot.waitUntil(lambda: not win.engine.busy, timeout=60_000)
    assert not win.engine.ready
    qtbot.waitUntil(lambda: not hints.shows("Message") and not hints.shows("Loading"))


def test_a_failed_switch_keeps_the_model_in_use(qtbot, ready_window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    win = ready_window
    name = win.status_model.text()
    _reply(qtbot, win, "First.")
    assert "tok/s" in win.status_speed.text()
    win.load_model(LoadOptions(model_path=str(_broken(tmp_path)), n_ctx=1024, n_threads=1))
    qtbot.waitUntil(lambda: not win.engine.busy, timeout=60_000)
    assert win.engine.ready  # the model in use was never unloaded
    assert win.status_model.text() == name and win.composer.can_send
    text = win.banner.label.text()
    assert "broken.gguf" in text and "still loaded" in text
    assert "tok/s" in win.status_speed.text()  # its figures still belong to it
    _reply(qtbot, win, "Still here.")
    assert win.chat.last_assistant().data.content == "Still here."  # type: ignore[union-attr]


def test_without_room_for_both_the_previous_model_is_one_click_away(  # type: ignore[no-untyped-def]
    qtbot, ready_window, tmp_path, monkeypatch
) -> None:
    win = ready_window
    previous = win.engine.options
    assert previous is not None
    _reply(qtbot, win, "First.")
    # This machine has room for two tiny models: say it has not, as with two 12 GB ones.
    monkeypatch.setattr(engine_control, "room_beside", lambda new, current: False)
    win.load_model(LoadOptions(model_path=str(_broken(tmp_path)), n_ctx=1024, n_threads=1))
    qtbot.waitUntil(lambda: not win.engine.busy, timeout=60_000)
    assert not win.engine.ready
    assert win.status_speed.text() == ""  # no model: no speed figures
    assert win.status_model.text() == "No model loaded"
    back = [b for label, b in win.banner.buttons.items() if label.startswith("Load ")]
    assert back, win.banner.buttons
    back[0].click()
    qtbot.waitUntil(lambda: win.engine.ready, timeout=60_000)
    assert win.engine.options == previous
    assert not win.banner.isVisible()


def test_a_reply_stopped_before_its_first_token(qtbot, window, long_model, store) -> None:  # type: ignore[no-untyped-def]
    win = window
    load(qtbot, win, long_model, n_ctx=32768)
    # A long prompt, so Stop lands while it is read (before the first token).
    win.settings.instructions.setPlainText("Be brief. " * 2000)
    win.settings.flush()
    script_next(win, harmony_reply("never shown"))
    win.conversations.send("hello")
    win.turns.stop()
    wait_reply(qtbot, win)
    reply = win.chat.last_assistant()
    assert reply is not None and reply.data.status == "cancelled" and not reply.data.content
    assert "before it began" in reply.status_label.text()
    assert "above" not in reply.status_label.text()
    assert not reply.copy_button.isVisibleTo(reply)  # nothing to copy
    assert reply.stats_label.text() == ""  # no "first token 0.00 s"
    assert reply.regen_button.isVisibleTo(reply)
    win.settings.instructions.setPlainText("")
    win.settings.flush()
    script_next(win, harmony_reply("Now it is."))
    reply.regen_button.click()
    wait_reply(qtbot, win)
    last = win.chat.last_assistant()
    assert last is not None, "no reply"
    assert last.data.content == "Now it is.", (
        last.data.status,
        last.data.error,
        win.banner.label.text(),
    )


def test_the_status_bar_names_a_catalog_model_as_the_catalog_does(
    qtbot, window, tiny_model: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # The catalog's gpt-oss 20B as the Hugging Face cache keeps it (the tiny model's bytes under
    # its name): the status bar says "gpt-oss 20B", not the file's internal name.
    snap = tmp_path / "hub" / "models--ggml-org--gpt-oss-20b-GGUF" / "snapshots" / "abc"
    snap.mkdir(parents=True)
    as_catalog = snap / "gpt-oss-20b-mxfp4.gguf"
    shutil.copyfile(tiny_model, as_catalog)
    load(qtbot, window, as_catalog)
    assert window.status_model.text() == "gpt-oss 20B"
    assert window.status_model.toolTip() == str(as_catalog)
    # The same file name in another repository's folder is not the catalog's: its own name.
    other = tmp_path / "hub" / "models--someone--else-GGUF" / "snapshots" / "abc"
    other.mkdir(parents=True)
    shutil.copyfile(tiny_model, other / "gpt-oss-20b-mxfp4.gguf")
    load(qtbot, window, other / "gpt-oss-20b-mxfp4.gguf")
    assert window.status_model.text() not in ("gpt-oss 20B", "")

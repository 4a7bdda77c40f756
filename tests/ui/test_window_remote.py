"""The real window chatting through a server (app.remote) as a user would: connect, see it named
on the status line, thinking then answer, lose the connection mid-reply (kept, marked, the chat
goes on), and go back to the local model with one history. The server is a real HTTP server on
127.0.0.1 (``ScriptedServer``); the local engine is the real one with the tiny model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.remote.connections import Connection, Remotes
from tests.helpers.gui import harmony_reply, load, script_next, wait_reply
from tests.helpers.memkeyring import keyring_backend
from tests.helpers.scripted_openai import MODEL, Reply, ScriptedServer, chunks_fields

ANSWER = "Blue light is scattered more than red light."


@pytest.fixture(autouse=True)
def no_system_keyring() -> Iterator[None]:
    with keyring_backend():
        yield


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(api_key="k-123456") as s:
        Remotes().save(Connection("gpu", s.url, model=MODEL), "k-123456")
        yield s


def send(qtbot, win, text: str) -> None:  # type: ignore[no-untyped-def]
    win.composer.edit.setFocus()
    qtbot.keyClicks(win.composer.edit, text)
    qtbot.keyClick(win.composer.edit, Qt.Key.Key_Return)


def use_server(qtbot, win, name: str = "gpu") -> None:  # type: ignore[no-untyped-def]
    win.models.use_remote(name)
    qtbot.waitUntil(lambda: not win.engine.busy, timeout=30_000)


def test_a_chat_through_a_server_then_back_to_the_local_model(  # type: ignore[no-untyped-def]
    qtbot, window, store, server, tiny_model: Path
) -> None:
    win = window
    load(qtbot, win, tiny_model)
    local_pid = win.engine.client.pid
    use_server(qtbot, win)
    assert win.engine.ready and win.engine.remote == "gpu"
    assert win.status_model.text() == MODEL
    assert win.status_backend.text() == "on gpu (server)"
    assert win.prefs.extra["last_remote"] == "gpu"
    assert (
        not Path(f"/proc/{local_pid}").exists()
        or "Z" in Path(f"/proc/{local_pid}/stat").read_text().split()[2]
    )  # the local engine host stopped: its memory is free

    server.script(Reply(chunks=chunks_fields("Rayleigh scattering.", ANSWER, usage=(40, 12))))
    send(qtbot, win, "Why is the sky blue?")
    wait_reply(qtbot, win)
    _user, reply = win.chat.widgets
    assert reply.data.content == ANSWER
    assert reply.thinking is not None and reply.thinking.text() == "Rayleigh scattering."
    assert "tok/s" in win.status_speed.text()
    conv = store.list_conversations()[0]
    assert conv.settings["remote"] == "gpu"
    assert store.active_path(conv.id)[1].model == MODEL

    # The connection drops mid-reply: the partial answer stays, marked, with the way out.
    server.script(Reply(chunks=chunks_fields("", ANSWER), drop_at=6))
    send(qtbot, win, "Say it again")
    wait_reply(qtbot, win)
    cut = win.chat.widgets[-1]
    assert cut.data.status == "error" and cut.data.content and ANSWER.startswith(cut.data.content)
    assert "lost mid-reply" in win.banner.label.text()
    assert "Try again" in win.banner.buttons

    # Back to the local model: the same chat, the whole history in its prompt.
    load(qtbot, win, tiny_model)
    assert win.engine.remote is None and win.status_backend.text() == "CPU"
    sent = script_next(win, harmony_reply("Local here."))
    send(qtbot, win, "And now?")
    wait_reply(qtbot, win)
    assert win.chat.widgets[-1].data.content == "Local here."
    contents = [m.content for m in sent[0].messages]
    # (the server's reasoning is in the history too; Harmony's renderer leaves it out)
    assert contents[0] == "Why is the sky blue?" and ANSWER in contents
    assert contents.index("Say it again") > contents.index(ANSWER)
    assert contents[-1] == "And now?"
    assert "remote" not in store.get_conversation(conv.id).settings
    assert win.prefs.extra["last_remote"] is None


def test_a_server_that_cannot_be_reached_leaves_the_local_model_in_use(  # type: ignore[no-untyped-def]
    qtbot, window, tiny_model: Path
) -> None:
    win = window
    load(qtbot, win, tiny_model)
    Remotes().save(Connection("gone", "http://127.0.0.1:9/v1", model=MODEL))
    use_server(qtbot, win, "gone")
    assert "Couldn't use the server: Cannot reach 'gone'" in win.banner.label.text()
    assert {"Try again", "Choose another model"} <= set(win.banner.buttons)
    assert win.engine.ready and win.engine.remote is None  # still the local model
    assert win.status_backend.text() == "CPU"

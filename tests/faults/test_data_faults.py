"""Context overflow, a full disk during a reply, a read-only data folder: handled, explained,
nothing lost (through app.chat, the store, the CLI and the real window)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import paths
from app.chat import run_turn
from app.engine.client import EngineClient
from app.engine.options import LoadOptions, SamplingOptions
from app.store import DiskFullError, Store
from tests.helpers.engine import start_client
from tests.helpers.privileges import run_unprivileged

SMALL_CTX = 512


@pytest.fixture(scope="module")
def small_engine(
    tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineClient]:
    home = tmp_path_factory.mktemp("small-engine")
    client = start_client(home)
    client.load(LoadOptions(model_path=str(tiny_model), n_ctx=SMALL_CTX, n_threads=1))
    yield client
    client.close()


def _reply(text: str) -> str:
    return f"<|channel|>final<|message|>{text}<|return|>"


def _scripted_turn(store: Store, client: EngineClient, cid: int, text: str, reply: str):  # type: ignore[no-untyped-def]
    from app.chat import prepare_turn, stream_turn

    turn = prepare_turn(store, cid, text, sampling=SamplingOptions(max_tokens=256))
    turn.request.script = _reply(reply)
    return stream_turn(store, client, turn)


def test_a_long_chat_over_the_context_trims_the_oldest_turns_and_keeps_them_stored(
    store: Store, small_engine: EngineClient
) -> None:
    c = store.create_conversation()
    # Each exchange is ~100 tokens of the byte-level vocabulary: 10 of them overflow 512.
    for i in range(10):
        out = _scripted_turn(
            store,
            small_engine,
            c.id,
            f"Question {i}: " + "tell me more " * 3,
            f"Answer {i} " + "and so on " * 3,
        )
        assert out.status == "done", out.error
    out = _scripted_turn(store, small_engine, c.id, "The last question?", "The last answer.")
    assert out.status == "done" and out.content == "The last answer."
    assert out.trimmed is not None and out.trimmed.dropped_messages > 0
    assert "older" in out.trimmed.message.lower() or "left out" in out.trimmed.message.lower()
    # Trimming is only what is sent: every message stays in the chat.
    path = store.active_path(c.id)
    assert len(path) == 22
    assert path[0].content.startswith("Question 0:") and path[-1].content == "The last answer."
    assert store.execute_raw("PRAGMA integrity_check")[0][0] == "ok"


def test_a_message_too_long_for_the_context_is_a_clear_error_and_loses_nothing(
    store: Store, small_engine: EngineClient
) -> None:
    c = store.create_conversation()
    first = _scripted_turn(store, small_engine, c.id, "A short question", "A short answer.")
    assert first.status == "done"
    huge = "word " * 400  # ~2,000 tokens into a 512-token context
    out = run_turn(store, small_engine, c.id, huge)
    assert out.status == "error" and out.error is not None
    assert out.error.kind == "context_overflow", out.error
    assert "context" in out.error.message.lower()
    path = store.active_path(c.id)
    assert [m.content for m in path[:2]] == ["A short question", "A short answer."]
    assert path[2].content == huge  # the user's text is kept, to shorten or resend
    assert path[3].status == "error" and path[3].error
    # The engine goes on.
    again = _scripted_turn(store, small_engine, c.id, "Shorter then?", "Yes.")
    assert again.status == "done" and again.content == "Yes."


def test_disk_full_during_a_reply_in_the_window_keeps_the_text_and_says_so(
    qtbot, window, store: Store, long_model: Path
) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    from tests.helpers.tinymodel import WORD_TOKENS

    win = window
    win.load_model(LoadOptions(model_path=str(long_model), n_ctx=16384, n_threads=1))
    qtbot.waitUntil(lambda: win.engine.ready, timeout=60_000)
    # ~33 KB of text: far more than the free space left in the database's pages.
    long_answer = "Hello world" * 3000
    replies: list[object] = [
        _reply("Saved before the disk filled."),
        ["<|channel|>", "final", "<|message|>", *(WORD_TOKENS[:2] * 3000), "<|return|>"],
    ]
    full = {"on": False}

    def hook(req) -> None:  # type: ignore[no-untyped-def]
        req.script = replies.pop(0)
        req.sampling.max_tokens = 8000
        if full["on"]:
            # The rows of this turn exist; from now on not one more page fits.
            pages = store.execute_raw("PRAGMA page_count")[0][0]
            store.execute_raw(f"PRAGMA max_page_count = {pages}")

    win.request_hook = hook
    for text in ("First question", "Second question"):
        win.composer.edit.setPlainText(text)
        win.composer.edit.setFocus()
        qtbot.keyClick(win.composer.edit, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not win.busy, timeout=120_000)
        full["on"] = True
    text = win.banner.label.text()
    assert win.banner.isVisible() and "could not be saved" in text, text
    assert "disk" in text.lower() and "free some disk space" in text.lower(), text
    reply = win.chat.last_assistant()
    assert reply is not None and reply.data.content == long_answer  # all of it on screen
    store.execute_raw("PRAGMA max_page_count = 1073741823")
    assert store.execute_raw("PRAGMA integrity_check")[0][0] == "ok"
    path = store.active_path(win.conversation_id)
    assert [m.content for m in path[:3]] == [
        "First question",
        "Saved before the disk filled.",
        "Second question",
    ]
    assert long_answer.startswith(path[3].content)  # what was saved is the reply's beginning


def test_disk_full_error_from_the_store_is_specific(store: Store) -> None:
    c = store.create_conversation()
    store.add_message(c.id, "user", "kept")
    pages = store.execute_raw("PRAGMA page_count")[0][0]
    store.execute_raw(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(DiskFullError):
        store.add_message(c.id, "assistant", "x" * 200_000)
    assert [m.content for m in store.active_path(c.id)] == ["kept"]


def test_a_read_only_data_folder(tiny_model: Path) -> None:
    db = paths.database_path()
    with Store.open(db) as s:
        c = s.create_conversation("Kept from before")
        s.add_message(c.id, "user", "an old question")
        s.add_message(c.id, "assistant", "an old answer")
    folder = db.parent
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    folder.chmod(0o555)
    try:
        # The window starts, read-only, and says so; the chats are listed.
        res = run_unprivileged(
            [sys.executable, "-m", "tests.faults.gui_driver", str(tiny_model), "--check"]
        )
        assert res.returncode == 0, res.stderr[-2000:]
        start = json.loads(res.stdout.splitlines()[0])
        assert start["visible"] and start["readonly"] and start["rows"] == 1, start
        assert "read-only" in start["banner"].lower(), start
        # hearth history list works.
        res = run_unprivileged([sys.executable, "-m", "app", "history", "list"])
        assert res.returncode == 0, res.stderr
        assert "Kept from before" in res.stdout
        # hearth chat answers without saving, and warns.
        res = run_unprivileged(
            [
                sys.executable,
                "-m",
                "app",
                "chat",
                "--model",
                str(tiny_model),
                "--max-tokens",
                "8",
                "Hello?",
            ]
        )
        assert res.returncode == 0, res.stderr
        assert "will not be saved" in res.stderr and "read-only" in res.stderr.lower(), res.stderr
    finally:
        folder.chmod(0o755)
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert after == before  # nothing written, nothing lost
    with Store.open(db) as s:
        assert [c.title for c in s.list_conversations()] == ["Kept from before"]


def test_a_damaged_database_the_window_opens_says_so_and_leaves_it_untouched(qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.ui.prefs import UiPrefs
    from app.ui.window import MainWindow

    db = paths.database_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    damaged = b"not a database " * 1000
    db.write_bytes(damaged)
    win = MainWindow(load_engine=False, prefs=UiPrefs(theme="light"), first_run=False)
    qtbot.addWidget(win)
    win.show()
    try:
        assert win.isVisible() and win.store is None
        text = win.banner.label.text()
        assert win.banner.isVisible() and "damaged or not a database" in text, text
        assert "untouched" in text and "Move it aside" in text, text
    finally:
        win.shutdown()
    assert db.read_bytes() == damaged
    # The CLI says the same and leaves it alone too.
    res = run_unprivileged([sys.executable, "-m", "app", "history", "list"])
    assert res.returncode != 0 and "damaged or not a database" in res.stderr
    assert db.read_bytes() == damaged

"""The real window, the real engine (tiny model, scripted replies), the real store."""

from __future__ import annotations

import os
import signal

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from app.engine.events import EngineEvent
from app.ui.markdown_view import CodeBlock
from tests.helpers.gui import ANSWER, THINK, harmony_reply, load, script_next, wait_reply
from tests.helpers.tinymodel import WORD_TOKENS


def _type_and_send(qtbot, win, text: str) -> None:  # type: ignore[no-untyped-def]
    win.composer.edit.setFocus()
    qtbot.keyClicks(win.composer.edit, text)
    qtbot.keyClick(win.composer.edit, Qt.Key.Key_Return)


def test_send_streams_thinking_then_answer(qtbot, ready_window, store) -> None:  # type: ignore[no-untyped-def]
    win = ready_window
    script_next(win, harmony_reply(ANSWER, THINK))
    seen: list[list[EngineEvent]] = []
    _type_and_send(qtbot, win, "Hi there")
    assert win.busy and win.composer.stop_button.isVisible()
    assert win.turns.worker is not None
    win.turns.worker.progress.connect(seen.append)
    wait_reply(qtbot, win)

    # Shift+Enter had not been pressed: one line, sent, composer cleared.
    assert win.composer.text() == ""
    user, reply = win.chat.widgets
    assert user.data.content == "Hi there"
    assert reply.data.content == ANSWER
    # Thinking: shown separately, collapsed to "Thought for …" once the answer came.
    assert reply.thinking is not None and reply.thinking.isVisible()
    assert reply.thinking.text() == THINK
    assert reply.thinking.title.startswith("Thought for")
    assert not reply.thinking.expanded
    reply.thinking.toggle.click()
    assert reply.thinking.expanded and reply.thinking.body.isVisible()
    # Markdown: the code block has its own widget and copy button.
    codes = [b for b in reply.markdown.blocks() if isinstance(b, CodeBlock)]
    assert len(codes) == 1 and codes[0].code == "print('hi')\n"
    codes[0].copy_button.click()
    assert QGuiApplication.clipboard().text() == "print('hi')\n"
    reply.copy_button.click()
    assert QGuiApplication.clipboard().text() == ANSWER
    # Stored: reasoning apart from the answer, status done, with stats.
    conv = store.list_conversations()[0]
    assert conv.title == "Hi there"
    stored = store.active_path(conv.id)
    assert [m.role for m in stored] == ["user", "assistant"]
    assert stored[1].content == ANSWER and stored[1].reasoning == THINK
    assert stored[1].status == "done"
    assert "tok/s" in win.status_speed.text()
    assert "context" in win.status_context.text()
    assert win.status_backend.text() == "CPU"
    assert win.status_model.text()


def test_regenerate_and_edit_make_branches(qtbot, ready_window, store) -> None:  # type: ignore[no-untyped-def]
    win = ready_window
    script_next(
        win,
        harmony_reply("First answer."),
        harmony_reply("Second answer."),
        harmony_reply("Answer to the edit."),
    )
    _type_and_send(qtbot, win, "Question one")
    wait_reply(qtbot, win)
    first = win.chat.last_assistant()
    assert first is not None and first.regen_button.isVisible()
    first.regen_button.click()
    wait_reply(qtbot, win)
    reply = win.chat.last_assistant()
    assert reply is not None and reply.data.content == "Second answer."
    assert reply.nav.isVisible() and reply.nav.label.text() == "2/2"
    reply.nav.prev.click()
    reply = win.chat.last_assistant()
    assert reply is not None and reply.data.content == "First answer."
    assert reply.nav.label.text() == "1/2"

    # Edit the question: a new branch with its own reply; the old one is one click away.
    user = win.chat.widgets[0]
    user.edit_button.click()
    user.set_edit_text("Question one, edited")
    qtbot.keyClick(user._edit_box, Qt.Key.Key_Return)
    wait_reply(qtbot, win)
    user, reply = win.chat.widgets
    assert user.data.content == "Question one, edited"
    assert user.nav.label.text() == "2/2"
    assert reply.data.content == "Answer to the edit."
    user.nav.prev.click()
    user, reply = win.chat.widgets
    assert user.data.content == "Question one"
    assert reply.data.content == "First answer."
    assert len(store.messages(win.conversation_id)) == 5


def test_effort_change_reaches_the_prompt(qtbot, ready_window, store) -> None:  # type: ignore[no-untyped-def]
    win = ready_window
    sent = script_next(win, harmony_reply("ok"), harmony_reply("ok"))
    win.toggle_settings()
    assert win.settings.isVisible()
    assert win.settings.effort.currentData() == "medium"  # the default, shown
    win.settings.effort.setCurrentIndex(win.settings.effort.findData("low"))
    _type_and_send(qtbot, win, "Same words")
    wait_reply(qtbot, win)
    low = win.last_stats["prompt_tokens"]
    assert store.get_conversation(win.conversation_id).settings["effort"] == "low"

    win.conversations.new_chat()
    win.settings.effort.setCurrentIndex(win.settings.effort.findData("high"))
    _type_and_send(qtbot, win, "Same words")
    wait_reply(qtbot, win)
    high = win.last_stats["prompt_tokens"]
    assert [r.settings.effort for r in sent] == ["low", "high"]
    # "Reasoning: high" vs "Reasoning: low" in the rendered system message: the tiny byte-level
    # vocabulary spells each letter, so the prompt is exactly one token longer.
    assert high - low == 1


def test_stop_keeps_the_partial_reply(qtbot, window, long_model, store) -> None:  # type: ignore[no-untyped-def]
    win = window
    load(qtbot, win, long_model, n_ctx=32768)
    words = ["<|channel|>", "final", "<|message|>", *(WORD_TOKENS[:2] * 12000)]
    script_next(win, words)  # ~24,000 tokens: seconds of streaming on the tiny model
    win.settings.max_tokens.setValue(30000)
    _type_and_send(qtbot, win, "Talk for a long time")
    qtbot.waitUntil(
        lambda: bool(win.turns.streaming and win.turns.streaming.data.content), timeout=20_000
    )
    streaming = win.turns.streaming
    # Clicking the open chat (or trying another) while it streams must not rebuild the view.
    assert win.conversations.open(win.conversation_id)
    other = store.create_conversation("other")
    assert not win.conversations.open(other.id)
    assert win.turns.streaming is streaming and win.chat.widgets[-1] is streaming
    qtbot.keyClick(win.composer.edit, Qt.Key.Key_Escape)
    wait_reply(qtbot, win)
    reply = win.chat.last_assistant()
    assert reply is not None
    assert reply.data.status == "cancelled"
    assert reply.status_label.isVisible() and "Stopped" in reply.status_label.text()
    stored = store.get_message(reply.data.id)
    assert stored.status == "cancelled"
    assert stored.content.startswith("Hello world") and stored.content == reply.data.content
    assert len(stored.content) < len("Hello world") * 12000


def test_engine_killed_mid_reply_then_reload(qtbot, window, long_model, store) -> None:  # type: ignore[no-untyped-def]
    win = window
    load(qtbot, win, long_model, n_ctx=32768)
    words = ["<|channel|>", "final", "<|message|>", *(WORD_TOKENS[:2] * 12000)]
    script_next(win, words, harmony_reply("Back again."))
    win.settings.max_tokens.setValue(30000)
    _type_and_send(qtbot, win, "Keep going")
    qtbot.waitUntil(
        lambda: bool(win.turns.streaming and win.turns.streaming.data.content), timeout=20_000
    )
    pid = win.engine.client.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_reply(qtbot, win)

    assert win.banner.isVisible()
    assert "Reload engine" in win.banner.buttons
    assert "Choose another model" in win.banner.buttons
    assert "engine" in win.banner.label.text().lower()
    reply = win.chat.last_assistant()
    assert reply is not None and reply.data.status == "error"
    stored = store.get_message(reply.data.id)
    # The partial reply is kept, on screen and on disk.
    assert stored.status == "error" and stored.content.startswith("Hello")
    assert reply.data.content.startswith(stored.content)
    assert not win.composer.can_send

    win.banner.buttons["Reload engine"].click()
    qtbot.waitUntil(lambda: win.engine.ready, timeout=60_000)
    assert not win.banner.isVisible()
    _type_and_send(qtbot, win, "Are you back?")
    wait_reply(qtbot, win)
    assert win.chat.last_assistant().data.content == "Back again."  # type: ignore[union-attr]


def test_bad_model_file_shows_the_way_out(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"")
    from app.engine.options import LoadOptions

    window.load_model(LoadOptions(model_path=str(bad)))
    qtbot.waitUntil(lambda: not window.engine.busy, timeout=60_000)
    assert window.banner.isVisible()
    text = window.banner.label.text()
    assert "broken.gguf" in text and "empty" in text.lower()
    assert "Choose another model" in window.banner.buttons
    assert window.stack.currentWidget() is window.empty
    assert window.empty.title.text() == "No model loaded"
    assert not window.composer.can_send


def test_engine_killed_while_idle_is_noticed(qtbot, ready_window) -> None:  # type: ignore[no-untyped-def]
    win = ready_window
    client = win.engine.client
    os.kill(client.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: not client.is_alive, timeout=10_000)
    win.models.check_engine()  # what the 2-second watchdog does
    assert win.banner.isVisible() and "Reload engine" in win.banner.buttons
    assert not win.composer.can_send
    assert win.status_model.text() == "No model loaded"
    win.banner.buttons["Reload engine"].click()
    qtbot.waitUntil(lambda: win.engine.ready, timeout=60_000)
    assert win.composer.can_send


def test_an_edit_refused_while_streaming_keeps_the_typed_text(qtbot, window, long_model) -> None:  # type: ignore[no-untyped-def]
    win = window
    load(qtbot, win, long_model, n_ctx=32768)
    script_next(
        win,
        ["<|channel|>", "final", "<|message|>", *(WORD_TOKENS[:2] * 12000)],
        harmony_reply("Answer to the edit."),
    )
    win.settings.max_tokens.setValue(30000)
    _type_and_send(qtbot, win, "Talk for a long time")
    qtbot.waitUntil(
        lambda: bool(win.turns.streaming and win.turns.streaming.data.content), timeout=20_000
    )
    user = win.chat.widgets[0]
    user.edit_button.click()
    user.set_edit_text("Talk briefly instead")
    qtbot.keyClick(user._edit_box, Qt.Key.Key_Return)
    # Refused (a reply is still being written): the editor and its text are still there.
    assert win.busy
    assert user._edit_box is not None and user.edit_text() == "Talk briefly instead"
    qtbot.keyClick(win.composer.edit, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not win.busy, timeout=30_000)
    qtbot.keyClick(user._edit_box, Qt.Key.Key_Return)
    wait_reply(qtbot, win)
    user, reply = win.chat.widgets
    assert user.data.content == "Talk briefly instead"
    assert reply.data.content == "Answer to the edit."


def test_a_finished_reply_ends_in_view(qtbot, ready_window) -> None:  # type: ignore[no-untyped-def]
    # The reply's actions row (Copy, Regenerate, stats) appears only when it finishes; the view
    # that followed the stream must show it, not leave the reply's end under the composer.
    win = ready_window
    win.resize(800, 500)
    long_answer = "\n\n".join(f"Paragraph {i} of a long answer, wrapped." for i in range(30))
    script_next(win, harmony_reply(long_answer))
    _type_and_send(qtbot, win, "Write a long answer")
    wait_reply(qtbot, win)
    bar = win.chat.verticalScrollBar()
    reply = win.chat.widgets[-1]
    assert reply.actions_row.isVisible()

    def actions_in_view() -> bool:
        row = reply.actions_row
        bottom = row.mapTo(win.chat.viewport(), row.rect().bottomLeft()).y()
        return 0 < bottom <= win.chat.viewport().height() and bar.value() == bar.maximum()

    qtbot.waitUntil(actions_in_view, timeout=2000)
    assert bar.maximum() > 0

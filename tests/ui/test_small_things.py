"""Small things a newcomer noticed (issue 16 #11): Copy says it copied, "1 RESULT", a chat
imported from the command line while the window is open appears in it."""

from __future__ import annotations

import json

from PySide6.QtGui import QGuiApplication

from app.cli import main as hearth
from app.store import Store


def _chat(store: Store, title: str, question: str, answer: str) -> int:
    c = store.create_conversation(title)
    store.add_message(c.id, "user", question)
    store.add_message(c.id, "assistant", answer)
    return c.id


def test_copying_a_message_says_copied(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    cid = _chat(store, "Copy", "What is 6 times 7?", "It is **42**.")
    win = make_window()
    win.conversations.open(cid)
    question, reply = win.chat.widgets
    reply.copy_button.click()
    assert QGuiApplication.clipboard().text() == "It is **42**."
    assert reply.copy_button.text() == "Copied"
    qtbot.waitUntil(lambda: reply.copy_button.text() == "Copy", timeout=5000)
    question.copy_button.click()
    assert QGuiApplication.clipboard().text() == "What is 6 times 7?"
    assert question.copy_button.text() == "Copied"


def test_one_search_result_is_one_result(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    _chat(store, "Paris", "Capital of France?", "Paris.")
    _chat(store, "Rome", "Capital of Italy?", "Rome.")
    win = make_window()
    win.sidebar.search.setText("France")
    win.sidebar.run_search()
    assert win.sidebar.section.text() == "1 RESULT"
    win.sidebar.search.setText("Capital")
    win.sidebar.run_search()
    assert win.sidebar.section.text() == "2 RESULTS"
    win.sidebar._search_timer.stop()  # (its typing delay would search after the test)


def test_a_chat_imported_from_the_command_line_appears(qtbot, store, make_window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cid = _chat(store, "Exported", "Question?", "Answer.")
    export = tmp_path / "chat.json"
    assert hearth(["history", "export", str(cid), "--format", "json", "-o", str(export)]) == 0
    data = json.loads(export.read_text(encoding="utf-8"))
    data["conversation"]["title"] = "Imported while open"
    export.write_text(json.dumps(data), encoding="utf-8")
    win = make_window()
    assert win.sidebar.model.rowCount() == 1
    assert hearth(["history", "import", str(export)]) == 0  # its own connection, as a process
    titles = lambda: [  # noqa: E731
        win.sidebar.model.index(r, 0).data() for r in range(win.sidebar.model.rowCount())
    ]
    qtbot.waitUntil(lambda: "Imported while open" in titles(), timeout=10_000)


def test_a_chat_is_imported_from_the_window(
    qtbot, store, make_window, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog

    from app.store.transfer import export_markdown

    cid = _chat(store, "From Markdown", "Question?", "Answer **here**.")
    md = tmp_path / "chat.md"
    md.write_text(export_markdown(store, cid), encoding="utf-8")
    win = make_window()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(md), ""))
    qtbot.keyClick(win, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)  # ⋯ → Import a chat…
    qtbot.waitUntil(lambda: win.conversation_id not in (None, cid))
    assert [w.data.content for w in win.chat.widgets] == ["Question?", "Answer **here**."]
    assert win.sidebar.model.rowCount() == 2
    bad = tmp_path / "notes.md"
    bad.write_text("Just notes.\n", encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    win.chrome.import_chat()
    assert win.banner.isVisible() and "notes.md" in win.banner.label.text()
    assert "Export the chat again" in win.banner.label.text()

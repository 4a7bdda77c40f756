"""The real window over a real store, no model: sidebar, search, delete/undo, shortcuts, prefs."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QStyleOptionViewItem

from app.store import Store
from app.ui.markdown_view import RichLabel
from app.ui.message import MessageData
from app.ui.prefs import UiPrefs
from app.ui.sidebar import ConversationListModel, SearchResultsModel


def _chat(store: Store, title: str, *pairs: tuple[str, str]) -> int:
    c = store.create_conversation(title)
    for q, a in pairs:
        store.add_message(c.id, "user", q)
        store.add_message(c.id, "assistant", a)
    return c.id


def test_sidebar_models_pass_qtmodeltester(qtmodeltester, store) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        _chat(store, f"chat {i}", ("q", "a"))
    store.set_pinned(1, True)
    model = ConversationListModel(store)
    model.reload()
    qtmodeltester.check(model)
    assert model.rowCount() == 5
    assert model.index(0, 0).data() == "chat 0"  # pinned first
    results = SearchResultsModel()
    results.set_hits(store.search("q"))
    qtmodeltester.check(results)


def test_sidebar_lists_pinned_first_and_opens_chats(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    a = _chat(store, "Alpha", ("What is alpha?", "The first letter."))
    b = _chat(store, "Beta", ("What is beta?", "The second letter."))
    win = make_window()
    assert win.sidebar.model.rowCount() == 2
    assert win.sidebar.model.index(0, 0).data() == "Beta"  # most recent
    win.conversations.set_pinned(a, True)
    assert win.sidebar.model.index(0, 0).data() == "Alpha"
    rect = win.sidebar.list.visualRect(win.sidebar.model.index(1, 0))
    qtbot.mouseClick(win.sidebar.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert win.conversation_id == b
    assert [w.data.content for w in win.chat.widgets] == ["What is beta?", "The second letter."]
    assert win.title_label.text() == "Beta"
    win.conversations.rename(b, "  Beta   renamed ")
    assert store.get_conversation(b).title == "Beta renamed"
    assert win.title_label.text() == "Beta renamed"


def test_search_opens_the_chat_at_the_message(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    _chat(store, "Cooking", ("How long to boil an egg?", "About nine minutes."))
    pairs = [(f"Question {i}", f"Answer {i}") for i in range(80)]
    pairs[3] = ("Tell me about zeppelins", "Zeppelins are rigid airships.")
    target = _chat(store, "Long chat", *pairs)
    win = make_window()
    win.conversations.open(1)
    qtbot.keyClick(win, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert win.sidebar.search.hasFocus()
    qtbot.keyClicks(win.sidebar.search, "zeppelin")
    qtbot.waitUntil(lambda: win.sidebar.results_model.rowCount() == 2, timeout=5000)
    assert win.sidebar.results.isVisible() and not win.sidebar.list.isVisible()
    hit = win.sidebar.results_model.hit(0)
    snippet = win.sidebar.results_model.index(0, 0).data(Qt.ItemDataRole.UserRole + 5)
    assert "<b>" in snippet and "eppelin" in snippet.lower()
    rect = win.sidebar.results.visualRect(win.sidebar.results_model.index(0, 0))
    qtbot.mouseClick(win.sidebar.results.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert win.conversation_id == target
    # The message is early in a long chat: it was loaded and scrolled into view.
    w = win.chat.widget_for(hit.message_id)
    assert w is not None
    qtbot.waitUntil(lambda: not w.visibleRegion().isEmpty(), timeout=5000)
    win.sidebar.search.setFocus()
    qtbot.keyClick(win.sidebar.search, Qt.Key.Key_Escape)  # Esc clears the search
    assert win.sidebar.search.text() == "" and win.sidebar.list.isVisible()


def test_search_results_do_not_overlap(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    # A long title wrapped to three lines plus its snippet outgrew the row: the text was painted
    # over the next result. Each row must hold what it paints.
    long_q = "How do I read a large CSV file in Python without running out of memory?"
    _chat(store, long_q, (long_q, "Read it in pieces with csv.DictReader."))
    _chat(store, "Another long question about CSV files and pandas chunks", ("csv chunks?", "Yes."))
    win = make_window()
    win.resize(1000, 700)
    win.sidebar.search.setFocus()
    qtbot.keyClicks(win.sidebar.search, "csv")
    qtbot.waitUntil(lambda: win.sidebar.results_model.rowCount() >= 3, timeout=5000)
    view = win.sidebar.results
    previous_bottom = -1
    for row in range(win.sidebar.results_model.rowCount()):
        index = win.sidebar.results_model.index(row, 0)
        opt = QStyleOptionViewItem()
        opt.initFrom(view)
        opt.widget = view
        opt.rect = view.visualRect(index)
        assert opt.rect.top() > previous_bottom, row
        previous_bottom = opt.rect.bottom()
        doc = view.itemDelegate()._doc(opt, index)
        assert doc.size().height() + 6 <= opt.rect.height(), (row, doc.toPlainText())


def test_delete_then_undo(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    keep = _chat(store, "Keep", ("a", "b"))
    doomed = _chat(store, "Doomed", ("c", "d"))
    win = make_window()
    win.conversations.open(doomed)
    win.sidebar.list.setFocus()
    qtbot.keyClick(win.sidebar.list, Qt.Key.Key_Delete)
    assert store.get_conversation(doomed).trashed
    assert win.sidebar.model.rowCount() == 1
    assert win.conversation_id is None  # the open chat went away: a new chat
    assert win.info_bar.isVisible() and "Doomed" in win.info_bar.label.text()
    win.info_bar.buttons["Undo"].click()
    assert not store.get_conversation(doomed).trashed
    assert win.sidebar.model.rowCount() == 2
    assert win.conversation_id == doomed
    assert not win.info_bar.isVisible()
    assert keep in (c.id for c in store.list_conversations())


@pytest.mark.qt_log_ignore("This plugin does not support")  # a popup on offscreen: raise, grab
def test_a_dismissed_row_menu_leaves_the_open_chat_highlighted(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    other = _chat(store, "Other", ("a", "b"))
    shown = _chat(store, "Shown", ("c", "d"))
    win = make_window()
    win.conversations.open(shown)
    view = win.sidebar.list
    rect = view.visualRect(win.sidebar.model.index(win.sidebar.model.row_of(other), 0))
    qtbot.mousePress(view.viewport(), Qt.MouseButton.RightButton, pos=rect.center())
    assert win.sidebar._current_id() == other  # the right-click moved the highlight
    QTimer.singleShot(0, lambda: QApplication.activePopupWidget().close())
    win.sidebar._menu(rect.center())  # menu shown, then dismissed
    assert win.sidebar._current_id() == shown
    assert store.get_conversation(other).title == "Other"


def test_rename_dialog_shows_the_whole_title(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    title = "Plan a three-day trip to Lisbon in May"
    cid = _chat(store, title, ("a", "b"))
    win = make_window()
    seen: list[bool] = []

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        edit = dialog.findChild(QLineEdit)
        seen.append(edit.fontMetrics().horizontalAdvance(title) < edit.width() - 12)
        edit.setText("Lisbon in May")
        dialog.accept()

    QTimer.singleShot(0, answer)
    win.conversations.ask_rename(cid)
    assert seen == [True]
    assert store.get_conversation(cid).title == "Lisbon in May"


def test_undo_delete_of_another_chat_stays_on_the_open_one(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    other = _chat(store, "Other", ("a", "b"))
    shown = _chat(store, "Shown", ("c", "d"))
    win = make_window()
    win.conversations.open(shown)
    win.conversations.delete(other)
    assert win.conversation_id == shown
    win.info_bar.buttons["Undo"].click()
    assert not store.get_conversation(other).trashed
    assert win.conversation_id == shown  # not switched to the restored chat
    assert win.sidebar._current_id() == shown
    assert win.sidebar.model.rowCount() == 2


def test_a_long_title_leaves_room_for_chat_settings(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    title = "How do I read a large CSV file in Python without running out of memory?"
    cid = _chat(store, title, ("q", "a"))
    win = make_window()
    win.conversations.open(cid)
    win.resize(800, 600)
    qtbot.waitUntil(lambda: win.width() == 800)
    label, button = win.title_label, win.settings_button
    assert label.geometry().right() < button.geometry().left()
    assert button.geometry().right() <= button.parentWidget().width()
    assert label.text() == win.store.get_conversation(cid).display_title  # the full title
    shown = QLabel.text(label)
    assert shown.endswith("…") and label.fontMetrics().horizontalAdvance(shown) <= label.width()


def test_a_long_user_message_fits_a_small_window(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    question = "How do I read a large CSV file in Python without running out of memory?"
    cid = _chat(store, "CSV", (question, "In pieces."))
    win = make_window()
    win.resize(1300, 800)
    win.conversations.open(cid)
    bubble = win.chat.widgets[0].bubble
    qtbot.waitUntil(lambda: win.width() == 1300)
    assert bubble.height() < 2.5 * bubble.fontMetrics().height() + 18  # one line: room enough
    win.resize(800, 600)
    qtbot.waitUntil(lambda: win.width() == 800)
    qtbot.waitUntil(lambda: bubble.height() > 2.5 * bubble.fontMetrics().height())  # wrapped
    right = bubble.mapTo(win.chat.viewport(), bubble.rect().topRight()).x()
    assert right < win.chat.viewport().width()  # not cut off at the column's edge


def test_a_chat_opens_at_its_end_in_a_small_window(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    code = "```python\n" + "\n".join(f"x{i} = {i}  # a line of code" for i in range(12)) + "\n```"
    answer = "Read it **in pieces** instead of all at once. " * 6 + "\n\n" + code + "\n\nThe end."
    question = "How do I read a large CSV file in Python without running out of memory?"
    cid = _chat(store, "CSV", (question, answer), (question, answer))
    other = _chat(store, "Other", ("a", "b"))
    win = make_window()
    win.resize(800, 600)
    qtbot.waitUntil(lambda: win.width() == 800)
    win.conversations.open(other)
    win.conversations.open(cid)
    bar = win.chat.verticalScrollBar()
    last = win.chat.widgets[-1]

    def at_end() -> bool:
        bottom = last.mapTo(win.chat.viewport(), last.rect().bottomLeft()).y()
        return bar.maximum() > 0 and bar.value() == bar.maximum() and bottom <= bar.pageStep() + 20

    qtbot.waitUntil(at_end, timeout=3000)


def test_export_markdown_and_json(store, make_window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cid = _chat(store, "Export me", ("Question?", "**Answer**."))
    win = make_window()
    assert win.conversations.export(cid, tmp_path / "c.md", "md")
    assert "**Answer**." in (tmp_path / "c.md").read_text()
    assert win.conversations.export(cid, tmp_path / "c.json", "json")
    assert json.loads((tmp_path / "c.json").read_text())
    assert not win.conversations.export(cid, tmp_path / "missing" / "c.md", "md")
    assert win.banner.isVisible() and "Could not export" in win.banner.label.text()


def test_keyboard_shortcuts(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    cid = _chat(store, "Shortcuts", ("q", "The **last** answer."))
    win = make_window()
    win.conversations.open(cid)
    qtbot.keyClick(
        win, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert QGuiApplication.clipboard().text() == "The **last** answer."
    qtbot.keyClick(win, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    assert win.settings.isVisible()
    qtbot.keyClick(win, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    assert not win.settings.isVisible()
    win.sidebar.search.setFocus()
    qtbot.keyClick(win, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert win.composer.edit.hasFocus()
    qtbot.keyClick(win, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert win.conversation_id is None and not win.chat.widgets
    # No model: Enter does not send, the composer says why.
    assert not win.composer.can_send
    assert "model" in win.composer.edit.placeholderText().lower()
    assert win.empty.title.text() == "No model loaded"
    assert win.empty.open_button.isVisible()
    assert win.status_model.text() == "No model loaded"


def test_settings_are_per_chat_and_reset(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    a = _chat(store, "A", ("q", "a"))
    b = _chat(store, "B", ("q", "a"))
    win = make_window()
    win.conversations.open(a)
    win.settings.effort.setCurrentIndex(win.settings.effort.findData("high"))
    win.settings.instructions.setPlainText("Be brief.")
    win.settings.temperature.setValue(0.5)
    win.settings.flush()
    assert store.get_conversation(a).settings["effort"] == "high"
    assert store.get_conversation(a).settings["instructions"] == "Be brief."
    assert store.get_conversation(a).settings["sampling"] == {"temperature": 0.5}
    win.conversations.open(b)
    assert win.settings.effort.currentData() == "medium"
    assert win.settings.temperature.value() == 1.0
    win.conversations.open(a)
    assert win.settings.temperature.value() == 0.5
    win.settings.reset_button.click()
    settings = store.get_conversation(a).settings
    assert "sampling" not in settings and settings["effort"] == "medium"
    assert settings["instructions"] == "Be brief."  # reset is for the sampling knobs


def test_theme_geometry_and_last_chat_are_remembered(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    cid = _chat(store, "Remember me", ("q", "a"))
    _chat(store, "Other", ("q", "a"))
    win = make_window(prefs=UiPrefs.load())
    win.conversations.open(cid)
    win.resize(760, 560)  # within the offscreen platform's 800x600 screen
    win.set_theme("dark")
    assert QApplication.palette().window().color().lightness() < 80
    win.shutdown()
    prefs = UiPrefs.load()
    assert prefs.theme == "dark" and prefs.last_conversation == cid and prefs.geometry
    again = make_window(prefs=UiPrefs.load())
    assert again.conversation_id == cid
    assert again.width() == 760 and again.height() == 560
    from app.ui.settings.dialog import SettingsDialog

    general = SettingsDialog(again, "General").page("General")
    assert general.theme.currentData() == "dark"  # type: ignore[attr-defined]
    again.set_theme("light")


def test_first_run_shows_the_model_managers_welcome(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    win = make_window(first_run=True)
    assert win.empty.first_run is not None and win.empty.first_run.isVisible()
    assert win.empty.choose_button.isVisible()


class _CountingHandler(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _CountingHandler.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server():  # type: ignore[no-untyped-def]
    _CountingHandler.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    t.join()


def test_rendering_never_fetches_remote_content(qtbot, make_window, http_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    local = tmp_path / "secret.png"
    local.write_bytes(b"\x89PNG")
    text = (
        f"![tracker]({http_server}/pixel.png)\n\n"
        f'<img src="{http_server}/raw.png">\n\n'
        f"[a link]({http_server}/page)\n\n"
        f"![local](file://{local})\n\n"
        f"| a |\n|---|\n| ![x]({http_server}/cell.png) |\n"
    )
    win = make_window()
    win.chat.set_messages([MessageData(id=1, role="assistant", content=text)])
    win.stack.setCurrentWidget(win.chat)
    win.chat.widgets[0].grab()  # paint everything
    QApplication.processEvents()
    labels = [w for w in win.chat.findChildren(QLabel) if isinstance(w, RichLabel)]
    html = "".join(label.text() for label in labels)
    assert "<img" not in html.lower()
    assert "[image: tracker]" in html
    assert "&lt;img" in html  # raw HTML is shown as text, not obeyed
    assert _CountingHandler.hits == []


def test_sidebar_groups_chats_by_pin_and_date(store) -> None:  # type: ignore[no-untyped-def]
    import time

    from app.ui.sidebar import HeaderRole, time_group

    now = time.time()
    assert time_group(now, now) == "Today"
    assert time_group(now - 86400, now) == "Yesterday"
    assert time_group(now - 5 * 86400, now) == "Previous 7 days"
    assert time_group(now - 20 * 86400, now) == "Previous 30 days"
    assert time_group(now - 90 * 86400, now) == "Older"
    ids = [_chat(store, f"c{i}", ("q", "a")) for i in range(4)]
    store.set_pinned(ids[0], True)
    store.execute_raw(
        "UPDATE conversations SET updated_at = ? WHERE id = ?", (now - 90 * 86400, ids[1])
    )
    model = ConversationListModel(store)
    model.reload()
    headers = [model.index(r, 0).data(HeaderRole) for r in range(model.rowCount())]
    assert headers == ["Pinned", "Today", "", "Older"]


def test_a_damaged_database_can_be_moved_aside_from_the_window(qtbot, hearth_home) -> None:  # type: ignore[no-untyped-def]
    from app import paths
    from app.ui.window import MainWindow

    db = paths.database_path()
    damaged = b"not a database " * 1000
    db.write_bytes(damaged)
    win = MainWindow(load_engine=False, prefs=UiPrefs(theme="light"), first_run=False)
    qtbot.addWidget(win)
    win.show()
    try:
        assert win.store is None and win.banner.isVisible()
        win.banner.buttons["Move it aside and start fresh"].click()
        assert win.store is not None and not win.store.readonly
        moved = [p for p in db.parent.iterdir() if p.name.startswith(db.name + ".broken-")]
        assert len(moved) == 1 and moved[0].read_bytes() == damaged  # kept, not deleted
        assert str(moved[0]) in win.info_bar.label.text()
        assert not win.banner.isVisible()
        c = win.store.create_conversation("works again")
        win.sidebar.reload()
        assert win.sidebar.model.rowCount() == 1 and c.id == 1
    finally:
        win.shutdown()


def test_reply_stats_wrap_in_a_narrow_column(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    c = store.create_conversation("Stats")
    store.add_message(c.id, "user", "q")
    stats = {"generated_tokens": 412, "generation_tps": 2045.5, "ttft_s": 0.02}
    store.add_message(c.id, "assistant", "a", stats=stats)
    win = make_window()
    win.resize(800, 600)
    qtbot.waitUntil(lambda: win.width() == 800)
    win.conversations.open(c.id)
    reply = win.chat.widgets[-1]
    label = reply.stats_label
    assert "first token 0.02 s" in label.text()
    # A narrow column: the stats must stay whole inside the row (wrapped), not cut off.
    win.chat.resize(360, win.chat.height())
    qtbot.waitUntil(lambda: reply.width() < 330)
    right = label.mapTo(reply, label.rect().topRight()).x()
    assert right <= reply.width()
    needed = label.fontMetrics().boundingRect(
        0, 0, label.width(), 1000, Qt.TextFlag.TextWordWrap, label.text()
    )
    assert needed.width() <= label.width() and needed.height() <= label.height()


def test_the_end_stays_in_view_when_the_settings_open(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    answer = "Read it **in pieces** instead of all at once, row by row. " * 40
    cid = _chat(store, "Long", *[("A question about reading files", answer)] * 3)
    win = make_window()
    win.resize(1000, 650)
    qtbot.waitUntil(lambda: win.width() == 1000)
    win.conversations.open(cid)
    bar = win.chat.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    win.chat._settled()  # the opening's settling is over: this is about the resize alone
    win.toggle_settings()
    assert win.settings.isVisible()
    last = win.chat.widgets[-1]

    def at_end() -> bool:
        bottom = last.mapTo(win.chat.viewport(), last.rect().bottomLeft()).y()
        return bar.value() == bar.maximum() and bottom <= win.chat.viewport().height() + 20

    qtbot.waitUntil(at_end, timeout=3000)


def test_export_suggests_a_clean_file_name(store, make_window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QFileDialog

    cid = _chat(store, "How do I read a large CSV file in Python without running…", ("q", "a"))
    win = make_window()
    offered: list[str] = []

    def fake_save(_parent, _caption, path, _filter):  # type: ignore[no-untyped-def]
        offered.append(Path(path).name)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_save))
    win.conversations.ask_export(cid, "md")
    assert offered == ["How do I read a large CSV file in Python without running.md"]

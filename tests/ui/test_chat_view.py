"""Chat view widgets on their own: thinking goes live then folds; long chats open lazily."""

from __future__ import annotations

from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices

from app.engine.events import ModelInfo
from app.store import Store
from app.ui.chat_view import FIRST_RENDER, ChatView
from app.ui.markdown import MarkdownColors
from app.ui.markdown_view import RichLabel, open_link
from app.ui.message import MessageData, MessageWidget


def test_thinking_streams_live_then_collapses_when_the_answer_starts(qtbot) -> None:  # type: ignore[no-untyped-def]
    w = MessageWidget(MessageData(id=1, role="assistant", status="streaming"), MarkdownColors())
    qtbot.addWidget(w)
    w.show()
    assert w.thinking is not None and not w.thinking.isVisible()
    w.stream("Let me ", "")
    w.stream("think.", "")
    assert w.thinking.isVisible() and w.thinking.live and w.thinking.expanded
    assert w.thinking.title == "Thinking…"
    assert w.thinking.text() == "Let me think."
    assert w.data.content == "" and not w.markdown.text  # never mixed into the answer
    w.stream("", "The answer")
    assert not w.thinking.live and not w.thinking.expanded
    assert w.thinking.title.startswith("Thought for")
    assert w.markdown.text == "The answer"
    w.finish("done")
    assert w.thinking.text() == "Let me think." and w.data.reasoning == "Let me think."
    w.thinking.toggle.click()
    assert w.thinking.expanded  # expandable later


def test_a_long_chat_renders_its_end_first(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = ChatView(MarkdownColors())
    qtbot.addWidget(view)
    view.show()
    msgs = [
        MessageData(id=i, role="user" if i % 2 == 0 else "assistant", content=f"message {i}")
        for i in range(2000)
    ]
    view.set_messages(msgs)
    assert len(view.widgets) == FIRST_RENDER
    assert view.widgets[-1].data.id == 1999
    assert view.more_button.isVisible()
    assert view.widget_for(1900) is None
    assert view.reveal(1900)  # close by: one more page of older messages
    assert view.widget_for(1900) is not None and len(view.widgets) == 2 * FIRST_RENDER
    assert [w.data.id for w in view.widgets] == sorted(w.data.id for w in view.widgets)
    # Far back (a search hit): a window around it, not 2,000 widgets.
    assert view.reveal(5)
    assert view.widget_for(5) is not None and len(view.widgets) == FIRST_RENDER
    assert view.later_button.isVisible() and not view.more_button.isVisible()
    assert all(w.regen_button.isHidden() for w in view.widgets)  # not the last reply
    view.later_button.click()
    assert view.widgets[-1].data.id == 1999 and not view.later_button.isVisible()
    assert not view.widgets[-1].regen_button.isHidden()


def test_read_only_store_explains_instead_of_sending(qtbot, hearth_home) -> None:  # type: ignore[no-untyped-def]
    with Store.open() as s:
        c = s.create_conversation("Old chat")
        s.add_message(c.id, "user", "hello")
    ro = Store.open(readonly=True)
    try:
        from app.ui.prefs import UiPrefs
        from app.ui.window import MainWindow

        win = MainWindow(ro, load_engine=False, prefs=UiPrefs(theme="light"), first_run=False)
        qtbot.addWidget(win)
        win.show()
        win.engine.info = ModelInfo(path="m.gguf", name="m")  # as if a model were loaded
        win.conversations.open(c.id)
        assert [w.data.content for w in win.chat.widgets] == ["hello"]  # history still readable
        assert not win.turns.start(text="new message")
        assert win.banner.isVisible() and "can't be saved" in win.banner.label.text()
        win.engine.info = None
        win.shutdown()
    finally:
        ro.close()


class _UrlSink(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toString())


def test_links_open_in_the_browser_only_on_click_and_only_web_links(qtbot) -> None:  # type: ignore[no-untyped-def]
    sink = _UrlSink()
    for scheme in ("https", "http", "file", "javascript"):
        QDesktopServices.setUrlHandler(scheme, sink, "open")
    try:
        label = RichLabel('<a href="https://example.org/x">x</a>')
        qtbot.addWidget(label)
        label.show()
        assert sink.opened == []  # showing it opened nothing
        label.linkActivated.emit("https://example.org/x")
        assert sink.opened == ["https://example.org/x"]
        assert not open_link("file:///etc/passwd")
        assert not open_link("javascript:alert(1)")
        assert sink.opened == ["https://example.org/x"]
    finally:
        for scheme in ("https", "http", "file", "javascript"):
            QDesktopServices.unsetUrlHandler(scheme)

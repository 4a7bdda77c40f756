"""Every line of a chat is on screen (issue 16 #1): words too long for a line (base64, a long URL,
a hash), CJK, right-to-left text and emoji wrap inside the reading column at every window size,
with or without the settings panel, and each block is as tall as its wrapped text."""

from __future__ import annotations

import base64

import pytest
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel, QWidget

from app.store import Store
from app.ui.markdown_view import RichLabel

B64 = base64.b64encode(bytes(range(256)) * 2).decode()  # 684 characters, no break
URL = "https://example.com/download?token=" + "a1b2c3d4e5" * 27  # 305 characters
CJK = "这是一个很长的中文句子，用来测试在小窗口中换行是否正确显示所有的文字，不应该被截断。" * 3
RTL = "هذه جملة عربية طويلة لاختبار الالتفاف من اليمين إلى اليسار في نافذة صغيرة جدا " * 3
EMOJI = "🎉🔥👍🏽👨‍👩‍👧‍👦" * 30
LAST = "The last paragraph must be shown."
ANSWER = "\n\n".join(
    [f"The key:\n\n{B64}", f"See {URL} for more.", CJK, RTL, EMOJI, f"`{B64[:300]}`", LAST]
)
QUESTION = f"Why does {URL} fail?"


def text_width(label: QLabel) -> float:
    """How wide the label's laid-out text is (its widest line), as drawn."""
    label.grab()  # painted once at its size
    doc = label.findChild(QTextDocument)
    assert doc is not None
    return doc.idealWidth()


def problems(labels: list[QLabel], viewport: QWidget) -> list[str]:
    """What is wrong with each label: outside the viewport, shorter than its text needs, or a
    line wider than the label. Empty when every line is shown."""
    out = []
    for label in labels:
        name = repr(label.text()[:40])
        left = label.mapTo(viewport, label.rect().topLeft()).x()
        right = label.mapTo(viewport, label.rect().topRight()).x()
        if left < 0 or right >= viewport.width():
            out.append(f"{name} spans x {left}..{right} of {viewport.width()}")
        if label.height() < label.heightForWidth(label.width()):
            out.append(
                f"{name} {label.height()} px high, needs {label.heightForWidth(label.width())}"
            )
        m = label.contentsMargins()
        room = label.width() - m.left() - m.right()
        if text_width(label) > room + 1:
            out.append(f"{name} has a line {text_width(label):.0f} px wide in {room} px")
    return out


def assert_fits(qtbot, labels: list[QLabel], viewport: QWidget) -> None:  # type: ignore[no-untyped-def]
    """Every line shown, once the layout has settled (it takes a few passes)."""
    try:
        qtbot.waitUntil(lambda: not problems(labels, viewport), timeout=3000)
    except Exception:
        raise AssertionError("\n".join(problems(labels, viewport))) from None


def _chat(store: Store) -> int:
    c = store.create_conversation("Long words")
    store.add_message(c.id, "user", QUESTION)
    store.add_message(c.id, "assistant", ANSWER)
    return c.id


@pytest.mark.parametrize(
    ("width", "height", "settings"),
    [(800, 600, False), (800, 600, True), (1400, 900, True), (1400, 900, False)],
)
def test_long_words_cjk_rtl_and_emoji_wrap_and_every_line_shows(  # type: ignore[no-untyped-def]
    qtbot, store, make_window, width: int, height: int, settings: bool
) -> None:
    cid = _chat(store)
    win = make_window()
    win.resize(width, height)
    win.settings.setVisible(settings)
    qtbot.waitUntil(lambda: win.width() == width)
    win.conversations.open(cid)
    question, reply = win.chat.widgets
    assert reply.markdown is not None and question.bubble is not None
    qtbot.waitUntil(lambda: reply.width() > 0)
    viewport = win.chat.viewport()
    labels = [b for b in reply.markdown.blocks() if isinstance(b, RichLabel)]
    assert labels and LAST in labels[-1].text()
    assert_fits(qtbot, [question.bubble, *labels], viewport)
    # Stacked without overlap, the actions row below the last block.
    blocks = reply.markdown.blocks()
    bottoms = [b.mapTo(reply, b.rect().bottomLeft()).y() for b in blocks]
    tops = [b.mapTo(reply, b.rect().topLeft()).y() for b in blocks]
    assert all(t > b for b, t in zip(bottoms, tops[1:], strict=False))
    assert reply.actions_row.mapTo(reply, reply.actions_row.rect().topLeft()).y() > bottoms[-1]
    # The chat scrolls to the reply's very end.
    bar = win.chat.verticalScrollBar()
    bar.setValue(bar.maximum())
    end = reply.actions_row.mapTo(viewport, reply.actions_row.rect().bottomLeft()).y()
    assert end <= viewport.height()


def test_a_streamed_reply_wraps_its_long_words_too(qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.ui.chat_view import ChatView
    from app.ui.markdown import MarkdownColors
    from app.ui.message import MessageData

    view = ChatView(MarkdownColors())
    qtbot.addWidget(view)
    view.resize(420, 500)
    view.show()
    view.set_messages([MessageData(id=1, role="assistant", status="streaming")])
    reply = view.widgets[0]
    for i in range(0, len(ANSWER), 97):  # the tail block is re-rendered as it grows
        reply.stream("", ANSWER[: i + 97])
    qtbot.waitUntil(lambda: reply.markdown is not None and bool(reply.markdown.blocks()))
    assert reply.markdown is not None
    labels = [b for b in reply.markdown.blocks() if isinstance(b, RichLabel)]
    assert_fits(qtbot, labels, view.viewport())
    reply.finish("done")
    labels = [b for b in reply.markdown.blocks() if isinstance(b, RichLabel)]
    assert_fits(qtbot, labels, view.viewport())

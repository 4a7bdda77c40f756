"""A Markdown answer as widgets: one rich-text label per finished block, one code widget per
fenced block, plus a live tail. While a reply streams only the tail is re-rendered (see
``app.ui.markdown``), so an update costs the same at token 4,000 as at token 100.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QDesktopServices,
    QGuiApplication,
    QPaintEvent,
    QResizeEvent,
    QTextDocument,
    QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractButton,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.library.citations import CITE_SCHEME
from app.ui import math_render
from app.ui.markdown import IncrementalMarkdown, MarkdownColors, Segment, render_document
from app.ui.widgets import action_button

SAFE_SCHEMES = ("http", "https", "mailto")
# A word this long may not fit a line of the narrowest column (~150 px); CJK runs count too.
_LONG_WORD = re.compile(r"[^\s<>]{18,}")
_TAG = re.compile(r"<[^>]*>")


def open_link(url: str) -> bool:
    """Open a link in the system browser, on click only, and only for web/mail links."""
    q = QUrl(url)
    if q.scheme().lower() not in SAFE_SCHEMES:
        return False
    return bool(QDesktopServices.openUrl(q))


class WrapLabel(QLabel):
    """A word-wrapped label that also breaks a word too long for its line (base64, a long URL, a
    hash) instead of running past its edge, and whose height is the height of its wrapped text.

    QLabel wraps only at word boundaries: a long word made its minimum width the word's width,
    the layout then asked its height at that width (a few lines) while giving it the column's
    (many lines), and the paragraphs below were cut off. QLabel offers no wrap mode, so the mode
    is set on the document it lays its text out in, after each time QLabel resets it (its text,
    size, font, palette or margins changed); ``_anywhere`` is False until then. Text without a word
    long enough to need it (most of it) is left alone: setting the mode costs two more layouts.
    """

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.setWordWrap(True)
        self._hfw: dict[int, int] = {}
        self._anywhere = False
        self._long_word = False  # the text has a word that may be too long for a line
        if text:
            self.setText(text)

    # QLabel recomputes its word-wrapped height on every layout pass; with dozens of blocks that
    # made each streaming update cost O(answer length). Cache it per width until the text changes.
    def setText(self, text: str) -> None:
        self._hfw.clear()
        words = _TAG.sub(" ", text) if self.textFormat() != Qt.TextFormat.PlainText else text
        self._long_word = _LONG_WORD.search(words) is not None
        self._anywhere = False
        super().setText(text)

    def setTextInteractionFlags(self, flags: Qt.TextInteractionFlag) -> None:
        self._anywhere = False  # selectable text gets its document now
        super().setTextInteractionFlags(flags)

    def changeEvent(self, event: QEvent) -> None:
        self._hfw.clear()
        self._anywhere = False  # a font, palette or margin change lays the text out again
        super().changeEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._anywhere = False  # so does a resize (QLabel.event marks its layout dirty)
        super().resizeEvent(event)

    def setWordWrap(self, on: bool) -> None:
        self._anywhere = False
        super().setWordWrap(on)

    def setTextFormat(self, fmt: Qt.TextFormat) -> None:
        self._anywhere = False
        super().setTextFormat(fmt)

    def setAlignment(self, alignment: Qt.AlignmentFlag) -> None:
        self._anywhere = False
        super().setAlignment(alignment)

    def _wrap_anywhere(self) -> None:
        if not self._anywhere and self._long_word:
            self._anywhere = True
            QLabel.heightForWidth(self, max(1, self.width()))  # QLabel lays out (WordWrap)
            self._set_mode()

    def _set_mode(self) -> bool:
        """Wrap anywhere in QLabel's document; True if it had been reset to word wrap."""
        if not self._long_word:
            return False
        doc = self.findChild(QTextDocument)  # QLabel's own (it exists for selectable text)
        if doc is None:
            return False
        option = doc.defaultTextOption()
        if option.wrapMode() == QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere:
            return False
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        doc.setDefaultTextOption(option)
        return True

    def heightForWidth(self, width: int) -> int:
        self._wrap_anywhere()
        h = self._hfw.get(width)
        if h is None:
            h = super().heightForWidth(width)
            if self._set_mode():  # laid out again by a change not seen above: measure again
                h = super().heightForWidth(width)
            self._hfw[width] = h
        return h

    def minimumSizeHint(self) -> QSize:
        # Any width will do: the text wraps anywhere (the height follows the width).
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), 4 * self.fontMetrics().averageCharWidth()), hint.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        self._wrap_anywhere()
        super().paintEvent(event)
        if self._set_mode():  # painted with word wrap after a change not seen above
            self.updateGeometry()
            self.update()


class RichLabel(WrapLabel):
    """A selectable rich-text label whose links open only on click, in the system browser."""

    def __init__(self, html: str = "") -> None:
        super().__init__()
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setOpenExternalLinks(False)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.linkActivated.connect(self._open_link)
        if html:
            self.setText(html)

    def _open_link(self, url: str) -> None:
        # A citation (``cite:3:9:11``) opens its source in the app: the window's Library
        # (app.ui.library_service) knows the chat's browser pages.
        if url.startswith(CITE_SCHEME + ":"):
            library = getattr(self.window(), "library", None)
            if library is not None:
                library.open_citation(url)
            return
        open_link(url)


class CodeBlock(QFrame):
    """A fenced code block: language, a Copy button, highlighted code that scrolls sideways."""

    def __init__(self, seg: Segment) -> None:
        super().__init__()
        self.setObjectName("codeBlock")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        header = QFrame()
        header.setObjectName("codeHeader")
        h = QHBoxLayout(header)
        h.setContentsMargins(10, 2, 4, 2)
        self.lang = QLabel()
        self.lang.setObjectName("codeLang")
        self.copy_button = action_button("Copy", "Copy this code")
        self.copy_button.clicked.connect(self._copy)
        h.addWidget(self.lang)
        h.addStretch(1)
        h.addWidget(self.copy_button)
        lay.addWidget(header)
        self.body = QLabel()
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setContentsMargins(12, 8, 12, 10)
        self.scroller = QScrollArea()
        self.scroller.setWidget(self.body)
        self.scroller.setWidgetResizable(True)
        self.scroller.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.scroller.setFrameShape(QFrame.Shape.NoFrame)
        self.scroller.setStyleSheet(
            "QScrollArea, QScrollArea > QWidget > QWidget {background: transparent;}"
        )
        lay.addWidget(self.scroller)
        self.code = ""
        self.set_segment(seg)

    def set_segment(self, seg: Segment) -> None:
        self.code = seg.code
        self.lang.setText(seg.lang or "code")
        self.body.setText(seg.html)
        self._fit()

    def _fit(self) -> None:
        h = self.body.sizeHint().height()
        if self.body.sizeHint().width() > self.scroller.viewport().width() > 0:
            h += self.scroller.horizontalScrollBar().sizeHint().height()
        self.scroller.setFixedHeight(h)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit()

    def _copy(self) -> None:
        copy_with_feedback(self.copy_button, self.code)


def copy_with_feedback(button: QAbstractButton, text: str) -> None:
    """Put ``text`` on the clipboard; the button says "Copied" for a moment."""
    QGuiApplication.clipboard().setText(text)
    if button.text() != "Copied":
        label = button.text()
        button.setText("Copied")
        QTimer.singleShot(1500, button, lambda: button.setText(label))


def _segment_widget(seg: Segment) -> QWidget:
    return CodeBlock(seg) if seg.kind == "code" else RichLabel(seg.html)


class MarkdownView(QWidget):
    """A Markdown answer as block widgets; streams by re-rendering only its tail block."""

    def __init__(self, colors: MarkdownColors) -> None:
        super().__init__()
        self.colors = colors
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(8)
        # Finished blocks live in their own container: a tail update then invalidates only the
        # outer two-item layout, and the container's cached height stays valid (layout cost
        # stays flat as the answer grows).
        self._done = QWidget()
        self._lay = QVBoxLayout(self._done)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self._lay.setSpacing(8)
        self._done.hide()
        self._tail_box = QVBoxLayout()
        self._tail_box.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._done)
        outer.addLayout(self._tail_box)
        self._inc = IncrementalMarkdown(colors)
        self._tail: list[QWidget] = []  # the open blocks, re-rendered on each update
        self._tail_kinds: list[str] = []
        self.text = ""
        self._pending = False  # a formula placed while still being typeset (its source shown)

    def blocks(self) -> list[QWidget]:
        done = []
        for i in range(self._lay.count()):
            item = self._lay.itemAt(i)
            if item is not None and (w := item.widget()) is not None:
                done.append(w)
        return done + self._tail

    def set_document(self, text: str) -> None:
        """Show a finished text (merged blocks: fewest widgets)."""
        self._clear()
        self.text = text
        segments = render_document(text, self.colors)
        for seg in segments:
            self._lay.addWidget(_segment_widget(seg))
        self._done.setVisible(self._lay.count() > 0)
        if any(s.pending for s in segments):
            self._refresh_when_typeset()

    def stream(self, text: str) -> None:
        """The text so far; renders newly finished blocks once, then the tail."""
        self.text = text
        finished, tail = self._inc.update(text)
        self._place(finished, tail)

    def finish(self, text: str) -> None:
        self.text = text
        segments = self._inc.finish(text)
        self._place(segments, [])
        if self._pending or any(s.pending for s in segments):
            self._refresh_when_typeset()

    def _refresh_when_typeset(self) -> None:
        """Formulas still being typeset show their source: show the text again once they are
        ready (a reply that ended, or a chat opened, before its formulas were)."""
        math_render.renderer().when_ready(self, lambda: self.set_document(self.text))

    def _place(self, finished: list[Segment], tail: list[Segment]) -> None:
        self._pending = self._pending or any(s.pending for s in finished)
        if finished:
            # Finished blocks move from the tail to the done column; the tail is rebuilt.
            self._drop_tail()
            for seg in finished:
                self._lay.addWidget(_segment_widget(seg))
            self._done.show()
        # Update the open blocks in place where the kind matches (the common case: the last
        # paragraph or code block grew), else replace from there on.
        for i, seg in enumerate(tail):
            if i < len(self._tail) and self._tail_kinds[i] == seg.kind:
                self._set_widget(self._tail[i], seg)
                continue
            self._drop_tail(i)
            w = _segment_widget(seg)
            self._tail.append(w)
            self._tail_kinds.append(seg.kind)
            self._tail_box.addWidget(w)
        self._drop_tail(len(tail))

    @staticmethod
    def _set_widget(w: QWidget, seg: Segment) -> None:
        if isinstance(w, CodeBlock):
            w.set_segment(seg)
        elif isinstance(w, QLabel):
            w.setText(seg.html)

    def _drop_tail(self, keep: int = 0) -> None:
        while len(self._tail) > keep:
            w = self._tail.pop()
            self._tail_kinds.pop()
            self._tail_box.removeWidget(w)
            w.hide()
            w.deleteLater()

    def _clear(self) -> None:
        self._drop_tail()
        self._pending = False
        self._inc = IncrementalMarkdown(self.colors)
        while self._lay.count():
            item = self._lay.takeAt(0)
            if item is not None and (w := item.widget()) is not None:
                w.deleteLater()

"""The conversation pane: a scroll area of per-message widgets.

Each assistant answer is a column of block widgets (one rich-text label per finished Markdown
block, one code widget per fenced block) plus a live tail block: while a reply streams, only the
tail is re-rendered (see ``app.ui.markdown``), so an update costs the same at token 4,000 as at
token 100. Reasoning ("Thinking…") is a separate, collapsible section above the answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.markdown import IncrementalMarkdown, MarkdownColors, Segment, render_document

SAFE_SCHEMES = ("http", "https", "mailto")
SETTLE_MS = 400  # after a chat is shown, how long its end is kept in view as its layout settles
COLUMN_WIDTH = 820  # the reading column; wider windows get margins, like every chat app
FIRST_RENDER = 60  # messages rendered when a chat opens; older ones on request


@dataclass
class MessageData:
    """What the view needs to show one message (built from the store's rows)."""

    id: Any
    role: str  # "user" or "assistant"
    content: str = ""
    reasoning: str = ""
    status: str = "done"  # streaming / done / cancelled / interrupted / error
    error: str = ""
    sibling_index: int = 0  # 0-based position among its siblings (branches)
    sibling_count: int = 1
    stats: dict[str, Any] = field(default_factory=dict)
    thinking_seconds: float | None = None


def open_link(url: str) -> bool:
    """Open a link in the system browser, on click only, and only for web/mail links."""
    q = QUrl(url)
    if q.scheme().lower() not in SAFE_SCHEMES:
        return False
    return bool(QDesktopServices.openUrl(q))


def _action(text: str, tip: str) -> QToolButton:
    b = QToolButton()
    b.setObjectName("msgAction")
    b.setText(text)
    b.setToolTip(tip)
    b.setCursor(Qt.CursorShape.PointingHandCursor)
    b.setAutoRaise(True)
    return b


class Bubble(QLabel):
    """The user's message: as wide as its longest line (up to its maximum) when there is room,
    narrower and wrapped when there is not. (A minimum width of the longest line pushed the
    bubble past the column's edge in a small window, its text cut off.)"""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.fit_width = 0  # the longest line, with the margins

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if self.fit_width <= 0:
            return hint
        w = min(self.maximumWidth(), self.fit_width)
        return QSize(w, self.heightForWidth(w))

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), 120), hint.height())


class RichLabel(QLabel):
    """A selectable rich-text label whose links open only on click, in the system browser."""

    def __init__(self, html: str = "") -> None:
        super().__init__()
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setOpenExternalLinks(False)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.linkActivated.connect(open_link)
        self._hfw: dict[int, int] = {}
        if html:
            self.setText(html)

    # QLabel recomputes its word-wrapped height on every layout pass; with dozens of blocks that
    # made each streaming update cost O(answer length). Cache it per width until the text changes.
    def setText(self, text: str) -> None:
        self._hfw.clear()
        super().setText(text)

    def heightForWidth(self, width: int) -> int:
        h = self._hfw.get(width)
        if h is None:
            h = self._hfw[width] = super().heightForWidth(width)
        return h


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
        self.copy_button = _action("Copy", "Copy this code")
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
        QGuiApplication.clipboard().setText(self.code)
        self.copy_button.setText("Copied")
        QTimer.singleShot(1500, self, self._reset_copy)

    def _reset_copy(self) -> None:
        self.copy_button.setText("Copy")


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
        for seg in render_document(text, self.colors):
            self._lay.addWidget(_segment_widget(seg))
        self._done.setVisible(self._lay.count() > 0)

    def stream(self, text: str) -> None:
        """The text so far; renders newly finished blocks once, then the tail."""
        self.text = text
        finished, tail = self._inc.update(text)
        self._place(finished, tail)

    def finish(self, text: str) -> None:
        self.text = text
        self._place(self._inc.finish(text), [])

    def _place(self, finished: list[Segment], tail: list[Segment]) -> None:
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
        self._inc = IncrementalMarkdown(self.colors)
        while self._lay.count():
            item = self._lay.takeAt(0)
            if item is not None and (w := item.widget()) is not None:
                w.deleteLater()


class ThinkingSection(QFrame):
    """The model's reasoning: live while it thinks, then collapsed to "Thought for 12 s"."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("thinking")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.toggle = QToolButton()
        self.toggle.setObjectName("thinkingToggle")
        self.toggle.setCursor(Qt.CursorShape.PointingHandCursor)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.toggle.clicked.connect(lambda: self.set_expanded(not self.expanded))
        self.body = QPlainTextEdit()
        self.body.setObjectName("thinkingBody")
        self.body.setReadOnly(True)
        self.body.setFrameShape(QFrame.Shape.NoFrame)
        self.body.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.body.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.body.installEventFilter(self)
        lay.addWidget(self.toggle)
        lay.addWidget(self.body)
        self.expanded: bool = False
        self.live = False
        self.seconds: float | None = None
        self._started = 0.0
        self._title = "Thoughts"
        self.set_expanded(False)

    @property
    def title(self) -> str:
        return self._title

    def start_live(self) -> None:
        self.live = True
        self._started = time.monotonic()
        self._set_title("Thinking…")
        self.set_expanded(True)

    def append(self, delta: str) -> None:
        cur = self.body.textCursor()
        cur.movePosition(QTextCursor.MoveOperation.End)
        cur.insertText(delta)
        if self.live:
            self.body.verticalScrollBar().setValue(self.body.verticalScrollBar().maximum())
            self._fit()

    def set_text(self, text: str) -> None:
        self.body.setPlainText(text)
        self._fit()

    def text(self) -> str:
        return self.body.toPlainText()

    def stop_live(self, seconds: float | None = None) -> None:
        """The answer started (or the reply ended): collapse to a summary."""
        if self.live and seconds is None:
            seconds = time.monotonic() - self._started
        self.live = False
        self.set_seconds(seconds)
        self.set_expanded(False)

    def set_seconds(self, seconds: float | None) -> None:
        self.seconds = seconds
        if seconds is None:
            self._set_title("Thoughts")
        elif seconds < 1:
            self._set_title("Thought for less than a second")
        else:
            self._set_title(f"Thought for {round(seconds)} s")

    def _set_title(self, title: str) -> None:
        self._title = title
        self._update_toggle()

    def set_expanded(self, on: bool) -> None:
        self.expanded = on
        self.body.setVisible(on)
        self._update_toggle()
        self._fit()

    def _update_toggle(self) -> None:
        self.toggle.setText(("▾ " if self.expanded else "▸ ") + self._title)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.body and event.type() == QEvent.Type.Resize:
            QTimer.singleShot(0, self, self._fit)  # lines re-wrap at the new width first
        return super().eventFilter(obj, event)

    def _fit(self) -> None:
        """Tall enough for the text (wrapped lines), up to a cap; the rest scrolls."""
        if not self.expanded:
            return
        doc = self.body.document()
        lines = 0
        block = doc.begin()
        while block.isValid():
            layout = block.layout()
            lines += max(1, layout.lineCount() if layout is not None else 1)
            block = block.next()
        m = self.body.contentsMargins()
        chrome = int(doc.documentMargin() * 2) + m.top() + m.bottom() + 4
        cap = 220 if self.live else 420
        height = lines * self.body.fontMetrics().lineSpacing() + chrome
        self.body.setFixedHeight(min(max(height, 40), cap))


class _BranchNav(QWidget):
    """‹ 2/3 › — switch between the versions of a message."""

    moved = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.prev = _action("‹", "Previous version")
        self.next = _action("›", "Next version")
        self.label = QLabel()
        self.label.setObjectName("statusNote")
        self.prev.clicked.connect(lambda: self.moved.emit(-1))
        self.next.clicked.connect(lambda: self.moved.emit(1))
        lay.addWidget(self.prev)
        lay.addWidget(self.label)
        lay.addWidget(self.next)

    def set_position(self, index: int, count: int) -> None:
        self.setVisible(count > 1)
        self.label.setText(f"{index + 1}/{count}")
        self.prev.setEnabled(index > 0)
        self.next.setEnabled(index < count - 1)


class MessageWidget(QFrame):
    """One message with its actions row (copy, edit/regenerate, branch arrows)."""

    copied = Signal(str)
    editSubmitted = Signal(object, str)  # message id, new text
    regenerateRequested = Signal(object)
    branchRequested = Signal(object, int)  # message id, -1 / +1

    def __init__(self, data: MessageData, colors: MarkdownColors) -> None:
        super().__init__()
        self.data = data
        self.setObjectName("message")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 4, 0, 4)
        outer.setSpacing(6)
        self.thinking: ThinkingSection | None = None
        self.markdown: MarkdownView | None = None
        self.bubble: Bubble | None = None
        self._editor: QWidget | None = None
        self._edit_box: QPlainTextEdit | None = None
        self.status_label = QLabel()
        self.status_label.setObjectName("msgStatus")
        self.status_label.setWordWrap(True)
        self.status_label.hide()

        if data.role == "user":
            row = QHBoxLayout()
            row.setContentsMargins(0, 0, 0, 0)
            row.addStretch(1)
            self.bubble = Bubble(data.content)
            self.bubble.setObjectName("userBubble")
            self.bubble.setTextFormat(Qt.TextFormat.PlainText)
            self.bubble.setWordWrap(True)
            self.bubble.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.bubble.setContentsMargins(14, 9, 14, 9)
            self.bubble.setMaximumWidth(int(COLUMN_WIDTH * 0.8))
            self._fit_bubble()
            row.addWidget(self.bubble)
            self._bubble_row = row
            outer.addLayout(row)
        else:
            self.thinking = ThinkingSection()
            self.thinking.setVisible(bool(data.reasoning))
            if data.reasoning:
                self.thinking.set_text(data.reasoning)
                self.thinking.set_seconds(data.thinking_seconds)
            outer.addWidget(self.thinking)
            self.markdown = MarkdownView(colors)
            if data.status != "streaming":
                self.markdown.set_document(data.content)
            outer.addWidget(self.markdown)
        outer.addWidget(self.status_label)

        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.setSpacing(2)
        self.nav = _BranchNav()
        self.nav.moved.connect(lambda d: self.branchRequested.emit(self.data.id, d))
        self.copy_button = _action("Copy", "Copy this message")
        self.copy_button.clicked.connect(self._copy)
        self.edit_button = _action("Edit", "Edit and resend (keeps the old version)")
        self.edit_button.clicked.connect(self.start_edit)
        self.regen_button = _action("Regenerate", "Write a new reply (keeps this one)")
        self.regen_button.clicked.connect(lambda: self.regenerateRequested.emit(self.data.id))
        self.stats_label = QLabel()
        self.stats_label.setObjectName("statusNote")
        # Wraps in a narrow column (a small window with the settings open) instead of being
        # cut off at the edge.
        self.stats_label.setWordWrap(True)
        if data.role == "user":
            actions.addStretch(1)
            actions.addWidget(self.nav)
            actions.addWidget(self.edit_button)
            actions.addWidget(self.copy_button)
            self.regen_button.hide()
        else:
            actions.addWidget(self.nav)
            actions.addWidget(self.copy_button)
            actions.addWidget(self.regen_button)
            actions.addSpacing(8)
            actions.addWidget(self.stats_label, 1)
            self.edit_button.hide()
        self.actions_row = QWidget()
        self.actions_row.setLayout(actions)
        outer.addWidget(self.actions_row)
        self.nav.set_position(data.sibling_index, data.sibling_count)
        self.set_status(data.status, data.error)
        self._show_stats(data.stats)
        if data.status == "streaming":
            self.actions_row.hide()  # copy/regenerate make sense once the reply is complete

    # -- content ------------------------------------------------------------------------------

    def text(self) -> str:
        return self.data.content

    def _fit_bubble(self) -> None:
        """As wide as its longest line (up to the maximum): QLabel's own guess for wrapped text
        is a narrow column."""
        assert self.bubble is not None
        self.bubble.ensurePolished()  # the style sheet's font, not the default one
        fm = self.bubble.fontMetrics()
        longest = max(
            (fm.horizontalAdvance(line) for line in self.data.content.split("\n")), default=0
        )
        m = self.bubble.contentsMargins()
        self.bubble.fit_width = longest + m.left() + m.right() + 8
        self.bubble.updateGeometry()

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.data.content)
        self.copied.emit(self.data.content)

    def set_status(self, status: str, error: str = "") -> None:
        self.data.status = status
        self.data.error = error
        notes = {
            "cancelled": "Stopped. The reply above is what was written before you stopped it.",
            "interrupted": "Interrupted: the app closed while this reply was being written.",
            "error": f"This reply failed: {error}" if error else "This reply failed.",
        }
        note = notes.get(status, "")
        self.status_label.setText(note)
        self.status_label.setVisible(bool(note))

    def _show_stats(self, stats: dict[str, Any]) -> None:
        tps = stats.get("generation_tps")
        n = stats.get("generated_tokens")
        parts = []
        if n:
            parts.append(f"{int(n)} tokens")
        if tps:
            parts.append(f"{float(tps):.1f} tok/s")
        if stats.get("ttft_s") is not None:
            parts.append(f"first token {float(stats['ttft_s']):.2f} s")
        self.stats_label.setText(" · ".join(parts))

    # -- streaming (assistant) --------------------------------------------------------------

    def stream(self, reasoning_delta: str, content: str) -> None:
        """Append reasoning and show the content so far."""
        assert self.thinking is not None and self.markdown is not None
        if reasoning_delta:
            if not self.thinking.isVisible():
                self.thinking.show()
                self.thinking.start_live()
            self.thinking.append(reasoning_delta)
            self.data.reasoning += reasoning_delta
        if content and content != self.data.content:
            if self.thinking.live:
                self.thinking.stop_live()
                self.data.thinking_seconds = self.thinking.seconds
            self.data.content = content
            self.markdown.stream(content)

    def finish(self, status: str, error: str = "", stats: dict[str, Any] | None = None) -> None:
        assert self.thinking is not None and self.markdown is not None
        if self.thinking.live:
            self.thinking.stop_live()
            self.data.thinking_seconds = self.thinking.seconds
        self.markdown.finish(self.data.content)
        self.set_status(status, error)
        if stats:
            self.data.stats = stats
            self._show_stats(stats)
        self.actions_row.show()

    # -- editing (user) ---------------------------------------------------------------------

    def start_edit(self) -> None:
        if self.bubble is None or self._editor is not None:
            return
        editor = QFrame()
        editor.setObjectName("composerFrame")
        lay = QVBoxLayout(editor)
        box = QPlainTextEdit(self.data.content)
        lines = min(8, max(2, self.data.content.count("\n") + 2))
        box.setFixedHeight(lines * box.fontMetrics().lineSpacing() + 16)
        box.installEventFilter(self)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        cancel = QPushButton("Cancel")
        send = QPushButton("Send")
        send.setObjectName("primary")
        cancel.clicked.connect(self.cancel_edit)
        send.clicked.connect(self._submit_edit)
        buttons.addWidget(cancel)
        buttons.addWidget(send)
        lay.addWidget(box)
        lay.addLayout(buttons)
        self.bubble.hide()
        self.actions_row.hide()
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(1, editor)
        self._editor, self._edit_box = editor, box
        box.setFocus()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self._edit_box and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() == Qt.Key.Key_Escape:
                self.cancel_edit()
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            ):
                self._submit_edit()
                return True
        return super().eventFilter(obj, event)

    def edit_text(self) -> str:
        return self._edit_box.toPlainText() if self._edit_box is not None else ""

    def set_edit_text(self, text: str) -> None:
        if self._edit_box is not None:
            self._edit_box.setPlainText(text)

    def _submit_edit(self) -> None:
        text = self.edit_text().strip()
        if not text:
            return
        # The window closes the editor once it accepts the edit: a refused one (a reply still
        # streaming) keeps what the user typed.
        self.editSubmitted.emit(self.data.id, text)

    def cancel_edit(self) -> None:
        if self._editor is None:
            return
        self._editor.hide()
        self._editor.deleteLater()
        self._editor = self._edit_box = None
        if self.bubble is not None:
            self.bubble.show()
        self.actions_row.show()


class ChatView(QScrollArea):
    """The messages of one conversation, newest at the bottom; follows the stream while the user
    is at the bottom, stays put when they scroll up to read."""

    editSubmitted = Signal(object, str)
    regenerateRequested = Signal(object)
    branchRequested = Signal(object, int)

    def __init__(self, colors: MarkdownColors) -> None:
        super().__init__()
        self.colors = colors
        # The inner widget is sized here, by height-for-width at the viewport's width:
        # QScrollArea's own resizing uses sizeHint, which for wrapped text is too tall.
        self.setWidgetResizable(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.inner = QWidget()
        self.inner.setObjectName("chatPane")
        self.inner.installEventFilter(self)
        row = QHBoxLayout(self.inner)
        row.setContentsMargins(24, 16, 24, 16)
        row.addStretch(1)
        self.column = QWidget()
        self.column.setMaximumWidth(COLUMN_WIDTH)
        self.column.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        row.addWidget(self.column, 100)
        row.addStretch(1)
        self._lay = QVBoxLayout(self.column)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self._lay.setSpacing(14)
        self.more_button = QPushButton("Show earlier messages")
        self.more_button.clicked.connect(self._show_more)
        self.more_button.hide()
        self._lay.addWidget(self.more_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self.later_button = QPushButton("Show later messages")
        self.later_button.clicked.connect(self._show_latest)
        self.later_button.hide()
        self._lay.addWidget(self.later_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self._lay.addStretch(1)
        self.setWidget(self.inner)
        self.widgets: list[MessageWidget] = []
        self._all: list[MessageData] = []
        self._start = self._end = 0
        self._follow = True
        self.streaming = False  # set by the window while a reply streams: follow it
        self._settling = False  # a chat was just shown: follow its layout to the end
        self.verticalScrollBar().rangeChanged.connect(self._on_range)
        self.verticalScrollBar().valueChanged.connect(self._on_scroll)

    # -- content ------------------------------------------------------------------------------
    #
    # A chat of thousands of messages is never built at once: ``_all`` holds every message and
    # ``_start:_end`` is the built window (normally the last FIRST_RENDER). "Show earlier
    # messages" extends it upwards; jumping to an old search hit builds a window around it,
    # with "Show later messages" leading back to the end.

    def clear(self) -> None:
        for w in self.widgets:
            self._lay.removeWidget(w)
            w.hide()
            w.deleteLater()
        self.widgets = []
        self._all = []
        self._start = self._end = 0
        self.more_button.hide()
        self.later_button.hide()

    def set_messages(self, messages: list[MessageData]) -> None:
        """Show a conversation; only the last FIRST_RENDER messages are built at once."""
        self._build_window(messages, max(0, len(messages) - FIRST_RENDER), len(messages))
        self._follow = True
        self._fit_inner()
        self.scroll_to_bottom()
        # Wrapped text and code blocks settle their heights over a few layout passes after
        # this; keep the end in view through them (a chat opened in a small window showed its
        # top: the bottom had been taken before the content grew).
        self._settling = True
        QTimer.singleShot(0, self, self.scroll_to_bottom)
        QTimer.singleShot(SETTLE_MS, self, self._settled)

    def _build_window(self, messages: list[MessageData], start: int, end: int) -> None:
        self.clear()
        self._all = list(messages)
        self._start = self._end = start
        for m in messages[start:end]:
            self.add_message(m)
        self._update_edges()

    def _update_edges(self) -> None:
        self.more_button.setVisible(self._start > 0)
        self.later_button.setVisible(self._end < len(self._all))

    def _show_more(self) -> None:
        new_start = max(0, self._start - FIRST_RENDER)
        older = self._all[new_start : self._start]
        for i, m in enumerate(older):
            w = self._make(m)
            self._lay.insertWidget(1 + i, w)
            self.widgets.insert(i, w)
        self._start = new_start
        self._update_edges()
        self._refresh_actions()

    def _show_latest(self) -> None:
        self.set_messages(self._all)

    def _make(self, data: MessageData) -> MessageWidget:
        w = MessageWidget(data, self.colors)
        w.editSubmitted.connect(self.editSubmitted)
        w.regenerateRequested.connect(self.regenerateRequested)
        w.branchRequested.connect(self.branchRequested)
        return w

    def add_message(self, data: MessageData) -> MessageWidget:
        """Append a message after the built window (the window's end is the chat's end)."""
        w = self._make(data)
        # Before "Show later messages" and the trailing stretch.
        self._lay.insertWidget(self._lay.indexOf(self.later_button), w)
        self.widgets.append(w)
        if self._end >= len(self._all):
            self._all.append(data)
        self._end += 1
        self._refresh_actions()
        return w

    def _refresh_actions(self) -> None:
        # Regenerate belongs to the chat's last reply only (not the last one built).
        last = self.last_assistant() if self._end >= len(self._all) else None
        for w in self.widgets:
            if w.data.role == "assistant":
                w.regen_button.setVisible(w is last)

    def last_assistant(self) -> MessageWidget | None:
        return next((w for w in reversed(self.widgets) if w.data.role == "assistant"), None)

    def widget_for(self, message_id: Any) -> MessageWidget | None:
        return next((w for w in self.widgets if w.data.id == message_id), None)

    def reveal(self, message_id: Any) -> bool:
        """Scroll so a message is visible, building a window around it if it is not built."""
        if self.widget_for(message_id) is None:
            index = next((i for i, m in enumerate(self._all) if m.id == message_id), -1)
            if index < 0:
                return False
            if self._start - index <= FIRST_RENDER and index < self._start:
                self._show_more()
            else:
                start = max(0, index - 5)
                self._build_window(self._all, start, min(len(self._all), start + FIRST_RENDER))
        w = self.widget_for(message_id)
        if w is None:
            return False
        self._follow = False
        QTimer.singleShot(0, w, lambda: self.ensureWidgetVisible(w, 0, 40))
        return True

    # -- sizing --------------------------------------------------------------------------------

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.inner and event.type() == QEvent.Type.LayoutRequest:
            self._fit_inner()
        return super().eventFilter(obj, event)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self._follow and event.oldSize().width() != event.size().width():
            # Rewrapped text changes the height: a reader at the end stays at the end (opening
            # the settings panel left them in the middle of the chat).
            self._settling = True
            QTimer.singleShot(SETTLE_MS, self, self._settled)
        self._fit_inner()
        if self._follow:
            self.scroll_to_bottom()

    def _fit_inner(self) -> None:
        width = self.viewport().width()
        layout = self.inner.layout()
        content = layout.totalHeightForWidth(width) if layout is not None else 0
        height = max(content, self.viewport().height())
        if self.inner.width() != width or self.inner.height() != height:
            self.inner.resize(width, height)

    # -- following the stream ------------------------------------------------------------------

    def scroll_to_bottom(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def end_stream(self) -> None:
        """The reply is complete. Its final re-render and its actions row (Copy, Regenerate,
        stats) arrive after the last streamed text: keep them in view if the view was following,
        or the reply's end stays hidden under the composer."""
        self.streaming = False
        if self._follow:
            self._fit_inner()
            self.scroll_to_bottom()
            QTimer.singleShot(0, self, self._settle_at_bottom)

    def _settle_at_bottom(self) -> None:
        if self._follow:
            self._fit_inner()
            self.scroll_to_bottom()

    def _settled(self) -> None:
        self._settling = False

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Wheel, QEvent.Type.MouseButtonPress):
            self._settling = False  # the user took over
        return super().viewportEvent(event)

    def _on_range(self, _min: int, _max: int) -> None:
        # Follow a streaming reply (or a chat just opened) while the user is at the bottom;
        # otherwise (expanding a thinking section, say) never yank the view.
        if self._follow and (self.streaming or self._settling):
            self.scroll_to_bottom()

    def _on_scroll(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._follow = value >= bar.maximum() - 24

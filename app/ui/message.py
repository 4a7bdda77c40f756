"""One message of a chat: the user's bubble, or an answer (its Thinking section above the
Markdown), with its actions row (copy, edit or regenerate, the branch arrows, stats).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.markdown import MarkdownColors
from app.ui.markdown_view import MarkdownView
from app.ui.widgets import action_button

COLUMN_WIDTH = 820  # the reading column; wider windows get margins, like every chat app


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


class BranchNav(QWidget):
    """‹ 2/3 › — switch between the versions of a message."""

    moved = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.prev = action_button("‹", "Previous version")
        self.next = action_button("›", "Next version")
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
        self.nav = BranchNav()
        self.nav.moved.connect(lambda d: self.branchRequested.emit(self.data.id, d))
        self.copy_button = action_button("Copy", "Copy this message")
        self.copy_button.clicked.connect(self._copy)
        self.edit_button = action_button("Edit", "Edit and resend (keeps the old version)")
        self.edit_button.clicked.connect(self.start_edit)
        self.regen_button = action_button("Regenerate", "Write a new reply (keeps this one)")
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

"""An answer's Thinking section: the model's reasoning streamed live, then folded to "Thought
for 12 s" (Tab reaches its toggle; Enter or Space folds and unfolds it)."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QFrame, QPlainTextEdit, QSizePolicy, QVBoxLayout

from app.ui.widgets import KeyButton


class ThinkingSection(QFrame):
    """The model's reasoning: live while it thinks, then collapsed to "Thought for 12 s"."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("thinking")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.toggle = KeyButton()  # Tab reaches it; Enter or Space folds and unfolds
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

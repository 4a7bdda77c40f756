"""Small widgets of the window: a label that elides, the banner, the empty chat's welcome, and
the flat action button of messages and code blocks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


class KeyButton(QToolButton):
    """A tool button that Enter presses too (Qt's take only Space): the actions of messages,
    code blocks and tool cards are reached with Tab and used from the keyboard."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
            self.animateClick()
            return
        super().keyPressEvent(event)


def action_button(text: str, tip: str) -> QToolButton:
    """A flat text button of a message or code block (Copy, Edit, Regenerate, ‹ ›)."""
    b = KeyButton()
    b.setObjectName("msgAction")
    b.setText(text)
    b.setToolTip(tip)
    b.setCursor(Qt.CursorShape.PointingHandCursor)
    b.setAutoRaise(True)
    return b


class ElidedLabel(QLabel):
    """One line that shortens itself with "…" to the room it has: a plain label would not
    shrink below its text, so a long chat title ran under the Chat settings button."""

    def __init__(self) -> None:
        super().__init__()
        self._full = ""

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def text(self) -> str:
        return self._full

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:
        # The whole text's width (QLabel's hint would be the shortened text's: it never grew).
        m = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(self._full) + m.left() + m.right() + 2
        return QSize(width, super().sizeHint().height())

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._elide()  # the theme's font is wider or narrower

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, self.width())
        super().setText(shown)


class Banner(QFrame):
    """A message across the top of the chat with the ways out as buttons."""

    def __init__(self, object_name: str = "banner") -> None:
        super().__init__()
        self.setObjectName(object_name)
        # Text on the first line, the ways out on the right below it: a long message stays
        # readable instead of being squeezed into a narrow column beside the buttons.
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 10, 10, 8)
        lay.setSpacing(6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.label)
        row = QHBoxLayout()
        row.addStretch(1)
        self._buttons = QHBoxLayout()
        row.addLayout(self._buttons)
        lay.addLayout(row)
        self.buttons: dict[str, QPushButton] = {}
        self.hide()

    def show_message(
        self, text: str, actions: list[tuple[str, Callable[[], None]]] | None = None
    ) -> None:
        while self._buttons.count():
            item = self._buttons.takeAt(0)
            if item is not None and (w := item.widget()) is not None:
                w.deleteLater()
        self.buttons = {}
        self.label.setText(text)
        for label, fn in actions or []:
            b = QPushButton(label)
            b.clicked.connect(fn)
            self._buttons.addWidget(b)
            self.buttons[label] = b
        close = QPushButton("Dismiss")
        close.clicked.connect(self.hide)
        self._buttons.addWidget(close)
        self.buttons["Dismiss"] = close
        self.show()


class EmptyState(QWidget):
    """Shown instead of an empty chat: a welcome, or what to do when no model is loaded."""

    def __init__(self) -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        lay.addStretch(2)
        self.title = QLabel()
        self.title.setObjectName("emptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel()
        self.text.setObjectName("emptyText")
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setWordWrap(True)
        lay.addWidget(self.title)
        lay.addWidget(self.text)
        row = QHBoxLayout()
        row.addStretch(1)
        self.choose_button = QPushButton("Choose or download a model…")
        self.choose_button.setObjectName("primary")
        self.open_button = QPushButton("Open GGUF file…")
        row.addWidget(self.choose_button)
        row.addWidget(self.open_button)
        row.addStretch(1)
        self.buttons = QWidget()
        self.buttons.setLayout(row)
        # The model manager's first-run panel (recommendation + one-click download) goes here.
        self.first_run_box = QHBoxLayout()
        lay.addLayout(self.first_run_box)
        self.first_run: QWidget | None = None
        lay.addSpacing(12)
        lay.addWidget(self.buttons)
        lay.addStretch(3)

    def set_first_run(self, widget: QWidget) -> None:
        self.first_run = widget
        widget.setMaximumWidth(720)
        self.first_run_box.addStretch(1)
        self.first_run_box.addWidget(widget, 100)
        self.first_run_box.addStretch(1)

    def set_state(self, state: str, detail: str = "") -> None:
        if self.first_run is not None:
            self.first_run.setVisible(state == "no-model")
        self.title.show()
        self.text.show()
        if state == "ready":
            self.title.setText("How can I help?")
            self.text.setText(detail or "Everything stays on this computer.")
            self.buttons.hide()
        elif state == "loading":
            self.title.setText("Loading the model…")
            self.text.setText(detail)
            self.buttons.hide()
        elif self.first_run is not None:
            # The first-run panel has its own welcome, download and "I have a file" buttons;
            # below it, a quiet way to the full model manager.
            self.title.hide()
            self.text.hide()
            self.buttons.show()
            self.choose_button.setText("Browse all models…")
            self.choose_button.setObjectName("")
            self.choose_button.style().unpolish(self.choose_button)
            self.choose_button.style().polish(self.choose_button)
            self.open_button.hide()
            return
        else:
            self.title.setText("No model loaded")
            self.text.setText(
                detail
                or "Hearth runs gpt-oss-20b on this computer. Choose or download a model, or "
                "open a GGUF file you already have."
            )
            self.buttons.show()
            self.open_button.show()
            self.choose_button.show()

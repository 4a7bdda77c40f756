"""The message box: Enter sends, Shift+Enter adds a line, Esc (or Stop) stops the reply. Files
come in by the paperclip, a drop or a paste, as chips under it (``app.ui.attachments_bar``)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
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

from app.ui.attachments_bar import AttachInput, AttachmentBar, paperclip_icon

MAX_LINES = 10


class Composer(QWidget):
    submitted = Signal(str)
    stopRequested = Signal()
    answerNowRequested = Signal()

    def __init__(self) -> None:
        super().__init__()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 4, 24, 10)
        outer.setSpacing(4)
        self.frame = QFrame()
        self.frame.setObjectName("composerFrame")
        self.frame.setMaximumWidth(820)
        row = QHBoxLayout(self.frame)
        row.setContentsMargins(12, 8, 8, 8)
        row.setSpacing(8)
        self.edit = QPlainTextEdit()
        self.edit.setPlaceholderText("Message gpt-oss…")
        self.edit.setTabChangesFocus(True)
        self.edit.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.edit.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.edit.installEventFilter(self)
        self.edit.textChanged.connect(self._changed)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.send_button.setToolTip("Send (Enter)")
        self.send_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.send_button.clicked.connect(self.submit)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop the reply (Esc)")
        self.stop_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.stop_button.clicked.connect(self.stopRequested)
        self.stop_button.hide()
        # While the model thinks: stop thinking and write the answer with what it has.
        self.answer_button = QPushButton("Answer now")
        self.answer_button.setToolTip("Stop thinking and answer now (Ctrl+Enter)")
        self.answer_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.answer_button.clicked.connect(self._answer_now)
        self.answer_button.hide()
        self.attachments = AttachmentBar()
        self.attachments.changed.connect(self._changed)
        self.attach_button = QToolButton()
        self.attach_button.setObjectName("msgAction")
        self.attach_button.setIcon(paperclip_icon("#6b7079", 20))
        self.attach_button.setIconSize(QSize(20, 20))
        self.attach_button.setToolTip("Attach files (or drop or paste them here)")
        self.attach_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.attach_button.clicked.connect(lambda: self.attachments.pick_files(self))
        self.attach_input = AttachInput(self.attachments, self.edit)
        self.attach_input.watch_drops(self.edit.viewport())
        self.attach_input.watch_drops(self)
        row.addWidget(self.attach_button, 0, Qt.AlignmentFlag.AlignBottom)
        row.addWidget(self.edit, 1)
        row.addWidget(self.answer_button, 0, Qt.AlignmentFlag.AlignBottom)
        row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        row.addWidget(self.stop_button, 0, Qt.AlignmentFlag.AlignBottom)
        center = QHBoxLayout()
        center.addStretch(1)
        center.addWidget(self.frame, 100)
        center.addStretch(1)
        outer.addLayout(center)
        chips = QHBoxLayout()
        chips.addStretch(1)
        chips.addWidget(self.attachments, 100)
        chips.addStretch(1)
        self.attachments.setMaximumWidth(820)
        outer.addLayout(chips)
        self.hint = QLabel("Enter to send · Shift+Enter for a new line")
        self.hint.setObjectName("statusNote")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(self.hint)
        self.busy = False
        self.can_send = True
        self._changed()

    def text(self) -> str:
        return self.edit.toPlainText()

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)

    def focus(self) -> None:
        self.edit.setFocus()

    def set_busy(self, busy: bool) -> None:
        """While a reply streams: Stop instead of Send (typing the next message stays possible)."""
        self.busy = busy
        self.send_button.setVisible(not busy)
        self.stop_button.setVisible(busy)
        if not busy:
            self.set_thinking(False)
        self._changed()

    def set_thinking(self, thinking: bool) -> None:
        """The reply is in its thinking: offer "Answer now"."""
        self.answer_button.setVisible(thinking and self.busy)
        self.answer_button.setEnabled(True)

    def _answer_now(self) -> None:
        if self.answer_button.isVisible():
            self.answer_button.setEnabled(False)  # once: the switch is on its way
            self.answerNowRequested.emit()

    def set_can_send(self, ok: bool, why: str = "") -> None:
        self.can_send = ok
        hint = "Message gpt-oss…" if ok else why
        if hint != self.edit.placeholderText():
            self.edit.setPlaceholderText(hint)
            # Qt repaints the placeholder only when it appears or goes, not when its words
            # change: "Loading the model…" stayed on screen after the load.
            self.edit.viewport().update()
        self._changed()

    def submit(self) -> None:
        text = self.text().strip()
        files = self.attachments.attachments()
        if not (text or files) or self.attachments.reading or self.busy or not self.can_send:
            return
        self.edit.clear()
        self.submitted.emit(text)

    def _changed(self) -> None:
        something = bool(self.text().strip()) or bool(self.attachments.attachments())
        reading = self.attachments.reading
        self.send_button.setEnabled(something and not reading and self.can_send and not self.busy)
        self.send_button.setToolTip("Reading the attached files…" if reading else "Send (Enter)")
        count = self.edit.document().lineCount()
        lines = max(1, min(MAX_LINES, count))
        self.edit.setVerticalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAsNeeded
            if count > MAX_LINES
            else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        fm = self.edit.fontMetrics()
        self.edit.setFixedHeight(lines * fm.lineSpacing() + 14)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.edit and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                    return False  # a new line
                if event.modifiers() & Qt.KeyboardModifier.ControlModifier and self.busy:
                    self._answer_now()
                    return True
                self.submit()
                return True
            if key == Qt.Key.Key_Escape and self.busy:
                self.stopRequested.emit()
                return True
        return super().eventFilter(obj, event)

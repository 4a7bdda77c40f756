"""The conversation pane: a scroll area of per-message widgets (``app.ui.message``), built in a
window of the latest messages, that follows a streaming reply while the reader is at its end.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.ui.markdown import MarkdownColors
from app.ui.message import COLUMN_WIDTH, MessageData, MessageWidget

SETTLE_MS = 400  # after a chat is shown, how long its end is kept in view as its layout settles
FIRST_RENDER = 60  # messages rendered when a chat opens; older ones on request


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

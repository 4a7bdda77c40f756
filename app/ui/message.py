"""One message of a chat: the user's bubble, or an answer (its Thinking section above the
Markdown), with its actions row (copy, edit or regenerate, the branch arrows, stats).

An answer that called tools shows its steps in order: each step's thinking, its preamble and the
tool's card, then the final segment (thinking and answer). While it streams, ``apply`` takes the
worker's typed events (``app.engine.events``) and puts each where it belongs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.engine.events import (
    ContentEvent,
    EngineEvent,
    PreambleEvent,
    PrefillEvent,
    ReasoningEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from app.ui.attachments_bar import SentAttachments
from app.ui.markdown import MarkdownColors
from app.ui.markdown_view import MarkdownView, WrapLabel, copy_with_feedback
from app.ui.thinking import ThinkingSection
from app.ui.tool_card import ToolCard
from app.ui.widgets import action_button

COLUMN_WIDTH = 820  # the reading column; wider windows get margins, like every chat app


@dataclass
class ToolStep:
    """A finished segment of a reply that ended in a tool call: what the model thought and
    said before the call, the call, and the tool's result (None while it runs)."""

    call: dict[str, Any]
    reasoning: str = ""
    content: str = ""  # the preamble
    result: dict[str, Any] | None = None
    status: str = "done"  # the tool row's
    thinking_seconds: float | None = None


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
    steps: list[ToolStep] = field(default_factory=list)  # an answer's tool calls, in order
    attachments: list[dict[str, Any]] = field(default_factory=list)  # a user message's files


class Bubble(WrapLabel):
    """The user's message: as wide as its longest line (up to its maximum) when there is room,
    narrower and wrapped when there is not (anywhere in a word too long for a line). (A minimum
    width of the longest line pushed the bubble past the column's edge in a small window.)"""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setText(text)
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
            self.files: SentAttachments | None = None
            if data.attachments:
                self.files = SentAttachments(data.attachments)
                outer.addWidget(self.files)
                self.bubble.setVisible(bool(data.content.strip()))  # files sent without a word
        else:
            self._colors = colors
            self.cards: list[ToolCard] = []
            self.body = QVBoxLayout()
            self.body.setContentsMargins(0, 0, 0, 0)
            self.body.setSpacing(6)
            outer.addLayout(self.body)
            for step in data.steps:
                self._add_segment(step.reasoning, step.thinking_seconds, step.content, False)
                self._add_card(ToolCard(step.call, colors, step.result, step.status))
            self._add_segment(
                data.reasoning, data.thinking_seconds, data.content, data.status == "streaming"
            )
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
        copy_with_feedback(self.copy_button, self.data.content)  # "Copied" for a moment
        self.copied.emit(self.data.content)

    def set_status(self, status: str, error: str = "") -> None:
        self.data.status = status
        self.data.error = error
        began = bool(self.data.content or self.data.reasoning or self.data.steps)
        notes = {
            "cancelled": "Stopped. The reply above is what was written before you stopped it."
            if began
            else "Stopped before it began: nothing was written. Regenerate to ask again.",
            "interrupted": "Interrupted: the app closed while this reply was being written.",
            "error": f"This reply failed: {error}" if error else "This reply failed.",
        }
        note = notes.get(status, "")
        self.status_label.setText(note)
        self.status_label.setVisible(bool(note))
        # Nothing to copy in a reply that never began (the user's own message always has text).
        self.copy_button.setVisible(began or self.data.role == "user")

    def _show_stats(self, stats: dict[str, Any]) -> None:
        tps = stats.get("generation_tps")
        n = stats.get("generated_tokens")
        parts = []
        if not n:  # a reply stopped before its first token has no speed to show
            self.stats_label.setText("")
            return
        parts.append(f"{int(n)} tokens")
        if tps:
            parts.append(f"{float(tps):.1f} tok/s")
        if stats.get("ttft_s") is not None:
            parts.append(f"first token {float(stats['ttft_s']):.2f} s")
        self.stats_label.setText(" · ".join(parts))

    # -- the answer's segments and tool cards --------------------------------------------------

    def _add_segment(
        self, reasoning: str, seconds: float | None, content: str, streaming: bool
    ) -> None:
        """A Thinking section (hidden until there is reasoning) and the Markdown after it; they
        become ``thinking``/``markdown``, where streamed text goes."""
        thinking = ThinkingSection()
        markdown = MarkdownView(self._colors)
        # In the layout before they are shown: a widget shown without a parent is a window of
        # its own for a moment (it flashed on screen and took the focus from the main window).
        self.body.addWidget(thinking)
        self.body.addWidget(markdown)
        thinking.setVisible(bool(reasoning))
        if reasoning:
            thinking.set_text(reasoning)
            thinking.set_seconds(seconds)
        if not streaming:
            markdown.set_document(content)
        markdown.setVisible(streaming or bool(content))
        self.thinking, self.markdown = thinking, markdown

    def _add_card(self, card: ToolCard) -> None:
        self.cards.append(card)
        self.body.addWidget(card)

    def _stop_thinking(self) -> None:
        assert self.thinking is not None
        if self.thinking.live:
            self.thinking.stop_live()
            self.data.thinking_seconds = self.thinking.seconds

    # -- streaming (assistant) --------------------------------------------------------------

    def apply(self, events: list[EngineEvent]) -> None:
        """Show a batch of the reply's events (deltas merged by the worker), in order."""
        assert self.thinking is not None and self.markdown is not None
        content_changed = False
        for ev in events:
            if isinstance(ev, ReasoningEvent):
                self._reading(None)
                if not self.thinking.isVisible():
                    self.thinking.show()
                    self.thinking.start_live()
                self.thinking.append(ev.text)
                self.data.reasoning += ev.text
            elif isinstance(ev, ContentEvent | PreambleEvent):
                self._reading(None)
                self._stop_thinking()
                self.data.content += ev.text
                content_changed = True
            elif isinstance(ev, ToolCallEvent):
                self._end_segment_with_call(ev)
                content_changed = False
            elif isinstance(ev, ToolResultEvent):
                self._tool_result(ev)
            elif isinstance(ev, PrefillEvent):
                self._reading(ev)
        if content_changed:
            self.markdown.show()
            self.markdown.stream(self.data.content)

    def _reading(self, ev: PrefillEvent | None) -> None:
        """Progress through a long prompt, shown until the reply's first text."""
        if ev is not None and ev.total:
            self.status_label.setText(
                f"Reading the conversation… {round(100 * ev.evaluated / ev.total)} %"
            )
            self.status_label.show()
        elif self.data.status == "streaming" and self.status_label.isVisible():
            self.status_label.hide()

    def stream(self, reasoning_delta: str, content: str) -> None:
        """Append reasoning and show the whole content so far (tests, screenshots)."""
        events: list[EngineEvent] = []
        if reasoning_delta:
            events.append(ReasoningEvent(reasoning_delta))
        if content.startswith(self.data.content) and content != self.data.content:
            events.append(ContentEvent(content[len(self.data.content) :]))
        self.apply(events)

    def _end_segment_with_call(self, ev: ToolCallEvent) -> None:
        """The model called a tool: what it said so far is a step; its card follows, then a
        new segment for what comes after the result."""
        assert self.markdown is not None
        self._stop_thinking()
        self.markdown.finish(self.data.content)
        self.markdown.setVisible(bool(self.data.content))
        call = {
            "name": ev.recipient,
            "arguments": ev.arguments,
            "constrain": ev.constrain,
            "channel": ev.channel,
        }
        self.data.steps.append(
            ToolStep(
                call,
                self.data.reasoning,
                self.data.content,
                status="streaming",
                thinking_seconds=self.data.thinking_seconds,
            )
        )
        self._add_card(ToolCard(call, self._colors, status="streaming"))
        self.data.reasoning = self.data.content = ""
        self.data.thinking_seconds = None
        self._add_segment("", None, "", True)

    def _tool_result(self, ev: ToolResultEvent) -> None:
        if not self.cards:
            return
        result = ev.to_dict()
        result.pop("type", None)
        result.pop("recipient", None)
        self.cards[-1].set_result(result)
        self.data.steps[-1].result = result
        self.data.steps[-1].status = "done"

    def pending_card(self) -> ToolCard | None:
        """The card of the call that waits for its result (consent is asked there)."""
        if self.cards and self.cards[-1].result is None:
            return self.cards[-1]
        return None

    def finish(self, status: str, error: str = "", stats: dict[str, Any] | None = None) -> None:
        assert self.thinking is not None and self.markdown is not None
        self._stop_thinking()
        self.markdown.finish(self.data.content)
        self.markdown.setVisible(bool(self.data.content) or not self.cards)
        card = self.pending_card()
        if card is not None and status != "done":
            card.row_status = status
            card.set_expanded(card.expanded)
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
        editor.show()  # now: a widget still hidden takes no focus (typing went nowhere)
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

"""Per-chat settings, one click away: reasoning effort and its budget, instructions, sampling,
the python tool. What is the same for every chat (the theme, new chats' defaults, the data
folder) is in Settings → General (``app.ui.settings.general_page``).

Values are stored with the conversation (``Store.update_settings``: keys ``effort``,
``reasoning_budget``, ``instructions``, ``sampling``) and used for its next reply. The python
tool's mode for the chat lives with the tool settings (``app.tools.settings``): the panel emits
``toolModeChanged`` for it. ``ChatSettingsForm`` is the form itself, shared with the General
page, where it edits the defaults new chats start from.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.engine.options import SamplingOptions
from app.harmony.model import EFFORTS

DEFAULT_EFFORT = "medium"
TOOL_MODES = {"off": "Off", "ask": "Ask before each run", "auto": "Run automatically"}


class ChatSettingsForm(QWidget):
    """Effort, thinking budget, instructions and sampling, in a chat's settings format.
    ``edited`` after each change made by the user (not by ``load``)."""

    edited = Signal()

    def __init__(self) -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(10)
        lay.addWidget(QLabel("Reasoning effort"))
        self.effort = QComboBox()
        for e in EFFORTS:
            self.effort.addItem(e.capitalize() + (" (default)" if e == DEFAULT_EFFORT else ""), e)
        self.effort.setToolTip("How long gpt-oss thinks before answering")
        lay.addWidget(self.effort)
        budget = QFormLayout()
        self.budget = QSpinBox()
        self.budget.setRange(0, 131072)
        self.budget.setSingleStep(256)
        self.budget.setSpecialValueText("No limit")
        self.budget.setSuffix(" tokens")
        self.budget.setToolTip(
            "After about this many tokens of thinking, gpt-oss stops thinking and answers "
            "(the Answer now button does the same at any moment)"
        )
        budget.addRow("Thinking budget", self.budget)
        lay.addLayout(budget)

        lay.addWidget(QLabel("Instructions (system prompt)"))
        self.instructions = QPlainTextEdit()
        self.instructions.setPlaceholderText("e.g. Answer briefly. Use British spelling.")
        self.instructions.setFixedHeight(110)
        self.instructions.setTabChangesFocus(True)  # Tab moves on, as in every other box
        lay.addWidget(self.instructions)

        d = SamplingOptions()
        sampling = QFormLayout()
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(2)
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(0.0, 1.0)
        self.top_p.setSingleStep(0.05)
        self.top_p.setDecimals(2)
        self.top_k = QSpinBox()
        self.top_k.setRange(0, 1000)
        self.top_k.setToolTip("0 disables top-k (slow on a 201k vocabulary)")
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(16, 131072)
        self.max_tokens.setSingleStep(256)
        sampling.addRow("Temperature", self.temperature)
        sampling.addRow("Top-p", self.top_p)
        sampling.addRow("Top-k", self.top_k)
        sampling.addRow("Max tokens", self.max_tokens)
        lay.addLayout(sampling)
        note = QLabel(
            f"gpt-oss defaults: temperature {d.temperature:g}, top-p {d.top_p:g}, "
            f"top-k {d.top_k}, {d.max_tokens} tokens."
        )
        note.setObjectName("statusNote")
        note.setWordWrap(True)
        lay.addWidget(note)

        self._loading = False
        self.effort.currentIndexChanged.connect(self._edited)
        self.budget.valueChanged.connect(self._edited)
        self.instructions.textChanged.connect(self._edited)
        for w in (self.temperature, self.top_p):
            w.valueChanged.connect(self._edited)
        for s in (self.top_k, self.max_tokens):
            s.valueChanged.connect(self._edited)
        self.load({})

    def _edited(self, *_: Any) -> None:
        if not self._loading:
            self.edited.emit()

    def load(self, settings: dict[str, Any]) -> None:
        """Show settings (missing keys: gpt-oss's defaults)."""
        self._loading = True
        try:
            effort = settings.get("effort") or DEFAULT_EFFORT
            self.effort.setCurrentIndex(max(0, self.effort.findData(effort)))
            budget = settings.get("reasoning_budget")
            self.budget.setValue(budget if isinstance(budget, int) and budget > 0 else 0)
            self.instructions.setPlainText(str(settings.get("instructions") or ""))
            s = SamplingOptions.from_dict(dict(settings.get("sampling") or {}))
            self.temperature.setValue(s.temperature)
            self.top_p.setValue(s.top_p)
            self.top_k.setValue(s.top_k)
            self.max_tokens.setValue(s.max_tokens)
        finally:
            self._loading = False

    def values(self) -> dict[str, Any]:
        d = SamplingOptions()
        sampling = {
            "temperature": round(self.temperature.value(), 3),
            "top_p": round(self.top_p.value(), 3),
            "top_k": self.top_k.value(),
            "max_tokens": self.max_tokens.value(),
        }
        defaults = {k: getattr(d, k) for k in sampling}
        return {
            "effort": str(self.effort.currentData()),
            "reasoning_budget": self.budget.value() or None,
            "instructions": self.instructions.toPlainText().strip(),
            # Only differences from the defaults are stored: later default changes still apply.
            "sampling": {k: v for k, v in sampling.items() if v != defaults[k]} or None,
        }


class SettingsPanel(QFrame):
    """Emits ``changed(dict)`` with the conversation's new settings after each edit."""

    changed = Signal(dict)
    toolModeChanged = Signal(str, str)  # tool key ("python"), mode (off / ask / auto)
    closeRequested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("settingsPanel")
        self.setFixedWidth(300)
        self.defaults: dict[str, Any] = {}  # new chats' (Settings → General): what Reset gives
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 14, 0, 0)
        outer.setSpacing(6)
        head = QHBoxLayout()
        head.setContentsMargins(16, 0, 16, 0)
        title = QLabel("Chat settings")
        title.setObjectName("panelTitle")
        close = QPushButton("Close")
        close.setToolTip("Close (Ctrl+,)")
        close.clicked.connect(self.closeRequested)
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(close)
        outer.addLayout(head)
        # The rest scrolls: in a small window (800x600) it is taller than the room it has, and
        # its lower half (the sampling boxes, the buttons) was cut off.
        self.scroller = QScrollArea()
        self.scroller.setObjectName("settingsScroll")
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QFrame.Shape.NoFrame)
        self.scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        body.setObjectName("settingsBody")
        self.scroller.setWidget(body)
        outer.addWidget(self.scroller, 1)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(16, 4, 18, 14)  # (clear of the scroll bar)
        lay.setSpacing(10)

        self.form = ChatSettingsForm()
        lay.addWidget(self.form)
        form = self.form
        self.effort, self.budget, self.instructions = form.effort, form.budget, form.instructions
        self.temperature, self.top_p = form.temperature, form.top_p
        self.top_k, self.max_tokens = form.top_k, form.max_tokens
        self.reset_button = QPushButton("Reset to defaults")
        self.reset_button.setToolTip("The defaults of Settings → General (instructions are kept)")
        self.reset_button.clicked.connect(self.reset)
        lay.addWidget(self.reset_button)

        tools = QFormLayout()
        self.python_mode = QComboBox()
        for key, label in TOOL_MODES.items():
            self.python_mode.addItem(label, key)
        self.python_mode.setToolTip(
            "Let gpt-oss run Python in a sandbox for this chat (no network, only the chat's "
            "own folder writable; see the README for what each system isolates)"
        )
        tools.addRow("Python", self.python_mode)
        lay.addLayout(tools)
        lay.addStretch(1)
        self.all_settings_button = QPushButton("All settings…")
        self.all_settings_button.setToolTip(
            "Theme, new chats' defaults, the data folder, tools, MCP servers: for all chats"
        )
        lay.addWidget(self.all_settings_button)

        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(300)
        self._save_timer.timeout.connect(self._emit)
        form.edited.connect(self._save_timer.start)
        self.python_mode.currentIndexChanged.connect(self._tool_mode)

    def load(self, settings: dict[str, Any]) -> None:
        """Show a conversation's settings (missing keys: gpt-oss's defaults)."""
        self.form.load(settings)

    def load_tool_mode(self, mode: str) -> None:
        """Show the python tool's mode for the chat (without saving it again)."""
        self.python_mode.blockSignals(True)
        self.python_mode.setCurrentIndex(max(0, self.python_mode.findData(mode)))
        self.python_mode.blockSignals(False)

    def _tool_mode(self, _index: int) -> None:
        self.toolModeChanged.emit("python", str(self.python_mode.currentData()))

    def values(self) -> dict[str, Any]:
        return self.form.values()

    def reset(self) -> None:
        """Back to the defaults new chats start from, keeping this chat's instructions."""
        instructions = self.instructions.toPlainText()
        self.load({**self.defaults, "instructions": instructions})
        self._emit()

    def _emit(self) -> None:
        self._save_timer.stop()
        self.changed.emit(self.values())

    def flush(self) -> None:
        """Save a pending edit now (before sending, closing...)."""
        if self._save_timer.isActive():
            self._emit()

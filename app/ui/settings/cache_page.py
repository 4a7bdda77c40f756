"""Settings → Cache: the chats' KV state kept on disk (a chat you come back to answers without
being read again): how much there is, the space it may use, and Clear. The same files and
setting as ``hearth cache`` (``app.engine.kvfiles``).
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.engine import kvfiles

MB = 1_000_000


class CachePage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        box = QGroupBox("Saved chat state")
        form = QFormLayout(box)
        about = QLabel(
            "After each reply Hearth keeps what the model has read of the chat on disk, so a "
            "chat you come back to (after switching chats or restarting) answers without "
            "reading it all again. It is a cache: clearing it loses nothing but that time."
        )
        about.setWordWrap(True)
        form.addRow(about)
        self.folder = QLabel(str(kvfiles.folder()))
        self.folder.setWordWrap(True)
        form.addRow("Folder", self.folder)
        self.usage = QLabel()
        form.addRow("Saved", self.usage)

        self.automatic = QCheckBox()
        self.budget = QSpinBox()
        self.budget.setRange(0, 10_000_000)
        self.budget.setSuffix(" MB")
        self.budget.setSingleStep(500)
        self.budget.setGroupSeparatorShown(True)
        row = QHBoxLayout()
        row.addWidget(self.automatic)
        row.addWidget(self.budget)
        row.addStretch(1)
        form.addRow("Space it may use", row)

        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove every saved chat state")
        self.clear_button.clicked.connect(self.clear)
        self.message = QLabel()
        self.message.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.message, 1)
        form.addRow(buttons)
        lay.addWidget(box)
        lay.addStretch(1)

        chosen = kvfiles.budget_setting()
        self.automatic.setChecked(chosen is None)
        self.budget.setValue(round((chosen if chosen is not None else kvfiles.budget_bytes()) / MB))
        self.budget.setEnabled(chosen is not None)
        self.automatic.toggled.connect(self._budget_changed)
        self.budget.editingFinished.connect(self._budget_changed)
        self.refresh()

    def refresh(self) -> None:
        entries = kvfiles.entries()
        size = sum(e.size for e in entries)
        n = len(entries)
        self.usage.setText(f"{n} chat{'s' if n != 1 else ''}, {kvfiles.human(size)}")
        self.clear_button.setEnabled(n > 0)
        auto = kvfiles.default_budget()
        self.automatic.setText(
            f"Automatic: {kvfiles.human(auto)} (2 GB at most, 5 % of the free space)"
        )

    def _budget_changed(self, *_args: object) -> None:
        if self.automatic.isChecked():
            kvfiles.set_budget(None)
            self.budget.setValue(round(kvfiles.budget_bytes() / MB))
        else:
            kvfiles.set_budget(self.budget.value() * MB)
        self.budget.setEnabled(not self.automatic.isChecked())
        removed = kvfiles.enforce_budget()
        self.message.setText(
            f"Removed the {len(removed)} least recently used to fit." if removed else ""
        )
        self.refresh()

    def clear(self) -> None:
        n, size = kvfiles.clear()
        self.message.setText(
            f"Removed {n} saved state{'s' if n != 1 else ''} ({kvfiles.human(size)})."
        )
        self.refresh()

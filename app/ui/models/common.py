"""Pieces the model manager's tabs share: the app's one download manager, tables set up alike,
a runner for blocking Hub calls, what a tab offers the plan panel, and this computer's GPUs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.hub import fmt
from app.hub.download import DownloadManager
from app.hub.hardware import Hardware
from app.hub.shape import ModelShape

_shared_manager: DownloadManager | None = None


def shared_manager() -> DownloadManager:
    """One download manager for the app, so downloads go on while the dialog is closed and show up
    again when it reopens (unfinished ones from earlier sessions come back paused)."""
    global _shared_manager
    if _shared_manager is None:
        _shared_manager = DownloadManager()
        _shared_manager.restore()
    return _shared_manager


def gpus_text(hw: Hardware, none: str) -> str:
    """The GPUs this build can use, with their memory, or ``none``."""
    if hw.gpu_offload and hw.gpus:
        return ", ".join(f"{g.description} ({fmt.size(g.total)})" for g in hw.gpus)
    return none


@dataclass(frozen=True)
class Choice:
    """What a tab offers to the plan panel: a model's shape, its file ("" while it is not on this
    computer, so it cannot be used yet) and the title to show."""

    shape: ModelShape | None
    path: str
    title: str


def lay_out_tab(
    tab: QWidget,
    view: QWidget,
    note: QLabel,
    left: Sequence[QPushButton] = (),
    right: Sequence[QPushButton] = (),
) -> None:
    """The shape every tab shares: its table, a note under it, a row of buttons at the bottom."""
    note.setWordWrap(True)
    row = QHBoxLayout()
    for b in left:
        row.addWidget(b)
    row.addStretch(1)
    for b in right:
        row.addWidget(b)
    lay = QVBoxLayout(tab)
    lay.addWidget(view, 1)
    lay.addWidget(note)
    lay.addLayout(row)


def make_table(model: Any) -> QTableView:
    v = QTableView()
    v.setModel(model)
    v.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    v.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    v.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    v.verticalHeader().hide()
    v.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    v.horizontalHeader().setStretchLastSection(True)
    v.setAlternatingRowColors(True)
    return v


class Async(QObject):
    """Runs a blocking call on a plain thread and delivers (result, error) on the GUI thread."""

    finished = Signal(object, object, object)  # callback, result, error

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self.threads: list[threading.Thread] = []

    def run(self, fn: Callable[[], Any], done: Callable[[Any, Exception | None], None]) -> None:
        def work() -> None:
            try:
                result, error = fn(), None
            except Exception as e:
                result, error = None, e
            self.finished.emit(done, result, error)

        t = threading.Thread(target=work, name="model-manager", daemon=True)
        self.threads = [x for x in self.threads if x.is_alive()] + [t]
        t.start()

    def wait(self, timeout: float = 5.0) -> None:
        for t in self.threads:
            t.join(timeout)

    @staticmethod
    def _deliver(done: Any, result: Any, error: Any) -> None:
        done(result, error)

"""Pieces the model manager's tabs share: the app's one download manager, tables set up alike,
a runner for blocking Hub calls, what a tab offers the plan panel, and this computer's GPUs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyle,
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


class FitTable(QTableView):
    """A table that shows all its text at any width: the ``wrap`` columns share the width the
    others leave, and wrap their text; rows grow to fit it. Other columns fit their contents;
    ``narrow`` ones too while there is room, else only their longest word (they wrap between
    words)."""

    ROOM_TO_WRAP = 240  # what a wrapping column keeps before narrow columns give up their width

    def __init__(self, model: Any, wrap: Sequence[int] = (0,), narrow: Sequence[int] = ()):
        super().__init__()
        self.wrap, self.narrow = tuple(wrap), tuple(narrow)
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAlternatingRowColors(True)
        self.verticalHeader().hide()
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header = self.horizontalHeader()
        header.setStretchLastSection(False)
        for c in range(model.columnCount()):
            mode = QHeaderView.ResizeMode.ResizeToContents
            if c in self.wrap:
                mode = QHeaderView.ResizeMode.Stretch
            elif c in self.narrow:
                mode = QHeaderView.ResizeMode.Fixed
            header.setSectionResizeMode(c, mode)
        if self.narrow:
            model.modelReset.connect(self._fit_narrow)
            model.rowsInserted.connect(self._fit_narrow)
            model.dataChanged.connect(self._fit_narrow)
            self._fit_narrow()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_narrow()

    def _fit_narrow(self) -> None:
        if not self.narrow:
            return
        model, header = self.model(), self.horizontalHeader()
        bold = QFont(self.font())
        bold.setBold(True)  # a marked row (the loaded model) is bold: measure the wider
        fm = QFontMetrics(bold)
        margin = self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self)
        pad = 4 * (margin + 1)
        others = sum(
            header.sectionSize(c)
            for c in range(model.columnCount())
            if c not in self.wrap and c not in self.narrow
        )
        room = self.viewport().width() - others - self.ROOM_TO_WRAP * len(self.wrap)
        for c in self.narrow:
            texts = [str(model.headerData(c, Qt.Orientation.Horizontal) or "")]
            texts += [str(model.data(model.index(r, c)) or "") for r in range(model.rowCount())]
            whole = max(fm.horizontalAdvance(t) for t in texts) + pad
            word = max(fm.horizontalAdvance(w) for t in texts for w in t.split() or [""]) + pad
            width = whole if whole <= room else word
            header.resizeSection(c, width)
            room -= width


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

"""Pieces the model manager's tabs share: the app's one download manager, tables set up alike,
a runner for blocking Hub calls, what a tab offers the plan panel, and this computer's GPUs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
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
    """A table that shows all its text at any width. Columns fit their contents, except:
    ``wrap`` columns share what the others leave (each keeps at least its header and longest
    word) and wrap their text, and ``narrow`` ones fit their contents while there is room, else
    only their longest word. Rows grow to show wrapped text. ``extra``: pixels a column's
    delegate draws around its text (a progress bar's frame)."""

    ROOM_TO_WRAP = 240  # what a wrapping column keeps before narrow columns give up their width

    def __init__(
        self,
        model: Any,
        wrap: Sequence[int] = (0,),
        narrow: Sequence[int] = (),
        extra: dict[int, int] | None = None,
    ) -> None:
        super().__init__()
        self.wrap, self.narrow, self.extra = tuple(wrap), tuple(narrow), dict(extra or {})
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
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # _fit sizes every column
        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved, model.dataChanged):
            signal.connect(self._fit)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:  # a scroll bar came or went
            self._fit()
        return super().viewportEvent(event)

    def _widths(self, c: int, pad: int) -> tuple[int, int, int]:
        """Column ``c``'s header width, its width on one line, and that of its longest word."""
        model = self.model()
        whole = word = 0
        for r in range(model.rowCount()):
            idx = model.index(r, c)
            font = model.data(idx, Qt.ItemDataRole.FontRole)  # the loaded model is bold
            fm = QFontMetrics(font.resolve(self.font()) if isinstance(font, QFont) else self.font())
            add = pad + self.extra.get(c, 0)
            if model.data(idx, Qt.ItemDataRole.DecorationRole) is not None:
                add += self.iconSize().width() + pad
            for line in str(model.data(idx) or "").splitlines():
                whole = max(whole, fm.horizontalAdvance(line) + add)
                for w in line.split():
                    word = max(word, fm.horizontalAdvance(w) + add)
        head = self.horizontalHeader().sectionSizeHint(c)
        return head, max(head, whole), max(head, word)

    def _fit(self) -> None:
        model, header = self.model(), self.horizontalHeader()
        margin = self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self)
        pad = 2 * (margin + 1) + 2
        widths = {c: self._widths(c, pad) for c in range(model.columnCount())}
        plain = [c for c in widths if c not in self.wrap and c not in self.narrow]
        for c in plain:
            header.resizeSection(c, widths[c][1])
        room = self.viewport().width() - sum(widths[c][1] for c in plain)
        spare = room - self.ROOM_TO_WRAP * len(self.wrap)
        for c in self.narrow:
            _head, whole, word = widths[c]
            width = whole if whole <= spare else word
            header.resizeSection(c, width)
            spare -= width
            room -= width
        # Wrapping columns keep their longest word whole while they can; when they cannot,
        # only their header (the text then breaks inside words rather than be cut).
        least = [widths[c][2] for c in self.wrap]
        if sum(least) > room:
            least = [widths[c][0] for c in self.wrap]
        share = max(0, room - sum(least)) // max(1, len(self.wrap))
        for c, low in zip(self.wrap, least, strict=True):
            header.resizeSection(c, low + share)


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

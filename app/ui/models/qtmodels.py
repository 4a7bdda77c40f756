"""Thin Qt item models over the pure model-manager objects (app.hub): they hold no logic of their
own, only map rows and columns to the hub objects and tell views when something changed."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont

from app.hub import fmt
from app.hub.catalog import CatalogEntry, HubGGUF, HubModel, installed_copy
from app.hub.download import DownloadManager, DownloadState, DownloadTask
from app.hub.hardware import Hardware
from app.hub.installed import InstalledModel
from app.hub.planner import LoadPlan, Verdict

Index = QModelIndex | QPersistentModelIndex
ObjectRole = Qt.ItemDataRole.UserRole  # the hub object behind a row
ProgressRole = Qt.ItemDataRole.UserRole + 1  # 0..1 for the downloads' progress column

VERDICT_COLORS = {
    Verdict.GPU: QColor("#2e7d32"),
    Verdict.PARTIAL: QColor("#b7791f"),
    Verdict.CPU: QColor("#d9480f"),
    Verdict.NONE: QColor("#c62828"),
}


def _bold() -> QFont:
    f = QFont()
    f.setBold(True)
    return f


def _same_file(a: Path, b: Path) -> bool:
    if a == b:
        return True
    with contextlib.suppress(OSError):
        return a.resolve() == b.resolve()
    return False


class _Table(QAbstractTableModel):
    HEADERS: tuple[str, ...] = ()
    HEADER_TIPS: ClassVar[dict[int, str]] = {}

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.HEADER_TIPS.get(section)
        return None

    def item(self, row: int) -> Any:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def set_rows(self, rows: list[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def _cell(self, obj: Any, column: int, role: int) -> Any:
        raise NotImplementedError

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        obj = self._rows[index.row()]
        if role == ObjectRole:
            return obj
        return self._cell(obj, index.column(), role)


class CatalogModel(_Table):
    """The catalog with a fit badge (verdict color and words) for this machine, and which
    entries are downloaded already."""

    HEADERS = ("Model", "Download", "Memory", "On this computer")
    HEADER_TIPS: ClassVar[dict[int, str]] = {
        1: "The size of the download, or Downloaded when it is on this computer.",
        2: "RAM and GPU memory it needs with an 8,192-token context.",
        3: "How it would run on this computer.",
    }

    def __init__(self, entries: list[CatalogEntry], hw: Hardware, parent: QObject | None = None):
        super().__init__(parent)
        self.hw = hw
        self._plans: dict[str, LoadPlan] = {e.id: e.fit(hw) for e in entries}
        self._installed: dict[str, InstalledModel] = {}
        self.set_rows(entries)

    def plan(self, entry: CatalogEntry) -> LoadPlan:
        return self._plans[entry.id]

    def installed(self, entry: CatalogEntry) -> InstalledModel | None:
        return self._installed.get(entry.id)

    def set_installed(self, models: list[InstalledModel]) -> None:
        """Mark the entries whose download is among ``models``."""
        self._installed = {
            e.id: m for e in self._rows if (m := installed_copy(e, models)) is not None
        }
        if self._rows:
            self.dataChanged.emit(self.index(0, 1), self.index(len(self._rows) - 1, 1))

    def _cell(self, e: CatalogEntry, column: int, role: int) -> Any:
        p = self._plans[e.id]
        have = self._installed.get(e.id)
        if role == Qt.ItemDataRole.DisplayRole:
            title = f"{e.title} (recommended)" if e.recommended else e.title
            size = "Downloaded" if have is not None else fmt.size(e.size)
            return (title, size, fmt.size(e.memory_needed), p.label)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 1 and have is not None:
                return f"On this computer: {have.path}"
            return f"{e.description}\n\n{p.summary}" if column != 3 else p.summary
        if role == Qt.ItemDataRole.DecorationRole and column == 3:
            return VERDICT_COLORS[p.verdict]
        if role == Qt.ItemDataRole.FontRole and column == 1 and have is not None:
            return _bold()
        return None


class SearchModel(QAbstractListModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[HubModel] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        m = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{m.repo_id}   ·   {fmt.plural(m.downloads, 'download')}"
        if role == ObjectRole:
            return m
        return None

    def set_rows(self, rows: list[HubModel]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def item(self, row: int) -> HubModel | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None


class FilesModel(_Table):
    HEADERS = ("File", "Size", "Quantization")

    def _cell(self, f: HubGGUF, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            parts = f" ({len(f.files)} parts)" if len(f.files) > 1 else ""
            return (f.filename + parts, fmt.size(f.size), f.quantization or "–")[column]
        return None


class InstalledModelsModel(_Table):
    HEADERS = ("Model", "Size", "Where", "Status")
    WHERE: ClassVar[dict[str, str]] = {
        "hf-cache": "Hugging Face cache",
        "hearth": "Hearth's folder",
        "folder": "your folder",
        "imported": "imported",
    }

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.loaded: Path | None = None  # the model the app has loaded now

    def is_loaded(self, m: InstalledModel) -> bool:
        return self.loaded is not None and _same_file(m.path, self.loaded)

    def row_of_loaded(self) -> int:
        return next((i for i, m in enumerate(self._rows) if self.is_loaded(m)), -1)

    def _cell(self, m: InstalledModel, column: int, role: int) -> Any:
        loaded = self.is_loaded(m)
        if role == Qt.ItemDataRole.DisplayRole:
            status = ("loaded" if loaded else "ready") if m.ok else "can't be used"
            if m.ok and m.info is not None and m.info.quantization:
                status = f"{status} · {m.info.quantization}"
            name = m.filename if m.repo_id is None else f"{m.filename}\n{m.repo_id}"
            return (name, fmt.size(m.size), self.WHERE.get(m.source, m.source), status)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = m.problem or str(m.path)
            return f"Loaded now. {tip}" if loaded else tip
        if role == Qt.ItemDataRole.ForegroundRole and not m.ok:
            return QColor("#c62828")
        if role == Qt.ItemDataRole.FontRole and loaded:
            return _bold()
        return None


class DownloadsModel(_Table):
    """The download manager's tasks. Tasks report from their own threads; ``task_changed`` is
    emitted there and delivered here, on the GUI thread, through a queued connection."""

    HEADERS = ("Model", "Status", "Progress", "Speed", "Time left")
    task_changed = Signal(object)

    STATUS: ClassVar[dict[DownloadState, str]] = {
        DownloadState.QUEUED: "Starting…",
        DownloadState.RUNNING: "Downloading",
        DownloadState.PAUSED: "Paused",
        DownloadState.VERIFYING: "Verifying…",
        DownloadState.DONE: "Installed",
        DownloadState.FAILED: "Failed",
        DownloadState.CANCELLED: "Cancelled",
    }

    def __init__(self, manager: DownloadManager, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self._watched: set[int] = set()
        self._tasks_watched: list[DownloadTask] = []
        self.task_changed.connect(self._on_task_changed, Qt.ConnectionType.QueuedConnection)
        # A stalled download sends no events, yet its row must count down: ask once a second.
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._refresh_running)
        self._tick.start()
        self.refresh()

    def refresh(self) -> None:
        tasks = [t for t in self.manager.tasks() if t.state != DownloadState.CANCELLED]
        for t in tasks:
            self.watch(t)
        self.set_rows(tasks)

    def watch(self, task: DownloadTask) -> None:
        if id(task) in self._watched:
            return
        self._watched.add(id(task))
        self._tasks_watched.append(task)
        # Called on the download thread: only emit (thread-safe); the slot runs on the GUI thread.
        task.add_listener(self._relay)

    def _relay(self, task: DownloadTask) -> None:
        self.task_changed.emit(task)

    def detach(self) -> None:
        """Stop listening (the downloads go on without this model, e.g. the dialog closed)."""
        self._tick.stop()
        for t in self._tasks_watched:
            t.remove_listener(self._relay)
        self._tasks_watched.clear()
        self._watched.clear()

    def add(self, task: DownloadTask) -> None:
        self.watch(task)
        if task in self._rows:
            self._on_task_changed(task)
            return
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
        self._rows.append(task)
        self.endInsertRows()

    def remove_finished(self) -> None:
        keep = [
            t for t in self._rows if t.state not in (DownloadState.DONE, DownloadState.CANCELLED)
        ]
        if len(keep) != len(self._rows):
            self.set_rows(keep)

    def row_of(self, task: DownloadTask) -> int:
        for i, t in enumerate(self._rows):
            if t is task:
                return i
        return -1

    def _refresh_running(self) -> None:
        for row, t in enumerate(self._rows):
            if t.state == DownloadState.RUNNING:
                self.dataChanged.emit(self.index(row, 1), self.index(row, len(self.HEADERS) - 1))

    def _on_task_changed(self, task: DownloadTask) -> None:
        row = self.row_of(task)
        if row >= 0:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.HEADERS) - 1))

    def _cell(self, t: DownloadTask, column: int, role: int) -> Any:
        p = t.progress()
        if role == Qt.ItemDataRole.DisplayRole:
            status = self.STATUS[t.state]
            if t.state == DownloadState.FAILED and t.error is not None:
                status = f"Failed: {t.error}"
            elif p.message and t.state == DownloadState.RUNNING:
                status = p.message
            running = t.state == DownloadState.RUNNING
            values = (
                t.request.title,
                status,
                f"{100 * p.fraction:.0f} % · {fmt.size(p.done)} of {fmt.size(p.total)}"
                if p.total
                else "–",
                fmt.speed(p.speed) if running else "–",
                fmt.duration(p.eta) if running else "–",
            )
            return values[column]
        if role == ProgressRole:
            return 1.0 if t.state == DownloadState.DONE else p.fraction
        if role == Qt.ItemDataRole.ToolTipRole and column == 1:
            return str(t.error) if t.error is not None else p.message or None
        return None

"""The Downloads tab: every download of this session (and unfinished ones from earlier sessions)
with a progress bar, speed and time left; pause, resume, cancel, clear the finished ones."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QLabel,
    QProgressBar,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QWidget,
)

from app.hub.download import DownloadManager, DownloadState, DownloadTask
from app.ui.models.common import FitTable, lay_out_tab
from app.ui.models.qtmodels import DownloadsModel, ProgressRole


class ProgressDelegate(QStyledItemDelegate):
    """Draws the downloads' progress column as a progress bar, wide enough for its words."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        # Drawn as this (never shown) bar: under the app's style sheet a bar drawn for no widget
        # is an empty box, without its chunk.
        self._bar = QProgressBar(parent)
        self._bar.hide()

    FRAME = 24  # pixels the bar takes around its text

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return super().sizeHint(option, index) + QSize(self.FRAME, 6)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        value = index.data(ProgressRole)
        if value is None:
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = QRect(option.rect.adjusted(2, 3, -2, -3))
        bar.minimum = 0
        bar.maximum = 1000
        bar.progress = int(1000 * float(value))
        bar.text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        bar.textVisible = True
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        bar.palette = option.palette
        style = self._bar.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, self._bar)


class DownloadsTab(QWidget):
    """``installed(task)`` is emitted once per download that finishes while the tab watches."""

    installed = Signal(object)  # DownloadTask

    def __init__(self, manager: DownloadManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = DownloadsModel(manager, self)
        self._announced: set[DownloadTask] = set()
        # A long status ("cannot reach … retrying") wraps beside the model's name: it never
        # pushes the progress bar, the speed or the time left out of view.
        self.view = FitTable(self.model, wrap=(0, 1), extra={2: ProgressDelegate.FRAME})
        self.view.setItemDelegateForColumn(2, ProgressDelegate(self.view))
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.cancel_button = QPushButton("Cancel")
        self.clear_button = QPushButton("Clear finished")
        self.error = QLabel()
        self.error.setStyleSheet("color: #c62828;")
        lay_out_tab(
            self,
            self.view,
            self.error,
            left=(self.pause_button, self.resume_button, self.cancel_button),
            right=(self.clear_button,),
        )
        self.pause_button.clicked.connect(lambda: self._act("pause"))
        self.resume_button.clicked.connect(lambda: self._act("resume"))
        self.cancel_button.clicked.connect(lambda: self._act("cancel"))
        self.clear_button.clicked.connect(self.model.remove_finished)
        self.view.selectionModel().currentRowChanged.connect(lambda *_: self._update_buttons())
        self.model.task_changed.connect(self._task_changed)
        self._update_buttons()

    def start(self, task: DownloadTask) -> None:
        """Show ``task`` and start it (or resume it, or, when it is installed already,
        re-verify the copy on disk; a download that is running is left alone), selected."""
        self.model.add(task)  # listening before it starts: no event can be missed
        task.start()
        self.view.selectRow(self.model.row_of(task))
        self._update_buttons()

    def selected(self) -> DownloadTask | None:
        idx = self.view.currentIndex()
        task: DownloadTask | None = self.model.item(idx.row()) if idx.isValid() else None
        return task

    def detach(self) -> None:
        """Stop listening to the downloads (they go on)."""
        self.model.detach()

    def _act(self, action: str) -> None:
        t = self.selected()
        if t is None:
            return
        if action == "pause":
            t.pause()
        elif action == "resume":
            t.resume()
        elif action == "cancel":
            t.cancel()
        self._update_buttons()

    def _update_buttons(self) -> None:
        t = self.selected()
        state = t.state if t is not None else None
        self.pause_button.setEnabled(
            state in (DownloadState.RUNNING, DownloadState.QUEUED, DownloadState.VERIFYING)
        )
        self.resume_button.setEnabled(state in (DownloadState.PAUSED, DownloadState.FAILED))
        self.cancel_button.setEnabled(
            state is not None and state not in (DownloadState.DONE, DownloadState.CANCELLED)
        )
        err = t.error if t is not None and state == DownloadState.FAILED else None
        self.error.setText(str(err) if err is not None else "")

    def _task_changed(self, task: DownloadTask) -> None:
        if task is self.selected():
            self._update_buttons()
        if task.state == DownloadState.DONE and task not in self._announced:
            self._announced.add(task)
            self.installed.emit(task)

"""The first-run panel: recommends the right model for this computer and gets it running.

One button downloads the recommended model (with live progress, pause and resume); when it is
verified, ``modelChosen(LoadOptions)`` carries the plan for this machine. A model already on disk
(from `hf download`, another app, or a file the user picks) can be used straight away.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.hub import fmt
from app.hub.catalog import CatalogEntry, recommend
from app.hub.download import DownloadManager, DownloadState, DownloadTask
from app.hub.hardware import Hardware
from app.hub.installed import InstalledModel, LibraryError, ModelLibrary
from app.hub.planner import plan
from app.ui.models.common import gpus_text, shared_manager


class FirstRunWidget(QWidget):
    modelChosen = Signal(object)  # LoadOptions
    _task_event = Signal(object)  # from download threads, delivered on the GUI thread

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        hardware: Hardware | None = None,
        manager: DownloadManager | None = None,
        library: ModelLibrary | None = None,
        entry: CatalogEntry | None = None,
    ) -> None:
        super().__init__(parent)
        if hardware is None:
            from app.hub import hardware as hw_mod

            hardware = hw_mod.detect()
        if manager is None:
            manager = shared_manager()
        self.hw = hardware
        self.manager = manager
        self.library = library or ModelLibrary()
        rec, rec_plan = recommend(hardware)
        self.entry = entry or rec
        self.entry_plan = self.entry.fit(hardware) if entry is not None else rec_plan
        self.task: DownloadTask | None = None
        self._existing: InstalledModel | None = None

        title = QLabel("<h2>Welcome to Hearth</h2>")
        intro = QLabel(
            "Hearth runs an AI model on this computer: nothing you type leaves it. "
            "First it needs the model itself, a one-time download."
        )
        intro.setWordWrap(True)
        self.recommendation = QLabel()
        self.recommendation.setWordWrap(True)
        self.recommendation.setTextFormat(Qt.TextFormat.RichText)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.download_button = QPushButton(
            f"Download {self.entry.title} ({fmt.size(self.entry.size)})"
        )
        self.download_button.setDefault(True)
        self.pause_button = QPushButton("Pause")
        self.pause_button.hide()
        self.use_existing_button = QPushButton()
        self.use_existing_button.hide()
        self.pick_button = QPushButton("I already have a GGUF file…")

        buttons = QHBoxLayout()
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.pause_button)
        buttons.addWidget(self.use_existing_button)
        buttons.addStretch(1)
        buttons.addWidget(self.pick_button)
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addWidget(intro)
        lay.addWidget(self.recommendation)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addLayout(buttons)
        lay.addStretch(1)

        self._task_event.connect(self._on_task, Qt.ConnectionType.QueuedConnection)
        # A stalled download sends no events, yet its line must count down: look once a second.
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._running_tick)
        self.download_button.clicked.connect(self.start_download)
        self.pause_button.clicked.connect(self._pause_resume)
        self.use_existing_button.clicked.connect(self._use_existing)
        self.pick_button.clicked.connect(self._pick_file)
        self._describe()
        self._find_existing()

    def _describe(self) -> None:
        p = self.entry_plan
        hw = self.hw
        gpu = gpus_text(hw, "no GPU this build can use")
        self.recommendation.setText(
            f"<p>This computer: {fmt.size(hw.ram_total)} of memory, {hw.cpu_physical} CPU "
            f"cores, {gpu}.</p>"
            f"<p>Recommended: <b>{self.entry.title}</b> "
            f"({fmt.size(self.entry.size)} download).<br>{p.summary}</p>"
        )

    def _find_existing(self) -> None:
        wanted = set(self.entry.files)
        ok = [m for m in self.library.models() if m.ok]
        best = next((m for m in ok if m.filename.rsplit("/", 1)[-1] in wanted), None)
        self._existing = best or (ok[0] if ok else None)
        if self._existing is not None:
            self.use_existing_button.setText(f"Use {self._existing.title} (already here)")
            self.use_existing_button.show()

    # -- downloading ---------------------------------------------------------------------------
    def start_download(self) -> None:
        self.task = self.manager.task(self.entry.request())
        self.task.add_listener(self._relay)
        self.download_button.setEnabled(False)
        self.pause_button.setText("Pause")
        self.pause_button.show()
        self.progress.show()
        self.status.setText("Starting the download…")
        self.task.start()
        self._tick.start()

    def _relay(self, task: DownloadTask) -> None:
        self._task_event.emit(task)  # from the download thread; delivered on the GUI thread

    def _pause_resume(self) -> None:
        if self.task is None:
            return
        if self.task.state == DownloadState.PAUSED or self.task.state == DownloadState.FAILED:
            self.task.resume()
            self.pause_button.setText("Pause")
        else:
            self.task.pause()

    def _running_tick(self) -> None:
        if self.task is not None and self.task.state == DownloadState.RUNNING:
            self._on_task(self.task)

    def _on_task(self, task: DownloadTask) -> None:
        if task is not self.task:
            return
        p = task.progress()
        self.progress.setValue(1000 if task.state == DownloadState.DONE else int(1000 * p.fraction))
        if task.state == DownloadState.DONE:
            task.remove_listener(self._relay)
            self._tick.stop()
            self.pause_button.hide()
            self.status.setText("Downloaded and verified. Starting…")
            path = task.paths[0]
            shape_plan = self._plan_for(str(path))
            self.modelChosen.emit(shape_plan)
        elif task.state == DownloadState.FAILED:
            self.status.setText(str(task.error))
            self.pause_button.setText("Try again")
        elif task.state == DownloadState.PAUSED:
            self.status.setText(
                f"Paused at {fmt.size(p.done)} of {fmt.size(p.total)}. "
                "Resume any time, even after closing Hearth."
            )
            self.pause_button.setText("Resume")
        else:
            self.status.setText(p.message or p.describe())

    def _plan_for(self, path: str) -> Any:
        from app.hub.shape import read_shape

        try:
            return plan(read_shape(path), self.hw, path).to_load_options()
        except Exception:
            return self.entry_plan.to_load_options(path)

    # -- models already here -------------------------------------------------------------------
    def _use_existing(self) -> None:
        if self._existing is not None:
            self.modelChosen.emit(self._existing.plan(self.hw).to_load_options())

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a GGUF model", "", "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            self.use_file(path)

    def use_file(self, path: str) -> bool:
        try:
            m = self.library.import_file(path)
        except LibraryError as e:
            self.status.setText(str(e))
            return False
        self.modelChosen.emit(m.plan(self.hw).to_load_options())
        return True

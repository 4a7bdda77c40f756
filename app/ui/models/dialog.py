"""The Model Manager dialog: recommended models, Hub search, downloads, installed models, and the
fit plan (with overrides) of the selected model. "Use this model" closes it with LoadOptions.

Everything slow happens off the GUI thread: downloads run on the download manager's threads, Hub
searches on a short-lived thread; results come back through queued signals.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QRect, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.engine.options import LoadOptions
from app.hub import fmt
from app.hub.catalog import CATALOG, CatalogEntry, HubGGUF, repo_ggufs, search_hub
from app.hub.download import DownloadManager, DownloadRequest, DownloadState
from app.hub.hardware import Hardware
from app.hub.installed import InstalledModel, LibraryError, ModelLibrary
from app.hub.shape import ShapeError
from app.ui.models.plan_panel import PlanPanel
from app.ui.models.qtmodels import (
    CatalogModel,
    DownloadsModel,
    FilesModel,
    InstalledModelsModel,
    ProgressRole,
    SearchModel,
)

_shared_manager: DownloadManager | None = None


def shared_manager() -> DownloadManager:
    """One download manager for the app, so downloads go on while the dialog is closed and show up
    again when it reopens (unfinished ones from earlier sessions come back paused)."""
    global _shared_manager
    if _shared_manager is None:
        _shared_manager = DownloadManager()
        _shared_manager.restore()
    return _shared_manager


class ProgressDelegate(QStyledItemDelegate):
    """Draws the downloads' progress column as a progress bar."""

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
        bar.state = option.state
        style = QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)


class _Async(QObject):
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


def _table(model: Any) -> QTableView:
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


class ModelManagerDialog(QDialog):
    """``chosen`` holds the LoadOptions once the user clicks "Use this model" (the dialog then
    accepts). ``modelChosen`` is emitted too, for a non-modal use."""

    modelChosen = Signal(object)  # LoadOptions

    def __init__(
        self,
        parent: QWidget | None = None,
        settings: Any = None,
        *,
        hardware: Hardware | None = None,
        manager: DownloadManager | None = None,
        library: ModelLibrary | None = None,
        catalog: list[CatalogEntry] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(980, 680)
        self.settings = settings
        if hardware is None:
            from app.hub import hardware as hw_mod

            hardware = hw_mod.detect()
        self.hw = hardware
        self.manager = manager or shared_manager()
        self.library = library or ModelLibrary()
        self.chosen: LoadOptions | None = None
        self._async = _Async(self)

        self.tabs = QTabWidget()
        self.catalog_model = CatalogModel(catalog if catalog is not None else CATALOG, hardware)
        self.search_model = SearchModel(self)
        self.files_model = FilesModel(self)
        self.downloads_model = DownloadsModel(self.manager, self)
        self.installed_model = InstalledModelsModel(self)
        self.tabs.addTab(self._build_catalog_tab(), "Recommended")
        self.tabs.addTab(self._build_search_tab(), "Search the Hub")
        self.tabs.addTab(self._build_downloads_tab(), "Downloads")
        self.tabs.addTab(self._build_installed_tab(), "Installed")

        self.plan_panel = PlanPanel(hardware)
        self.hw_label = QLabel(self._hardware_line())
        self.hw_label.setWordWrap(True)
        self.hw_label.setStyleSheet("color: palette(mid);")
        self.use_button = QPushButton("Use this model")
        self.use_button.setDefault(True)
        self.use_button.setEnabled(False)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        self.use_button.clicked.connect(self.use_selected)

        side = QWidget()
        sl = QVBoxLayout(side)
        heading = QLabel("<b>How it would run</b>")
        sl.addWidget(heading)
        sl.addWidget(self.plan_panel)
        sl.addStretch(1)
        sl.addWidget(self.hw_label)
        split = QSplitter()
        split.addWidget(self.tabs)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(close)
        buttons.addWidget(self.use_button)
        lay = QVBoxLayout(self)
        lay.addWidget(split, 1)
        lay.addLayout(buttons)

        self.tabs.currentChanged.connect(self._tab_changed)
        self.downloads_model.task_changed.connect(self._download_event)
        self.refresh_installed()
        if self.downloads_model.rowCount():
            self.tabs.setCurrentIndex(2)
        elif self.installed_model.rowCount():
            self.tabs.setCurrentIndex(3)

    # -- building ------------------------------------------------------------------------------
    def _hardware_line(self) -> str:
        hw = self.hw
        gpu = (
            ", ".join(f"{g.description} ({fmt.size(g.total)})" for g in hw.gpus)
            if hw.gpu_offload and hw.gpus
            else "no GPU usable by this build"
        )
        return f"This computer: {fmt.size(hw.ram_total)} RAM, {hw.cpu_physical} CPU cores, {gpu}."

    def _build_catalog_tab(self) -> QWidget:
        w = QWidget()
        self.catalog_view = _table(self.catalog_model)
        self.catalog_info = QLabel()
        self.catalog_info.setWordWrap(True)
        self.download_button = QPushButton("Download")
        self.download_to_button = QPushButton("Download to a folder…")
        for b in (self.download_button, self.download_to_button):
            b.setEnabled(False)
        self.download_button.clicked.connect(lambda: self.download_selected_entry())
        self.download_to_button.clicked.connect(self._download_entry_to)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.download_to_button)
        row.addWidget(self.download_button)
        lay = QVBoxLayout(w)
        lay.addWidget(self.catalog_view, 1)
        lay.addWidget(self.catalog_info)
        lay.addLayout(row)
        self.catalog_view.selectionModel().currentRowChanged.connect(self._catalog_selected)
        return w

    def _build_search_tab(self) -> QWidget:
        w = QWidget()
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search GGUF models on Hugging Face, e.g. gpt-oss")
        self.search_button = QPushButton("Search")
        self.search_status = QLabel()
        self.search_status.setWordWrap(True)
        self.results_view = QListView()
        self.results_view.setModel(self.search_model)
        self.results_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.files_view = _table(self.files_model)
        self.file_download_button = QPushButton("Download file")
        self.file_download_button.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.search_edit, 1)
        top.addWidget(self.search_button)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.file_download_button)
        lay = QVBoxLayout(w)
        lay.addLayout(top)
        lay.addWidget(self.search_status)
        lay.addWidget(self.results_view, 1)
        lay.addWidget(self.files_view, 1)
        lay.addLayout(row)
        self.search_button.clicked.connect(self.search)
        self.search_edit.returnPressed.connect(self.search)
        self.results_view.selectionModel().currentRowChanged.connect(self._repo_selected)
        self.files_view.selectionModel().currentRowChanged.connect(
            lambda cur, _prev: self.file_download_button.setEnabled(cur.isValid())
        )
        self.file_download_button.clicked.connect(self._download_file)
        return w

    def _build_downloads_tab(self) -> QWidget:
        w = QWidget()
        self.downloads_view = _table(self.downloads_model)
        self.downloads_view.setItemDelegateForColumn(2, ProgressDelegate(self.downloads_view))
        header = self.downloads_view.horizontalHeader()
        # A long status ("cannot reach … retrying") must not push the progress bar out of view:
        # the status takes the spare width (elided, full text in its tooltip); progress keeps 160.
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(2, 160)
        header.setStretchLastSection(False)
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.cancel_button = QPushButton("Cancel")
        self.clear_button = QPushButton("Clear finished")
        self.download_error = QLabel()
        self.download_error.setWordWrap(True)
        self.download_error.setStyleSheet("color: #c62828;")
        row = QHBoxLayout()
        for b in (self.pause_button, self.resume_button, self.cancel_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.clear_button)
        lay = QVBoxLayout(w)
        lay.addWidget(self.downloads_view, 1)
        lay.addWidget(self.download_error)
        lay.addLayout(row)
        self.pause_button.clicked.connect(lambda: self._task_action("pause"))
        self.resume_button.clicked.connect(lambda: self._task_action("resume"))
        self.cancel_button.clicked.connect(lambda: self._task_action("cancel"))
        self.clear_button.clicked.connect(self.downloads_model.remove_finished)
        self.downloads_view.selectionModel().currentRowChanged.connect(
            lambda *_: self._update_download_buttons()
        )
        self._update_download_buttons()
        return w

    def _build_installed_tab(self) -> QWidget:
        w = QWidget()
        self.installed_view = _table(self.installed_model)
        self.installed_info = QLabel()
        self.installed_info.setWordWrap(True)
        self.installed_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.import_button = QPushButton("Import a GGUF file…")
        self.folder_button = QPushButton("Add a folder…")
        self.remove_button = QPushButton("Remove…")
        self.remove_button.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(self.import_button)
        row.addWidget(self.folder_button)
        row.addStretch(1)
        row.addWidget(self.remove_button)
        lay = QVBoxLayout(w)
        lay.addWidget(self.installed_view, 1)
        lay.addWidget(self.installed_info)
        lay.addLayout(row)
        self.import_button.clicked.connect(self._import_clicked)
        self.folder_button.clicked.connect(self._folder_clicked)
        self.remove_button.clicked.connect(self._remove_clicked)
        self.installed_view.selectionModel().currentRowChanged.connect(self._installed_selected)
        return w

    # -- recommended ---------------------------------------------------------------------------
    def _catalog_selected(self, cur: QModelIndex, _prev: QModelIndex | None = None) -> None:
        e: CatalogEntry | None = self.catalog_model.item(cur.row()) if cur.isValid() else None
        for b in (self.download_button, self.download_to_button):
            b.setEnabled(e is not None)
        if e is None:
            return
        self.catalog_info.setText(
            f"<b>{e.title}</b> — {e.publisher}, {e.quantization}, {fmt.size(e.size)}<br>"
            f"{e.description}"
        )
        self.plan_panel.set_model(e.shape, "", f"{e.title} (not downloaded yet)")
        self.use_button.setEnabled(False)

    def selected_entry(self) -> CatalogEntry | None:
        idx = self.catalog_view.currentIndex()
        return self.catalog_model.item(idx.row()) if idx.isValid() else None

    def download_selected_entry(self, dest_dir: str | None = None) -> None:
        e = self.selected_entry()
        if e is not None:
            self.start_download(e.request(dest_dir or self._default_dest()))

    def _download_entry_to(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Download the model into…")
        if folder:
            self.download_selected_entry(folder)

    def _default_dest(self) -> str | None:
        extra = getattr(self.settings, "extra", None)
        if isinstance(extra, dict):
            dest = extra.get("models_download_dir")
            return str(dest) if dest else None
        return None

    # -- search --------------------------------------------------------------------------------
    def search(self) -> None:
        query = self.search_edit.text().strip()
        if not query:
            return
        self.search_button.setEnabled(False)
        self.search_status.setText(f"Searching for “{query}”…")
        mgr = self.manager
        self._async.run(lambda: search_hub(query, mgr.client), self._search_done)

    def _search_done(self, hits: Any, error: Exception | None) -> None:
        self.search_button.setEnabled(True)
        self.files_model.set_rows([])
        if error is not None:
            self.search_status.setText(str(error))
            self.search_model.set_rows([])
            return
        self.search_model.set_rows(hits)
        self.search_status.setText(
            f"{len(hits)} GGUF repositories. Pick one to see its files."
            if hits
            else "No GGUF repositories match. Try fewer or other words."
        )

    def _repo_selected(self, cur: QModelIndex, _prev: QModelIndex | None = None) -> None:
        m = self.search_model.item(cur.row()) if cur.isValid() else None
        if m is None:
            return
        self.search_status.setText(f"Listing the files of {m.repo_id}…")
        mgr = self.manager
        self._async.run(lambda: repo_ggufs(m.repo_id, mgr.client), self._files_done)

    def _files_done(self, files: Any, error: Exception | None) -> None:
        if error is not None:
            self.search_status.setText(str(error))
            return
        self.files_model.set_rows(files)
        self.search_status.setText(
            "Pick a file to download (MXFP4 is gpt-oss's native format)."
            if files
            else "This repository has no GGUF files."
        )

    def _download_file(self) -> None:
        idx = self.files_view.currentIndex()
        f: HubGGUF | None = self.files_model.item(idx.row()) if idx.isValid() else None
        if f is not None:
            self.start_download(f.request(self._default_dest()))

    # -- downloads -----------------------------------------------------------------------------
    def start_download(self, request: DownloadRequest) -> None:
        task = self.manager.task(request)
        self.downloads_model.add(task)
        # Starts it, resumes it, or (when already installed) re-verifies the copy on disk; a
        # download that is running already is left alone.
        task.start()
        self.tabs.setCurrentIndex(2)
        row = self.downloads_model.row_of(task)
        self.downloads_view.selectRow(row)
        self._update_download_buttons()

    def selected_task(self) -> Any:
        idx = self.downloads_view.currentIndex()
        return self.downloads_model.item(idx.row()) if idx.isValid() else None

    def _task_action(self, action: str) -> None:
        t = self.selected_task()
        if t is None:
            return
        if action == "pause":
            t.pause()
        elif action == "resume":
            t.resume()
        elif action == "cancel":
            t.cancel()
        self._update_download_buttons()

    def _update_download_buttons(self) -> None:
        t = self.selected_task()
        state = t.state if t is not None else None
        self.pause_button.setEnabled(
            state in (DownloadState.RUNNING, DownloadState.QUEUED, DownloadState.VERIFYING)
        )
        self.resume_button.setEnabled(state in (DownloadState.PAUSED, DownloadState.FAILED))
        self.cancel_button.setEnabled(
            state is not None and state not in (DownloadState.DONE, DownloadState.CANCELLED)
        )
        err = t.error if t is not None and state == DownloadState.FAILED else None
        self.download_error.setText(str(err) if err is not None else "")

    def _download_event(self, task: Any) -> None:
        if task is self.selected_task():
            self._update_download_buttons()
        if task.state == DownloadState.DONE and not getattr(task, "_shown_installed", False):
            task._shown_installed = True
            if task.request.dest_dir:  # a folder of the user's: remember it, to list it
                try:
                    self.library.add_folder(task.request.dest_dir)
                except LibraryError:
                    pass
            self.refresh_installed(select=task.paths[0] if task.paths else None)

    # -- installed -----------------------------------------------------------------------------
    def refresh_installed(self, select: Path | None = None) -> None:
        models = self.library.models()
        self.installed_model.set_rows(models)
        if select is not None:
            for i, m in enumerate(models):
                if m.path == select:
                    self.installed_view.selectRow(i)

    def selected_installed(self) -> InstalledModel | None:
        idx = self.installed_view.currentIndex()
        return self.installed_model.item(idx.row()) if idx.isValid() else None

    def _installed_selected(self, cur: QModelIndex, _prev: QModelIndex | None = None) -> None:
        m = self.installed_model.item(cur.row()) if cur.isValid() else None
        self.remove_button.setEnabled(m is not None)
        if m is None:
            self.installed_info.clear()
            self.use_button.setEnabled(False)
            return
        if not m.ok:
            self.installed_info.setText(f"<b>This file can't be used.</b> {m.problem}")
            self.plan_panel.set_model(None, "", f"{m.title}: not usable")
            self.use_button.setEnabled(False)
            return
        i = m.info
        facts = [str(m.path)]
        if i is not None:
            facts.insert(
                0,
                f"<b>{i.name or m.title}</b> — {i.architecture}, {i.quantization}, "
                f"{i.parameter_count / 1e9:.1f} B parameters, {i.layer_count} layers, "
                f"{i.context_length:,}-token context",
            )
        self.installed_info.setText("<br>".join(facts))
        try:
            shape = m.shape()
        except ShapeError as e:
            self.installed_info.setText(f"<b>This file can't be planned.</b> {e}")
            self.use_button.setEnabled(False)
            return
        self.plan_panel.set_model(shape, str(m.path), m.title)
        self.use_button.setEnabled(True)

    def _import_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a GGUF model", "", "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            self.import_file(path)

    def import_file(self, path: str) -> InstalledModel | None:
        try:
            m = self.library.import_file(path)
        except LibraryError as e:
            QMessageBox.warning(self, "Cannot import", str(e))
            return None
        self.refresh_installed(select=m.path)
        self.tabs.setCurrentIndex(3)
        return m

    def _folder_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Look for models in…")
        if folder:
            try:
                self.library.add_folder(folder)
            except LibraryError as e:
                QMessageBox.warning(self, "Cannot add the folder", str(e))
            self.refresh_installed()

    def _remove_clicked(self) -> None:
        m = self.selected_installed()
        if m is None:
            return
        if m.source == "imported":
            text = f"Stop listing {m.path.name}? The file itself stays where it is."
        else:
            text = f"Delete {m.title} ({fmt.size(m.size)}) from this computer?"
        answer = QMessageBox.question(self, "Remove model", text)
        if answer == QMessageBox.StandardButton.Yes:
            self.remove_model(m)

    def remove_model(self, m: InstalledModel) -> int:
        freed = self.library.remove(m)
        self.refresh_installed()
        self.plan_panel.set_model(None)
        self.use_button.setEnabled(False)
        self.installed_info.setText(f"Removed; {fmt.size(freed)} freed." if freed else "Removed.")
        return freed

    # -- choosing ------------------------------------------------------------------------------
    def _tab_changed(self, index: int) -> None:
        if index == 3:
            self._installed_selected(self.installed_view.currentIndex())
        elif index == 0:
            self._catalog_selected(self.catalog_view.currentIndex())

    def use_selected(self) -> None:
        opts = self.plan_panel.load_options()
        if opts is None:
            return
        self.chosen = opts
        self.modelChosen.emit(opts)
        self.accept()

    def done(self, result: int) -> None:
        self._async.wait(1.0)
        self.downloads_model.detach()  # downloads continue; this dialog stops listening
        super().done(result)


def open_model_manager(parent: QWidget | None = None, settings: Any = None) -> LoadOptions | None:
    """Show the Model Manager (modal). Returns the LoadOptions of the model the user chose to use,
    or None. Downloads started here continue after it closes (shared download manager)."""
    dlg = ModelManagerDialog(parent, settings)
    try:
        if dlg.exec() == QDialog.DialogCode.Accepted:
            return dlg.chosen
        return None
    finally:
        dlg.deleteLater()

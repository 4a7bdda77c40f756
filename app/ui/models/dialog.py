"""The Model Manager dialog: one tab each for the recommended models, a Hub search, the downloads
and the installed models (their modules: ``*_tab.py``), beside the fit plan (with overrides) of
the model selected in the tab shown. "Use this model" closes it with LoadOptions.

Everything slow happens off the GUI thread: downloads run on the download manager's threads, Hub
searches on a short-lived thread; results come back through queued signals.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.engine.options import LoadOptions
from app.hub import fmt
from app.hub.catalog import CATALOG, CatalogEntry
from app.hub.download import DownloadManager, DownloadRequest, DownloadTask
from app.hub.hardware import Hardware
from app.hub.installed import InstalledModel, ModelLibrary
from app.ui.models.common import Choice, gpus_text, shared_manager
from app.ui.models.downloads_tab import DownloadsTab
from app.ui.models.installed_tab import InstalledTab
from app.ui.models.plan_panel import PlanPanel
from app.ui.models.recommended_tab import RecommendedTab
from app.ui.models.search_tab import SearchTab


class ModelManagerDialog(QDialog):
    """``chosen`` holds the LoadOptions once the user clicks "Use this model" (the dialog then
    accepts). ``modelChosen`` is emitted too, for a non-modal use. ``loaded``: the file the app
    has loaded now, marked (and selected) on the Installed tab."""

    modelChosen = Signal(object)  # LoadOptions

    PREFERRED = QSize(980, 680)

    def __init__(
        self,
        parent: QWidget | None = None,
        settings: Any = None,
        *,
        hardware: Hardware | None = None,
        manager: DownloadManager | None = None,
        library: ModelLibrary | None = None,
        catalog: list[CatalogEntry] | None = None,
        loaded: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        if hardware is None:
            from app.hub import hardware as hw_mod

            hardware = hw_mod.detect()
        self.hw = hardware
        self.manager = manager or shared_manager()
        self.library = library or ModelLibrary()
        self.chosen: LoadOptions | None = None
        dest = _download_dir(settings)
        entries = catalog if catalog is not None else CATALOG

        self.recommended = RecommendedTab(entries, hardware, dest)
        self.search_tab = SearchTab(self.manager.client, dest)
        self.downloads = DownloadsTab(self.manager)
        self.installed = InstalledTab(self.library, entries, dest)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.recommended, "Recommended")
        self.tabs.addTab(self.search_tab, "Search the Hub")
        self.tabs.addTab(self.downloads, "Downloads")
        self.tabs.addTab(self.installed, "Installed")

        self.plan_panel = PlanPanel(hardware)
        self.hw_label = QLabel(
            f"This computer: {fmt.size(hardware.ram_total)} RAM, {hardware.cpu_physical} CPU "
            f"cores, {gpus_text(hardware, 'no GPU usable by this build')}."
        )
        self.hw_label.setWordWrap(True)
        self.hw_label.setStyleSheet("color: palette(mid);")
        self.use_button = QPushButton("Use this model")
        self.use_button.setDefault(True)
        self.use_button.setEnabled(False)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        self.use_button.clicked.connect(self.use_selected)
        # A model on a server instead (vLLM, llama-server, another Hearth): app.ui.remote_dialog.
        self.chosen_remote: str | None = None
        self.server_button = QPushButton("Connect to a server…")
        self.server_button.clicked.connect(self.connect_server)

        # The plan of the model selected in the tab shown; Search and Downloads have none to
        # show, and their tables get the whole width.
        self.side = QWidget()
        sl = QVBoxLayout(self.side)
        sl.setContentsMargins(6, 0, 0, 0)
        sl.addWidget(QLabel("<b>How it would run</b>"))
        sl.addWidget(self.plan_panel)
        sl.addStretch(1)
        sl.addWidget(self.hw_label)
        split = QSplitter()
        split.setChildrenCollapsible(False)
        split.addWidget(self.tabs)
        split.addWidget(self.side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        buttons = QHBoxLayout()
        buttons.addWidget(self.server_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        buttons.addWidget(self.use_button)
        lay = QVBoxLayout(self)
        lay.addWidget(split, 1)
        lay.addLayout(buttons)

        self.recommended.choiceChanged.connect(lambda c: self._offered(self.recommended, c))
        self.installed.choiceChanged.connect(lambda c: self._offered(self.installed, c))
        self.recommended.downloadRequested.connect(self.start_download)
        self.search_tab.downloadRequested.connect(self.start_download)
        self.installed.downloadRequested.connect(self.start_download)
        self.installed.listed.connect(self.recommended.set_installed)
        self.downloads.installed.connect(self._download_installed)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.installed.refresh()
        self.installed.set_loaded(loaded)
        # Reached to change the model: what is on this computer comes first; then what is on
        # its way; the catalog when there is neither.
        if self.installed.model.rowCount():
            self.tabs.setCurrentWidget(self.installed)
        elif self.downloads.model.rowCount():
            self.tabs.setCurrentWidget(self.downloads)
        self._tab_changed(self.tabs.currentIndex())
        self.resize(self._fitting_size(parent))

    def _fitting_size(self, parent: QWidget | None) -> QSize:
        """The preferred size, no larger than the window it belongs to (or the screen)."""
        room = parent.window().size() if parent is not None else None
        screen = self.screen() if parent is None else parent.screen()
        if room is None and screen is not None:
            room = screen.availableGeometry().size() * 0.9
        return self.PREFERRED if room is None else self.PREFERRED.boundedTo(room)

    # -- what the tabs ask -----------------------------------------------------------------------
    def start_download(self, request: DownloadRequest) -> DownloadTask:
        task = self.manager.task(request)
        self.downloads.start(task)
        self.tabs.setCurrentWidget(self.downloads)
        return task

    def _download_installed(self, task: DownloadTask) -> None:
        if task.request.dest_dir:  # a folder of the user's: remember it, to list it
            self.installed.remember_folder(task.request.dest_dir)
        self.installed.refresh(select=task.paths[0] if task.paths else None)

    def _offered(self, tab: QWidget, choice: Choice | None) -> None:
        """A tab's selection changed: it is what the plan and "Use" are about, if shown."""
        if tab is not self.tabs.currentWidget():
            return
        if choice is not None:
            self.plan_panel.set_model(choice.shape, choice.path, choice.title)
        self.use_button.setEnabled(
            choice is not None and choice.shape is not None and bool(choice.path)
        )

    def _tab_changed(self, index: int) -> None:
        tab = self.tabs.widget(index)
        self.side.setVisible(tab is self.installed or tab is self.recommended)
        self.use_button.setEnabled(False)  # until the tab shown offers a usable model
        if tab is self.installed:
            self.installed.refresh_choice()
        elif tab is self.recommended:
            self.recommended.refresh_choice()

    # -- for the window and tests -----------------------------------------------------------------
    def download_selected_entry(self, dest_dir: str | None = None) -> None:
        self.recommended.download_selected(dest_dir)

    def selected_installed(self) -> InstalledModel | None:
        return self.installed.selected()

    def import_file(self, path: str) -> InstalledModel | None:
        m = self.installed.import_file(path)
        if m is not None:
            self.tabs.setCurrentWidget(self.installed)
        return m

    def remove_model(self, m: InstalledModel) -> int:
        return self.installed.remove_model(m)

    # -- choosing --------------------------------------------------------------------------------
    def use_selected(self) -> None:
        opts = self.plan_panel.load_options()
        if opts is None:
            return
        self.chosen = opts
        self.modelChosen.emit(opts)
        self.accept()

    def connect_server(self) -> None:
        from app.ui.remote_dialog import connect_to_server

        name = connect_to_server(self)
        if name is not None:
            self.chosen_remote = name
            self.accept()

    def done(self, result: int) -> None:
        self.search_tab.worker.wait(1.0)
        self.downloads.detach()  # downloads continue; this dialog stops listening
        super().done(result)


def _download_dir(settings: Any) -> str | None:
    """The folder the user chose for downloads (``models_download_dir`` in the app's settings)."""
    extra = getattr(settings, "extra", None)
    if isinstance(extra, dict):
        dest = extra.get("models_download_dir")
        return str(dest) if dest else None
    return None


def open_model_manager(
    parent: QWidget | None = None, settings: Any = None, loaded: str | None = None
) -> LoadOptions | str | None:
    """Show the Model Manager (modal). Returns the LoadOptions of the model the user chose to use,
    the name of a server connection chosen with "Connect to a server…" (a str), or None.
    ``loaded``: the model file in use now. Downloads started here continue after it closes
    (shared download manager)."""
    dlg = ModelManagerDialog(parent, settings, loaded=loaded)
    try:
        if dlg.exec() == QDialog.DialogCode.Accepted:
            return dlg.chosen_remote or dlg.chosen
        return None
    finally:
        dlg.deleteLater()

"""The Recommended tab: the catalog with how each model would run here, and its Download buttons."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtWidgets import QFileDialog, QLabel, QPushButton, QWidget

from app.hub import fmt
from app.hub.catalog import CatalogEntry
from app.hub.hardware import Hardware
from app.hub.installed import InstalledModel
from app.hub.shape import ShapeError
from app.ui.models.common import Choice, FitTable, lay_out_tab
from app.ui.models.qtmodels import CatalogModel


class RecommendedTab(QWidget):
    choiceChanged = Signal(object)  # Choice | None
    downloadRequested = Signal(object)  # DownloadRequest

    def __init__(
        self,
        entries: list[CatalogEntry],
        hw: Hardware,
        default_dest: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.default_dest = default_dest  # the user's folder for downloads, if they chose one
        self.model = CatalogModel(entries, hw, self)
        self.view = FitTable(self.model, wrap=(0, 3))
        self.info = QLabel()
        self.download_button = QPushButton("Download")
        self.download_to_button = QPushButton("Download to a folder…")
        for b in (self.download_button, self.download_to_button):
            b.setEnabled(False)
        self.download_button.clicked.connect(lambda: self.download_selected())
        self.download_to_button.clicked.connect(self._download_to)
        lay_out_tab(
            self, self.view, self.info, right=(self.download_to_button, self.download_button)
        )
        self.view.selectionModel().currentRowChanged.connect(self._selected)

    def selected(self) -> CatalogEntry | None:
        idx = self.view.currentIndex()
        return self.model.item(idx.row()) if idx.isValid() else None

    def refresh_choice(self) -> None:
        """Offer the selected entry to the plan panel again (the tab was shown)."""
        self._selected(self.view.currentIndex())

    def set_installed(self, models: list[InstalledModel]) -> None:
        """Mark the entries downloaded already (``models``: what is on this computer)."""
        self.model.set_installed(models)
        if self.isVisible():
            self.refresh_choice()

    def _selected(self, cur: QModelIndex, _prev: QModelIndex | None = None) -> None:
        e: CatalogEntry | None = self.model.item(cur.row()) if cur.isValid() else None
        for b in (self.download_button, self.download_to_button):
            b.setEnabled(e is not None)
        if e is None:
            self.choiceChanged.emit(None)
            return
        about = (
            f"<b>{e.title}</b> — {e.publisher}, {e.quantization}, {fmt.size(e.size)}<br>"
            f"{e.description}"
        )
        have = self.model.installed(e)
        if have is None:
            self.info.setText(about)
            self.choiceChanged.emit(Choice(e.shape, "", f"{e.title} (not downloaded yet)"))
            return
        self.info.setText(f"{about}<br><b>Downloaded</b>: on this computer, ready to use.")
        try:
            shape = have.shape()  # the file's own tensors, not the catalog's estimate
        except ShapeError:
            shape = e.shape
        self.choiceChanged.emit(Choice(shape, str(have.path), f"{e.title} (downloaded)"))

    def download_selected(self, dest_dir: str | None = None) -> None:
        e = self.selected()
        if e is not None:
            self.downloadRequested.emit(e.request(dest_dir or self.default_dest))

    def _download_to(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Download the model into…")
        if folder:
            self.download_selected(folder)

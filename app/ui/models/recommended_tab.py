"""The Recommended tab: the catalog with how each model would run here, and its Download buttons."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtWidgets import QFileDialog, QLabel, QPushButton, QWidget

from app.hub import fmt
from app.hub.catalog import CatalogEntry
from app.hub.hardware import Hardware
from app.ui.models.common import Choice, lay_out_tab, make_table
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
        self.view = make_table(self.model)
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

    def _selected(self, cur: QModelIndex, _prev: QModelIndex | None = None) -> None:
        e: CatalogEntry | None = self.model.item(cur.row()) if cur.isValid() else None
        for b in (self.download_button, self.download_to_button):
            b.setEnabled(e is not None)
        if e is None:
            return
        self.info.setText(
            f"<b>{e.title}</b> — {e.publisher}, {e.quantization}, {fmt.size(e.size)}<br>"
            f"{e.description}"
        )
        self.choiceChanged.emit(Choice(e.shape, "", f"{e.title} (not downloaded yet)"))

    def download_selected(self, dest_dir: str | None = None) -> None:
        e = self.selected()
        if e is not None:
            self.downloadRequested.emit(e.request(dest_dir or self.default_dest))

    def _download_to(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Download the model into…")
        if folder:
            self.download_selected(folder)

"""The Installed tab: the models on this computer (HF cache, Hearth's folder, the user's folders,
imported files), what each is, importing a file, adding a folder, removing a model."""

from __future__ import annotations

import contextlib
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QFileDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QWidget,
)

from app.hub import fmt
from app.hub.catalog import CatalogEntry
from app.hub.installed import InstalledModel, LibraryError, ModelLibrary
from app.hub.shape import ShapeError
from app.ui.models.common import Choice, FitTable, lay_out_tab
from app.ui.models.qtmodels import InstalledModelsModel


class InstalledTab(QWidget):
    """``listed(models)`` after each look at the disk; ``downloadRequested(request)`` when the
    user takes the offer to download a catalog file again (an incomplete copy was imported)."""

    choiceChanged = Signal(object)  # Choice | None
    listed = Signal(object)  # list[InstalledModel]
    downloadRequested = Signal(object)  # DownloadRequest

    def __init__(
        self,
        library: ModelLibrary,
        catalog: list[CatalogEntry],
        default_dest: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.catalog = catalog
        self.default_dest = default_dest
        self._offer: tuple[QAbstractButton, CatalogEntry] | None = None
        self.model = InstalledModelsModel(self)
        self.view = FitTable(self.model, wrap=(0,), narrow=(2,))
        self.info = QLabel()
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.import_button = QPushButton("Import a GGUF file…")
        self.folder_button = QPushButton("Add a folder…")
        self.remove_button = QPushButton("Remove…")
        self.remove_button.setEnabled(False)
        lay_out_tab(
            self,
            self.view,
            self.info,
            left=(self.import_button, self.folder_button),
            right=(self.remove_button,),
        )
        self.import_button.clicked.connect(self._import_clicked)
        self.folder_button.clicked.connect(self._folder_clicked)
        self.remove_button.clicked.connect(self._remove_clicked)
        self.view.selectionModel().currentRowChanged.connect(self._selected)
        # A new list selects nothing: say so (Remove…, the plan and "Use" follow).
        self.model.modelReset.connect(lambda: self._selected(QModelIndex()))

    def refresh(self, select: Path | None = None) -> None:
        models = self.library.models()
        self.model.set_rows(models)
        self.listed.emit(models)
        if select is not None:
            for i, m in enumerate(models):
                if m.path == select:
                    self.view.selectRow(i)

    def set_loaded(self, path: str | None) -> None:
        """Mark the model the app has loaded, and select it."""
        self.model.loaded = Path(path) if path else None
        row = self.model.row_of_loaded()
        if row >= 0:
            self.model.dataChanged.emit(self.model.index(row, 0), self.model.index(row, 3))
            self.view.selectRow(row)

    def selected(self) -> InstalledModel | None:
        idx = self.view.currentIndex()
        return self.model.item(idx.row()) if idx.isValid() else None

    def refresh_choice(self) -> None:
        """Offer the selected model to the plan panel again (the tab was shown)."""
        self._selected(self.view.currentIndex())

    def _selected(self, cur: QModelIndex, _prev: QModelIndex | None = None) -> None:
        m = self.model.item(cur.row()) if cur.isValid() else None
        self.remove_button.setEnabled(m is not None)
        if m is None:
            self.info.clear()
            self.choiceChanged.emit(None)
            return
        if not m.ok:
            self.info.setText(f"<b>This file can't be used.</b> {m.problem}")
            self.choiceChanged.emit(Choice(None, "", f"{m.title}: not usable"))
            return
        i = m.info
        facts = [str(m.path)]
        if i is not None:
            facts.insert(
                0,
                f"<b>{i.name or m.title}</b> — {i.architecture}, {i.quantization}, "
                f"{fmt.count(i.parameter_count)} parameters, {i.layer_count} layers, "
                f"{i.context_length:,}-token context",
            )
        self.info.setText("<br>".join(facts))
        try:
            shape = m.shape()
        except ShapeError as e:
            self.info.setText(f"<b>This file can't be planned.</b> {e}")
            self.choiceChanged.emit(None)
            return
        self.choiceChanged.emit(Choice(shape, str(m.path), m.title))

    # -- changing ------------------------------------------------------------------------------
    def _import_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a GGUF model", "", "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            self.import_file(path)

    def import_file(self, path: str) -> InstalledModel | None:
        try:
            m = self.library.import_file(path, self.catalog)
        except LibraryError as e:
            entry = next((x for x in self.catalog if x.id == e.entry_id), None)
            if entry is None:
                QMessageBox.warning(self, "Cannot import", str(e))
            else:  # the file is an incomplete copy of a catalog file: offer the download
                box = QMessageBox(QMessageBox.Icon.Warning, "Incomplete file", str(e), parent=self)
                again = box.addButton(
                    f"Download {entry.title} again", QMessageBox.ButtonRole.AcceptRole
                )
                box.addButton(QMessageBox.StandardButton.Close)
                box.setDefaultButton(again)
                self._offer = (again, entry)
                box.exec()
                self._answered(box)
            return None
        self.refresh(select=m.path)
        return m

    def _answered(self, box: QMessageBox) -> None:
        """The user answered the offer to download a catalog file again."""
        offer, self._offer = self._offer, None
        if offer is not None and box.clickedButton() is offer[0]:
            self.downloadRequested.emit(offer[1].request(self.default_dest))

    def remember_folder(self, folder: str) -> None:
        """List the models of ``folder`` from now on (a download went there)."""
        with contextlib.suppress(LibraryError):
            self.library.add_folder(folder)

    def _folder_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Look for models in…")
        if folder:
            try:
                self.library.add_folder(folder)
            except LibraryError as e:
                QMessageBox.warning(self, "Cannot add the folder", str(e))
            self.refresh()

    def _remove_clicked(self) -> None:
        m = self.selected()
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
        self.refresh()
        self.choiceChanged.emit(Choice(None, "", ""))
        self.info.setText(f"Removed; {fmt.size(freed)} freed." if freed else "Removed.")
        return freed

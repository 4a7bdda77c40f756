"""The Search the Hub tab: GGUF repositories matching the user's words, a repository's files, and
downloading one. The Hub is asked on a short-lived thread (``worker``); answers come back queued."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.hub import fmt
from app.hub.catalog import HubGGUF, repo_ggufs, search_hub
from app.hub.hubapi import HubClient
from app.ui.models.common import Async, FitTable
from app.ui.models.qtmodels import FilesModel, SearchModel


class SearchEdit(QLineEdit):
    """The search box: Enter searches, and is never passed on (in a dialog it would press the
    default button, "Use this model", and reload a model)."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        super().keyPressEvent(event)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()


class SearchTab(QWidget):
    downloadRequested = Signal(object)  # DownloadRequest

    def __init__(
        self, client: HubClient, default_dest: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.client = client
        self.default_dest = default_dest
        self.worker = Async(self)
        self.search_model = SearchModel(self)
        self.files_model = FilesModel(self)
        self.search_edit = SearchEdit()
        self.search_edit.setPlaceholderText("Search GGUF models on Hugging Face, e.g. gpt-oss")
        self.search_button = QPushButton("Search")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.results_view = QListView()
        self.results_view.setModel(self.search_model)
        self.results_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.files_view = FitTable(self.files_model, wrap=(0,))
        self.download_button = QPushButton("Download file")
        self.download_button.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.search_edit, 1)
        top.addWidget(self.search_button)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.download_button)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.status)
        lay.addWidget(self.results_view, 1)
        lay.addWidget(self.files_view, 1)
        lay.addLayout(row)
        self.search_button.clicked.connect(self.search)
        self.search_edit.returnPressed.connect(self.search)
        self.results_view.selectionModel().currentRowChanged.connect(self._repo_selected)
        self.files_view.selectionModel().currentRowChanged.connect(
            lambda cur, _prev: self.download_button.setEnabled(cur.isValid())
        )
        # New results select no file: nothing to download until the user picks one.
        self.files_model.modelReset.connect(lambda: self.download_button.setEnabled(False))
        self.download_button.clicked.connect(self._download_file)

    def search(self) -> None:
        query = self.search_edit.text().strip()
        if not query:
            return
        self.search_button.setEnabled(False)
        self.status.setText(f"Searching for “{query}”…")
        client = self.client
        self.worker.run(lambda: search_hub(query, client), self._search_done)

    def _search_done(self, hits: Any, error: Exception | None) -> None:
        self.search_button.setEnabled(True)
        self.files_model.set_rows([])
        if error is not None:
            self.status.setText(str(error))
            self.search_model.set_rows([])
            return
        self.search_model.set_rows(hits)
        self.status.setText(
            f"{fmt.plural(len(hits), 'GGUF repository', 'GGUF repositories')}. "
            "Pick one to see its files."
            if hits
            else "No GGUF repositories match. Try fewer or other words."
        )

    def _repo_selected(self, cur: QModelIndex, _prev: QModelIndex | None = None) -> None:
        m = self.search_model.item(cur.row()) if cur.isValid() else None
        if m is None:
            return
        self.status.setText(f"Listing the files of {m.repo_id}…")
        client = self.client
        self.worker.run(lambda: repo_ggufs(m.repo_id, client), self._files_done)

    def _files_done(self, files: Any, error: Exception | None) -> None:
        if error is not None:
            self.status.setText(str(error))
            return
        self.files_model.set_rows(files)
        self.status.setText(
            "Pick a file to download (MXFP4 is gpt-oss's native format)."
            if files
            else "This repository has no GGUF files."
        )

    def _download_file(self) -> None:
        idx = self.files_view.currentIndex()
        f: HubGGUF | None = self.files_model.item(idx.row()) if idx.isValid() else None
        if f is not None:
            self.downloadRequested.emit(f.request(self.default_dest))

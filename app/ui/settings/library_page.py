"""Settings → Library: the folders of notes, documents or code the model may search with its
browser tool (in the chats where the user allows them: the Library button above the chat). Add
or remove a folder; a progress bar while one is read; the index's size on disk. The work is the
window's ``LibraryService`` (app.ui.library_service); this page only shows it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.attachments import format_size
from app.library import LibraryError
from app.library.index import default_path
from app.ui.library_service import LibraryService


class LibraryPage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        owner = parent.parent() if parent is not None else None
        service = getattr(owner, "library", None)
        if not isinstance(service, LibraryService):
            # Settings without the window (its tests, a future standalone dialog): a Library of
            # the page's own, stopped with the dialog.
            service = LibraryService(None, parent=self)
            finished = getattr(parent, "finished", None)
            if finished is not None:
                finished.connect(service.shutdown)
        self.service = service
        lay = QVBoxLayout(self)
        box = QGroupBox("Library folders")
        col = QVBoxLayout(box)
        about = QLabel(
            "Folders of notes, documents or code. Hearth reads their text on this computer into "
            "an index, so the model can search them with its browser tool and cite the lines it "
            "used, in the chats where you allow a folder (the Library button above the chat). "
            "Files are never changed or sent anywhere; text, Markdown, code, PDF and Word files "
            "are read, others are skipped."
        )
        about.setWordWrap(True)
        col.addWidget(about)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Folder", "Files", "Size"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setMinimumHeight(150)
        self.tree.itemSelectionChanged.connect(self._selection)
        col.addWidget(self.tree)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add folder…")
        self.add_button.clicked.connect(self._ask_folder)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Forget this folder (its files are not touched)")
        self.remove_button.clicked.connect(self.remove_selected)
        self.remove_button.setEnabled(False)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        col.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.progress_label = QLabel()
        self.progress_label.setObjectName("statusNote")
        self.progress_label.setWordWrap(True)
        col.addWidget(self.progress)
        col.addWidget(self.progress_label)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("toolError")
        self.message.hide()
        col.addWidget(self.message)
        self.size_label = QLabel()
        self.size_label.setObjectName("statusNote")
        self.size_label.setWordWrap(True)
        self.size_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        col.addWidget(self.size_label)
        lay.addWidget(box)
        lay.addStretch(1)
        service.progress.connect(self._progress)
        service.changed.connect(self.reload)
        service.busyChanged.connect(self._busy)
        service.failed.connect(self._fail)
        self._busy(service.busy)
        self.reload()

    def reload(self) -> None:
        selected = self.selected()
        self.tree.clear()
        for f in self.service.folders():
            item = QTreeWidgetItem([f.path, f"{f.files:,}", format_size(f.bytes)])
            item.setData(0, Qt.ItemDataRole.UserRole, f.path)
            item.setToolTip(0, f.path)
            for c in (1, 2):
                item.setTextAlignment(
                    c, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                )
            self.tree.addTopLevelItem(item)
            if f.path == selected:
                item.setSelected(True)
        index = self.service.index(create=False)
        if index is None:
            self.size_label.setText("No folders yet: nothing is indexed.")
        else:
            stats = index.stats()
            self.size_label.setText(
                f"Index: {format_size(stats['index_bytes'])} on disk for {stats['docs']:,} "
                f"files ({default_path()})"
            )
        self._selection()

    def selected(self) -> str | None:
        items = self.tree.selectedItems()
        return str(items[0].data(0, Qt.ItemDataRole.UserRole)) if items else None

    def _selection(self) -> None:
        self.remove_button.setEnabled(self.selected() is not None)

    def _ask_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Add a folder to the Library", str(Path.home())
        )
        if path:
            self.add_folder(path)

    def add_folder(self, path: str) -> bool:
        try:
            self.service.add_folder(path)
        except LibraryError as e:
            self._fail(str(e))
            return False
        self.message.hide()
        self.reload()
        return True

    def remove_selected(self) -> None:
        path = self.selected()
        if path is not None:
            self.service.remove_folder(path)
            self.progress_label.setText(f"Removing {Path(path).name} from the index…")

    def _progress(self, folder: str, done: int, total: int, rel: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress_label.setText(
            f"Indexing {Path(folder).name}: {done:,} of {total:,} files"
            + (f" — {rel}" if rel else "")
        )

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)  # until the first file is counted
            self.progress_label.setText("Looking for changes…")
        else:
            self.progress_label.setText("Up to date.")

    def _fail(self, sentence: str) -> None:
        self.message.setText(sentence)
        self.message.show()

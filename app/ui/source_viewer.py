"""A read-only view of a document: the source a citation points to, with its lines marked and in
view, or a file attached to a message. "Open in editor" hands the file to the system.

The text shown is the text the model read (the Library index's lines, a PDF's extracted text), so
a citation's line numbers land on the lines the model cited.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QColor, QDesktopServices, QFont, QTextCursor, QTextFormat
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.library import CitationTarget, LibraryIndex
from app.library.index import ATTACHMENT_PREFIX

HIGHLIGHT_LIGHT = "#fff1a8"
HIGHLIGHT_DARK = "#5c4b00"


class SourceViewer(QDialog):
    """``lines`` shown with lines ``first``..``last`` (1-based; 0: none) marked and in view."""

    def __init__(
        self,
        title: str,
        path: str,
        lines: list[str],
        first: int = 0,
        last: int = 0,
        parent: QWidget | None = None,
        open_label: str = "Open in editor",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.path = path
        self.first_line, self.last_line = first, max(first, last)
        self.resize(760, 560)
        lay = QVBoxLayout(self)
        where = QLabel(path)
        where.setObjectName("statusNote")
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        where.setWordWrap(True)
        lay.addWidget(where)
        self.text_box = QPlainTextEdit()
        self.text_box.setReadOnly(True)
        self.text_box.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text_box.setPlainText("\n".join(lines))
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.text_box.setFont(font)
        lay.addWidget(self.text_box, 1)
        row = QHBoxLayout()
        self.where_label = QLabel(self._lines_note(len(lines)))
        self.where_label.setObjectName("statusNote")
        self.open_button = QPushButton(open_label)
        self.open_button.setToolTip("Open the file in the app your system uses for it")
        self.open_button.clicked.connect(self.open_externally)
        self.open_button.setEnabled(Path(path).exists())
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        row.addWidget(self.where_label, 1)
        row.addWidget(self.open_button)
        row.addWidget(close)
        lay.addLayout(row)
        self._mark()

    def _lines_note(self, total: int) -> str:
        if not self.first_line:
            return f"{total:,} lines"
        if self.first_line == self.last_line:
            return f"Line {self.first_line} of {total:,}"
        return f"Lines {self.first_line}–{self.last_line} of {total:,}"

    def _mark(self) -> None:
        """Mark the cited lines (whole width) and bring them to the middle of the view."""
        if not self.first_line:
            return
        doc = self.text_box.document()
        dark = self.palette().base().color().lightness() < 128
        selections = []
        for n in range(self.first_line, self.last_line + 1):
            block = doc.findBlockByNumber(n - 1)
            if not block.isValid():
                break
            sel = QTextEdit.ExtraSelection()
            sel.format.setBackground(QColor(HIGHLIGHT_DARK if dark else HIGHLIGHT_LIGHT))
            sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            sel.cursor = QTextCursor(block)
            selections.append(sel)
        self.text_box.setExtraSelections(selections)
        start = doc.findBlockByNumber(self.first_line - 1)
        if start.isValid():
            self.text_box.setTextCursor(QTextCursor(start))
            self.text_box.centerCursor()

    def highlighted(self) -> list[int]:
        """The marked lines (1-based), as shown."""
        return [s.cursor.blockNumber() + 1 for s in self.text_box.extraSelections()]

    def line_text(self, n: int) -> str:
        return self.text_box.document().findBlockByNumber(n - 1).text()

    def open_externally(self) -> bool:
        return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(self.path)))

    @classmethod
    def for_citation(
        cls, index: LibraryIndex, target: CitationTarget, parent: QWidget | None = None
    ) -> SourceViewer:
        docs = index.docs_named(target.path)
        doc = next((d for d in docs if d.path == target.path), None)
        if doc is not None:
            lines = index.text_lines(doc.id)
        else:  # left the index since: the file as it is now
            try:
                lines = Path(target.path).read_text("utf-8", errors="replace").split("\n")
            except OSError:
                lines = ["(This document is no longer available.)"]
        attachment = doc is not None and doc.key.startswith(ATTACHMENT_PREFIX)
        return cls(
            f"{target.label} — {target.name}",
            target.path,
            lines,
            target.first_line,
            target.last_line,
            parent,
            "Open file" if attachment else "Open in editor",
        )

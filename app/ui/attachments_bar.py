"""Files attached to the message being written: a chip per file under the composer (name, size,
pages, token count, a remove ×), read off the GUI thread, a warning when they will not all fit
in the context, and what brings files in (the paperclip, drag and drop, paste).

A file is read and stored by ``app.attachments.attach`` on a thread of its own (a 20 MB PDF takes
seconds); its chip says "Reading…" until then, and a file Hearth cannot read keeps a chip with
the reason ("photo.jpg is an image: …") until it is removed. ``budget`` (set by the window) says
how many tokens the attachments may take; ``app.attachments.plan`` decides, as it will on send,
which go in full and which the model will search with its browser tool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.attachments import (
    Attachment,
    AttachmentError,
    AttachmentRef,
    attach,
    extract_text,
    format_size,
    load_text,
    plan,
)

if TYPE_CHECKING:
    from app.ui.source_viewer import SourceViewer


def local_files(mime: QMimeData | None) -> list[str]:
    """The local files (and folders) a drop or a paste carries; [] for anything else."""
    if mime is None or not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]


def paperclip_icon(color: str, size: int = 18) -> QIcon:
    """A paperclip drawn as a path (no icon font or emoji needed)."""
    ratio = 2
    pix = QPixmap(size * ratio, size * ratio)
    pix.fill(Qt.GlobalColor.transparent)
    pix.setDevicePixelRatio(ratio)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QPen(QColor(color), 1.5, c=Qt.PenCapStyle.RoundCap))
    s = size / 18
    # Two U-turns of wire (the outer loop and the inner one), drawn upright and then turned
    # 45° like a clip on a page.
    left, right, top, bottom = 6.0 * s, 12.0 * s, 3.5 * s, 12.5 * s
    inner = left + 3.6 * s
    path = QPainterPath()
    path.moveTo(right, 5.5 * s)
    path.lineTo(right, bottom)
    path.arcTo(left, bottom - 3 * s, right - left, 6 * s, 0, -180)
    path.lineTo(left, top + 1.8 * s)
    path.arcTo(left, top, inner - left, inner - left, 180, -180)
    path.lineTo(inner, bottom - 0.5 * s)
    p.translate(size / 2, size / 2)
    p.rotate(40)
    p.translate(-size / 2, -size / 2)
    p.drawPath(path)
    p.end()
    return QIcon(pix)


class FlowLayout(QLayout):
    """Items left to right, wrapping to a new line when the row is full (Qt's flow layout
    example): chips take the room they need."""

    def __init__(self, spacing: int = 6) -> None:
        super().__init__()
        self._items: list[QLayoutItem] = []
        self._gap = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        return size

    def _arrange(self, rect: QRect, move: bool) -> int:
        x, y, line = rect.x(), rect.y(), 0
        for item in self._items:
            widget = item.widget()
            if widget is not None and widget.isHidden():
                continue
            hint = item.sizeHint()
            w = min(hint.width(), rect.width()) if rect.width() > 0 else hint.width()
            h = item.heightForWidth(w) if item.hasHeightForWidth() else hint.height()
            if x + w > rect.right() + 1 and line > 0:
                x, y, line = rect.x(), y + line + self._gap, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), QSize(w, h)))
            x += w + self._gap
            line = max(line, h)
        return y + line - rect.y()


class AttachmentChip(QFrame):
    """One file: "report.pdf · 1.2 MB · 12 pages · ≈ 3,400 tokens ×", or why it is refused."""

    removeRequested = Signal(object)  # the chip

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.name = Path(path).name or path
        self.attachment: Attachment | None = None
        self.error = ""
        self.setObjectName("attachChip")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 2, 2, 2)
        lay.setSpacing(2)
        self.label = QLabel(f"{self.name} · Reading…")
        self.label.setMaximumWidth(720)
        self.remove_button = QToolButton()
        self.remove_button.setObjectName("msgAction")
        self.remove_button.setText("×")
        self.remove_button.setToolTip(f"Remove {self.name}")
        self.remove_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.remove_button.clicked.connect(lambda: self.removeRequested.emit(self))
        lay.addWidget(self.label, 1)
        lay.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)

    @property
    def reading(self) -> bool:
        return self.attachment is None and not self.error

    def set_ready(self, attachment: Attachment) -> None:
        self.attachment = attachment
        self.label.setText(attachment.chip)
        self.setToolTip(self.path)

    def set_error(self, sentence: str) -> None:
        self.error = sentence
        self.setObjectName("attachChipError")
        self.label.setText(sentence)
        # The reason is a sentence: wrapped, as wide as it needs up to the chip's maximum (a
        # wrapped label's own size hint is a narrow column).
        self.label.setWordWrap(True)
        self.label.setMinimumWidth(min(self.label.fontMetrics().horizontalAdvance(sentence), 560))
        self.setToolTip(f"{self.path} will not be sent")
        self.style().unpolish(self)
        self.style().polish(self)

    def set_route(self, inline: bool) -> None:
        """Mark a file the model will search instead of reading in full."""
        if self.attachment is None:
            return
        text = self.attachment.chip + ("" if inline else " · searched with the browser")
        self.label.setText(text)


class AttachmentBar(QWidget):
    """The chips under the composer and the warning when they will not all fit."""

    changed = Signal()
    _read = Signal(object, object)  # chip, Attachment or the refusal's sentence (from a thread)

    def __init__(self) -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        self.chips_box = QWidget()
        self.flow = FlowLayout()
        self.chips_box.setLayout(self.flow)
        self.warning = QLabel()
        self.warning.setObjectName("attachWarning")
        self.warning.setWordWrap(True)
        self.warning.hide()
        lay.addWidget(self.chips_box)
        lay.addWidget(self.warning)
        self.chips: list[AttachmentChip] = []
        # Tokens the attachments may take in the open chat (None: no model loaded, so unknown).
        self.budget: Callable[[], int | None] = lambda: None
        self._read.connect(self._on_read)
        self.setVisible(False)

    # -- files in --------------------------------------------------------------------------

    def add_paths(self, paths: Iterable[str]) -> None:
        """Read each file on a thread of its own; its chip shows at once."""
        for path in paths:
            if any(c.path == path for c in self.chips):
                continue  # attached already
            chip = AttachmentChip(path)
            chip.removeRequested.connect(self.remove)
            self.chips.append(chip)
            self.flow.addWidget(chip)
            threading.Thread(
                target=self._read_file, args=(chip, path), name="hearth-attach", daemon=True
            ).start()
        self._update()

    def _read_file(self, chip: AttachmentChip, path: str) -> None:
        try:
            result: Attachment | str = attach(path)
        except AttachmentError as e:
            result = str(e)
        except OSError as e:  # copying into the data folder failed (disk full, read-only)
            result = f"{Path(path).name} could not be stored in Hearth's data folder: {e}."
        try:
            self._read.emit(chip, result)
        except RuntimeError:
            pass  # the composer is gone (the window closed while a file was read)

    def _on_read(self, chip: AttachmentChip, result: Attachment | str) -> None:
        if chip not in self.chips:
            return  # removed while it was read
        if isinstance(result, str):
            chip.set_error(result)
        else:
            chip.set_ready(result)
        self._update()

    def pick_files(self, parent: QWidget) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            parent,
            "Attach files",
            str(Path.home()),
            "Documents (*.txt *.md *.pdf *.docx *.csv *.json *.py *.js *.ts *.html *.xml *.yaml "
            "*.yml *.toml *.ini *.log *.c *.h *.cpp *.rs *.go *.java *.sh *.tex);;All files (*)",
        )
        self.add_paths(paths)

    # -- files out -------------------------------------------------------------------------

    def attachments(self) -> list[Attachment]:
        """The files read and ready to send, in the order attached."""
        return [c.attachment for c in self.chips if c.attachment is not None]

    @property
    def reading(self) -> bool:
        return any(c.reading for c in self.chips)

    def remove(self, chip: AttachmentChip) -> None:
        if chip in self.chips:
            self.chips.remove(chip)
            self.flow.removeWidget(chip)
            chip.hide()
            chip.deleteLater()
        self._update()

    def clear(self) -> None:
        for chip in list(self.chips):
            self.remove(chip)

    def refresh(self) -> None:
        """Recompute the fit (the chat or the model changed)."""
        self._update(notify=False)

    def _update(self, notify: bool = True) -> None:
        ready = self.attachments()
        budget = self.budget() if ready else None
        warning = ""
        if ready and budget is not None:
            p = plan(ready, budget)
            for chip in self.chips:
                if chip.attachment is not None:
                    chip.set_route(chip.attachment.ref.inline)
            warning = p.warning
        self.warning.setText(warning)
        self.warning.setVisible(bool(warning))
        self.setVisible(bool(self.chips))
        self.flow.invalidate()
        self.updateGeometry()
        if notify:
            self.changed.emit()

    def summary(self) -> str:
        """ "2 files · 1.3 MB" for the composer's hint."""
        ready = self.attachments()
        size = sum(a.ref.size for a in ready)
        return f"{len(ready)} file{'s' if len(ready) != 1 else ''} · {format_size(size)}"


class AttachInput(QObject):
    """Brings files into a bar: a drop of files on the watched widgets (the message box, the
    chat) or a paste of copied files in the message box. Text drops and pastes go on as usual."""

    def __init__(self, bar: AttachmentBar, paste_target: QWidget) -> None:
        super().__init__(bar)
        self.bar = bar
        self.paste_target = paste_target
        paste_target.installEventFilter(self)

    def watch_drops(self, widget: QWidget) -> None:
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            assert isinstance(event, QDropEvent)  # (enter and move events are drop events)
            if local_files(event.mimeData()):
                event.acceptProposedAction()
                return True
        elif kind == QEvent.Type.Drop:
            assert isinstance(event, QDropEvent)
            files = local_files(event.mimeData())
            if files:
                event.acceptProposedAction()
                self.bar.add_paths(files)
                return True
        elif kind == QEvent.Type.KeyPress and obj is self.paste_target:
            assert isinstance(event, QKeyEvent)
            if event.matches(QKeySequence.StandardKey.Paste):
                files = local_files(QGuiApplication.clipboard().mimeData())
                if files:
                    self.bar.add_paths(files)
                    return True
        return super().eventFilter(obj, event)


class SentAttachments(QWidget):
    """The files a sent message carried, under its bubble: a chip each that opens the text the
    model read (and, from there, the stored copy in the system's app)."""

    def __init__(self, attachments: list[dict[str, Any]]) -> None:
        super().__init__()
        self.refs = [AttachmentRef.from_dict(d) for d in attachments if isinstance(d, dict)]
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.buttons: list[QToolButton] = []
        self.viewer: SourceViewer | None = None
        for ref in self.refs:
            b = QToolButton()
            b.setObjectName("sentAttachment")
            pages = f" · {ref.pages} pages" if ref.pages else ""
            b.setText(f"{ref.name} · {format_size(ref.size)}{pages}")
            b.setIcon(paperclip_icon("#6b7079", 14))
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            b.setToolTip(
                "Open"
                + ("" if ref.inline else " (too long for the context: the model searched it)")
            )
            b.clicked.connect(lambda _=False, r=ref: self.open(r))
            lay.addWidget(b, 0, Qt.AlignmentFlag.AlignRight)  # under the bubble, on its side
            self.buttons.append(b)

    def open(self, ref: AttachmentRef) -> SourceViewer:
        from app.ui.source_viewer import SourceViewer

        text = load_text(ref)
        if text is None:
            try:
                text = extract_text(ref.path).text
            except AttachmentError as e:
                text = f"(The stored copy of {ref.name} cannot be read: {e})"
        self.viewer = SourceViewer(
            ref.name, str(ref.path), text.split("\n"), parent=self.window(), open_label="Open file"
        )
        self.viewer.show()
        return self.viewer

"""The sidebar: New chat, a search box over every chat, and the conversation list.

``ConversationListModel`` is a thin Qt adapter over ``Store.list_conversations()`` (pinned first,
then most recent); ``SearchResultsModel`` lists full-text hits with highlighted snippets.
"""

from __future__ import annotations

import html
import time
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
)

from app.store import MARK_END, MARK_START, Conversation, SearchHit, Store

IdRole = Qt.ItemDataRole.UserRole + 1
PinnedRole = Qt.ItemDataRole.UserRole + 2
UpdatedRole = Qt.ItemDataRole.UserRole + 3
MessageIdRole = Qt.ItemDataRole.UserRole + 4
SnippetRole = Qt.ItemDataRole.UserRole + 5
HeaderRole = Qt.ItemDataRole.UserRole + 6  # "Pinned", "Today"…: set on the first row of a group

_Index = QModelIndex | QPersistentModelIndex


def relative_time(ts: float, now: float | None = None) -> str:
    """ "now", "5 min", "3 h", "Tue", "12 Mar" — short, like every chat list."""
    now = time.time() if now is None else now
    age = max(0.0, now - ts)
    if age < 60:
        return "now"
    if age < 3600:
        return f"{int(age // 60)} min"
    if age < 86400:
        return f"{int(age // 3600)} h"
    if age < 7 * 86400:
        return time.strftime("%a", time.localtime(ts))
    return time.strftime("%d %b", time.localtime(ts)).lstrip("0")


def time_group(ts: float, now: float | None = None) -> str:
    """The sidebar group of a chat last updated at ``ts``."""
    now_t = time.localtime(time.time() if now is None else now)
    midnight = time.mktime((*now_t[:3], 0, 0, 0, 0, 0, -1))
    if ts >= midnight:
        return "Today"
    if ts >= midnight - 86400:
        return "Yesterday"
    if ts >= midnight - 7 * 86400:
        return "Previous 7 days"
    if ts >= midnight - 30 * 86400:
        return "Previous 30 days"
    return "Older"


class ConversationListModel(QAbstractListModel):
    def __init__(self, store: Store | None = None) -> None:
        super().__init__()
        self.store = store
        self._rows: list[Conversation] = []
        self._headers: list[str] = []

    def reload(self) -> None:
        rows = self.store.list_conversations() if self.store is not None else []
        groups = ["Pinned" if c.pinned else time_group(c.updated_at) for c in rows]
        self.beginResetModel()
        self._rows = rows
        self._headers = [g if i == 0 or groups[i - 1] != g else "" for i, g in enumerate(groups)]
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        c = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return c.display_title
        if role == Qt.ItemDataRole.ToolTipRole:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(c.updated_at))
            return f"{c.display_title}\n{c.message_count} messages · {when}"
        if role == IdRole:
            return c.id
        if role == PinnedRole:
            return c.pinned
        if role == UpdatedRole:
            return c.updated_at
        if role == HeaderRole:
            return self._headers[index.row()]
        return None

    def row_of(self, conversation_id: int) -> int:
        return next((i for i, c in enumerate(self._rows) if c.id == conversation_id), -1)

    def conversation(self, row: int) -> Conversation:
        return self._rows[row]


class SearchResultsModel(QAbstractListModel):
    def __init__(self) -> None:
        super().__init__()
        self._hits: list[SearchHit] = []

    def set_hits(self, hits: list[SearchHit]) -> None:
        self.beginResetModel()
        self._hits = hits
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._hits)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._hits):
            return None
        h = self._hits[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return h.conversation_title or "New chat"
        if role == SnippetRole:
            return snippet_html(h.snippet)
        if role == Qt.ItemDataRole.ToolTipRole:
            return h.snippet.replace(MARK_START, "").replace(MARK_END, "")
        if role == IdRole:
            return h.conversation_id
        if role == MessageIdRole:
            return h.message_id
        return None

    def hit(self, row: int) -> SearchHit:
        return self._hits[row]


def snippet_html(snippet: str) -> str:
    """Escape the snippet, then turn the store's match markers into bold."""
    text = html.escape(snippet.replace("\n", " "), quote=False)
    return text.replace(MARK_START, "<b>").replace(MARK_END, "</b>")


class ConversationDelegate(QStyledItemDelegate):
    """A group heading where a group starts ("Pinned", "Today"…), then the title (elided) with
    a muted "3 h" on the right."""

    HEADER_GAP = 8

    def __init__(self, muted: str) -> None:
        super().__init__()
        self.muted = QColor(muted)

    @staticmethod
    def _small(font: QFont) -> QFont:
        small = QFont(font)
        small.setPointSizeF(max(7.0, font.pointSizeF() - 1.5))
        return small

    def _header_height(self, option: QStyleOptionViewItem, index: _Index) -> int:
        if not index.data(HeaderRole):
            return 0
        return QFontMetrics(self._small(option.font)).height() + self.HEADER_GAP * 2

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        title = opt.text
        opt.text = ""
        header = str(index.data(HeaderRole) or "")
        head_h = self._header_height(option, index)
        small = self._small(opt.font)
        if header:
            painter.save()
            bold = QFont(small)
            bold.setWeight(QFont.Weight.DemiBold)
            painter.setFont(bold)
            painter.setPen(self.muted)
            hr = QRect(opt.rect.left() + 16, opt.rect.top() + self.HEADER_GAP, opt.rect.width(), 0)
            hr.setHeight(head_h - self.HEADER_GAP - 2)
            painter.drawText(hr, Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft, header)
            painter.restore()
        opt.rect = opt.rect.adjusted(0, head_h, 0, 0)
        style = opt.widget.style() if opt.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        r = opt.rect.adjusted(16, 0, -14, 0)
        when = relative_time(float(index.data(UpdatedRole) or 0))
        painter.save()
        painter.setFont(small)
        painter.setPen(self.muted)
        wr = painter.fontMetrics().horizontalAdvance(when)
        painter.drawText(r, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, when)
        painter.setFont(opt.font)
        painter.setPen(opt.palette.color(opt.palette.ColorRole.Text))
        tr = QRect(r.left(), r.top(), r.width() - wr - 10, r.height())
        elided = painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight, tr.width())
        painter.drawText(tr, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, elided)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        return QSize(200, option.fontMetrics.height() + 18 + self._header_height(option, index))


class SearchDelegate(QStyledItemDelegate):
    """The chat's title and a snippet with the matches in bold."""

    def __init__(self, muted: str) -> None:
        super().__init__()
        self.muted = muted

    def _doc(self, option: QStyleOptionViewItem, index: _Index) -> QTextDocument:
        doc = QTextDocument()
        doc.setDefaultFont(option.font)
        # The view's width, not option.rect's: the list asks sizeHint with a rect that is not
        # the row's, and rows measured at another width overlapped when painted.
        view = option.widget
        full = view.viewport().width() if isinstance(view, QAbstractItemView) else 0
        width = max(50, (full or option.rect.width()) - 32)
        # The title on one line (elided, as in the chat list): wrapped, a long title and its
        # snippet outgrew the row and were painted over the next result.
        bold = QFont(option.font)
        bold.setWeight(QFont.Weight.DemiBold)
        title = QFontMetrics(bold).elidedText(
            str(index.data(Qt.ItemDataRole.DisplayRole)), Qt.TextElideMode.ElideRight, width - 4
        )
        doc.setHtml(
            f"<div style='font-weight:600'>{html.escape(title, quote=False)}</div>"
            f"<div style='color:{self.muted}'>{index.data(SnippetRole)}</div>"
        )
        doc.setTextWidth(width)
        return doc

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        doc = self._doc(option, index)
        painter.save()
        painter.setClipRect(option.rect)  # never over the next result
        painter.translate(option.rect.left() + 16, option.rect.top() + 6)
        doc.drawContents(painter)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        doc = self._doc(option, index)
        return QSize(int(doc.idealWidth()), int(min(doc.size().height(), 90)) + 12)


class Sidebar(QFrame):
    """New chat, search, and the list; the window reacts to its signals."""

    newChatRequested = Signal()
    conversationActivated = Signal(int)
    searchHitActivated = Signal(int, int)  # conversation id, message id
    renameRequested = Signal(int)
    deleteRequested = Signal(int)
    pinRequested = Signal(int, bool)
    exportRequested = Signal(int, str)  # conversation id, "md" / "json"

    def __init__(self, store: Store | None, muted: str) -> None:
        super().__init__()
        self.setObjectName("sidebar")
        self.store = store
        self._open_id: int | None = None  # the chat the window shows (highlighted)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 12, 0, 8)
        lay.setSpacing(6)
        self.new_button = QPushButton("+  New chat")
        self.new_button.setObjectName("newChat")
        self.new_button.setToolTip("New chat (Ctrl+N)")
        self.new_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.new_button.clicked.connect(self.newChatRequested)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search all chats  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        for w in (self.new_button, self.search):
            row = QVBoxLayout()
            row.setContentsMargins(12, 0, 12, 0)
            row.addWidget(w)
            lay.addLayout(row)
        self.section = QLabel("")
        self.section.setObjectName("sectionLabel")
        self.section.hide()
        lay.addWidget(self.section)

        self.model = ConversationListModel(store)
        self.list = QListView()
        self.list.setModel(self.model)
        self._delegate = ConversationDelegate(muted)  # kept: the view does not own it
        self.list.setItemDelegate(self._delegate)
        self.list.setUniformItemSizes(False)  # group headings make some rows taller
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.clicked.connect(self._activated)
        self.list.activated.connect(self._activated)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        lay.addWidget(self.list, 1)
        self.no_chats = QLabel("Your chats will appear here.")
        self.no_chats.setObjectName("emptyText")
        self.no_chats.setContentsMargins(16, 4, 16, 4)
        self.no_chats.hide()
        lay.insertWidget(lay.indexOf(self.list), self.no_chats)

        self.results_model = SearchResultsModel()
        self.results = QListView()
        self.results.setModel(self.results_model)
        self._search_delegate = SearchDelegate(muted)
        self.results.setItemDelegate(self._search_delegate)
        self.results.setWordWrap(True)
        self.results.setResizeMode(QListView.ResizeMode.Adjust)  # re-measure rows on resize
        self.results.clicked.connect(self._hit)
        self.results.activated.connect(self._hit)
        self.results.hide()
        lay.addWidget(self.results, 1)
        self.no_results = QLabel("No messages match.")
        self.no_results.setObjectName("emptyText")
        self.no_results.setContentsMargins(16, 4, 16, 4)
        self.no_results.hide()
        lay.addWidget(self.no_results)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(150)
        self._search_timer.timeout.connect(self.run_search)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.search.installEventFilter(self)

        delete = QAction("Delete chat", self.list)
        delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(self._delete_current)
        self.list.addAction(delete)
        rename = QAction("Rename chat", self.list)
        rename.setShortcut(QKeySequence(Qt.Key.Key_F2))
        rename.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        rename.triggered.connect(self._rename_current)
        self.list.addAction(rename)

    def set_store(self, store: Store) -> None:
        """A new store (the damaged one was moved aside): list and search it from now on."""
        self.store = store
        self.model.store = store
        self.reload()
        self.run_search()

    def set_muted(self, muted: str) -> None:
        """The theme changed: the delegates paint dates and snippets in the new muted colour."""
        self._delegate = ConversationDelegate(muted)
        self._search_delegate = SearchDelegate(muted)
        self.list.setItemDelegate(self._delegate)
        self.results.setItemDelegate(self._search_delegate)

    # -- list -----------------------------------------------------------------------------

    def reload(self, select: int | None = None) -> None:
        self.model.reload()
        self.no_chats.setVisible(self.model.rowCount() == 0 and not self.search.text().strip())
        self.select(select)

    def select(self, conversation_id: int | None) -> None:
        self._open_id = conversation_id
        row = self.model.row_of(conversation_id) if conversation_id is not None else -1
        if row < 0:
            self.list.clearSelection()
            return
        idx = self.model.index(row, 0)
        self.list.setCurrentIndex(idx)
        self.list.scrollTo(idx)

    def _activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.conversationActivated.emit(int(index.data(IdRole)))

    def _current_id(self) -> int | None:
        idx = self.list.currentIndex()
        return int(idx.data(IdRole)) if idx.isValid() else None

    def _delete_current(self) -> None:
        cid = self._current_id()
        if cid is not None:
            self.deleteRequested.emit(cid)

    def _rename_current(self) -> None:
        cid = self._current_id()
        if cid is not None:
            self.renameRequested.emit(cid)

    def menu_for(self, row: int) -> QMenu:
        c = self.model.conversation(row)
        menu = QMenu(self)
        menu.addAction("Rename…", lambda: self.renameRequested.emit(c.id))
        menu.addAction(
            "Unpin" if c.pinned else "Pin to top",
            lambda: self.pinRequested.emit(c.id, not c.pinned),
        )
        export = menu.addMenu("Export")
        export.addAction("Markdown (.md)…", lambda: self.exportRequested.emit(c.id, "md"))
        export.addAction("JSON (.json)…", lambda: self.exportRequested.emit(c.id, "json"))
        menu.addSeparator()
        menu.addAction("Delete", lambda: self.deleteRequested.emit(c.id))
        return menu

    def _menu(self, pos: Any) -> None:
        idx = self.list.indexAt(pos)
        if idx.isValid():
            self.menu_for(idx.row()).exec(self.list.viewport().mapToGlobal(pos))
            # The right-click highlighted the row it was on; the highlight belongs to the open
            # chat (and Delete/F2 act on it), not to a row whose menu was dismissed.
            self.select(self._open_id)

    # -- search -----------------------------------------------------------------------------

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        # Esc in the search box clears it and shows the chat list again.
        if obj is self.search and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() == Qt.Key.Key_Escape and self.search.text():
                self.search.clear()
                self.run_search()
                return True
        return super().eventFilter(obj, event)

    def run_search(self) -> None:
        text = self.search.text().strip()
        searching = bool(text)
        hits: list[SearchHit] = []
        if searching and self.store is not None:
            hits = self.store.search(text, limit=100)
        self.results_model.set_hits(hits)
        self.results.setVisible(searching)
        self.no_results.setVisible(searching and not hits)
        self.list.setVisible(not searching)
        self.no_chats.setVisible(not searching and self.model.rowCount() == 0)
        n = len(hits)
        self.section.setText(f"{n} RESULT{'' if n == 1 else 'S'}" if searching else "")
        self.section.setVisible(searching)

    def _hit(self, index: QModelIndex) -> None:
        if index.isValid():
            self.searchHitActivated.emit(int(index.data(IdRole)), int(index.data(MessageIdRole)))

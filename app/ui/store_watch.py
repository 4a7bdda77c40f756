"""Chats changed outside the window (``hearth history import``, ``hearth chat``) appear in it.

SQLite's ``PRAGMA data_version`` changes when another connection commits to the database and
not for this connection's own writes, so reading it every couple of seconds (and whenever the
window becomes active) costs one tiny query; when it moved, the sidebar is read again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.store import StoreError

if TYPE_CHECKING:
    from app.ui.window import MainWindow

INTERVAL_MS = 2000


class StoreWatch(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.win = window
        self._version: int | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()
        self.check()  # where the database is now: later changes are the news
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.applicationStateChanged.connect(self._state_changed)

    def stop(self) -> None:
        self._timer.stop()
        self.win = None  # type: ignore[assignment]

    def _state_changed(self, state: Qt.ApplicationState) -> None:
        if state == Qt.ApplicationState.ApplicationActive:
            self.check()

    def check(self) -> bool:
        """Read the sidebar again if another program changed the chats; True if it did."""
        store = self.win.store if self.win is not None else None
        if store is None:
            return False
        try:
            version = int(store.execute_raw("PRAGMA data_version")[0][0])
        except (StoreError, IndexError, ValueError):  # closed, damaged: the window says so
            return False
        changed = self._version is not None and version != self._version
        self._version = version
        if changed:
            self.win.sidebar.reload(select=self.win.conversation_id)
            if self.win.sidebar.search.text().strip():
                self.win.sidebar.run_search()
        return changed

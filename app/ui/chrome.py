"""The window's frame around the chat: the sidebar's toggle (a button and Ctrl+B; it also folds
away by itself when the window is too narrow for it, the chat and the settings panel), the ⋯ menu
with the app's actions (so they can be found without knowing a shortcut), Ctrl+Q and Ctrl+O.

Widths: the chat pane needs ``CHAT_MIN`` pixels. When the sidebar would leave it less, the
sidebar folds (the user's choice to show it is kept and it comes back when there is room again);
asking for it in a window too narrow for both closes the settings panel instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QMenu, QToolButton

if TYPE_CHECKING:
    from app.ui.window import MainWindow

CHAT_MIN = 460  # the chat pane's narrowest: the empty chat's two buttons side by side
SIDEBAR_WIDTH = 270
SETTINGS_WIDTH = 300  # the Chat settings panel (app.ui.settings_panel)
# At the minimum size the chat fits beside the sidebar or beside the settings panel.
MIN_WIDTH = max(SIDEBAR_WIDTH, SETTINGS_WIDTH) + CHAT_MIN
MIN_HEIGHT = 520


class WindowChrome(QObject):
    def __init__(self, win: MainWindow, header: QHBoxLayout) -> None:
        super().__init__(win)
        self.win = win
        self.sidebar_wanted = win.prefs.extra.get("sidebar", True) is not False
        self.sidebar_button = QToolButton()
        self.sidebar_button.setObjectName("headerButton")
        self.sidebar_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.sidebar_button.clicked.connect(self.toggle_sidebar)
        header.insertWidget(0, self.sidebar_button)
        self.menu_button = QToolButton()
        self.menu_button.setObjectName("headerButton")
        self.menu_button.setText("⋯")
        self.menu_button.setToolTip("Menu: new chat, import, models, settings, about, quit")
        self.menu_button.setAccessibleName("Menu")
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        # The menu opens leftwards from the button's right edge (Qt places a right-to-left
        # button's menu so), inside the window: the button sits at its right edge.
        self.menu_button.setLayoutDirection(Qt.LayoutDirection.RightToLeft)
        self.menu_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.menu = self._menu()
        self.menu_button.setMenu(self.menu)
        header.addWidget(self.menu_button)
        win.setMinimumSize(MIN_WIDTH, MIN_HEIGHT)
        self.shortcuts = {
            "sidebar": self._bind("Ctrl+B", self.toggle_sidebar),
            "quit": self._bind("Ctrl+Q", win.close),
            "import": self._bind("Ctrl+O", self.import_chat),
        }
        win.installEventFilter(self)
        win.settings.installEventFilter(self)
        self.fit()

    def _bind(self, seq: str, fn: object) -> QShortcut:
        s = QShortcut(QKeySequence(seq), self.win)
        s.setContext(Qt.ShortcutContext.WindowShortcut)
        s.activated.connect(fn)
        return s

    def _menu(self) -> QMenu:
        win = self.win
        menu = QMenu(self.menu_button)
        menu.setLayoutDirection(Qt.LayoutDirection.LeftToRight)  # only the button is reversed
        entries = [
            ("New chat", "Ctrl+N", win.conversations.new_chat),
            ("Import a chat…", "Ctrl+O", self.import_chat),
            (None, "", None),
            ("Models…", "", win.models.choose),
            ("Chat settings", "Ctrl+,", win.toggle_settings),
            ("Settings…", "Ctrl+Shift+,", lambda: win.open_settings()),
            ("Show or hide the sidebar", "Ctrl+B", self.toggle_sidebar),
            (None, "", None),
            ("About Hearth", "F1", win.show_about),
            ("Quit", "Ctrl+Q", win.close),
        ]
        for text, keys, fn in entries:
            if text is None or fn is None:
                menu.addSeparator()
                continue
            action = menu.addAction(text)
            action.triggered.connect(fn)
            if keys:  # shown in the menu; the window's own shortcuts do the work
                action.setShortcut(QKeySequence(keys))
                action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        return menu

    # -- the sidebar ---------------------------------------------------------------------------

    def toggle_sidebar(self) -> None:
        """Show or hide the sidebar (the user's choice, remembered)."""
        win = self.win
        if win.sidebar.isVisible():
            self.sidebar_wanted = False
        else:
            self.sidebar_wanted = True
            if not self._room_for_sidebar() and win.settings.isVisible():
                win.toggle_settings()  # no room for both: the sidebar was asked for last
        win.prefs.extra["sidebar"] = self.sidebar_wanted
        self.fit()
        if win.sidebar.isVisible():
            win.sidebar.list.setFocus()

    def _room_for_sidebar(self) -> bool:
        win = self.win
        settings = win.settings.width() if win.settings.isVisible() else 0
        return win.width() - settings - CHAT_MIN >= SIDEBAR_WIDTH

    def fit(self) -> None:
        """Show the sidebar when it is wanted and there is room for it."""
        win = self.win
        show = self.sidebar_wanted and self._room_for_sidebar()
        if show != win.sidebar.isVisible():
            win.sidebar.setVisible(show)
        self.sidebar_button.setText("«" if show else "»")
        what = "Hide the sidebar" if show else "Show the sidebar (chats, search)"
        self.sidebar_button.setToolTip(f"{what} (Ctrl+B)")
        self.sidebar_button.setAccessibleName(what)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if (obj is self.win and kind == QEvent.Type.Resize) or (
            obj is self.win.settings and kind in (QEvent.Type.Show, QEvent.Type.Hide)
        ):
            self.fit()
        return False

    # -- importing a chat ----------------------------------------------------------------------

    def import_chat(self) -> None:
        from app.ui.chat_import import ask_import

        ask_import(self.win)

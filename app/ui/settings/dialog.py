"""The Settings dialog: a list of pages on the left, the chosen page on the right.

Each page is its own module with a ``title`` and a widget; ``SettingsDialog.PAGES`` lists the
page factories, so an area adds its page without touching the others'. A page saves its own
changes as they are made (there is no OK/Cancel to forget).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QListWidget,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

# (title, factory): the factory gets the dialog as parent and returns the page's widget.
PageFactory = Callable[[QWidget], QWidget]


def _pages() -> list[tuple[str, PageFactory]]:
    from app.ui.settings.cache_page import CachePage
    from app.ui.settings.general_page import GeneralPage
    from app.ui.settings.library_page import LibraryPage
    from app.ui.settings.tools_page import ToolsPage

    return [
        ("General", GeneralPage),
        ("Tools", ToolsPage),
        ("Library", LibraryPage),
        ("Cache", CachePage),
    ]


class SettingsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, page: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumSize(560, 420)
        # Fits an 800×600 window with room for the title bar.
        self.resize(760, 540)
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.nav = QListWidget()
        self.nav.setObjectName("settingsNav")
        self.nav.setFixedWidth(150)
        self.stack = QStackedWidget()
        self.pages: dict[str, QWidget] = {}
        for title, factory in _pages():
            widget = factory(self)
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setWidget(widget)
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.nav.addItem(title)
            self.stack.addWidget(scroll)
            self.pages[title] = widget
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        row.addWidget(self.nav)
        row.addWidget(self.stack, 1)
        lay.addLayout(row, 1)
        # No page button is the dialog's default: Qt makes the first one so when the dialog
        # shows, and Enter in any field then pressed it ("Use gpt-oss's defaults" reset the
        # defaults being typed).
        for button in self.stack.findChildren(QPushButton):
            button.setAutoDefault(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        titles = list(self.pages)
        self.nav.setCurrentRow(titles.index(page) if page in titles else 0)

    def page(self, title: str) -> QWidget:
        return self.pages[title]


def open_settings(parent: QWidget | None = None, page: str | None = None) -> None:
    SettingsDialog(parent, page).exec()

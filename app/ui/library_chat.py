"""The chat header's Library button: which of the user's Library folders the model may search in
this chat (none until the user chooses), shown as "Library: notes, docs ▾"."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QMenu, QToolButton

from app.chat.documents import FOLDERS_KEY, allowed_folders

if TYPE_CHECKING:
    from app.ui.window import MainWindow


def folders_label(folders: list[str]) -> str:
    names = [Path(f).name or f for f in folders]
    if not names:
        return "Library: none"
    if len(names) <= 2:
        return "Library: " + ", ".join(names)
    return f"Library: {len(names)} folders"


class ChatFoldersButton(QToolButton):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.win = window
        self.folders: list[str] = []
        self.setObjectName("chatFolders")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu_ = QMenu(self)
        self.menu_.aboutToShow.connect(self._fill)
        self.setMenu(self.menu_)
        self._show()

    def show_for(self, settings: dict[str, Any]) -> None:
        """The open chat changed: show its folders."""
        self.folders = allowed_folders(settings)
        self._show()

    def _show(self) -> None:
        self.setText(folders_label(self.folders))
        listed = "\n".join(self.folders)
        self.setToolTip(
            "Library folders the model may search in this chat (with its browser tool):\n"
            + (listed or "none yet — choose one here")
        )

    def _fill(self) -> None:
        menu = self.menu_
        menu.clear()
        title = menu.addAction("Folders the model may search in this chat")
        title.setEnabled(False)
        known = [f.path for f in self.win.library.folders()]
        for path in known + [f for f in self.folders if f not in known]:
            action = menu.addAction(path if path in known else f"{path} (not in the Library)")
            action.setCheckable(True)
            action.setChecked(path in self.folders)
            action.toggled.connect(lambda on, p=path: self.set_allowed(p, on))
        if not known:
            none = menu.addAction("No Library folders yet")
            none.setEnabled(False)
        menu.addSeparator()
        manage = menu.addAction("Add or remove Library folders…")
        manage.triggered.connect(lambda: self.win.open_settings("Library"))

    def set_allowed(self, path: str, on: bool) -> None:
        """Let the model search ``path`` in the open chat, or stop it."""
        folders = [f for f in self.folders if f != path] + ([path] if on else [])
        self.folders = folders
        self.win.conversations.settings_changed({FOLDERS_KEY: folders})
        self._show()

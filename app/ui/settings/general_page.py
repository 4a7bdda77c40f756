"""Settings → General: what is the same for every chat. The theme, what a new chat starts with
(reasoning effort, thinking budget, instructions, sampling: a chat keeps its own copy, so
changing these later leaves existing chats as they are), and where Hearth keeps its files.

Saved to the window's preferences (``config/ui.json``) as they change.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import paths
from app.ui.prefs import UiPrefs
from app.ui.settings_panel import ChatSettingsForm

THEMES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}


def _window(parent: QWidget | None) -> Any:
    """The main window behind the Settings dialog (None in a dialog opened on its own)."""
    w = parent.parentWidget() if parent is not None else None
    return w if w is not None and hasattr(w, "set_theme") else None


class GeneralPage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.win = _window(parent)
        self.prefs: UiPrefs = self.win.prefs if self.win is not None else UiPrefs.load()
        lay = QVBoxLayout(self)
        lay.addWidget(self._appearance_box())
        lay.addWidget(self._defaults_box())
        lay.addWidget(self._data_box())
        lay.addStretch(1)

    # -- the theme -------------------------------------------------------------------------------

    def _appearance_box(self) -> QGroupBox:
        box = QGroupBox("Appearance")
        form = QFormLayout(box)
        self.theme = QComboBox()
        for key, label in THEMES.items():
            self.theme.addItem(label, key)
        self.theme.setCurrentIndex(max(0, self.theme.findData(self.prefs.theme)))
        self.theme.currentIndexChanged.connect(self._theme_changed)
        form.addRow("Theme", self.theme)
        return box

    def _theme_changed(self, _index: int) -> None:
        choice = str(self.theme.currentData())
        if self.win is not None:
            self.win.set_theme(choice)  # saves the preferences too
        else:
            self.prefs.theme = choice
            self._save()

    # -- new chats' defaults -----------------------------------------------------------------------

    def _defaults_box(self) -> QGroupBox:
        box = QGroupBox("New chats start with")
        lay = QVBoxLayout(box)
        note = QLabel(
            "Each chat keeps its own settings (Chat settings, Ctrl+,): changing these later "
            "leaves the chats you have as they are."
        )
        note.setObjectName("statusNote")
        note.setWordWrap(True)
        lay.addWidget(note)
        self.form = ChatSettingsForm()
        self.form.load(self.prefs.defaults)
        self.form.edited.connect(self._defaults_changed)
        lay.addWidget(self.form)
        self.reset_button = QPushButton("Use gpt-oss's defaults")
        self.reset_button.clicked.connect(self._reset_defaults)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.reset_button)
        lay.addLayout(row)
        return box

    def _defaults_changed(self) -> None:
        values = {k: v for k, v in self.form.values().items() if v not in (None, "", {})}
        if values.get("effort") == "medium":
            values.pop("effort")  # gpt-oss's own default: nothing to remember
        # In place: the Chat settings panel's Reset reads the same dictionary.
        self.prefs.defaults.clear()
        self.prefs.defaults.update(values)
        self._save()

    def _reset_defaults(self) -> None:
        self.form.load({})
        self._defaults_changed()

    # -- the data folder -----------------------------------------------------------------------

    def _data_box(self) -> QGroupBox:
        box = QGroupBox("Your data")
        lay = QVBoxLayout(box)
        data = paths.data_dir()
        self.data_path = QLabel(str(data))
        self.data_path.setWordWrap(True)
        self.data_path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(QLabel("Chats, attachments and downloaded models are kept in:"))
        lay.addWidget(self.data_path)
        row = QHBoxLayout()
        self.open_button = QPushButton("Open folder")
        self.open_button.clicked.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths.data_dir())))
        )
        copy = QPushButton("Copy path")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(str(paths.data_dir())))
        row.addWidget(self.open_button)
        row.addWidget(copy)
        row.addStretch(1)
        lay.addLayout(row)
        config = paths.config_dir()
        how = QLabel(
            "To keep everything somewhere else (another disk, a portable folder): quit Hearth, "
            f"make a folder there, move this folder into it as 'data' and {config} as "
            "'config', then start Hearth with the environment variable HEARTH_HOME set to the "
            "new folder. Nothing is deleted on the way: if Hearth starts without your chats, "
            "the old folders are where you left them."
        )
        how.setObjectName("statusNote")
        how.setWordWrap(True)
        how.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(how)
        return box

    def _save(self) -> None:
        if self.win is not None:
            self.win.save_prefs()
            return
        try:
            self.prefs.save()
        except OSError:
            pass  # a preference: the dialog goes on working

"""The About dialog: version, component versions, links, licence and third-party notices."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME, __version__, paths
from app.resources import resources_dir
from app.ui.appicon import app_icon

MODEL_CARD_URL = "https://huggingface.co/openai/gpt-oss-20b"
LLAMA_CPP_URL = "https://github.com/ggml-org/llama.cpp"
QT_SOURCE_URL = "https://download.qt.io/official_releases/QtForPython/"


def _dist_version(name: str) -> str:
    # Read from package metadata: importing llama_cpp here would load llama.cpp into the GUI
    # process, which only the engine host should do.
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not found"


def component_versions() -> list[tuple[str, str]]:
    """(component, version) pairs shown in the dialog and copied for bug reports."""
    build = "bundle" if getattr(sys, "frozen", False) else "from source"
    return [
        (APP_NAME, f"{__version__} ({build})"),
        ("llama-cpp-python", _dist_version("llama_cpp_python")),
        ("Qt", qVersion()),
        ("PySide6", pyside_version),
        ("huggingface_hub", _dist_version("huggingface_hub")),
        ("Python", platform.python_version()),
        ("System", f"{platform.system()} {platform.release()} ({platform.machine()})"),
    ]


def version_report() -> str:
    """Plain-text version block, for pasting into a bug report."""
    return "\n".join(f"{name}: {value}" for name, value in component_versions())


def _read_text(*parts: str) -> str | None:
    try:
        return resources_dir().joinpath(*parts).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return None


class AboutDialog(QDialog):
    """Tabs: About (versions and links), Third-party notices, Licence."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        self.setWindowIcon(app_icon())
        self.resize(640, 560)

        self.tabs = QTabWidget(self)
        self.tabs.addTab(self._about_tab(), "About")
        self.notices = self._text_tab(
            _read_text("NOTICES.md"),
            markdown=True,
            missing="The third-party notices file is missing from this installation. "
            "Reinstall Hearth to restore it; the notices are also in the source repository.",
        )
        self.tabs.addTab(self.notices, "Third-party notices")
        self.licence = self._text_tab(
            _read_text("licenses", "Apache-2.0.txt"),
            markdown=False,
            missing="The licence text is missing from this installation. Hearth is licensed "
            "under the Apache License 2.0: https://www.apache.org/licenses/LICENSE-2.0",
        )
        self.tabs.addTab(self.licence, "Licence")

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = QPushButton("Copy version info", self)
        self.copy_button.setToolTip("Copy the versions below, for a bug report")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_version_info)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)

    def _about_tab(self) -> QWidget:
        page = QWidget(self)
        logo = QLabel(page)
        logo.setPixmap(app_icon().pixmap(96, 96))
        title = QLabel(f"<h2>{APP_NAME} {__version__}</h2>", page)
        tagline = QLabel("Chat with gpt-oss on your own computer, fully offline.", page)
        tagline.setWordWrap(True)
        header_text = QVBoxLayout()
        header_text.addWidget(title)
        header_text.addWidget(tagline)
        header_text.addStretch(1)
        header = QHBoxLayout()
        header.addWidget(logo)
        header.addLayout(header_text, 1)

        rows = "".join(
            f"<tr><td>{name}</td><td>&nbsp;&nbsp;{value}</td></tr>"
            for name, value in component_versions()
        )
        self.versions = QLabel(f"<table>{rows}</table>", page)
        self.versions.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        data_url = QUrl.fromLocalFile(str(paths.data_dir())).toString()
        self.links = QLabel(
            f'<p>Model: <a href="{MODEL_CARD_URL}">gpt-oss-20b model card</a> (Apache-2.0)<br>'
            f'Engine: <a href="{LLAMA_CPP_URL}">llama.cpp</a> (MIT)<br>'
            f'Interface: <a href="{QT_SOURCE_URL}">Qt for Python</a> (LGPL-3.0)<br>'
            f'Your conversations and settings: <a href="{data_url}">open data folder</a></p>'
            "<p>Hearth is free software under the Apache License 2.0. "
            "It never sends your conversations anywhere.</p>",
            page,
        )
        self.links.setOpenExternalLinks(True)
        self.links.setWordWrap(True)

        layout = QVBoxLayout(page)
        layout.addLayout(header)
        layout.addWidget(self.versions)
        layout.addWidget(self.links)
        layout.addStretch(1)
        return page

    def _text_tab(self, text: str | None, *, markdown: bool, missing: str) -> QTextBrowser:
        view = QTextBrowser(self)
        view.setOpenExternalLinks(True)
        if text is None:
            view.setPlainText(missing)
        elif markdown:
            view.setMarkdown(text)
        else:
            view.setPlainText(text)
        return view

    def copy_version_info(self) -> None:
        QGuiApplication.clipboard().setText(version_report())
        self.copy_button.setText("Copied")


def show_about(parent: QWidget | None = None) -> AboutDialog:
    """Open the About dialog (modal to ``parent``) and return it."""
    dialog = AboutDialog(parent)
    dialog.open()
    return dialog

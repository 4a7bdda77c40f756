"""Start the desktop app: ``run_app(args)`` (``hearth`` / ``hearth gui [--model FILE]``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from app import APP_NAME, __version__


def _icon() -> QIcon | None:
    try:
        from app.resources import resources_dir

        icons = resources_dir() / "icons"
    except FileNotFoundError:
        return None  # a missing icon is no reason not to start
    icon = QIcon()
    for png in sorted(icons.glob("hearth-*.png")):
        icon.addFile(str(png))
    return None if icon.isNull() else icon


def run_app(args: argparse.Namespace) -> int:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName(APP_NAME)
    app.setDesktopFileName("hearth")
    icon = _icon()
    if icon is not None:
        app.setWindowIcon(icon)

    from app.engine.options import LoadOptions
    from app.ui.window import MainWindow

    model = getattr(args, "model", None)
    win = MainWindow(load_engine=not model)
    if model:
        win.load_model(LoadOptions(model_path=str(Path(model).expanduser())))
    win.show()
    app.aboutToQuit.connect(win.shutdown)
    return int(app.exec())

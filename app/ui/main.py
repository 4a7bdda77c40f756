"""Start the desktop app: ``run_app(args)`` (``hearth`` / ``hearth gui [--model FILE]``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app import APP_NAME, __version__
from app.ui.appicon import apply_app_identity


def run_app(args: argparse.Namespace) -> int:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName(APP_NAME)
    apply_app_identity(app)

    from app.engine.options import LoadOptions
    from app.ui.window import MainWindow

    model = getattr(args, "model", None)
    win = MainWindow(load_engine=not model)
    if model:
        win.load_model(LoadOptions(model_path=str(Path(model).expanduser())))
    win.show()
    app.aboutToQuit.connect(win.shutdown)
    return int(app.exec())

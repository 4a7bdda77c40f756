"""Start the desktop app."""

from __future__ import annotations

import argparse
import sys

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

from app import APP_NAME, __version__


def run_app(args: argparse.Namespace) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    win = QMainWindow()
    win.setWindowTitle(APP_NAME)
    win.setCentralWidget(QLabel("Hearth"))
    win.resize(1100, 760)
    win.show()
    return app.exec()

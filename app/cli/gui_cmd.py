"""``hearth gui``: the desktop app (also what plain ``hearth`` runs)."""

from __future__ import annotations

import argparse
import importlib


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the desktop app (the default)")
    p.add_argument("--model", help="GGUF file to load at start")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Loaded lazily so the CLI works headless, without Qt.
    ui = importlib.import_module("app.ui.main")
    return int(ui.run_app(args))

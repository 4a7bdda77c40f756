"""``hearth engine-host`` (hidden): the engine host process in a frozen bundle.

A PyInstaller bundle has no ``python -m``; the app starts its own executable with this
subcommand instead (see app.engine.client.host_command). Not for people: it speaks the engine's
binary protocol on stdin/stdout.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    # No help= on purpose: argparse then leaves it out of ``hearth --help``.
    p = sub.add_parser("engine-host")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.engine.host import main

    return main()

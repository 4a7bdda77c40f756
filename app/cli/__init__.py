"""The ``hearth`` command. With no arguments it starts the desktop app.

Each subcommand lives in its own module with ``register(subparsers)``; the module sets
``func`` on its parser. Qt is only imported by the ``gui`` command, lazily.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from app import __version__

# Modules that add subcommands, in the order --help lists them.
COMMAND_MODULES = [
    "app.cli.gui_cmd",
    "app.cli.history_cmd",
    "app.cli.chat_cmd",
    "app.cli.serve_cmd",
    "app.cli.inspect_cmd",
    "app.cli.engine_host_cmd",
    "app.cli.harmony_cmd",
    "app.cli.models_cmd",
    "app.cli.remotes_cmd",
    "app.cli.hardware_cmd",
    "app.cli.tools_cmd",
    "app.cli.cache_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hearth",
        description="Hearth: chat with gpt-oss on your own computer, fully offline. "
        "Run without a command to open the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"hearth {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv or ["gui"])
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1

"""Asking the person at the terminal before a tool runs ("ask before each run")."""

from __future__ import annotations

import contextlib
import sys
from typing import IO

from app.tools.base import ToolCall


def _tty() -> tuple[IO[str], IO[str]] | None:
    """The controlling terminal for the question and the answer: stdin may be the prompt
    (``echo … | hearth chat -``) and stdout a file, but the person is still at the terminal."""
    try:
        answer_in = open("/dev/tty", encoding="utf-8")  # noqa: SIM115 (closed by the caller)
    except OSError:
        return None
    return answer_in, sys.stderr


def ask_on_terminal(call: ToolCall, key: str) -> bool:
    """Show the call and ask "Run it? [y/N]". No terminal (a script, a pipe): no, and say so."""
    tty = _tty()
    if tty is None:
        print(
            f"hearth chat: the model wants to run {call.recipient}, which asks before each run, "
            "and there is no terminal to ask: not run. Allow it with "
            f"`hearth tools {'python --mode auto' if key == 'python' else 'mcp'}` …",
            file=sys.stderr,
        )
        return False
    answer_in, err = tty
    with contextlib.closing(answer_in):
        err.write(f"\n── {call.recipient} wants to run ──\n{call.arguments.rstrip()}\n")
        err.write("Run it? [y/N] ")
        err.flush()
        try:
            answer = answer_in.readline()
        except (OSError, KeyboardInterrupt):
            answer = ""
    return answer.strip().lower() in ("y", "yes")

"""Ctrl-C in the terminal, for every command that streams a reply.

The first Ctrl-C stops the turn politely (``TurnControl.stop``): the engine ends the reply with
done(cancelled), so the stats line, the ``--jsonl`` done line and the saved row all still come.
A second Ctrl-C raises KeyboardInterrupt, which the turn path takes as "stop waiting".
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from app.chat import TurnControl


class CtrlC:
    """Whether Ctrl-C was pressed during the ``with`` block (the command then exits 130)."""

    def __init__(self, control: TurnControl) -> None:
        self.control = control
        self.pressed = False

    def handle(self, _signum: int, _frame: FrameType | None) -> None:
        if self.pressed:
            raise KeyboardInterrupt
        self.pressed = True
        self.control.stop()


@contextmanager
def ctrl_c_stops(control: TurnControl) -> Iterator[CtrlC]:
    """Route SIGINT to ``control`` while the block runs (main thread only: elsewhere Python
    delivers no signals, and the turn path's KeyboardInterrupt handling is what remains)."""
    state = CtrlC(control)
    previous: Any = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, state.handle)
    try:
        yield state
    except KeyboardInterrupt:
        state.pressed = True
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)

"""What the SIGKILL trials share (tests/store/test_crash.py for the CLI, tests/faults/
test_gui_crash.py for the window): finding the engine host, waiting for it to go, and the
"at most ~250 ms of shown text lost" check."""

from __future__ import annotations

import os
import select
from pathlib import Path
from typing import Any

from app.store import SAVE_INTERVAL

# Scheduling slack on a loaded 2-core machine, on top of the save interval.
SLACK = 0.25


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def wait_gone(pid: int, timeout: float = 15.0) -> bool:
    """True once ``pid`` has exited (a zombie counts), False after ``timeout``."""
    if not hasattr(os, "pidfd_open"):  # Linux only; elsewhere children() found none anyway
        return True
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def check_recent_text_saved(
    reply: Any, timeline: list[tuple[float, int, int]], t_kill: float, trial: int, shown: str
) -> float:
    """Everything ``shown`` (printed, on screen) more than SAVE_INTERVAL + SLACK before the kill
    is on disk. ``timeline`` holds (time, answer chars, thinking chars) as they were shown.
    Returns the age at the kill of the oldest text not on disk (0 if all of it was saved)."""
    cutoff = t_kill - SAVE_INTERVAL - SLACK
    must = [(c, r) for t, c, r in timeline if t <= cutoff]
    if must:
        c_need, r_need = must[-1]
        assert len(reply.content) >= c_need and len(reply.reasoning) >= r_need, (
            f"trial {trial}: lost more than {SAVE_INTERVAL + SLACK:.2f} s of {shown} text "
            f"(saved {len(reply.content)}+{len(reply.reasoning)} chars, "
            f"{shown} {c_need}+{r_need} by then)"
        )
    unsaved = [t for t, c, r in timeline if c > len(reply.content) or r > len(reply.reasoning)]
    return t_kill - min(unsaved) if unsaved else 0.0

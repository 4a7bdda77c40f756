"""The README's Reliability section states what the kill tests do: the loss bound they assert,
their trial counts, how far into a reply they reach, the seed variable. Change one without the
other and this fails."""

from __future__ import annotations

import re
from pathlib import Path

from app.store import SAVE_INTERVAL
from tests.chat import test_tool_kill
from tests.faults import test_engine_kill, test_gui_crash
from tests.helpers import crash
from tests.store import test_crash
from tests.tools import test_kernel_lifetime

README = Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("## Reliability", 1)[1].split("\n## ", 1)[0]


def _row(cell: str) -> list[str]:
    """The cells of the table row whose test column names ``cell``."""
    rows = [ln for ln in _section().splitlines() if ln.startswith("|") and cell in ln]
    assert len(rows) == 1, f"one row naming {cell} expected, found {len(rows)}"
    return [c.strip() for c in rows[0].strip("|").split("|")]


def test_the_loss_bound_is_the_one_asserted() -> None:
    claim = re.search(r"at most the last ([\d.]+) s of the text shown", _section())
    assert claim, "the README no longer states the loss bound"
    assert float(claim.group(1)) == crash.LOSS_BOUND
    saved = re.search(r"saved every ([\d.]+) s", _section())
    assert saved and float(saved.group(1)) == SAVE_INTERVAL


def test_trial_counts_and_reach_are_what_runs() -> None:
    assert _row("tests/store/test_crash.py")[2] == str(test_crash.TRIALS)
    assert _row("tests/faults/test_gui_crash.py")[2] == f"{test_gui_crash.TRIALS} (+1 restart)"
    engine = _row("tests/faults/test_engine_kill.py")
    mid, load = test_engine_kill.MID_REPLY_TRIALS, test_engine_kill.DURING_LOAD_TRIALS
    assert engine[2].startswith(f"{mid} / {load} "), engine[2]
    assert "at a random point of a reply, first token to end" in engine[1]
    assert f"first {test_engine_kill.LOAD_REACH:.0%} of a model load" in engine[1]
    assert f"{crash.SLOW_LOAD_VOCAB:,}-token vocabulary" in engine[1]
    tools = _row("tests/chat/test_tool_kill.py")
    assert tools[2] == f"{test_tool_kill.TRIALS} / {test_kernel_lifetime.TRIALS}", tools[2]


def test_the_replay_variable_is_the_one_read() -> None:
    assert f"`{crash.SEED_ENV}=<seed>`" in _section()

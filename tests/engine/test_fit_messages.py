"""Trimming a conversation to the context: whole turns, oldest first, never the latest message."""

from __future__ import annotations

import pytest

from app.engine.errors import EngineError
from app.engine.host import fit_messages
from app.harmony import Message


def size(msgs: list[Message]) -> list[int]:
    return [0] * sum(len(m.content) for m in msgs)  # one "token" per character


def chat(turns: int) -> list[Message]:
    out = [Message("developer", "D" * 5)]
    for i in range(turns):
        out += [Message("user", f"u{i}" + "x" * 8), Message("assistant", f"a{i}" + "y" * 8)]
    return out


def test_fits_untouched() -> None:
    msgs = chat(3)
    kept, dropped, tokens = fit_messages(msgs, size, 1000)
    assert kept == msgs and dropped == 0 and len(tokens) == 65


def test_drops_oldest_whole_turns() -> None:
    msgs = [*chat(4), Message("user", "latest")]
    kept, dropped, tokens = fit_messages(msgs, size, 5 + 2 * 20 + 6)
    assert dropped == 4
    assert [m.content[:2] for m in kept] == ["DD", "u2", "a2", "u3", "a3", "la"]
    assert len(tokens) <= 51


def test_keeps_a_tool_exchange_after_the_latest_user_message() -> None:
    msgs = [
        *chat(2),
        Message("user", "weather?"),
        Message("assistant", "{}", recipient="functions.w"),
        Message("tool", "sunny", name="functions.w"),
    ]
    kept, dropped, _ = fit_messages(msgs, size, 5 + 8 + 2 + 5)
    assert dropped == 4 and kept[0].role == "developer" and kept[-1].role == "tool"


def test_too_long_even_alone() -> None:
    msgs = [*chat(2), Message("user", "z" * 100)]
    with pytest.raises(EngineError) as e:
        fit_messages(msgs, size, 50)
    assert e.value.kind == "context_overflow"
    assert "too long for the context" in e.value.message

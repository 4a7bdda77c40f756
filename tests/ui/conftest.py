"""Fixtures for the desktop app's tests: the real window (``window``, ``make_window`` in
tests/conftest.py) with the real engine (child process, llama.cpp) on the tiny gpt-oss model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.ui import math_render
from app.ui.math_render import MathRenderer
from tests.helpers.gui import load


@pytest.fixture
def ready_window(qtbot, window, tiny_model: Path):  # type: ignore[no-untyped-def]
    load(qtbot, window, tiny_model)
    return window


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MathRenderer]:
    """A maths renderer with empty caches (the app's one is shared by the whole test session)."""
    r = MathRenderer(tmp_path / "maths")
    monkeypatch.setattr(math_render, "_renderer", r)
    yield r
    r.shutdown()

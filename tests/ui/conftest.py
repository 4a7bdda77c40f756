"""Fixtures for the desktop app's tests: the real window (``window``, ``make_window`` in
tests/conftest.py) with the real engine (child process, llama.cpp) on the tiny gpt-oss model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.gui import load


@pytest.fixture
def ready_window(qtbot, window, tiny_model: Path):  # type: ignore[no-untyped-def]
    load(qtbot, window, tiny_model)
    return window

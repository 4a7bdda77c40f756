"""Shared fixtures: every test gets its own HEARTH_HOME; one tiny gpt-oss GGUF per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from app.store import Store

# Qt and Hugging Face read these at import time: set them before anything imports them.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests that talk to the fake hub turn this off


@pytest.fixture(autouse=True)
def hearth_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HEARTH_HOME (and HF cache) for each test, so no test sees another's files."""
    home = tmp_path_factory.mktemp("hearth-home")
    monkeypatch.setenv("HEARTH_HOME", str(home))
    monkeypatch.setenv("HF_HOME", str(home / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hf" / "hub"))
    return home


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real gpt-oss-architecture GGUF (a few hundred KB) that llama.cpp loads and runs."""
    from tests.helpers.tinymodel import write_tiny_gptoss

    return write_tiny_gptoss(tmp_path_factory.mktemp("models") / "tiny-gpt-oss.gguf")


@pytest.fixture(scope="session")
def long_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with a long context, so a reply streams for seconds (stop, kill, overflow)."""
    from tests.helpers.tinymodel import write_tiny_gptoss

    return write_tiny_gptoss(
        tmp_path_factory.mktemp("models-long") / "tiny-long.gguf", context_length=65536
    )


@pytest.fixture
def store(hearth_home: Path) -> Iterator[Store]:
    """The real store in this test's HEARTH_HOME (tests/store has its own, on a given path)."""
    from app.store import Store

    s = Store.open()
    yield s
    s.close()

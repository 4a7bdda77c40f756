"""Shared fixtures: every test gets its own HEARTH_HOME; one tiny gpt-oss GGUF per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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

"""Fixtures for the engine tests: a host process with the tiny gpt-oss model loaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.client import EngineClient
from app.engine.options import LoadOptions
from tests.helpers.engine import start_client

# Tests load with one thread: llama.cpp's threads wait on each other by spinning, which
# collapses when other jobs share these 2 cores; one thread is immune, and speed is not under test.


@pytest.fixture(scope="module")
def engine(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineClient]:
    """A running engine host with the tiny model loaded (shared by a module's tests)."""
    client = start_client(tmp_path_factory.mktemp("engine-home"))
    client.load(LoadOptions(n_threads=1, model_path=str(tiny_model), n_ctx=4096))
    yield client
    client.close()

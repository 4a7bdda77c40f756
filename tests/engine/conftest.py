"""Fixtures for the engine tests: a host process with the tiny gpt-oss model loaded."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.client import EngineClient, GenerateRequest
from app.engine.events import EngineEvent
from app.engine.options import LoadOptions

# Tests load with one thread: llama.cpp's threads wait on each other by spinning, which
# collapses when other jobs share these 2 cores; one thread is immune, and speed is not under test.


def start_client(home: Path) -> EngineClient:
    # Module-scoped clients start before the per-test HEARTH_HOME exists: give them their own.
    client = EngineClient(env={**os.environ, "HEARTH_HOME": str(home)})
    client.start()
    return client


@pytest.fixture(scope="module")
def engine(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineClient]:
    """A running engine host with the tiny model loaded (shared by a module's tests)."""
    client = start_client(tmp_path_factory.mktemp("engine-home"))
    client.load(LoadOptions(n_threads=1, model_path=str(tiny_model), n_ctx=4096))
    yield client
    client.close()


def collect(client: EngineClient, request: GenerateRequest) -> list[EngineEvent]:
    return list(client.stream(request))
